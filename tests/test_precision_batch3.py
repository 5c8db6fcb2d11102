"""Numerical precision: sigmoid and its users at large |x|, logaddexp/logaddexp2/hypot at
extreme magnitudes, float32 cumsum, and float32 sum/mean/var/std over long strided axes.

Reference values come from float64 math (plain assertions) and PyTorch where installed."""
import math

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

INF, NAN = math.inf, math.nan
NEGATIVE = [-100.0, -90.0, -50.0, -30.0, -20.0, -17.0, -10.0, -1.0]
WIDE = [-1000.0, -100.0, -30.0, -17.0, -10.0, -1.0, 0.0, 1.0, 10.0, 17.0, 30.0, 100.0, 1000.0]


def _exact_sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def _rel(a, b):
    a, b = np.atleast_1d(np.asarray(a, np.float64)), np.atleast_1d(np.asarray(b, np.float64))
    with np.errstate(all="ignore"):
        d = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    d[(a == b) | (np.isnan(a) & np.isnan(b))] = 0
    return d


def _values_and_grad(lib, fn, dtype_name, xs):
    x = lib.tensor(xs, dtype=getattr(lib, dtype_name), requires_grad=True)
    y = fn(lib, x)
    y.sum().backward()
    return np.array(y.detach().tolist()), np.array(x.grad.tolist())


# ---- sigmoid and friends ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype,limit,rtol", [("float32", -87.0, 2e-6), ("float64", -700.0, 1e-14)])
def test_sigmoid_keeps_relative_precision_for_negative_inputs(dtype, limit, rtol):
    xs = [x for x in NEGATIVE if x > limit]
    got = fastnn.sigmoid(fastnn.tensor(xs, dtype=getattr(fastnn, dtype))).tolist()
    want = [_exact_sigmoid(x) for x in xs]
    assert _rel(got, want).max() < rtol
    assert all(v > 0 for v in got)


def test_sigmoid_float32_report_values():
    got = fastnn.sigmoid(fastnn.tensor([-10.0, -17.0, -20.0, -30.0])).tolist()
    want = [4.5398e-05, 4.1399e-08, 2.0612e-09, 9.3576e-14]
    assert np.allclose(got, want, rtol=1e-4, atol=0)


def test_sigmoid_limits_and_nan():
    for dt in (fastnn.float32, fastnn.float64, fastnn.float16):
        got = fastnn.sigmoid(fastnn.tensor([-INF, -1000.0, 0.0, 1000.0, INF, NAN], dtype=dt))
        got = got.tolist()
        assert got[:5] == [0.0, 0.0, 0.5, 1.0, 1.0] and math.isnan(got[5])


def test_sigmoid_of_0d_and_float16():
    assert fastnn.sigmoid(fastnn.tensor(0.0)).item() == 0.5
    # float16 is computed through float32: tiny results stay representable
    h = fastnn.sigmoid(fastnn.tensor([-10.0], dtype=fastnn.float16))
    assert h.dtype == fastnn.float16 and abs(h.item() - 4.54e-05) < 1e-6


def test_sigmoid_users_keep_small_values():
    x = fastnn.tensor([-30.0, -20.0])
    assert fastnn.special.expit(x).tolist()[0] > 0
    assert fastnn.nn.Sigmoid()(x).tolist()[0] > 0
    assert np.allclose(fastnn.logit(fastnn.sigmoid(x)).tolist(), [-30.0, -20.0], rtol=1e-5)
    silu = F.silu(x).tolist()
    assert np.allclose(silu, [x_ * _exact_sigmoid(x_) for x_ in (-30.0, -20.0)], rtol=1e-5)
    glu = F.glu(fastnn.tensor([1.0, 1.0, -30.0, -20.0])).tolist()
    assert np.allclose(glu, [_exact_sigmoid(-30.0), _exact_sigmoid(-20.0)], rtol=1e-5)
    x = fastnn.tensor([-30.0], requires_grad=True)
    fastnn.sigmoid(x).sum().backward()
    assert abs(x.grad.item() / _exact_sigmoid(-30.0) - 1) < 1e-5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bce_with_logits_gradient_for_large_negative_logits(dtype):
    x = fastnn.tensor([-30.0, -20.0], dtype=getattr(fastnn, dtype), requires_grad=True)
    F.binary_cross_entropy_with_logits(x, fastnn.zeros_like(x), reduction="sum").backward()
    assert _rel(x.grad.tolist(), [_exact_sigmoid(-30.0), _exact_sigmoid(-20.0)]).max() < 1e-5


