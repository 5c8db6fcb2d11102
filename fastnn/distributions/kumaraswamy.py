"""Kumaraswamy and LogisticNormal: distributions on bounded sets built by transforming a
Uniform (Kumaraswamy) or a Normal (LogisticNormal, through stick-breaking)."""
import math

import fastnn

from . import constraints
from ._special import digamma, lgamma
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AffineTransform, PowerTransform, StickBreakingTransform
from .uniform import Uniform
from .utils import broadcast_all, euler_constant

__all__ = ["Kumaraswamy", "LogisticNormal"]


def _raw_moment(a, b, n):
    """E[X^n] = b B(1 + n / a, b) for X ~ Kumaraswamy(a, b)."""
    shifted = 1 + n / a
    return b * (lgamma(shifted) + lgamma(b) - lgamma(shifted + b)).exp()


class Kumaraswamy(TransformedDistribution):
    """Kumaraswamy(concentration1, concentration0) on [0, 1]:
    X = (1 - U^(1/concentration0))^(1/concentration1) with U ~ Uniform(0, 1)."""
    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1,
                                                                 concentration0)
        base = Uniform(fastnn.zeros_like(self.concentration0),
                       fastnn.ones_like(self.concentration0), validate_args=validate_args)
        super().__init__(base, self._maps(self.concentration1, self.concentration0),
                         validate_args=validate_args)

    @staticmethod
    def _maps(c1, c0):
        return [PowerTransform(exponent=c0.reciprocal()), AffineTransform(loc=1.0, scale=-1.0),
                PowerTransform(exponent=c1.reciprocal())]

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new.concentration1 = self.concentration1.expand(tuple(batch_shape))
        new.concentration0 = self.concentration0.expand(tuple(batch_shape))
        new.transforms = self._maps(new.concentration1, new.concentration0)
        return new

    @property
    def mean(self):
        return _raw_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self):
        # the same log-space expression as PyTorch's (nan whenever either
        # concentration is below one)
        c1, c0 = self.concentration1, self.concentration0
        log_mode = c0.reciprocal() * (-c0).log1p() - (-c0 * c1).log1p()
        log_mode = fastnn.where((c0 < 1) | (c1 < 1), fastnn.full_like(log_mode, math.nan),
                                log_mode)
        return log_mode.exp()

    @property
    def variance(self):
        return (_raw_moment(self.concentration1, self.concentration0, 2)
                - self.mean.pow(2))

    def entropy(self):
        c1, c0 = self.concentration1, self.concentration0
        harmonic = digamma(c0 + 1) + euler_constant
        return (1 - c0.reciprocal()) + (1 - c1.reciprocal()) * harmonic - c1.log() - c0.log()


class LogisticNormal(TransformedDistribution):
    """LogisticNormal(loc, scale): stick-breaking of a diagonal Normal onto the simplex
    (one more coordinate than loc)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        base = Normal(loc, scale, validate_args=validate_args)
        if not tuple(base.batch_shape):
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    loc = property(lambda self: self.base_dist.base_dist.loc)
    scale = property(lambda self: self.base_dist.base_dist.scale)
