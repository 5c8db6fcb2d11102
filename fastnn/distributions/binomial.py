"""The Binomial distribution: successes in ``total_count`` independent Bernoulli trials."""
import numpy as np

import fastnn
from fastnn import Tensor

from . import constraints
from ._special import lgamma
from .distribution import Distribution
from .utils import _gen_numpy, _lay_out_support, _ProbsOrLogits, broadcast_all, log1p_exp

__all__ = ["Binomial"]




class Binomial(_ProbsOrLogits, Distribution):
    """Binomial(total_count=1, probs=None, logits=None):
    P(k) = C(n, k) p^k (1 - p)^(n - k), with n = ``total_count`` broadcast against the
    success parameter (so it may differ across the batch) and stored in its dtype."""
    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True
    _tensor_params = ("total_count", "probs", "logits")
    _binary = True

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        name, given = self._choose(probs, logits)
        if not isinstance(given, Tensor):
            # a number takes the default dtype, not an integer total_count's
            given = broadcast_all(given)[0]
        given, count = broadcast_all(given, total_count)
        self.total_count = count.to(given.dtype)
        setattr(self, name, given)
        super().__init__(given.size(), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        # floor((n + 1) p), except that p = 1 would give n + 1
        return fastnn.minimum(((self.total_count + 1) * self.probs).floor(), self.total_count)

    @property
    def variance(self):
        p = self.probs
        return self.total_count * p * (1 - p)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with fastnn.no_grad():
            n = np.broadcast_to(self.total_count.detach().numpy(), shape).astype(np.int64)
            p = np.broadcast_to(self.probs.detach().numpy(), shape).astype(np.float64)
        # numpy draws every entry at once; the generator is fastnn's own stream
        return fastnn.tensor(_gen_numpy().binomial(n, p).astype(np.float64),
                             dtype=self._param.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        n, logits = self.total_count, self.logits
        log_choose = lgamma(n + 1) - lgamma(value + 1) - lgamma(n - value + 1)
        # k log p + (n - k) log(1 - p) = k * logit - n log(1 + e^logit)
        return log_choose + value * logits - n * log1p_exp(logits)

    def _common_count(self, what):
        """The one total_count shared by the batch; enumerating needs a single range."""
        n = self.total_count
        top = int(n.max().item())
        if not bool((n == top).all()):
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return top

    def enumerate_support(self, expand=True):
        top = self._common_count("enumerate_support")
        outcomes = fastnn.arange(top + 1, dtype=self._param.dtype)
        return _lay_out_support(outcomes, self._batch_shape, expand)

    def entropy(self):
        """H = -sum_k P(k) log P(k) over k = 0..n."""
        self._common_count("entropy")
        log_pmf = self.log_prob(self.enumerate_support(False))
        return -(fastnn.exp(log_pmf) * log_pmf).sum(0)
