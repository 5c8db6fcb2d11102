"""Closed-form KL divergences between different families (and among the newer families),
registered into the same table as ``kl.py``.  A pair whose q cannot cover p's support is
+inf, everywhere or where the parameters say so."""
import math

import fastnn

from ._special import digamma, lgamma
from .beta import Beta
from .cauchy import Cauchy
from .exponential import Exponential
from .extreme_value import Gumbel, Pareto
from .gamma import Gamma
from .half_dists import HalfNormal
from .kl import _normal_vs_normal, kl_divergence, register_kl
from .laplace import Laplace
from .lowrank_multivariate_normal import (LowRankMultivariateNormal, _lowrank_logdet,
                                          _lowrank_mahalanobis)
from .multivariate_normal import MultivariateNormal, _mahalanobis
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .uniform import Uniform
from .utils import euler_constant as _EULER
from .utils import xlogy

_LOG_2PI = math.log(2 * math.pi)


def _inf_where(t, mask):
    return fastnn.where(mask, fastnn.full_like(t, math.inf), t)


def _all_inf(t):
    return fastnn.full_like(t, math.inf)


def _x_log_x(t):
    return xlogy(t, t)


def _beta_mean(p):
    return p.concentration1 / (p.concentration1 + p.concentration0)


def _gamma_norm(q):
    """log Gamma(a) - a log(rate): the log normaliser of a Gamma(a, rate) density."""
    return lgamma(q.concentration) - q.concentration * q.rate.log()


# ---- q has a support p escapes: infinite ---------------------------------------------
@register_kl(Beta, Pareto)
def _beta_vs_pareto(p, q):
    return _all_inf(p.concentration1)


@register_kl(Exponential, Beta)
@register_kl(Exponential, Pareto)
@register_kl(Exponential, Uniform)
def _exponential_vs_bounded(p, q):
    return _all_inf(p.rate)


@register_kl(Gamma, Beta)
@register_kl(Gamma, Pareto)
@register_kl(Gamma, Uniform)
def _gamma_vs_bounded(p, q):
    return _all_inf(p.concentration)


@register_kl(Gumbel, Beta)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Pareto)
@register_kl(Gumbel, Uniform)
@register_kl(Laplace, Beta)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Gamma)
@register_kl(Laplace, Pareto)
@register_kl(Laplace, Uniform)
@register_kl(Normal, Beta)
@register_kl(Normal, Exponential)
@register_kl(Normal, Gamma)
@register_kl(Normal, Pareto)
@register_kl(Normal, Uniform)
def _real_line_vs_half_line(p, q):
    return _all_inf(p.loc)


@register_kl(Pareto, Beta)
@register_kl(Pareto, Uniform)
def _pareto_vs_bounded(p, q):
    return _all_inf(p.scale)


# ---- p = Beta ---------------------------------------------------------------------------
@register_kl(Beta, Exponential)
def _beta_vs_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * _beta_mean(p)


@register_kl(Beta, Gamma)
def _beta_vs_gamma(p, q):
    a, b = p.concentration1, p.concentration0
    expected_log = digamma(a) - digamma(a + b)  # E_p[log x]
    return (-p.entropy() + _gamma_norm(q) - (q.concentration - 1) * expected_log
            + q.rate * _beta_mean(p))


@register_kl(Beta, Normal)
def _beta_vs_normal(p, q):
    m = _beta_mean(p)
    second = m * (1 - m) / (p.concentration1 + p.concentration0 + 1) + m.pow(2)  # E_p[x^2]
    var = q.scale.pow(2)
    quad = 0.5 * second - q.loc * m + 0.5 * q.loc.pow(2)
    return -p.entropy() + 0.5 * (2 * math.pi * var).log() + quad / var


@register_kl(Beta, Uniform)
def _beta_vs_uniform(p, q):
    out = -p.entropy() + (q.high - q.low).log()
    return _inf_where(out, (q.low > 0) | (q.high < 1))


# ---- p = Exponential ---------------------------------------------------------------------
@register_kl(Exponential, Gamma)
def _exponential_vs_gamma(p, q):
    ratio = q.rate / p.rate
    c = q.concentration
    return -c * ratio.log() + ratio + lgamma(c) + c * _EULER - (1 + _EULER)


@register_kl(Exponential, Gumbel)
def _exponential_vs_gumbel(p, q):
    prod = p.rate * q.scale
    shift = q.loc / q.scale
    return prod.log() - 1 - shift + shift.exp() * prod / (prod + 1) + prod.reciprocal()


@register_kl(Exponential, Normal)
def _exponential_vs_normal(p, q):
    var = q.scale.pow(2)
    r2 = p.rate.pow(2)
    quad = r2.reciprocal() - q.loc / p.rate + 0.5 * q.loc.pow(2)
    return 0.5 * (r2 * var * 2 * math.pi).log() - 1 + quad / var


# ---- p = Gamma ---------------------------------------------------------------------------
@register_kl(Gamma, Exponential)
def _gamma_vs_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


