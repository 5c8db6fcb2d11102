"""Distributions: samples inside the open support (Beta, Dirichlet), KL pairs with a
ContinuousBernoulli, the Bregman-divergence entropy and KL of exponential families,
mixed-dtype log densities, set_default_validate_args flags, and the tril/vector helpers
and constraints."""
import math

import numpy as np
import pytest

import fastnn
from fastnn.distributions import (Bernoulli, Beta, ContinuousBernoulli, Dirichlet,
                                  Distribution, Exponential, ExponentialFamily, Gamma,
                                  Gumbel, Laplace, MixtureSameFamily, Categorical,
                                  Multinomial, MultivariateNormal, Normal, Pareto, Uniform,
                                  Wishart, constraints, kl_divergence)
from fastnn.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix

F32, F64 = fastnn.float32, fastnn.float64


# ---- samples stay inside the open support -------------------------------------------------

@pytest.mark.parametrize("dtype, below_one", [(F32, 1 - 2.0 ** -24), (F64, 1 - 2.0 ** -53)])
def test_beta_sample_small_concentrations_in_open_interval(dtype, below_one):
    fastnn.manual_seed(0)
    beta = Beta(fastnn.tensor([0.05], dtype=dtype), fastnn.tensor([0.05], dtype=dtype))
    for s in (beta.sample((20000,)), beta.rsample((2000,)).detach()):
        assert s.dtype == dtype
        assert int(((s == 0) | (s == 1)).sum()) == 0
        assert float(s.max()) <= below_one
        assert float(s.min()) >= fastnn.finfo(dtype).tiny
    assert bool(fastnn.isfinite(beta.log_prob(beta.sample((5000,)))).all())


def test_beta_sample_shapes():
    assert Beta(0.5, 0.5).sample().shape == ()
    assert Beta(fastnn.tensor([0.5, 2.0]), fastnn.tensor(0.5)).sample((3,)).shape == (3, 2)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_dirichlet_sample_small_concentrations(dtype):
    fastnn.manual_seed(0)
    d = Dirichlet(fastnn.tensor([0.001, 0.001], dtype=dtype))
    s = d.sample((10000,))
    assert s.dtype == dtype
    assert not bool(fastnn.isnan(s).any())
    assert float((s.sum(-1) - 1).abs().max()) <= 2 * fastnn.finfo(dtype).eps
    assert float(s.min()) >= fastnn.finfo(dtype).tiny and float(s.max()) < 1
    # both draws underflow often: such rows split evenly rather than giving 0/0
    assert int((s == 0.5).all(-1).sum()) > 1000
    r = d.rsample((500,)).detach()
    assert not bool(fastnn.isnan(r).any()) and float(r.max()) < 1


def test_dirichlet_sample_ordinary_concentrations_sum_to_one():
    fastnn.manual_seed(1)
    s = Dirichlet(fastnn.tensor([[0.5, 2.0, 3.0], [1.0, 1.0, 1.0]])).sample((100,))
    assert s.shape == (100, 2, 3)
    np.testing.assert_allclose(s.sum(-1).numpy(), 1.0, atol=1e-6)


# ---- KL with a ContinuousBernoulli ---------------------------------------------------------

def _leaf(*values):
    return fastnn.tensor(values, dtype=F64, requires_grad=True)


def _family(name, m, leaves):
    def leaf(*v):
        t = m.tensor(v, dtype=m.float64, requires_grad=True)
        leaves.append(t)
        return t
    D = m.distributions
    return {
        "CB": lambda: D.ContinuousBernoulli(leaf(0.2, 0.7)),
        "CB_near_half": lambda: D.ContinuousBernoulli(leaf(0.4995, 0.9)),
        "Exponential": lambda: D.Exponential(leaf(0.5, 2.0)),
        "Normal": lambda: D.Normal(leaf(0.3, -1.0), leaf(0.5, 2.0)),
        "Pareto": lambda: D.Pareto(leaf(0.5, 2.0), leaf(1.5, 3.0)),
        "Uniform": lambda: D.Uniform(leaf(-0.5, 0.2), leaf(1.5, 0.7)),
        "Beta": lambda: D.Beta(leaf(0.5, 2.0), leaf(1.5, 3.0)),
        "Gamma": lambda: D.Gamma(leaf(0.5, 2.0), leaf(1.5, 3.0)),
        "Gumbel": lambda: D.Gumbel(leaf(0.5, 2.0), leaf(1.5, 3.0)),
        "Laplace": lambda: D.Laplace(leaf(0.5, 2.0), leaf(1.5, 3.0)),
    }[name]()


