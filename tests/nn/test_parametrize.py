"""nn.utils.parametrize / parametrizations: layout, values, gradients and errors vs PyTorch."""
import copy
import pickle

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn.autograd import gradcheck
from fastnn.nn.utils import parametrizations as FP
from fastnn.nn.utils import parametrize as FPz

torch = pytest.importorskip("torch")
from torch.nn.utils import parametrizations as TP  # noqa: E402
from torch.nn.utils import parametrize as TPz  # noqa: E402


def _np(t):
    return t.detach().numpy()


def _copy_params(f, t):
    for name, p in t.named_parameters():
        f.get_parameter(name)._data[...] = _np(p)


def _load(f, t):
    f.load_state_dict({k: fastnn.tensor(_np(v)) for k, v in t.state_dict().items()})


def _same_state(f, t, tol=0.0):
    sf, st = f.state_dict(), t.state_dict()
    assert list(sf) == list(st)
    for k in st:
        np.testing.assert_allclose(_np(sf[k]), _np(st[k]), rtol=tol, atol=tol)


def _reprs_match(f, t):
    assert repr(f) == repr(t)


def _sym(mod):
    class Symmetric(mod.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()
    return Symmetric


def _scale(mod):
    class Scale(mod.Module):
        def forward(self, X):
            return 2.0 * X

        def right_inverse(self, A):
            return A / 2.0
    return Scale


def _split(mod):
    class Split(mod.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, W):
            return W * 0.25, W * 0.75
    return Split


def _pair(make, dtype=np.float64):
    t = make(torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32)
    f = make(nn).to(fastnn.float64 if dtype == np.float64 else fastnn.float32)
    _copy_params(f, t)
    return f, t


def test_layout_keys_repr_and_original_identity():
    f, t = _pair(lambda m: m.Linear(3, 3))
    w = f.weight
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "weight", _sym(mod)())
    _reprs_match(f, t)
    assert type(f).__name__ == "ParametrizedLinear" and isinstance(f, nn.Linear)
    assert f.parametrizations.weight.original is w  # the same Parameter object, renamed
    assert [n for n, _ in f.named_parameters()] == [n for n, _ in t.named_parameters()]
    _same_state(f, t)
    np.testing.assert_allclose(_np(f.weight), _np(t.weight), atol=1e-15)
    assert FPz.is_parametrized(f) and FPz.is_parametrized(f, "weight")
    assert not FPz.is_parametrized(f, "bias") and not FPz.is_parametrized(nn.Linear(2, 2))
    assert FPz.type_before_parametrizations(f) is nn.Linear
    # chained: the second parametrization acts on the first one's output
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "weight", _scale(mod)())
        pz.register_parametrization(m, "weight", _scale(mod)())
    _reprs_match(f, t)
    np.testing.assert_allclose(_np(f.weight), _np(t.weight), atol=1e-14)


