"""fastnn._tensor_misc / _functions_misc: gradchecks (no torch needed) and parity with PyTorch."""
import math

import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

rng = np.random.default_rng(0)


def _d(*shape, lo=-2.0, hi=2.0):
    return fastnn.tensor(rng.uniform(lo, hi, shape), dtype=fastnn.float64, requires_grad=True)


# ---- gradchecks (float64, no torch needed) ------------------------------------------------
IDX = fastnn.tensor([2, 0, 2, 1])
GRADCHECKS = {
    "lgamma": (lambda x: x.lgamma(), [_d(5, lo=0.2, hi=4)]),
    "lgamma_neg": (lambda x: fastnn.lgamma(x), [fastnn.tensor(
        [-0.5, -1.3, -2.7], dtype=fastnn.float64, requires_grad=True)]),
    "digamma": (lambda x: x.digamma(), [_d(5, lo=-3, hi=4)]),
    "polygamma2": (lambda x: fastnn.polygamma(2, x), [_d(5, lo=0.3, hi=5)]),
    "i0": (lambda x: x.i0(), [_d(6, lo=-25, hi=25)]),
    "mvlgamma": (lambda x: x.mvlgamma(3), [_d(4, lo=1.5, hi=4)]),
    "asinh_acosh_atanh": (lambda x: x.asinh() + (x + 3).acosh() + (x / 3).atanh(), [_d(5)]),
    "exp2": (lambda x: x.exp2(), [_d(5)]),
    "fmax_fmin": (lambda a, b: a.fmax(b) + 2 * fastnn.fmin(a, b), [_d(3, 4), _d(4)]),
    "index_fill": (lambda x: x.index_fill(1, fastnn.tensor([0, 2]), -1.0), [_d(3, 4)]),
    "index_copy": (lambda x, s: x.index_copy(0, fastnn.tensor([2, 0]), s), [_d(3, 4), _d(2, 4)]),
    "take": (lambda x: x.take(fastnn.tensor([[0, 5], [11, -1]])), [_d(3, 4)]),
    "take_along_dim": (lambda x: x.take_along_dim(fastnn.tensor([[0], [2], [1]]), 1),
                       [_d(3, 4)]),
    "unfold": (lambda x: x.unfold(1, 3, 2), [_d(2, 7)]),
    "unfold_overlap": (lambda x: x.unfold(0, 4, 1), [_d(6, 2)]),
    "diag_embed": (lambda x: x.diag_embed(1, 0, 2), [_d(2, 3)]),
    "diagflat": (lambda x: x.diagflat(-1), [_d(2, 2)]),
    "addbmm": (lambda m, a, b: m.addbmm(a, b, beta=0.5, alpha=2), [_d(3, 2), _d(4, 3, 5),
                                                                   _d(4, 5, 2)]),
    "addr": (lambda m, a, b: fastnn.addr(m, a, b, alpha=3), [_d(3, 2), _d(3), _d(2)]),
    "sum_to_size": (lambda x: x.sum_to_size(3, 1), [_d(2, 3, 4)]),
    "select_scatter": (lambda x, s: x.select_scatter(s, 1, 0), [_d(3, 2), _d(3)]),
    "diagonal_scatter": (lambda x, s: x.diagonal_scatter(s, 1), [_d(3, 4), _d(3)]),
    "masked_scatter": (lambda x, s: x.masked_scatter(x.detach() > 0, s), [_d(3, 4), _d(12)]),
}
for _r in ("sum", "mean", "amax", "amin", "prod"):
    for _inc in (True, False):
        GRADCHECKS[f"scatter_reduce_{_r}_{_inc}"] = (
            lambda x, s, r=_r, inc=_inc: x.scatter_reduce(0, IDX, s, r, include_self=inc),
            [_d(3), _d(5)])


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    fn, inputs = GRADCHECKS[name]
    assert gradcheck(fn, tuple(inputs))


def test_scatter_reduce_prod_zero_grad():
    x = fastnn.tensor([0.0, 2.0, 3.0], dtype=fastnn.float64, requires_grad=True)
    s = fastnn.tensor([0.0, 5.0, 4.0], dtype=fastnn.float64, requires_grad=True)
    out = x.scatter_reduce(0, fastnn.tensor([1, 0, 0]), s, "prod")
    out.sum().backward()
    # position 0 holds 0 * 5 * 4: only the zero factor gets a gradient
    np.testing.assert_allclose(x.grad.numpy(), [20.0, 0.0, 1.0])
    np.testing.assert_allclose(s.grad.numpy(), [2.0, 0.0, 0.0])


def test_inplace_rules():
    leaf = fastnn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.lgamma_()
    y = leaf * 2
    v = y._version
    y.exp2_()
    assert y._version > v and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 2 * 4 * math.log(2), rtol=1e-6)
    base = fastnn.zeros(2, 3)
    base[0].fill_(1.0).eq_(1.0)
    base.t().fill_diagonal_(5.0)
    assert base.tolist() == [[5.0, 1.0, 1.0], [0.0, 5.0, 0.0]]


