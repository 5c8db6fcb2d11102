"""The continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem & Cunningham, 2019)."""
import math
from numbers import Number

import fastnn
import fastnn.nn.functional as F

from . import constraints
from .distribution import ExponentialFamily
from .utils import _ProbsOrLogits, broadcast_all, clamp_probs, lazy_property

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(_ProbsOrLogits, ExponentialFamily):
    """ContinuousBernoulli(probs=None, logits=None, lims=(0.499, 0.501)): density
    C(p) p^x (1 - p)^(1 - x) on [0, 1].  Inside ``lims`` (around p = 1/2, where the closed
    forms divide 0 by 0) the normaliser and moments use their Taylor expansions."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True
    _mean_carrier_measure = 0
    _tensor_params = ("probs", "logits")
    _plain_state = ("_lims",)
    _binary = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        name, given = self._choose(probs, logits)
        scalar = isinstance(given, Number)
        (given,) = broadcast_all(given)
        if name == "probs":
            if validate_args is not None and not bool(
                    self.arg_constraints["probs"].check(given).all()):
                raise ValueError("The parameter probs has invalid values")
            given = clamp_probs(given)
        setattr(self, name, given)
        self._lims = lims
        batch = () if scalar else given.size()
        super().__init__(batch, validate_args=validate_args)

    @lazy_property
    def probs(self):
        # kept away from 0 and 1 like given probs, so log p and log(1 - p) stay finite
        return clamp_probs(fastnn.sigmoid(self.logits))

    def _stable(self):
        """True away from p = 1/2, where the closed forms are accurate."""
        p = self.probs
        return (p <= self._lims[0]) | (p > self._lims[1])

    def _cut_probs(self):
        """p where stable, else a harmless stand-in (the Taylor branch is used there)."""
        p = self.probs
        return fastnn.where(self._stable(), p, fastnn.full_like(p, self._lims[0]))

    def _log_odds_gap(self, p):
        return fastnn.log1p(-p) - fastnn.log(p)

    def _cont_bern_log_norm(self):
        """log C(p) = log(|log(1-p) - log p| / |1 - 2p|)."""
        p = self._cut_probs()
        below = fastnn.where(p <= 0.5, p, fastnn.zeros_like(p))
        above = fastnn.where(p >= 0.5, p, fastnn.ones_like(p))
        log_gap = fastnn.where(p <= 0.5, fastnn.log1p(-2.0 * below),
                               fastnn.log(2.0 * above - 1.0))
        exact = fastnn.log(self._log_odds_gap(p).abs()) - log_gap
        d2 = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * d2) * d2
        return fastnn.where(self._stable(), exact, taylor)

    @property
    def mean(self):
        p = self._cut_probs()
        exact = p / (2.0 * p - 1.0) + 1.0 / self._log_odds_gap(p)
        d = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * d.pow(2)) * d
        return fastnn.where(self._stable(), exact, taylor)

    @property
    def variance(self):
        p = self._cut_probs()
        exact = p * (p - 1.0) / (1.0 - 2.0 * p).pow(2) + 1.0 / self._log_odds_gap(p).pow(2)
        d2 = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * d2) * d2
        return fastnn.where(self._stable(), exact, taylor)

    @property
    def stddev(self):
        return self.variance.sqrt()

    def rsample(self, sample_shape=()):
        u = fastnn.rand(tuple(self._extended_shape(sample_shape)), dtype=self.probs.dtype)
        return self.icdf(u)

    def sample(self, sample_shape=()):
        u = fastnn.rand(tuple(self._extended_shape(sample_shape)), dtype=self.probs.dtype)
        with fastnn.no_grad():
            return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        bce = F.binary_cross_entropy_with_logits(logits, value, reduction="none")
        return self._cont_bern_log_norm() - bce

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        p = self._cut_probs()
        inner = (p.pow(value) * (1.0 - p).pow(1.0 - value) + p - 1.0) / (2.0 * p - 1.0)
        inner = fastnn.where(self._stable(), inner, value)
        return fastnn.where(value <= 0.0, fastnn.zeros_like(value),
                            fastnn.where(value >= 1.0, fastnn.ones_like(value), inner))

    def icdf(self, value):
        p = self._cut_probs()
        exact = ((fastnn.log1p(-p + value * (2.0 * p - 1.0)) - fastnn.log1p(-p))
                 / (fastnn.log(p) - fastnn.log1p(-p)))
        return fastnn.where(self._stable(), exact, value)

    def entropy(self):
        log_q, log_p = fastnn.log1p(-self.probs), fastnn.log(self.probs)
        return self.mean * (log_q - log_p) - self._cont_bern_log_norm() - log_q

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log((e^x - 1) / x), with its Taylor series near x = 0."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        stable = (x <= lo) | (x > hi)
        cut = fastnn.where(stable, x, fastnn.full_like(x, lo))
        exact = fastnn.log(fastnn.expm1(cut).abs()) - fastnn.log(cut.abs())
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return fastnn.where(stable, exact, taylor)
