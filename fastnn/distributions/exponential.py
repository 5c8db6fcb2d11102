"""The Exponential distribution, sampled by inverting its cdf."""
import fastnn

from . import constraints
from .distribution import ExponentialFamily

__all__ = ["Exponential"]


class Exponential(ExponentialFamily):
    """Exponential(rate): density ``rate * exp(-rate * x)`` on x >= 0."""
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0
    _tensor_params = ("rate",)

    def __init__(self, rate, validate_args=None):
        self._init_params(validate_args, rate=rate)

    @property
    def mean(self):
        return 1 / self.rate

    @property
    def mode(self):
        return fastnn.zeros_like(self.rate)

    @property
    def stddev(self):
        return 1 / self.rate

    @property
    def variance(self):
        return 1 / self.rate.pow(2)

    def rsample(self, sample_shape=()):
        return self._inverse_cdf_sample(sample_shape)  # u in [0, 1): icdf stays finite

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(self.rate * value) + self.rate.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -fastnn.expm1(-(self.rate * value))

    def icdf(self, value):
        return fastnn.log1p(-value) / -self.rate

    @property
    def _natural_params(self):
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -(-x).log()

    def entropy(self):
        return 1 - self.rate.log()