def test_unfold_is_view_and_overlap_write_raises():
    x = fastnn.arange(6.0)
    w = x.unfold(0, 2, 2)
    w[1, 0] = 10.0
    assert x[2].item() == 10.0
    # overlapping windows take in-place writes (as in PyTorch); expanded tensors do not
    x.unfold(0, 3, 1).fill_(1.0)
    assert x.tolist() == [1.0] * 6
    with pytest.raises(RuntimeError):
        x[:1].expand(3).add_(1)


def test_random_fills_follow_seed():
    fastnn.manual_seed(3)
    a = fastnn.empty(1000).exponential_(2.0)
    fastnn.manual_seed(3)
    b = fastnn.empty(1000).exponential_(2.0)
    assert fastnn.equal(a, b) and (a >= 0).all()
    assert abs(a.mean().item() - 0.5) < 0.1
    g = fastnn.empty(2000).geometric_(0.25)
    assert g.min().item() >= 1 and abs(g.mean().item() - 4) < 0.5
    ln = fastnn.empty(2000).log_normal_(0.0, 0.5)
    assert abs(ln.log().std().item() - 0.5) < 0.05
    c = fastnn.empty(2000).cauchy_(1.0, 2.0)
    assert abs(c.median().item() - 1.0) < 0.3


def test_constants_and_version():
    assert fastnn.pi == math.pi and fastnn.e == math.e and fastnn.newaxis is None
    assert math.isinf(fastnn.inf) and math.isnan(fastnn.nan)
    assert fastnn.version.cuda is None and fastnn.version.__version__ == fastnn.__version__
    assert fastnn.version.debug is False


# ---- parity with PyTorch ------------------------------------------------------------------
def _torch():
    return pytest.importorskip("torch")


def _cmp(a, b, rtol=1e-6, atol=1e-8):
    torch = _torch()
    if isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _cmp(x, y, rtol, atol)
        return
    if not isinstance(b, torch.Tensor):
        assert a == b, (a, b)
        return
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], (a.dtype, b.dtype)
    assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol,
                               equal_nan=True)


def _both(fn, *arrays, grad=False, rtol=1e-6, atol=1e-8):
    """fn(lib, *tensors) in fastnn and in torch: equal values, and equal grads with grad."""
    torch = _torch()
    outs, grads = [], []
    for lib in (fastnn, torch):
        ts = [lib.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind == "f")
              for a in arrays]
        out = fn(lib, *ts)
        outs.append(out)
        if grad:
            w = np.linspace(0.5, 1.5, int(np.prod(out.shape))).reshape(tuple(out.shape))
            (out * lib.tensor(w, dtype=out.dtype)).sum().backward()
            grads.append([t.grad for t in ts if t.requires_grad])
    _cmp(outs[0], outs[1], rtol, atol)
    if grad:
        _cmp(grads[0], grads[1], rtol, atol)


F64 = rng.uniform(-2, 2, (3, 4))
POS = rng.uniform(0.1, 5, (3, 4))
I64 = rng.integers(-20, 20, (3, 4))

