"""Order statistics and small numeric functions (fastnn._functions_select) against PyTorch,
and their gradients against float64 finite differences (these run without PyTorch)."""
import math

import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

NAN = math.nan


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def R(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def dups(*shape, seed=0):
    """Values with many repeats."""
    return np.random.default_rng(seed).integers(0, 4, shape).astype(np.float64)


def with_nan(*shape, seed=0):
    a = R(*shape, seed=seed)
    a[np.random.default_rng(seed + 1).random(shape) < 0.25] = NAN
    return a


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def same(f, t, rtol=1e-6, atol=1e-7):
    """fastnn result f equals torch result t: dtype, shape and values (NaN where NaN)."""
    if isinstance(t, (tuple, list)):
        assert len(f) == len(t)
        for a, b in zip(f, t):
            same(a, b, rtol, atol)
        return
    assert str(f.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(f.shape) == tuple(t.shape)
    np.testing.assert_allclose(_np(f), _np(t), rtol=rtol, atol=atol, equal_nan=True)


def pair(torch, arr, dtype="float64", grad=False):
    a = np.asarray(arr, dtype=dtype)
    return (fastnn.tensor(a, requires_grad=grad), torch.tensor(a, requires_grad=grad))


def grads_match(torch, fn, arr, dtype="float64", pick=lambda r: r, rtol=1e-5):
    """Gradients of sum(w * fn(x)) agree with PyTorch's for a random weight w."""
    f, t = pair(torch, arr, dtype, True)
    fo, to = pick(fn(fastnn, f)), pick(fn(torch, t))
    w = R(*tuple(to.shape), seed=7)
    (fo * fastnn.tensor(w.astype(dtype))).sum().backward()
    (to * torch.tensor(w.astype(dtype))).sum().backward()
    np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-6)


def gc(fn, *arrays):
    ins = tuple(fastnn.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays)
    assert gradcheck(fn, ins)


DT = ["float32", "float64"]
DIMKEEP = [(0, False), (1, True), (-1, False), (-1, True)]


# ---- median / nanmedian / kthvalue / mode ------------------------------------------------------
@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("dim,keepdim", DIMKEEP)
@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_dim_unique(torch, dtype, dim, keepdim, name):
    f, t = pair(torch, R(4, 5, 3), dtype)
    same(getattr(fastnn, name)(f, dim, keepdim), getattr(torch, name)(t, dim, keepdim))
    same(getattr(f, name)(dim, keepdim=keepdim), getattr(t, name)(dim, keepdim=keepdim))
    grads_match(torch, lambda L, x: getattr(L, name)(x, dim, keepdim).values, R(4, 5, 3), dtype)


@pytest.mark.parametrize("dtype", DT + ["int64"])
@pytest.mark.parametrize("dim", [0, 1])
def test_median_dim_duplicates_values_and_valid_indices(torch, dtype, dim):
    arr = dups(6, 7)
    for name in ("median", "nanmedian"):
        f, t = pair(torch, arr, dtype)
        fv, fi = getattr(fastnn, name)(f, dim)
        same(fv, getattr(torch, name)(t, dim).values)
        assert fi.dtype == fastnn.int64
        np.testing.assert_array_equal(np.take_along_axis(arr, np.expand_dims(
            fi.numpy(), dim), dim).squeeze(dim), fv.numpy())


@pytest.mark.parametrize("dtype", DT)
def test_median_nan(torch, dtype):
    arr = with_nan(5, 6)
    arr[2] = NAN
    f, t = pair(torch, arr, dtype)
    same(fastnn.median(f, 1), torch.median(t, 1))  # NaN rows: the first NaN's index
    same(fastnn.median(f), torch.median(t))
    fv, ti = fastnn.nanmedian(f, 1), torch.nanmedian(t, 1)
    same(fv.values, ti.values)
    ok = ~np.isnan(ti.values.numpy())
    np.testing.assert_array_equal(fv.indices.numpy()[ok], ti.indices.numpy()[ok])
    same(fastnn.nanmedian(f), torch.nanmedian(t))


@pytest.mark.parametrize("arr", [R(3, 4), dups(4, 5), with_nan(3, 4), np.zeros((0,)),
                                 np.array(2.5), np.full((2, 2), NAN)])
def test_median_full_and_grad(torch, arr):
    for name in ("median", "nanmedian"):
        f, t = pair(torch, arr)
        same(getattr(fastnn, name)(f), getattr(torch, name)(t))
        if arr.size:  # ties share the gradient evenly
            grads_match(torch, lambda L, x: getattr(L, name)(x) * 1.0, arr)


def test_median_int_and_bool(torch):
    arr = np.array([[3, 1, 2, 2], [5, 5, 0, 1]])
    f, t = pair(torch, arr, "int64")
    same(fastnn.median(f), torch.median(t))
    same(fastnn.median(f, 1).values, torch.median(t, 1).values)
    with pytest.raises(NotImplementedError, match="median_cpu"):
        fastnn.median(fastnn.tensor([True, False]))


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("dim,keepdim", DIMKEEP)
def test_kthvalue(torch, dtype, dim, keepdim):
    arr = R(4, 5)
    for k in (1, 3, 4):
        f, t = pair(torch, arr, dtype)
        same(fastnn.kthvalue(f, k, dim, keepdim), torch.kthvalue(t, k, dim, keepdim))
        same(f.kthvalue(k, dim=dim, keepdim=keepdim), t.kthvalue(k, dim=dim, keepdim=keepdim))
        grads_match(torch, lambda L, x: L.kthvalue(x, k, dim, keepdim).values, arr, dtype)
    f, t = pair(torch, dups(4, 6), dtype)
    same(fastnn.kthvalue(f, 2, dim).values, torch.kthvalue(t, 2, dim).values)


@pytest.mark.parametrize("dtype", DT + ["int64", "bool"])
@pytest.mark.parametrize("dim,keepdim", DIMKEEP)
def test_mode(torch, dtype, dim, keepdim):
    arr = dups(6, 7, seed=3)
    f, t = pair(torch, arr, dtype)
    # most frequent, ties to the smallest value, index of its last occurrence
    same(fastnn.mode(f, dim, keepdim), torch.mode(t, dim, keepdim))
    same(f.mode(dim, keepdim), t.mode(dim, keepdim))
    if dtype != "float64":
        return
    grads_match(torch, lambda L, x: L.mode(x, dim, keepdim).values, arr)


def test_mode_nan_counts_each_nan_once():
    # PyTorch's answer with NaN depends on where its insertion sort leaves the NaNs (each
    # NaN is a run of its own); fastnn reproduces it for short rows
    x = fastnn.tensor([[NAN, 1.0, NAN, 3.0, 2.0], [2.0, NAN, 2.0, NAN, 0.0]])
    v, i = fastnn.mode(x, 1)
    np.testing.assert_array_equal(v.numpy(), [NAN, 0.0])
    np.testing.assert_array_equal(i.numpy(), [0, 4])


def test_reductions_on_scalars_and_empty(torch):
    f, t = pair(torch, np.array(3.0))
    for name in ("median", "nanmedian", "mode"):
        same(getattr(fastnn, name)(f, 0), getattr(torch, name)(t, 0))
    same(fastnn.kthvalue(f, 1), torch.kthvalue(t, 1))
    f, t = pair(torch, np.zeros((3, 0, 4)))
    same(fastnn.median(f, 2), torch.median(t, 2))
    same(fastnn.mode(f, 2), torch.mode(t, 2))
    same(fastnn.cummax(f, 1), torch.cummax(t, 1))
    for fn in (lambda L, x: L.median(x, 1), lambda L, x: L.mode(x, 1),
               lambda L, x: L.kthvalue(x, 1, 1), lambda L, x: L.aminmax(x, dim=1)):
        with pytest.raises(IndexError) as te:
            fn(torch, t)
        with pytest.raises(IndexError) as fe:
            fn(fastnn, f)
        assert str(fe.value) == str(te.value)


# ---- quantile ----------------------------------------------------------------------------------
INTERP = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("dtype", DT)
@pytest.mark.parametrize("interpolation", INTERP)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), (0, True)])
@pytest.mark.parametrize("q", [0.3, "tensor"])
def test_quantile(torch, dtype, interpolation, dim, keepdim, q):
    arr = R(5, 6)
    for name in ("quantile", "nanquantile"):
        def fn(L, x):
            qq = L.tensor([0.0, 0.1, 0.5, 0.75, 1.0], dtype=x.dtype) if q == "tensor" else q
            return getattr(L, name)(x, qq, dim, keepdim, interpolation=interpolation)
        f, t = pair(torch, arr, dtype)
        same(fn(fastnn, f), fn(torch, t), rtol=1e-5)
        if dtype == "float64":
            grads_match(torch, fn, arr)


