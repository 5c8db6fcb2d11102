"""Ops behind fastnn._tensor_misc: inverse hyperbolics, exp2, gamma-family special functions,
i0, scatter_reduce, unfold and diag_embed. Special functions run vectorized in float64."""
import math

import numpy as np

from .node import Node
from .ops_extra import _Unary, diagonal_view
from .ops_math import zeros_on


# ---- special functions on float64 arrays ------------------------------------------------
# Bernoulli numbers B2, B4, ..., B24 for the asymptotic (Euler-Maclaurin) tails below
_BERN = np.array([1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
                  43867 / 798, -174611 / 330, 854513 / 138, -236364091 / 2730])
# recurrences below shift arguments this far to the right; beyond it they would be too slow
_MOST_NEGATIVE = -1e5


def lgamma_array(x):
    """log|Gamma(x)| (the distributions' vectorized Lanczos approximation)."""
    from ..distributions._special import _lgamma
    out = _lgamma(x)
    return np.where(x == np.inf, np.inf, out)  # the series gives inf - inf = nan there


def digamma_array(x):
    """psi(x): shift to x >= 10 by the recurrence, then the asymptotic series."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        refl = x < 0.5
        z = np.where(refl, 1.0 - x, x)  # psi(1 - x) - psi(x) = pi cot(pi x)
        acc = np.zeros_like(z)
        for _ in range(10):
            low = z < 10.0
            acc -= np.where(low, 1.0 / z, 0.0)
            z = np.where(low, z + 1.0, z)
        r = 1.0 / (z * z)
        series = np.zeros_like(z)
        for j in range(len(_BERN) - 1, -1, -1):
            series = (series + _BERN[j] / (2 * j + 2)) * r
        out = acc + np.log(z) - 0.5 / z - series
        out = np.where(refl, out - math.pi / np.tan(math.pi * x), out)
        pole = (x <= 0) & (x == np.floor(x))
        # PyTorch's values at the poles: -inf at 0 (inf at -0.0), nan at the negative integers
        at_zero = np.where(np.signbit(x), np.inf, -np.inf)
        return np.where(pole, np.where(x == 0, at_zero, np.nan), out)


def _hurwitz_zeta(s, q):
    """zeta(s, q) = sum_k (q + k)^-s for integer s >= 2 and real non-pole q."""
    big = 12.0 + s
    acc = np.zeros_like(q)
    z = q.copy()
    if z.size and np.nanmin(z) < _MOST_NEGATIVE:
        raise NotImplementedError("fastnn's polygamma supports arguments >= -1e5")
    while True:
        low = z < big
        if not low.any():
            break
        acc += np.where(low, z ** -s, 0.0)
        z = np.where(low, z + 1.0, z)
    tail = z ** (1.0 - s) / (s - 1) + 0.5 * z ** -s
    rising = float(s)                 # s (s+1) ... (s+2j-2)
    zp = z ** (-s - 1.0)              # z^(-s-2j+1)
    for j in range(len(_BERN)):
        tail += _BERN[j] / math.factorial(2 * j + 2) * rising * zp
        rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
        zp = zp / (z * z)
    return acc + tail


def polygamma_array(n, x):
    """The n-th derivative of digamma at x (float64)."""
    x = np.asarray(x, dtype=np.float64)
    if n == 0:
        return digamma_array(x)
    with np.errstate(all="ignore"):
        pole = (x <= 0) & (x == np.floor(x))
        sign = 1.0 if n % 2 else -1.0
        q = np.where(pole | np.isnan(x), 1.0, x)
        if n == 1:  # the reflection formula keeps very negative arguments cheap
            refl = q < 0.5
            zq = np.where(refl, 1.0 - q, q)
            val = _hurwitz_zeta(2, zq)
            val = np.where(refl, (math.pi / np.sin(math.pi * q)) ** 2 - val, val)
        else:
            val = sign * math.factorial(n) * _hurwitz_zeta(n + 1, q)
        val = np.where(pole, sign * np.inf, val)
        return np.where(np.isnan(x), np.nan, val)


def i0_array(x):
    return np.i0(np.asarray(x, dtype=np.float64))


def i1_array(x):
    """Modified Bessel function I1: power series for |x| < 20, asymptotic expansion beyond."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        small = np.minimum(ax, 20.0)
        h2 = (small * 0.5) ** 2
        term = small * 0.5
        ser = term.copy()
        for k in range(1, 80):
            term = term * h2 / (k * (k + 1))
            ser += term
        big = np.maximum(ax, 20.0)
        coef, asy = 1.0, np.ones_like(big)
        for k in range(1, 25):
            coef *= (4.0 - (2 * k - 1) ** 2) / (k * 8.0)
            asy += (-1) ** k * coef / big ** k
        asy *= np.exp(big) / np.sqrt(2 * math.pi * big)
        out = np.where(ax < 20.0, ser, asy)
    return np.copysign(out, x)


