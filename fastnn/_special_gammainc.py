"""The regularized incomplete gamma functions (``fastnn.special.gammainc``/``gammaincc``)
and the derivative of a Gamma draw with respect to its concentration.

Everything is float64 numpy: P(a, x) by its power series where x < a + 1, Q(a, x) by its
continued fraction elsewhere, the other one as the complement; relative error near 1e-14
for moderate a.
"""
import numpy as np

import fastnn
from fastnn.autograd import Function
from fastnn.autograd.grad_mode import state as _grad_state

_EPS = 1e-16
_MAX_TERMS = 100000
_TINY = 1e-300


def _lgamma(a):
    from fastnn.distributions._special import _lgamma as lanczos_lgamma
    return lanczos_lgamma(a)


def _digamma(a):
    from fastnn.distributions._special import np_digamma
    return np_digamma(a)


def _log_prefactor(a, x):
    """log(x^a e^-x / Gamma(a)), the factor shared by the series and the fraction."""
    return a * np.log(x) - x - _lgamma(a)


def _series(a, x):
    """(S, dS/da) with P(a, x) = prefactor * S, S = sum_n x^n / (a (a+1) ... (a+n))."""
    term = 1.0 / a
    total = term.copy()
    inv_sum = 1.0 / a          # sum_k 1 / (a + k) over the factors of the current term
    d_total = -term * inv_sum  # d term / da = -term * inv_sum
    shifted = a.copy()
    active = np.ones(a.shape, dtype=bool)
    for _ in range(_MAX_TERMS):
        shifted = shifted + 1.0
        term = np.where(active, term * x / shifted, 0.0)
        inv_sum = inv_sum + 1.0 / shifted
        total = total + term
        d_total = d_total - term * inv_sum
        active &= np.abs(term) > np.abs(total) * _EPS
        if not active.any():
            break
    return total, d_total


def _fraction(a, x):
    """F with Q(a, x) = prefactor * F, by the modified Lentz method (x >= a + 1)."""
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / _TINY)
    d = 1.0 / b
    h = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for i in range(1, _MAX_TERMS):
        an = -i * (i - a)
        b = b + 2.0
        d = an * d + b
        d = np.where(np.abs(d) < _TINY, _TINY, d)
        c = b + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        d = 1.0 / d
        step = d * c
        h = np.where(active, h * step, h)
        active &= np.abs(step - 1.0) > _EPS
        if not active.any():
            break
    return h


def _split(a, x):
    """Masks: the invalid/edge entries and the series / fraction regions."""
    with np.errstate(invalid="ignore"):
        bad = np.isnan(a) | np.isnan(x) | (a < 0) | (x < 0) | ((a == 0) & (x == 0))
        edge = ~bad & ((a == 0) | (x == 0) | np.isinf(a) | np.isinf(x))
        regular = ~bad & ~edge
        use_series = regular & (x < a + 1.0)
    return bad, edge, use_series, regular & ~use_series


def _edge_lower(a, x):
    """P(a, x) where a or x is 0 or infinite (nan for inf/inf)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(a) & np.isinf(x), np.nan,
                        np.where((a == 0) | np.isinf(x), 1.0, 0.0))


def regularized_gamma(a, x, upper):
    """P(a, x) (``upper=False``) or Q(a, x) = 1 - P(a, x) for float64 arrays."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.empty(a.shape, dtype=np.float64)
    bad, edge, use_series, use_fraction = _split(a, x)
    out[bad] = np.nan
    lower_edge = _edge_lower(a[edge], x[edge])
    out[edge] = 1.0 - lower_edge if upper else lower_edge
    with np.errstate(all="ignore"):
        if use_series.any():
            aa, xx = a[use_series], x[use_series]
            p = np.exp(_log_prefactor(aa, xx)) * _series(aa, xx)[0]
            out[use_series] = 1.0 - p if upper else p
        if use_fraction.any():
            aa, xx = a[use_fraction], x[use_fraction]
            q = np.exp(_log_prefactor(aa, xx)) * _fraction(aa, xx)
            out[use_fraction] = q if upper else 1.0 - q
    return out


def log_gamma_density(a, x):
    """log of the Gamma(a, 1) density at x."""
    return (a - 1.0) * np.log(x) - x - _lgamma(a)


