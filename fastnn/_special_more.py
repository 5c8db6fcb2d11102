"""Scaled Bessel functions, erfcx and log_ndtr for fastnn.special, computed with numpy alone.

Values are computed in float64 (power series and asymptotic expansions, each used where it
keeps float64 accuracy) and returned in the input's floating dtype; each op is
differentiable to any order (create_graph=True).
"""
import math

import numpy as np

from ._special_ndtri import ndtri_array
from ._tensor_math import _float_input
from .autograd.grad_mode import state as _grad_state
from .autograd.ops_math import relabel

_SERIES_LIMIT = 30.0  # |x| up to here: power series; beyond: the asymptotic expansion
_SERIES_TERMS = 80
_ASYMPTOTIC_TERMS = 30


def _bessel_scaled(x, order):
    """I_order(x) * exp(-|x|) for order 0 or 1, elementwise on a float64 array."""
    ax = np.abs(x)
    out = np.empty_like(ax)
    small = ax <= _SERIES_LIMIT
    if small.any():
        a = ax[small]
        q = a * a / 4.0
        term = np.ones_like(a) if order == 0 else a / 2.0
        total = term.copy()
        for k in range(1, _SERIES_TERMS):  # positive terms: no cancellation
            term = term * q / (k * (k + order))
            total += term
        out[small] = total * np.exp(-a)
    big = ~small
    if big.any():
        a = ax[big]
        mu = 4.0 * order * order
        term = np.ones_like(a)
        total = term.copy()
        for k in range(1, _ASYMPTOTIC_TERMS):
            term = -term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * a)
            total += term
        out[big] = total / np.sqrt(2.0 * math.pi * a)
    if order == 1:
        out = np.copysign(out, x)
    return out


def _exp_square(x):
    """exp(x * x) without the rounding of x * x magnified by the exponential."""
    high = np.round(x * 4096.0) / 4096.0  # few significant bits: high * high is exact
    low = x - high
    return np.exp(high * high) * np.exp(low * (2.0 * high + low))


def _erfcx(x):
    """exp(x^2) * erfc(x) for a float64 array."""
    from .nn._functional.activation import _erfc_scaled, erf_array
    out = np.full_like(x, np.nan)  # NaN stays NaN: the ranges below do not cover it
    out[x == -np.inf] = np.inf
    low = (x < 1.0) & (x > -np.inf)
    if low.any():
        a = x[low]
        with np.errstate(over="ignore", invalid="ignore"):
            out[low] = _exp_square(a) * (1.0 - erf_array(a))
    mid = (x >= 1.0) & (x < 6.0)
    if mid.any():
        out[mid] = _erfc_scaled(x[mid])
    far = x >= 6.0
    if far.any():
        # the continued fraction 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))),
        # evaluated from the bottom; 60 levels are exact to float64 for x >= 6
        a = x[far]
        tail = np.zeros_like(a)
        for k in range(60, 0, -1):
            tail = (k / 2.0) / (a + tail)
        out[far] = 1.0 / (math.sqrt(math.pi) * (a + tail))
    return out


def _log_ndtr(x):
    """log of the standard normal CDF for a float64 array, accurate in both tails."""
    from .nn._functional.activation import erfc_array
    out = np.empty_like(x)
    left = x < -1.0
    if left.any():
        a = x[left]
        out[left] = np.log(_erfcx(-a / math.sqrt(2.0)) / 2.0) - a * a / 2.0
    right = ~left
    if right.any():
        out[right] = np.log1p(-0.5 * erfc_array(x[right] / math.sqrt(2.0)))
    return out


def _i0e(x):
    return _bessel_scaled(x, 0)


def _i1e(x):
    return _bessel_scaled(x, 1)


def _i1(x):
    with np.errstate(over="ignore", invalid="ignore"):
        return _bessel_scaled(x, 1) * np.exp(np.abs(x))


def _i0e_slope(x, y):
    return _i1e(x) - np.sign(x) * y


def _i1_slope(x, y):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        i0 = _bessel_scaled(x, 0) * np.exp(np.abs(x))
        return np.where(x == 0, 0.5, i0 - y / x)


def _i1e_slope(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.5, _i0e(x) - y * (np.sign(x) + 1.0 / x))


def _erfcx_slope(x, y):
    return 2.0 * x * y - 2.0 / math.sqrt(math.pi)


def _log_ndtr_slope(x, y):
    with np.errstate(divide="ignore", over="ignore"):
        return math.sqrt(2.0 / math.pi) / _erfcx(-x / math.sqrt(2.0))


