"""fastnn._functions_more and its Tensor methods against PyTorch."""
import math

import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


def _pair(arr, grad=False):
    a = fastnn.tensor(arr, requires_grad=grad)
    b = torch.tensor(arr, requires_grad=grad)
    return a, b


def _close(a, b, rtol=1e-6, atol=1e-8):
    if isinstance(b, (tuple, list)):
        for x, y in zip(a, b):
            _close(x, y, rtol, atol)
        return
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)


def check(fn, *arrays, grad=True, kw=None, rtol=1e-6, atol=1e-8, tfn=None, gc=True):
    """fn(fastnn inputs) vs fn(torch inputs); then gradients vs torch and gradcheck."""
    kw = kw or {}
    fa = [fastnn.tensor(a, requires_grad=grad) for a in arrays]
    ta = [torch.tensor(a, requires_grad=grad) for a in arrays]
    fo = fn(fastnn, *fa, **kw)
    to = (tfn or fn)(torch, *ta, **kw)
    _close(fo, to, rtol, atol)
    if not grad:
        return
    fo = fo[0] if isinstance(fo, tuple) else fo
    to = to[0] if isinstance(to, tuple) else to
    w = rng.standard_normal(tuple(to.shape))
    (fo * fastnn.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for x, y in zip(fa, ta):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-5, atol=1e-7)
    if gc:
        ins = tuple(fastnn.tensor(a, requires_grad=True) for a in arrays)
        assert gradcheck(lambda *t: fn(fastnn, *t, **kw) if not isinstance(
            fn(fastnn, *t, **kw), tuple) else fn(fastnn, *t, **kw)[0], ins)


def errs(fn, *arrays):
    """Both libraries raise the same exception type."""
    with pytest.raises(Exception) as te:
        fn(torch, *[torch.tensor(a) for a in arrays])
    with pytest.raises(type(te.value)):
        fn(fastnn, *[fastnn.tensor(a) for a in arrays])


R = lambda *s: rng.standard_normal(s)  # noqa: E731


# ---- distances ------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf, 0.5])
@pytest.mark.parametrize("shapes", [((4, 3), (5, 3)), ((2, 4, 3), (2, 6, 3)),
                                    ((1, 30, 3), (2, 27, 3))])
def test_cdist(p, shapes):
    a, b = R(*shapes[0]), R(*shapes[1])
    check(lambda L, x, y: L.cdist(x, y, p=p), a, b, rtol=1e-5, gc=shapes[0][0] != 1)


def test_cdist_zero_distance_gradients_finite():
    a = R(30, 3)
    for p in (2.0, 1.0):
        check(lambda L, x, y: L.cdist(x, y, p=p), a, a.copy(), rtol=1e-5, atol=1e-6, gc=False)
    check(lambda L, x, y: L.cdist(x, y), a[:4], a[:4].copy(), gc=False)
    x = fastnn.tensor(a, requires_grad=True)
    fastnn.cdist(x, x).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_cdist_float32_and_errors():
    a, b = R(3, 4).astype(np.float32), R(5, 4).astype(np.float32)
    check(lambda L, x, y: L.cdist(x, y), a, b, grad=False, rtol=1e-4, atol=1e-5)
    errs(lambda L, x, y: L.cdist(x, y, p=-1), a, b)
    errs(lambda L, x, y: L.cdist(x.long(), y.long()), a, b)
    errs(lambda L, x, y: L.cdist(x, y[:, :3]), a, b)
    errs(lambda L, x, y: L.cdist(x[0], y), a, b)


@pytest.mark.parametrize("p", [2, 1, math.inf])
def test_pdist_dist(p):
    check(lambda L, x: L.pdist(x, p), R(5, 3))
    check(lambda L, x, y: L.dist(x, y, p), R(3, 4), R(4))
    errs(lambda L, x: L.pdist(x), R(4))
    errs(lambda L, x, y: L.dist(x.long(), y.long()), R(3), R(3))


def test_pdist_zero_rows():
    a = R(4, 3)
    a[2] = a[0]
    check(lambda L, x: L.pdist(x), a, gc=False)


def test_aliases():
    check(lambda L, x, y: L.cosine_similarity(x, y, dim=1), R(3, 4), R(3, 4))
    check(lambda L, x, y: L.pairwise_distance(x, y), R(3, 4), R(3, 4))


def test_matmul_precision():
    assert fastnn.get_float32_matmul_precision() == "highest"
    fastnn.set_float32_matmul_precision("medium")
    assert fastnn.get_float32_matmul_precision() == "medium"
    with pytest.warns(UserWarning):
        fastnn.set_float32_matmul_precision("low")
    assert fastnn.get_float32_matmul_precision() == "medium"
    fastnn.set_float32_matmul_precision("highest")


# ---- reductions -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["std_mean", "var_mean"])
@pytest.mark.parametrize("kw", [{}, {"dim": 1}, {"dim": (0, 1), "keepdim": True},
                                {"dim": 0, "correction": 0}, {"dim": 1, "unbiased": False}])
def test_std_var_mean(name, kw):
    check(lambda L, x: getattr(L, name)(x, **kw), R(3, 4, 2))
    errs(lambda L, x: getattr(L, name)(x.long()), R(3))


def test_nan_reductions():
    a = R(3, 4)
    a[0, 1] = a[2, 3] = np.nan
    check(lambda L, x: L.nansum(x), a, gc=False)
    check(lambda L, x: L.nansum(x, 1, keepdim=True), a, gc=False)
    check(lambda L, x: L.nanmean(x), a, gc=False)
    check(lambda L, x: L.nanmean(x, dim=0), a, gc=False)
    check(lambda L, x: x.nanmean(1), a, gc=False)
    check(lambda L, x: L.nansum(x.long()), R(3), grad=False)
    errs(lambda L, x: L.nanmean(x.long()), R(3))


def test_nan_to_num():
    a = np.array([1.0, np.nan, np.inf, -np.inf, -2.0])
    check(lambda L, x: L.nan_to_num(x), a, gc=False)
    check(lambda L, x: L.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-9.0), a, gc=False)
    check(lambda L, x: L.nan_to_num(x.float()), a, grad=False)
    check(lambda L, x: x.long().nan_to_num(), a[[0, 4]], grad=False)
    f, t = _pair(a)
    f.nan_to_num_(), t.nan_to_num_()
    _close(f, t)


# ---- elementwise ----------------------------------------------------------------------------
def test_binary_elementwise():
    a, b = R(3, 4), R(4)
    check(lambda L, x, y: L.logaddexp(x, y), a, b)
    check(lambda L, x, y: L.logaddexp(x * 400, y * 400), a, b, gc=False)
    check(lambda L, x, y: L.hypot(x, y), a, b)
    check(lambda L, x, y: L.xlogy(x, y.abs() + 0.1), a, b)
    z = np.array([0.0, 1.0, 2.0]), np.array([0.5, 0.5, 3.0])
    check(lambda L, x, y: L.xlogy(x, y), *z, gc=False)
    check(lambda L, x, y: x.logaddexp(y), np.array([-np.inf, np.inf, 0]),
          np.array([-np.inf, 1.0, -np.inf]), grad=False)
    _close(fastnn.xlogy(2, fastnn.tensor([3.0])), torch.xlogy(2, torch.tensor([3.0])))
    _close(fastnn.xlogy(fastnn.tensor([3]), 2), torch.xlogy(torch.tensor([3]), 2))
    errs(lambda L, x, y: L.logaddexp(x.long(), y.long()), a, b)
    errs(lambda L, x, y: L.hypot(x.long(), y.long()), a, b)


def test_unary_elementwise():
    a = R(3, 4) * 3
    check(lambda L, x: L.frac(x), a)
    check(lambda L, x: L.erf(x), a)
    check(lambda L, x: L.erfc(x), a, rtol=1e-10)
    check(lambda L, x: x.erfc(), np.array([0.3, 2.0, 5.0, 10.0, 26.0]), rtol=1e-12, gc=False)
    check(lambda L, x: L.erfinv(x), np.tanh(R(3, 4)), rtol=1e-9)
    check(lambda L, x: L.erf(x.float()), a, grad=False, rtol=1e-6)
    check(lambda L, x: L.erf(x.long()), a, grad=False, rtol=1e-6)
    check(lambda L, x: L.signbit(x), np.array([-0.0, 0.0, -1.0, 2.0]), grad=False)
    check(lambda L, x: L.signbit(x.long()), np.array([-1.0, 2.0]), grad=False)
    check(lambda L, x, y: L.heaviside(x, y), np.array([-1.0, 0.0, 2.0]), np.array([0.5]),
          grad=False)
    errs(lambda L, x: L.frac(x.long()), a)
    errs(lambda L, x, y: L.heaviside(x, y.float()), np.array([-1.0]), np.array([0.5]))


