"""Special functions fastnn's distributions need (erf, erfinv, lgamma, digamma), computed on
numpy arrays in float64 and wrapped as differentiable ops."""
import math

import numpy as np

import fastnn
from fastnn.autograd import Function
from fastnn.autograd.grad_mode import state as _grad_state
from fastnn.nn._functional.activation import erf_array, erfc_array

# Lanczos' approximation of the gamma function (g = 7, nine terms): relative error near
# 1e-15 for x >= 1/2; smaller x goes through the reflection formula.
_LANCZOS_G = 7.0
_LANCZOS = np.array([0.99999999999980993, 676.5203681218851, -1259.1392167224028,
                     771.32342877765313, -176.61502916214059, 12.507343278686905,
                     -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7])


def _erf(x):
    return erf_array(np.asarray(x, dtype=np.float64))


def _erfc(x):
    return erfc_array(x)


def _lgamma(x):
    """log|Gamma(x)| of a float64 array; +inf at the poles 0, -1, -2, ..."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    right = x >= 0.5
    with np.errstate(all="ignore"):
        out[right] = _lgamma_right(x[right])
        xl = x[~right]  # Gamma(x) Gamma(1 - x) = pi / sin(pi x)
        sin = np.abs(np.sin(np.pi * (xl - np.floor(xl))))
        left = np.log(np.pi / sin) - _lgamma_right(1.0 - xl)
        out[~right] = np.where(xl == np.floor(xl), np.inf, left)
    out[np.isnan(x)] = np.nan
    return out


def _lgamma_right(x):
    z = x - 1.0
    acc = np.full_like(z, _LANCZOS[0])
    for i in range(1, len(_LANCZOS)):
        acc += _LANCZOS[i] / (z + i)
    t = z + _LANCZOS_G + 0.5
    return 0.5 * math.log(2 * math.pi) + (z + 0.5) * np.log(t) - t + np.log(acc)


def _np(t):
    return np.asarray(t.detach().numpy(), dtype=np.float64)


def _out(arr, like):
    return fastnn.tensor(np.asarray(arr, dtype=np.float64), dtype=like.dtype)


def np_erfinv(y):
    """Inverse error function: Giles' approximation refined by Newton steps in float64."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        w = -np.log((1.0 - y) * (1.0 + y))
    small = w < 5.0
    ws = w - 2.5
    p = np.full_like(y, 2.81022636e-08)
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p = c + p * ws
    wl = np.sqrt(np.where(small, 5.0, w)) - 3.0
    q = np.full_like(y, -0.000200214257)
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682):
        q = c + q * wl
    a = np.abs(y)
    x = np.where(small, p, q) * a
    tail = a >= 0.5
    with np.errstate(all="ignore"):
        log1ma = np.log1p(-a)
        for _ in range(3):  # Newton: on erf in the middle, on log(erfc) in the tails
            x0 = np.where(np.isfinite(x), x, 0.0)
            dens = 2.0 / math.sqrt(math.pi) * np.exp(-x0 * x0)
            ec = _erfc(x0)
            step_mid = (_erf(x0) - a) / dens
            step_tail = (np.log(ec) - log1ma) * ec / -dens
            x = np.where(np.isfinite(x), x0 - np.where(tail, step_tail, step_mid), x)
    x = np.copysign(x, y)
    x = np.where(y == 1.0, np.inf, np.where(y == -1.0, -np.inf, x))
    return np.where(np.abs(y) > 1.0, np.nan, x)


def np_digamma(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        refl = x < 0.5
        z = np.where(refl, 1.0 - x, x)
        acc = np.zeros_like(z)
        for _ in range(10):  # shift up past 10 so the asymptotic series is exact to ~1e-15
            low = z < 10.0
            acc = acc - np.where(low, 1.0 / z, 0.0)
            z = np.where(low, z + 1.0, z)
        r = 1.0 / (z * z)
        series = r * (1 / 12 - r * (1 / 120 - r * (1 / 252 - r * (1 / 240 - r * (1 / 132)))))
        out = acc + np.log(z) - 0.5 / z - series
        out = np.where(refl, out - math.pi / np.tan(math.pi * x), out)
        pole = (x <= 0) & (x == np.floor(x))
        return np.where(pole, np.where(x == 0, -np.inf, np.nan), out)


def np_trigamma(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        refl = x < 0.5
        z = np.where(refl, 1.0 - x, x)
        acc = np.zeros_like(z)
        for _ in range(10):
            low = z < 10.0
            acc = acc + np.where(low, 1.0 / (z * z), 0.0)
            z = np.where(low, z + 1.0, z)
        r = 1.0 / (z * z)
        series = (1 / z + r / 2 + r / z * (1 / 6 - r * (1 / 30 - r * (1 / 42 - r * (1 / 30 - r * 5 / 66)))))
        out = acc + series
        out = np.where(refl, -out + (math.pi / np.sin(math.pi * x)) ** 2, out)
        return np.where((x <= 0) & (x == np.floor(x)), np.inf, out)


def _chained(values, slope_values, next_op):
    """A Function computing ``values`` whose backward multiplies by ``slope_values`` (a
    constant) in first-order passes; when the backward records a graph (create_graph=True,
    Hessians) the slope is ``next_op`` applied to the input: the chain lgamma -> digamma ->
    trigamma -> fastnn's polygamma(2), with the same values and a graph."""
    class Chained(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return _out(values(_np(x)), x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            if _grad_state.enabled or slope_values is None:
                return g * next_op(x)
            return g * _out(slope_values(_np(x)), x)
    return Chained


_Trigamma = _chained(np_trigamma, None, lambda x: x.polygamma(2))
_Digamma = _chained(np_digamma, np_trigamma, lambda x: _Trigamma.apply(x))
_Lgamma = _chained(_lgamma, np_digamma, lambda x: _Digamma.apply(x))


def erf(x):
    return fastnn.erf(x)  # fastnn's own op, with its gradient


def erfinv(x):
    return fastnn.erfinv(x)


def lgamma(x):
    return _Lgamma.apply(x)


def digamma(x):
    return _Digamma.apply(x)


def log_beta(a, b):
    """log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b), differentiable in both."""
    return lgamma(a) + lgamma(b) - lgamma(a + b)