PARITY = {
    "lgamma": (lambda L, x: x.lgamma(), [np.r_[POS.ravel(), -0.5, -2.5]]),
    "digamma": (lambda L, x: L.digamma(x), [np.r_[POS.ravel(), -0.5, -2.5, 30.0]]),
    "polygamma": (lambda L, x: L.polygamma(1, x) + x.polygamma(3), [POS]),
    "i0": (lambda L, x: L.i0(x), [F64 * 10]),
    "mvlgamma": (lambda L, x: L.mvlgamma(x + 2, 2), [POS]),
    "hyperbolic": (lambda L, x: L.asinh(x) + L.arccosh(x.abs() + 1) + x.atanh() * 0, [F64 / 3]),
    "exp2": (lambda L, x: L.exp2(x), [F64]),
    "fmax": (lambda L, a, b: L.fmax(a, b) - a.fmin(b), [F64, np.r_[np.nan, 1, 0, -1]]),
    "index_fill": (lambda L, x: x.index_fill(0, L.tensor([1]), 2.5), [F64]),
    "index_copy": (lambda L, x, s: x.index_copy(1, L.tensor([3, 0]), s), [F64, F64[:, :2]]),
    "scatter_reduce": (lambda L, x, s: sum(
        x.scatter_reduce(1, L.tensor([[0, 1, 0], [2, 2, 2], [3, 0, 3]]), s, r,
                         include_self=i) for r in ("sum", "mean", "amax", "amin", "prod")
        for i in (True, False)), [F64, POS[:, :3]]),
    "take": (lambda L, x: L.take(x, L.tensor([[0, -1], [5, 7]])), [F64]),
    "take_along_dim": (lambda L, x: L.take_along_dim(x, L.tensor([[0, 3]]), 1)
                       + x.take_along_dim(L.tensor([2, 3]), None).sum(), [F64]),
    "unfold": (lambda L, x: x.unfold(1, 2, 1).unfold(0, 2, 2), [F64]),
    "diag_embed": (lambda L, x: L.diag_embed(x, -1, 2, 0), [F64]),
    "diagflat": (lambda L, x: L.diagflat(x, 2), [F64]),
    "addbmm": (lambda L, m, a, b: L.addbmm(m, a, b, beta=2), [F64[:, :2], rng.normal(
        size=(2, 3, 5)), rng.normal(size=(2, 5, 2))]),
    "addr": (lambda L, m, a, b: m.addr(a, b, beta=0.5), [F64, F64[0, :3], F64[1]]),
    "mH": (lambda L, x: x.mH + x.H, [F64[:, :3]]),
    "slice_scatter": (lambda L, x, s: x.slice_scatter(s, 1, 1, None, 2), [F64, F64[:, :2]]),
    "diagonal_scatter": (lambda L, x, s: L.diagonal_scatter(x, s, -1, 0, 1), [F64, F64[0, :2]]),
    "index_put": (lambda L, x, v: x.index_put((L.tensor([0, 0]), L.tensor([1, 1])), v, True),
                  [F64, F64[0, :2]]),
    "put": (lambda L, x, v: x.put(L.tensor([1, -1]), v), [F64, F64[0, :2]]),
    "masked_scatter": (lambda L, x, s: x.masked_scatter(L.tensor([True, False, True, True]), s),
                       [F64, POS.ravel()]),
    "sum_to_size": (lambda L, x: x.sum_to_size((1, 4)), [F64]),
    "narrow_copy": (lambda L, x: x.narrow_copy(1, 1, 2), [F64]),
}


@pytest.mark.parametrize("name", sorted(PARITY))
def test_parity(name):
    fn, arrays = PARITY[name]
    _both(fn, *arrays, grad=True, rtol=1e-7 if name != "i0" else 1e-6)


NOGRAD = {
    "gcd_lcm": (lambda L, a, b: (a.gcd(b), L.lcm(a, b)), [I64, I64[::-1].copy()]),
    "bitwise": (lambda L, a, b: (a.bitwise_and(b), a.bitwise_or(3), a.bitwise_xor(b),
                                 a.bitwise_not()), [I64, I64[::-1].copy()]),
    "predicates": (lambda L, x: (L.isposinf(x), x.isneginf(), L.isreal(x), x.is_signed(),
                                 L.is_complex(x), x.is_conj(), x.is_neg()),
                   [np.array([np.inf, -np.inf, 0.0, np.nan])]),
    "unique_consecutive": (lambda L, x: (x.unique_consecutive(), L.unique_consecutive(
        x, return_inverse=True, return_counts=True), x.view(2, 3).unique_consecutive(
            return_counts=True, dim=1)), [np.array([1, 1, 2, 2, 2, 1])]),
    "splits": (lambda L, x: (L.hsplit(x, 2), x.vsplit([1]), L.dsplit(x.reshape(2, 2, 2), 2),
                             x.split_with_sizes([1, 3], 1)), [F64[:2]]),
    "stacks": (lambda L, a, b: (L.dstack([a, b]), L.row_stack((a, b)),
                                L.atleast_3d(a[0, 0], a[0]), L.atleast_2d(a[0]),
                                L.atleast_1d([a[0, 0]])), [F64, POS]),
    "combinations": (lambda L, x: (L.combinations(x), L.combinations(x, 3, True),
                                   L.combinations(x, 5)), [np.arange(4.0)]),
    "compare_": (lambda L, x, y: (x.clone().eq_(y), x.clone().lt_(0.5), x.clone().ge_(y),
                                  x.clone().not_equal_(y), x.clone().logical_and_(y),
                                  x.clone().logical_not_()), [np.r_[0.0, 1, 2], np.r_[1.0, 1, 0]]),
    "inplace_math": (lambda L, x: (x.clone().asinh_(), x.clone().tan_(), x.clone().cumsum_(0),
                                   x.clone().atan2_(x), x.clone().exp2_(), x.clone().sgn_(),
                                   x.clone().absolute_(), x.clone().negative_(),
                                   x.clone().abs().add(1).lgamma_(), x.clone().copysign_(-1),
                                   x.clone().divide_(2, rounding_mode="floor"),
                                   x.clone().subtract_(x, alpha=2), x.clone().multiply_(3),
                                   x.clone().float_power_(2), x.clone().swapaxes_(0, 0)),
                     [np.r_[0.3, -1.2, 0.8]]),
    "random_shape_dtype": (lambda L, x: (x.clone().exponential_().shape, x.is_cpu,
                                         x.get_device(), x[1:].storage_offset(),
                                         x.is_nonzero() if x.numel() == 1 else
                                         x.is_same_size(x)), [np.r_[1.0, 2.0]]),
    "misc": (lambda L, x: (x.new_empty_strided((2, 2), (1, 2)).stride(), x.conj(),
                           x.resolve_conj(), x.resolve_neg(), x.real, x.hardshrink(1.0),
                           x.prelu(L.tensor([0.25], dtype=x.dtype)), x.clone().apply_(abs),
                           x.clone().index_copy_(0, L.tensor([0]), x[:1])),
             [np.r_[-2.0, 0.5, 3.0, -0.1]]),
}


