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


def test_jacobian_create_graph_names_the_limit():
    with pytest.raises(NotImplementedError, match="higher-order gradients"):
        fastnn.autograd.functional.jacobian(lambda a: a * 2, fastnn.ones(2), create_graph=True)


def test_vjp_matches_torch():
    def run(lib):
        out, g = lib.autograd.functional.vjp(lambda a: (a * a).sum(0), lib.tensor(W),
                                             lib.tensor([1.0, -2.0, 0.5], dtype=lib.float64))
        return out, g
    (fo, fg), (to, tg) = _both(run)
    np.testing.assert_allclose(fo.numpy(), to.numpy(), rtol=1e-12)
    np.testing.assert_allclose(fg.numpy(), tg.numpy(), rtol=1e-12)
