"""nn.utils.weight_norm / spectral_norm (hook form): values, gradients and state vs PyTorch."""
import types
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn.autograd import gradcheck
from fastnn.nn.utils.spectral_norm import SpectralNorm
from fastnn.nn.utils.weight_norm import _weight_norm

torch = pytest.importorskip("torch")

LAYERS = {
    "linear": (lambda m: m.Linear(5, 4), (3, 5)),
    "conv2d": (lambda m: m.Conv2d(2, 3, 3), (2, 2, 5, 5)),
    "conv_transpose2d": (lambda m: m.ConvTranspose2d(2, 3, 3), (2, 2, 4, 4)),
}
DTYPES = {np.float32: (fastnn.float32, torch.float32, 1e-5),
          np.float64: (fastnn.float64, torch.float64, 1e-11)}


def _pair(layer, dt):
    """The same layer in fastnn and torch, with torch's parameter values."""
    make, xshape = LAYERS[layer]
    fdt, tdt, tol = DTYPES[dt]
    t = make(torch.nn).to(tdt)
    f = make(nn).to(fdt)
    for name, p in t.named_parameters():
        getattr(f, name)._data[...] = p.detach().numpy()
    x = np.random.default_rng(0).standard_normal(xshape).astype(dt)
    return f, t, x, tol


def _close(a, b, tol):
    a = a.detach().numpy() if hasattr(a, "detach") else a
    np.testing.assert_allclose(a, b.detach().numpy(), rtol=tol, atol=tol)


