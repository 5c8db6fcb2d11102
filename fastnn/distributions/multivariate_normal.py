"""The multivariate Normal distribution, parametrised by a covariance, a precision or a
lower-triangular scale factor (all reduced to the Cholesky factor L, Sigma = L L^T)."""
import math

import fastnn
from fastnn import Size

from . import constraints
from .distribution import CentredAtLoc, Distribution
from .utils import _standard_normal, lazy_property

__all__ = ["MultivariateNormal"]

_LOG_2PI = math.log(2 * math.pi)
_MATRIX_NAMES = ("covariance_matrix", "precision_matrix", "scale_tril")


def _batch_mv(mat, vec):
    """Matrix-vector product over broadcast batch dims: (..., n, n) @ (..., n)."""
    return fastnn.matmul(mat, vec.unsqueeze(-1)).squeeze(-1)


def _solve_lower(tril, rhs):
    """L^{-1} rhs for lower-triangular L, broadcasting their batch dims (differentiable)."""
    # a value of another float dtype is solved in the factor's dtype (the result's, as in
    # PyTorch), not rejected as a dtype mismatch
    return fastnn.linalg.solve_triangular(tril, rhs.to(tril.dtype), upper=False)


def _mahalanobis(tril, diff):
    """|L^{-1} diff|^2 = diff^T Sigma^{-1} diff, over the broadcast batch."""
    return _solve_lower(tril, diff.unsqueeze(-1)).squeeze(-1).pow(2).sum(-1)


def _half_log_det(tril):
    """log sqrt(det Sigma) = sum log diag(L)."""
    return tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)


class MultivariateNormal(CentredAtLoc, Distribution):
    """MultivariateNormal(loc, covariance_matrix=None, precision_matrix=None,
    scale_tril=None): density N(x; mu, Sigma) over vectors (event_shape (n,)); exactly one
    matrix is given. ``rsample`` is mu + L eps, so gradients reach loc and the matrix."""
    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    _tensor_params = ("loc",) + _MATRIX_NAMES

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        chosen = [(name, m) for name, m in zip(
            _MATRIX_NAMES, (covariance_matrix, precision_matrix, scale_tril)) if m is not None]
        if len(chosen) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        name, matrix = chosen[0]
        if matrix.dim() < 2:
            label = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{label} must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        batch = Size(fastnn.broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1])))
        setattr(self, name, matrix.expand(tuple(batch) + tuple(matrix.shape[-2:])))
        self.loc = loc.expand(tuple(batch) + tuple(loc.shape[-1:]))
        super().__init__(batch, loc.shape[-1:], validate_args=validate_args)
        # the factor keeps the user's (possibly smaller) batch shape: cheaper solves
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = fastnn.linalg.cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = fastnn.linalg.cholesky(fastnn.linalg.inv(matrix))

    def _expand_state(self, new, batch_shape):
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril

    def _full_matrix(self, m):
        return m.expand(tuple(self._batch_shape) + tuple(m.shape[-2:]))

    @lazy_property
    def scale_tril(self):
        return self._full_matrix(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return self._full_matrix(fastnn.matmul(tril, tril.mT))

    @lazy_property
    def precision_matrix(self):
        # Sigma^{-1} = L^{-T} L^{-1}
        tril = self._unbroadcasted_scale_tril
        eye = fastnn.eye(tril.shape[-1], dtype=tril.dtype)
        inv_tril = _solve_lower(tril, eye)
        return self._full_matrix(fastnn.matmul(inv_tril.mT, inv_tril))


    @property
    def variance(self):
        # diag(L L^T)_i = sum_j L_ij^2
        per_dim = self._unbroadcasted_scale_tril.pow(2).sum(-1)
        return per_dim.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=()):
        eps = _standard_normal(self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + _batch_mv(self._unbroadcasted_scale_tril, eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        tril = self._unbroadcasted_scale_tril
        dist2 = _mahalanobis(tril, value - self.loc)
        n = self._event_shape[0]
        return -0.5 * (n * _LOG_2PI + dist2) - _half_log_det(tril)

    def entropy(self):
        """H = n/2 (1 + log 2 pi) + log sqrt(det Sigma)."""
        n = self._event_shape[0]
        h = 0.5 * n * (1.0 + _LOG_2PI) + _half_log_det(self._unbroadcasted_scale_tril)
        return h.expand(tuple(self._batch_shape))
