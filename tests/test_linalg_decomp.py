"""fastnn.linalg's matrix functions: values and gradients against PyTorch, and float64
finite-difference gradchecks (these run without PyTorch)."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.linalg as LA
from fastnn.autograd import gradcheck

rng = np.random.default_rng(0)
BATCHES = [(), (2,), (2, 3)]
DTYPES = ["float32", "float64"]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _spd(batch, n):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _sym(x):
    return x + x.mT


def _tol(dtype):
    return dict(rtol=1e-3, atol=1e-3) if dtype == "float32" else dict(rtol=1e-8, atol=1e-9)


def _close(a, b, dtype="float64"):
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **_tol(dtype))


def _parity(torch, fn, arrays, dtype, tfn=None, grad=True):
    """fn(fastnn.linalg, *inputs) vs the same with torch.linalg; then the gradients of
    sum(out * seed) against torch's."""
    fa = [fastnn.tensor(a.astype(dtype), requires_grad=grad) for a in arrays]
    ta = [torch.tensor(a.astype(dtype), requires_grad=grad) for a in arrays]
    fo, to = fn(fastnn, *fa), (tfn or fn)(torch, *ta)
    _close(fo, to, dtype)
    if grad:
        seed = rng.standard_normal(tuple(to.shape)).astype(dtype)
        (fo * fastnn.tensor(seed)).sum().backward()
        (to * torch.tensor(seed)).sum().backward()
        for x, y in zip(fa, ta):
            assert (x.grad is None) == (y.grad is None)
            if y.grad is not None:
                _close(x.grad, y.grad, dtype)


def _gc(fn, *arrays):
    # contiguous copies: gradcheck perturbs the inputs' arrays in place through a flat view
    return gradcheck(fn, tuple(fastnn.tensor(np.ascontiguousarray(a), requires_grad=True)
                               for a in arrays))


# ---- values and gradients against PyTorch -------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_inverse_det_slogdet(torch, dtype, batch):
    a = rng.standard_normal(batch + (4, 4)) + 3 * np.eye(4)
    _parity(torch, lambda m, x: m.linalg.inv(x), [a], dtype)
    _parity(torch, lambda m, x: m.linalg.det(x), [a], dtype)
    _parity(torch, lambda m, x: m.linalg.slogdet(x).logabsdet, [a], dtype)
    _parity(torch, lambda m, x: m.linalg.slogdet(x).sign, [a], dtype, grad=False)
    _parity(torch, lambda m, x: m.logdet(x), [_spd(batch, 4)], dtype)
    _parity(torch, lambda m, x: x.inverse() + x.det()[..., None, None], [a], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa, sb", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3)),
                                    ((2, 3, 3), (3, 4)), ((2, 1, 3, 3), (3, 3, 2))])
