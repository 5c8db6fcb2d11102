"""Sets of admissible values for distribution parameters and samples.

Every constraint answers ``check(value)`` with a bool tensor (one entry per event) and
prints under the name PyTorch users know, e.g. ``constraints.positive`` shows as
``GreaterThan(lower_bound=0.0)``.  The printed name is a class attribute (``_title``), kept
apart from fastnn's own class names.  All order-type constraints are one table-driven class
family: each lists its ``(bound name, comparison)`` pairs and ``check`` ANDs them together.
"""
import operator

import fastnn

__all__ = ["Constraint", "boolean", "dependent", "dependent_property", "greater_than",
           "greater_than_eq", "independent", "integer_interval", "interval",
           "half_open_interval", "is_dependent", "less_than", "lower_cholesky",
           "nonnegative", "nonnegative_integer", "one_hot", "positive", "positive_definite",
           "positive_integer", "real", "real_vector", "simplex", "unit_interval"]


class Constraint:
    """Base class. ``event_dim`` is how many rightmost dims form one checked event."""
    is_discrete = False
    event_dim = 0
    _title = "Constraint"

    def check(self, value):
        raise NotImplementedError

    def _details(self):
        return ""

    def __repr__(self):
        return f"{self._title}({self._details()})"


class _Ordered(Constraint):
    """``value OP bound`` for every (bound name, OP) in ``_tests``; the bounds are given to
    the constructor in that order and become attributes of the same names."""
    _tests = ()
    _whole_numbers = False

    def __init__(self, *bounds):
        if len(bounds) != len(self._tests):
            raise TypeError(f"{self._title} expects {len(self._tests)} bound(s)")
        for (name, _), bound in zip(self._tests, bounds):
            setattr(self, name, bound)

    @property
    def is_discrete(self):
        return self._whole_numbers

    def check(self, value):
        ok = value % 1 == 0 if self._whole_numbers else None
        for name, op in self._tests:
            passed = op(value, getattr(self, name))
            ok = passed if ok is None else ok & passed
        return ok

    def _details(self):
        return ", ".join(f"{name}={getattr(self, name)}" for name, _ in self._tests)


def _ordered(title, *tests, whole_numbers=False):
    """Make one member of the ordered family."""
    body = {"_title": title, "_tests": tests, "_whole_numbers": whole_numbers}
    return type("_" + title, (_Ordered,), body)


_LO, _HI = "lower_bound", "upper_bound"
_Above = _ordered("GreaterThan", (_LO, operator.gt))
_AtLeast = _ordered("GreaterThanEq", (_LO, operator.ge))
_Below = _ordered("LessThan", (_HI, operator.lt))
_Closed = _ordered("Interval", (_LO, operator.ge), (_HI, operator.le))
_HalfOpen = _ordered("HalfOpenInterval", (_LO, operator.ge), (_HI, operator.lt))
_WholeAtLeast = _ordered("IntegerGreaterThan", (_LO, operator.ge), whole_numbers=True)
_WholeBetween = _ordered("IntegerInterval", (_LO, operator.ge), (_HI, operator.le),
                         whole_numbers=True)


def _zero_or_one(value):
    return (value == 0) | (value == 1)


class _AnyReal(Constraint):
    _title = "Real"

    def check(self, value):
        return value == value  # NaN is the only value unequal to itself


class _Bits(Constraint):
    _title = "Boolean"
    is_discrete = True

    def check(self, value):
        return _zero_or_one(value)


class _Indicator(Constraint):
    _title = "OneHot"
    is_discrete = True
    event_dim = 1

    def check(self, value):
        return _zero_or_one(value).all(-1) & (value.sum(-1) == 1)


class _ProbabilityVector(Constraint):
    _title = "Simplex"
    event_dim = 1

    def check(self, value):
        mass_is_one = (value.sum(-1) - 1).abs() < 1e-6
        return (value >= 0).all(-1) & mass_is_one


def _square_all(ok):
    """Reduce a per-element bool over the trailing (n, n) matrix dims to one per matrix."""
    return ok.all(-1).all(-1)


class _TriangularFactor(Constraint):
    """Lower-triangular matrices with a positive diagonal (Cholesky factors)."""
    _title = "LowerCholesky"
    event_dim = 2

    def check(self, value):
        lower = _square_all(value.tril() == value)  # first: tril's error for non-matrices
        return lower & (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)


