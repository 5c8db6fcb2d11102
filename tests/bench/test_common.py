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
def test_sgemm_rates_best_is_at_least_the_median(common, through_fastnn):
    import fastnn
    threads = fastnn.get_num_threads()
    try:
        best, median = common.sgemm_rates(64, 1, 0.01, through_fastnn)
    finally:
        fastnn.set_num_threads(threads)
    assert best >= median > 0


def test_machine_info_names_the_gemm(common):
    from fastnn import _core
    assert f"(gemm: {_core._blas_info()['name']})" in common.machine_info()
