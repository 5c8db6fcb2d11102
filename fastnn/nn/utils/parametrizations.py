"""Ready-made parametrizations: ``orthogonal``, ``weight_norm`` and ``spectral_norm``.

Each registers a parametrization module through ``parametrize.register_parametrization``,
so the trained tensors live under ``module.parametrizations.<name>`` with the same state_dict
keys as PyTorch's.
"""
import importlib
from enum import Enum, auto

import numpy as np

from ... import _creation
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor, _wrap
from .. import functional as F
from ..modules.module import Module
from .parametrize import register_parametrization
from .weight_norm import _weight_norm, norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ---- orthogonal ------------------------------------------------------------------------
class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


def _top():
    # the fastnn package itself, looked up late: it is still loading when this module is
    return importlib.import_module("...", __package__)


def _eye(n, k, like):
    return _creation.eye(n, k, dtype=like.dtype)


def householder_product(A, tau):
    """The first k columns of H_0 H_1 ... H_{k-1}, H_i = I - tau_i v_i v_i^T (LAPACK's
    convention: v_i is column i of ``A`` below the diagonal, with an implicit 1 on it)."""
    n, k = A.shape[-2], A.shape[-1]
    below = A.tril(-1) + _eye(n, k, A)
    q = _eye(n, k, A).expand(*A.shape[:-2], n, k)
    # applied right to left, each reflection costs O(n k) instead of forming n x n matrices
    for i in reversed(range(tau.shape[-1])):
        v = below[..., :, i:i + 1]
        q = q - (tau[..., i:i + 1].unsqueeze(-1) * v) @ (v.mT @ q)
    return q


def _geqrf(a):
    """LAPACK-style Householder QR of a real numpy matrix stack: (reflectors and R, tau)."""
    a = np.array(a, dtype=a.dtype, copy=True)
    n, k = a.shape[-2:]
    tau = np.zeros(a.shape[:-2] + (min(n, k),), a.dtype)
    for idx in np.ndindex(*a.shape[:-2]):
        m = a[idx]
        for j in range(min(n, k)):
            alpha, tail = m[j, j], m[j + 1:, j]
            xnorm = np.linalg.norm(tail)
            if xnorm == 0:
                continue  # tau stays exactly 0: no reflection
            beta = -np.copysign(np.hypot(alpha, xnorm), alpha)
            tau[idx + (j,)] = (beta - alpha) / beta
            tail /= alpha - beta
            v = np.concatenate([[1.0], tail])
            rest = m[j:, j + 1:]
            rest -= tau[idx + (j,)] * np.outer(v, v @ rest)
            m[j, j] = beta
    return a, tau


def _make_orthogonal(A):
    """The Q of A's QR decomposition, signed so that R has a positive diagonal."""
    q, r = _qr(A)
    return q * r.diagonal(dim1=-2, dim2=-1).sign().unsqueeze(-2)


def _qr(A):
    from ... import linalg
    return linalg.qr(A)


def _is_orthogonal(Q):
    n, k = Q.shape[-2], Q.shape[-1]
    tol = 10.0 * n * float(np.finfo(Q.detach().numpy().dtype).eps)
    return bool(np.allclose((Q.mT @ Q).detach().numpy(), np.eye(k), atol=tol))


