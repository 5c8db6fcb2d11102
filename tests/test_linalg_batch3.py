"""LU, Householder, cond, tensorinv/solve, vander, triangular_solve, Cholesky-factor gradients,
empty matrix norms, dtype checks and out= of fastnn.linalg (parity with PyTorch where
installed, plain identities otherwise)."""
import math
import re
import warnings

import numpy as np
import pytest

import fastnn

RNG = np.random.default_rng(0)


def _randn(*shape):
    return RNG.standard_normal(shape)


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


def _parity(fn, arrays, grad=True, atol=1e-10):
    """fn(lib, *tensors) under fastnn and torch: same values, and the same float64 gradients
    of a fixed random weighting of the floating outputs."""
    torch = pytest.importorskip("torch")
    ours = [fastnn.tensor(a, requires_grad=grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, want = _outputs(fn(fastnn, *ours)), _outputs(fn(torch, *theirs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
        np.testing.assert_allclose(g.detach().numpy(), w.detach().numpy(), atol=atol, rtol=1e-9)
    if not grad:
        return
    weights = [_randn(*w.shape) for w in want]
    loss_ours = sum((g * fastnn.tensor(c)).sum() for g, c, w in zip(got, weights, want)
                    if w.requires_grad)
    loss_theirs = sum((w * torch.tensor(c)).sum() for w, c in zip(want, weights)
                      if w.requires_grad)
    grads_ours = fastnn.autograd.grad(loss_ours, ours, allow_unused=True)
    grads_theirs = torch.autograd.grad(loss_theirs, theirs, allow_unused=True)
    for g, w in zip(grads_ours, grads_theirs):
        if w is None:
            assert g is None or not np.any(g.numpy())
            continue
        np.testing.assert_allclose(g.numpy(), w.numpy(), atol=1e-8, rtol=1e-7)


# ---- LU ----------------------------------------------------------------------------------------
LU_SHAPES = [(3, 3), (2, 4, 4), (2, 3, 5), (2, 5, 3), (1, 0, 0)]


@pytest.mark.parametrize("shape", LU_SHAPES)
def test_lu_factor_matches_lapack_and_gradient(shape):
    torch = pytest.importorskip("torch")
    a = _randn(*shape)
    LU, piv = fastnn.linalg.lu_factor(fastnn.tensor(a))
    LU_t, piv_t = torch.linalg.lu_factor(torch.tensor(a))
    assert piv.dtype == fastnn.int32 and np.array_equal(piv.numpy(), piv_t.numpy())
    np.testing.assert_allclose(LU.numpy(), LU_t.numpy(), atol=1e-13)
    _parity(lambda lib, x: lib.linalg.lu(x), [a])
    _parity(lambda lib, x: lib.linalg.lu_factor_ex(x), [a])
    _parity(lambda lib, x: lib.lu_unpack(*lib.linalg.lu_factor(x)), [a])
    _parity(lambda lib, x: lib.lu(x, get_infos=True), [a])


def test_lu_identity_without_torch():
    a = _randn(2, 5, 3)
    P, L, U = fastnn.linalg.lu(fastnn.tensor(a))
    np.testing.assert_allclose((P @ L @ U).numpy(), a, atol=1e-12)
    assert np.all(np.abs(L.numpy()) <= 1 + 1e-15)
    LU, piv, info = fastnn.linalg.lu_factor_ex(fastnn.zeros(2, 3, 3))
    assert info.tolist() == [1, 1] and piv.tolist() == [[1, 2, 3]] * 2
    with pytest.raises(RuntimeError, match=r"U\[1,1\] is zero"):
        fastnn.linalg.lu_factor(fastnn.zeros(2, 2))
    with pytest.raises(RuntimeError, match="LU without pivoting is not implemented"):
        fastnn.linalg.lu(fastnn.eye(2), pivot=False)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve(left, adjoint):
    a, b = _randn(2, 4, 4), (_randn(2, 4, 3) if left else _randn(2, 3, 4))

    def run(lib, x, y):
        LU, piv = lib.linalg.lu_factor(x)
        return lib.linalg.lu_solve(LU, piv, y, left=left, adjoint=adjoint)
    _parity(run, [a, b])
    x = run(fastnn, fastnn.tensor(a), fastnn.tensor(b)).numpy()
    at = np.swapaxes(a, -1, -2) if adjoint else a
    np.testing.assert_allclose(at @ x if left else x @ at, b, atol=1e-10)


def test_old_lu_solve_and_methods():
    a, b = _randn(3, 3), _randn(3, 2)
    _parity(lambda lib, x, y: lib.lu_solve(y, *lib.lu(x)), [a, b])
    _parity(lambda lib, x, y: y.lu_solve(*x.lu()), [a, b])


def test_solve_ex():
    _parity(lambda lib, x, y: lib.linalg.solve_ex(x, y), [_randn(2, 3, 3), _randn(2, 3)])
    z = np.zeros((2, 3, 3))
    z[1] = np.eye(3)
    _parity(lambda lib, x, y: lib.linalg.solve_ex(x, y), [z, np.ones((2, 3))], grad=False)
    with pytest.raises(RuntimeError, match="singular"):
        fastnn.linalg.solve_ex(fastnn.tensor(z), fastnn.ones(2, 3, dtype=fastnn.float64), check_errors=True)


# ---- triangular_solve, Householder ------------------------------------------------------------
@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_triangular_solve(upper, transpose, unit):
    a = _randn(3, 3) + 3 * np.eye(3)
    _parity(lambda lib, x, y: lib.triangular_solve(y, x, upper, transpose, unit),
            [a, _randn(2, 3, 2)])
    _parity(lambda lib, x, y: y.triangular_solve(x, upper=upper), [a, _randn(3, 1)])


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 5), (3, 2, 4)])
def test_geqrf_orgqr_ormqr(shape):
    torch = pytest.importorskip("torch")
    a = _randn(*shape)
    h, tau = fastnn.geqrf(fastnn.tensor(a))
    h_t, tau_t = torch.geqrf(torch.tensor(a))
    np.testing.assert_allclose(h.numpy(), h_t.numpy(), atol=1e-13)
    np.testing.assert_allclose(tau.numpy(), tau_t.numpy(), atol=1e-13)
    hh, tt = h_t.numpy(), tau_t.numpy()
    m = shape[-2]
    if shape[-2] >= shape[-1]:
        _parity(lambda lib, x, t: lib.linalg.householder_product(x, t), [hh, tt])
        _parity(lambda lib, x, t: x.orgqr(t), [hh, tt])
    for left in (True, False):
        for transpose in (False, True):
            c = _randn(*shape[:-2], m, 2) if left else _randn(*shape[:-2], 2, m)
            _parity(lambda lib, x, t, y: lib.ormqr(x, t, y, left, transpose), [hh, tt, c])


def test_householder_product_is_orthonormal_q():
    a = _randn(5, 3)
    h, tau = fastnn.geqrf(fastnn.tensor(a))
    q = fastnn.linalg.householder_product(h, tau).numpy()
    np.testing.assert_allclose(q @ np.triu(h.numpy()[:3]), a, atol=1e-12)
    with pytest.raises(RuntimeError, match="derivative for 'geqrf' is not implemented"):
        fastnn.geqrf(fastnn.tensor(a, requires_grad=True))[0].sum().backward()


# ---- cond, tensorinv / tensorsolve, vander, adjoint, symeig -----------------------------------
def _gradcheck(fn, *arrays):
    inputs = [fastnn.tensor(a, requires_grad=True) for a in arrays]
    assert fastnn.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, math.inf, -math.inf])