def test_forward_backward_and_right_inverse_parity():
    f, t = _pair(lambda m: m.Linear(4, 4))
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "weight", _sym(mod)())
        pz.register_parametrization(m, "weight", _scale(mod)())
    x = np.random.default_rng(0).standard_normal((3, 4))
    yf, yt = f(fastnn.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(_np(yf), _np(yt), atol=1e-13)
    (yf ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(_np(f.parametrizations.weight.original.grad),
                               _np(t.parametrizations.weight.original.grad), atol=1e-12)
    W = np.random.default_rng(1).standard_normal((4, 4))
    W = W + W.T
    f.weight = fastnn.tensor(W)
    t.weight = torch.tensor(W)
    _same_state(f, t, 1e-15)
    np.testing.assert_allclose(_np(f.weight), W, atol=1e-14)


def test_sequence_originals_and_remove():
    f, t = _pair(lambda m: m.Linear(3, 2))
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "weight", _split(mod)())
    _reprs_match(f, t)
    _same_state(f, t, 1e-15)
    f.weight = fastnn.ones(2, 3, dtype=fastnn.float64)
    t.weight = torch.ones(2, 3, dtype=torch.float64)
    _same_state(f, t, 1e-15)
    _check_error(lambda pz, m: pz.remove_parametrizations(m, "weight", leave_parametrized=False),
                 f, t)
    FPz.remove_parametrizations(f, "weight")
    TPz.remove_parametrizations(t, "weight")
    assert type(f) is nn.Linear and not hasattr(f, "parametrizations")
    assert f.weight.requires_grad and isinstance(f.weight, nn.Parameter)
    _same_state(f, t, 1e-15)


@pytest.mark.parametrize("leave", [True, False])
def test_remove_parametrizations_keeps_tensor_object(leave):
    f, t = _pair(lambda m: m.Linear(3, 3))
    w = f.weight
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "weight", _scale(mod)())
        pz.register_parametrization(m, "bias", _scale(mod)())
        pz.remove_parametrizations(m, "weight", leave_parametrized=leave)
    _reprs_match(f, t)
    assert type(f).__name__ == "ParametrizedLinear"
    assert f.weight is w and "weight" in f._parameters
    _same_state(f, t, 1e-15)
    FPz.remove_parametrizations(f, "bias", leave_parametrized=leave)
    TPz.remove_parametrizations(t, "bias", leave_parametrized=leave)
    assert type(f) is nn.Linear and repr(f) == repr(t)
    _same_state(f, t, 1e-15)


def test_buffer_parametrization():
    f, t = _pair(lambda m: m.BatchNorm1d(3))
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "running_var", _scale(mod)())
    assert [n for n, _ in f.named_buffers()] == [n for n, _ in t.named_buffers()]
    _same_state(f, t)
    np.testing.assert_allclose(_np(f.running_var), _np(t.running_var))
    FPz.remove_parametrizations(f, "running_var")
    TPz.remove_parametrizations(t, "running_var")
    _same_state(f, t)


def test_cached_context():
    f = nn.Linear(3, 3)
    FPz.register_parametrization(f, "weight", _scale(nn)())
    assert f.weight is not f.weight
    with FPz.cached():
        w = f.weight
        assert f.weight is w
        with FPz.cached():
            assert f.weight is w
        assert f.weight is w
    assert f.weight is not w


def test_deepcopy_pickle_to_dtype_and_load_state_dict():
    f = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    FPz.register_parametrization(f[0], "weight", _sym(nn)())
    g = copy.deepcopy(f)
    assert type(g[0]) is not type(f[0]) and type(g[0]).__name__ == "ParametrizedLinear"
    assert repr(g) == repr(f)
    assert g[0].parametrizations.weight.original is not f[0].parametrizations.weight.original
    np.testing.assert_array_equal(_np(g[0].weight), _np(f[0].weight))
    FPz.remove_parametrizations(g[0], "weight")  # leaves the original's class intact
    assert type(g[0]) is nn.Linear and FPz.is_parametrized(f[0], "weight")
    _ = f[0].weight
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules"):
        pickle.dumps(f)
    f.to(fastnn.float64)
    assert f[0].weight.dtype == fastnn.float64
    assert f[0].parametrizations.weight.original.dtype == fastnn.float64
    h = nn.Sequential(nn.Linear(3, 3), nn.ReLU()).double()
    FPz.register_parametrization(h[0], "weight", _sym(nn)())
    h.load_state_dict(f.state_dict())
    np.testing.assert_array_equal(_np(h[0].weight), _np(f[0].weight))


