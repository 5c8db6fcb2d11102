"""Gradients at concentration 1 / logit 0, incomplete gamma, reparameterized Gamma-family
draws, VonMises Bessel gradients, Dirichlet mode and the added distributions."""
import math

import numpy as np
import pytest

import fastnn
from fastnn import distributions as D
from fastnn._special_gammainc import regularized_gamma, standard_gamma_sample_grad

f64 = fastnn.float64


def t64(values, grad=False):
    return fastnn.tensor(values, dtype=f64, requires_grad=grad)


def grad_of(fn, *params):
    return fastnn.autograd.grad(fn(), list(params))


# ---------------------------------------------------------------- item: xlogy at x == 0
def test_dirichlet_log_prob_gradient_at_concentration_one():
    a = fastnn.ones(3, dtype=f64, requires_grad=True)
    value = t64([0.2, 0.3, 0.5])
    (g,) = grad_of(lambda: D.Dirichlet(a).log_prob(value), a)
    # d/da_i = log x_i + digamma(sum a) - digamma(a_i), digamma(3) - digamma(1) = 1.5
    expected = np.log([0.2, 0.3, 0.5]) + 1.5
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("make, expected", [
    # d/da log Gamma(a, 2)-density at (a = 1, x = 0.3): log x + log rate - digamma(1)
    (lambda a: D.Gamma(a, t64(2.0)).log_prob(t64(0.3)),
     math.log(0.3) + math.log(2.0) + 0.5772156649015329),
    # Beta(a, 2) at a = 1: log x - digamma(1) + digamma(3)
    (lambda a: D.Beta(a, t64(2.0)).log_prob(t64(0.3)), math.log(0.3) + 1.5),
    # Chi2 df = 2 (concentration 1): d/d df = (log x - log 2 - digamma(1)) / 2
    (lambda a: D.Chi2(2 * a).log_prob(t64(0.3)),
     math.log(0.3) - math.log(2) + 0.5772156649015329),
])
def test_log_prob_gradient_at_concentration_one(make, expected):
    a = t64(1.0, grad=True)
    (g,) = grad_of(lambda: make(a), a)
    assert abs(g.item() - expected) < 1e-12


def test_xlog1py_gradient_at_zero_input():
    x = t64([0.0, 0.0, 0.5], grad=True)
    y = t64([0.3, -1.0, 0.2], grad=True)
    out = fastnn.special.xlog1py(x, y)
    np.testing.assert_allclose(out.detach().numpy(), [0.0, 0.0, 0.5 * math.log1p(0.2)])
    gx, gy = fastnn.autograd.grad(out.sum(), [x, y])
    np.testing.assert_allclose(gx.numpy(), [math.log1p(0.3), 0.0, math.log1p(0.2)])
    assert gy[0].item() == 0.0 and abs(gy[2].item() - 0.5 / 1.2) < 1e-15


# ------------------------------------------------------- item: gradients at logit 0
def test_binomial_and_geometric_gradients_at_half():
    p = t64(0.5, grad=True)
    (g,) = grad_of(lambda: D.Binomial(5, probs=p).log_prob(t64(1.0)), p)
    assert abs(g.item() - (1 / 0.5 - 4 / 0.5)) < 1e-12  # k/p - (n-k)/(1-p) = -6
    (g,) = grad_of(lambda: D.Binomial(5, probs=p).entropy(), p)
    assert abs(g.item()) < 1e-12  # symmetric at p = 1/2
    (g,) = grad_of(lambda: D.Geometric(probs=p).entropy(), p)
    # H(p) = -(p log p + (1-p) log(1-p)) / p: H'(p) = log(1 - p) / p^2 = -4 log 2
    assert abs(g.item() + 4 * math.log(2)) < 1e-12
    logit = t64(0.0, grad=True)
    (g,) = grad_of(lambda: D.Binomial(5, logits=logit).log_prob(t64(1.0)), logit)
    assert abs(g.item() + 1.5) < 1e-12  # k - n sigmoid(0)


def test_geometric_entropy_at_probability_one_stays_tiny():
    h = D.Geometric(probs=t64([1.0, 0.3])).entropy()
    assert 0 < h[0].item() < 1e-14


