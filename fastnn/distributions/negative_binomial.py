"""The negative binomial distribution: successes before ``total_count`` failures."""
import numpy as np

import fastnn
import fastnn.nn.functional as F
from fastnn import Tensor

from . import constraints
from ._special import lgamma
from .distribution import Distribution
from .utils import _gen_numpy, _ProbsOrLogits, broadcast_all

__all__ = ["NegativeBinomial"]


class NegativeBinomial(_ProbsOrLogits, Distribution):
    """NegativeBinomial(total_count, probs=None, logits=None): the number of successes, each
    with probability ``probs``, seen before ``total_count`` failures (a real count > 0 gives
    the Gamma-Poisson mixture):  P(k) = C(k + r - 1, k) p^k (1 - p)^r."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer
    _tensor_params = ("total_count", "probs", "logits")
    _binary = True

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        name, given = self._choose(probs, logits)
        if not isinstance(given, Tensor):
            given = broadcast_all(given)[0]
        count, given = broadcast_all(total_count, given)
        self.total_count = count.to(given.dtype)
        setattr(self, name, given)
        super().__init__(given.size(), validate_args=validate_args)

    @property
    def mean(self):
        return self.total_count * self.logits.exp()

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / fastnn.sigmoid(-self.logits)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with fastnn.no_grad():
            count = np.broadcast_to(self.total_count.detach().numpy(), shape).astype(np.float64)
            odds = np.exp(np.broadcast_to(self.logits.detach().numpy(), shape).astype(np.float64))
        gen = _gen_numpy()
        # a Poisson whose rate is Gamma(total_count, 1 / odds) distributed
        rate = gen.standard_gamma(count) * odds
        return fastnn.tensor(gen.poisson(rate).astype(np.float64), dtype=self._param.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        r, logits = self.total_count, self.logits
        unnormalized = r * F.logsigmoid(-logits) + value * F.logsigmoid(logits)
        log_norm = lgamma(1.0 + value) + lgamma(r) - lgamma(r + value)
        # r == 0 puts all mass on k == 0, where the lgamma terms are infinite: log P = 0
        empty = (r + value) == 0
        log_norm = fastnn.where(empty, fastnn.zeros_like(log_norm), log_norm)
        return unnormalized - log_norm
