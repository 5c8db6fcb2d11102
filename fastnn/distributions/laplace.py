"""The Laplace distribution, sampled by inverting its cdf at a uniform draw."""
import fastnn

from . import constraints
from .distribution import CentredAtLoc, Distribution

__all__ = ["Laplace"]


class Laplace(CentredAtLoc, Distribution):
    """Laplace(loc, scale): density exp(-|x - loc| / scale) / (2 * scale)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _tensor_params = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self._init_params(validate_args, loc=loc, scale=scale)


    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return self.scale * 2 ** 0.5

    def rsample(self, sample_shape=()):
        # stay half an epsilon inside (0, 1): icdf is infinite at both ends
        half_eps = fastnn.finfo(self.loc.dtype).eps / 2
        return self._inverse_cdf_sample(sample_shape, margin=half_eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(value - self.loc).abs() / self.scale - (2 * self.scale).log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        gap = value - self.loc
        # 1 - exp(-t) written as -expm1(-t) keeps precision near the median
        return 0.5 * (1 - gap.sign() * fastnn.expm1(-gap.abs() / self.scale))

    def icdf(self, value):
        centred = value - 0.5
        return self.loc - self.scale * centred.sign() * fastnn.log1p(-2 * centred.abs())

    def entropy(self):
        return (2 * self.scale).log() + 1