def test_solve_shapes(torch, dtype, sa, sb):
    a = rng.standard_normal(sa) + 3 * np.eye(3)
    b = rng.standard_normal(sb)
    _parity(torch, lambda m, x, y: m.linalg.solve(x, y), [a, b], dtype)
    if len(sb) >= 2 and not (len(sb) == len(sa) - 1 and sb == sa[:-1]):
        bt = np.swapaxes(b, -1, -2)
        _parity(torch, lambda m, x, y: m.linalg.solve(x, y, left=False), [a, bt], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("upper, left, unit", [(True, True, False), (False, True, True),
                                               (True, False, True), (False, False, False)])
def test_solve_triangular(torch, dtype, upper, left, unit):
    a = rng.standard_normal((2, 4, 4)) + 4 * np.eye(4)
    b = rng.standard_normal((2, 4, 3) if left else (2, 3, 4))
    _parity(torch, lambda m, x, y: m.linalg.solve_triangular(
        x, y, upper=upper, left=left, unitriangular=unit), [a, b], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
def test_cholesky_family(torch, dtype, batch):
    spd = _spd(batch, 4)
    _parity(torch, lambda m, x: m.linalg.cholesky(x), [spd], dtype)
    _parity(torch, lambda m, x: m.linalg.cholesky(x, upper=True), [spd], dtype)
    _parity(torch, lambda m, x: m.linalg.cholesky_ex(x).L, [spd], dtype)
    low = np.linalg.cholesky(spd)
    b = rng.standard_normal(batch + (4, 2))
    # the factor's strict upper triangle is never read: compare values and the B gradient
    _parity(torch, lambda m, y, x: m.cholesky_solve(y, x.detach()), [b, low], dtype)
    _parity(torch, lambda m, x: m.cholesky_inverse(x), [low], dtype, grad=False)
    _parity(torch, lambda m, x: m.cholesky_inverse(x.mT, upper=True), [low], dtype, grad=False)
    _parity(torch, lambda m, y, x: y.cholesky_solve(x, upper=True), [b, np.swapaxes(low, -1, -2)],
            dtype, grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (2, 3, 5), (2, 2, 4, 3)])
def test_qr(torch, dtype, shape):
    a = rng.standard_normal(shape)
    _parity(torch, lambda m, x: m.linalg.qr(x).Q * 2 + m.linalg.qr(x).R.sum(-1, keepdim=True)
            .sum(-2, keepdim=True), [a], dtype)
    _parity(torch, lambda m, x: m.linalg.qr(x, mode="r").R, [a], dtype, grad=False)
    _parity(torch, lambda m, x: m.linalg.qr(x, mode="complete").R, [a], dtype, grad=False)
    f_q = fastnn.qr(fastnn.tensor(a), some=False).Q
    with warnings.catch_warnings():  # torch.qr is deprecated in PyTorch (it warns once)
        warnings.simplefilter("ignore")
        t_q = torch.qr(torch.tensor(a), some=False).Q
    np.testing.assert_allclose(np.abs(f_q.numpy()[..., :min(shape[-2:])]),
                               np.abs(t_q.numpy()[..., :min(shape[-2:])]), atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_svd(torch, dtype, shape):
    a = rng.standard_normal(shape)
    _parity(torch, lambda m, x: m.linalg.svdvals(x), [a], dtype)
    # sign-invariant: U diag(S) Vh, U Vh (the polar factor), |U|
    _parity(torch, lambda m, x: (lambda u, s, vh: (u * s[..., None, :]) @ vh + u @ vh)(
        *m.linalg.svd(x, full_matrices=False)), [a], dtype)
    _parity(torch, lambda m, x: m.linalg.svd(x, full_matrices=False).U.abs(), [a], dtype)
    k = min(shape[-2:])  # beyond k, full_matrices gives an arbitrary basis of the complement
    _parity(torch, lambda m, x: m.linalg.svd(x).Vh[..., :k, :].abs(), [a], dtype, grad=False)
    _parity(torch, lambda m, x: m.linalg.svd(x).U[..., :, :k].abs(), [a], dtype, grad=False)
    _parity(torch, lambda m, x: (lambda u, s, v: u @ v.mT)(*m.svd(x)), [a], dtype)
    for k in (2, -2, "nuc"):
        _parity(torch, lambda m, x: m.linalg.matrix_norm(x, k), [a], dtype)
    _parity(torch, lambda m, x: m.svd(x, compute_uv=False).V, [a], dtype, grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(torch, dtype, batch, uplo):
    a = rng.standard_normal(batch + (4, 4))
    _parity(torch, lambda m, x: m.linalg.eigvalsh(_sym(x), UPLO=uplo), [a], dtype)
    _parity(torch, lambda m, x: m.linalg.eigh(_sym(x), UPLO=uplo).eigenvectors.abs(), [a], dtype)
    # only the named triangle is read
    tri = np.tril(a) if uplo == "L" else np.triu(a)
    _parity(torch, lambda m, x: m.linalg.eigvalsh(x, uplo), [tri], dtype, grad=False)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (2, 4, 4)])
def test_pinv_rank_lstsq(torch, dtype, shape):
    # well-conditioned, so float32 results agree to the tolerance
    a = np.random.default_rng(1).standard_normal(shape) + 2 * np.eye(*shape[-2:])
    _parity(torch, lambda m, x: m.linalg.pinv(x), [a], dtype)
    _parity(torch, lambda m, x: m.pinverse(x), [a], dtype)
    _parity(torch, lambda m, x: m.linalg.pinv(_sym(x[..., :3, :3]), hermitian=True), [a], dtype)
    deficient = a.copy()
    deficient[..., -1] = deficient[..., 0]
    for x in (a, deficient):
        _parity(torch, lambda m, y: m.linalg.matrix_rank(y), [x], dtype, grad=False)
        _parity(torch, lambda m, y: m.linalg.matrix_rank(y, atol=1.0, rtol=0.0), [x], dtype,
                grad=False)
    b = rng.standard_normal(shape[:-1] + (2,))
    for driver in (None, "gels", "gelsd", "gelss"):
        fr = LA.lstsq(fastnn.tensor(a.astype(dtype)), fastnn.tensor(b.astype(dtype)),
                      driver=driver)
        tr = torch.linalg.lstsq(torch.tensor(a.astype(dtype)), torch.tensor(b.astype(dtype)),
                                driver=driver)
        for x, y in zip(fr, tr):
            _close(x, y, dtype)
    if shape[-2] >= shape[-1]:
        _parity(torch, lambda m, x, y: m.linalg.lstsq(x, y).solution, [a, b], dtype)
        _parity(torch, lambda m, x, y: m.linalg.lstsq(x, y[..., 0]).solution, [a, b], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_products_and_exp(torch, dtype):
    mats = [rng.standard_normal(s) for s in [(4,), (4, 6), (6, 2), (2, 5), (5,)]]
    _parity(torch, lambda m, *xs: m.linalg.multi_dot(list(xs)), mats, dtype)
    _parity(torch, lambda m, x, y: m.linalg.multi_dot([x, y]), mats[1:3], dtype)
    x, y = rng.standard_normal((2, 4, 3)), rng.standard_normal((1, 4, 3))
    _parity(torch, lambda m, p, q: m.linalg.cross(p, q), [x, y], dtype)
    _parity(torch, lambda m, p, q: m.linalg.vecdot(p, q, dim=-2), [x, y], dtype)
    _parity(torch, lambda m, p: m.linalg.diagonal(p, offset=1), [x], dtype)
    _parity(torch, lambda m, p, q: m.linalg.matmul(p, q.mT), [x, y], dtype)
    big = rng.standard_normal((2, 4, 4)) * np.array([0.1, 3.0])[:, None, None]
    _parity(torch, lambda m, p: m.linalg.matrix_exp(p), [big], dtype)
    _parity(torch, lambda m, p: p.matrix_exp(), [big], dtype)


def test_top_level_and_methods_match_torch(torch):
    names = ["inverse", "det", "logdet", "slogdet", "pinverse", "svd", "qr", "cholesky",
             "cholesky_solve", "cholesky_inverse", "matrix_exp"]
    for n in names:
        assert hasattr(fastnn, n) == hasattr(torch, n), n
        assert hasattr(fastnn.Tensor, n) == hasattr(torch.Tensor, n), n
    for n in ["inv", "inv_ex", "det", "slogdet", "solve", "solve_triangular", "lstsq",
              "cholesky", "cholesky_ex", "qr", "svd", "svdvals", "eigh", "eigvalsh", "pinv",
              "matrix_rank", "multi_dot", "cross", "vecdot", "matmul", "diagonal",
              "matrix_exp", "LinAlgError"]:
        assert hasattr(LA, n) and hasattr(torch.linalg, n), n
    assert issubclass(LA.LinAlgError, RuntimeError)
    assert fastnn.slogdet(fastnn.eye(2))._fields == ("sign", "logabsdet")
    assert LA.svd(fastnn.eye(2))._fields == ("U", "S", "Vh")
    assert fastnn.svd(fastnn.eye(2))._fields == ("U", "S", "V")


# ---- float64 finite-difference gradchecks (no PyTorch needed) --------------------------------
@pytest.mark.parametrize("batch", [(), (2,)])
def test_gradcheck_inverse_det_solve(batch):
    a = rng.standard_normal(batch + (3, 3)) + 2 * np.eye(3)
    b = rng.standard_normal(batch + (3, 2))
    assert _gc(LA.inv, a)
    assert _gc(LA.det, a)
    assert _gc(lambda x: LA.slogdet(x).logabsdet, a)
    assert _gc(LA.solve, a, b)
    assert _gc(lambda x, y: LA.solve(x, y.mT, left=False), a, b)
    assert _gc(lambda x, y: LA.solve(x, y[..., 0]), a, b)
    for upper, left, unit in [(True, True, False), (False, False, True)]:
        assert _gc(lambda x, y: LA.solve_triangular(x, y if left else y.mT, upper=upper,
                                                    left=left, unitriangular=unit), a, b)


def test_gradcheck_det_singular():
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, -1.0]])
    assert _gc(LA.det, a)