class _SymmetricPositive(Constraint):
    """Symmetric matrices whose Cholesky factorisation succeeds (positive definite)."""
    _title = "PositiveDefinite"
    event_dim = 2

    def check(self, value):
        if value.shape[-1] != value.shape[-2]:  # not square: no matrix here qualifies
            return fastnn.zeros(tuple(value.shape[:-2]), dtype=fastnn.bool)
        # symmetric up to rounding (atol 1e-6, rtol 1e-5): products like A A^T drift
        gap = (value - value.mT).abs()
        symmetric = _square_all(gap <= 1e-6 + 1e-5 * value.mT.abs())
        factorable = fastnn.linalg.cholesky_ex(value.detach()).info == 0
        return symmetric & factorable


class _Lifted(Constraint):
    """``base_constraint`` applied to events that span ``reinterpreted_batch_ndims`` more
    rightmost dims: an event is valid only if every element in it is."""
    _title = "IndependentConstraint"

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint, self.reinterpreted_batch_ndims = (base_constraint,
                                                                reinterpreted_batch_ndims)

    is_discrete = property(lambda self: self.base_constraint.is_discrete)
    event_dim = property(
        lambda self: self.reinterpreted_batch_ndims + self.base_constraint.event_dim)

    def check(self, value):
        ok = self.base_constraint.check(value)
        extra = self.reinterpreted_batch_ndims
        if ok.dim() < extra:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.dim()}")
        if extra == 0:
            return ok
        kept = tuple(ok.shape)[: ok.dim() - extra]
        return ok.reshape(kept + (-1,)).all(-1)

    def _details(self):
        return f"{self.base_constraint!r}, {self.reinterpreted_batch_ndims}"


class _Deferred(Constraint):
    """Stands for a constraint that depends on other parameters (``Uniform.support``): it
    cannot be checked, and is_discrete/event_dim are known only if declared up front."""
    _title = "Dependent"

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._declared = {"is_discrete": is_discrete, "event_dim": event_dim}

    def _lookup(self, name):
        found = self._declared[name]
        if found is NotImplemented:
            raise NotImplementedError(f".{name} cannot be determined statically")
        return found

    is_discrete = property(lambda self: self._lookup("is_discrete"))
    event_dim = property(lambda self: self._lookup("event_dim"))

    def _refined(self, overrides):
        kept = {k: v for k, v in overrides.items() if v is not NotImplemented}
        return {**self._declared, **kept}

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        return _Deferred(**self._refined({"is_discrete": is_discrete, "event_dim": event_dim}))

    def check(self, x):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    return isinstance(constraint, _Deferred)


class _PerInstanceSupport(property, _Deferred):
    """Decorator for a per-instance ``support``: on an instance it is the property's value,
    on the class it is a deferred constraint.  Usable bare or with keyword arguments."""
    _title = "DependentProperty"

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        property.__init__(self, fn)
        _Deferred.__init__(self, is_discrete=is_discrete, event_dim=event_dim)

    def __call__(self, fn):
        return type(self)(fn, **self._declared)


# the public vocabulary: singletons for fixed sets, classes for parametrised ones
dependent = _Deferred()
dependent_property = _PerInstanceSupport
independent = _Lifted
greater_than = _Above
greater_than_eq = _AtLeast
less_than = _Below
interval = _Closed
half_open_interval = _HalfOpen
integer_interval = _WholeBetween

real = _AnyReal()
real_vector = _Lifted(real, 1)
boolean = _Bits()
one_hot = _Indicator()
simplex = _ProbabilityVector()
positive = _Above(0.0)
nonnegative = _AtLeast(0.0)
unit_interval = _Closed(0.0, 1.0)
lower_cholesky = _TriangularFactor()
positive_definite = _SymmetricPositive()
nonnegative_integer = _WholeAtLeast(0)
positive_integer = _WholeAtLeast(1)

# matrix, count and composite constraints live in their own module
from ._constraints_more import (MixtureSameFamilyConstraint, cat, corr_cholesky,  # noqa: E402
                                lower_triangular, multinomial, positive_semidefinite, square,
                                stack, symmetric)

__all__ += ["MixtureSameFamilyConstraint", "cat", "corr_cholesky", "lower_triangular",
            "multinomial", "positive_semidefinite", "square", "stack", "symmetric"]
