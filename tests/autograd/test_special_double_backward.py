"""Second and third derivatives of the special functions whose first-order backward is a
numpy slope (i0, i0e, i1, i1e, erfcx, log_ndtr, zeta, gammainc/gammaincc) and of the
distributions built on lgamma, digamma and log I0 / log I1: gradgradcheck in float64,
first-order gradients unchanged by create_graph, and Hessians against PyTorch."""
import math

import numpy as np
import pytest

import fastnn
from fastnn.autograd import grad, gradcheck, gradgradcheck

F64 = fastnn.float64


def _leaf(values):
    return fastnn.tensor(values, dtype=F64, requires_grad=True)


def _i0(lib, x):
    return lib.i0(x)


def _special(name):
    def fn(lib, x):
        return getattr(lib.special, name)(x)
    fn.__name__ = name
    return fn


def _zeta_q(lib, x):
    return lib.special.zeta(3.0, x)


def _gammainc_x(lib, x):
    return lib.special.gammainc(lib.tensor(2.0, dtype=lib.float64), x)


def _gammaincc_x(lib, x):
    return lib.special.gammaincc(lib.tensor(2.5, dtype=lib.float64), x)


_special_i0 = _special("i0")  # an alias of fastnn.i0

# each op with points in its regions: both signs, the asymptotic ranges, the tails
UNARY_CASES = [
    (_i0, [0.3, -0.6, 2.5]),
    (_special_i0, [0.3, -1.2]),
    (_special("i0e"), [0.3, -0.6, 35.0]),
    (_special("i1"), [0.3, -0.6, 4.0]),
    (_special("i1e"), [0.3, -0.6, 35.0]),
    (_special("erfcx"), [0.3, -0.6, 0.9, 3.0, 8.0]),
    (_special("log_ndtr"), [0.3, -0.6, 0.9, -3.0, -9.0, 4.0]),
    (_zeta_q, [1.5, 2.5, 0.7]),
    (_gammainc_x, [0.5, 1.5, 3.0, 6.0]),
    (_gammaincc_x, [0.5, 1.5, 3.0, 6.0]),
]
_IDS = [f.__name__ + str(i) for i, (f, _) in enumerate(UNARY_CASES)]


@pytest.mark.parametrize("fn,values", UNARY_CASES, ids=_IDS)
def test_gradgradcheck(fn, values):
    assert gradgradcheck(lambda x: fn(fastnn, x), (_leaf(values),))


@pytest.mark.parametrize("fn,values", UNARY_CASES, ids=_IDS)
def test_third_order(fn, values):
    # the second derivative (of the summed op) is itself differentiable
    def second(x):
        with fastnn.enable_grad():  # gradcheck's finite differences run under no_grad
            (g,) = grad(fn(fastnn, x).sum(), x, create_graph=True)
            (h,) = grad(g.sum(), x, create_graph=True)
        return h
    assert gradcheck(second, (_leaf(values),), atol=1e-4)


@pytest.mark.parametrize("fn,values", UNARY_CASES, ids=_IDS)
def test_first_order_unchanged_by_create_graph(fn, values):
    x = _leaf(values)
    (plain,) = grad(fn(fastnn, x).sum(), x)
    (graphed,) = grad(fn(fastnn, x).sum(), x, create_graph=True)
    assert graphed.requires_grad and graphed.grad_fn is not None
    if fn in (_i0, _special_i0):  # fastnn.i0's first-order slope is its own i1 series: ulps apart
        np.testing.assert_allclose(graphed.detach().numpy(), plain.numpy(), rtol=1e-14)
    else:
        np.testing.assert_array_equal(graphed.detach().numpy(), plain.numpy())


@pytest.mark.parametrize("name", ["i0e", "i1", "i1e", "erfcx", "log_ndtr"])
def test_float32_graph_gradient_keeps_dtype(name):
    x = fastnn.tensor([0.3, -0.6, 2.0], requires_grad=True)
    (g,) = grad(getattr(fastnn.special, name)(x).sum(), x, create_graph=True)
    (h,) = grad(g.sum(), x)
    assert g.dtype == fastnn.float32 and h.dtype == fastnn.float32
    assert np.isfinite(h.numpy()).all()


def test_i1_second_derivative_at_zero():
    # i1 and i1e divide by x in their slope: x == 0 takes the limit, with no nan
    for name in ("i1", "i1e"):
        x = _leaf([0.0])
        (g,) = grad(getattr(fastnn.special, name)(x).sum(), x, create_graph=True)
        (h,) = grad(g.sum(), x)
        assert g.item() == 0.5 and h.item() == 0.0


def test_gammainc_first_argument_still_not_differentiable():
    a, x = _leaf([2.0]), _leaf([1.5])
    with pytest.raises(NotImplementedError, match="igamma: input"):
        grad(fastnn.special.gammainc(a, x).sum(), (a, x), create_graph=True)


