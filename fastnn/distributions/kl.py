"""kl_divergence(p, q) with a registry of closed forms keyed by the (type(p), type(q)) pair.

Lookup walks the two method-resolution orders: among registered pairs that apply, the one
whose p-type is nearest in p's MRO wins, ties broken by nearness in q's MRO.  If ranking the
q side first would pick a different function the pair is ambiguous, which earns a warning
(register the exact pair to silence it).  Results are cached per concrete pair.
"""
import math
import warnings

import fastnn
import fastnn.nn.functional as F

from ._special import digamma, lgamma, log_beta
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical, OneHotCategorical
from .dirichlet import Dirichlet
from .distribution import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .independent import Independent
from .laplace import Laplace
from .log_normal import LogNormal
from .multivariate_normal import MultivariateNormal, _half_log_det, _mahalanobis, _solve_lower
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform
from .utils import _sum_rightmost

__all__ = ["register_kl", "kl_divergence"]

_registered = {}  # (type_p, type_q) -> fn, exactly as the user registered them
_resolved = {}  # concrete (type_p, type_q) -> fn chosen by _lookup, or None


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p || q) for the pair of Distribution types."""
    for label, cls in (("type_p", type_p), ("type_q", type_q)):
        if not isinstance(cls, type):
            raise TypeError(f"Expected {label} to be a Distribution subclass but got {cls}")

    def decorator(fn):
        _registered[type_p, type_q] = fn
        _resolved.clear()  # a new entry can change earlier choices
        return fn
    return decorator


def _lookup(type_p, type_q):
    rank_p = {c: i for i, c in enumerate(type_p.__mro__)}
    rank_q = {c: i for i, c in enumerate(type_q.__mro__)}
    usable = [(rank_p[a], rank_q[b], a, b) for a, b in _registered
              if a in rank_p and b in rank_q]
    if not usable:
        return None
    p_first = min(usable, key=lambda r: (r[0], r[1]))
    q_first = min(usable, key=lambda r: (r[1], r[0]))
    chosen = _registered[p_first[2], p_first[3]]
    if _registered[q_first[2], q_first[3]] is not chosen:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({p_first[2].__name__}, {q_first[3].__name__})",
                      RuntimeWarning, stacklevel=3)
    return chosen


def kl_divergence(p, q):
    """KL(p || q), batched over the distributions' batch_shape."""
    key = type(p), type(q)
    if key not in _resolved:
        _resolved[key] = _lookup(*key)
    fn = _resolved[key]
    if fn is None:
        raise NotImplementedError(
            f"No KL(p || q) is implemented for p type {p.__class__.__name__} and q type "
            f"{q.__class__.__name__}")
    return fn(p, q)


def _override(t, inf_mask=None, zero_mask=None):
    """Set +inf where ``inf_mask`` and then 0 where ``zero_mask`` (zero takes precedence:
    a term weighted by zero probability contributes nothing even against log 0)."""
    if inf_mask is not None:
        t = fastnn.where(inf_mask, math.inf, t)
    if zero_mask is not None:
        t = fastnn.where(zero_mask, 0.0, t)
    return t


@register_kl(Bernoulli, Bernoulli)
def _bernoulli_vs_bernoulli(p, q):
    # log P(1) = -softplus(-l) and log P(0) = -softplus(l); sum over both outcomes
    ones = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    zeros = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    ones = _override(ones, inf_mask=q.probs == 0, zero_mask=p.probs == 0)
    zeros = _override(zeros, inf_mask=q.probs == 1, zero_mask=p.probs == 1)
    return ones + zeros


@register_kl(Beta, Beta)
def _beta_vs_beta(p, q):
    (a, b), (c, d) = p._ab, q._ab
    total_p, total_q = a + b, c + d
    shift = (a - c) * digamma(a) + (b - d) * digamma(b) + (total_q - total_p) * digamma(total_p)
    return log_beta(c, d) - log_beta(a, b) + shift


@register_kl(Categorical, Categorical)
def _categorical_vs_categorical(p, q):
    terms = p.probs * (p.logits - q.logits)
    terms = _override(terms, inf_mask=(q.probs == 0).expand_as(terms),
                      zero_mask=(p.probs == 0).expand_as(terms))
    return terms.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _onehot_vs_onehot(p, q):
    return _categorical_vs_categorical(p._categorical, q._categorical)


@register_kl(Exponential, Exponential)
def _exponential_vs_exponential(p, q):
    r = q.rate / p.rate
    return r - 1 - r.log()