@pytest.mark.parametrize("interpolation", INTERP)
def test_quantile_nan_and_duplicates(torch, interpolation):
    arr = with_nan(6, 7, seed=4)
    arr[1] = NAN
    arr[3] = [1, 1, 2, 2, 2, 0, 1]
    q = [0.0, 0.25, 0.5, 0.9, 1.0]
    for name in ("quantile", "nanquantile"):
        f, t = pair(torch, arr)
        fo = getattr(fastnn, name)(f, fastnn.tensor(q, dtype=fastnn.float64), 1,
                                   interpolation=interpolation)
        same(fo, getattr(torch, name)(t, torch.tensor(q, dtype=torch.float64), 1,
                                      interpolation=interpolation))


def test_quantile_q_grad_and_scalars(torch):
    arr = R(4, 5)
    for name in ("quantile", "nanquantile"):
        fq = fastnn.tensor([0.2, 0.7], dtype=fastnn.float64, requires_grad=True)
        tq = torch.tensor([0.2, 0.7], dtype=torch.float64, requires_grad=True)
        getattr(fastnn, name)(fastnn.tensor(arr), fq, 1).sum().backward()
        getattr(torch, name)(torch.tensor(arr), tq, 1).sum().backward()
        np.testing.assert_allclose(fq.grad.numpy(), tq.grad.numpy(), rtol=1e-6)
    f, t = pair(torch, np.array(3.0))
    same(fastnn.quantile(f, 0.5, 0, True), torch.quantile(t, 0.5, 0, True))
    same(fastnn.quantile(f, fastnn.tensor([0.5, 0.2], dtype=fastnn.float64)),
         torch.quantile(t, torch.tensor([0.5, 0.2], dtype=torch.float64)))
    f, t = pair(torch, arr)
    same(fastnn.quantile(f, fastnn.tensor(0.4, dtype=fastnn.float64), 1),
         torch.quantile(t, torch.tensor(0.4, dtype=torch.float64), 1))
    same(fastnn.quantile(f, 1), torch.quantile(t, 1))


# ---- cummax / cummin / aminmax / msort -------------------------------------------------------
@pytest.mark.parametrize("dtype", DT + ["int64", "bool"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("kind", ["R", "dups", "nan"])
def test_cummax_cummin(torch, dtype, dim, kind):
    if kind == "nan" and dtype not in DT:
        return
    arr = {"R": R, "dups": dups, "nan": with_nan}[kind](5, 6, seed=2)
    f, t = pair(torch, arr, dtype)
    for name in ("cummax", "cummin"):
        same(getattr(fastnn, name)(f, dim), getattr(torch, name)(t, dim))
        same(getattr(f, name)(dim), getattr(t, name)(dim))
        if dtype == "float64" and kind != "nan":  # repeated indices add up
            grads_match(torch, lambda L, x: getattr(L, name)(x, dim).values, arr)


@pytest.mark.parametrize("dtype", DT + ["int64"])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (0, False), (1, True)])
def test_aminmax(torch, dtype, dim, keepdim):
    arr = dups(4, 5)
    f, t = pair(torch, arr, dtype)
    fo = fastnn.aminmax(f, dim=dim, keepdim=keepdim)
    to = torch.aminmax(t, dim=dim, keepdim=keepdim)
    same(fo, to)
    same((fo.min, fo.max), (to.min, to.max))
    same(f.aminmax(dim=dim, keepdim=keepdim), to)
    if dtype == "float64":  # ties share the gradient
        grads_match(torch, lambda L, x: L.aminmax(x, dim=dim, keepdim=keepdim).min, arr)
        grads_match(torch, lambda L, x: L.aminmax(x, dim=dim, keepdim=keepdim).max, arr)


def test_msort_and_return_types(torch):
    f, t = pair(torch, R(4, 3))
    same(fastnn.msort(f), torch.msort(t))
    same(f.msort(), t.msort())
    assert repr(fastnn.median(f, 0)).startswith("fastnn.return_types.median(\nvalues=")
    assert repr(fastnn.aminmax(f)).startswith("fastnn.return_types.aminmax(\nmin=")
    assert repr(fastnn.frexp(f)).startswith("fastnn.return_types.frexp(\nmantissa=")
    assert fastnn.mode(f, 0)._fields == ("values", "indices")
    assert fastnn.median(f, 0).indices.dtype == fastnn.int64


# ---- differences, contractions, splitting ----------------------------------------------------
@pytest.mark.parametrize("dtype", DT + ["int64", "bool"])
@pytest.mark.parametrize("n,dim", [(1, -1), (2, 0), (3, 1), (0, 1), (9, 1)])
def test_diff(torch, dtype, n, dim):
    arr = dups(4, 5) > 1 if dtype == "bool" else R(4, 5) * 3
    f, t = pair(torch, arr, dtype)
    same(fastnn.diff(f, n, dim), torch.diff(t, n, dim))
    same(f.diff(n, dim), t.diff(n, dim))
    if dtype != "bool":
        pre = pair(torch, R(4, 5)[:, :2] if dim else R(1, 5), dtype)[0]
        tp = torch.tensor(pre.numpy())
        same(fastnn.diff(f, n, dim, prepend=pre, append=pre),
             torch.diff(t, n, dim, prepend=tp, append=tp))
    if dtype == "float64":
        grads_match(torch, lambda L, x: L.diff(x, n, dim), arr)


def test_isin(torch):
    a, b = dups(5, 4), np.array([1.0, 3.0, NAN])
    fa, ta = pair(torch, a)
    fb, tb = pair(torch, b)
    for inv in (False, True):
        same(fastnn.isin(fa, fb, invert=inv), torch.isin(ta, tb, invert=inv))
    same(fastnn.isin(fa, 2.0), torch.isin(ta, 2.0))
    same(fastnn.isin(2.0, fa), torch.isin(2.0, ta))
    same(fastnn.isin(fastnn.tensor([1, 2, 3]), fastnn.tensor([2.5, 3.0])),
         torch.isin(torch.tensor([1, 2, 3]), torch.tensor([2.5, 3.0])))


@pytest.mark.parametrize("dims", [0, 1, 2, ([1, 0], [0, 1]), ([2], [0]), ([0, 2], [1, 0])])
def test_tensordot(torch, dims):
    a, b = R(3, 4, 2), R(4, 3, 5) if dims != ([2], [0]) else R(2, 3)
    if dims == 2:
        a, b = R(3, 4, 2), R(4, 2, 5)
    elif dims == 1:
        b = R(2, 5)
    elif dims == ([0, 2], [1, 0]):
        b = R(2, 3, 5)
    fa, ta = pair(torch, a, grad=True)
    fb, tb = pair(torch, b, grad=True)
    fo, to = fastnn.tensordot(fa, fb, dims), torch.tensordot(ta, tb, dims)
    same(fo, to)
    w = R(*to.shape, seed=3)
    (fo * fastnn.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(fa.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(fb.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shapes", [((3, 4), (5, 4)), ((4,), (4,)), ((2, 3, 4), (4,)),
                                    ((), (3, 2))])
def test_inner_vdot(torch, shapes):
    fa, ta = pair(torch, R(*shapes[0]))
    fb, tb = pair(torch, R(*shapes[1], seed=1))
    same(fastnn.inner(fa, fb), torch.inner(ta, tb))
    same(fa.inner(fb), ta.inner(tb))
    if len(shapes[0]) == len(shapes[1]) == 1:
        same(fastnn.vdot(fa, fb), torch.vdot(ta, tb))
        same(fa.vdot(fb), ta.vdot(tb))
        grads_match(torch, lambda L, x: L.vdot(x, x * 2.0), R(4))


@pytest.mark.parametrize("spec", [1, 2, 3, 4, 7, [1, 3], [-1, 10], [2, 1], [], "t0", "t1"])
@pytest.mark.parametrize("dim", [0, 1])
def test_tensor_split(torch, spec, dim):
    f, t = pair(torch, R(5, 6), grad=True)

    def sp(L, x):
        s = {"t0": L.tensor(3), "t1": L.tensor([1, 4])}.get(spec, spec) \
            if isinstance(spec, str) else spec
        return L.tensor_split(x, s, dim)
    fo, to = sp(fastnn, f), sp(torch, t)
    same(fo, to)
    same(f.tensor_split(2, dim), t.tensor_split(2, dim))
    w = [R(*p.shape, seed=i) for i, p in enumerate(to)]
    sum((p * fastnn.tensor(x)).sum() for p, x in zip(fo, w)).backward()
    sum((p * torch.tensor(x)).sum() for p, x in zip(to, w)).backward()
    np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy())


# ---- elementwise -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DT + ["int64"])
def test_elementwise(torch, dtype):
    u = np.array([[0.0, 1e-3, 0.1, 0.5], [0.9, 1.0, -0.5, 1.5], [-2.0, 3.0, -0.0, 0.25]])
    f, t = pair(torch, u if dtype != "int64" else np.array([[0, 1, -2], [3, 0, -1]]), dtype)
    for fn in (lambda L, x: L.logit(x), lambda L, x: L.logit(x, eps=0.1),
               lambda L, x: L.logit(x, 0.6), lambda L, x: x.logit(-1.0),
               lambda L, x: L.sinc(x), lambda L, x: x.sinc(),
               lambda L, x: L.copysign(x, -1.0), lambda L, x: x.copysign(L.flip(x, [0])),
               lambda L, x: L.sgn(x), lambda L, x: L.fix(x), lambda L, x: x.fix(),
               lambda L, x: L.positive(x), lambda L, x: L.true_divide(x, 4),
               lambda L, x: x.true_divide(x + 7), lambda L, x: L.ldexp(x, L.tensor([2, -1])[
                   :1]), lambda L, x: x.ldexp(L.tensor(3)),
               lambda L, x: L.float_power(x, 2), lambda L, x: x.float_power(2.5),
               lambda L, x: L.float_power(2, x), lambda L, x: L.rad2deg(x),
               lambda L, x: L.deg2rad(x), lambda L, x: L.count_nonzero(x, 1)):
        same(fn(fastnn, f), fn(torch, t), rtol=2e-6 if dtype == "float32" else 1e-12)
    if dtype != "int64":
        for fn in (lambda L, x: L.logaddexp2(x, x * 3), lambda L, x: x.logaddexp2(x.flip(0)),
                   lambda L, x: L.nextafter(x, L.zeros_like(x)), lambda L, x: x.nextafter(x + 1),
                   lambda L, x: L.frexp(x), lambda L, x: x.frexp()):
            same(fn(fastnn, f), fn(torch, t))
    else:
        for name in ("logaddexp2", "nextafter"):
            with pytest.raises(NotImplementedError, match=f"{name}_cpu"):
                getattr(fastnn, name)(f, f)