@pytest.mark.parametrize("name", sorted(NOGRAD))
def test_parity_values(name):
    fn, arrays = NOGRAD[name]
    _both(fn, *arrays)


def test_dtypes_match():
    torch = _torch()
    for f in ("lgamma", "digamma", "i0", "exp2", "asinh"):
        a = getattr(fastnn.tensor([1, 2]), f)()
        b = getattr(torch.tensor([1, 2]), f)()
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        a = getattr(fastnn.tensor([1.0, 2.0], dtype=fastnn.float32), f)()
        assert a.dtype == fastnn.float32


ERRORS = [
    lambda L: L.zeros(3).scatter_reduce(0, L.tensor([0, 5]), L.ones(2), "sum"),
    lambda L: L.zeros(3).scatter_reduce(0, L.tensor([0, 1]), L.ones(2), "foo"),
    lambda L: L.zeros(3).scatter_reduce(0, L.tensor([0, 1]), L.ones(2).double(), "sum"),
    lambda L: L.zeros(3).unfold(0, 5, 1),
    lambda L: L.zeros(3).unfold(0, 2, 0),
    lambda L: L.tensor([1, 2]).gcd(L.tensor([1.0, 2])),
    lambda L: L.zeros(3).exponential_(-1),
    lambda L: L.zeros(3).geometric_(1.5),
    lambda L: L.zeros(3).cauchy_(0, -1),
    lambda L: L.zeros(3, dtype=L.int64).exponential_(),
    lambda L: L.zeros(3, dtype=L.int64).log_normal_(),
    lambda L: L.zeros(3).H,
    lambda L: L.zeros(3).mH,
    lambda L: L.zeros(2, 3, 4).H,
    lambda L: L.zeros(3).fill_diagonal_(1),
    lambda L: L.zeros(2, 3, 4).fill_diagonal_(1),
    lambda L: L.zeros(3).split_with_sizes([1, 1]),
    lambda L: L.hsplit(L.zeros(4, 4), 3),
    lambda L: L.vsplit(L.zeros(3), 2),
    lambda L: L.zeros(3).is_nonzero(),
    lambda L: L.zeros(0).is_nonzero(),
    lambda L: L.zeros(3).sum_to_size(2),
    lambda L: L.zeros(2).masked_scatter(L.tensor([True, True]), L.zeros(1)),
    lambda L: L.zeros(3).put_(L.tensor([5]), L.zeros(1)),
    lambda L: L.zeros(3).addr(L.zeros(3, 1), L.zeros(3)),
    lambda L: L.zeros(3, 3).addbmm(L.zeros(3, 3), L.zeros(2, 3, 3)),
    lambda L: L.zeros(3).diag_embed(0, 0, 0),
    lambda L: L.zeros(2).float_power_(2),
    lambda L: L.zeros(3).index_copy(0, L.tensor([0]), L.zeros(2)),
    lambda L: L.zeros(3).index_copy(0, L.tensor([0.0]), L.zeros(1)),
    lambda L: L.zeros(3).index_fill(0, L.tensor([[0]]), 1),
    lambda L: L.zeros(3).take(L.tensor([9])),
    lambda L: L.zeros(3).take_along_dim(L.tensor([0.0]), 0),
    lambda L: L.zeros(3).bitwise_and(L.zeros(3)),
    lambda L: L.zeros(3, requires_grad=True).apply_(lambda v: v),
    lambda L: L.combinations(L.zeros(2, 2)),
    lambda L: L.zeros(2).select_scatter(L.zeros(1), 0, 0),
    lambda L: L.polygamma(-1, L.zeros(2)),
    lambda L: L.zeros(3, requires_grad=True).eq_(0),
    lambda L: L.tensor(1.0).imag,
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_match_torch(k):
    torch = _torch()
    with pytest.raises(Exception) as te:
        ERRORS[k](torch)
    with pytest.raises(Exception) as fe:
        ERRORS[k](fastnn)
    assert fe.type is te.type
    assert str(fe.value).splitlines()[0] == str(te.value).splitlines()[0]
