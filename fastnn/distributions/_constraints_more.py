"""Matrix, count and composite constraints: square, symmetric, positive_semidefinite,
lower_triangular, corr_cholesky, multinomial, cat and stack (re-exported by
fastnn.distributions.constraints)."""
import fastnn

from .constraints import Constraint, lower_cholesky


def _per_matrix(ok):
    return ok.all(-1).all(-1)


class _Square(Constraint):
    _title = "Square"
    event_dim = 2

    def check(self, value):
        square = value.shape[-2] == value.shape[-1]
        return fastnn.full(tuple(value.shape[:-2]), square, dtype=fastnn.bool)


class _Symmetric(_Square):
    """Square and equal to its transpose up to atol 1e-6 (and isclose's rtol)."""
    _title = "Symmetric"

    def check(self, value):
        square = super().check(value)
        if not bool(square.all()):
            return square
        return _per_matrix(fastnn.isclose(value, value.mT, atol=1e-6))


class _PositiveSemidefinite(_Symmetric):
    _title = "PositiveSemidefinite"

    def check(self, value):
        symmetric = super().check(value)
        if not bool(symmetric.all()):
            return symmetric
        return (fastnn.linalg.eigvalsh(value) >= 0).all(-1)


class _LowerTriangular(Constraint):
    _title = "LowerTriangular"
    event_dim = 2

    def check(self, value):
        return _per_matrix(value.tril() == value)


class _CorrCholesky(Constraint):
    """Cholesky factors of correlation matrices: lower triangular, positive diagonal, rows
    of unit norm (to a tolerance of 10 eps per column)."""
    _title = "CorrCholesky"
    event_dim = 2

    def check(self, value):
        if value.dim() == 0:
            raise IndexError("Dimension specified as -1 but tensor has no dimensions")
        tol = fastnn.finfo(value.dtype).eps * value.shape[-1] * 10
        row_norm = fastnn.linalg.norm(value.detach(), dim=-1)
        unit_rows = ((row_norm - 1.0).abs() <= tol).all(-1)
        return lower_cholesky.check(value) & unit_rows


class _Multinomial(Constraint):
    """Nonnegative counts adding up to at most ``upper_bound``."""
    _title = "Multinomial"
    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, x):
        return (x >= 0).all(-1) & (x.sum(-1) <= self.upper_bound)


class _Cat(Constraint):
    """Constraint ``cseq[i]`` on the i-th block (of ``lengths[i]``, default 1) along ``dim``."""
    _title = "_Cat"

    def __init__(self, cseq, dim=0, lengths=None):
        self.cseq = list(cseq)
        self.lengths = [1] * len(self.cseq) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.cseq):
            raise ValueError("cat: expected one length per constraint")
        self.dim = dim

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        return max(c.event_dim for c in self.cseq)

    def check(self, value):
        checks, start = [], 0
        for constraint, length in zip(self.cseq, self.lengths):
            checks.append(constraint.check(value.narrow(self.dim, start, length)))
            start += length
        return fastnn.cat(checks, self.dim)


class _Stack(Constraint):
    """Constraint ``cseq[i]`` on the i-th slice along ``dim``."""
    _title = "_Stack"

    def __init__(self, cseq, dim=0):
        self.cseq = list(cseq)
        self.dim = dim

    @property
    def is_discrete(self):
        return any(c.is_discrete for c in self.cseq)

    @property
    def event_dim(self):
        dim = max(c.event_dim for c in self.cseq)
        return dim + 1 if self.dim - dim < 0 else dim

    def check(self, value):
        if not -value.dim() <= self.dim < value.dim():
            raise IndexError(f"stack: dim {self.dim} out of range for {value.dim()} dims")
        slices = [value.select(self.dim, i) for i in range(value.size(self.dim))]
        return fastnn.stack([c.check(v) for v, c in zip(slices, self.cseq)], self.dim)


class MixtureSameFamilyConstraint(Constraint):
    """The support of a MixtureSameFamily: ``base_constraint`` (the components' support)
    checked on a value broadcast against the component dimension, then required for every
    component."""
    _title = "MixtureSameFamilyConstraint"

    def __init__(self, base_constraint):
        if not isinstance(base_constraint, Constraint):  # PyTorch's type (an assert there)
            raise AssertionError(f"base_constraint must be a Constraint, got "
                                 f"{type(base_constraint).__name__}")
        self.base_constraint = base_constraint

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim

    def check(self, value):
        event_dim = self.event_dim
        per_component = self.base_constraint.check(value.unsqueeze(-1 - event_dim))
        kept = value.dim() - event_dim  # the batch dims of value, before the component one
        return per_component.reshape(tuple(per_component.shape[:kept]) + (-1,)).all(-1)

    def _details(self):
        return repr(self.base_constraint)


cat = _Cat
stack = _Stack
multinomial = _Multinomial
square = _Square()
symmetric = _Symmetric()
positive_semidefinite = _PositiveSemidefinite()
lower_triangular = _LowerTriangular()
corr_cholesky = _CorrCholesky()