@pytest.mark.parametrize("name,fn", [
    ("logit", lambda L, x: L.logit(x)), ("logit_eps", lambda L, x: L.logit(x, 0.2)),
    ("sinc", lambda L, x: L.sinc(x)), ("copysign", lambda L, x: L.copysign(x, x.flip(0))),
    ("copysign_s", lambda L, x: L.copysign(x, -2.0)),
    # PyTorch's ldexp backward computes 2**other in integers (0 for other < 0): only >= 0 here
    ("ldexp", lambda L, x: L.ldexp(x, L.tensor([1, 2, 0, 3]))),
    ("float_power", lambda L, x: L.float_power(x.abs() + 0.1, x)),
    ("logaddexp2", lambda L, x: L.logaddexp2(x, x * x)),
    ("frexp", lambda L, x: L.frexp(x * 9).mantissa), ("fix", lambda L, x: L.fix(x * 3)),
])
def test_elementwise_grads(torch, name, fn):
    arr = np.array([[0.0, 0.3, 0.5, 0.9], [0.2, 0.05, 0.95, 0.7], [-0.3, 1.2, 0.6, 0.25]])
    grads_match(torch, fn, arr)


# ---- integration, finite differences, renorm -------------------------------------------------
@pytest.mark.parametrize("dtype", DT + ["int64"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_trapezoid(torch, dtype, dim):
    arr = R(4, 5) * 3
    f, t = pair(torch, arr, dtype)
    xs = np.cumsum(np.abs(R(arr.shape[dim], seed=2)) + 0.1)
    x2 = np.cumsum(np.abs(R(4, 5, seed=3)) + 0.1, axis=dim)
    for name in ("trapezoid", "cumulative_trapezoid", "trapz"):
        F, T = getattr(fastnn, name), getattr(torch, name)
        same(F(f, dim=dim), T(t, dim=dim), rtol=1e-5)
        same(F(f, dx=0.5, dim=dim), T(t, dx=0.5, dim=dim), rtol=1e-5)
        same(F(f, fastnn.tensor(xs), dim=dim), T(t, torch.tensor(xs), dim=dim), rtol=1e-5)
        same(F(f, fastnn.tensor(x2), dim=dim), T(t, torch.tensor(x2), dim=dim), rtol=1e-5)
        if dtype == "float64":
            grads_match(torch, lambda L, y: getattr(L, name)(y, L.tensor(xs), dim=dim), arr)
    f, t = pair(torch, np.zeros((3, 0)))
    same(fastnn.trapezoid(f), torch.trapezoid(t))
    same(fastnn.cumulative_trapezoid(f), torch.cumulative_trapezoid(t))


@pytest.mark.parametrize("dtype", DT + ["int64"])
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("spacing,dim", [(1, None), (0.5, None), ([2.0, 0.5], None),
                                          ("coords", 1), (1, 0), (1, [1, 0]), ("coords", [1])])
def test_gradient(torch, dtype, edge_order, spacing, dim):
    arr = R(4, 5) * 3
    xs = np.array([0.0, 0.5, 1.7, 2.0, 3.5])

    def fn(L, y):
        s = (L.tensor(xs),) if spacing == "coords" else spacing
        return L.gradient(y, spacing=s, dim=dim, edge_order=edge_order)
    f, t = pair(torch, arr, dtype)
    same(fn(fastnn, f), fn(torch, t), rtol=1e-5, atol=1e-5)
    if dtype == "float64":
        grads_match(torch, lambda L, y: fn(L, y)[0], arr)


@pytest.mark.parametrize("p", [1, 2, 3.5, math.inf])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("dtype", DT)
def test_renorm(torch, p, dim, dtype):
    arr = R(3, 4, 2)
    f, t = pair(torch, arr, dtype)
    same(fastnn.renorm(f, p, dim, 1.0), torch.renorm(t, p, dim, 1.0), rtol=1e-5)
    same(f.renorm(p, dim, 1.5), t.renorm(p, dim, 1.5), rtol=1e-5)
    if dtype == "float64":
        grads_match(torch, lambda L, x: L.renorm(x, p, dim, 1.0), arr)


# ---- errors: PyTorch's type and wording -------------------------------------------------------
ERRORS = [
    lambda L, x, i: L.median(x, 2),
    lambda L, x, i: L.mode(x, 5),
    lambda L, x, i: L.kthvalue(x, 0, 1),
    lambda L, x, i: L.kthvalue(x, 5, 1),
    lambda L, x, i: L.quantile(x, 1.5),
    lambda L, x, i: L.quantile(x, -0.1),
    lambda L, x, i: L.nanquantile(x, L.tensor([0.1, 1.5])),
    lambda L, x, i: L.quantile(x, 0.5, interpolation="foo"),
    lambda L, x, i: L.quantile(x, 0.5, dim=2),
    lambda L, x, i: L.quantile(i, 0.5),
    lambda L, x, i: L.quantile(x, L.tensor([0.5], dtype=L.float64)),
    lambda L, x, i: L.quantile(x, L.tensor([[0.5]])),
    lambda L, x, i: L.quantile(L.tensor([]), 0.5),
    lambda L, x, i: L.cummax(x, 2),
    lambda L, x, i: L.aminmax(L.tensor([])),
    lambda L, x, i: L.diff(x, dim=2),
    lambda L, x, i: L.diff(L.tensor(2.0)),
    lambda L, x, i: L.diff(x, n=-1),
    lambda L, x, i: L.diff(x, prepend=L.zeros(3)),
    lambda L, x, i: L.diff(x, prepend=L.zeros(2, 1)),
    lambda L, x, i: L.tensordot(x, x, dims=3),
    lambda L, x, i: L.tensordot(x, x, dims=-1),
    lambda L, x, i: L.tensordot(x, L.zeros(5, 2), dims=1),
    lambda L, x, i: L.tensordot(x, L.zeros(4, 2), dims=([1], [0, 1])),
    lambda L, x, i: L.tensordot(x, i, dims=1),
    lambda L, x, i: L.inner(x, L.zeros(3)),
    lambda L, x, i: L.vdot(x, x),
    lambda L, x, i: L.vdot(L.zeros(3), L.zeros(4)),
    lambda L, x, i: L.vdot(L.zeros(3), L.zeros(3, dtype=L.float64)),
    lambda L, x, i: L.tensor_split(x, 0),
    lambda L, x, i: L.tensor_split(x, 2, dim=2),
    lambda L, x, i: L.tensor_split(L.tensor(2.0), 2),
    lambda L, x, i: L.tensor_split(x, L.tensor([[1]])),
    lambda L, x, i: L.tensor_split(x, L.tensor([1.0])),
    lambda L, x, i: L.trapezoid(L.tensor(2.0)),
    lambda L, x, i: L.trapezoid(x, L.zeros(5)),
    lambda L, x, i: L.trapezoid(L.tensor([True, False])),
    lambda L, x, i: L.renorm(x, 0, 0, 1),
    lambda L, x, i: L.renorm(x, 2, 0, -1),
    lambda L, x, i: L.renorm(i, 2, 0, 1),
    lambda L, x, i: L.renorm(L.zeros(3), 2, 0, 1),
    lambda L, x, i: L.gradient(x, edge_order=3),
    lambda L, x, i: L.gradient(L.zeros(1, 3)),
    lambda L, x, i: L.gradient(x, spacing=[1.0, 2.0, 3.0]),
    lambda L, x, i: L.gradient(x, spacing=[1.0, 2.0], dim=1),
    lambda L, x, i: L.gradient(x, spacing=[L.tensor(2.0)], dim=1),
    lambda L, x, i: L.frexp(i),
    lambda L, x, i: L.nextafter(x, 1.0),
    lambda L, x, i: L.positive(L.tensor([True])),
    lambda L, x, i: L.kthvalue(L.tensor([True]), 1),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors(torch, k):
    fn = ERRORS[k]
    with pytest.raises(Exception) as te:
        fn(torch, torch.zeros(3, 4), torch.tensor([[1, 2], [3, 4]]))
    with pytest.raises(type(te.value)) as fe:
        fn(fastnn, fastnn.zeros(3, 4), fastnn.tensor([[1, 2], [3, 4]]))
    if not isinstance(te.value, TypeError):
        assert str(fe.value).split("\n")[0] == str(te.value).split("\n")[0]


def test_no_silent_gradients():
    x = fastnn.tensor([1.0, 2.0], requires_grad=True)
    fastnn.nextafter(x, fastnn.zeros(2)).sum().backward()  # PyTorch: slope 1 for input
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    with pytest.raises(RuntimeError, match="empty integer"):
        fastnn.median(fastnn.tensor([], dtype=fastnn.int64))


# ---- float64 finite differences (no PyTorch needed) -------------------------------------------
A = R(3, 4, seed=11)


@pytest.mark.parametrize("fn", [
    lambda x: fastnn.median(x, 1).values,
    lambda x: fastnn.median(x, 0, keepdim=True).values,
    lambda x: fastnn.median(x),
    lambda x: fastnn.nanmedian(x, 1).values,
    lambda x: fastnn.kthvalue(x, 2, 1).values,
    lambda x: fastnn.mode(x.round(), 0).values * x.sum(),
    lambda x: fastnn.quantile(x, 0.3, 1),
    lambda x: fastnn.quantile(x, fastnn.tensor([0.2, 0.9], dtype=fastnn.float64), 0,
                              interpolation="midpoint"),
    lambda x: fastnn.nanquantile(x, 0.7),
    lambda x: fastnn.cummax(x, 1).values,
    lambda x: fastnn.cummin(x, 0).values,
    lambda x: fastnn.aminmax(x, dim=1).min,
    lambda x: fastnn.aminmax(x).max,
    lambda x: fastnn.diff(x, 2, 1, prepend=x[:, :1]),
    lambda x: fastnn.tensordot(x, x, ([1], [1])),
    lambda x: fastnn.inner(x, x[:2]),
    lambda x: fastnn.vdot(x[0], x[1]),
    lambda x: fastnn.logit(x.sigmoid(), 0.3),
    lambda x: fastnn.sinc(x),
    lambda x: fastnn.copysign(x, -1.0),
    lambda x: fastnn.trapezoid(x, fastnn.tensor([0.0, 0.5, 2.0, 2.5])),
    lambda x: fastnn.cumulative_trapezoid(x, dx=0.3, dim=0),
    lambda x: fastnn.renorm(x, 2, 0, 1.0),
    lambda x: fastnn.gradient(x, spacing=(fastnn.tensor([0.0, 1.0, 1.5]),), dim=0,
                              edge_order=2)[0],
    lambda x: fastnn.gradient(x, edge_order=2)[1],
    lambda x: fastnn.frexp(x).mantissa,
    lambda x: fastnn.ldexp(x, fastnn.tensor([2, -1, 0, -3])),
    lambda x: fastnn.sgn(x) * x,
    lambda x: fastnn.float_power(x, 3),
    lambda x: fastnn.logaddexp2(x, x.flip(0)),
])
def test_gradcheck(fn):
    gc(fn, A)


def test_gradcheck_quantile_q():
    x = fastnn.tensor(A)
    gc(lambda q: fastnn.quantile(x, q, 1), np.array([0.15, 0.55]))