CB_PAIRS = ([("CB", q) for q in ("CB", "CB_near_half", "Exponential", "Normal", "Pareto",
                                 "Uniform")]
            + [("CB_near_half", "CB")]
            + [(p, "CB") for p in ("Beta", "Exponential", "Gamma", "Gumbel", "Laplace",
                                   "Normal", "Pareto", "Uniform")])


def _kl_and_grads(m, p_name, q_name):
    leaves = []
    p, q = _family(p_name, m, leaves), _family(q_name, m, leaves)
    kl = m.distributions.kl_divergence(p, q)
    finite = m.isfinite(kl)
    grads = None
    if kl.requires_grad and bool(finite.any()):
        grads = m.autograd.grad(kl[finite].sum(), leaves, allow_unused=True)
    return kl.detach().numpy(), grads


@pytest.mark.parametrize("p_name, q_name", CB_PAIRS)
def test_cb_kl_pairs_exist_and_are_finite_or_inf(p_name, q_name):
    kl, _ = _kl_and_grads(fastnn, p_name, q_name)
    assert kl.shape == (2,)
    assert not np.isnan(kl).any()
    if p_name.startswith("CB") and q_name.startswith("CB"):
        assert (kl >= 0).all()


def test_cb_kl_self_is_zero_and_support_gives_inf():
    p = ContinuousBernoulli(fastnn.tensor([0.2, 0.7]))
    np.testing.assert_allclose(kl_divergence(p, p).numpy(), 0.0, atol=1e-6)
    assert bool(kl_divergence(Normal(0.0, 1.0), p).isinf())
    assert bool(kl_divergence(p, Pareto(1.0, 2.0)).isinf().all())
    inside = Uniform(fastnn.tensor(0.2), fastnn.tensor(0.7))
    assert bool(fastnn.isfinite(kl_divergence(inside, p)).all())


@pytest.mark.parametrize("p_name, q_name", CB_PAIRS)
def test_cb_kl_pairs_match_torch(p_name, q_name):
    torch = pytest.importorskip("torch")
    want, want_g = _kl_and_grads(torch, p_name, q_name)
    got, got_g = _kl_and_grads(fastnn, p_name, q_name)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert (got_g is None) == (want_g is None)
    for g, w in zip(got_g or (), want_g or ()):
        assert (g is None) == (w is None)
        if w is not None:
            np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-9)


# ---- Bregman entropy and KL of exponential families --------------------------------------

EXPFAM = {
    "Normal": lambda m: m.distributions.Normal(m.tensor([0.3, -1.0], dtype=m.float64),
                                               m.tensor([0.5, 2.0], dtype=m.float64)),
    "Bernoulli": lambda m: m.distributions.Bernoulli(m.tensor([0.3, 0.8], dtype=m.float64)),
    "Gamma": lambda m: m.distributions.Gamma(m.tensor([0.5, 2.0], dtype=m.float64),
                                             m.tensor([1.5, 3.0], dtype=m.float64)),
    "Exponential": lambda m: m.distributions.Exponential(m.tensor([0.5, 2.0],
                                                                  dtype=m.float64)),
    "CB": lambda m: m.distributions.ContinuousBernoulli(m.tensor([0.2, 0.7],
                                                                  dtype=m.float64)),
    "Wishart": lambda m: m.distributions.Wishart(
        m.tensor([4.0, 5.0], dtype=m.float64),
        covariance_matrix=m.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=m.float64)),
}


@pytest.mark.parametrize("name", sorted(EXPFAM))
def test_bregman_entropy_equals_closed_form(name):
    d = EXPFAM[name](fastnn)
    np.testing.assert_allclose(ExponentialFamily.entropy(d).detach().numpy(),
                               d.entropy().detach().numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(EXPFAM))
def test_natural_params_match_torch(name):
    torch = pytest.importorskip("torch")
    want = [t.detach().numpy() for t in EXPFAM[name](torch)._natural_params]
    got = [t.detach().numpy() for t in EXPFAM[name](fastnn)._natural_params]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)


