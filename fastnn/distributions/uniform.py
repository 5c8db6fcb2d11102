"""The continuous Uniform distribution on [low, high)."""
import fastnn

from . import constraints
from .distribution import Distribution

__all__ = ["Uniform"]


class Uniform(Distribution):
    """Uniform(low, high); ``rsample`` is ``low + u * (high - low)``, differentiable in both."""
    has_rsample = True
    _tensor_params = ("low", "high")

    def __init__(self, low, high, validate_args=None):
        self._init_params(validate_args, low=low, high=high)

    @property
    def arg_constraints(self):
        # each bound is constrained by the other, so this is built per instance
        return {"low": constraints.less_than(self.high),
                "high": constraints.greater_than(self.low)}

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def _width(self):
        return self.high - self.low

    @property
    def mean(self):
        return (self.low + self.high) / 2

    @property
    def mode(self):
        return self.high * float("nan")

    @property
    def stddev(self):
        return self._width / 12 ** 0.5

    @property
    def variance(self):
        return self._width.pow(2) / 12

    def rsample(self, sample_shape=()):
        return self._inverse_cdf_sample(sample_shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        inside = (value >= self.low) & (value < self.high)
        # log(1) = 0 inside, log(0) = -inf outside
        return fastnn.log(inside.to(self.low.dtype)) - self._width.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return ((value - self.low) / self._width).clamp(min=0, max=1)

    def icdf(self, value):
        return self.low + value * self._width

    def entropy(self):
        return self._width.log()