def _forward_backward(f, t, x, tol):
    fx = fastnn.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    fo, to = f(fx), t(tx)
    _close(fo, to, tol)
    g = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(x.dtype)
    (fo * fastnn.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    _close(fx.grad, tx.grad, tol)
    for name, p in t.named_parameters():
        _close(getattr(f, name).grad, p.grad, tol)
    f.zero_grad()
    t.zero_grad()


def _quiet(fn, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fn(*a, **kw)


# ---- weight_norm -----------------------------------------------------------------------------
@pytest.mark.parametrize("dt", list(DTYPES))
@pytest.mark.parametrize("layer,dim", [("linear", 0), ("linear", 1), ("linear", None),
                                       ("conv2d", 0), ("conv2d", 2), ("conv2d", -2),
                                       ("conv2d", None), ("conv_transpose2d", 1)])
def test_weight_norm_matches_torch(layer, dim, dt):
    f, t, x, tol = _pair(layer, dt)
    _quiet(nn.utils.weight_norm, f, dim=dim)
    _quiet(torch.nn.utils.weight_norm, t, dim=dim)
    assert list(f.state_dict()) == list(t.state_dict())
    assert [n for n, _ in f.named_parameters()] == [n for n, _ in t.named_parameters()]
    _close(f.weight_g, t.weight_g, tol)
    assert tuple(f.weight_g.shape) == tuple(t.weight_g.shape)
    _close(f.weight_v, t.weight_v, tol)
    _forward_backward(f, t, x, tol)
    # weight follows its parameters before each forward
    with torch.no_grad():
        t.weight_g.mul_(1.5)
        t.weight_v.add_(0.25)
    f.weight_g._data[...] = t.weight_g.detach().numpy()
    f.weight_v._data[...] = t.weight_v.detach().numpy()
    _forward_backward(f, t, x, tol)
    nn.utils.remove_weight_norm(f)
    torch.nn.utils.remove_weight_norm(t)
    assert list(f.state_dict()) == list(t.state_dict())
    assert isinstance(f.weight, nn.Parameter)
    _close(f.weight, t.weight, tol)
    _forward_backward(f, t, x, tol)


def test_weight_norm_warns_and_errors():
    m = nn.Linear(3, 2)
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated in favor of"):
        nn.utils.weight_norm(m)
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks on the same "
                                           "parameter weight"):
        _quiet(nn.utils.weight_norm, m)
    nn.utils.remove_weight_norm(m)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in Linear"):
        nn.utils.remove_weight_norm(m)
    assert _quiet(nn.utils.weight_norm, m, name="bias") is m
    assert sorted(n for n, _ in m.named_parameters()) == ["bias_g", "bias_v", "weight"]


def test_weight_norm_gradcheck():
    rng = np.random.default_rng(2)
    v = fastnn.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    for dim in (0, 1, -1):
        gshape = {0: (3, 1, 1), 1: (1, 2, 1), -1: ()}[dim]
        g = fastnn.tensor(rng.standard_normal(gshape) + 2, requires_grad=True)
        assert gradcheck(lambda g, v: _weight_norm(v, g, dim), (g, v))


def test_weight_norm_load_state_dict():
    a = _quiet(nn.utils.weight_norm, nn.Linear(3, 2))
    b = _quiet(nn.utils.weight_norm, nn.Linear(3, 2))
    b.load_state_dict(a.state_dict())
    x = fastnn.randn(4, 3)
    np.testing.assert_allclose(a(x).detach().numpy(), b(x).detach().numpy())


# ---- spectral_norm ---------------------------------------------------------------------------
def _copy_uv(f, t):
    f.weight_u._data[...] = t.weight_u.numpy()
    f.weight_v._data[...] = t.weight_v.detach().numpy()


@pytest.mark.parametrize("dt", list(DTYPES))
@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("n_iter", [1, 3])
def test_spectral_norm_matches_torch(layer, n_iter, dt):
    f, t, x, tol = _pair(layer, dt)
    nn.utils.spectral_norm(f, n_power_iterations=n_iter)
    torch.nn.utils.spectral_norm(t, n_power_iterations=n_iter)
    assert list(f.state_dict()) == list(t.state_dict())
    assert [n for n, _ in f.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert tuple(f.weight_u.shape) == tuple(t.weight_u.shape)
    assert tuple(f.weight_v.shape) == tuple(t.weight_v.shape)
    np.testing.assert_allclose(np.linalg.norm(f.weight_u.numpy()), 1, rtol=1e-5)
    _copy_uv(f, t)
    for _ in range(3):                        # training: u, v refined on every forward
        _forward_backward(f, t, x, tol)
        _close(f.weight_u, t.weight_u, tol)
        _close(f.weight_v, t.weight_v, tol)
        _close(f.weight, t.weight, tol)
    f.eval()
    t.eval()
    u = f.weight_u.numpy().copy()
    _forward_backward(f, t, x, tol)           # eval: the stored vectors are used as they are
    np.testing.assert_array_equal(f.weight_u.numpy(), u)
    _close(f.weight_u, t.weight_u, tol)
    f.train()
    t.train()
    nn.utils.remove_spectral_norm(f)
    torch.nn.utils.remove_spectral_norm(t)
    assert list(f.state_dict()) == list(t.state_dict())
    assert isinstance(f.weight, nn.Parameter)
    _close(f.weight, t.weight, tol)
    _forward_backward(f, t, x, tol)


def test_spectral_norm_explicit_dim_and_eps():
    f, t, x, tol = _pair("conv2d", np.float64)
    nn.utils.spectral_norm(f, dim=1, eps=1e-6)
    torch.nn.utils.spectral_norm(t, dim=1, eps=1e-6)
    assert tuple(f.weight_u.shape) == tuple(t.weight_u.shape) == (2,)
    _copy_uv(f, t)
    _forward_backward(f, t, x, tol)
    _close(f.weight_u, t.weight_u, tol)


def test_spectral_norm_state_dict_round_trip():
    a = nn.utils.spectral_norm(nn.Linear(4, 3))
    x = fastnn.randn(2, 4)
    a(x)
    sd = a.state_dict()
    assert sd._metadata[""]["spectral_norm"] == {"weight.version": 1}
    b = nn.utils.spectral_norm(nn.Linear(4, 3))
    b.load_state_dict(sd)
    a.eval()
    b.eval()
    np.testing.assert_allclose(a(x).detach().numpy(), b(x).detach().numpy(), rtol=1e-6)
    nn.utils.remove_spectral_norm(b)
    assert "spectral_norm" not in b.state_dict()._metadata[""]


def test_spectral_norm_gradcheck():
    rng = np.random.default_rng(3)
    w = fastnn.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    for dim in (0, 1):
        fn = SpectralNorm(dim=dim)
        h, k = fn.reshape_weight_to_matrix(w).shape
        u = fastnn.tensor(rng.standard_normal(h))
        v = fastnn.tensor(rng.standard_normal(k))

        def weight(w, fn=fn, u=u, v=v):
            holder = types.SimpleNamespace(weight_orig=w, weight_u=u, weight_v=v)
            return fn.compute_weight(holder, do_power_iteration=False)
        assert gradcheck(weight, (w,))


def test_spectral_norm_errors():
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive, but got "
                                         "n_power_iterations=0"):
        nn.utils.spectral_norm(nn.Linear(3, 2), n_power_iterations=0)
    m = nn.utils.spectral_norm(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks on the "
                                           "same parameter weight"):
        nn.utils.spectral_norm(m)
    nn.utils.remove_spectral_norm(m)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found in Linear"):
        nn.utils.remove_spectral_norm(m)
    with pytest.raises(ValueError, match="`SpectralNorm` cannot be applied as parameter "
                                         "`bias` is None"):
        nn.utils.spectral_norm(nn.Linear(3, 2, bias=False), name="bias")


def test_repr_unchanged():
    m = nn.Linear(3, 2)
    r = repr(m)
    assert repr(nn.utils.spectral_norm(m)) == r
    assert repr(_quiet(nn.utils.weight_norm, nn.Linear(3, 2))) == r