def test_bce_with_logits_double_backward():
    x = fastnn.tensor([-3.0, 0.5, 2.0], dtype=fastnn.float64, requires_grad=True)
    t = fastnn.tensor([0.0, 0.3, 1.0], dtype=fastnn.float64)
    pw = fastnn.tensor([2.0, 0.5, 1.5], dtype=fastnn.float64)
    for kw in ({}, {"pos_weight": pw}):
        assert fastnn.autograd.gradgradcheck(
            lambda v: F.binary_cross_entropy_with_logits(v, t, **kw), (x,))


ACTIVATIONS = {
    "sigmoid": lambda L, x: L.sigmoid(x),
    "expit": lambda L, x: L.special.expit(x),
    "silu": lambda L, x: L.nn.functional.silu(x),
    "logsigmoid": lambda L, x: L.nn.functional.logsigmoid(x),
    "softplus": lambda L, x: L.nn.functional.softplus(x),
    "bce_logits_t0": lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(
        x, L.zeros_like(x), reduction="none"),
    "bce_logits_t1": lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(
        x, L.ones_like(x), reduction="none"),
    "bce_logits_pw": lambda L, x: L.nn.functional.binary_cross_entropy_with_logits(
        x, L.full_like(x, 0.3), reduction="none", pos_weight=L.full_like(x, 2.0)),
    "logaddexp0": lambda L, x: L.logaddexp(x, L.zeros_like(x)),
    "logaddexp2_0": lambda L, x: L.logaddexp2(x, L.zeros_like(x)),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_large_magnitude_values_and_gradients_match_torch(name, dtype):
    torch = pytest.importorskip("torch")
    fn = ACTIVATIONS[name]
    ty, tg = _values_and_grad(torch, fn, dtype, WIDE)
    fy, fg = _values_and_grad(fastnn, fn, dtype, WIDE)
    # float32 denormals (below ~1e-38) may differ in their last bits
    tiny = 1e-37 if dtype == "float32" else 0.0
    tol = 1e-5 if dtype == "float32" else 1e-12
    for got, want in ((fy, ty), (fg, tg)):
        close = (_rel(got, want) < tol) | ((np.abs(got) < tiny) & (np.abs(want) < tiny))
        assert close.all(), (got, want)


# ---- logaddexp, logaddexp2, hypot ------------------------------------------------------------
def test_logaddexp_report_values():
    got = fastnn.logaddexp(fastnn.tensor([-20.0, -30.0]), fastnn.tensor([0.0, 0.0])).tolist()
    assert _rel(got, [math.log1p(math.exp(-20.0)), math.log1p(math.exp(-30.0))]).max() < 1e-6
    got = fastnn.logaddexp2(fastnn.tensor([-20.0, -30.0]), fastnn.tensor([0.0, 0.0])).tolist()
    want = [math.log1p(2.0 ** -20) / math.log(2), math.log1p(2.0 ** -30) / math.log(2)]
    assert _rel(got, want).max() < 1e-6


@pytest.mark.parametrize("fn", [fastnn.logaddexp, fastnn.logaddexp2])
def test_logaddexp_infinities(fn):
    a = fastnn.tensor([-INF, INF, INF, -INF, NAN], requires_grad=True)
    b = fastnn.tensor([-INF, INF, -INF, 0.0, 0.0], requires_grad=True)
    y = fn(a, b)
    assert y.tolist()[:4] == [-INF, INF, INF, 0.0] and math.isnan(y.tolist()[4])
    y.sum().backward()
    ga, gb = a.grad.tolist(), b.grad.tolist()
    assert ga[2:4] == [1.0, 0.0] and gb[2:4] == [0.0, 1.0]
    assert all(math.isnan(v) for v in ga[:2] + [ga[4]])


def test_hypot_extreme_magnitudes():
    got = fastnn.hypot(fastnn.tensor([1e-30, 3e30]), fastnn.tensor([1e-30, 4e30])).tolist()
    assert _rel(got, [math.sqrt(2) * 1e-30, 5e30]).max() < 1e-6
    a = fastnn.tensor([1e-30, 3e30], requires_grad=True)
    b = fastnn.tensor([1e-30, 4e30], requires_grad=True)
    fastnn.hypot(a, b).sum().backward()
    assert np.allclose(a.grad.tolist(), [math.sqrt(0.5), 0.6], rtol=1e-6)
    assert np.allclose(b.grad.tolist(), [math.sqrt(0.5), 0.8], rtol=1e-6)


@pytest.mark.parametrize("fn", [fastnn.logaddexp, fastnn.logaddexp2, fastnn.hypot])
def test_binary_ops_grad_names_broadcast_and_second_order(fn):
    a = fastnn.tensor([1.0, -2.0, 0.5], dtype=fastnn.float64, requires_grad=True)
    b = fastnn.tensor([[0.5], [3.0]], dtype=fastnn.float64, requires_grad=True)
    y = fn(a, b)
    assert tuple(y.shape) == (2, 3)
    assert type(y.grad_fn).__name__ == {"logaddexp": "LogaddexpBackward0",
                                        "logaddexp2": "Logaddexp2Backward0",
                                        "hypot": "HypotBackward0"}[fn.__name__]
    assert fastnn.autograd.gradcheck(fn, (a, b))
    assert fastnn.autograd.gradgradcheck(fn, (a, b))


@pytest.mark.parametrize("fn", [fastnn.logaddexp, fastnn.logaddexp2, fastnn.hypot])
def test_binary_ops_errors_scalars_and_half(fn):
    with pytest.raises(RuntimeError, match="must match the size"):
        fn(fastnn.ones(2), fastnn.ones(3))
    assert fn(fastnn.tensor([1.0, 2.0]), 3.0).dtype == fastnn.float32
    h = fn(fastnn.tensor([1.0, 2.0], dtype=fastnn.float16),
           fastnn.tensor([1.0, 2.0], dtype=fastnn.float16))
    assert h.dtype == fastnn.float16
    want = fn(fastnn.tensor([1.0, 2.0]), fastnn.tensor([1.0, 2.0]))
    assert np.allclose(h.float().tolist(), want.tolist(), rtol=1e-3)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "hypot"])