# --------------------------------------------------------- item: incomplete gamma
def test_gammainc_against_closed_forms():
    x = np.array([0.1, 0.5, 1.0, 2.5, 7.0, 30.0])
    # a = 1: P = 1 - e^-x; a = 1/2: P = erf(sqrt x); a = 3: Q = e^-x (1 + x + x^2/2)
    np.testing.assert_allclose(regularized_gamma(1.0, x, False), -np.expm1(-x), rtol=1e-14)
    erf = np.array([math.erf(math.sqrt(v)) for v in x])
    np.testing.assert_allclose(regularized_gamma(0.5, x, False), erf, rtol=1e-14)
    np.testing.assert_allclose(regularized_gamma(3.0, x, True),
                               np.exp(-x) * (1 + x + x * x / 2), rtol=1e-13)
    p = fastnn.special.gammainc(t64([2.0, 0.0, 1.0]), t64([1.0, 1.0, 0.0]))
    np.testing.assert_allclose(p.numpy(), [1 - 2 * math.exp(-1), 1.0, 0.0], rtol=1e-14)


def test_gammainc_gradient_only_in_other():
    a, x = t64([1.5, 3.0], grad=True), t64([2.0, 0.5], grad=True)
    (gx,) = fastnn.autograd.grad(fastnn.special.gammaincc(a.detach(), x).sum(), [x])
    dens = [v ** (s - 1) * math.exp(-v) / math.gamma(s) for s, v in ((1.5, 2.0), (3.0, 0.5))]
    np.testing.assert_allclose(gx.numpy(), -np.array(dens), rtol=1e-13)
    with pytest.raises(NotImplementedError, match="igamma: input"):
        fastnn.special.gammainc(a, x).sum().backward()
    with pytest.raises(TypeError):
        fastnn.special.gammainc(t64([1.0]), 2.0)
    with pytest.raises(NotImplementedError, match="Long"):
        fastnn.special.gammainc(fastnn.tensor([1]), fastnn.tensor([2]))


def test_gamma_and_chi2_cdf():
    c = D.Gamma(t64(2.0), t64(3.0)).cdf(t64([0.5, 1.0]))
    np.testing.assert_allclose(c.numpy(), [1 - math.exp(-u) * (1 + u) for u in (1.5, 3.0)])
    c = D.Chi2(t64(2.0)).cdf(t64(1.3))
    assert abs(c.item() - (1 - math.exp(-0.65))) < 1e-14


def test_gammainc_parity_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(-3, 4, 400))
    x = a * np.exp(rng.normal(0, 0.7, 400))
    for name in ("gammainc", "gammaincc"):
        ours = getattr(fastnn.special, name)(t64(a), t64(x)).numpy()
        ref = getattr(torch.special, name)(torch.tensor(a), torch.tensor(x)).numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-300)  # torch's own error


# ------------------------------------------------------ item: reparameterized draws
@pytest.mark.parametrize("a", [0.05, 0.3, 1.0, 2.5, 40.0])
def test_sample_gradient_matches_cdf_relation(a):
    """dx/da = -(dP/da)/(dP/dx), with dP/da by a central difference of P."""
    rng = np.random.default_rng(1)
    x = np.maximum(rng.standard_gamma(a, 30), 1e-12)
    h = 1e-6 * a
    dp_da = (regularized_gamma(a + h, x, False) - regularized_gamma(a - h, x, False)) / (2 * h)
    dens = np.exp((a - 1) * np.log(x) - x - math.lgamma(a))
    keep = (regularized_gamma(a, x, False) > 1e-3) & (regularized_gamma(a, x, True) > 1e-3)
    ours = standard_gamma_sample_grad(np.full_like(x, a), x)
    np.testing.assert_allclose(ours[keep], (-dp_da / dens)[keep], rtol=1e-6)


def test_rsample_gradients_match_mean_derivatives():
    fastnn.manual_seed(0)
    n = 20000
    a = t64([0.3, 1.0, 2.5, 10.0], grad=True)
    rate = t64([1.0, 2.0, 0.5, 3.0], grad=True)
    ga, gr = fastnn.autograd.grad(D.Gamma(a, rate).rsample((n,)).mean(0).sum(), [a, rate])
    np.testing.assert_allclose(ga.numpy(), 1 / rate.detach().numpy(), rtol=0.05)
    np.testing.assert_allclose(gr.numpy(), -(a / rate ** 2).detach().numpy(), rtol=0.05)
    (gb,) = fastnn.autograd.grad(D.Beta(a, t64(2.0)).rsample((n,)).mean(0).sum(), [a])
    np.testing.assert_allclose(gb.numpy(), 2 / (a.detach().numpy() + 2) ** 2, rtol=0.05)
    c = t64([0.5, 1.5, 3.0], grad=True)
    (gd,) = fastnn.autograd.grad(D.Dirichlet(c).rsample((n,)).mean(0)[0], [c])
    np.testing.assert_allclose(gd.numpy(), [4.5 / 25, -0.5 / 25, -0.5 / 25], atol=0.01)
    df = t64(4.0, grad=True)
    (gc,) = fastnn.autograd.grad(D.Chi2(df).rsample((n,)).mean(), [df])
    assert abs(gc.item() - 1.0) < 0.05
    for dist in (D.Gamma, D.Chi2, D.Beta, D.Dirichlet):
        assert dist.has_rsample


