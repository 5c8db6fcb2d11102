"""The Gamma distribution (shape ``concentration``, inverse scale ``rate``)."""
import numpy as np

import fastnn

from . import constraints
from ._special import digamma, lgamma
from ._gamma_rsample import standard_gamma_rsample
from .distribution import ExponentialFamily
from .utils import _unit_gamma_draws, xlogy

__all__ = ["Gamma"]


class Gamma(ExponentialFamily):
    """Gamma(concentration, rate). Draws come from fastnn's random stream; ``rsample`` is
    differentiable in both parameters (implicit reparameterization in the concentration)."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0
    _tensor_params = ("concentration", "rate")

    def __init__(self, concentration, rate, validate_args=None):
        self._init_params(validate_args, concentration=concentration, rate=rate)

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        # below concentration 1 the density peaks at the origin
        return (self.concentration - 1).clamp(min=0) / self.rate

    @property
    def variance(self):
        return self.mean / self.rate

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        unit = standard_gamma_rsample(self.concentration, shape)
        value = unit / self.rate.expand(tuple(shape))
        # dividing by a large rate can underflow to 0 again: keep it in the support
        return value.clamp(min=fastnn.finfo(value.dtype).tiny)

    def sample(self, sample_shape=()):
        unit = _unit_gamma_draws(self.concentration, self._extended_shape(sample_shape))
        dtype = self.rate.dtype
        drawn = unit / self.rate.detach().numpy().astype(np.float64)
        # tiny shapes can underflow to 0, which lies outside the support's log density
        drawn = np.maximum(drawn, fastnn.finfo(dtype).tiny)
        return fastnn.tensor(np.asarray(drawn), dtype=dtype)

    def log_prob(self, value):
        # any value is taken in the rate's dtype (a float64 value under float32 parameters
        # gives a float32 log density, as in PyTorch)
        value = fastnn.as_tensor(value, dtype=self.rate.dtype)
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        log_norm = xlogy(a, self.rate) - lgamma(a)
        return xlogy(a - 1, value) - self.rate * value + log_norm

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return fastnn.special.gammainc(self.concentration, self.rate * value)

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()

    def entropy(self):
        a = self.concentration
        return a + lgamma(a) + (1 - a) * digamma(a) - self.rate.log()
