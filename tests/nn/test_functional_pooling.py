"""Max / average / adaptive average pooling: PyTorch parity, gradcheck, bad input."""
import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck


def _parity(name, x, *args, tol=1e-12, **kw):
    torch = pytest.importorskip("torch")
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = getattr(torch.nn.functional, name)(tx, *args, **kw), getattr(F, name)(fx, *args,
                                                                                   **kw)
    ti = fi = None
    if isinstance(ty, tuple):
        (ty, ti), (fy, fi) = ty, fy
    assert tuple(fy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    if ti is not None:
        assert fi.dtype == fastnn.int64
        np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    g = np.random.default_rng(7).standard_normal(ty.shape).astype(x.dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
    # PyTorch runs 1-d pooling through its 2-d kernels and a 1x1 adaptive pool as a mean
    if not name.endswith("1d") and not name.startswith("adaptive"):
        assert fy.grad_fn.name() == ty.grad_fn.name()


def _data(shape, seed=0, ties=False, dtype=np.float64):
    x = np.random.default_rng(seed).standard_normal(shape)
    return (np.round(x) if ties else x).astype(dtype)


MAX_CASES = [
    ((2, 3, 8, 8), (2,), {}),
    ((2, 3, 9, 7), (3, 2, 1), {}),
    ((2, 3, 9, 7), ((3, 2), (2, 1), (1, 1), 2), {}),
    ((2, 3, 10, 11), (2,), {"ceil_mode": True}),
    ((2, 3, 9, 7), (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
    ((3, 9, 7), (3, 2, 1), {}),
    ((1, 2, 5, 5), (5,), {}),
]


@pytest.mark.parametrize("shape,args,kw", MAX_CASES)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("return_indices", [False, True])
def test_max_pool2d_matches_torch(shape, args, kw, ties, return_indices):
    _parity("max_pool2d", _data(shape, ties=ties), *args, return_indices=return_indices, **kw)


@pytest.mark.parametrize("kw", [{}, {"stride": 1, "padding": 1, "dilation": 2},
                                {"ceil_mode": True, "stride": 2}])
def test_max_pool1d_matches_torch(kw):
    _parity("max_pool1d", _data((2, 3, 11), ties=True), 3, return_indices=True, **kw)


def test_max_pool2d_float32_and_nan():
    _parity("max_pool2d", _data((4, 3, 12, 12), dtype=np.float32), 2)
    x = _data((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = np.nan
    _parity("max_pool2d", x, 2, return_indices=True)


AVG_CASES = [
    ((2, 3, 8, 8), (2,), {}),
    ((2, 3, 9, 7), (3, 2, 1), {}),
    ((2, 3, 9, 7), (3, 2, 1), {"count_include_pad": False}),
    ((2, 3, 10, 11), (3, 2, 1), {"ceil_mode": True}),
    ((2, 3, 10, 11), (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}),
    ((2, 3, 10, 11), ((3, 2), (2, 3), (1, 1)), {"divisor_override": 5}),
    ((3, 9, 7), (2,), {}),
]


@pytest.mark.parametrize("shape,args,kw", AVG_CASES)
def test_avg_pool2d_matches_torch(shape, args, kw):
    _parity("avg_pool2d", _data(shape), *args, **kw)


def test_avg_pool1d_matches_torch():
    _parity("avg_pool1d", _data((2, 3, 11)), 3, 2, 1, True, False)


@pytest.mark.parametrize("shape,size", [((2, 3, 10, 11), (3, 4)), ((3, 10, 11), 1),
                                        ((2, 3, 10, 11), (None, 5)), ((2, 3, 8, 8), 4),
                                        ((1, 2, 3, 3), 5)])
def test_adaptive_avg_pool2d_matches_torch(shape, size):
    _parity("adaptive_avg_pool2d", _data(shape), size, tol=1e-12)


def test_adaptive_avg_pool1d_matches_torch():
    _parity("adaptive_avg_pool1d", _data((2, 3, 10)), 4)


@pytest.mark.parametrize("fn,args", [
    (F.max_pool2d, (2,)), (F.max_pool2d, (3, 2, 1)),
    (F.avg_pool2d, (3, 2, 1, True, False)), (F.adaptive_avg_pool2d, ((2, 3),)),
])
def test_pooling_gradcheck(fn, args):
    x = fastnn.tensor(_data((1, 2, 5, 5), seed=3), requires_grad=True)
    assert gradcheck(lambda t: fn(t, *args), (x,))


def test_max_pool_no_grad_skips_indices():
    with fastnn.no_grad():
        y = F.max_pool2d(fastnn.tensor(_data((1, 1, 4, 4))), 2)
    assert y.grad_fn is None


@pytest.mark.parametrize("call,msg", [
    (lambda x: F.max_pool2d(x, 3, padding=2),
     r"pad should be at most half of effective kernel size, but got pad=2, kernel_size=3 and "
     r"dilation=1"),
    (lambda x: F.avg_pool2d(x, 3, padding=2), r"pad should be at most half"),
    (lambda x: F.max_pool2d(x, 7), r"Given input size: \(3x5x5\). Calculated output size: "
     r"\(3x0x0\). Output size is too small"),
    (lambda x: F.max_pool2d(x[0, 0], 2),
     r"non-empty 3D or 4D \(batch mode\) tensor expected for input"),
    (lambda x: F.max_pool2d(x, 2, stride=0), r"stride should not be zero"),
    (lambda x: F.max_pool2d(x, 2, dilation=0),
     r"dilation should be greater than zero, but got dilationH: 0 dilationW: 0"),
    (lambda x: F.max_pool2d(x, (2, 2, 2)),
     r"max_pool2d: kernel_size must either be a single int, or a tuple of two ints"),
    (lambda x: F.adaptive_avg_pool2d(x, (2, 3, 4)), r"adaptive_avg_pool2d: output_size must be 2"),
    (lambda x: F.adaptive_avg_pool2d(x[0, 0], 2),
     r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[5, 5\]"),
    (lambda x: F.max_pool1d(x, 2), r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with "
     r"optional 0 dim batch size for input, but got:\[2, 3, 5, 5\]"),
    (lambda x: F.avg_pool2d(x, 2, divisor_override=0), r"divisor must be not zero"),
])
def test_pooling_bad_input(call, msg):
    with pytest.raises(RuntimeError, match=msg):
        call(fastnn.zeros(2, 3, 5, 5))
