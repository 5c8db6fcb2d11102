"""The Poisson distribution over event counts."""
import numpy as np

import fastnn

from . import constraints
from ._special import lgamma
from .distribution import ExponentialFamily
from .utils import _gen_numpy, xlogy

__all__ = ["Poisson"]


class Poisson(ExponentialFamily):
    """Poisson(rate): P(k) = rate^k e^-rate / k! on k = 0, 1, 2, ... (rate 0 allowed).
    Like torch, it has no closed-form entropy."""
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer
    _tensor_params = ("rate",)

    def __init__(self, rate, validate_args=None):
        self._init_params(validate_args, rate=rate)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with fastnn.no_grad():
            lam = np.broadcast_to(self.rate.detach().numpy(), shape).astype(np.float64)
        return fastnn.tensor(_gen_numpy().poisson(lam).astype(np.float64),
                             dtype=self.rate.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # xlogy keeps P(0) = 1 at rate 0
        return xlogy(value, self.rate) - self.rate - lgamma(value + 1)

    @property
    def _natural_params(self):
        return (self.rate.log(),)

    def _log_normalizer(self, x):
        return x.exp()