@pytest.mark.parametrize("batch", [(), (2,)])
def test_gradcheck_cholesky_family(batch):
    x = rng.standard_normal(batch + (3, 3))

    def spd(x):
        return x @ x.mT + 3 * fastnn.eye(3, dtype=fastnn.float64)
    assert _gc(lambda x: LA.cholesky(spd(x)), x)
    assert _gc(lambda x: LA.cholesky(spd(x), upper=True), x)
    low = np.linalg.cholesky(_spd(batch, 3))
    b = rng.standard_normal(batch + (3, 2))
    # the forward reads only the factor's triangle while the gradient is dense (PyTorch's
    # convention), so the numerical check goes through the triangle
    assert _gc(lambda c, y: fastnn.cholesky_solve(c, y.tril()), b, low)
    assert _gc(lambda y: fastnn.cholesky_inverse(y.tril()), low)
    assert _gc(lambda y: fastnn.cholesky_inverse(y.triu(), upper=True), np.swapaxes(low, -1, -2))


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 4), (2, 4, 3)])
def test_gradcheck_qr_svd(shape):
    a = rng.standard_normal(shape)
    assert _gc(lambda x: LA.qr(x), a)
    assert _gc(LA.svdvals, a)
    assert _gc(lambda x: (lambda u, s, vh: (u @ vh, s))(*LA.svd(x, full_matrices=False)), a)
    assert _gc(lambda x: LA.svd(x, full_matrices=False).U.abs(), a)
    assert _gc(lambda x: LA.svd(x, full_matrices=False).Vh.abs(), a)