@register_kl(ExponentialFamily, ExponentialFamily)
def _expfamily_fallback(p, q):
    # same family: KL is the Bregman divergence of the log-normaliser F between the natural
    # parameters, F(theta_q) - F(theta_p) - <theta_q - theta_p, grad F(theta_p)>
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential "
                                  "families cannot be computed using Bregman divergences")
    p_thetas = [t.detach().requires_grad_() for t in p._natural_params]
    q_thetas = q._natural_params
    p_log_norm = p._log_normalizer(*p_thetas)
    grads = fastnn.autograd.grad(p_log_norm.sum(), p_thetas, create_graph=True)
    result = q._log_normalizer(*q_thetas) - p_log_norm
    for p_theta, q_theta, grad in zip(p_thetas, q_thetas, grads):
        result = result - _sum_rightmost((q_theta - p_theta) * grad, len(q.event_shape))
    return result


@register_kl(Gamma, Gamma)
def _gamma_vs_gamma(p, q):
    a, c = p.concentration, q.concentration
    log_rate_ratio = (p.rate / q.rate).log()
    return (c * log_rate_ratio + lgamma(c) - lgamma(a) + (a - c) * digamma(a)
            + a * (q.rate - p.rate) / p.rate)


@register_kl(Laplace, Laplace)
def _laplace_vs_laplace(p, q):
    gap = (p.loc - q.loc).abs()
    ratio = p.scale / q.scale
    return gap / q.scale + ratio * fastnn.exp(-gap / p.scale) - ratio.log() - 1


@register_kl(Normal, Normal)
def _normal_vs_normal(p, q):
    ratio = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    return 0.5 * (ratio.pow(2) + shift.pow(2) - 1) - ratio.log()


@register_kl(Uniform, Uniform)
def _uniform_vs_uniform(p, q):
    log_widths = (q._width / p._width).log()
    # infinite unless q's interval covers p's
    return _override(log_widths, inf_mask=(q.low > p.low) | (q.high < p.high))


@register_kl(Independent, Independent)
def _independent_vs_independent(p, q):
    n = p.reinterpreted_batch_ndims
    if q.reinterpreted_batch_ndims != n:
        raise NotImplementedError
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), n)


# ---- pairs among the count, vector and transformed families -----------------------------
@register_kl(Bernoulli, Poisson)
def _bernoulli_vs_poisson(p, q):
    # E_p[log q(x)] = p log(rate) - rate for x in {0, 1}
    return q.rate - p.probs * q.rate.log() - p.entropy()


@register_kl(Binomial, Binomial)
def _binomial_vs_binomial(p, q):
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > "
                                  "p.total_count is not implemented")
    # n times the per-trial Bernoulli KL, written with the log-odds
    per_trial = (p.probs * (p.logits - q.logits) + fastnn.log1p(-p.probs)
                 - fastnn.log1p(-q.probs))
    kl = p.total_count * per_trial
    # q cannot produce p's larger counts
    return _override(kl, inf_mask=p.total_count > q.total_count)


@register_kl(Dirichlet, Dirichlet)
def _dirichlet_vs_dirichlet(p, q):
    a, b = p.concentration, q.concentration
    a0 = a.sum(-1)
    log_norms = lgamma(a0) - lgamma(b.sum(-1)) - (lgamma(a) - lgamma(b)).sum(-1)
    # E_p[log x_i] = psi(a_i) - psi(a0)
    expected_log = digamma(a) - digamma(a0).unsqueeze(-1)
    return log_norms + ((a - b) * expected_log).sum(-1)


@register_kl(Geometric, Geometric)
def _geometric_vs_geometric(p, q):
    # -H(p) - E_p[k] log(1 - q) - log q, with E_p[k] = 1/p - 1
    return -p.entropy() - fastnn.log1p(-q.probs) / p.probs - q.logits


@register_kl(LogNormal, LogNormal)
def _lognormal_vs_lognormal(p, q):
    # exp is one-to-one, so the divergence is that of the underlying Normals
    return _normal_vs_normal(p.base_dist, q.base_dist)


@register_kl(MultivariateNormal, MultivariateNormal)
def _mvn_vs_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different "
                         "event shapes cannot be computed")
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    lead = fastnn.broadcast_shapes(tuple(lp.shape[:-2]), tuple(lq.shape[:-2]))
    square = tuple(lp.shape[-2:])
    # tr(Sigma_q^-1 Sigma_p) = |L_q^-1 L_p|_F^2
    trace = _solve_lower(lq.expand(lead + square), lp.expand(lead + square)).pow(2).sum((-2, -1))
    shift = _mahalanobis(lq, q.loc - p.loc)
    n = p.event_shape[0]
    return _half_log_det(lq) - _half_log_det(lp) + 0.5 * (trace + shift - n)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _poisson_vs_bounded(p, q):
    # a Poisson puts mass on counts that q can never produce
    return fastnn.full_like(p.rate, math.inf)


@register_kl(Poisson, Poisson)
def _poisson_vs_poisson(p, q):
    log_ratio = p.rate.log() - q.rate.log()
    return q.rate - p.rate + p.rate * log_ratio