@register_kl(Gamma, Gumbel)
def _gamma_vs_gumbel(p, q):
    a = p.concentration
    prod = p.rate * q.scale
    shift = q.loc / q.scale
    own = (a - 1) * digamma(a) - lgamma(a) - a
    return (own + prod.log() + a / prod
            + shift.exp() * (1 + prod.reciprocal()).pow(-a) - shift)


@register_kl(Gamma, Normal)
def _gamma_vs_normal(p, q):
    a = p.concentration
    var = q.scale.pow(2)
    r2 = p.rate.pow(2)
    quad = 0.5 * (a.pow(2) + a) / r2 - q.loc * a / p.rate + 0.5 * q.loc.pow(2)
    return (0.5 * (r2 * var * 2 * math.pi).log() - a - lgamma(a)
            + (a - 1) * digamma(a) + quad / var)


# ---- p = Gumbel --------------------------------------------------------------------------
@register_kl(Gumbel, Gumbel)
def _gumbel_vs_gumbel(p, q):
    ratio = p.scale / q.scale
    q_shift = q.loc / q.scale
    p_shift = p.loc / q.scale
    return (-ratio.log() - q_shift + p_shift + ratio * _EULER
            + (q_shift + lgamma(1 + ratio) - p_shift).exp() - (1 + _EULER))


@register_kl(Gumbel, Normal)
def _gumbel_vs_normal(p, q):
    ratio = p.scale / q.scale
    spread = (math.pi * ratio * 0.5).pow(2) / 3
    centre = ((p.loc + p.scale * _EULER - q.loc) / q.scale).pow(2) * 0.5
    return -(ratio / math.sqrt(2 * math.pi)).log() + spread + centre - (_EULER + 1)


# ---- p = Laplace / Normal ------------------------------------------------------------------
@register_kl(Laplace, Normal)
def _laplace_vs_normal(p, q):
    var = q.scale.pow(2)
    ratio = p.scale.pow(2) / var
    quad = 0.5 * (p.loc - q.loc).pow(2)
    return -0.5 * (2 * ratio / math.pi).log() + ratio + quad / var - 1


@register_kl(Normal, Gumbel)
def _normal_vs_gumbel(p, q):
    m = p.loc / q.scale
    v = (p.scale / q.scale).pow(2)
    shift = q.loc / q.scale
    return (-0.5 * v.log() + m - shift + (-m + 0.5 * v + shift).exp()
            - 0.5 * (1 + _LOG_2PI))


@register_kl(Normal, Laplace)
def _normal_vs_laplace(p, q):
    gap = p.loc - q.loc
    z = gap / p.scale
    folded = (math.sqrt(2 / math.pi) * p.scale * (-0.5 * z.pow(2)).exp()
              + gap * fastnn.erf(math.sqrt(0.5) * z))  # E_p|x - q.loc|
    return -(p.scale / q.scale).log() + folded / q.scale - 0.5 * (1 + math.log(0.5 * math.pi))


# ---- p = Pareto -------------------------------------------------------------------------
@register_kl(Pareto, Exponential)
def _pareto_vs_exponential(p, q):
    prod = p.scale * q.rate
    out = (p.alpha / prod).log() - p.alpha.reciprocal() + p.alpha * prod / (p.alpha - 1) - 1
    return _inf_where(out, p.alpha <= 1)


@register_kl(Pareto, Gamma)
def _pareto_vs_gamma(p, q):
    mean_log = p.scale.log() + p.alpha.reciprocal()  # E_p[log x]
    out = (p.alpha.log() - mean_log + _gamma_norm(q) + (1 - q.concentration) * mean_log
           + q.rate * p.alpha * p.scale / (p.alpha - 1) - 1)
    return _inf_where(out, p.alpha <= 1)


@register_kl(Pareto, Normal)
def _pareto_vs_normal(p, q):
    two_var = 2 * q.scale.pow(2)
    part = p.scale / (p.alpha - 1)
    spread = p.alpha * part.pow(2) / (p.alpha - 2)
    centre = (p.alpha * part - q.loc).pow(2)
    out = ((math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale).log()
           - p.alpha.reciprocal() + (spread + centre) / two_var - 1)
    return _inf_where(out, p.alpha <= 2)


@register_kl(Pareto, Pareto)
def _pareto_vs_pareto(p, q):
    alpha_ratio = q.alpha / p.alpha
    out = q.alpha * (p.scale / q.scale).log() - alpha_ratio.log() + alpha_ratio - 1
    return _inf_where(out, p.scale < q.scale)


# ---- p = Uniform --------------------------------------------------------------------------
def _uniform_mean_log(p):
    """E_p[log x] for p uniform on [low, high] (0 <= low)."""
    width = p.high - p.low
    return (_x_log_x(p.high) - _x_log_x(p.low) - width) / width


@register_kl(Uniform, Beta)
def _uniform_vs_beta(p, q):
    width = p.high - p.low
    a, b = q.concentration1, q.concentration0
    mean_log1m = (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + width) / width
    out = ((b - 1) * mean_log1m + lgamma(a) + lgamma(b) - lgamma(a + b) - width.log()
           - (a - 1) * _uniform_mean_log(p))
    return _inf_where(out, (p.high > 1) | (p.low < 0))