# ---- fused multiply-adds, kron, matrix_power ------------------------------------------------
def test_addc_and_friends():
    check(lambda L, x, y, z: L.addcmul(x, y, z, value=0.5), R(3, 4), R(4), R(3, 1))
    check(lambda L, x, y, z: L.addcdiv(x, y, z, value=2), R(3, 4), R(4), R(3, 1) + 3)
    check(lambda L, x, y, z: x.addcmul(y, z), R(3), R(3), R(3))
    check(lambda L, x, y, z: L.baddbmm(x, y, z, beta=0.5, alpha=2), R(2, 3, 5), R(2, 3, 4),
          R(2, 4, 5))
    check(lambda L, x, y, z: L.addmv(x, y, z, beta=2, alpha=3), R(3), R(3, 4), R(4))
    nan = np.full((3,), np.nan)
    check(lambda L, x, y, z: L.addmv(x, y, z, beta=0), nan, R(3, 4), R(4), grad=False)
    f, t = _pair(R(3))
    f.addcmul_(f, f, value=2), t.addcmul_(t, t, value=2)
    _close(f, t)
    errs(lambda L, x, y, z: L.addcdiv(x.long(), y.long(), z.long()), R(2), R(2), R(2))
    errs(lambda L, x, y, z: L.baddbmm(x, y, z), R(2, 3, 3), R(2, 3, 4), R(3, 4, 3))
    errs(lambda L, x, y, z: L.addmv(x, y, z), R(3), R(3, 4), R(5))


@pytest.mark.parametrize("shapes", [((2,), (3,)), ((2, 3), (4, 1)), ((2,), (2, 3)),
                                    ((2, 1, 3), (3, 2))])
def test_kron(shapes):
    check(lambda L, x, y: L.kron(x, y), R(*shapes[0]), R(*shapes[1]))


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_matrix_power(n):
    check(lambda L, x: L.matrix_power(x, n), R(2, 3, 3) / 2, gc=n > 0)
    check(lambda L, x: x.long().matrix_power(n), R(3, 3) * 3, grad=False)
    errs(lambda L, x: L.matrix_power(x, 2), R(2, 3))
    errs(lambda L, x: L.matrix_power(x, 2), R(3))
    # negative powers are powers of the inverse
    assert fastnn.matrix_power(fastnn.eye(2) * 2, -1).tolist() == [[0.5, 0.0], [0.0, 0.5]]


# ---- rearranging ----------------------------------------------------------------------------
@pytest.mark.parametrize("k", [-1, 0, 1, 2, 3, 6])
def test_rot90(k):
    check(lambda L, x: L.rot90(x, k, [1, 2]), R(2, 3, 4))
    check(lambda L, x: x.rot90(k, [-1, 0]), R(2, 3, 4))
    errs(lambda L, x: L.rot90(x, 1, [0]), R(2, 3))
    errs(lambda L, x: L.rot90(x, 1, [0, 0]), R(2, 3))


def test_flips_and_stacks():
    check(lambda L, x: L.fliplr(x), R(2, 3, 4))
    check(lambda L, x: L.flipud(x), R(2, 3))
    errs(lambda L, x: L.fliplr(x), R(3))
    errs(lambda L, x: L.flipud(x), np.array(1.0))
    check(lambda L, x, y, z: L.column_stack([x, y, z]), np.array(1.0)[()] * np.ones(()),
          R(1), R(1, 2), gc=False)
    check(lambda L, x, y: L.column_stack([x, y]), R(3), R(3, 2))
    check(lambda L, x, y, z: L.block_diag(x, y, z), np.array(2.0), R(3), R(2, 2))
    check(lambda L, x, y: L.block_diag(x, y.int()), R(2, 2), R(1, 3), grad=False)
    check(lambda L, x, y: L.cartesian_prod(x, y), R(3), R(2))
    check(lambda L, x: L.cartesian_prod(x), R(3))
    errs(lambda L, x: L.column_stack([]), R(1))
    errs(lambda L, x: L.block_diag(x), R(2, 2, 2))
    errs(lambda L, x: L.cartesian_prod(x), R(2, 2))


