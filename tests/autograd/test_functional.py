"""fastnn.autograd.functional: jacobian and vjp against PyTorch, and their arguments."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

# PyTorch's vectorized jacobian warns about its own internals
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

X = np.random.default_rng(0).standard_normal(3)
W = np.random.default_rng(1).standard_normal((2, 3))


def _both(fn):
    return fn(fastnn), fn(torch)


@pytest.mark.parametrize("case", ["vector", "matrix_out", "tuple_in"])
def test_jacobian_matches_torch(case):
    def run(lib):
        jac = lib.autograd.functional.jacobian
        x, w = lib.tensor(X), lib.tensor(W)
        if case == "vector":
            return (jac(lambda a: a.sin() * a, x),)
        if case == "matrix_out":
            return (jac(lambda a: a.unsqueeze(0) * w, x),)
        return jac(lambda a, b: (b @ a).exp(), (x, w))
    got, want = _both(run)
    for g, t in zip(got, want):
        assert tuple(g.shape) == tuple(t.shape)
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


def test_jacobian_accepts_pytorchs_keywords():
    def run(lib):
        return lib.autograd.functional.jacobian(lambda a: a ** 3, lib.tensor(X),
                                                create_graph=False, vectorize=True,
                                                strategy="forward-mode")
    got, want = _both(run)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("kwargs", [{"strategy": "sideways"}, {"strategy": "forward-mode"}])
def test_jacobian_argument_errors_match_torch(kwargs):
    with pytest.raises(Exception) as want:
        torch.autograd.functional.jacobian(lambda a: a * 2, torch.ones(2), **kwargs)
    with pytest.raises(type(want.value)):
        fastnn.autograd.functional.jacobian(lambda a: a * 2, fastnn.ones(2), **kwargs)


def test_jacobian_create_graph_is_differentiable():
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        jac = lib.autograd.functional.jacobian(lambda a: a.sin() * a, x, create_graph=True)
        assert jac.requires_grad
        (g,) = lib.autograd.grad((jac * jac).sum(), x)
        return jac.detach(), g
    (fj, fg), (tj, tg) = _both(run)
    np.testing.assert_allclose(fj.numpy(), tj.numpy(), rtol=1e-12)
    np.testing.assert_allclose(fg.numpy(), tg.numpy(), rtol=1e-12)


def test_vjp_matches_torch():
    def run(lib):
        out, g = lib.autograd.functional.vjp(lambda a: (a * a).sum(0), lib.tensor(W),
                                             lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64))
        return out, g
    (fo, fg), (to, tg) = _both(run)
    np.testing.assert_allclose(fo.numpy(), to.numpy(), rtol=1e-12)
    np.testing.assert_allclose(fg.numpy(), tg.numpy(), rtol=1e-12)


_X = [1.0, 2.0, 3.0]
_Y = [0.5, -1.0]
_CASES = {
    "tuple_out": lambda lib, F: F.jacobian(lambda a: (a * 2, a.sum()), lib.tensor(_X)),
    "const_out": lambda lib, F: F.jacobian(lambda a: lib.ones(2), lib.tensor(_X)),
    "two_in": lambda lib, F: F.jacobian(lambda a, b: a[:2] * b, (lib.tensor(_X), lib.tensor(_Y))),
    "two_in_two_out": lambda lib, F: F.jacobian(lambda a, b: (a[:2] * b, b.exp()),
                                                (lib.tensor(_X), lib.tensor(_Y))),
    "jvp": lambda lib, F: F.jvp(lambda a: a ** 2, lib.tensor(_X), lib.ones(3)),
    "jvp_tuple": lambda lib, F: F.jvp(lambda a, b: (a[:2] * b, b.exp()),
                                      (lib.tensor(_X), lib.tensor(_Y)), (lib.ones(3), lib.ones(2))),
    # prod and where: the first-order fallback while they lack second-order rules
    "jvp_prod_where": lambda lib, F: F.jvp(lambda a: (a.prod() * a, lib.where(a > 1.5, a, a * a)),
                                           lib.tensor(_X), lib.tensor([1.0, 0.5, -1.0])),
    "vjp_tuple": lambda lib, F: F.vjp(lambda a, b: (a[:2] * b, b.exp()),
                                      (lib.tensor(_X), lib.tensor(_Y)), (lib.ones(2), lib.ones(2))),
}


def _flat(x):
    return [v for item in x for v in _flat(item)] if isinstance(x, tuple) else [x.numpy()]


@pytest.mark.parametrize("name", sorted(_CASES))
def test_functional_tuples_and_jvp_match_torch(name):
    ours = _flat(_CASES[name](fastnn, fastnn.autograd.functional))
    want = _flat(_CASES[name](torch, torch.autograd.functional))
    assert len(ours) == len(want)
    for a, b in zip(ours, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("call", [
    lambda lib: lib.autograd.functional.jacobian(lambda a: lib.ones(2), lib.ones(3), strict=True),
    lambda lib: lib.autograd.functional.jacobian(lambda a, b: a * 2, (lib.ones(2), lib.ones(2)),
                                                 strict=True),
    lambda lib: lib.autograd.functional.jvp(lambda a: a ** 2, lib.ones(3)),
    lambda lib: lib.autograd.functional.vjp(lambda a: a ** 2, lib.ones(3)),
])
def test_functional_errors_match_torch(call):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(type(want.value)) as got:
        call(fastnn)
    assert str(got.value) == str(want.value)


def test_forward_mode_with_create_graph_or_strict_matches_torch():
    for kwargs in ({"create_graph": True}, {"strict": True}):
        call = (lambda lib: lib.autograd.functional.jacobian(
            lambda a: a * 2, lib.ones(2), vectorize=True, strategy="forward-mode", **kwargs))
        with pytest.raises(Exception) as want:
            call(torch)
        with pytest.raises(type(want.value)) as got:
            call(fastnn)
        assert str(got.value) == str(want.value).replace("torch.", "fastnn.")


@pytest.mark.parametrize("helper", ["vjp", "jvp"])
def test_vjp_and_jvp_create_graph_are_differentiable(helper):
    def run(lib):
        x = lib.tensor(X, requires_grad=True)
        out, res = getattr(lib.autograd.functional, helper)(
            lambda a: a.sin() * a.exp(), x, lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64),
            create_graph=True)
        assert out.requires_grad and res.requires_grad
        (g,) = lib.autograd.grad((res * res).sum(), x)
        return res.detach(), g
    (fr, fg), (tr, tg) = _both(run)
    np.testing.assert_allclose(fr.numpy(), tr.numpy(), rtol=1e-12)
    np.testing.assert_allclose(fg.numpy(), tg.numpy(), rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda lib: lib.autograd.functional.jvp(lambda a: lib.ones(2), lib.ones(3), lib.ones(3),
                                            strict=True),
    lambda lib: lib.autograd.functional.vjp(lambda a, b: a * 2, (lib.ones(2), lib.ones(2)),
                                            lib.ones(2), strict=True),
    lambda lib: lib.autograd.functional.jacobian(lambda a: a * 2, lib.ones(2), strict=True,
                                                 vectorize=True),
    lambda lib: lib.autograd.functional.jvp(lambda a: a * 2, lib.ones(2), lib.ones(3)),
])
def test_strict_and_v_errors_match_torch(call):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(type(want.value)) as got:
        call(fastnn)
    assert str(got.value) == str(want.value).replace("torch.", "fastnn.")


def test_jvp_falls_back_to_first_order_for_an_op_without_a_second_order_rule(monkeypatch):
    from fastnn.autograd import higher_order, ops_math
    monkeypatch.delitem(higher_order._RULES, ops_math.SinBackward0)

    def run(lib):
        return lib.autograd.functional.jvp(lambda a: (a.sin() * a, a.sin().sum()),
                                           lib.tensor(X), lib.tensor([1.0, -2.0, 0.5],
                                                                     dtype=lib.float64))
    ours, want = _both(run)
    for a, b in zip(_flat(ours), _flat(want)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="SinBackward0"):
        fastnn.autograd.functional.jvp(lambda a: a.sin(), fastnn.tensor(X), fastnn.tensor(X),
                                       create_graph=True)
