"""The von Mises distribution on the circle, and FisherSnedecor (the F distribution)."""
import math

import numpy as np

import fastnn
from fastnn._special_more import graph_slope
from fastnn.autograd import Function
from fastnn.autograd.grad_mode import state as _grad_state

from . import constraints
from ._special import lgamma
from .distribution import CentredAtLoc, Distribution
from .gamma import Gamma
from .utils import _gen_numpy, broadcast_all

__all__ = ["FisherSnedecor", "VonMises"]

# Abramowitz & Stegun 9.8.1-9.8.4 polynomial fits of the modified Bessel functions
# I0 and I1 (small argument: in (x / 3.75)^2; large: exp-scaled, in 3.75 / x).
_I0_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813]
_I0_LARGE = [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706,
             0.02635537, -0.01647633, 0.00392377]
_I1_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411]
_I1_LARGE = [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967,
             -0.02895312, 0.01787654, -0.00420059]


def _poly(coefs, t):
    out = np.zeros_like(t)
    for c in reversed(coefs):
        out = out * t + c
    return out


def _log_bessel(x, order):
    """log I_order(x) for x > 0 (order 0 or 1), float64 numpy."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        small = _poly(_I0_SMALL if order == 0 else _I1_SMALL, (x / 3.75) ** 2)
        if order == 1:
            small = small * x
        small = np.log(small)
        large = x - 0.5 * np.log(x) + np.log(_poly(_I0_LARGE if order == 0 else _I1_LARGE,
                                                    3.75 / x))
    return np.where(x < 3.75, small, large)


def _bessel_ratio(k):
    """I1(k) / I0(k) to float64 precision, from the exponentially scaled Bessel functions."""
    from fastnn._special_more import _i0e, _i1e
    k = np.asarray(k, dtype=np.float64)
    return _i1e(k) / _i0e(k)


def _graph_bessel_ratio(k):
    """I1(k) / I0(k) of a Tensor, differentiable to any order."""
    return fastnn.special.i1e(k) / fastnn.special.i0e(k)


class _LogI0(Function):
    """log I0(k).  The value is the polynomial fit PyTorch's VonMises uses (so log densities
    agree with it); the gradient d/dk log I0 = I1 / I0 is exact."""

    @staticmethod
    def forward(ctx, k):
        ctx.save_for_backward(k)
        return fastnn.tensor(_log_bessel(k.detach().numpy(), 0), dtype=k.dtype)

    @staticmethod
    def backward(ctx, g):
        (k,) = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph=True: the same slope from differentiable ops
            return g * graph_slope(lambda k64: _graph_bessel_ratio(k64), k)
        return g * fastnn.tensor(_bessel_ratio(k.detach().numpy()), dtype=k.dtype)


class _LogI1(Function):
    """log I1(k), the fitted value as for _LogI0; gradient I1'/I1 = I0/I1 - 1/k, exact."""

    @staticmethod
    def forward(ctx, k):
        ctx.save_for_backward(k)
        return fastnn.tensor(_log_bessel(k.detach().numpy(), 1), dtype=k.dtype)

    @staticmethod
    def backward(ctx, g):
        (k,) = ctx.saved_tensors
        if _grad_state.enabled:
            return g * graph_slope(lambda k64: 1.0 / _graph_bessel_ratio(k64) - 1.0 / k64, k)
        kn = np.asarray(k.detach().numpy(), dtype=np.float64)
        with np.errstate(all="ignore"):
            slope = 1.0 / _bessel_ratio(kn) - 1.0 / kn
        return g * fastnn.tensor(slope, dtype=k.dtype)


