"""Masked backwards (clamp, maximum/minimum, max, median, ...) select the gradient rather
than multiply it by a 0/1 mask: an inf upstream gradient gives 0 at the cut-off entries,
not nan."""
import math

import numpy as np
import pytest

import fastnn

INF = math.inf

CASES = {
    "clamp_min": lambda m, x: x.clamp(min=1.0),
    "clamp_max": lambda m, x: x.clamp(max=0.0),
    "clamp_both": lambda m, x: x.clamp(0.0, 1.0),
    "clamp_min_method": lambda m, x: x.clamp_min(1.0),
    "clamp_max_method": lambda m, x: x.clamp_max(0.0),
    "clamp_tensor_bounds": lambda m, x: x.clamp(m.zeros(4), m.ones(4)),
    "maximum": lambda m, x: m.maximum(x, m.ones(4)),
    "minimum": lambda m, x: m.minimum(x, m.ones(4)),
    "maximum_tie": lambda m, x: m.maximum(x, m.tensor([0.0, 0.5, 0.0, 0.0])),
    "max_all": lambda m, x: x.max(),
    "min_all": lambda m, x: x.min(),
    "median_all": lambda m, x: x.median(),
    "aminmax": lambda m, x: m.stack(x.aminmax()),  # PyTorch scales here: nan, matched
    "nanmedian_all": lambda m, x: x.nanmedian(),
    "amax": lambda m, x: x.amax(),
    "relu": lambda m, x: x.relu(),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x),
    "relu6": lambda m, x: m.nn.functional.relu6(x),
    "threshold": lambda m, x: m.nn.functional.threshold(x, 1.0, 0.0),
}

EXPECTED = {  # x = [-1.5, 0.5, 2.0, 3.0], upstream gradient all +inf (first entry -inf)
    "clamp_min": [0.0, 0.0, INF, INF],
    "clamp_max": [-INF, 0.0, 0.0, 0.0],
    "clamp_both": [0.0, INF, 0.0, 0.0],
    "maximum": [0.0, 0.0, INF, INF],
    "minimum": [-INF, INF, 0.0, 0.0],
    "max_all": [0.0, 0.0, 0.0, INF],
    "min_all": [INF, 0.0, 0.0, 0.0],
    "median_all": [0.0, INF, 0.0, 0.0],
    "relu": [0.0, INF, INF, INF],
}


def _grad(m, name, create_graph=False):
    x = m.tensor([-1.5, 0.5, 2.0, 3.0], requires_grad=True)
    y = CASES[name](m, x)
    g = m.full(y.shape, INF)
    if y.dim() > 0:
        g[0] = -INF
    (gx,) = m.autograd.grad(y, x, g, create_graph=create_graph)
    return gx.detach().numpy()


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inf_upstream_gives_zero_where_masked(name, create_graph):
    got = _grad(fastnn, name, create_graph)
    assert not np.isnan(got).any()
    np.testing.assert_array_equal(got, EXPECTED[name])
    assert not np.signbit(got[np.asarray(EXPECTED[name]) == 0]).any()  # +0, not -0


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, create_graph):
    torch = pytest.importorskip("torch")
    want = _grad(torch, name, create_graph)
    got = _grad(fastnn, name, create_graph)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_reported_examples():
    x = fastnn.tensor([0.5, 3.0], requires_grad=True)
    (1 / (x.clamp(min=1) - 1)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, -0.25])
    x.grad = None
    (1 / (fastnn.maximum(x, fastnn.ones(2)) - 1)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, -0.25])
    x.grad = None
    (1 / x.clamp(max=0.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_ties_and_nan_still_share():
    x = fastnn.tensor([1.0, 2.0, float("nan")], requires_grad=True)
    fastnn.maximum(x, fastnn.tensor([1.0, 1.0, 0.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 1.0, 1.0])
    y = fastnn.tensor([3.0, 1.0, 3.0], requires_grad=True)
    y.max().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 0.0, 0.5])
