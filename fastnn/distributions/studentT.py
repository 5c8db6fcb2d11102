"""Student's t distribution, with location and scale."""
import math

import fastnn

from . import constraints
from ._special import digamma, lgamma
from .chi2 import Chi2
from .distribution import Distribution
from .utils import _standard_normal, broadcast_all

__all__ = ["StudentT"]

_HALF_LOG_PI = 0.5 * math.log(math.pi)


class StudentT(Distribution):
    """StudentT(df, loc=0, scale=1): loc + scale * T with T = Z / sqrt(V / df),
    Z ~ N(0, 1), V ~ Chi2(df). ``rsample`` is differentiable in all three parameters."""
    arg_constraints = {"df": constraints.positive, "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _tensor_params = ("df", "loc", "scale")

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        # built first, so a bad df is reported by the Chi2 it parametrises
        self._chi2 = Chi2(self.df, validate_args=validate_args)
        super().__init__(self.df.size(), validate_args=validate_args)

    def _expand_state(self, new, batch_shape):
        new._chi2 = self._chi2.expand(batch_shape)

    @property
    def mean(self):
        # undefined (nan) for df <= 1
        return fastnn.where(self.df > 1, self.loc, fastnn.full_like(self.loc, math.nan))

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        """scale^2 df / (df - 2) for df > 2; inf for 1 < df <= 2; nan for df <= 1."""
        df = self.df
        wide = df > 2
        safe_df = fastnn.where(wide, df, fastnn.full_like(df, 3.0))
        finite = self.scale.pow(2) * safe_df / (safe_df - 2)
        heavy = fastnn.where(df > 1, fastnn.full_like(df, math.inf),
                             fastnn.full_like(df, math.nan))
        return fastnn.where(wide, finite, heavy)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        z = _standard_normal(shape, dtype=self.df.dtype)
        v = self._chi2.rsample(sample_shape)
        t = z * (self.df / v).sqrt()
        return self.loc + self.scale * t

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        df = self.df
        y = (value - self.loc) / self.scale
        # log of the normaliser: scale sqrt(df pi) Gamma(df/2) / Gamma((df+1)/2)
        log_norm = (self.scale.log() + 0.5 * df.log() + _HALF_LOG_PI
                    + lgamma(0.5 * df) - lgamma(0.5 * (df + 1)))
        return -0.5 * (df + 1) * fastnn.log1p(y.pow(2) / df) - log_norm

    def entropy(self):
        """H = log scale + (df+1)/2 [psi((df+1)/2) - psi(df/2)] + log(sqrt(df) B(df/2, 1/2))."""
        df = self.df
        half, half_up = 0.5 * df, 0.5 * (df + 1)
        log_beta = lgamma(half) + _HALF_LOG_PI - lgamma(half_up)
        return (self.scale.log() + half_up * (digamma(half_up) - digamma(half))
                + 0.5 * df.log() + log_beta)
