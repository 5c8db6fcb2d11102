"""Double backward (create_graph=True) through solve_triangular, cholesky_solve,
cholesky_inverse, eigvalsh, the LU factorization (lu_factor, lu, lu_solve) and
scatter_reduce 'prod', and the Hessian of a MultivariateNormal log-prob built on a
scale_tril."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck, gradgradcheck


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _factor(shape, seed):
    """A well-conditioned lower-triangular factor (positive diagonal), noise above it."""
    a = _rand(shape, seed) * 0.3
    n = shape[-1]
    return np.tril(a) + 2.0 * np.eye(n) + np.triu(_rand(shape, seed + 7), 1)


def _well_conditioned(shape, seed):
    a = _rand(shape, seed)
    m, n = shape[-2:]
    return a + 3.0 * np.eye(m, n)


# each case: (name, function of the library and its inputs, input arrays)
CASES = [
    ("solve_triangular_lower",
     lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False),
     [_factor((3, 3), 0), _rand((3, 2), 1)]),
    ("solve_triangular_upper_unit",
     lambda lib, a, b: lib.linalg.solve_triangular(a.mT, b, upper=True, unitriangular=True),
     [_factor((3, 3), 2), _rand((3, 2), 3)]),
    ("solve_triangular_right_batched",
     lambda lib, a, b: lib.linalg.solve_triangular(a, b, upper=False, left=False),
     [_factor((3, 3), 4), _rand((2, 4, 3), 5)]),
    ("cholesky_solve_lower",
     lambda lib, b, f: lib.cholesky_solve(b, f.tril()),
     [_rand((3, 2), 6), _factor((3, 3), 7)]),
    ("cholesky_solve_upper_batched",
     lambda lib, b, f: lib.cholesky_solve(b, f.tril().mT, upper=True),
     [_rand((2, 3, 2), 8), _factor((3, 3), 9)]),
    ("cholesky_inverse_lower",
     lambda lib, f: lib.cholesky_inverse(f.tril()),
     [_factor((3, 3), 10)]),
    ("cholesky_inverse_upper",
     lambda lib, f: lib.cholesky_inverse(f.tril().mT, upper=True),
     [_factor((3, 3), 11)]),
    ("eigvalsh",
     lambda lib, a: lib.linalg.eigvalsh(a + a.mT),
     [_rand((4, 4), 12)]),
    ("eigvalsh_batched_upper",
     lambda lib, a: lib.linalg.eigvalsh(a + a.mT, UPLO="U"),
     [_rand((2, 3, 3), 13)]),
    ("lu_factor_square",
     lambda lib, a: lib.linalg.lu_factor(a)[0],
     [_well_conditioned((3, 3), 14)]),
    ("lu_factor_tall",
     lambda lib, a: lib.linalg.lu_factor(a)[0],
     [_well_conditioned((4, 3), 15)]),
    ("lu_factor_wide_batched",
     lambda lib, a: lib.linalg.lu_factor(a)[0],
     [_well_conditioned((2, 3, 4), 16)]),
    ("lu_factors",
     lambda lib, a: lib.cat([t.reshape(-1) for t in lib.linalg.lu(a)[1:]]),
     [_well_conditioned((3, 3), 17)]),
    ("lu_solve",
     lambda lib, a, b: lib.linalg.lu_solve(*lib.linalg.lu_factor(a), b),
     [_well_conditioned((3, 3), 18), _rand((3, 2), 19)]),
    ("scatter_reduce_prod",
     lambda lib, a, s: a.scatter_reduce(0, lib.tensor([[0, 1, 2, 0], [1, 1, 0, 2]]), s, "prod"),
     [_rand((3, 4), 26), _rand((2, 4), 27)]),
    ("scatter_reduce_prod_exclude_self_dim1",
     lambda lib, a, s: a.scatter_reduce(1, lib.tensor([[0, 0, 2], [1, 2, 2]]), s, "prod",
                                        include_self=False),
     [_rand((2, 3), 28), _rand((2, 3), 29)]),
    ("scatter_reduce_prod_single_zeros",
     lambda lib, a, s: a.scatter_reduce(0, lib.tensor([[0, 1, 2, 0], [1, 1, 0, 2]]), s, "prod"),
     [_rand((3, 4), 30) * np.array([1, 0, 1, 1]), _rand((2, 4), 31) * np.array([1, 1, 0, 1])]),
]


def _inputs(lib, arrays):
    return [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_gradgradcheck(name, fn, arrays):
    xs = _inputs(fastnn, arrays)
    assert gradcheck(lambda *t: fn(fastnn, *t), xs)
    assert gradgradcheck(lambda *t: fn(fastnn, *t), xs)


@pytest.mark.parametrize("name,fn,arrays", CASES, ids=[c[0] for c in CASES])
def test_double_backward_matches_torch(name, fn, arrays):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, fastnn):
        xs = _inputs(lib, arrays)
        out = fn(lib, *xs)
        weight = lib.tensor(_rand(tuple(out.shape), 99), dtype=lib.float64)
        loss = (out * weight).sum() + (out * out).sum()
        grads = lib.autograd.grad(loss, xs, create_graph=True)
        second = sum((g * g.detach()).sum() for g in grads)
        hess = lib.autograd.grad(second, xs)
        results.append([g.detach().numpy() for g in grads] + [h.numpy() for h in hess])
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


def test_scatter_reduce_prod_gradgradcheck_src_larger_than_index():
    index = fastnn.tensor([[0, 0, 2], [1, 2, 2]])
    xs = _inputs(fastnn, [_rand((2, 3), 32), _rand((3, 5), 33)])
    assert gradgradcheck(lambda a, s: a.scatter_reduce(1, index, s, "prod"), xs)


def _mvn_log_prob(lib, loc, tril, value):
    return lib.distributions.MultivariateNormal(loc, scale_tril=tril.tril()).log_prob(value)


def test_multivariate_normal_scale_tril_hessian():
    loc, value = _rand(3, 20), _rand(3, 21)
    tril = _factor((3, 3), 22)
    hessians = {}
    libs = [fastnn]
    try:
        import torch
        libs.append(torch)
    except ImportError:
        pass
    for lib in libs:
        x = lib.tensor(value, dtype=lib.float64)
        hess = lib.autograd.functional.hessian(
            lambda m, s: _mvn_log_prob(lib, m, s, x),
            (lib.tensor(loc, dtype=lib.float64), lib.tensor(tril, dtype=lib.float64)))
        hessians[lib.__name__] = [[h.numpy() for h in row] for row in hess]
    ours = hessians["fastnn"]
    # d^2/dloc^2 of the log-density is -(L L^T)^-1
    low = np.tril(tril)
    np.testing.assert_allclose(ours[0][0], -np.linalg.inv(low @ low.T), rtol=1e-10)
    if "torch" in hessians:
        for row_got, row_want in zip(ours, hessians["torch"]):
            for got, want in zip(row_got, row_want):
                np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)


# the first-order gradients of cholesky_inverse and cholesky_solve cover the whole factor,
# not just its triangle; the second order differentiates that same formula
DENSE_FACTOR_CASES = [
    ("cholesky_inverse_dense", lambda lib, f: lib.cholesky_inverse(f), [_factor((3, 3), 23)]),
    ("cholesky_solve_dense_upper", lambda lib, b, f: lib.cholesky_solve(b, f, upper=True),
     [_rand((3, 2), 24), _factor((3, 3), 25).T]),
]


@pytest.mark.parametrize("name,fn,arrays", DENSE_FACTOR_CASES,
                         ids=[c[0] for c in DENSE_FACTOR_CASES])
def test_dense_factor_convention_matches_torch(name, fn, arrays):
    test_double_backward_matches_torch(name, fn, arrays)
