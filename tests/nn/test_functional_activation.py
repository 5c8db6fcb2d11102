"""Activations: PyTorch parity, gradcheck, erf accuracy, in-place forms, softmax's dim=None."""
import math
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck
from fastnn.nn._functional.activation import erf_array

CASES = [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("elu", {"alpha": 1.3}),
         ("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
         ("softplus", {"beta": 2, "threshold": 5}), ("hardtanh", {}), ("relu6", {}),
         ("logsigmoid", {}), ("sigmoid", {}), ("tanh", {}), ("softmax", {"dim": 1}),
         ("log_softmax", {"dim": 0}), ("softmin", {"dim": -1})]


def _x(seed=0, shape=(4, 5), scale=4.0, dtype=np.float64):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


@pytest.mark.parametrize("name,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_activation_matches_torch(name, kw, dtype):
    torch = pytest.importorskip("torch")
    x = _x(dtype=dtype)
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = getattr(torch.nn.functional, name)(tx, **kw), getattr(F, name)(fx, **kw)
    tol = 1e-13 if dtype == np.float64 else 2e-6
    assert fy.dtype == (fastnn.float64 if dtype == np.float64 else fastnn.float32)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = _x(1, dtype=dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
    if name not in ("logsigmoid", "softmin", "relu6"):
        assert fy.grad_fn.name() == ty.grad_fn.name()


@pytest.mark.parametrize("name,kw", CASES)
def test_activation_gradcheck(name, kw):
    # keep clear of kinks (relu at 0, hardtanh at +-1) where finite differences are undefined
    x = np.random.default_rng(2).uniform(0.1, 0.9, (2, 3)) * np.array([[1, -1, 1]]) * 3 + 0.05
    t = fastnn.tensor(x, requires_grad=True)
    assert gradcheck(lambda a: getattr(F, name)(a, **kw), (t,))


def test_erf_matches_math_erf():
    xs = np.concatenate([np.linspace(-7, 7, 20001), np.geomspace(1e-300, 0.5, 200),
                         [0.0, -0.0, 0.999999, 1.0, 1.000001, 5.999, 6.0, np.inf, -np.inf]])
    ref = np.array([math.erf(v) for v in xs])
    err = np.abs(erf_array(xs) - ref)
    assert err.max() <= 1e-15
    tiny = np.abs(xs) < 1e-3
    assert (err[tiny] <= 2 * np.spacing(np.abs(ref[tiny]))).all()  # relative accuracy near 0
    assert np.isnan(erf_array(np.array([np.nan])))[0]


def test_gelu_matches_torch_on_a_dense_grid():
    torch = pytest.importorskip("torch")
    xs = np.linspace(-12, 12, 40001)
    np.testing.assert_allclose(F.gelu(fastnn.tensor(xs)).numpy(),
                               torch.nn.functional.gelu(torch.tensor(xs)).numpy(), atol=2e-15)


def test_inplace_activations_write_into_input():
    a = fastnn.tensor(_x())
    assert F.relu(a, inplace=True) is a and (a.numpy() >= 0).all()
    b = fastnn.tensor(_x())
    assert F.leaky_relu_(b, 0.5) is b
    np.testing.assert_allclose(b.numpy(), np.where(_x() > 0, _x(), 0.5 * _x()))
    c = fastnn.tensor(_x())
    F.elu_(c)
    F.hardtanh(c, inplace=True)
    assert c.numpy().max() <= 1


def test_inplace_activation_on_an_intermediate_backpropagates():
    x = fastnn.tensor(_x(), requires_grad=True)
    y = x * 2
    F.relu_(y)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (_x() > 0))


def test_inplace_on_leaf_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                       "in an in-place operation."):
        F.relu(fastnn.zeros(3, requires_grad=True), inplace=True)


@pytest.mark.parametrize("fn,ndim,dim", [(F.softmax, 1, 0), (F.softmax, 2, 1),
                                         (F.log_softmax, 3, 0), (F.softmin, 4, 1)])
def test_implicit_softmax_dim_warns_and_picks_pytorchs_dim(fn, ndim, dim):
    x = fastnn.tensor(_x(shape=(2,) * ndim, scale=1))
    with pytest.warns(UserWarning, match=r"Implicit dimension choice for \w+ has been "
                      r"deprecated. Change the call to include dim=X as an argument.") as rec:
        y = fn(x)
    assert rec[0].filename == __file__  # points at the caller
    np.testing.assert_allclose(y.numpy(), fn(x, dim).numpy())


def test_softmax_with_dtype_argument():
    y = F.softmax(fastnn.tensor(_x(dtype=np.float32)), dim=1, dtype=fastnn.float64)
    assert y.dtype == fastnn.float64


def test_gelu_bad_input():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(fastnn.zeros(2), approximate="fast")
    with pytest.raises(NotImplementedError, match="\"GeluKernelImpl\" not implemented for "
                       "'Long'"):
        F.gelu(fastnn.tensor([1, 2]))


def test_no_warning_with_explicit_dim():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(fastnn.tensor(_x()), dim=0)


@pytest.mark.parametrize("layout", ["contiguous", "strided", "float16"])
def test_relu_gradient_passes_through_nan_outputs_like_torch(layout):
    """torch's threshold_backward zeroes the gradient where the output is <= 0, so a NaN
    output lets it through: the compiled kernel and the numpy fallback (strided, float16)
    both follow that rule."""
    torch = pytest.importorskip("torch")
    a = np.array([[np.nan, -1.0, 2.0, 0.0, -0.0, 3.0]] * 2, np.float32)
    if layout == "float16":
        a = a.astype(np.float16)
    g = np.arange(1, 13, dtype=a.dtype).reshape(2, 6)
    grads = []
    for lib in (torch, fastnn):
        x = lib.tensor(a, requires_grad=True)
        xin = x.t() if layout == "strided" else x
        gin = lib.tensor(g.T.copy()) if layout == "strided" else lib.tensor(g)
        lib.nn.functional.relu(xin).backward(gin)
        grads.append(x.grad.detach().numpy())
    np.testing.assert_array_equal(grads[1], grads[0])
    assert grads[1][0, 0] == 1  # the NaN output's gradient came through
