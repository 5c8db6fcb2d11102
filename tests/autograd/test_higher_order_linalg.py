"""Second-order gradients through the singular values (svdvals, nuclear and spectral norms)."""
import numpy as np
import pytest
import torch

import fastnn
from fastnn.autograd import gradgradcheck


def _matrix(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 5), (2, 4, 3)])
def test_svdvals_gradgradcheck(shape):
    x = fastnn.tensor(_matrix(shape), requires_grad=True)
    assert gradgradcheck(fastnn.linalg.svdvals, (x,))


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5)])
def test_matrix_norm_double_backward_matches_torch(ord, shape):
    a = _matrix(shape)
    w = _matrix(shape, seed=1)
    res = []
    for lib in (torch, fastnn):
        x = lib.tensor(a, requires_grad=True)
        y = lib.linalg.matrix_norm(x, ord)
        (g,) = lib.autograd.grad((y * y).sum() + y.sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g * lib.tensor(w)).sum(), x)
        res.append((g.detach().numpy(), h.numpy()))
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_nuclear_norm_hessian_is_symmetric():
    x = fastnn.tensor(_matrix((3, 3)), requires_grad=True)
    hess = fastnn.autograd.functional.hessian(
        lambda t: fastnn.linalg.matrix_norm(t, "nuc"), x).numpy().reshape(9, 9)
    np.testing.assert_allclose(hess, hess.T, atol=1e-10)