# The same slopes as Tensor formulas, used when the backward itself records a graph
# (create_graph=True): each is built from differentiable ops, these functions included, so
# gradients of every order follow. x is float64 here.
def _graph_safe_x(x):
    from ._functions import where
    zero = x == 0
    return zero, where(zero, 1.0, x)  # 1 stands in for 0 where the formula divides by x


def _graph_i0e_slope(x):
    return special_op("i1e", x) - x.sign() * special_op("i0e", x)


def _graph_i1_slope(x):
    from ._functions import where
    zero, safe = _graph_safe_x(x)
    i0 = special_op("i0e", x) * x.abs().exp()  # as the first-order slope computes it
    return where(zero, 0.5, i0 - special_op("i1", x) / safe)


def _graph_i1e_slope(x):
    from ._functions import where
    zero, safe = _graph_safe_x(x)
    i0e, i1e = special_op("i0e", x), special_op("i1e", x)
    return where(zero, 0.5, i0e - i1e * (x.sign() + 1.0 / safe))


def _graph_erfcx_slope(x):
    return 2.0 * x * special_op("erfcx", x) - 2.0 / math.sqrt(math.pi)


def _graph_log_ndtr_slope(x):
    from ._functions import where
    u = -x / math.sqrt(2.0)
    # for x beyond ~37.7 erfcx(u) overflows and the slope is 0: masked, with a finite u in
    # the masked branch, so its derivative is 0 rather than inf / inf
    overflow = (special_op("erfcx", u.detach()) == math.inf) & (x < math.inf)
    safe_u = where(overflow, 0.0, u)
    return where(overflow, 0.0, math.sqrt(2.0 / math.pi) / special_op("erfcx", safe_u))


def _ndtri_slope(x, y):
    with np.errstate(over="ignore"):  # 1 / pdf(ndtri(p)) overflows at the ends: inf
        return math.sqrt(2.0 * math.pi) * np.exp(0.5 * y * y)


def _graph_ndtri_slope(x):
    y = special_op("ndtri", x)
    return math.sqrt(2.0 * math.pi) * (0.5 * y * y).exp()


_GRAPH_SLOPES = {"ndtri": _graph_ndtri_slope, "i0e": _graph_i0e_slope, "i1": _graph_i1_slope, "i1e": _graph_i1e_slope,
                 "erfcx": _graph_erfcx_slope, "log_ndtr": _graph_log_ndtr_slope}


def graph_slope(slope, x):
    """``slope(x)`` computed in float64 and cast back to x's dtype, keeping the graph."""
    from ._dtype import float64
    dtype = x.dtype
    out = slope(x if dtype == float64 else x.to(float64))
    return out if dtype == float64 else out.to(dtype)


_OPS = {  # name: (values, slope from (x, values), PyTorch's node name)
    "i0e": (_i0e, _i0e_slope, "SpecialI0EBackward0"),
    "i1": (_i1, _i1_slope, "SpecialI1Backward0"),
    "i1e": (_i1e, _i1e_slope, "SpecialI1EBackward0"),
    "erfcx": (_erfcx, _erfcx_slope, "SpecialErfcxBackward0"),
    "log_ndtr": (_log_ndtr, _log_ndtr_slope, "SpecialLogNdtrBackward0"),
    "ndtri": (ndtri_array, _ndtri_slope, "SpecialNdtriBackward0"),
}
_FUNCTIONS = {}


def _function(name):
    fn = _FUNCTIONS.get(name)
    if fn is not None:
        return fn
    from .autograd import Function
    from .tensor import _wrap
    values, slope, _ = _OPS[name]

    class SpecialOp(Function):
        @staticmethod
        def forward(ctx, x):
            x64 = np.asarray(x._host(), dtype=np.float64)
            y64 = values(x64.reshape(-1)).reshape(x64.shape)
            ctx.save_for_backward(x)
            ctx.y64 = y64
            with np.errstate(over="ignore"):  # beyond float32's range: inf, as in PyTorch
                return _wrap(np.asarray(y64.astype(x._data.dtype)))

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            if _grad_state.enabled:  # create_graph=True: a slope that carries a graph
                return g * graph_slope(_GRAPH_SLOPES[name], x)
            x64 = np.asarray(x._host(), dtype=np.float64)
            d = slope(x64.reshape(-1), ctx.y64.reshape(-1)).reshape(x64.shape)
            with np.errstate(over="ignore"):
                return g * _wrap(np.asarray(d.astype(x._data.dtype)))

    _FUNCTIONS[name] = SpecialOp
    return SpecialOp