def test_cond(p):
    a = _randn(2, 3, 3)
    # PyTorch's own backward fails for the non-spectral norms: check those numerically
    _parity(lambda lib, x: lib.linalg.cond(x, p), [a], grad=p in (None, 2, -2))
    _gradcheck(lambda x: fastnn.linalg.cond(x, p), a)
    if p in (None, 2, -2):
        _parity(lambda lib, x: lib.linalg.cond(x, p), [_randn(3, 4)])
    _parity(lambda lib, x: lib.linalg.cond(x, p), [np.zeros((2, 0, 0))], grad=False)


def test_cond_singular_and_errors():
    assert fastnn.linalg.cond(fastnn.zeros(2, 3, 3), 1).tolist() == [math.inf] * 2
    with pytest.raises(RuntimeError, match="invalid norm type: 3"):
        fastnn.linalg.cond(fastnn.eye(3), 3)
    with pytest.raises(RuntimeError, match="A must be batches of square matrices"):
        fastnn.linalg.cond(fastnn.ones(3, 4), "fro")


def test_tensorinv_tensorsolve():
    _parity(lambda lib, x: lib.linalg.tensorinv(x, ind=1), [_randn(4, 2, 2)])
    _parity(lambda lib, x, y: lib.linalg.tensorsolve(x, y), [_randn(2, 3, 6), _randn(2, 3)])
    _parity(lambda lib, x, y: lib.linalg.tensorsolve(x, y, dims=(0,)),
            [_randn(6, 2, 3), _randn(2, 3)])
    with pytest.raises(RuntimeError, match="but got 6 != 4"):
        fastnn.linalg.tensorinv(fastnn.ones(4, 2, 3), ind=1)


