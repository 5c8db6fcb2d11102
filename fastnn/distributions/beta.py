"""The Beta distribution on [0, 1] (``concentration1`` = alpha, ``concentration0`` = beta)."""
import numpy as np

import fastnn

from . import constraints
from ._special import digamma, lgamma, log_beta
from ._gamma_rsample import standard_gamma_rsample
from .distribution import ExponentialFamily
from .utils import _normalized_draws, _unit_gamma_draws, xlogy

__all__ = ["Beta"]


class Beta(ExponentialFamily):
    """Beta(concentration1, concentration0). Draws come from fastnn's random stream;
    ``rsample`` is X / (X + Y) of reparameterized Gamma draws, differentiable in both."""
    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True
    _tensor_params = ("concentration1", "concentration0")

    def __init__(self, concentration1, concentration0, validate_args=None):
        self._init_params(validate_args, concentration1=concentration1,
                          concentration0=concentration0)

    def __repr__(self):
        # code ported from torch compares this repr, and there it lists no parameters
        return "Beta()"

    @property
    def _ab(self):
        return self.concentration1, self.concentration0

    @property
    def mean(self):
        a, b = self._ab
        return a / (a + b)

    @property
    def mode(self):
        a, b = self._ab
        a_excess, b_excess = (a - 1).clamp(min=0.0), (b - 1).clamp(min=0.0)
        # both concentrations below 1: a U-shaped density; report 1, as torch code expects
        u_shaped = (a < 1) & (b < 1)
        one = fastnn.ones_like(a_excess)
        denom = fastnn.where(u_shaped, one, a_excess + b_excess)
        return fastnn.where(u_shaped, one, a_excess / denom)

    @property
    def variance(self):
        a, b = self._ab
        total = a + b
        return self.mean * (b / total) / (total + 1)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = standard_gamma_rsample(self.concentration1, shape)
        y = standard_gamma_rsample(self.concentration0, shape)
        info = fastnn.finfo(x.dtype)
        return (x / (x + y)).clamp(min=info.tiny, max=1 - info.eps / 2)  # largest below 1

    def sample(self, sample_shape=()):
        # X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) is Beta(a, b)
        out_shape = self._extended_shape(sample_shape)
        x = _unit_gamma_draws(self.concentration1, out_shape)
        y = _unit_gamma_draws(self.concentration0, out_shape)
        pair = np.stack([x, y], -1)
        return _normalized_draws(pair, pair[..., :1], self.concentration1.dtype)[..., 0]

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self._ab
        return xlogy(a - 1, value) + xlogy(b - 1, 1 - value) - log_beta(a, b)

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return lgamma(x) + lgamma(y) - lgamma(x + y)

    def entropy(self):
        a, b = self._ab
        return (log_beta(a, b) + (a + b - 2) * digamma(a + b)
                - (a - 1) * digamma(a) - (b - 1) * digamma(b))
