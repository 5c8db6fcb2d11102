"""Sampling of the truncated normal distribution behind ``nn.init.trunc_normal_``.

When [a, b] holds most of the distribution, a few rounds of plain rejection (redrawing the
normal values that fall outside) fill nearly everything at the cost of one normal draw.
Whatever is left, and every value when the interval holds little mass, comes from one
uniform draw pushed through the inverse CDF of the normal restricted to [a, b], so the fill
always finishes in a fixed number of passes, however little mass the interval holds (pure
rejection would spin almost forever there).

Everything works with the upper-tail probability Q(z) = 1 - Phi(z) of the standard normal,
after mirroring the interval so that it leans to the positive side: far in the tail Q keeps
its relative precision (kept in log space once it would underflow), where Phi would round
to 1 and squash every draw onto one bound.
"""
import math

import numpy as np

from .._special_more import _erfcx, _log_ndtr
from .._special_ndtri import CENTRAL_LOW, central_fit, tail_fit

# below this log-probability Q itself underflows, and the tail fit drifts (z beyond ~35)
_LOG_SPACE_BELOW = -600.0
_SQRT2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
# rejection is used above this mass; each of its rounds keeps at most 70% of the misses
_REJECTION_MIN_MASS = 0.3
_REJECTION_ROUNDS = 4


def _log_upper_tail(z):
    """log Q(z) for a float64 scalar or array."""
    with np.errstate(all="ignore"):
        return _log_ndtr(-np.atleast_1d(np.asarray(z, dtype=np.float64)))


def _upper_quantile(prob, log_prob):
    """z >= 0 with Q(z) = prob, for prob <= 1/2 (``log_prob`` is log(prob), or None to take
    it from ``prob``): -ndtri(prob) from its rational fits, accurate to about 1e-9 relative;
    ``_refine`` polishes it."""
    if prob is None:
        z = tail_fit(log_prob)
        return np.negative(z, out=z)
    # the central fit on every entry (cheap, in place), then the few tail ones redone
    z = central_fit(prob)
    np.negative(z, out=z)
    tail = prob < CENTRAL_LOW
    if tail.any():
        z[tail] = -tail_fit(np.log(prob[tail]))
    return z


def _refine(z, log_target, steps):
    """Newton steps on log Q(z) = log_target, for z >= 0: log Q is smooth and close to a
    parabola there, so each step about squares the relative error."""
    with np.errstate(all="ignore"):
        for _ in range(steps):
            scaled = _erfcx(z / _SQRT2)  # Q(z) = erfcx(z / sqrt 2) exp(-z^2 / 2) / 2
            log_q = np.log(scaled / 2.0) - z * z / 2.0
            slope = _SQRT_2_OVER_PI / scaled  # -d log Q / dz
            z = z + (log_q - log_target) / slope
    return z


def standard_truncated_normal(uniform, alpha, beta, exact):
    """Standard-normal values restricted to [alpha, beta], one per entry of ``uniform``
    (float64 draws in [0, 1)). ``exact`` asks for full float64 precision; the fit alone
    is already finer than float32's rounding."""
    mirrored = alpha + beta < 0  # sample -z on [-beta, -alpha]: the mass leans upward
    if mirrored:
        alpha, beta = -beta, -alpha
    log_qa, log_qb = (float(v[0]) for v in (_log_upper_tail(alpha), _log_upper_tail(beta)))
    u = np.asarray(uniform, dtype=np.float64)
    if log_qa < _LOG_SPACE_BELOW:
        # the whole interval sits far in the upper tail: keep the probabilities as logs
        with np.errstate(all="ignore"):
            # q / Q(alpha) = (1 - u) + u Q(beta) / Q(alpha): two positive terms, no cancelling
            ratio = math.exp(log_qb - log_qa)
            log_q = log_qa + np.log((1.0 - u) + u * ratio)
        z = _refine(_upper_quantile(None, log_q), log_q, 3)
    else:
        qa, qb = math.exp(log_qa), math.exp(log_qb)
        below_a = math.exp(float(_log_upper_tail(-alpha)[0]))  # Phi(alpha), not 1 - Q(a)
        mass = qa - qb
        # each draw's upper-tail probability q = Q(b) + (1 - u) mass, within [Q(b), Q(a)]
        # (1 - u is exact or nearly so for every u, and no term cancels another)
        small = 1.0 - u
        small *= mass
        small += qb
        negative = small > 0.5
        # there the lower-tail probability 1 - q is the small one: formed as Phi(a) + u mass,
        # it keeps its digits (1 - q would round away all but a few far below the mean)
        np.multiply(u, mass, out=small, where=negative)
        np.add(small, below_a, out=small, where=negative)
        np.maximum(small, 1e-300, out=small, where=negative)  # (u = 0 with a = -inf)
        z = _upper_quantile(small, None)
        if exact:
            z = _refine(z, np.log(small), 1)
        np.negative(z, out=z, where=negative)
    if mirrored:
        np.negative(z, out=z)
    return z


def draw_truncated_normal(gen, shape, mean, std, a, b, exact):
    """float64 values of N(mean, std) restricted to [a, b] (std > 0), from numpy generator
    ``gen``."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    if math.isnan(alpha) or math.isnan(beta):
        # a NaN density: PyTorch's sampler then accepts each uniform proposal on [a, b]
        return a + (b - a) * gen.random(shape)
    mass = (math.erfc(-beta / _SQRT2) - math.erfc(-alpha / _SQRT2)) / 2.0
    if mass <= _REJECTION_MIN_MASS:
        values = mean + std * standard_truncated_normal(gen.random(shape), alpha, beta, exact)
        return np.clip(values, a, b, out=values)
    values = gen.normal(mean, std, shape)
    flat = values.reshape(-1)
    missing = np.flatnonzero((flat < a) | (flat > b))
    for _ in range(_REJECTION_ROUNDS):
        if missing.size == 0:
            return values
        redraw = gen.normal(mean, std, missing.size)
        inside = (redraw >= a) & (redraw <= b)
        flat[missing[inside]] = redraw[inside]
        missing = missing[~inside]
    if missing.size:
        rest = mean + std * standard_truncated_normal(gen.random(missing.size), alpha, beta,
                                                      exact)
        flat[missing] = np.clip(rest, a, b)
    return values
