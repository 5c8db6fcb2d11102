"""Second-order gradients through as_strided, overlapping windows included."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradgradcheck

CASES = {
    "sliding_window": lambda x: (x.as_strided((3, 2), (1, 1)) ** 3).sum(),
    "view_of_transpose": lambda x: (x.reshape(2, 2).t().as_strided((2, 2), (1, 2)) ** 2).sum(),
    "offset": lambda x: (x.as_strided((2,), (2,), 1) ** 3).sum(),
    "repeated_slot": lambda x: (x.as_strided((2, 2), (0, 1)) ** 3).sum(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name):
    x = fastnn.tensor([0.5, -1.0, 2.0, 0.3], dtype=fastnn.float64, requires_grad=True)
    assert gradgradcheck(CASES[name], (x,))


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    got = []
    for lib in (fastnn, torch):
        x = lib.tensor([0.5, -1.0, 2.0, 0.3], dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(CASES[name](x), x, create_graph=True)
        (gg,) = lib.autograd.grad((g ** 2).sum(), x)
        got.append(np.array(gg.tolist()))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12)
