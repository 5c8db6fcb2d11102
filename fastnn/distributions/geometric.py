"""The Geometric distribution: failures before the first success."""
import numpy as np

import fastnn

from . import constraints
from .distribution import Distribution
from .utils import _gen_numpy, _ProbsOrLogits, broadcast_all

__all__ = ["Geometric"]


class Geometric(_ProbsOrLogits, Distribution):
    """Geometric(probs=None, logits=None): P(k) = (1 - p)^k p for k = 0, 1, 2, ...,
    with success probability p in (0, 1]."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer
    _tensor_params = ("probs", "logits")
    _binary = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        name, given = self._choose(probs, logits)
        self._init_params(validate_args, **{name: given})
        if self._validate_args and name == "probs":
            # p = 0 passes the interval check but never succeeds: no distribution
            p = self.probs
            ok = p > 0
            if not bool(ok.all()):
                raise ValueError(
                    f"Expected parameter probs ({type(p).__name__} of shape "
                    f"{tuple(p.shape)}) of distribution {self!r} to be positive but found "
                    f"invalid values:\n{p[~ok]}")

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return fastnn.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 - self.probs) / self.probs.pow(2)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        with fastnn.no_grad():
            p = np.broadcast_to(self.probs.detach().numpy(), shape).astype(np.float64)
        # numpy counts trials up to and including the success; fastnn counts failures
        trials = _gen_numpy().geometric(p)
        return fastnn.tensor((trials - 1).astype(np.float64), dtype=self._param.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, p = broadcast_all(value, self.probs)
        # at p = 1, k = 0 has probability 1: drop its 0 * log(0) term
        certain = (p == 1) & (value == 0)
        p_tail = fastnn.where(certain, fastnn.zeros_like(p), p)
        return value * fastnn.log1p(-p_tail) + fastnn.log(p)

    def entropy(self):
        """H = (log(1 + e^l) - p l) / p: one Bernoulli entropy per expected trial."""
        logits, p = self.logits, self.probs
        # max(l, 0) - p l first: at p = 1 the small log1p term must not be rounded away;
        # max(l, 0) is the symmetric form, so the gradient at l == 0 is exact
        hinge = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2
        return (hinge - p * logits + fastnn.log1p(fastnn.exp(-logits.abs()))) / p
