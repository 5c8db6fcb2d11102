"""fastnn.special against torch.special, and gradients of the functions built here."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

X = [-2.0, -0.5, 0.0, 0.3, 1.0, 3.0]
UNIT = [0.01, 0.3, 0.5, 0.99]
POS = [0.5, 1.5, 3.0]
CASES = {"entr": X, "ndtr": X, "expit": X, "gammaln": POS, "erf": X, "erfc": X,
         "erfinv": UNIT[1:], "logit": UNIT, "sinc": X, "exp2": X, "expm1": X, "log1p": POS,
         "i0": X, "digamma": POS, "psi": POS, "ndtri": UNIT, "round": X}


@pytest.mark.parametrize("name", sorted(CASES))
def test_unary_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours = getattr(fastnn.special, name)(fastnn.tensor(CASES[name], dtype=fastnn.float64))
    want = getattr(torch.special, name)(torch.tensor(CASES[name], dtype=torch.float64))
    np.testing.assert_allclose(ours.numpy(), want.numpy(), rtol=1e-10, atol=1e-12)


def test_other_signatures_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [
        (lambda L: L.special.xlog1py(L.tensor([0.0, 1.0, 2.0]), L.tensor([-1.0, 0.5, 2.0]))),
        (lambda L: L.special.xlogy(L.tensor([0.0, 1.0, 2.0]), L.tensor([0.0, 0.5, 2.0]))),
        (lambda L: L.special.multigammaln(L.tensor([2.5, 3.0], dtype=L.float64), 2)),
        (lambda L: L.special.polygamma(1, L.tensor([0.5, 2.0], dtype=L.float64))),
        (lambda L: L.special.softmax(L.tensor([[1.0, 2.0, 3.0]]), 1)),
        (lambda L: L.special.log_softmax(L.tensor([[1.0, 2.0, 3.0]]), 1, dtype=L.float64)),
        (lambda L: L.special.logsumexp(L.tensor([[1.0, 2.0, 3.0]]), 1)),
    ]
    for f in pairs:
        np.testing.assert_allclose(f(fastnn).numpy(), f(torch).numpy(), rtol=1e-6)


@pytest.mark.parametrize("name, data", [("entr", [0.2, 0.7, 2.0]), ("ndtr", X),
                                        ("ndtri", UNIT[1:]), ("expit", X)])
def test_gradients(name, data):
    x = fastnn.tensor(data, dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(getattr(fastnn.special, name), (x,))


def test_xlog1py_gradient_and_errors():
    x = fastnn.tensor([0.5, 2.0], dtype=fastnn.float64, requires_grad=True)
    y = fastnn.tensor([0.3, 1.5], dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(fastnn.special.xlog1py, (x, y))
    with pytest.raises(TypeError, match="must be Tensor"):
        fastnn.special.entr([1.0])


def test_erfcx_and_xlog1py_edge_values():
    x = fastnn.tensor([float("nan"), float("-inf"), float("inf")], dtype=fastnn.float64)
    out = fastnn.special.erfcx(x).tolist()
    assert out[0] != out[0] and out[1] == float("inf") and out[2] == 0.0
    y = fastnn.special.xlog1py(fastnn.tensor([0.0, 0.0]), fastnn.tensor([float("inf"), -1.0]))
    assert y.tolist() == [0.0, 0.0]