def test_normal_natural_params_values():
    eta1, eta2 = Normal(fastnn.tensor(0.3), fastnn.tensor(0.5))._natural_params
    assert float(eta1) == pytest.approx(1.2) and float(eta2) == pytest.approx(-2.0)


def test_entropy_without_carrier_measure_raises():
    from fastnn.distributions import Poisson
    with pytest.raises(NotImplementedError):
        Poisson(fastnn.tensor([1.0])).entropy()


def _wishart_pair(m):
    D = m.distributions
    df = m.tensor([4.0, 5.0], dtype=m.float64)
    cov = m.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=m.float64)
    q_df = m.tensor([6.0], dtype=m.float64, requires_grad=True)
    p = D.Wishart(df, covariance_matrix=cov)
    q = D.Wishart(q_df, covariance_matrix=m.eye(2, dtype=m.float64))
    return p, q, q_df


def test_wishart_kl_uses_bregman_fallback():
    p, q, q_df = _wishart_pair(fastnn)
    kl = kl_divergence(p, q)
    assert kl.shape == (2,) and bool(fastnn.isfinite(kl).all())
    kl.sum().backward()
    assert q_df.grad is not None and math.isfinite(float(q_df.grad))
    np.testing.assert_allclose(kl_divergence(p, p).detach().numpy(), 0.0, atol=1e-9)


def test_wishart_kl_matches_torch():
    torch = pytest.importorskip("torch")
    (tp, tq, tdf), (fp, fq, fdf) = _wishart_pair(torch), _wishart_pair(fastnn)
    want, got = torch.distributions.kl_divergence(tp, tq), kl_divergence(fp, fq)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-9)
    want.sum().backward()
    got.sum().backward()
    np.testing.assert_allclose(fdf.grad.numpy(), tdf.grad.numpy(), rtol=1e-9)


def test_cross_family_bregman_still_raises():
    from fastnn.distributions import Poisson
    with pytest.raises(NotImplementedError, match="different exponential families"):
        kl_divergence(Poisson(fastnn.tensor([1.0])), Wishart(fastnn.tensor(3.0),
                                                              fastnn.eye(2)))


# ---- mixed dtypes ------------------------------------------------------------------------

def test_mvn_float32_params_float64_value():
    mvn = MultivariateNormal(fastnn.zeros(2), fastnn.eye(2))
    lp = mvn.log_prob(fastnn.ones(2, dtype=F64))
    assert lp.dtype == F32
    assert float(lp) == pytest.approx(-1.0 - math.log(2 * math.pi), rel=1e-6)


@pytest.mark.parametrize("make, param_dt, value_dt, want", [
    (lambda dt: Bernoulli(fastnn.tensor([0.3], dtype=dt)), F64, F32, F32),
    (lambda dt: Bernoulli(fastnn.tensor([0.3], dtype=dt)), F32, F64, F64),
    (lambda dt: Gamma(fastnn.tensor([0.3], dtype=dt), 1.0), F32, F64, F32),
    (lambda dt: Gamma(fastnn.tensor([0.3], dtype=dt), 1.0), F64, F32, F64),
    (lambda dt: Multinomial(3, fastnn.tensor([0.5, 0.5], dtype=dt)), F32, F64, F64),
    (lambda dt: Multinomial(3, fastnn.tensor([0.5, 0.5], dtype=dt)), F64, F32, F64),
])
def test_mixed_dtype_log_prob(make, param_dt, value_dt, want):
    d = make(param_dt)
    lp = d.log_prob(d.sample().to(value_dt))
    assert lp.dtype == want
    assert bool(fastnn.isfinite(lp).all())


def test_multinomial_integer_counts_use_param_dtype():
    d = Multinomial(3, fastnn.tensor([0.5, 0.5]))
    lp = d.log_prob(fastnn.tensor([1, 2]))
    assert lp.dtype == F32 and float(lp) == pytest.approx(math.log(3 / 8), rel=1e-6)


# ---- validate-args flags -----------------------------------------------------------------

@pytest.mark.parametrize("flag", [0, 1, 0.0, 1.0, True, False])
def test_set_default_validate_args_accepts_zero_and_one(flag):
    try:
        Distribution.set_default_validate_args(flag)
        assert Distribution._validate_args == flag
    finally:
        Distribution.set_default_validate_args(True)