def special_op(name, input):
    """fastnn.special.<name>(input) for the functions of this module."""
    return relabel(_function(name).apply(_float_input(input)), _OPS[name][2])


# ---- Hurwitz zeta ------------------------------------------------------------------------------
def _even_bernoulli_ratios(count):
    """B_2j / (2j)! for j = 1..count, exactly (Akiyama-Tanigawa), then as floats."""
    from fractions import Fraction
    size = 2 * count + 1
    row, numbers = [Fraction(0)] * size, []
    for m in range(size):
        row[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            row[j - 1] = j * (row[j - 1] - row[j])
        numbers.append(row[0])
    return [float(numbers[2 * j] / math.factorial(2 * j)) for j in range(1, count + 1)]


_ZETA_CORRECTIONS = _even_bernoulli_ratios(12)
_ZETA_SHIFT = 9.0  # terms summed directly until q + k > 9; Euler-Maclaurin for the rest


def _hurwitz_zeta(x, q):
    """sum over k >= 0 of (q + k) ** -x for float64 arrays (broadcast): inf at x == 1 and at
    the poles q = 0, -1, -2, ...; nan for x < 1 and for a negative q with a fractional x."""
    x, q = (np.array(v, dtype=np.float64) for v in np.broadcast_arrays(x, q))
    # x < 1 is undefined before q is looked at (a pole q with such x is NaN, as in PyTorch)
    pole = (x == 1) | (~(x < 1) & (q <= 0) & (q == np.floor(q)))
    undefined = ~pole & ((x < 1) | ((q <= 0) & (x != np.floor(x))) | np.isnan(x) | np.isnan(q))
    # x = inf: only the first term (q ** -inf) can survive; PyTorch gives 1 at q = 1, inf
    # below, and NaN above
    infinite = (x == np.inf) & ~pole & ~undefined
    at_infinity = np.where(q == 1, 1.0, np.where(q < 1, np.inf, np.nan))[infinite]
    bad = pole | undefined | infinite
    q = np.where(bad, 1.0, q)
    x = np.where(bad, 2.0, x)
    steps = np.maximum(_ZETA_SHIFT, np.floor(_ZETA_SHIFT - q) + 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        total = np.zeros_like(q)
        for k in range(int(steps.max(initial=0.0))):
            total += np.where(k < steps, np.power(q + k, -x), 0.0)
        a = q + steps
        last = np.power(a, -x)
        total += a * last / (x - 1.0) + 0.5 * last
        rising, inv_a = x.copy(), last / a  # x (x+1) ... and a ** (-x - 2j + 1)
        for j, ratio in enumerate(_ZETA_CORRECTIONS):
            total += ratio * rising * inv_a
            rising = rising * (x + 2 * j + 1) * (x + 2 * j + 2)
            inv_a = inv_a / (a * a)
    total[pole] = np.inf
    total[undefined] = np.nan
    total[infinite] = at_infinity
    return total


def zeta(input, other):
    """The Hurwitz zeta function of (input, other); differentiable in ``other`` only."""
    from .autograd import Function
    from .tensor import Tensor, _wrap
    from ._functions_more import _float_pair
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("special_zeta(): expected a Tensor for input or other")
    x, q = _float_pair(input, other)
    try:
        np.broadcast_shapes(x._data.shape, q._data.shape)
    except ValueError as e:
        from ._tensor_math_checks import broadcast_error
        raise broadcast_error(x, q, e) from None

    class Zeta(Function):
        @staticmethod
        def forward(ctx, x, q):
            ctx.save_for_backward(x, q)
            values = _hurwitz_zeta(x._host(), q._host())
            with np.errstate(over="ignore"):
                return _wrap(np.asarray(values.astype(x._data.dtype)))

        @staticmethod
        def backward(ctx, g):
            x, q = ctx.saved_tensors
            if ctx.needs_input_grad[0]:
                raise NotImplementedError("the derivative for 'zeta' is not implemented.")
            if _grad_state.enabled:  # create_graph=True: d/dq = -x zeta(x + 1, q), with a graph
                xd = x.detach()
                return None, g * graph_slope(lambda q64: -xd.to(q64.dtype) * zeta(
                    xd.to(q64.dtype) + 1.0, q64), q)
            slope = -x._host().astype(np.float64) * _hurwitz_zeta(x._host() + 1.0, q._host())
            return None, g * _wrap(np.asarray(slope.astype(q._data.dtype)))

    return relabel(Zeta.apply(x, q), "SpecialZetaBackward0")