def test_fisher_snedecor_and_student_t_rsample_are_differentiable():
    df = t64(4.0, grad=True)
    s = D.FisherSnedecor(df, t64(10.0)).rsample((5,))
    assert s.requires_grad
    assert fastnn.autograd.grad(s.sum(), [df])[0].isfinite().item()
    assert D.StudentT(df).rsample((3,)).requires_grad


# ------------------------------------------------------------------ item: VonMises
@pytest.mark.parametrize("kappa", [0.001, 0.5, 3.0, 10.0, 50.0, 500.0])
def test_von_mises_concentration_gradient_is_exact(kappa):
    mpmath = pytest.importorskip("mpmath")
    k = t64(kappa, grad=True)
    dist = D.VonMises(t64(0.0), k)
    (g,) = grad_of(lambda: dist.log_prob(t64(0.3)), k)
    ratio = float(mpmath.besseli(1, kappa) / mpmath.besseli(0, kappa))
    assert abs(g.item() - (math.cos(0.3) - ratio)) < 1e-12 * max(1.0, abs(g.item()))
    assert D.VonMises(t64(0.0), k).variance.requires_grad


# ------------------------------------------------------------------ item: Dirichlet mode
def test_dirichlet_mode_all_below_one_is_first_vertex():
    mode = D.Dirichlet(t64([[0.5, 0.2, 0.9], [2.0, 0.5, 0.5]])).mode
    np.testing.assert_array_equal(mode.numpy(), [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])


# ------------------------------------------------------------- item: added families
def _nb(T):
    return T.distributions.NegativeBinomial(T.tensor([0.0, 2.0, 3.5, 10.0], dtype=T.float64),
                                            probs=T.tensor([0.3, 0.5, 0.9, 0.1],
                                                           dtype=T.float64))


def _inverse_gamma(T):
    return T.distributions.InverseGamma(T.tensor([0.5, 1.5, 2.5, 4.0], dtype=T.float64),
                                        T.tensor([1.0, 2.0, 0.5, 3.0], dtype=T.float64))


def _continuous_bernoulli(T):
    return T.distributions.ContinuousBernoulli(
        probs=T.tensor([0.1, 0.4995, 0.5, 0.7, 0.999], dtype=T.float64))


def _continuous_bernoulli_logits(T):
    return T.distributions.ContinuousBernoulli(
        logits=T.tensor([-3.0, 0.0, 0.001, 2.0], dtype=T.float64))


def _wishart(T):
    cov = T.tensor([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 0.5]], dtype=T.float64)
    return T.distributions.Wishart(T.tensor([4.0, 6.5], dtype=T.float64),
                                   covariance_matrix=cov)


FAMILY_CASES = {
    "negative_binomial": (_nb, [0.0, 1.0, 3.0, 7.0]),
    "inverse_gamma": (_inverse_gamma, [0.3, 1.0, 2.0, 5.0]),
    "continuous_bernoulli": (_continuous_bernoulli, [0.3, 0.1, 0.5, 0.9, 0.2]),
    "continuous_bernoulli_logits": (_continuous_bernoulli_logits, [0.3, 0.1, 0.5, 0.9]),
    "wishart": (_wishart, [[3.0, 0.5, 0.2], [0.5, 2.0, 0.1], [0.2, 0.1, 1.5]]),
}


def _evaluate(dist, value, T):
    out = {}
    for name in ("log_prob", "entropy", "mean", "variance", "mode", "cdf", "icdf"):
        try:
            attr = getattr(dist, name)
            if name in ("log_prob", "cdf", "icdf"):
                attr = attr(T.tensor(value, dtype=T.float64))
            elif callable(attr):
                attr = attr()
            out[name] = np.asarray(attr.detach().numpy())
        except NotImplementedError:
            out[name] = "NotImplementedError"
    return out


@pytest.mark.parametrize("case", sorted(FAMILY_CASES))
def test_added_family_parity(case):
    torch = pytest.importorskip("torch")
    build, value = FAMILY_CASES[case]
    ours = _evaluate(build(fastnn), value, fastnn)
    ref = _evaluate(build(torch), value, torch)
    for name, expected in ref.items():
        got = ours[name]
        if isinstance(expected, str) or isinstance(got, str):
            assert got == expected, name
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12,
                                       equal_nan=True, err_msg=name)