def test_binary_ops_match_torch_on_edge_cases(name):
    torch = pytest.importorskip("torch")
    xs = [-INF, INF, INF, -INF, 0.0, NAN, 0.0, 1e-30, 3e30, -50.0, 7.0]
    ys = [-INF, INF, -INF, 0.0, 0.0, 0.0, NAN, 1e-30, 4e30, 0.0, -1.0]
    out = []
    for lib in (torch, fastnn):
        a = lib.tensor(xs, requires_grad=True)
        b = lib.tensor(ys, requires_grad=True)
        y = getattr(lib, name)(a, b)
        y.sum().backward()
        out.append([np.array(v.tolist()) for v in (y.detach(), a.grad, b.grad)])
    for got, want in zip(out[1], out[0]):
        assert (_rel(got, want) < 1e-6).all(), (got, want)


# ---- cumsum ----------------------------------------------------------------------------------
def test_float32_cumsum_accumulates_wide():
    assert fastnn.cumsum(fastnn.full((10000,), 0.1), 0)[-1].item() == pytest.approx(1000.0,
                                                                                    rel=1e-7)
    x = fastnn.full((10000,), 0.1)
    x.cumsum_(0)
    assert x[-1].item() == pytest.approx(1000.0, rel=1e-7) and x.dtype == fastnn.float32
    x = fastnn.full((10000,), 0.1, requires_grad=True)
    x.cumsum(0).mul(0.1).sum().backward()  # the reversed running sum of 0.1s
    assert x.grad[0].item() == pytest.approx(1000.0, rel=1e-7)
    assert x.grad.dtype == fastnn.float32


