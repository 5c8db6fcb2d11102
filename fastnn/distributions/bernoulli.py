"""The Bernoulli distribution, parametrised by ``probs`` or ``logits``."""
import fastnn
import fastnn.nn.functional as F

from . import constraints
from .distribution import ExponentialFamily
from .utils import _lay_out_support, _ProbsOrLogits

__all__ = ["Bernoulli"]


class Bernoulli(_ProbsOrLogits, ExponentialFamily):
    """Bernoulli(probs=p) or Bernoulli(logits=l): 1 with probability p = sigmoid(l).
    The other parametrisation is derived on first use and stays differentiable."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0
    _tensor_params = ("probs", "logits")
    _binary = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        name, given = self._choose(probs, logits)
        self._init_params(validate_args, **{name: given})

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        p = self.probs
        # a fair coin has no single mode
        return fastnn.where(p == 0.5, float("nan"), (p > 0.5).to(p.dtype))

    @property
    def variance(self):
        p = self.probs
        return p * (1 - p)

    def sample(self, sample_shape=()):
        with fastnn.no_grad():
            return fastnn.bernoulli(self.probs.expand(self._extended_shape(sample_shape)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        # log p(x) = x * l - log(1 + e^l) for x in {0, 1}
        log_p = value * self.logits - F.softplus(self.logits)
        if isinstance(value, fastnn.Tensor) and value.is_floating_point() and \
                value.dtype != log_p.dtype:
            log_p = log_p.to(value.dtype)  # PyTorch's result takes the value's float dtype
        return log_p

    @property
    def _natural_params(self):
        return (fastnn.logit(self.probs),)

    def _log_normalizer(self, x):
        return fastnn.log1p(fastnn.exp(x))

    def entropy(self):
        return F.softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand=True):
        outcomes = fastnn.arange(2, dtype=self._param.dtype)
        return _lay_out_support(outcomes, self._batch_shape, expand)
