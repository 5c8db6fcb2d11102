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

# A rational approximation of the standard normal quantile (relative error about 1.2e-9):
# one fit around the median, one in the tails in terms of sqrt(-2 log p).
_CENTRAL_NUM = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_CENTRAL_DEN = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                6.680131188771972e+01, -1.328068155288572e+01, 1.0)
_TAIL_NUM = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_TAIL_DEN = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
             3.754408661907416e+00, 1.0)
_TAIL_START = 0.02425
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


def _horner(coefficients, x):
    """The polynomial with ``coefficients`` (highest power first) at ``x``, in place on one
    buffer: these run over every element of large weight tensors."""
    acc = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        acc *= x
        acc += c
    return acc


def _upper_quantile(prob, log_prob):
    """z >= 0 with Q(z) = prob, for prob <= 1/2 (``log_prob`` is log(prob), or None to take
    it from ``prob``). Accurate to about 1e-9 relative; ``_refine`` polishes it."""
    if prob is None:
        tail = None
        z = np.empty_like(log_prob)
    else:
        # the central fit on every entry (cheap, in place), then the few tail ones redone
        centred = prob - 0.5
        sq = centred * centred
        z = _horner(_CENTRAL_NUM, sq)
        z *= centred
        z /= _horner(_CENTRAL_DEN, sq)
        np.negative(z, out=z)
        tail = prob < _TAIL_START
        if not tail.any():
            return z
    logs = log_prob if tail is None else np.log(prob[tail])
    t = np.sqrt(-2.0 * logs)
    tail_z = _horner(_TAIL_NUM, t)
    tail_z /= _horner(_TAIL_DEN, t)
    if tail is None:
        return np.negative(tail_z, out=z)
    z[tail] = -tail_z
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
