"""The Normal distribution, with reparameterized sampling."""
import math

from . import constraints
from ._special import erf, erfinv
from .distribution import CentredAtLoc, ExponentialFamily
from .utils import _standard_normal

__all__ = ["Normal"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)


class Normal(CentredAtLoc, ExponentialFamily):
    """Normal(loc, scale): ``rsample`` is ``loc + scale * eps`` with eps ~ N(0, 1), so
    gradients flow to ``loc`` and ``scale`` (the VAE reparameterization trick)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _mean_carrier_measure = 0
    _tensor_params = ("loc", "scale")

    def __init__(self, loc, scale, validate_args=None):
        self._init_params(validate_args, loc=loc, scale=scale)


    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale.pow(2)

    def _standardize(self, value):
        return (value - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        noise = _standard_normal(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + self.scale * noise

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._standardize(value)
        return -0.5 * z * z - (self.scale.log() + _LOG_SQRT_2PI)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 + 0.5 * erf(self._standardize(value) / _SQRT2)

    def icdf(self, value):
        return self.loc + (_SQRT2 * self.scale) * erfinv(2 * value - 1)

    @property
    def _natural_params(self):
        return (self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal())

    def _log_normalizer(self, x, y):
        return -0.25 * x.pow(2) / y + 0.5 * (-math.pi / y).log()

    def entropy(self):
        # log(sigma * sqrt(2 * pi * e))
        return self.scale.log() + (0.5 + _LOG_SQRT_2PI)