class VonMises(CentredAtLoc, Distribution):
    """VonMises(loc, concentration): density exp(k cos(x - loc)) / (2 pi I0(k)), with
    draws in [-pi, pi) by Best & Fisher's rejection sampler (vectorised)."""
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False
    _tensor_params = ("loc", "concentration")

    def __init__(self, loc, concentration, validate_args=None):
        self._init_params(validate_args, loc=loc, concentration=concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - _LogI0.apply(k)


    @property
    def variance(self):
        k = self.concentration
        return 1 - (_LogI1.apply(k) - _LogI0.apply(k)).exp()

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        k = np.broadcast_to(self.concentration.detach().numpy(), shape).astype(np.float64)
        loc = np.broadcast_to(self.loc.detach().numpy(), shape).astype(np.float64)
        gen = _gen_numpy()
        with np.errstate(all="ignore"):
            tau = 1 + np.sqrt(1 + 4 * k * k)
            rho = (tau - np.sqrt(2 * tau)) / (2 * k)
            r = np.where(k < 1e-5, 1 / k + k, (1 + rho * rho) / (2 * rho))
        out = np.zeros(shape)
        todo = np.ones(shape, dtype=bool)
        while todo.any():  # each round redraws only the still-rejected entries
            u1, u2, u3 = (gen.random(shape) for _ in range(3))
            with np.errstate(all="ignore"):
                z = np.cos(math.pi * u1)
                f = (1 + r * z) / (r + z)
                c = k * (r - f)
                ok = (c * (2 - c) - u2 > 0) | (np.log(c / u2) + 1 - c >= 0)
            take = todo & ok
            out = np.where(take, np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1, 1)), out)
            todo &= ~ok
        angle = np.mod(out + loc + math.pi, 2 * math.pi) - math.pi
        return fastnn.tensor(angle, dtype=self.loc.dtype)


class FisherSnedecor(Distribution):
    """FisherSnedecor(df1, df2): (X1 / df1) / (X2 / df2) with X_i ~ Chi2(df_i); ``rsample``
    is differentiable in both through reparameterized Gamma draws."""
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True
    _tensor_params = ("df1", "df2")

    def __init__(self, df1, df2, validate_args=None):
        df1, df2 = broadcast_all(df1, df2)
        # built first, so bad degrees of freedom are reported by the Gammas they define
        self._gamma1 = Gamma(df1 * 0.5, df1, validate_args=validate_args)
        self._gamma2 = Gamma(df2 * 0.5, df2, validate_args=validate_args)
        self._init_params(validate_args, df1=df1, df2=df2)

    def _expand_state(self, new, batch_shape):
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)

    def _nan_unless(self, ok, value):
        return fastnn.where(ok, value, fastnn.full_like(value, math.nan))

    @property
    def mean(self):
        d2 = self.df2
        safe = fastnn.where(d2 > 2, d2, fastnn.full_like(d2, 3.0))
        return self._nan_unless(d2 > 2, safe / (safe - 2))

    @property
    def mode(self):
        d1, d2 = self.df1, self.df2
        safe = fastnn.where(d1 > 2, d1, fastnn.full_like(d1, 3.0))
        return self._nan_unless(d1 > 2, (safe - 2) / safe * d2 / (d2 + 2))

    @property
    def variance(self):
        d1, d2 = self.df1, self.df2
        safe = fastnn.where(d2 > 4, d2, fastnn.full_like(d2, 5.0))
        v = 2 * safe.pow(2) * (d1 + safe - 2) / (d1 * (safe - 2).pow(2) * (safe - 4))
        return self._nan_unless(d2 > 4, v)

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        x1 = self._gamma1.rsample(sample_shape).reshape(shape)
        x2 = self._gamma2.rsample(sample_shape).reshape(shape)
        tiny = fastnn.finfo(x2.dtype).tiny
        return (x1 / x2.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        h1, h2 = 0.5 * self.df1, 0.5 * self.df2
        ratio = self.df1 / self.df2
        log_norm = lgamma(h1 + h2) - lgamma(h1) - lgamma(h2)
        return (log_norm + h1 * ratio.log() + (h1 - 1) * value.log()
                - (h1 + h2) * (ratio * value).log1p())