@pytest.mark.parametrize("args", [(3, 3), (3, 4, 1), (4, 3, -1), (0, 3), (5, 2, -2)])
def test_tri_indices(args):
    for name in ("triu_indices", "tril_indices"):
        _close(getattr(fastnn, name)(*args), getattr(torch, name)(*args))
        _close(getattr(fastnn, name)(*args, dtype=fastnn.int32),
               getattr(torch, name)(*args, dtype=torch.int32))
    with pytest.raises(NotImplementedError):
        torch.triu_indices(3, 3, dtype=torch.float32)
    with pytest.raises(NotImplementedError):
        fastnn.triu_indices(3, 3, dtype=fastnn.float32)


# ---- searching and counting -----------------------------------------------------------------
def test_searchsorted_bucketize():
    seq = np.array([1.0, 3.0, 3.0, 5.0, 7.0])
    v = np.array([[0.0, 3.0], [5.5, 9.0]])
    for kw in ({}, {"right": True}, {"side": "right"}, {"side": "left"}, {"out_int32": True}):
        check(lambda L, s, x: L.searchsorted(s, x, **kw), seq, v, grad=False)
        check(lambda L, s, x: L.bucketize(x, s, right=kw.get("right", False)), seq, v,
              grad=False)
    seq2 = np.sort(R(2, 5), axis=1)
    check(lambda L, s, x: L.searchsorted(s, x), seq2, R(2, 3), grad=False)
    uns = np.array([3.0, 1.0, 2.0])
    check(lambda L, s, x: L.searchsorted(s, x, sorter=s.argsort()), uns, v[0], grad=False)
    _close(fastnn.searchsorted(fastnn.tensor([1, 3]), 2),
           torch.searchsorted(torch.tensor([1, 3]), 2))
    errs(lambda L, s, x: L.searchsorted(s, x, side="left", right=True), seq, v)
    errs(lambda L, s, x: L.searchsorted(s, x, side="mid"), seq, v)
    errs(lambda L, s, x: L.searchsorted(s, x), R(1, 2), R(2))
    errs(lambda L, s, x: L.bucketize(x, s), R(1, 2), R(2))


def test_histc():
    a = R(50)
    for kw in ({}, {"bins": 7}, {"bins": 5, "min": -1, "max": 1}):
        check(lambda L, x: L.histc(x, **kw), a, grad=False)
        check(lambda L, x: x.float().histc(**kw), a, grad=False)
    check(lambda L, x: L.histc(x, bins=4), np.array([1.0, 1.0]), grad=False)
    errs(lambda L, x: L.histc(x.long()), a)
    errs(lambda L, x: L.histc(x, bins=-1), a)
    errs(lambda L, x: L.histc(x, min=3, max=2), a)


# ---- statistics and scans -------------------------------------------------------------------
def test_cov_corrcoef():
    check(lambda L, x: L.cov(x), R(3, 6))
    check(lambda L, x: L.cov(x, correction=0), R(6))
    fw, aw = np.array([1, 2, 0, 3, 1, 1]), np.abs(R(6)) + 0.1
    check(lambda L, x: L.cov(x, fweights=L.tensor(fw), aweights=L.tensor(aw)), R(2, 6))
    check(lambda L, x: L.cov(x, aweights=L.tensor(aw), correction=2), R(2, 6))
    check(lambda L, x: L.cov(x, fweights=L.tensor(fw)), R(2, 6))
    check(lambda L, x: L.cov(x.long()), R(2, 6) * 5, grad=False)
    check(lambda L, x: L.corrcoef(x), R(3, 6))
    check(lambda L, x: x.corrcoef(), R(6))
    errs(lambda L, x: L.cov(x), R(2, 2, 2))
    errs(lambda L, x: L.corrcoef(x), R(2, 2, 2))
    errs(lambda L, x: L.cov(x, fweights=L.tensor([1.0, 2.0])), R(2, 2))
    errs(lambda L, x: L.cov(x, aweights=L.tensor([1, 2])), R(2, 2))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_logcumsumexp(dim):
    check(lambda L, x: L.logcumsumexp(x, dim), R(5, 7))
    a = np.array([[-1000.0, 0.0, 800.0], [-np.inf, -np.inf, 1.0]])
    check(lambda L, x: x.logcumsumexp(dim), a, grad=False)
    errs(lambda L, x: L.logcumsumexp(x.long(), 0), R(3))