def test_cumsum_dtypes_kept():
    h = fastnn.full((1000,), 0.1, dtype=fastnn.float16).cumsum(0)
    assert h.dtype == fastnn.float16 and h[-1].item() == pytest.approx(100.0, rel=1e-3)
    assert fastnn.cumsum(fastnn.tensor([1, 2, 3]), 0).tolist() == [1, 3, 6]
    assert fastnn.tensor([1.0, 2.0]).cumsum(0, dtype=fastnn.float64).dtype == fastnn.float64
    assert fastnn.tensor(2.0).cumsum(0).item() == 2.0
    m = fastnn.full((3, 5000), 0.1).cumsum(1)
    assert np.allclose(m[:, -1].tolist(), [500.0] * 3, rtol=1e-7)


# ---- float32 reductions over long strided axes -----------------------------------------------
def _tall(seed=0, shape=(200000, 4)):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) + 10).astype(np.float32)


LAYOUTS = {
    "tall_dim0": lambda: (_tall(), 0),
    "tall_transposed_dim1": lambda: (_tall().T, 1),
    "fortran_dim1": lambda: (np.asfortranarray(_tall(1, (4, 100000))), 1),
    "3d_dims02": lambda: (_tall(2, (400, 3, 300)), (0, 2)),
    "wide_dim0": lambda: (_tall(3, (3000, 300)), 0),
    "strided_all": lambda: (_tall(4), None, lambda t: t[:, :2]),
    "contiguous_last": lambda: (_tall(5, (4, 100000)), 1),
}
REDUCTIONS = {
    "sum": lambda t, d: t.sum() if d is None else t.sum(d),
    "mean": lambda t, d: t.mean() if d is None else t.mean(d),
    "var": lambda t, d: t.var() if d is None else t.var(d),
    "std": lambda t, d: t.std() if d is None else t.std(d),
    "nansum": lambda t, d: fastnn.nansum(t) if d is None else fastnn.nansum(t, d),
    "nanmean": lambda t, d: fastnn.nanmean(t) if d is None else fastnn.nanmean(t, d),
    "var_mean": lambda t, d: fastnn.var_mean(t, d)[0],
    "std_mean": lambda t, d: fastnn.std_mean(t, d)[1],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_float32_reductions_near_float64(layout, op):
    arr, dim, *view = LAYOUTS[layout]()
    view = view[0] if view else (lambda t: t)
    got = REDUCTIONS[op](view(fastnn.from_numpy(arr)), dim)
    want = REDUCTIONS[op](view(fastnn.from_numpy(arr.astype(np.float64))), dim)
    assert got.dtype == fastnn.float32
    assert tuple(got.shape) == tuple(want.shape)
    # PyTorch stays within a few 1e-7 here; a float32 running sum is off by ~1e-5..1e-4
    assert _rel(got.numpy(), want.numpy()).max() < 5e-7


def test_float32_strided_reductions_keepdim_and_grad():
    arr = _tall(6, (1000, 300))
    x = fastnn.tensor(arr, requires_grad=True)
    for op in ("sum", "mean", "var", "std"):
        y = getattr(x, op)(0, keepdim=True)
        assert tuple(y.shape) == (1, 300) and y.dtype == fastnn.float32
        y.sum().backward()
        assert tuple(x.grad.shape) == (1000, 300)
        x.grad = None
    odd = fastnn.tensor(_tall(7, (1000 + 37, 130)))  # rows not a multiple of the block size
    want = odd.double().sum(0)
    assert _rel(odd.sum(0).numpy(), want.numpy()).max() < 5e-7


def test_float32_tall_reductions_match_torch():
    torch = pytest.importorskip("torch")
    arr = _tall(8, (300000, 4))
    ref = arr.astype(np.float64)
    for op in ("sum", "mean", "var", "std"):
        want = getattr(ref, op)(axis=0, **({"ddof": 1} if op in ("var", "std") else {}))
        ours = _rel(getattr(fastnn.from_numpy(arr), op)(0).numpy(), want).max()
        theirs = _rel(getattr(torch.from_numpy(arr), op)(0).numpy(), want).max()
        assert ours <= max(4 * theirs, 2e-7)