@register_kl(Uniform, Exponential)
def _uniform_vs_exponential(p, q):
    out = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return _inf_where(out, p.low < 0)


@register_kl(Uniform, Gamma)
def _uniform_vs_gamma(p, q):
    width = p.high - p.low
    out = (-width.log() + _gamma_norm(q) + (1 - q.concentration) * _uniform_mean_log(p)
           + q.rate * (p.high + p.low) / 2)
    return _inf_where(out, p.low < 0)


@register_kl(Uniform, Gumbel)
def _uniform_vs_gumbel(p, q):
    ratio = q.scale / (p.high - p.low)
    hi = (p.high - q.loc) / q.scale
    lo = (p.low - q.loc) / q.scale
    return ratio.log() + 0.5 * (hi + lo) - ratio * ((-hi).exp() - (-lo).exp())


@register_kl(Uniform, Normal)
def _uniform_vs_normal(p, q):
    width = p.high - p.low
    spread = width.pow(2) / 12 + ((p.high + p.low - 2 * q.loc) / 2).pow(2)
    return (math.sqrt(2 * math.pi) * q.scale / width).log() + 0.5 * spread / q.scale.pow(2)


@register_kl(Uniform, Pareto)
def _uniform_vs_pareto(p, q):
    width = p.high - p.low
    out = (_uniform_mean_log(p) * (q.alpha + 1)
           - (q.alpha * q.scale.pow(q.alpha) * width).log())
    return _inf_where(out, p.low < q.scale)


# ---- the newer families -------------------------------------------------------------------
@register_kl(Cauchy, Cauchy)
def _cauchy_vs_cauchy(p, q):
    spread = (p.scale + q.scale).pow(2) + (p.loc - q.loc).pow(2)
    return spread.log() - (4 * p.scale * q.scale).log()


@register_kl(HalfNormal, HalfNormal)
def _halfnormal_vs_halfnormal(p, q):
    return _normal_vs_normal(p.base_dist, q.base_dist)


@register_kl(TransformedDistribution, TransformedDistribution)
def _transformed_vs_transformed(p, q):
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


def _trace_xxt(x):
    """tr(X X^T) over the trailing two dims."""
    return x.pow(2).sum((-2, -1))


def _precision_root(q):
    """A with Sigma_q^-1 = D_q^-1 - A^T A (Woodbury, via q's capacitance factor)."""
    w, d = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag
    return fastnn.linalg.solve_triangular(q._capacitance_tril, w.mT / d.unsqueeze(-2),
                                          upper=False)


def _lowrank_logdet_of(p):
    return _lowrank_logdet(p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag,
                           p._capacitance_tril)


def _lowrank_shift(p, q):
    return _lowrank_mahalanobis(q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag,
                                q.loc - p.loc, q._capacitance_tril)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _lowrank_vs_lowrank(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Low Rank Multivariate Normals with "
                         "different event shapes cannot be computed")
    a = _precision_root(q)
    pw, pd = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    qd = q._unbroadcasted_cov_diag
    # tr(Sigma_q^-1 Sigma_p) with Sigma_q^-1 = D_q^-1 - A^T A and Sigma_p = D_p + W_p W_p^T
    trace = ((pd / qd).sum(-1) + _trace_xxt(pw * qd.rsqrt().unsqueeze(-1))
             - _trace_xxt(a * pd.sqrt().unsqueeze(-2)) - _trace_xxt(fastnn.matmul(a, pw)))
    logdet = _lowrank_logdet_of(q) - _lowrank_logdet_of(p)
    return 0.5 * (logdet + trace + _lowrank_shift(p, q) - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _mvn_vs_lowrank(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")
    lp = p._unbroadcasted_scale_tril
    a = _precision_root(q)
    qd = q._unbroadcasted_cov_diag
    trace = _trace_xxt(lp * qd.rsqrt().unsqueeze(-1)) - _trace_xxt(fastnn.matmul(a, lp))
    logdet = _lowrank_logdet_of(q) - 2 * lp.diagonal(dim1=-2, dim2=-1).log().sum(-1)
    return 0.5 * (logdet + trace + _lowrank_shift(p, q) - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _lowrank_vs_mvn(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")
    lq = q._unbroadcasted_scale_tril
    pw, pd = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    lead = tuple(fastnn.broadcast_shapes(tuple(lq.shape[:-2]), tuple(pw.shape[:-2])))
    n = p.event_shape[0]
    lq = lq.expand(lead + (n, n))
    solve = lambda rhs: fastnn.linalg.solve_triangular(lq, rhs, upper=False)  # noqa: E731
    trace = (_trace_xxt(solve(pw.expand(lead + tuple(pw.shape[-2:]))))
             + _trace_xxt(solve(fastnn.diag_embed(pd.sqrt()).expand(lead + (n, n)))))
    logdet = 2 * q._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) \
        - _lowrank_logdet_of(p)
    shift = _mahalanobis(q._unbroadcasted_scale_tril, q.loc - p.loc)
    return 0.5 * (logdet + trace + shift - n)
