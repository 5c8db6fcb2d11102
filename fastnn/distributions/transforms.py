"""Invertible (or at least computable) maps between spaces, with the log absolute Jacobian
determinant that a change of variables needs.  The API follows ``torch.distributions
.transforms``: ``t(x)``, ``t.inv(y)``, ``t.log_abs_det_jacobian(x, y)``, ``domain`` and
``codomain`` constraints, ``event_dim``, ``sign`` and a one-slot cache (``cache_size=1``)
that hands back the exact input when the output it produced is inverted again.

Everything is written with fastnn Tensor ops, so gradients flow through calls, inverses and
log-determinants.
"""
import copy
import weakref

import fastnn

from . import constraints
from .utils import _sum_rightmost

__all__ = ["AbsTransform", "AffineTransform", "ComposeTransform", "ExpTransform",
           "IndependentTransform", "LowerCholeskyTransform", "PowerTransform",
           "ReshapeTransform", "SigmoidTransform", "SoftmaxTransform",
           "StickBreakingTransform", "TanhTransform", "Transform", "identity_transform"]



class _Memo:
    """The one (input, output) pair a caching transform remembers, matched by identity."""
    __slots__ = ("pair",)

    def __init__(self):
        self.pair = None

    def lookup(self, value, side):
        """The other half of the pair when ``value`` is its ``side`` (0: input, 1: output)."""
        pair = self.pair
        return pair[1 - side] if pair is not None and pair[side] is value else None


class Transform:
    """Base class.  Subclasses provide ``_call`` (forward), ``_inverse`` and, when the map
    is bijective, ``log_abs_det_jacobian``.  With ``cache_size=1`` the latest (x, y) pair
    is remembered: inverting that very y object returns that very x object (and vice
    versa), which keeps the graph exact for maps such as tanh whose inverse is unstable."""
    bijective = False
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._memo = _Memo() if cache_size else None
        self._inverse_ref = None  # weak: the inverse view lives as long as someone uses it

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_inverse_ref"] = None  # weak references do not pickle or copy
        return state

    @property
    def event_dim(self):
        d_in, d_out = self.domain.event_dim, self.codomain.event_dim
        if d_in != d_out:
            raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")
        return d_in

    @property
    def inv(self):
        """The inverse map, built once and shared while this transform lives."""
        view = self._inverse_ref() if self._inverse_ref is not None else None
        if view is None:
            view = self._make_inverse()
            self._inverse_ref = weakref.ref(view)
        return view

    def _make_inverse(self):
        return _Inverted(self)

    @property
    def sign(self):
        raise NotImplementedError

    def with_cache(self, cache_size=1):
        """This map with the given cache size: itself when it already has it, else a copy
        sharing every parameter with a fresh (or no) cache."""
        if self._cache_size == cache_size:
            return self
        twin = copy.copy(self)
        Transform.__init__(twin, cache_size)
        twin._recache(cache_size)
        return twin

    def _recache(self, cache_size):
        """Hook for transforms built from others, which re-cache their parts too."""

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __call__(self, x):
        return self._through(x, 0, self._call)

    def _inv_call(self, y):
        return self._through(y, 1, self._inverse)

    def _through(self, value, side, compute):
        memo = self._memo
        if memo is None:
            return compute(value)
        known = memo.lookup(value, side)
        if known is not None:
            return known
        other = compute(value)
        memo.pair = (value, other) if side == 0 else (other, value)
        return other

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError

    def forward_shape(self, shape):
        return shape

    def inverse_shape(self, shape):
        return shape

    def __repr__(self):
        return type(self).__name__ + "()"


class _Inverted(Transform):
    """A transform run backwards: calls go to the original's inverse (through its cache)
    and the Jacobian term changes sign."""

    def __init__(self, original):
        super().__init__(cache_size=original._cache_size)
        self._memo = None  # the original's cache serves both directions
        self.original = original  # a strong link back, so the pair lives together

    domain = property(lambda self: self.original.codomain)
    codomain = property(lambda self: self.original.domain)
    bijective = property(lambda self: self.original.bijective)
    sign = property(lambda self: self.original.sign)

    @property
    def inv(self):
        return self.original

    def with_cache(self, cache_size=1):
        return self.original.with_cache(cache_size).inv

    def __eq__(self, other):
        return isinstance(other, _Inverted) and self.original == other.original

    __hash__ = object.__hash__

    def __repr__(self):
        return f"_InverseTransform({self.original!r})"  # what PyTorch prints for t.inv

    def __call__(self, x):
        return self.original._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self.original.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self.original.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self.original.forward_shape(shape)