def _cast(arr, like):
    return arr.astype(like.dtype, copy=False)


# ---- elementwise nodes ----------------------------------------------------------------
class AsinhBackward0(_Unary):
    fn = staticmethod(np.arcsinh)

    def grad(self, g, a, y):
        return g / np.sqrt(a * a + 1)


class AcoshBackward0(_Unary):
    fn = staticmethod(np.arccosh)

    def grad(self, g, a, y):
        return g / np.sqrt(a * a - 1)


class AtanhBackward0(_Unary):
    fn = staticmethod(np.arctanh)

    def grad(self, g, a, y):
        return g / (1 - a * a)


class Exp2Backward0(_Unary):
    fn = staticmethod(np.exp2)

    def grad(self, g, a, y):
        return g * y * math.log(2.0)


class LgammaBackward0(_Unary):
    def fn(self, a):
        return _cast(lgamma_array(a), a)

    def grad(self, g, a, y):
        return g * _cast(digamma_array(a), a)


class DigammaBackward0(_Unary):
    def fn(self, a):
        return _cast(digamma_array(a), a)

    def grad(self, g, a, y):
        return g * _cast(polygamma_array(1, a), a)


class PolygammaBackward0(Node):
    def forward(self, a, n):
        self.n = n
        self.save(a)
        return _cast(polygamma_array(n, a), a)

    def backward(self, g):
        (a,) = self.saved
        return (g * _cast(polygamma_array(self.n + 1, a), a),)


class I0Backward0(_Unary):
    def fn(self, a):
        return _cast(i0_array(a), a)

    def grad(self, g, a, y):
        return g * _cast(i1_array(a), a)


# ---- scatter_reduce -------------------------------------------------------------------
_UFUNC = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
          "amin": np.minimum}


def _identity(reduce, dtype):
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


def scatter_positions(index, dim):
    """Index tuple addressing, for every element of ``index``, its target in the output."""
    pos = list(np.indices(index.shape, sparse=True))
    pos[dim] = index
    return tuple(pos)