@pytest.mark.parametrize("flag", [2, None, "yes"])
def test_set_default_validate_args_rejects_others(flag):
    with pytest.raises(ValueError):
        Distribution.set_default_validate_args(flag)


# ---- tril helpers and constraints --------------------------------------------------------

def test_vec_to_tril_matrix_and_back():
    m = vec_to_tril_matrix(fastnn.arange(6.0))
    np.testing.assert_array_equal(m.numpy(), [[0, 0, 0], [1, 2, 0], [3, 4, 5]])
    np.testing.assert_array_equal(tril_matrix_to_vec(m).numpy(), np.arange(6.0))
    strict = vec_to_tril_matrix(fastnn.arange(3.0), diag=-1)
    np.testing.assert_array_equal(strict.numpy(), [[0, 0, 0], [0, 0, 0], [1, 2, 0]])
    wide = tril_matrix_to_vec(fastnn.arange(9.0).view(3, 3), diag=1)
    np.testing.assert_array_equal(wide.numpy(), [0, 1, 3, 4, 5, 6, 7, 8])
    assert vec_to_tril_matrix(fastnn.ones(4, 10)).shape == (4, 4, 4)
    assert vec_to_tril_matrix(fastnn.ones(2, 0)).shape == (2, 0, 0)


def test_vec_to_tril_matrix_grad_and_errors():
    x = fastnn.arange(6.0, requires_grad=True)
    vec_to_tril_matrix(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(6))
    with pytest.raises(ValueError, match="cannot be expressed"):
        vec_to_tril_matrix(fastnn.arange(6.0), 1)
    with pytest.raises(ValueError, match=r"diag \(3\) provided is outside \[-3, 2\]"):
        tril_matrix_to_vec(fastnn.ones(3, 3), 3)
    with pytest.raises(IndexError, match="shape of the mask"):
        tril_matrix_to_vec(fastnn.ones(2, 3))


@pytest.mark.parametrize("args", [(6, 0), (3, -1), (10, 0), (8, 1), (6, 1)])
def test_vec_to_tril_matrix_matches_torch(args):
    torch = pytest.importorskip("torch")
    from torch.distributions.utils import vec_to_tril_matrix as torch_vec_to_tril
    n, diag = args
    try:
        want = torch_vec_to_tril(torch.arange(float(n)), diag).numpy()
    except ValueError:
        with pytest.raises(ValueError):
            vec_to_tril_matrix(fastnn.arange(float(n)), diag)
        return
    np.testing.assert_array_equal(vec_to_tril_matrix(fastnn.arange(float(n)), diag).numpy(),
                                  want)


def test_mixture_same_family_constraint():
    c = constraints.MixtureSameFamilyConstraint(constraints.positive)
    assert repr(c) == "MixtureSameFamilyConstraint(GreaterThan(lower_bound=0.0))"
    assert c.event_dim == 0 and not c.is_discrete
    np.testing.assert_array_equal(c.check(fastnn.tensor([[1.0, -1.0]])).numpy(),
                                  [[True, False]])
    s = constraints.MixtureSameFamilyConstraint(constraints.simplex)
    assert s.event_dim == 1
    np.testing.assert_array_equal(s.check(fastnn.tensor([[0.5, 0.5], [0.2, 0.2]])).numpy(),
                                  [True, False])
    with pytest.raises(AssertionError):
        constraints.MixtureSameFamilyConstraint(3)
    mix = MixtureSameFamily(Categorical(fastnn.ones(2)),
                            Normal(fastnn.zeros(2), fastnn.ones(2)), validate_args=True)
    assert isinstance(mix.support, constraints.MixtureSameFamilyConstraint)
    assert bool(fastnn.isfinite(mix.log_prob(fastnn.tensor([0.3, 1.0]))).all())


@pytest.mark.parametrize("constraint", [constraints.lower_cholesky, constraints.corr_cholesky])
def test_cholesky_constraints_reject_vectors_with_runtime_error(constraint):
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        constraint.check(fastnn.ones(3))
    assert bool(constraint.check(fastnn.eye(3)))


def test_corr_cholesky_scalar_index_error():
    with pytest.raises(IndexError, match="no dimensions"):
        constraints.corr_cholesky.check(fastnn.tensor(1.0))
