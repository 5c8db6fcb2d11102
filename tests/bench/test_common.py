"""The benchmarks' ratio arithmetic: per-round pairing and the win count."""
import os
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "bench")


@pytest.fixture(scope="module")
def common():
    sys.path.insert(0, BENCH)
    try:
        import _common
        yield _common
    finally:
        sys.path.remove(BENCH)


def test_per_round_ratio_cancels_drift_that_the_ratio_of_medians_keeps(common):
    # the machine slows by 3x over the run; fastnn is 10 % faster in every round
    drift = [1, 1, 1, 3, 3]
    times = {"fastnn": [d * 1.0 for d in drift], "numpy": [d * 1.1 for d in [1, 1, 3, 3, 3]]}
    med, paired = common.summarize(times)
    ratio, wins, rounds = paired["numpy"]
    assert med["numpy"] / med["fastnn"] == pytest.approx(3.3)  # the drift, not the libraries
    assert ratio == pytest.approx(1.1)
    assert (wins, rounds) == (5, 5)


def test_ratio_fields_and_text_report_each_other_implementation(common):
    times = {"fastnn": [1.0, 1.0, 1.0], "numpy": [0.9, 1.2, 1.1], "torch": [2.0, 2.0, 2.2]}
    row = common.ratio_fields(*common.summarize(times))
    assert row["numpy_over_fastnn_rounds_won"] == [2, 3]
    assert row["torch_over_fastnn_per_round"] == pytest.approx(2.0)
    assert common.ratio_text(row, "numpy") == \
        "numpy/fastnn 1.10x (per round 1.10x, ahead in 2 of 3)"
    assert "fastnn_over_fastnn" not in row


@pytest.mark.parametrize("through_fastnn", [False, True])
def test_square_product_writes_the_product(common, through_fastnn):
    import numpy as np
    product = common.square_product(16, through_fastnn)
    a = np.random.default_rng(0).standard_normal((16, 16)).astype(np.float32)
    np.testing.assert_allclose(product(), a @ a, rtol=1e-4, atol=1e-4)


def test_peak_fields_compare_each_step_with_the_product_of_its_round(common):
    # the machine runs at half speed in the last two rounds: step and product both slow
    # down, so the per-round fraction stays at 0.95 while the fraction of the best round
    # falls; 2 * 2^3 = 16 flop per product, 9.5 per step
    times = {"fastnn": [1.0, 1.0, 1.0, 2.0, 2.0],
             "sgemm": [16 / 10, 16 / 10, 16 / 10, 16 / 5, 16 / 5],
             "gemm": [1.0, 2.0, 1.0, 1.0, 4.0]}
    row = common.peak_fields({k: [t * 1e-9 for t in v] for k, v in times.items()}, 9.5, n=2)
    assert row["sgemm_peak_gflops"] == pytest.approx(10)
    assert row["sgemm_median_gflops"] == pytest.approx(10)
    assert row["fraction_of_sgemm_per_round"] == pytest.approx(0.95)
    assert row["rounds_above_90pct_of_sgemm"] == [5, 5]
    assert row["fraction_of_peak"] == pytest.approx(0.95)
    assert row["fastnn_gemm_peak_gflops"] == pytest.approx(16)
    assert row["fastnn_gemm_median_gflops"] == pytest.approx(16)
    times["fastnn"] = [2.0, 2.0, 2.0, 2.0, 2.0]  # full speed would have been 1.0 throughout
    row = common.peak_fields({k: [t * 1e-9 for t in v] for k, v in times.items()}, 9.5, n=2)
    assert row["fraction_of_sgemm_per_round"] == pytest.approx(0.475)
    assert row["rounds_above_90pct_of_sgemm"] == [2, 5]
    assert "fastnn_gemm_peak_gflops" in row


def test_machine_info_names_the_gemm(common):
    from fastnn import _core
    assert f"(gemm: {_core._blas_info()['name']})" in common.machine_info()
