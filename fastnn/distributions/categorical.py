"""Categorical and OneHotCategorical: one draw among K classes, from ``probs`` or
``logits`` (normalised over the last dimension)."""
import fastnn
import fastnn.nn.functional as F

from . import constraints
from .distribution import Distribution
from .utils import _lay_out_support, _ProbsOrLogits

__all__ = ["Categorical", "OneHotCategorical"]


def _normalised(name, t):
    """Scale probabilities to sum to one, or shift logits so they log-sum-exp to zero."""
    if t.dim() == 0:
        raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
    if name == "probs":
        return t / t.sum(-1, keepdim=True)
    return t - t.logsumexp(dim=-1, keepdim=True)


class Categorical(_ProbsOrLogits, Distribution):
    """Categorical(probs=...) or Categorical(logits=...): samples are int64 class indices;
    the last dimension of the parameter holds the K classes, the others are batch dims."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True
    _tensor_params = ("probs", "logits")

    def __init__(self, probs=None, logits=None, validate_args=None):
        name, given = self._choose(probs, logits)
        table = _normalised(name, given)
        setattr(self, name, table)
        super().__init__(table.size()[:-1], validate_args=validate_args)

    @property
    def _num_events(self):
        return self._param.shape[-1]

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        last = self._num_events - 1
        return constraints.integer_interval(0, last)

    def _undefined(self):
        return fastnn.full(tuple(self._extended_shape()), float("nan"), dtype=self.probs.dtype)

    mean = property(_undefined)  # class indices have no meaningful mean or variance
    variance = property(_undefined)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()):
        out_shape = tuple(self._extended_shape(sample_shape))
        draws = 1
        for d in out_shape[: len(out_shape) - len(self._batch_shape)]:
            draws *= d
        with fastnn.no_grad():
            rows = self.probs.reshape(-1, self._num_events)
            picked = fastnn.multinomial(rows, draws, True)  # (rows, draws)
        return picked.T.reshape(out_shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        table = self.logits
        lead = fastnn.broadcast_shapes(tuple(value.shape), tuple(table.shape[:-1]))
        index = value.long().unsqueeze(-1).expand(tuple(lead) + (1,))
        table = table.expand(tuple(lead) + (self._num_events,))
        return table.gather(-1, index).squeeze(-1)

    def entropy(self):
        # clamping keeps 0 * log 0 at 0 instead of 0 * -inf = nan
        floor = fastnn.finfo(self.logits.dtype).min
        return -(self.probs * self.logits.clamp(min=floor)).sum(-1)

    def enumerate_support(self, expand=True):
        classes = fastnn.arange(self._num_events, dtype=fastnn.int64)
        return _lay_out_support(classes, self._batch_shape, expand)


class OneHotCategorical(Distribution):
    """Like Categorical, but a draw is a one-hot vector of length K (event_shape (K,))."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs=probs, logits=logits)
        inner = self._categorical
        super().__init__(inner.batch_shape, inner.param_shape[-1:],
                         validate_args=validate_args)

    def _expand_state(self, new, shape):
        new._categorical = self._categorical.expand(shape)

    _param = property(lambda self: self._categorical._param)
    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    param_shape = property(lambda self: self._categorical.param_shape)

    def _as_one_hot(self, index):
        return F.one_hot(index, num_classes=self._categorical._num_events).to(self.probs.dtype)

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return self._as_one_hot(self.probs.argmax(dim=-1))

    @property
    def variance(self):
        p = self.probs
        return p * (1 - p)

    def sample(self, sample_shape=()):
        return self._as_one_hot(self._categorical.sample(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        rows = fastnn.eye(self._event_shape[0], dtype=self._param.dtype)
        return _lay_out_support(rows, self._batch_shape, expand)
