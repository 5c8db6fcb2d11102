"""The LogNormal distribution: exp of a Normal, with reparameterized sampling."""
import fastnn

from . import constraints
from .distribution import Distribution
from .normal import Normal

__all__ = ["LogNormal"]


class LogNormal(Distribution):
    """LogNormal(loc, scale): X = exp(Y) with Y ~ Normal(loc, scale), kept as ``base_dist``.
    Density p(x) = N(log x; loc, scale) / x on x > 0; ``rsample`` is exp(loc + scale * eps)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        # the Normal checks loc and scale, so bad parameters are reported against it
        self.base_dist = Normal(loc, scale, validate_args=validate_args)
        super().__init__(self.base_dist.batch_shape, validate_args=validate_args)

    def _expand_state(self, new, batch_shape):
        new.base_dist = self.base_dist.expand(batch_shape)

    loc = property(lambda self: self.base_dist.loc)
    scale = property(lambda self: self.base_dist.scale)

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self):
        s2 = self.scale.pow(2)
        # (e^{s^2} - 1) e^{2 loc + s^2}; expm1 keeps small scales accurate
        return fastnn.expm1(s2) * (2 * self.loc + s2).exp()

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = value.log()
        # change of variables: log p(x) = log N(log x) - log x
        return self.base_dist.log_prob(y) - y

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.base_dist.cdf(value.log())

    def icdf(self, value):
        return self.base_dist.icdf(value).exp()

    def entropy(self):
        """H = H(Normal(loc, scale)) + loc."""
        return self.base_dist.entropy() + self.loc
