"""PReLU's slope at zero, F.prelu's checks, softmax of integers, and the smaller activations
(SELU, CELU, Mish, Hardswish, Hardsigmoid, Softsign, GLU, Threshold) against PyTorch."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

_F64 = fastnn.float64


def _t(a, grad=True):
    return fastnn.tensor(np.asarray(a, np.float64), requires_grad=grad)


# ---- PReLU ---------------------------------------------------------------------------------
def test_prelu_gradient_at_zero_is_the_slope():
    m = nn.PReLU(init=0.25).double()
    x = _t([0.0, -2.0, 3.0])
    m(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.25, 0.25, 1.0])
    assert m.weight.grad.item() == -2.0


def test_prelu_matches_torch_per_channel():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    x[0, 0, :2] = 0.0
    w = np.array([0.1, 0.2, 0.3])
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    fx, fw = _t(x), _t(w)
    ty, fy = torch.nn.functional.prelu(tx, tw), F.prelu(fx, fw)
    np.testing.assert_array_equal(fy.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(1).standard_normal(x.shape)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), rtol=1e-14)


def test_prelu_gradcheck_and_shapes():
    x = _t(np.random.default_rng(2).standard_normal((2, 3, 2)))
    assert gradcheck(F.prelu, (x, _t([0.1, -0.4, 0.7])))
    assert gradcheck(F.prelu, (x, _t(0.3)))
    assert F.prelu(fastnn.tensor(-2.0), fastnn.tensor([0.5])).shape == ()
    assert F.prelu(fastnn.tensor(-2.0), fastnn.tensor([0.5])).item() == -1.0
    m = nn.PReLU(3)
    assert m(fastnn.randn(4, 3, 5, 5)).shape == (4, 3, 5, 5)


def test_prelu_errors():
    with pytest.raises(RuntimeError, match="Expected `weight` to be a scalar or 1D tensor, but "
                                           "got: ndim = 2"):
        F.prelu(fastnn.randn(2, 4), fastnn.ones(2, 2))
    with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 4."):
        F.prelu(fastnn.randn(2, 4), fastnn.ones(3))
    with pytest.raises(RuntimeError, match="channel size = 1."):
        F.prelu(fastnn.randn(4), fastnn.ones(3))


# ---- softmax of integers -------------------------------------------------------------------
@pytest.mark.parametrize("fn,kernel", [(F.softmax, "softmax"), (F.log_softmax, "log_softmax"),
                                       (F.softmin, "softmax")])
def test_softmax_of_integers_raises(fn, kernel):
    t = fastnn.ones(2, 3, dtype=fastnn.int64)
    with pytest.raises(RuntimeError, match=f'"{kernel}_kernel_impl" not implemented for '
                                           "'Long'"):
        fn(t, 0)
    with pytest.raises(NotImplementedError, match=f'"{kernel}_lastdim_kernel_impl"'):
        fn(t, -1)
    # softmin negates first, and negating a bool tensor is what PyTorch refuses
    bool_error = "Negation, the `-` operator" if fn is F.softmin else "not implemented for 'Bool'"
    with pytest.raises(RuntimeError, match=bool_error):
        fn(fastnn.tensor([True, False]), 0)


def test_softmax_of_integers_with_dtype_computes():
    out = F.softmax(fastnn.tensor([0, 0]), 0, dtype=fastnn.float32)
    np.testing.assert_allclose(out.numpy(), [0.5, 0.5])


# ---- the smaller activations ---------------------------------------------------------------
ACTS = [("selu", {}), ("celu", {}), ("celu", {"alpha": 0.5}), ("mish", {}), ("hardswish", {}),
        ("hardsigmoid", {}), ("softsign", {}), ("glu", {}), ("glu", {"dim": 0}),
        ("threshold", {"threshold": 0.1, "value": -2.0})]


def _act_input():
    x = np.random.default_rng(3).standard_normal((4, 6)) * 3
    x[0, :5] = [-3.0, 3.0, 0.0, 0.1, -1e-3]  # the kinks of hardswish, threshold and celu
    return x


@pytest.mark.parametrize("name,kw", ACTS)
def test_activation_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    x = _act_input()
    tx, fx = torch.tensor(x, requires_grad=True), _t(x)
    ty = getattr(torch.nn.functional, name)(tx, **kw)
    fy = getattr(F, name)(fx, **kw)
    assert tuple(fy.shape) == tuple(ty.shape) and fy.dtype == _F64
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12,
                               atol=1e-15)
    g = np.random.default_rng(4).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    # PyTorch's float64 hardsigmoid backward scales by 1/6 rounded to float32
    rtol = 1e-7 if name == "hardsigmoid" else 1e-12
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-15)


@pytest.mark.parametrize("name,kw", ACTS)
def test_activation_gradcheck(name, kw):
    x = np.random.default_rng(5).standard_normal((4, 4)) * 2
    assert gradcheck(lambda a: getattr(F, name)(a, **kw), (_t(x),))


@pytest.mark.parametrize("name,kw", [("selu", {}), ("celu", {}), ("mish", {}),
                                     ("hardswish", {}), ("hardsigmoid", {}),
                                     ("threshold", {"threshold": 0.0, "value": 5.0})])
def test_activation_inplace(name, kw):
    x = np.random.default_rng(6).standard_normal(5)
    expected = getattr(F, name)(fastnn.tensor(x), **kw).numpy()
    t = fastnn.tensor(x)
    out = getattr(F, name)(t, inplace=True, **kw)
    assert out is t
    np.testing.assert_array_equal(t.numpy(), expected)


def test_activation_modules_and_errors():
    x = fastnn.tensor(_act_input())
    for m, f in [(nn.SELU(), F.selu), (nn.Mish(), F.mish), (nn.Hardswish(), F.hardswish),
                 (nn.Hardsigmoid(), F.hardsigmoid), (nn.Softsign(), F.softsign),
                 (nn.GLU(), F.glu)]:
        np.testing.assert_array_equal(m(x).numpy(), f(x).numpy())
    np.testing.assert_array_equal(nn.CELU(0.5)(x).numpy(), F.celu(x, 0.5).numpy())
    np.testing.assert_array_equal(nn.Threshold(0.1, 20)(x).numpy(),
                                  F.threshold(x, 0.1, 20).numpy())
    assert repr(nn.Threshold(0.1, 20, True)) == "Threshold(threshold=0.1, value=20, inplace=True)"
    assert repr(nn.CELU(2.0)) == "CELU(alpha=2.0)" and repr(nn.SELU(True)) == "SELU(inplace=True)"
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is "
                                           "size 3"):
        F.glu(fastnn.ones(2, 3))
    with pytest.raises(RuntimeError, match="alpha cannot be 0 for CELU"):
        F.celu(fastnn.ones(2), 0.0)
    t = F.threshold(fastnn.tensor([1, 2, 3]), 1.5, 0.5)
    assert t.dtype == fastnn.int64 and t.tolist() == [0, 2, 3]