def standard_gamma_sample_grad(a, x):
    """d x / d a for x ~ Gamma(a, 1) drawn by inverting P(a, .): -(dP/da) / (dP/dx).

    dP/da comes from the differentiated series where x < a + 1, and otherwise from a
    central difference of log Q in a (Q is small there, so its logarithm keeps precision)."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.zeros(a.shape, dtype=np.float64)
    _, _, use_series, use_fraction = _split(a, x)
    with np.errstate(all="ignore"):
        if use_series.any():
            aa, xx = a[use_series], x[use_series]
            s, ds = _series(aa, xx)
            # P = exp(prefactor) S: d log P / da = log x - digamma(a) + S'/S
            dlog_p = np.log(xx) - _digamma(aa) + ds / s
            log_p = _log_prefactor(aa, xx) + np.log(s)
            out[use_series] = -dlog_p * np.exp(log_p - log_gamma_density(aa, xx))
        if use_fraction.any():
            aa, xx = a[use_fraction], x[use_fraction]
            step = 1e-4 * np.maximum(aa, 1.0)

            def log_f(shape):
                return np.log(_fraction(shape, xx))

            # Q = prefactor * F: the prefactor's derivative is exact; F is smooth in a (its
            # fraction is valid for a <= 0 too), so a fourth-order central difference
            # suits it even for tiny a
            dlog_f = (8 * (log_f(aa + step) - log_f(aa - step))
                      - (log_f(aa + 2 * step) - log_f(aa - 2 * step))) / (12 * step)
            dlog_q = np.log(xx) - _digamma(aa) + dlog_f
            log_q = _log_prefactor(aa, xx) + log_f(aa)
            out[use_fraction] = dlog_q * np.exp(log_q - log_gamma_density(aa, xx))
    return out


def gamma_lower_density(a, x):
    """d P(a, x) / dx = x^(a-1) e^-x / Gamma(a) (0 where x <= 0)."""
    with np.errstate(all="ignore"):
        dens = np.exp(log_gamma_density(a, x))
    return np.where(x > 0, dens, np.where((x == 0) & (a == 1), 1.0, 0.0))


def _graph_lower_density(a, x):
    """gamma_lower_density on Tensors (a constant, x differentiable to any order)."""
    positive = x > 0
    safe_x = fastnn.where(positive, x, 1.0)  # log(0) masked out: no nan in the gradient
    dens = ((a - 1.0) * safe_x.log() - safe_x - a.lgamma()).exp()
    at_zero = ((x == 0) & (a == 1)).to(x.dtype)
    return fastnn.where(positive, dens, at_zero)


class _IncompleteGamma(Function):
    """P(a, x) or Q(a, x) of same-shape tensors; only x has a gradient, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, x, upper):
        ctx.save_for_backward(a, x)
        ctx.upper = upper
        value = regularized_gamma(a.detach().numpy(), x.detach().numpy(), upper)
        return fastnn.tensor(value, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            op = "igammac" if ctx.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{op}: input' is not implemented.")
        if _grad_state.enabled:  # create_graph=True: the density as differentiable ops
            from fastnn._special_more import graph_slope
            dens = graph_slope(lambda x64: _graph_lower_density(a.detach().to(x64.dtype), x64), x)
            return None, grad * (-dens if ctx.upper else dens), None
        dens = gamma_lower_density(a.detach().numpy().astype(np.float64),
                                   x.detach().numpy().astype(np.float64))
        slope = fastnn.tensor(-dens if ctx.upper else dens, dtype=x.dtype)
        return None, grad * slope, None


def incomplete_gamma(a, x, upper):
    """fastnn.special.gammainc (``upper=False``) / gammaincc on tensors: the result takes
    the promoted dtype, computed in float64."""
    dtype = fastnn.result_type(a, x)
    if not dtype.is_floating_point:
        op = "igammac" if upper else "igamma"
        names = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                 "uint8": "Byte", "bool": "Bool"}
        name = str(dtype).split(".")[-1]
        raise NotImplementedError(f'"{op}_cpu" not implemented for '
                                  f"'{names.get(name, name)}'")
    a, x = fastnn.broadcast_tensors(a.to(dtype), x.to(dtype))
    return _IncompleteGamma.apply(a, x, upper)


__all__ = ["incomplete_gamma", "regularized_gamma", "standard_gamma_sample_grad", "gamma_lower_density"]