def test_gradcheck_parametrized_forward():
    f = nn.Linear(3, 3).double()
    FPz.register_parametrization(f, "weight", _sym(nn)())
    FPz.register_parametrization(f, "weight", _scale(nn)())
    orig = f.parametrizations.weight.original
    x = fastnn.tensor(np.random.default_rng(2).standard_normal((2, 3)), requires_grad=True)

    def fn(xx, w):
        with fastnn.no_grad():
            orig.copy_(w)
        orig.requires_grad_(False)
        return xx @ f.parametrizations.weight[1](f.parametrizations.weight[0](w)).mT

    w0 = orig.detach().clone().requires_grad_(True)
    assert gradcheck(fn, (x, w0))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_training_matches_torch(momentum):
    f, t = _pair(lambda m: m.Linear(4, 3), np.float32)
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "weight", _scale(mod)())
    of = fastnn.optim.SGD(f.parameters(), lr=0.05, momentum=momentum)
    ot = torch.optim.SGD(t.parameters(), lr=0.05, momentum=momentum)
    rng = np.random.default_rng(3)
    for _ in range(4):
        x = rng.standard_normal((5, 4)).astype(np.float32)
        for opt, m, mod in ((of, f, fastnn), (ot, t, torch)):
            opt.zero_grad()
            (m(mod.tensor(x)) ** 2).mean().backward()
            opt.step()
    _same_state(f, t, 1e-5)
    np.testing.assert_allclose(_np(f.weight), _np(t.weight), atol=1e-5)


def _check_error(call, f, t):
    with pytest.raises(Exception) as et:
        call(TPz, t)
    with pytest.raises(type(et.value)) as ef:
        call(FPz, f)
    first = str(et.value).splitlines()[0]
    first = first.replace("torch.", "fastnn.")
    assert str(ef.value).splitlines()[0] == first


def _mods(name):
    def make(mod):
        if name == "noinv":
            class NoInverse(mod.Module):
                def forward(self, X):
                    return X
            return NoInverse()
        if name == "shape":
            class Slice(mod.Module):
                def forward(self, X):
                    return X[:2]
            return Slice()
        if name == "dtype":
            class Cast(mod.Module):
                def forward(self, X):
                    return X.double()
            return Cast()
        if name == "nontensor":
            class Three(mod.Module):
                def forward(self, X):
                    return 3
            return Three()
        if name == "badinv":
            class BadInverse(mod.Module):
                def forward(self, X):
                    return X

                def right_inverse(self, X):
                    return [X, 3]
            return BadInverse()
        raise KeyError(name)
    return make


@pytest.mark.parametrize("kind", ["shape", "dtype", "nontensor", "badinv"])
def test_registration_errors_match_torch(kind):
    f, t = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    mk = _mods(kind)
    _check_error(lambda pz, m: pz.register_parametrization(
        m, "weight", mk(nn if pz is FPz else torch.nn)), f, t)
    assert type(f) is nn.Linear and "weight" in f._parameters  # nothing half-done


def test_misuse_errors_match_torch():
    f, t = nn.Linear(3, 3), torch.nn.Linear(3, 3)
    _check_error(lambda pz, m: pz.remove_parametrizations(m, "weight"), f, t)
    _check_error(lambda pz, m: pz.register_parametrization(m, "weight", lambda x: x), f, t)
    mk = _mods("noinv")
    for pz, m in ((FPz, f), (TPz, t)):
        pz.register_parametrization(m, "weight", mk(nn if pz is FPz else torch.nn))
    _check_error(lambda pz, m: setattr(m, "weight", (fastnn if pz is FPz else torch).ones(3, 3)),
                 f, t)
    # appending a shape-changing parametrization to an existing chain
    _check_error(lambda pz, m: pz.register_parametrization(
        m, "weight", _mods("shape")(nn if pz is FPz else torch.nn)), f, t)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        FPz.register_parametrization(nn.Linear(2, 2), "foo", _scale(nn)())
    # unsafe allows the shape change
    g = nn.Linear(3, 4)
    FPz.register_parametrization(g, "weight", _mods("shape")(nn), unsafe=True)
    assert g.weight.shape == (2, 3)


