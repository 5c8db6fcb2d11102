"""The Multinomial distribution: counts of ``total_count`` categorical draws over K classes."""
import numpy as np

import fastnn

from . import constraints
from ._special import lgamma
from .categorical import Categorical
from .distribution import Distribution
from .utils import _gen_numpy, xlogy

__all__ = ["Multinomial"]


class _CountVector(constraints.Constraint):
    """Non-negative counts along the last dim whose total is at most ``upper_bound``."""
    is_discrete = True
    event_dim = 1
    _title = "Multinomial"

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= 0).all(-1) & (value.sum(-1) <= self.upper_bound)


class Multinomial(Distribution):
    """Multinomial(total_count, probs=None, logits=None): a draw is a float vector of K class
    counts summing to ``total_count`` (an int shared by the whole batch)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int) or isinstance(total_count, bool):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits,
                                        validate_args=validate_args)
        inner = self._categorical
        super().__init__(inner.batch_shape, inner.param_shape[-1:],
                         validate_args=validate_args)

    def _expand_state(self, new, batch_shape):
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)

    _param = property(lambda self: self._categorical._param)
    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    param_shape = property(lambda self: self._categorical.param_shape)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return _CountVector(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        p = self.probs
        return self.total_count * p * (1 - p)

    def sample(self, sample_shape=()):
        if self.total_count <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        probs = self.probs.detach().numpy().astype(np.float64)
        probs = probs / probs.sum(-1, keepdims=True)
        lead = tuple(sample_shape) + tuple(self._batch_shape)
        # numpy draws whole count vectors at once (conditional binomials), batch-broadcast
        counts = _gen_numpy().multinomial(self.total_count, probs, size=lead)
        return fastnn.tensor(counts.reshape(tuple(self._extended_shape(sample_shape))),
                             dtype=self.probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits = self.logits
        lead = fastnn.broadcast_shapes(tuple(value.shape), tuple(logits.shape))
        # float counts promote with the logits (a float64 value gives float64); integer
        # counts are taken in the logits' dtype
        dt = fastnn.promote_types(logits.dtype, value.dtype) if value.is_floating_point() \
            else logits.dtype
        logits, value = logits.to(dt).expand(lead), value.to(dt).expand(lead)
        # a class that never occurs (logit -inf) contributes nothing when its count is 0
        terms = fastnn.where(value == 0, fastnn.zeros_like(logits), logits * value)
        return lgamma(value.sum(-1) + 1) - lgamma(value + 1).sum(-1) + terms.sum(-1)

    def entropy(self):
        n = self.total_count
        p = self.probs
        # H = -log n! + n H(categorical) + sum_i E[log x_i!], each x_i ~ Binomial(n, p_i)
        k = fastnn.arange(n + 1, dtype=p.dtype).reshape((n + 1,) + (1,) * p.dim())
        nk = fastnn.tensor(float(n), dtype=p.dtype) - k
        log_choose = lgamma(fastnn.tensor(n + 1.0, dtype=p.dtype)) - lgamma(k + 1) - \
            lgamma(nk + 1)
        with np.errstate(divide="ignore"):  # p = 0 (or 1) gives log-pmf -inf: pmf 0
            log_pmf = log_choose + xlogy(k, p) + xlogy(nk, 1 - p)
        expected = (log_pmf.exp() * lgamma(k + 1)).sum(0).sum(-1)
        return n * self._categorical.entropy() - lgamma(
            fastnn.tensor(n + 1.0, dtype=p.dtype)) + expected
