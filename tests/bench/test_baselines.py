"""The hand-written numpy steps in bench/ do the same training step as fastnn's.

A benchmark ratio only means something when both sides compute the same thing: each numpy
baseline must produce fastnn's losses step after step from the same weights and batch.
"""
import os
import sys

import numpy as np
import pytest

import fastnn

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "bench")


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, BENCH)
    try:
        import bench_conv
        import bench_mlp
        yield bench_mlp, bench_conv
    finally:
        sys.path.remove(BENCH)


def _same_losses(framework_step, numpy_step, steps=3):
    for _ in range(steps):
        np.testing.assert_allclose(float(numpy_step()), framework_step().item(), rtol=1e-5)


def test_mlp_numpy_baseline_trains_like_fastnn(bench):
    bench_mlp, _ = bench
    sizes, batch = [20, 16, 12, 5], 8
    rng = np.random.default_rng(3)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    weights = bench_mlp.init_weights(sizes)
    _same_losses(bench_mlp.make_framework_step(fastnn, sizes, batch, weights, x, y),
                 bench_mlp.make_numpy_step(sizes, batch, weights, x, y))


def test_lenet_numpy_baseline_trains_like_fastnn(bench):
    _, bench_conv = bench
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 4).astype(np.int64)
    weights = bench_conv.init_weights()
    _same_losses(bench_conv.make_framework_step(fastnn, weights, x, y),
                 bench_conv.make_numpy_step(weights, x, y))
