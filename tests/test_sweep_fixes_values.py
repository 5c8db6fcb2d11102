"""Values that must match PyTorch: non-finite inputs to pooling and cdist, ndtri in the tails,
shrink/celu/angle/hardswish special cases, and special-function values at their edges."""
import math

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

NAN, INF = float("nan"), float("inf")


def _grad(fn, values, dtype=fastnn.float64):
    x = fastnn.tensor(values, dtype=dtype, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


def _same(actual, expected):
    np.testing.assert_array_equal(np.asarray(actual, dtype=np.float64),
                                  np.asarray(expected, dtype=np.float64))


# ---- 1. adaptive average pooling keeps NaN/inf inside their windows -------------------------
def test_adaptive_avg_pool1d_nan_stays_in_its_window():
    x = fastnn.tensor([[1., 2., 3., NAN, 4., 5.]])
    _same(F.adaptive_avg_pool1d(x, 3).numpy(), [[1.5, NAN, 4.5]])


def test_adaptive_avg_pool1d_inf_stays_in_its_window():
    x = fastnn.tensor([[1., INF, 2., 3.]])
    _same(F.adaptive_avg_pool1d(x, 2).numpy(), [[INF, 2.5]])


@pytest.mark.parametrize("out", [(1, 1), (3, 4), (2, 2), (5, 7), (7, 7)])
def test_adaptive_avg_pool2d_non_finite_matches_torch(out):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    a[0, 1, 2, 3] = np.nan
    a[1, 2, 0, 0] = np.inf
    a[1, 0, 4, 6] = -np.inf
    got = F.adaptive_avg_pool2d(fastnn.tensor(a), out).numpy()
    want = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(a), out).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("out", [(1, 1), (3, 2), (5, 7)])
def test_adaptive_avg_pool2d_gradcheck(out):
    x = fastnn.randn(1, 2, 5, 7, dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, out), (x,))


def test_adaptive_avg_pool2d_single_cell_is_a_mean():
    x = fastnn.randn(4, 8, 7, 7)
    y = F.adaptive_avg_pool2d(x, (1, 1))
    np.testing.assert_allclose(y.numpy(), x.numpy().mean(axis=(2, 3), keepdims=True),
                               rtol=1e-6)


# ---- 2. cdist's matmul path keeps NaN and inf -----------------------------------------------
def test_cdist_mm_path_propagates_non_finite():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((30, 3)), rng.standard_normal((4, 3))
    a[0, 1], a[1, 0], a[3, 2], b[1, 0] = np.nan, np.inf, -np.inf, np.inf
    got = fastnn.cdist(fastnn.tensor(a), fastnn.tensor(b)).numpy()
    want = torch.cdist(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_cdist_mm_path_nan_without_torch():
    a = fastnn.zeros(30, 2, dtype=fastnn.float64)
    a[0, 0] = NAN
    d = fastnn.cdist(a, fastnn.zeros(3, 2, dtype=fastnn.float64)).numpy()
    assert np.isnan(d[0]).all() and (d[1:] == 0).all()


# ---- 3. ndtri in the tails ------------------------------------------------------------------
def _probabilities():
    return np.concatenate([10.0 ** -np.arange(1, 301, 0.7), np.linspace(0, 1, 501),
                           1 - 10.0 ** -np.arange(1, 16.5, 0.25), [1e-300, 1e-20, 1e-16, 1e-12]])


def test_ndtri_float64_matches_torch_in_the_tails():
    torch = pytest.importorskip("torch")
    p = _probabilities()
    got = fastnn.special.ndtri(fastnn.tensor(p)).numpy()
    want = torch.special.ndtri(torch.tensor(p)).numpy()
    finite = np.isfinite(want)
    _same(got[~finite], want[~finite])
    rel = np.abs(got[finite] - want[finite]) / np.maximum(np.abs(want[finite]), 1e-300)
    assert rel.max() < 1e-13


def test_ndtri_float32_matches_torch():
    torch = pytest.importorskip("torch")
    p = _probabilities().astype(np.float32)
    got = fastnn.special.ndtri(fastnn.tensor(p)).numpy()
    want = torch.special.ndtri(torch.tensor(p)).numpy()
    assert got.dtype == np.float32
    finite = np.isfinite(want)
    _same(got[~finite], want[~finite])
    ulps = np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]))
    assert ulps.max() <= 4  # PyTorch's float32 kernel is itself a few ulps off


@pytest.mark.parametrize("p, x", [(1e-7, -5.199337582187471), (1e-9, -5.997807015007686),
                                  (1e-300, -37.0470962993612), (0.975, 1.959963984540054)])
def test_ndtri_known_values(p, x):
    got = fastnn.special.ndtri(fastnn.tensor([p], dtype=fastnn.float64)).item()
    assert math.isclose(got, x, rel_tol=1e-9)


def test_ndtri_edges_and_dtype():
    y = fastnn.special.ndtri(fastnn.tensor([0., 1., -0.1, 1.1, NAN, 0.5])).numpy()
    _same(y, [-INF, INF, NAN, NAN, NAN, 0.])
    assert fastnn.special.ndtri(fastnn.tensor([0, 1])).dtype == fastnn.float32
    assert fastnn.special.ndtri(fastnn.tensor([1e-9], dtype=fastnn.float32)).item() > -6.0