# ---- parametrizations -------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("omap", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("triv", [True, False])
def test_orthogonal_matches_torch(shape, omap, triv):
    torch.manual_seed(0)
    t = torch.nn.Linear(shape[1], shape[0]).double()
    f = nn.Linear(shape[1], shape[0]).double()
    TP.orthogonal(t, orthogonal_map=omap, use_trivialization=triv)
    FP.orthogonal(f, orthogonal_map=omap, use_trivialization=triv)
    assert list(f.state_dict()) == list(t.state_dict())
    _reprs_match(f, t)
    w = f.weight.detach().numpy()
    small = w if shape[0] >= shape[1] else w.T
    np.testing.assert_allclose(small.T @ small, np.eye(min(shape)), atol=1e-12)
    with torch.no_grad():
        t.parametrizations.weight.original.add_(0.2 * torch.randn(shape, dtype=torch.float64))
    _load(f, t)
    x = np.random.default_rng(4).standard_normal((2, shape[1]))
    yf, yt = f(fastnn.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(_np(yf), _np(yt), atol=1e-12)
    (yf ** 2).sum().backward()
    (yt ** 2).sum().backward()
    np.testing.assert_allclose(_np(f.parametrizations.weight.original.grad),
                               _np(t.parametrizations.weight.original.grad), atol=1e-11)
    if triv or omap == "householder":
        Q = np.linalg.qr(np.random.default_rng(5).standard_normal((max(shape), min(shape))))[0]
        Q = Q if shape[0] >= shape[1] else Q.T
        f.weight = fastnn.tensor(Q)
        np.testing.assert_allclose(_np(f.weight), Q, atol=1e-12)
    else:
        _check_error(lambda pz, m: setattr(m, "weight", (fastnn if pz is FPz else torch)
                                           .zeros(*shape, dtype=torch.float64
                                                  if pz is TPz else fastnn.float64)), f, t)


def test_orthogonal_gradcheck_and_errors():
    f = nn.Linear(3, 3).double()
    FP.orthogonal(f, orthogonal_map="cayley")
    plist = f.parametrizations.weight
    X = fastnn.tensor(0.3 * np.random.default_rng(6).standard_normal((3, 3)), requires_grad=True)
    assert gradcheck(lambda a: plist[0](a), (X,))
    for bad in (lambda mod: (mod.nn.Linear(3, 3), "bias", None),
                lambda mod: (mod.nn.Linear(3, 3), "weight", "qr"),
                lambda mod: (mod.nn.Linear(3, 3), "nothere", None)):
        with pytest.raises(ValueError) as et:
            m, n, o = bad(torch)
            TP.orthogonal(m, n, o)
        with pytest.raises(ValueError) as ef:
            m, n, o = bad(fastnn)
            FP.orthogonal(m, n, o)
        assert str(ef.value).splitlines()[0].split("'")[0] == \
            str(et.value).splitlines()[0].split("'")[0]


@pytest.mark.parametrize("layer,xshape", [("Linear", (3, 5)), ("ConvTranspose2d", (2, 2, 4, 4))])
def test_spectral_norm_matches_torch(layer, xshape):
    make = {"Linear": lambda m: m.Linear(5, 4),
            "ConvTranspose2d": lambda m: m.ConvTranspose2d(2, 3, 3)}[layer]
    f, t = _pair(make)
    TP.spectral_norm(t, n_power_iterations=2)
    FP.spectral_norm(f, n_power_iterations=2)
    _reprs_match(f, t)
    assert list(f.state_dict()) == list(t.state_dict())
    assert [n for n, _ in f.named_buffers()] == [n for n, _ in t.named_buffers()]
    _load(f, t)
    x = np.random.default_rng(7).standard_normal(xshape)
    for _ in range(2):  # training mode: each forward refines _u/_v in place
        yf, yt = f(fastnn.tensor(x)), t(torch.tensor(x))
        yf.sum().backward()
        yt.sum().backward()
    np.testing.assert_allclose(_np(yf), _np(yt), atol=1e-12)
    np.testing.assert_allclose(_np(f.parametrizations.weight.original.grad),
                               _np(t.parametrizations.weight.original.grad), atol=1e-12)
    _same_state(f, t, 1e-12)
    f.eval()
    t.eval()
    u = _np(f.parametrizations.weight[0]._u).copy()
    np.testing.assert_allclose(_np(f(fastnn.tensor(x))), _np(t(torch.tensor(x))), atol=1e-12)
    np.testing.assert_array_equal(_np(f.parametrizations.weight[0]._u), u)


def test_spectral_norm_1d_and_errors():
    f, t = _pair(lambda m: m.Linear(5, 4))
    FP.spectral_norm(f, "bias")
    TP.spectral_norm(t, "bias")
    np.testing.assert_allclose(_np(f.bias), _np(t.bias), atol=1e-15)
    for kwargs in ({"n_power_iterations": 0}, {"dim": 2}, {"name": "nothere"}):
        with pytest.raises(Exception) as et:
            TP.spectral_norm(torch.nn.Linear(2, 2), **kwargs)
        with pytest.raises(type(et.value)) as ef:
            FP.spectral_norm(nn.Linear(2, 2), **kwargs)
        assert str(ef.value).split("'")[0] == str(et.value).split("'")[0]


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    f, t = _pair(lambda m: m.Conv1d(2, 3, 3))
    TP.weight_norm(t, dim=dim)
    FP.weight_norm(f, dim=dim)
    _reprs_match(f, t)
    _same_state(f, t, 1e-15)
    x = np.random.default_rng(8).standard_normal((2, 2, 6))
    yf, yt = f(fastnn.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(_np(yf), _np(yt), atol=1e-13)
    yf.sum().backward()
    yt.sum().backward()
    for k in ("original0", "original1"):
        np.testing.assert_allclose(_np(getattr(f.parametrizations.weight, k).grad),
                                   _np(getattr(t.parametrizations.weight, k).grad), atol=1e-12)
    FPz.remove_parametrizations(f, "weight")
    TPz.remove_parametrizations(t, "weight")
    _same_state(f, t, 1e-14)


def test_weight_norm_training_with_arena_optimizer():
    f, t = _pair(lambda m: m.Linear(4, 3), np.float32)
    FP.weight_norm(f)
    TP.weight_norm(t)
    of = fastnn.optim.Adam(f.parameters(), lr=0.01)
    ot = torch.optim.Adam(t.parameters(), lr=0.01)
    rng = np.random.default_rng(9)
    for _ in range(4):
        x = rng.standard_normal((6, 4)).astype(np.float32)
        for opt, m, mod in ((of, f, fastnn), (ot, t, torch)):
            opt.zero_grad()
            (m(mod.tensor(x)) ** 2).mean().backward()
            opt.step()
    _same_state(f, t, 1e-5)
    # assigning through right_inverse after packing writes into the optimizer's tensors
    W = rng.standard_normal((3, 4)).astype(np.float32)
    f.weight = fastnn.tensor(W)
    np.testing.assert_allclose(_np(f.weight), W, rtol=1e-5, atol=1e-6)
    assert any(p is f.parametrizations.weight.original1 for p in of.param_groups[0]["params"])


def test_right_inverse_may_change_the_stored_shape():
    def make(mod):
        class Flat(mod.Module):
            def forward(self, X):
                return X.reshape(3, 4)

            def right_inverse(self, W):
                return W.reshape(2, 6)
        return Flat()
    f, t = _pair(lambda m: m.Linear(4, 3))
    w = f.weight
    for mod, pz, m in ((nn, FPz, f), (torch.nn, TPz, t)):
        pz.register_parametrization(m, "weight", make(mod))
    assert f.parametrizations.weight.original is w and w.shape == (2, 6)
    _same_state(f, t)
    np.testing.assert_array_equal(_np(f.weight), _np(t.weight))