def test_generalized_pareto_parity():
    torch = pytest.importorskip("torch")
    results = []
    for T in (fastnn, torch):  # float32: torch's isclose against a float32 zero
        d = T.distributions.GeneralizedPareto(T.tensor([0.0, 1.0, -1.0, 0.0]),
                                              T.tensor([1.0, 2.0, 0.5, 1.0]),
                                              T.tensor([0.0, 0.3, -0.2, 0.7]))
        v = T.tensor([0.5, 2.0, -0.5, 3.0])
        results.append([d.log_prob(v), d.cdf(v), d.icdf(T.tensor([0.1, 0.5, 0.9, 0.99])),
                        d.entropy(), d.mean, d.variance, d.support.upper_bound])
    for ours, ref in zip(*results):
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6, equal_nan=True)


def test_lkj_cholesky_log_prob_parity():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    value = torch.distributions.LKJCholesky(4, torch.tensor([0.5, 2.0], dtype=torch.float64))
    value = value.sample((3,))
    ours = D.LKJCholesky(4, t64([0.5, 2.0])).log_prob(t64(value.numpy()))
    ref = torch.distributions.LKJCholesky(4, torch.tensor([0.5, 2.0], dtype=torch.float64))
    np.testing.assert_allclose(ours.numpy(), ref.log_prob(value).numpy(), rtol=1e-12)


def test_added_family_sample_moments():
    fastnn.manual_seed(0)
    n = 40000
    nb = D.NegativeBinomial(t64([2.0, 5.0]), probs=t64([0.3, 0.6]))
    s = nb.sample((n,))
    np.testing.assert_allclose(s.mean(0).numpy(), nb.mean.numpy(), rtol=0.03)
    np.testing.assert_allclose(s.var(0).numpy(), nb.variance.numpy(), rtol=0.06)
    ig = D.InverseGamma(t64([3.0, 5.0]), t64([2.0, 1.0]))
    s = ig.rsample((n,))
    np.testing.assert_allclose(s.mean(0).numpy(), ig.mean.numpy(), rtol=0.03)
    cb = D.ContinuousBernoulli(probs=t64([0.2, 0.5, 0.9]))
    s = cb.rsample((n,))
    np.testing.assert_allclose(s.mean(0).numpy(), cb.mean.numpy(), atol=0.01)
    np.testing.assert_allclose(s.var(0).numpy(), cb.variance.numpy(), rtol=0.05)
    gp = D.GeneralizedPareto(t64(0.5), t64(2.0), t64(0.2))
    s = gp.rsample((n,))
    assert abs(s.mean().item() - gp.mean.item()) < 0.05 * gp.mean.item()
    cov = t64([[2.0, 0.3], [0.3, 1.0]])
    w = D.Wishart(t64(5.0), covariance_matrix=cov)
    s = w.rsample((n,))
    np.testing.assert_allclose(s.mean(0).numpy(), w.mean.numpy(), rtol=0.05, atol=0.05)
    lkj = D.LKJCholesky(3, t64(2.0))
    s = lkj.sample((n,))
    assert bool(D.constraints.corr_cholesky.check(s).all())
    corr = s @ s.mT  # marginal correlation: (r + 1) / 2 ~ Beta(2.5, 2.5), variance 1/6
    assert abs(corr[:, 0, 1].var().item() - 1 / 6) < 0.01


def test_one_hot_straight_through_gradient_is_that_of_probs():
    p = fastnn.tensor([0.2, 0.3, 0.5], requires_grad=True)
    d = D.OneHotCategoricalStraightThrough(probs=p)
    s = d.rsample((4,))
    assert bool((s.detach().sum(-1) == 1).all()) and d.has_rsample
    (g,) = fastnn.autograd.grad((s * fastnn.tensor([1.0, 2.0, 3.0])).sum(), [p])
    # d/dp of 4 * sum_i w_i p_i through the normalised softmax of log p: 4 (w - w.p)
    np.testing.assert_allclose(g.numpy(), 4 * (np.array([1, 2, 3]) - 2.3), rtol=1e-5)


