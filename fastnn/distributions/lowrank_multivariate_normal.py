"""The multivariate Normal with a low-rank plus diagonal covariance W W^T + diag(D).

Densities use the Woodbury identity and the matrix determinant lemma through the m x m
"capacitance" matrix C = I + W^T D^-1 W (m = rank), so no n x n factorisation is needed."""
import math

import fastnn

from . import constraints
from .distribution import CentredAtLoc, Distribution
from .multivariate_normal import _batch_mv, _mahalanobis
from .utils import _standard_normal, lazy_property

__all__ = ["LowRankMultivariateNormal"]

_LOG_2PI = math.log(2 * math.pi)


def _capacitance_tril(w, d):
    """Cholesky factor of I + W^T D^-1 W."""
    m = w.shape[-1]
    scaled = w.mT / d.unsqueeze(-2)
    cap = fastnn.matmul(scaled, w) + fastnn.eye(m, dtype=w.dtype)
    return fastnn.linalg.cholesky(cap)


def _lowrank_logdet(w, d, cap_tril):
    """log det(W W^T + D) = log det C + log det D."""
    return 2 * cap_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1) + d.log().sum(-1)


def _lowrank_mahalanobis(w, d, x, cap_tril):
    """x^T (W W^T + D)^-1 x via Woodbury: x^T D^-1 x - |C_L^-1 W^T D^-1 x|^2."""
    projected = _batch_mv(w.mT / d.unsqueeze(-2), x)
    return (x.pow(2) / d).sum(-1) - _mahalanobis(cap_tril, projected)


class LowRankMultivariateNormal(CentredAtLoc, Distribution):
    """LowRankMultivariateNormal(loc, cov_factor, cov_diag): covariance
    cov_factor @ cov_factor^T + diag(cov_diag); ``rsample`` is loc + W e1 + sqrt(D) e2."""
    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True
    _tensor_params = ("loc", "cov_factor", "cov_diag")

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event = tuple(loc.shape[-1:])
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != event:
            raise ValueError(f"cov_factor must be a batch of matrices with shape {event[0]} x m")
        if tuple(cov_diag.shape[-1:]) != event:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {fastnn.Size(event)}")
        loc_col, w, d_col = fastnn.broadcast_tensors(loc.unsqueeze(-1), cov_factor,
                                                     cov_diag.unsqueeze(-1))
        self.loc, self.cov_factor, self.cov_diag = loc_col[..., 0], w, d_col[..., 0]
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)
        super().__init__(self.loc.shape[:-1], event, validate_args=validate_args)

    def _expand_state(self, new, batch_shape):
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril


    @lazy_property
    def variance(self):
        diag = self._unbroadcasted_cov_factor.pow(2).sum(-1) + self._unbroadcasted_cov_diag
        return diag.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    @lazy_property
    def scale_tril(self):
        n = self._event_shape[0]
        root_d = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        whitened = self._unbroadcasted_cov_factor / root_d
        inner = fastnn.matmul(whitened, whitened.mT) + fastnn.eye(n, dtype=root_d.dtype)
        tril = root_d * fastnn.linalg.cholesky(inner)
        return tril.expand(tuple(self._batch_shape) + (n, n))

    @lazy_property
    def covariance_matrix(self):
        w = self._unbroadcasted_cov_factor
        cov = fastnn.matmul(w, w.mT) + fastnn.diag_embed(self._unbroadcasted_cov_diag)
        n = self._event_shape[0]
        return cov.expand(tuple(self._batch_shape) + (n, n))

    @lazy_property
    def precision_matrix(self):
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        a = fastnn.linalg.solve_triangular(self._capacitance_tril, w.mT / d.unsqueeze(-2),
                                           upper=False)
        prec = fastnn.diag_embed(d.reciprocal()) - fastnn.matmul(a.mT, a)
        n = self._event_shape[0]
        return prec.expand(tuple(self._batch_shape) + (n, n))

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        w = self._unbroadcasted_cov_factor
        e_w = _standard_normal(shape[:-1] + tuple(w.shape[-1:]), dtype=self.loc.dtype)
        e_d = _standard_normal(shape, dtype=self.loc.dtype)
        return self.loc + _batch_mv(w, e_w) + self._unbroadcasted_cov_diag.sqrt() * e_d

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        maha = _lowrank_mahalanobis(w, d, value - self.loc, self._capacitance_tril)
        logdet = _lowrank_logdet(w, d, self._capacitance_tril)
        return -0.5 * (self._event_shape[0] * _LOG_2PI + logdet + maha)

    def entropy(self):
        logdet = _lowrank_logdet(self._unbroadcasted_cov_factor,
                                 self._unbroadcasted_cov_diag, self._capacitance_tril)
        h = 0.5 * (self._event_shape[0] * (1.0 + _LOG_2PI) + logdet)
        return h.expand(tuple(self._batch_shape))
