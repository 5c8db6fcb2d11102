"""The generalized Pareto distribution (peaks over a threshold)."""
import math
from numbers import Number

import fastnn

from . import constraints
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """GeneralizedPareto(loc, scale, concentration): survival (1 + c z)^(-1/c) with
    z = (x - loc) / scale (e^-z at c == 0); bounded above by loc - scale / c for c < 0."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True
    _tensor_params = ("loc", "scale", "concentration")

    def __init__(self, loc, scale, concentration, validate_args=None):
        scalar = all(isinstance(v, Number) for v in (loc, scale, concentration))
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        batch = () if scalar else self.loc.size()
        super().__init__(batch, validate_args=validate_args)

    def _safe_concentration(self):
        """(c == 0 within isclose tolerance, c with those entries replaced by 1)."""
        c = self.concentration
        is_zero = fastnn.isclose(c, fastnn.zeros_like(c))
        return is_zero, fastnn.where(is_zero, fastnn.ones_like(c), c)

    def _z(self, value):
        return (value - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        u = fastnn.rand(tuple(self._extended_shape(sample_shape)), dtype=self.loc.dtype)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        is_zero, c = self._safe_concentration()
        power = 1 / c + fastnn.ones_like(z)
        general = fastnn.where(power == 0, power, power * fastnn.log1p(c * z))
        return -self.scale.log() - fastnn.where(is_zero, z, general)

    def log_survival_function(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        is_zero, c = self._safe_concentration()
        return fastnn.where(is_zero, -z, -fastnn.log1p(c * z) / c)

    def log_cdf(self, value):
        return fastnn.log1p(-fastnn.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return fastnn.exp(self.log_cdf(value))

    def icdf(self, value):
        is_zero, c = self._safe_concentration()
        log_u = fastnn.log1p(-value)
        general = self.loc + self.scale / c * fastnn.expm1(-c * log_u)
        return fastnn.where(is_zero, self.loc - self.scale * log_u, general)

    @property
    def mean(self):
        c = self.concentration
        finite = c < 1
        safe = fastnn.where(finite, c, fastnn.full_like(c, 0.5))
        return fastnn.where(finite, self.loc + self.scale / (1 - safe),
                            fastnn.full_like(c, math.nan))

    @property
    def variance(self):
        c = self.concentration
        finite = c < 0.5
        safe = fastnn.where(finite, c, fastnn.full_like(c, 0.25))
        value = self.scale ** 2 / ((1 - safe) ** 2 * (1 - 2 * safe))
        return fastnn.where(finite, value, fastnn.full_like(c, math.nan))

    def entropy(self):
        h = self.scale.log() + self.concentration + 1
        return h.broadcast_to(tuple(self._batch_shape))

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower, c = self.loc, self.concentration
        upper = fastnn.where(c < 0, lower - self.scale / c, fastnn.full_like(lower, math.inf))
        return constraints.interval(lower, upper)
