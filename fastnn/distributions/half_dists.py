"""HalfNormal and HalfCauchy: |X| for a centred Normal or Cauchy X, built as transformed
distributions (AbsTransform) so sampling and shapes come from the base."""
import math

import fastnn

from . import constraints
from .cauchy import Cauchy
from .normal import Normal
from .transformed_distribution import TransformedDistribution
from .transforms import AbsTransform
from .utils import broadcast_all

__all__ = ["HalfCauchy", "HalfNormal"]

_LOG2 = math.log(2.0)


class _Folded(TransformedDistribution):
    """Shared formulas of a symmetric base folded onto [0, inf): the density doubles on
    x >= 0 and vanishes below."""
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def _fold_base(self, base, validate_args):
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    scale = property(lambda self: self.base_dist.scale)

    @property
    def mode(self):
        return fastnn.zeros_like(self.scale)

    def log_prob(self, value):
        if not isinstance(value, fastnn.Tensor):
            value = fastnn.tensor(float(value), dtype=self.scale.dtype)
        if self._validate_args:
            self._validate_sample(value)
        inside = self.base_dist.log_prob(value) + _LOG2
        return fastnn.where(value >= 0, inside, fastnn.full_like(inside, -math.inf))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - _LOG2


class HalfNormal(_Folded):
    """HalfNormal(scale): |N(0, scale)|."""

    def __init__(self, scale, validate_args=None):
        (scale,) = broadcast_all(scale)
        self._fold_base(Normal(0, scale, validate_args=validate_args), validate_args)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)


class HalfCauchy(_Folded):
    """HalfCauchy(scale): |Cauchy(0, scale)|; infinite mean and variance."""

    def __init__(self, scale, validate_args=None):
        (scale,) = broadcast_all(scale)
        self._fold_base(Cauchy(0, scale, validate_args=validate_args), validate_args)

    @property
    def mean(self):
        return fastnn.full(tuple(self._extended_shape()), math.inf, dtype=self.scale.dtype)

    @property
    def variance(self):
        return self.base_dist.variance