def _widen(constraint, extra):
    """``constraint`` checked over ``extra`` more rightmost dims (as is when extra is 0)."""
    return constraints.independent(constraint, extra) if extra > 0 else constraint


class ComposeTransform(Transform):
    """Apply ``parts`` in order.  The domain/codomain event dims are the largest any part
    needs, and each part's log-determinant is summed down to the composite's event."""

    def __init__(self, parts, cache_size=0):
        if cache_size:
            parts = [p.with_cache(cache_size) for p in parts]
        super().__init__(cache_size=cache_size)
        self.parts = list(parts)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        first = self.parts[0].domain
        need = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            need = max(need + part.domain.event_dim - part.codomain.event_dim,
                       part.domain.event_dim)
        return _widen(first, need - first.event_dim)

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        last = self.parts[-1].codomain
        need = self.parts[0].domain.event_dim
        for part in self.parts:
            need = max(need + part.codomain.event_dim - part.domain.event_dim,
                       part.codomain.event_dim)
        return _widen(last, need - last.event_dim)

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        out = 1
        for p in self.parts:
            out = out * p.sign
        return out

    def _make_inverse(self):
        backwards = ComposeTransform([p.inv for p in reversed(self.parts)])
        backwards._inverse_ref = weakref.ref(self)
        return backwards

    def _recache(self, cache_size):
        self.parts = [p.with_cache(cache_size) for p in self.parts]

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return fastnn.zeros_like(x)
        points = [x]
        for part in self.parts[:-1]:
            points.append(part(points[-1]))
        points.append(y)
        total = 0
        dims = self.domain.event_dim
        for part, a, b in zip(self.parts, points[:-1], points[1:]):
            term = part.log_abs_det_jacobian(a, b)
            total = total + _sum_rightmost(term, dims - part.domain.event_dim)
            dims += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self):
        inner = ",\n    ".join(repr(p) for p in self.parts)
        return f"{type(self).__name__}(\n    {inner}\n)"


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` whose rightmost ``reinterpreted_batch_ndims`` dims become part of
    the event: the map is unchanged, the log-determinant is summed over those dims."""

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def _recache(self, cache_size):
        self.base_transform = self.base_transform.with_cache(cache_size)

    domain = property(lambda self: constraints.independent(
        self.base_transform.domain, self.reinterpreted_batch_ndims))
    codomain = property(lambda self: constraints.independent(
        self.base_transform.codomain, self.reinterpreted_batch_ndims))
    bijective = property(lambda self: self.base_transform.bijective)
    sign = property(lambda self: self.base_transform.sign)

    def _call(self, x):
        if x.dim() < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.dim() < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return _sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                              self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __repr__(self):
        return (f"{type(self).__name__}({self.base_transform!r}, "
                f"{self.reinterpreted_batch_ndims})")


class _Stateless(Transform):
    """Transforms without parameters: any two instances of one class are equal."""

    def __eq__(self, other):
        return isinstance(other, type(self))

    __hash__ = object.__hash__


# the concrete maps live in two sibling modules; importing them here keeps every name
# available as ``fastnn.distributions.transforms.<Name>``
from ._transforms_elementwise import (AbsTransform, AffineTransform, ExpTransform,  # noqa: E402
                                      PowerTransform, SigmoidTransform, TanhTransform)
from ._transforms_vector import (LowerCholeskyTransform, ReshapeTransform,  # noqa: E402
                                 SoftmaxTransform, StickBreakingTransform)
from ._transforms_more import (CatTransform, CorrCholeskyTransform,  # noqa: E402
                               CumulativeDistributionTransform, PositiveDefiniteTransform,
                               SoftplusTransform, StackTransform)

__all__ += ["CatTransform", "CorrCholeskyTransform", "CumulativeDistributionTransform",
            "PositiveDefiniteTransform", "SoftplusTransform", "StackTransform"]
