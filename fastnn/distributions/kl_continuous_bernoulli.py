"""KL divergences with a ContinuousBernoulli on either side (registered on import by
fastnn.distributions). Its support is [0, 1]: against a family that puts no mass on part of
[0, 1] (or the other way round) the divergence is infinite."""
import math

import fastnn

from .beta import Beta
from .continuous_bernoulli import ContinuousBernoulli
from .exponential import Exponential
from .extreme_value import Gumbel, Pareto
from .gamma import Gamma
from .kl import register_kl
from .kl_cross import (_all_inf as _infinite, _exponential_vs_bounded, _gamma_vs_bounded,
                       _pareto_vs_bounded, _real_line_vs_half_line)
from .laplace import Laplace
from .normal import Normal
from .uniform import Uniform




def _cross_entropy_to(p_mean, q):
    """-E_p[log q(x)] for a ContinuousBernoulli q, given p's mean (log q is linear in x)."""
    return -p_mean * q.logits - fastnn.log1p(-q.probs) - q._cont_bern_log_norm()


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _cb_vs_cb(p, q):
    own = p._cont_bern_log_norm() + fastnn.log1p(-p.probs)
    other = q._cont_bern_log_norm() + fastnn.log1p(-q.probs)
    return p.mean * (p.logits - q.logits) + own - other


@register_kl(ContinuousBernoulli, Exponential)
def _cb_vs_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _cb_vs_normal(p, q):
    var_q = q.scale.pow(2)
    log_norm_q = 0.5 * (math.log(2 * math.pi) + (q.loc / q.scale).pow(2)) + q.scale.log()
    # E_p[(x - mu)^2] without the mu^2 term, which log_norm_q already holds
    spread = (p.variance + p.mean.pow(2) - 2.0 * q.loc * p.mean) / (2.0 * var_q)
    return -p.entropy() + log_norm_q + spread


@register_kl(ContinuousBernoulli, Pareto)
def _cb_vs_pareto(p, q):
    return _infinite(p.probs)


@register_kl(ContinuousBernoulli, Uniform)
def _cb_vs_uniform(p, q):
    finite = -p.entropy() + (q.high - q.low).log()
    # infinite unless the uniform starts below 0 and ends above 1 (the test PyTorch uses)
    short = (q.low >= p.support.lower_bound) | (q.high <= p.support.upper_bound)
    return fastnn.where(short, _infinite(finite), finite)


@register_kl(Beta, ContinuousBernoulli)
def _beta_vs_cb(p, q):
    return -p.entropy() + _cross_entropy_to(p.mean, q)


@register_kl(Uniform, ContinuousBernoulli)
def _uniform_vs_cb(p, q):
    finite = -p.entropy() + _cross_entropy_to(p.mean, q)
    outside = (p.high >= q.support.upper_bound) | (p.low <= q.support.lower_bound)
    return fastnn.where(outside, _infinite(finite), finite)


# p reaches outside [0, 1]: infinite, the rules kl_cross uses against other bounded q
for _p_type, _rule in ((Exponential, _exponential_vs_bounded), (Gamma, _gamma_vs_bounded),
                       (Gumbel, _real_line_vs_half_line), (Laplace, _real_line_vs_half_line),
                       (Normal, _real_line_vs_half_line), (Pareto, _pareto_vs_bounded)):
    register_kl(_p_type, ContinuousBernoulli)(_rule)
del _p_type, _rule