@pytest.mark.parametrize("batch", [(), (2,)])
def test_gradcheck_eigh_pinv_lstsq_exp(batch):
    a = rng.standard_normal(batch + (3, 3))
    assert _gc(lambda x: LA.eigh(_sym(x)).eigenvalues, a)
    assert _gc(lambda x: LA.eigh(_sym(x), UPLO="U").eigenvectors.abs(), a)
    assert _gc(lambda x: LA.eigvalsh(_sym(x)), a)
    tall = rng.standard_normal(batch + (4, 3))
    assert _gc(LA.pinv, tall)
    assert _gc(LA.pinv, np.swapaxes(tall, -1, -2))
    assert _gc(lambda x: LA.pinv(_sym(x), hermitian=True), a)
    b = rng.standard_normal(batch + (4, 2))
    assert _gc(lambda x, y: LA.lstsq(x, y).solution, tall, b)
    assert _gc(lambda x, y: LA.lstsq(x, y, driver="gelsd").residuals, tall, b)
    assert _gc(LA.matrix_exp, a)
    assert _gc(lambda x: LA.matrix_norm(x, "nuc") + LA.matrix_norm(x, 2), tall)


def test_gradcheck_products():
    x, y, z = (rng.standard_normal(s) for s in [(3,), (3, 4), (4, 2)])
    assert _gc(lambda p, q, r: LA.multi_dot([p, q, r]), x, y, z)
    u, v = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    assert _gc(LA.cross, u, v)
    assert _gc(LA.vecdot, u, v)


def test_grad_only_where_needed():
    a = fastnn.tensor(rng.standard_normal((3, 3)) + 2 * np.eye(3))
    b = fastnn.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    LA.solve(a, b).sum().backward()
    assert a.grad is None and b.grad is not None
    x = fastnn.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    w, v = LA.eigh(_sym(x))
    w.sum().backward()  # only one output of a factorization used
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.eye(3), atol=1e-12)
    with fastnn.no_grad():
        assert LA.svd(x).U.grad_fn is None


def test_qr_mode_r_backward_raises():
    x = fastnn.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        LA.qr(x, mode="r").R.sum().backward()


def test_float32_results_stay_float32():
    a = fastnn.tensor(rng.standard_normal((3, 3)).astype(np.float32))
    for out in (LA.inv(a), LA.det(a), LA.pinv(a), LA.svdvals(a), LA.qr(a).Q,
                LA.matrix_exp(a), LA.eigh(_sym(a)).eigenvectors):
        assert out.dtype == fastnn.float32
    assert LA.matrix_rank(a).dtype == fastnn.int64
    assert LA.cholesky_ex(_sym(a) + 9 * fastnn.eye(3)).info.dtype == fastnn.int32