class _Orthogonal(Module):
    def __init__(self, weight, orthogonal_map, *, use_trivialization=True):
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex "
                             "tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X):
        n, k = X.shape[-2], X.shape[-1]
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map == _OrthMaps.householder:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            # the diagonal's integer part carries the sign of each column
            Q = householder_product(A, tau) * X.diagonal(dim1=-2, dim2=-1).int() \
                .to(X.dtype).unsqueeze(-2)
        else:
            X = X.tril()
            if n != k:
                pad = _creation.zeros(*X.shape[:-1], n - k, dtype=X.dtype)
                X = _top().cat([X, pad], dim=-1)
            A = X - X.mT  # skew-symmetric
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                from ... import linalg
                Q = linalg.matrix_exp(A)
            else:
                from ... import linalg
                eye = _eye(n, n, A)
                Q = linalg.solve(eye - 0.5 * A, eye + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        if getattr(self, "base", None) is not None:
            Q = self.base @ Q
        return Q.mT if transposed else Q

    def right_inverse(self, Q):
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {Q.shape}.")
            Q_init = Q
            n, k = Q.shape[-2], Q.shape[-1]
            transposed = n < k
            if transposed:
                Q = Q.mT
                n, k = k, n
            if "base" not in self._buffers:
                if self.orthogonal_map != _OrthMaps.householder:
                    raise NotImplementedError("It is not possible to assign to the matrix "
                                              "exponential or the Cayley parametrizations when "
                                              "use_trivialization=False.")
                a, tau = _geqrf(Q.detach().numpy())
                # diagonal = sign of R's diagonal, flipped where no reflection was used, so
                # that forward() reproduces Q
                d = np.sign(np.diagonal(a, axis1=-2, axis2=-1)).copy()
                d[tau == 0] *= -1
                idx = np.arange(min(n, k))
                a[..., idx, idx] = d
                A = _wrap(a)
                return A.mT if transposed else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:
                # extend the tall Q with random columns to a square orthogonal basis
                extra = _creation.randn(*Q.shape[:-1], n - k, dtype=Q.dtype)
                Q = _make_orthogonal(_top().cat([Q, extra], dim=-1))
            self.base = Q
            # -I maps to the identity under all three maps (householder reads the diagonal)
            neg_eye = _creation.zeros_like(Q_init)
            neg_eye.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
            return neg_eye


def orthogonal(module, name="weight", orthogonal_map=None, *, use_trivialization=True):
    """Constrain ``module.<name>`` to orthogonal (or semi-orthogonal) matrices; returns module.

    ``orthogonal_map`` is ``"matrix_exp"``, ``"cayley"`` or ``"householder"`` (default:
    matrix_exp for square matrices, householder otherwise).
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.dim() < 2:
        raise ValueError("Expected a matrix or batch of matrices. Got a tensor of "
                         f"{weight.dim()} dimensions.")
    if orthogonal_map is None:
        square = weight.shape[-2] == weight.shape[-1]
        orthogonal_map = "matrix_exp" if square or weight.is_complex() else "householder"
    kind = _OrthMaps.__members__.get(orthogonal_map) if isinstance(orthogonal_map, str) else None
    if kind is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, kind, use_trivialization=use_trivialization)
    register_parametrization(module, name, orth, unsafe=True)
    return module


# ---- weight_norm -----------------------------------------------------------------------
class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def _weight_norm_compat_hook(name, dim):
    """Loads checkpoints of the hook form (``<name>_g``/``<name>_v``) into the new layout."""
    def hook(state_dict, prefix, *args):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)
    return hook


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as ``g * v / ||v||``; returns module.

    ``g`` is ``parametrizations.<name>.original0`` and ``v`` is ``original1``; ``dim`` is
    the dimension kept by the norm (``None``: the whole tensor).
    """
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    register = getattr(module, "_register_load_state_dict_pre_hook", None)
    if register is not None:
        register(_weight_norm_compat_hook(name, dim), with_module=False)
    return module


# ---- spectral_norm ---------------------------------------------------------------------
class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            u = _creation.empty(h, dtype=mat.dtype).normal_(0, 1)
            v = _creation.empty(w, dtype=mat.dtype).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # a good estimate from the start: many steps once, then n per training forward
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.dim()) if d != self.dim])
        return weight.flatten(1)

    def _power_method(self, mat, n_power_iterations):
        # in place into the buffers, outside autograd, as the estimate is state not a weight
        with no_grad():
            for _ in range(n_power_iterations):
                F.normalize(mat.mv(self._v), dim=0, eps=self.eps, out=self._u)
                F.normalize(mat.mT.mv(self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight):
        if weight.dim() == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        # snapshots: the next refinement must not alter what this graph was built from
        u, v = self._u.clone(), self._v.clone()
        sigma = u.dot(mat.mv(v))
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm, estimated by power iteration with
    buffers ``_u``/``_v``; returns module."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..modules.conv import _ConvTransposeNd
        dim = 1 if isinstance(module, _ConvTransposeNd) else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
