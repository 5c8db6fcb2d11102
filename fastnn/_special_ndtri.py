"""fastnn.special.ndtri: the inverse of the standard normal CDF, accurate in both tails.

The value comes from a rational approximation (relative error about 1e-9) polished by one
Halley step on ndtr(x) - p, where ndtr uses erfc so tiny tail probabilities keep their digits.
Upper-tail probabilities go through the symmetry ndtri(p) = -ndtri(1 - p), exact for p >= 1/2.
Everything runs in float64 and is rounded to the input's dtype at the end.
"""
import math

import numpy as np

# rational approximation of the normal quantile (P. J. Acklam's published coefficients)
_CENTRAL_NUM = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_CENTRAL_DEN = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                6.680131188771972e+01, -1.328068155288572e+01)
_TAIL_NUM = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_TAIL_DEN = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
             3.754408661907416e+00)
CENTRAL_LOW = 0.02425  # below it the tail fit takes over
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _horner(coefs, t):
    """The polynomial with ``coefs`` (highest power first) at ``t``, in place on one buffer
    (trunc_normal_ runs these over every element of large weight tensors)."""
    acc = np.full_like(t, coefs[0])
    for c in coefs[1:]:
        acc *= t
        acc += c
    return acc


def _rational(num_coefs, den_coefs, t, num_factor):
    """num(t) * num_factor / (1 + t den(t)), in place on the Horner buffers."""
    num = _horner(num_coefs, t)
    if num_factor is not None:
        num *= num_factor
    den = _horner(den_coefs, t)
    den *= t
    den += 1.0
    num /= den
    return num


def central_fit(p):
    """The rational fit of ndtri(p) (relative error about 1e-9) for p in [0.02425, 0.97575]."""
    q = p - 0.5
    return _rational(_CENTRAL_NUM, _CENTRAL_DEN, q * q, q)


def tail_fit(log_p):
    """The rational fit of ndtri(p) for p below 0.02425, from log p (so p may underflow)."""
    return _rational(_TAIL_NUM, _TAIL_DEN, np.sqrt(-2.0 * log_p), None)


def _lower_quantile(p):
    """ndtri for a float64 array of probabilities in (0, 1/2]."""
    from .nn._functional.activation import erfc_array
    x = np.empty_like(p)
    tail = p < CENTRAL_LOW
    x[tail] = tail_fit(np.log(p[tail]))
    x[~tail] = central_fit(p[~tail])
    # one Halley step: the approximation's 1e-9 error becomes a few ulps
    # u = (ndtr(x) - p) / pdf(x), with p folded into the exponent so that tiny p cannot
    # overflow exp(x^2 / 2)
    rel_err = 0.5 * erfc_array(-x / math.sqrt(2.0)) / p - 1.0
    u = rel_err * _SQRT_2PI * np.exp(0.5 * x * x + np.log(p))
    return x - u / (1.0 + 0.5 * x * u)


def ndtri_array(p):
    """ndtri of a float64 array: -inf at 0, inf at 1, NaN outside [0, 1] and for NaN."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    out[p == 0.0] = -np.inf
    out[p == 1.0] = np.inf
    low = (p > 0.0) & (p <= 0.5)
    if low.any():
        out[low] = _lower_quantile(p[low])
    high = (p > 0.5) & (p < 1.0)
    if high.any():
        out[high] = -_lower_quantile(1.0 - p[high])
    return out