# ------------------------------------------------------- item: transforms / constraints
def _transform_cases(T):
    tr = T.distributions.transforms
    x = T.tensor([[-2.0, 0.3, 5.0], [1.0, -0.5, 25.0]], dtype=T.float64)
    normal = T.distributions.Normal(T.tensor(0.0, dtype=T.float64),
                                    T.tensor(2.0, dtype=T.float64))
    vec = T.tensor([[0.3, -1.2, 2.0, 0.1, -0.4, 0.9]], dtype=T.float64)
    return {
        "softplus": (tr.SoftplusTransform(), x),
        "cdf": (tr.CumulativeDistributionTransform(normal), x),
        "cat_event": (tr.CatTransform([tr.ExpTransform(), tr.identity_transform,
                                       tr.SoftplusTransform()], dim=1), x),
        "cat_batch": (tr.CatTransform([tr.ExpTransform(), tr.SoftplusTransform()], dim=0,
                                      lengths=[1, 1]), x),
        "stack": (tr.StackTransform([tr.ExpTransform(), tr.identity_transform,
                                     tr.SoftplusTransform()], dim=1), x),
        "corr_cholesky": (tr.CorrCholeskyTransform(), vec),
    }


@pytest.mark.parametrize("name", ["softplus", "cdf", "cat_event", "cat_batch", "stack",
                                  "corr_cholesky"])
def test_added_transform_parity(name):
    torch = pytest.importorskip("torch")
    got = []
    for T in (fastnn, torch):
        t, x = _transform_cases(T)[name]
        y = t(x)
        got.append([y, t.inv(y), t.log_abs_det_jacobian(x, y)])
    for ours, ref in zip(*got):
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_transform_round_trips_without_torch():
    tr = D.transforms
    vec = t64([[0.3, -1.2, 2.0, 0.1, -0.4, 0.9]])
    t = tr.CorrCholeskyTransform()
    y = t(vec)
    assert tuple(y.shape) == (1, 4, 4) and bool(D.constraints.corr_cholesky.check(y).all())
    np.testing.assert_allclose(t.inv(y).numpy(), vec.numpy(), rtol=1e-10)
    with pytest.raises(ValueError, match="flattened lower-diagonal"):
        t.forward_shape((5,))
    m = t64([[[1.0, 0.2], [0.3, -0.5]]])
    pd = tr.PositiveDefiniteTransform()
    y = pd(m)
    assert bool(D.constraints.positive_definite.check(y).all())
    np.testing.assert_allclose(pd(pd.inv(y)).numpy(), y.numpy(), rtol=1e-12)
    assert isinstance(D.biject_to(D.constraints.corr_cholesky), tr.CorrCholeskyTransform)
    assert isinstance(D.transform_to(D.constraints.positive_definite),
                      tr.PositiveDefiniteTransform)


def test_added_constraints():
    C = D.constraints
    a = t64([[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [0.0, 1.0]]])
    assert C.square.check(a).tolist() == [True, True]
    assert C.square.check(fastnn.zeros(2, 3)).tolist() is False
    assert C.symmetric.check(a).tolist() == [True, False]
    assert C.lower_triangular.check(a).tolist() == [False, False]
    sym = t64([[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]])
    assert C.positive_semidefinite.check(sym).tolist() == [True, False]
    lower = t64([[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.5, 0.5]]])
    assert C.corr_cholesky.check(lower).tolist() == [True, False]
    counts = t64([[1.0, 2.0], [2.0, 2.0], [-1.0, 0.0]])
    assert C.multinomial(3).check(counts).tolist() == [True, False, False]
    cat = C.cat([C.positive, C.real, C.unit_interval], 0, [1, 2, 1])
    x = t64([[1.0, -1.0], [-2.0, 3.0], [0.0, 0.0], [0.5, 2.0]])
    assert cat.check(x).tolist() == [[True, False], [True, True], [True, True], [True, False]]
    stack = C.stack([C.positive, C.unit_interval], 1)
    assert stack.check(t64([[1.0, 0.5], [-1.0, 2.0]])).tolist() == [[True, True],
                                                                    [False, False]]
    assert repr(C.square) == "Square()" and repr(C.corr_cholesky) == "CorrCholesky()"


def test_igamma_aliases_and_methods():
    x = fastnn.tensor([1.0, 2.0], dtype=fastnn.float64)
    y = fastnn.tensor([0.5, 3.0], dtype=fastnn.float64)
    lower, upper = fastnn.igamma(x, y), fastnn.igammac(x, y)
    np.testing.assert_allclose(lower.numpy(), fastnn.special.gammainc(x, y).numpy())
    np.testing.assert_allclose((lower + upper).numpy(), 1.0, rtol=1e-14)
    np.testing.assert_allclose(x.igamma(y).numpy(), lower.numpy())
    z = x.clone()
    assert z.igammac_(y) is z
    np.testing.assert_allclose(z.numpy(), upper.numpy())
    np.testing.assert_allclose(lower.numpy(), [1 - np.exp(-0.5), 1 - 4 * np.exp(-3)], rtol=1e-13)