def test_zeta_first_argument_still_not_differentiable():
    s, q = _leaf([3.0]), _leaf([1.5])
    with pytest.raises(NotImplementedError, match="zeta"):
        grad(fastnn.special.zeta(s, q).sum(), (s, q), create_graph=True)


def test_log_ndtr_hessian_values():
    # d2/dx2 log Phi(x) = -r (x + r) with r = phi(x) / Phi(x)
    x = np.array([0.3, -0.6, 0.9, -5.0])
    h = fastnn.func.hessian(lambda t: fastnn.special.log_ndtr(t).sum())(fastnn.tensor(x))
    phi = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    r = phi / cdf
    np.testing.assert_allclose(np.diag(h.numpy()), -r * (x + r), rtol=1e-10)
    assert np.count_nonzero(h.numpy() - np.diag(np.diag(h.numpy()))) == 0


def test_log_ndtr_far_right_tail_second_derivative_is_finite():
    # erfcx(-x / sqrt 2) overflows there: the slope and its derivative are 0, not nan
    x = fastnn.tensor([40.0, 100.0, 10.0], dtype=F64)
    h = fastnn.autograd.functional.hessian(lambda t: fastnn.special.log_ndtr(t).sum(), x)
    diag = np.diag(h.numpy())
    assert np.isfinite(diag).all() and diag[0] == 0 and diag[1] == 0 and diag[2] < 0


def _dist_cases(lib):
    d = lib.distributions

    def t(v):
        return lib.tensor(v, dtype=lib.float64)
    return {
        "beta": lambda c: d.Beta(c, 2 * c).log_prob(lib.full((3,), 0.3, dtype=lib.float64)).sum(),
        "gamma_log_prob": lambda c: d.Gamma(c, 1.0).log_prob(t(1.5)).sum(),
        "gamma_entropy": lambda c: d.Gamma(c, 1.0).entropy().sum(),
        "student_t": lambda c: d.StudentT(c).log_prob(t(1.0)).sum(),
        "chi2_log_prob": lambda c: d.Chi2(c).log_prob(t(1.0)).sum(),
        "chi2_entropy": lambda c: d.Chi2(c).entropy().sum(),
        "dirichlet_log_prob": lambda c: d.Dirichlet(c).log_prob(t([0.2, 0.3, 0.5])),
        "dirichlet_entropy": lambda c: d.Dirichlet(c).entropy(),
        "von_mises_log_prob": lambda c: d.VonMises(t(0.2), c).log_prob(t(1.0)).sum(),
        "von_mises_variance": lambda c: d.VonMises(t(0.2), c).variance.sum(),
    }


_DIST_NAMES = sorted(_dist_cases(fastnn))
_CONC = [0.7, 1.6, 2.9]


@pytest.mark.parametrize("name", _DIST_NAMES)
def test_distribution_gradgradcheck(name):
    assert gradgradcheck(_dist_cases(fastnn)[name], (_leaf(_CONC),))


@pytest.mark.parametrize("name", _DIST_NAMES)
def test_distribution_first_order_unchanged_by_create_graph(name):
    fn, x = _dist_cases(fastnn)[name], _leaf(_CONC)
    (plain,) = grad(fn(x), x)
    (graphed,) = grad(fn(x), x, create_graph=True)
    np.testing.assert_array_equal(graphed.detach().numpy(), plain.numpy())


@pytest.mark.parametrize("name", _DIST_NAMES)
def test_distribution_hessian_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours = fastnn.autograd.functional.hessian(_dist_cases(fastnn)[name],
                                              fastnn.tensor(_CONC, dtype=F64))
    theirs = torch.autograd.functional.hessian(_dist_cases(torch)[name],
                                               torch.tensor(_CONC, dtype=torch.float64))
    # VonMises: PyTorch differentiates its polynomial fit of log I0 / log I1, fastnn uses the
    # exact Bessel ratio (already so at first order): they agree to the fit's accuracy
    rtol = 1e-5 if name.startswith("von_mises") else 1e-7
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("fn,values", UNARY_CASES, ids=_IDS)
def test_hessian_matches_torch(fn, values):
    torch = pytest.importorskip("torch")
    ours = fastnn.autograd.functional.hessian(lambda x: fn(fastnn, x).sum(),
                                              fastnn.tensor(values, dtype=F64))
    theirs = torch.autograd.functional.hessian(lambda x: fn(torch, x).sum(),
                                               torch.tensor(values, dtype=torch.float64))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name", ["log_ndtr", "erfcx", "i0"])
def test_func_hessian_matches_torch(name):
    torch = pytest.importorskip("torch")
    values = [0.3, -0.6, 0.9]

    def build(lib):
        op = lib.i0 if name == "i0" else getattr(lib.special, name)
        return lib.func.hessian(lambda t: op(t).sum())(lib.tensor(values, dtype=lib.float64))
    np.testing.assert_allclose(build(fastnn).numpy(), build(torch).numpy(), rtol=1e-10)
