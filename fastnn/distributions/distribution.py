"""The base class of fastnn's probability distributions (the API of torch.distributions).

Concrete families list their tensor parameters in ``_tensor_params``; the base class uses
that list both to build an instance (``_init_params``) and to expand one to a larger batch
(``expand``), so the families themselves hold only their formulas.
"""
import warnings

import fastnn
from fastnn import Size, Tensor

from . import constraints
from .utils import _concat_shapes, _size, broadcast_all, lazy_property

__all__ = ["Distribution"]

_PACKAGE = __name__.rpartition(".")[0]


def _broadcastable(have, want):
    """Whether two shapes broadcast together (compared from the right)."""
    return all(a == b or 1 in (a, b) for a, b in zip(reversed(have), reversed(want)))


def _show(t):
    """How repr prints a parameter: a one-element tensor in full, anything else by shape."""
    return t if t.numel() == 1 else t.size()


class Distribution:
    """Abstract base: ``batch_shape`` indexes independent (not identical) distributions,
    ``event_shape`` is the shape of one draw. Parameters are checked against
    ``arg_constraints`` when ``validate_args`` is on (the default; it follows Python's
    ``assert``, so ``python -O`` turns it off)."""

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    _tensor_params = ()  # parameter attributes that expand() broadcasts to the new batch
    _plain_state = ()  # non-tensor attributes that expand() copies as they are

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):  # 0 and 1 count as flags too
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = _size(batch_shape)
        self._event_shape = _size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            self._check_parameters()
        super().__init__()

    def _init_params(self, validate_args, **params):
        """Broadcast the named parameters together, store them as attributes and take their
        common shape as the batch shape."""
        tensors = broadcast_all(*params.values())
        for name, t in zip(params, tensors):
            setattr(self, name, t)
        Distribution.__init__(self, tensors[0].size(), validate_args=validate_args)

    def _check_parameters(self):
        try:
            rules = self.arg_constraints
        except NotImplementedError:
            warnings.warn(
                f"{self.__class__} does not define `arg_constraints`. "
                "Please set `arg_constraints = {}` or initialize the distribution "
                "with `validate_args=False` to turn off validation.", stacklevel=3)
            return
        for name, rule in rules.items():
            # a dependent rule has nothing to test; a parameter not given by the user is
            # derived from one that was, so checking that one is enough
            derived = (name not in self.__dict__
                       and isinstance(getattr(type(self), name, None), lazy_property))
            if constraints.is_dependent(rule) or derived:
                continue
            value = getattr(self, name)
            if not bool(rule.check(value).all()):
                raise ValueError(
                    f"Expected parameter {name} "
                    f"({type(value).__name__} of shape {tuple(value.shape)}) "
                    f"of distribution {self!r} "
                    f"to satisfy the constraint {rule!r}, "
                    f"but found invalid values:\n{value}")

    # ---- expanding to a larger batch -------------------------------------------------
    def _get_checked_instance(self, cls, _instance=None):
        """An uninitialised object to fill in ``expand`` (or the caller's ``_instance``).
        A user subclass with its own ``__init__`` cannot be rebuilt this way."""
        if _instance is not None:
            return _instance
        if type(self).__init__ is not cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                "__init__ method must also define a custom .expand() method.")
        return object.__new__(type(self))

    def _expand_state(self, new, batch_shape):
        """Hook: expand state that neither ``_tensor_params`` nor ``_plain_state`` covers
        (a wrapped distribution, say) into ``new``."""

    def expand(self, batch_shape, _instance=None):
        """A new distribution over a larger batch: each parameter in ``_tensor_params`` is
        broadcast (as a view), keeping its trailing non-batch dims."""
        if not self._tensor_params and type(self)._expand_state is Distribution._expand_state:
            raise NotImplementedError
        shape = _size(batch_shape)
        # the nearest fastnn class is what the generic mechanism knows how to rebuild
        known = next(c for c in type(self).__mro__ if c.__module__.startswith(_PACKAGE + "."))
        new = self._get_checked_instance(known, _instance)
        n_batch = len(self._batch_shape)
        for name in self._tensor_params:
            if name in self.__dict__:
                t = self.__dict__[name]
                setattr(new, name, t.expand(_concat_shapes(shape, t.shape[n_batch:])))
        for name in self._plain_state:
            setattr(new, name, getattr(self, name))
        self._expand_state(new, shape)
        Distribution.__init__(new, shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # ---- the public interface ---------------------------------------------------------
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=Size()):
        with fastnn.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        raise NotImplementedError

    def sample_n(self, n):
        warnings.warn("`sample_n(n)` will be deprecated. Use `sample((n,))` instead.",
                      FutureWarning, stacklevel=2)
        return self.sample(Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError

    def icdf(self, value):
        raise NotImplementedError

    def enumerate_support(self, expand=True):
        raise NotImplementedError

    def entropy(self):
        raise NotImplementedError

    def perplexity(self):
        return fastnn.exp(self.entropy())

    # ---- helpers for subclasses -------------------------------------------------------
    def _extended_shape(self, sample_shape=Size()):
        """The shape of ``sample(sample_shape)``: sample + batch + event dims."""
        return _concat_shapes(sample_shape, self._batch_shape, self._event_shape)

    def _inverse_cdf_sample(self, sample_shape, margin=0.0):
        """Reparameterised draw ``icdf(u)`` with u uniform in [margin, 1 - margin)."""
        dtype = self._tensor_dtype()
        u = fastnn.rand(tuple(self._extended_shape(sample_shape)), dtype=dtype)
        return self.icdf(u * (1 - 2 * margin) + margin if margin else u)

    def _tensor_dtype(self):
        return next(self.__dict__[k] for k in self._tensor_params if k in self.__dict__).dtype

    def _validate_sample(self, value):
        """Check that ``value`` fits the event and batch shapes and lies in the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        have = value.size()
        n_event = len(self._event_shape)
        if tuple(have)[len(have) - n_event:] != tuple(self._event_shape):
            raise ValueError("The right-most size of value must match event_shape: "
                             f"{have} vs {self._event_shape}.")
        want = _concat_shapes(self._batch_shape, self._event_shape)
        if not _broadcastable(have, want):
            raise ValueError("Value is not broadcastable with batch_shape+event_shape: "
                             f"{have} vs {want}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample "
                          "validation. Please initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=2)
            return
        if not bool(support.check(value).all()):
            raise ValueError(
                "Expected value argument "
                f"({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({support!r}) "
                f"of the distribution {self!r}, "
                f"but found invalid values:\n{value}")

    def __repr__(self):
        shown = [f"{k}: {_show(self.__dict__[k])}"
                 for k in self.arg_constraints if k in self.__dict__]
        return f"{type(self).__name__}({', '.join(shown)})"


class ExponentialFamily(Distribution):
    """Base of the exponential families: densities exp(<t(x), theta> - F(theta) + k(x)).
    A family gives its natural parameters theta (``_natural_params``), its log-normaliser F
    (``_log_normalizer``) and E[k(x)] (``_mean_carrier_measure``); entropy (and the
    same-family KL fallback) then follow from F and its gradient (a Bregman divergence).
    The built-in families override entropy with closed forms."""

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError

    def entropy(self):
        # H = F(theta) - <theta, grad F(theta)> - E[k(x)]
        result = -self._mean_carrier_measure
        thetas = [t.detach().requires_grad_() for t in self._natural_params]
        log_norm = self._log_normalizer(*thetas)
        grads = fastnn.autograd.grad(log_norm.sum(), thetas, create_graph=True)
        result = result + log_norm
        for theta, grad in zip(thetas, grads):
            result = result - (theta * grad).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result


class CentredAtLoc:
    """Mixin for families whose mean and mode are both the location parameter ``loc``."""

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc
