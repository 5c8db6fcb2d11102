"""Adaptive 3-d average and max pooling against PyTorch: values, indices, gradients, errors."""
import numpy as np
import pytest
import torch

import fastnn
import fastnn.nn.functional as F

TF = torch.nn.functional
DT = {np.float32: (torch.float32, fastnn.float32), np.float64: (torch.float64, fastnn.float64)}

# (input shape, output_size): divisible, non-divisible, upsampling, None entries, unbatched
CASES = [
    ((2, 3, 4, 6, 8), 2),
    ((2, 2, 5, 7, 9), (3, 4, 2)),
    ((1, 2, 3, 4, 5), (5, 6, 7)),
    ((2, 1, 6, 5, 4), (None, 3, None)),
    ((3, 5, 4, 7), (2, 3, 3)),
    ((1, 1, 7, 1, 3), (3, 1, 2)),
]


def _pair(shape, dtype, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    td, fd = DT[dtype]
    return (torch.tensor(x, dtype=td, requires_grad=True),
            fastnn.tensor(x, dtype=fd, requires_grad=True))


def _close(f, t, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(f.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,size", CASES)
def test_avg_matches_torch(shape, size, dtype):
    tx, fx = _pair(shape, dtype)
    ty, fy = TF.adaptive_avg_pool3d(tx, size), F.adaptive_avg_pool3d(fx, size)
    assert tuple(fy.shape) == tuple(ty.shape) and fy.dtype == DT[dtype][1]
    _close(fy, ty, dtype)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    _close(fx.grad, tx.grad, dtype)
    assert fy.grad_fn.name() == ty.grad_fn.name() == "AdaptiveAvgPool3DBackward0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,size", CASES)
def test_max_matches_torch(shape, size, dtype):
    tx, fx = _pair(shape, dtype)
    ty, ti = TF.adaptive_max_pool3d(tx, size, return_indices=True)
    fy, fi = F.adaptive_max_pool3d(fx, size, return_indices=True)
    _close(fy, ty, dtype)
    assert fi.dtype == fastnn.int64
    np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    _close(fx.grad, tx.grad, dtype)
    assert fy.grad_fn.name() == ty.grad_fn.name() == "AdaptiveMaxPool3DBackward0"


def test_max_ties_pick_first_in_scan_order():
    x = np.zeros((1, 1, 4, 5, 3), np.float32)
    x[0, 0, 1:, 2:, 1:] = 1.0
    ty, ti = TF.adaptive_max_pool3d(torch.tensor(x), (2, 3, 2), True)
    fy, fi = F.adaptive_max_pool3d(fastnn.tensor(x), (2, 3, 2), True)
    np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    np.testing.assert_array_equal(fy.numpy(), ty.numpy())


def test_modules_and_with_indices():
    tx, fx = _pair((2, 3, 5, 6, 7), np.float32)
    for tm, fm in ((torch.nn.AdaptiveAvgPool3d((2, None, 3)),
                    fastnn.nn.AdaptiveAvgPool3d((2, None, 3))),
                   (torch.nn.AdaptiveMaxPool3d(3), fastnn.nn.AdaptiveMaxPool3d(3))):
        assert repr(fm) == repr(tm)
        _close(fm(fx), tm(tx), np.float32)
    ty, ti = torch.nn.AdaptiveMaxPool3d(2, return_indices=True)(tx)
    fy, fi = fastnn.nn.AdaptiveMaxPool3d(2, return_indices=True)(fx)
    np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    for name in ("adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
                 "adaptive_max_pool3d_with_indices"):
        nd = int(name[len("adaptive_max_pool")])
        t_in, f_in = _pair((2, 3, 5, 6, 7)[:2 + nd], np.float64)
        ty, ti = getattr(TF, name)(t_in, 3)
        fy, fi = getattr(F, name)(f_in, 3)
        np.testing.assert_array_equal(fi.numpy(), ti.numpy())
        _close(fy, ty, np.float64)


@pytest.mark.parametrize("fn", ["adaptive_avg_pool3d", "adaptive_max_pool3d"])
def test_gradcheck(fn):
    x = fastnn.tensor(np.random.default_rng(2).standard_normal((2, 2, 5, 4, 3)),
                      dtype=fastnn.float64, requires_grad=True)
    assert fastnn.autograd.gradcheck(lambda t: getattr(F, fn)(t, (3, 3, 2)), (x,))
    assert fastnn.autograd.gradcheck(lambda t: getattr(F, fn)(t, (2, 3, 4)), (x[0],))


@pytest.mark.parametrize("fn", ["adaptive_avg_pool3d", "adaptive_max_pool3d"])
@pytest.mark.parametrize("shape,size,dtype", [
    ((2, 3, 5, 6, 7), (2, 3), "float32"),
    ((2, 3, 5, 6, 7), (2, 3, 4, 5), "float32"),
    ((5, 6), 2, "float32"),
    ((2, 3, 4, 5, 6, 7), 2, "float32"),
    ((2, 3, 5, 6, 7), (-1, 2, 3), "float32"),
    ((2, 3, 5, 6, 7), (2, -1, -3), "float32"),
    ((2, 0, 5, 6, 7), 2, "float32"),
    ((2, 1, 0, 6, 7), 2, "float32"),
    ((2, 3, 4, 4, 4), 2, "int64"),
])
def test_errors_match_torch(fn, shape, size, dtype):
    with pytest.raises(Exception) as te:
        getattr(TF, fn)(torch.zeros(shape, dtype=getattr(torch, dtype)), size)
    with pytest.raises(Exception) as fe:
        getattr(F, fn)(fastnn.zeros(shape, dtype=getattr(fastnn, dtype)), size)
    assert type(fe.value) is type(te.value)
    assert str(fe.value).splitlines()[0] == str(te.value).splitlines()[0]


@pytest.mark.parametrize("fn", ["adaptive_avg_pool3d", "adaptive_max_pool3d"])
def test_empty_batch_and_zero_output(fn):
    for shape, size in (((0, 2, 5, 6, 7), 2), ((3, 5, 6, 7), (0, 2, 3))):
        ty = getattr(TF, fn)(torch.zeros(shape), size)
        fy = getattr(F, fn)(fastnn.zeros(shape), size)
        assert tuple(fy.shape) == tuple(ty.shape)


def test_1d_2d_avg_errors_match_torch():
    for fn, shape, size in (("adaptive_avg_pool2d", (2, 1, 0, 6), 2),
                            ("adaptive_avg_pool2d", (2, 1, 5, 5), (2, -1)),
                            ("adaptive_avg_pool1d", (2, 1, 5), -1)):
        with pytest.raises(RuntimeError) as te:
            getattr(TF, fn)(torch.zeros(shape), size)
        with pytest.raises(RuntimeError) as fe:
            getattr(F, fn)(fastnn.zeros(shape), size)
        assert str(fe.value).splitlines()[0] == str(te.value).splitlines()[0]