class ScatterReduceBackward0(Node):
    """out = self with src's elements reduced into the positions ``index`` names along dim."""

    def forward(self, a, src, dim, index, reduce, include_self, half_in_float32=True):
        pos = scatter_positions(index, dim)
        region = tuple(slice(0, s) for s in index.shape)
        s = src[region]
        # float16 sums accumulate in float32 and are rounded once, as PyTorch's
        # scatter_reduce does (its index_reduce adds in float16)
        wide = half_in_float32 and reduce in ("sum", "mean") and a.dtype == np.float16
        out = a.astype(np.float32) if wide else a.copy()
        if not include_self:
            out[pos] = _identity(reduce, a.dtype)
        _UFUNC[reduce].at(out, pos, s)
        count = None
        if reduce == "mean":
            count = np.full(a.shape, 1 if include_self else 0, np.int64)
            np.add.at(count, pos, 1)
            count = np.maximum(count, 1)
            if a.dtype.kind == "f":
                out = out / count
            else:
                out = out // count
        out = out.astype(a.dtype, copy=False)
        self.args = (pos, region, src.shape, reduce, include_self, count)
        self.save(a, src, out)
        return out

    def backward(self, g):
        a, src, out = self.saved
        pos, region, src_shape, reduce, include_self, count = self.args
        s = src[region]
        # self's elements count where include_self is set or nothing was scattered onto them
        own = np.ones(a.shape, bool)
        if not include_self:
            own[pos] = False
        if reduce in ("sum", "mean"):
            gg = g / count if reduce == "mean" else g
            ga, gs = np.where(own, gg, 0), gg[pos]
        elif reduce in ("amax", "amin"):
            # ties share the gradient evenly, as PyTorch does; self's old value counts
            # among the ties even when include_self=False (it then gets no share itself)
            tie_a = a == out
            hit_a = own & tie_a
            hit_s = s == out[pos]
            n = tie_a.astype(g.dtype)
            np.add.at(n, pos, hit_s)
            gn = g / np.maximum(n, 1)
            ga, gs = np.where(hit_a, gn, 0), np.where(hit_s, gn[pos], 0)
        else:
            # the product of the other factors, exact when some of them are zero
            zeros = (own & (a == 0)).astype(np.int64)
            np.add.at(zeros, pos, s == 0)
            rest = np.where(own & (a != 0), a, 1)
            np.multiply.at(rest, pos, np.where(s == 0, 1, s))
            with np.errstate(all="ignore"):
                oth_a = np.where(a == 0, np.where(zeros == 1, rest, 0),
                                 np.where(zeros == 0, rest / np.where(a == 0, 1, a), 0))
                zp, rp = zeros[pos], rest[pos]
                oth_s = np.where(s == 0, np.where(zp == 1, rp, 0),
                                 np.where(zp == 0, rp / np.where(s == 0, 1, s), 0))
            ga, gs = np.where(own, g * oth_a, 0), g[pos] * oth_s
        gsrc = None
        if self.needs(1):
            gsrc = zeros_on(g, src_shape, g.dtype)
            gsrc[region] = gs
        return (ga.astype(g.dtype, copy=False) if self.needs(0) else None,
                gsrc)


# ---- views and diagonals --------------------------------------------------------------
def unfold_view(a, dim, size, step):
    """Windows of ``size`` every ``step`` along dim, as a new last axis (shares a's memory)."""
    n = (a.shape[dim] - size) // step + 1
    shape = a.shape[:dim] + (n,) + a.shape[dim + 1:] + (size,)
    strides = a.strides[:dim] + (a.strides[dim] * step,) + a.strides[dim + 1:] + (a.strides[dim],)
    # writeable even where windows overlap: PyTorch refuses in-place writes only on
    # expanded (stride-0) tensors, and each write reaches the shared element
    return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=a.flags.writeable)


class UnfoldBackward0(Node):
    def forward(self, a, dim, size, step):
        self.meta = (a.shape, a.dtype, dim, size, step)
        return unfold_view(a, dim, size, step)

    def backward(self, g):
        shape, dtype, dim, size, step = self.meta
        out = zeros_on(g, shape, dtype)
        n = g.shape[dim]
        lead = (slice(None),) * dim
        if n <= size:  # add each window back
            for i in range(n):
                win = np.moveaxis(g[lead + (i,)], -1, dim)
                out[lead + (slice(i * step, i * step + size),)] += win
        else:  # add each offset inside the windows back
            for j in range(size):
                out[lead + (slice(j, j + step * (n - 1) + 1, step),)] += g[..., j]
        return (out,)


class DiagEmbedBackward1(Node):
    """The last dim of the input laid on diagonal ``offset`` of dims (d1, d2) of a new tensor."""

    def forward(self, a, offset, d1, d2):
        self.args = (offset, d1, d2)
        n = a.shape[-1] + abs(offset)
        shape = list(a.shape[:-1])
        for d in sorted((d1, d2)):
            shape.insert(d, n)
        out = zeros_on(a, tuple(shape), a.dtype)
        diagonal_view(out, offset, d1, d2)[...] = a
        return out

    def backward(self, g):
        return (np.diagonal(g, *self.args).copy(),)

    def name(self):
        return "DiagEmbedBackward0"