def test_ndtri_gradient():
    p = fastnn.tensor([1e-3, 0.2, 0.5, 0.9], dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(fastnn.special.ndtri, (p,))
    assert fastnn.autograd.gradgradcheck(fastnn.special.ndtri, (p,))
    y = fastnn.special.ndtri(p)
    y.sum().backward()
    x = y.detach().numpy()
    np.testing.assert_allclose(p.grad.numpy(), math.sqrt(2 * math.pi) * np.exp(x * x / 2))
    assert y.grad_fn.name() == "SpecialNdtriBackward0"


# ---- 4-6. softshrink / hardshrink at NaN, celu with negative alpha, angle at +-inf ---------
@pytest.mark.parametrize("fn", [F.softshrink, F.hardshrink])
def test_shrink_keeps_nan_and_its_gradient(fn):
    y, g = _grad(fn, [NAN, 1., 0.2, -3.])
    assert np.isnan(y[0])
    _same(g, [1., 1., 0., 1.])


@pytest.mark.parametrize("alpha", [-1.0, -2.0, 0.5, 2.0])
def test_celu_any_alpha_sign(alpha):
    vals = [1., -1., 0., 3., -0.5]
    y, g = _grad(lambda t: F.celu(t, alpha), vals)
    a = np.array(vals)
    want = np.where(a > 0, a, alpha * np.expm1(a / alpha))
    slope = np.where(a > 0, 1.0, np.exp(a / alpha))
    np.testing.assert_allclose(y, want, rtol=1e-12)
    np.testing.assert_allclose(g, slope, rtol=1e-12)
    x = fastnn.tensor([0.7, -0.3, -1.2], dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(lambda t: F.celu(t, alpha), (x,))


def test_celu_negative_alpha_matches_torch():
    torch = pytest.importorskip("torch")
    a = np.array([1.0, -1.0, 0.0, -2.5])
    got = F.celu(fastnn.tensor(a), -1.).numpy()
    want = torch.nn.functional.celu(torch.tensor(a), -1.).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_angle_of_infinities():
    y, g = _grad(fastnn.angle, [INF, -INF, NAN, -0., 0., -2.])
    _same(y, [0., math.pi, NAN, 0., 0., math.pi])
    _same(g, [0.] * 6)


# ---- 12. special values at the edges --------------------------------------------------------
def test_digamma_at_signed_zero():
    y, _ = _grad(fastnn.special.digamma, [-0.0, 0.0])
    _same(y, [INF, -INF])
    _same(fastnn.special.polygamma(0, fastnn.tensor([-0.0, 0.0])).numpy(), [INF, -INF])
    _, g = _grad(fastnn.lgamma, [-0.0, 0.0])
    _same(g, [INF, -INF])


@pytest.mark.parametrize("x, q, want", [(INF, 1., 1.), (INF, 0.5, INF), (0.5, 0., NAN),
                                        (0.5, -1., NAN), (2., 0., INF), (1., 3., INF),
                                        (NAN, 0., INF)])
def test_zeta_edges(x, q, want):
    got = fastnn.special.zeta(fastnn.tensor([x], dtype=fastnn.float64),
                              fastnn.tensor([q], dtype=fastnn.float64)).item()
    _same(got, want)


def test_zeta_grid_matches_torch():
    torch = pytest.importorskip("torch")
    xs = [INF, -INF, 0.5, 1., 2., 2.5, 3., -1., 0., NAN, 1.5, 10.]
    qs = [1., 0.5, 2., -0.5, -2.5, 0., -1., -2., 0.999, 1.0001, INF, -INF, NAN, 3., 100.]
    X, Q = np.meshgrid(xs, qs)
    got = fastnn.special.zeta(fastnn.tensor(X), fastnn.tensor(Q)).numpy()
    want = torch.special.zeta(torch.tensor(X), torch.tensor(Q)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_entr_gradient_at_edges():
    y, g = _grad(fastnn.special.entr, [0.0, -1.0, 2.0, INF, 1.0])
    _same(y, [0., -INF, -2 * math.log(2), -INF, -0.])
    _same(g, [INF, NAN, -(math.log(2) + 1), -INF, -1.])
    assert fastnn.special.entr(fastnn.tensor([0.5])).grad_fn is None
    x = fastnn.tensor([0.3, 1.7], dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(fastnn.special.entr, (x,))
    assert fastnn.autograd.gradgradcheck(fastnn.special.entr, (x,))


@pytest.mark.parametrize("values", [[NAN, -INF, 1., -0.], [3., NAN, 2.], [NAN, 1., 1.],
                                    [1., NAN, NAN, 2., 2.], [2., NAN, NAN, 1., 1.]])
def test_mode_with_nan(values):
    torch = pytest.importorskip("torch")
    got = fastnn.mode(fastnn.tensor(values))
    want = torch.mode(torch.tensor(values))
    assert got.indices.item() == want.indices.item()
    _same(got.values.item(), want.values.item())


def test_mode_with_nan_without_torch():
    got = fastnn.mode(fastnn.tensor([NAN, -INF, 1., -0.]))
    assert math.isnan(got.values.item()) and got.indices.item() == 0
    rows = fastnn.tensor([[1., NAN, 1.], [2., 2., 3.]])
    _same(fastnn.mode(rows, 1).indices.numpy(), [0, 1])  # NaN splits the run of 1s


@pytest.mark.parametrize("fn", [fastnn.abs, fastnn.absolute,
                                lambda t: F.l1_loss(t, fastnn.zeros_like(t), reduction="none")])
def test_abs_gradient_at_nan_is_zero(fn):
    _, g = _grad(fn, [NAN, 0., -2., 3.])
    _same(g, [0., 0., -1., 1.])


def test_hardswish_gradient_at_nan():
    _, g = _grad(F.hardswish, [NAN] * 40 + [0., -3., 3.], fastnn.float32)
    assert np.isnan(g[:40]).all()
    _same(g[40:], [0.5, 0., 1.])