def test_vander():
    x = np.array([0.0, 2.0, -1.5])
    _parity(lambda lib, t: lib.linalg.vander(t), [x])
    _parity(lambda lib, t: lib.linalg.vander(t, N=5), [_randn(2, 3)])
    _parity(lambda lib, t: lib.vander(t), [x], grad=False)
    _parity(lambda lib, t: lib.vander(t, N=2, increasing=True), [x], grad=False)
    _gradcheck(lambda t: fastnn.vander(t, N=4), x)
    ints = fastnn.vander(fastnn.tensor([1, 2, 3], dtype=fastnn.int32))
    assert ints.dtype == fastnn.int64 and ints.tolist() == [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    with pytest.raises(RuntimeError, match="one-dimensional"):
        fastnn.vander(fastnn.ones(2, 2))
    with pytest.raises(RuntimeError, match="N must be greater than 1"):
        fastnn.linalg.vander(fastnn.ones(2), N=1)


def test_adjoint_and_symeig():
    x = fastnn.tensor(_randn(2, 3, 4))
    assert fastnn.adjoint(x).shape == (2, 4, 3) and np.array_equal(x.adjoint().numpy(),
                                                                    x.mT.numpy())
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        fastnn.ones(3).adjoint()
    with pytest.raises(RuntimeError, match="deprecated since version 1.9 and is now removed"):
        fastnn.symeig(fastnn.eye(2))


# ---- Cholesky-factor gradients are dense ------------------------------------------------------
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_inverse_solve_dense_gradient(upper):
    s = np.array([[2.0, 1.0], [1.0, 3.0]])
    low = np.linalg.cholesky(s)
    f = low.T if upper else low
    _parity(lambda lib, x: lib.cholesky_inverse(x, upper=upper), [f])
    _parity(lambda lib, x, y: lib.cholesky_solve(y, x, upper=upper), [f, _randn(3, 2, 2)])
    leaf = fastnn.tensor(low, requires_grad=True)
    (g,) = fastnn.autograd.grad(fastnn.cholesky_inverse(leaf).sum(), leaf)
    assert g.numpy()[0, 1] != 0  # the upper triangle gets a gradient too


# ---- empty matrix norms ------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 3), (2, 3, 0)])
@pytest.mark.parametrize("ord", [1, -1, 2, -2, math.inf, -math.inf, "fro", "nuc"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_of_empty_matrices(shape, ord, keepdim):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, fastnn):
        try:
            r = lib.linalg.matrix_norm(lib.zeros(*shape), ord, keepdim=keepdim)
            results.append((tuple(r.shape), r.tolist()))
        except Exception as e:  # noqa: BLE001 - the error is part of the parity
            results.append((type(e).__name__, str(e)))
    assert results[0] == results[1]


def test_matrix_norm_of_empty_without_torch():
    assert fastnn.linalg.matrix_norm(fastnn.zeros(0, 0), 1).item() == 0.0
    assert fastnn.linalg.matrix_norm(fastnn.zeros(2, 0, 3), 2).tolist() == [0.0, 0.0]
    with pytest.raises(IndexError, match="non-zero size"):
        fastnn.linalg.matrix_norm(fastnn.zeros(0, 0), -2)


# ---- dtype and shape checks --------------------------------------------------------------------
def test_invalid_inputs_raise():
    ints = fastnn.tensor([1, 2])
    for call in (lambda: fastnn.norm(ints), lambda: ints.norm(p=1),
                 lambda: fastnn.norm(ints, dim=0), lambda: ints.norm(dtype=fastnn.float32)):
        with pytest.raises(RuntimeError, match="linalg.vector_norm: Expected a floating point"):
            call()
    with pytest.raises(RuntimeError, match="linalg.vecdot: Expected a floating point"):
        fastnn.linalg.vecdot(ints, ints)
    with pytest.raises(RuntimeError, match="Expected x and y to have the same dtype"):
        fastnn.linalg.vecdot(fastnn.ones(2), ints)
    with pytest.raises(NotImplementedError, match="\"trace\" not implemented for 'Bool'"):
        fastnn.trace(fastnn.ones(2, 2, dtype=fastnn.bool))
    with pytest.raises(RuntimeError, match=r"input.dim\(\) must be greater or equal"):
        fastnn.linalg.lstsq(fastnn.randn(3, 3), fastnn.randn(2, 3, 2))
    assert fastnn.linalg.vecdot(fastnn.ones(3), fastnn.ones(3)).item() == 3.0
    assert fastnn.ones(2, 2, dtype=fastnn.uint8).trace().item() == 2


# ---- out= ----------------------------------------------------------------------------------------
SPD = np.array([[2.0, 1.0], [1.0, 3.0]])
OUT_CASES = [
    ("inv", lambda la, a, out: la.inv(a, out=out), 1),
    ("det", lambda la, a, out: la.det(a, out=out), 1),
    ("solve", lambda la, a, out: la.solve(a, a, out=out), 1),
    ("norm", lambda la, a, out: la.norm(a, out=out), 1),
    ("vector_norm", lambda la, a, out: la.vector_norm(a, 3, out=out), 1),
    ("matrix_norm", lambda la, a, out: la.matrix_norm(a, "nuc", out=out), 1),
    ("cholesky", lambda la, a, out: la.cholesky(a, out=out), 1),
    ("pinv", lambda la, a, out: la.pinv(a, out=out), 1),
    ("svdvals", lambda la, a, out: la.svdvals(a, out=out), 1),
    ("eigvalsh", lambda la, a, out: la.eigvalsh(a, out=out), 1),
    ("eigh", lambda la, a, out: la.eigh(a, out=out), 2),
    ("qr", lambda la, a, out: la.qr(a, out=out), 2),
    ("slogdet", lambda la, a, out: la.slogdet(a, out=out), 2),
    ("svd", lambda la, a, out: la.svd(a, out=out), 3),
    ("cond", lambda la, a, out: la.cond(a, out=out), 1),
    ("lu_factor", lambda la, a, out: la.lu_factor(a, out=out), 2),
]


@pytest.mark.parametrize("name,call,count", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_linalg_out(name, call, count):
    a = fastnn.tensor(SPD)
    want = call(fastnn.linalg, a, None)
    want = list(want) if isinstance(want, tuple) else [want]
    outs = [fastnn.empty(0, dtype=w.dtype) for w in want]
    got = call(fastnn.linalg, a, outs[0] if count == 1 else tuple(outs))
    got = list(got) if isinstance(got, tuple) else [got]
    for g, o, w in zip(got, outs, want):
        assert g is o
        np.testing.assert_allclose(o.numpy(), w.numpy())


def test_linalg_out_errors():
    a = fastnn.tensor(SPD, dtype=fastnn.float32)
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype float, but got "
                                           "double instead"):
        fastnn.linalg.inv(a, out=fastnn.empty(2, 2, dtype=fastnn.float64))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        fastnn.linalg.inv(a.requires_grad_(), out=fastnn.empty(2, 2))


# ---- det at a singular matrix --------------------------------------------------------------
def test_det_gradient_at_singular_matrix_is_the_adjugate():
    # PyTorch 2.13 returns zeros here; the derivative of det is the adjugate, nonzero at rank n-1
    a = fastnn.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=fastnn.float64, requires_grad=True)
    (g,) = fastnn.autograd.grad(fastnn.linalg.det(a), a)
    np.testing.assert_allclose(g.numpy(), [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-12)


# ---- LDL (Bunch-Kaufman) ------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 4, 7])
@pytest.mark.parametrize("small_diagonal", [False, True])
def test_ldl_factor_and_solve_match_lapack(n, small_diagonal):
    torch = pytest.importorskip("torch")
    a = _randn(3, n, n)
    a = a + np.swapaxes(a, -1, -2)
    if small_diagonal:  # forces 2x2 blocks and interchanges
        a[:, np.arange(n), np.arange(n)] *= 1e-3
    b = _randn(3, n, 2)
    LD, piv = fastnn.linalg.ldl_factor(fastnn.tensor(a))
    LD_t, piv_t = torch.linalg.ldl_factor(torch.tensor(a))
    assert piv.dtype == fastnn.int32 and np.array_equal(piv.numpy(), piv_t.numpy())
    np.testing.assert_allclose(LD.numpy(), LD_t.numpy(), atol=1e-12)
    x = fastnn.linalg.ldl_solve(LD, piv, fastnn.tensor(b)).numpy()
    np.testing.assert_allclose(x, torch.linalg.ldl_solve(LD_t, piv_t, torch.tensor(b)).numpy(),
                               rtol=1e-9, atol=1e-9)


def test_ldl_without_torch():
    a = _randn(5, 5)
    a = a + a.T
    a[np.arange(5), np.arange(5)] = 0
    b = _randn(5, 3)
    LD, piv = fastnn.linalg.ldl_factor(fastnn.tensor(a))
    assert np.all(np.triu(LD.numpy(), 1) == 0)
    np.testing.assert_allclose(a @ fastnn.linalg.ldl_solve(LD, piv, fastnn.tensor(b)).numpy(), b,
                               atol=1e-9)
    LD, piv, info = fastnn.linalg.ldl_factor_ex(fastnn.zeros(2, 2))
    assert info.item() == 1 and piv.tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="A must be batches of square matrices"):
        fastnn.linalg.ldl_factor(fastnn.zeros(2, 3))
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex"):
        fastnn.linalg.ldl_factor(fastnn.tensor(a, requires_grad=True))[0].sum().backward()


def test_lu_errors():
    with pytest.raises(NotImplementedError, match="\"lu_cpu\" not implemented for 'Long'"):
        fastnn.linalg.lu_factor(fastnn.ones(3, 3, dtype=fastnn.int64))
    with pytest.raises(RuntimeError, match="Expected tensor with 2 or more dimensions"):
        fastnn.linalg.lu_factor(fastnn.ones(3))
    eye, ones = fastnn.eye(3), fastnn.ones(3, 2)
    with pytest.raises(RuntimeError, match="must all be greater or equal to 1"):
        fastnn.linalg.lu_solve(eye, fastnn.zeros(3, dtype=fastnn.int32), ones)
    with pytest.raises(RuntimeError, match="Number of pivots per batch"):
        fastnn.linalg.lu_solve(eye, fastnn.ones(2, dtype=fastnn.int32), ones)
    with pytest.raises(RuntimeError, match=r"equation AX = B \(3x3 and 4x2\)"):
        fastnn.linalg.lu_solve(eye, fastnn.ones(3, dtype=fastnn.int32), fastnn.ones(4, 2))
    with pytest.raises(NotImplementedError, match="triangular_solve_cpu"):
        fastnn.triangular_solve(fastnn.ones(3, 2, dtype=fastnn.int64),
                                fastnn.ones(3, 3, dtype=fastnn.int64))
    assert fastnn.linalg.cond(fastnn.ones(2, 2), "nuc").item() == math.inf


def test_solve_ex_regular_and_singular():
    A = fastnn.tensor([[1.0, 2.0], [2.0, 4.0]])
    res = fastnn.linalg.solve_ex(A, fastnn.ones(2))
    assert int(res.info) == 2 and res.info.dtype == fastnn.int32
    ok = fastnn.linalg.solve_ex(fastnn.eye(2) * 2, fastnn.ones(2))
    assert int(ok.info) == 0 and ok.result.tolist() == [0.5, 0.5]


@pytest.mark.parametrize("m, n, k, other, left", [
    (3, 3, 2, (3, 3), True), (4, 2, 1, (4, 3), True), (4, 3, 2, (2, 4), False)])
def test_ormqr_wants_every_reflector(m, n, k, other, left):
    # PyTorch 2.x: tau.shape[-1] == min(other's reflected size, input.shape[-1])
    A, tau, C = fastnn.randn(m, n), fastnn.rand(k), fastnn.randn(*other)
    side = "other.shape[-2]" if left else "other.shape[-1]"
    with pytest.raises(RuntimeError, match=re.escape(f"tau.shape[-1] must be equal to min({side}")):
        fastnn.ormqr(A, tau, C, left=left)


def test_out_of_another_dtype_for_plain_linalg_results():
    A = fastnn.randn(3, 3, dtype=fastnn.float64) + 3 * fastnn.eye(3, dtype=fastnn.float64)
    for fn, args in ((fastnn.linalg.cond, (A,)), (fastnn.linalg.tensorinv, (A, 1)),
                     (fastnn.linalg.tensorsolve, (A, fastnn.ones(3, dtype=fastnn.float64)))):
        out = fastnn.empty(0, dtype=fastnn.float32)
        got = fn(*args, out=out)
        assert got is out and out.dtype == fastnn.float32
        np.testing.assert_allclose(out.numpy(), fn(*args).numpy(), rtol=1e-5)
