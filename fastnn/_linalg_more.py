"""More matrix functions: linalg.cond, Householder products (geqrf, orgqr, ormqr,
householder_product), tensorinv / tensorsolve, vander, adjoint, triangular_solve, and the
Cholesky-factor functions cholesky_inverse / cholesky_solve with their dense gradients.

Most are differentiable compositions of existing ops; geqrf is numpy's LAPACK QR ('raw' mode,
the same packed reflectors and tau as PyTorch's).
"""
import math

import numpy as np

from . import _dtype as D
from .autograd.function import apply
from .autograd.node import Node
from .autograd.ops_decomp import _T, solve_tri
from .autograd.ops_math import unbroadcast
from ._functions_linalg import (return_type, linalg_inv, linalg_inv_ex, linalg_solve,
                                linalg_solve_triangular, linalg_svdvals)
from ._linalg_checks import _Tensor, _wrap, check_matrix, batch_shape, with_out

__all__ = ["geqrf", "orgqr", "ormqr", "vander", "adjoint", "triangular_solve", "symeig"]

_geqrf_rt = return_type("geqrf", ["a", "tau"])
_triangular_solve_rt = return_type("triangular_solve", ["solution", "cloned_coefficient"])


# ---- condition number ------------------------------------------------------------------------
@with_out("linalg_cond", same_dtype=False)
def cond(A, p=None):
    """The condition number of A in the norm ``p``: s_max / s_min for None / 2 (s_min / s_max
    for -2, any shape); |A| |A^-1| for 'fro', 'nuc', +-1 and +-inf (square A, inf when A
    is singular)."""
    from .linalg import matrix_norm
    from ._creation import zeros
    if not isinstance(A, _Tensor()):
        raise TypeError(f"linalg.cond(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError("linalg.cond: The input tensor must have at least 2 dimensions.")
    spectral = p is None or p in (2, -2)
    if not spectral and p not in ("fro", "nuc", 1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    check_matrix("linalg.svd" if spectral else "linalg.inv", A, square=False)
    if not spectral:
        check_matrix(f"linalg.cond(ord={p})", A)
    if A.numel() == 0:
        result = zeros(tuple(A.shape[:-2]), dtype=A.dtype)
    elif spectral:
        s = linalg_svdvals(A)
        result = s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    else:
        from ._functions import where
        inverse, info = linalg_inv_ex(A)
        singular = info._data != 0
        if singular.any():  # their nan inverses are replaced, so the norms stay finite
            inverse = where(_wrap(singular[..., None, None]), A.new_zeros(()), inverse)
        result = matrix_norm(A, p) * matrix_norm(inverse, p)
        if singular.any():
            result = where(_wrap(singular), _wrap(np.array(np.inf, A._data.dtype)), result)
    return result


# ---- Householder reflectors ------------------------------------------------------------------
def geqrf(input, *, out=None):
    """(a, tau): LAPACK's packed QR, R in a's upper triangle and the Householder vectors
    below it, with their scales tau."""
    check_matrix("torch.geqrf", input, square=False, int_kernel="geqrf_cpu",
                 half_kernel="geqrf_cpu")
    extra = []
    a = apply(GeqrfBackward0, (input,), extra)
    result = _geqrf_rt(a, _wrap(extra[0]))
    if out is not None:
        from ._functions import _into
        return _geqrf_rt(*(_into(o, r, "geqrf") for o, r in zip(out, result)))
    return result


class GeqrfBackward0(Node):
    """geqrf's outputs have no gradient formula (as in PyTorch)."""

    def forward(self, a, extra):
        m, n = a.shape[-2:]
        flat = a.reshape((int(np.prod(a.shape[:-2], dtype=np.int64)), m, n))
        packed = np.empty_like(flat)
        tau = np.empty((flat.shape[0], min(m, n)), a.dtype)
        for i in range(flat.shape[0]):
            h, t = np.linalg.qr(flat[i], mode="raw")
            packed[i], tau[i] = h.T, t
        extra.append(tau.reshape(a.shape[:-2] + (min(m, n),)))
        return packed.reshape(a.shape)

    def backward(self, g):
        raise NotImplementedError("the derivative for 'geqrf' is not implemented.")


def _reflect(A, tau, C, left, transpose):
    """Q C, Q^T C, C Q or C Q^T for Q = H_1 ... H_k, H_i = I - tau_i v_i v_i^T, v_i the i-th
    column of A below the diagonal with a 1 on it."""
    from ._creation import eye
    m, k = A.shape[-2], tau.shape[-1]
    V = A[..., :, :k].tril(-1) + eye(m, k, dtype=A.dtype)
    # Q C applies H_k first; Q^T C and C Q apply H_1 first
    order = range(k) if transpose == left else range(k - 1, -1, -1)
    for i in order:
        v, t = V[..., :, i:i + 1], tau[..., i:i + 1].unsqueeze(-1)
        if left:
            C = C - v.matmul(v.mT.matmul(C)) * t
        else:
            C = C - C.matmul(v).matmul(v.mT) * t
    return C


def _check_reflectors(fn, A, tau):
    check_matrix(fn, A, name="input", square=False)
    if tau.dim() != A.dim() - 1:
        raise RuntimeError(f"{fn}: Expected tau to have one dimension less than input, but got "
                           f"tau.ndim equal to {tau.dim()} and input.ndim is equal to "
                           f"{A.dim()}")
    if A._data.dtype != tau._data.dtype:
        raise RuntimeError(f"{fn}: tau dtype {D.scalar_type_name(tau._data.dtype)} does not "
                           f"match input dtype {D.scalar_type_name(A._data.dtype)}")


@with_out("linalg_householder_product", same_dtype=False)
def householder_product(A, tau):
    """The first n columns of H_1 ... H_k (the Q of geqrf's (a, tau))."""
    from ._creation import eye
    fn = "torch.linalg.householder_product"
    _check_reflectors(fn, A, tau)
    m, n = A.shape[-2:]
    if m < n:
        raise RuntimeError(f"{fn}: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if n < tau.shape[-1]:
        raise RuntimeError(f"{fn}: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    C = eye(m, n, dtype=A.dtype).expand(*A.shape[:-2], m, n)
    result = _reflect(A, tau, C, True, False)
    return result


def orgqr(input, tau):
    """householder_product(input, tau)."""
    return householder_product(input, tau)


@with_out("ormqr", same_dtype=False)
def ormqr(input, tau, other, left=True, transpose=False):
    """Q other (Q^T other when transpose; other Q when not left), Q = the full m x m product
    of the reflectors of geqrf's (input, tau)."""
    fn = "torch.ormqr"
    _check_reflectors(fn, input, tau)
    check_matrix(fn, other, name="other", square=False)
    m = other.shape[-2] if left else other.shape[-1]
    if input.shape[-2] != m:
        side = "other.shape[-2]" if left else "other.shape[-1]"
        raise RuntimeError(f"{fn}: {side} must be equal to input.shape[-2]")
    if tau.shape[-1] != min(m, input.shape[-1]):  # PyTorch 2.x wants the full count
        raise RuntimeError(f"{fn}: tau.shape[-1] must be equal to min("
                           f"{'other.shape[-2]' if left else 'other.shape[-1]'}, "
                           "input.shape[-1])")
    result = _reflect(input, tau, other, bool(left), bool(transpose))
    return result


# ---- tensor inverses and solves --------------------------------------------------------------
@with_out("linalg_tensorinv", same_dtype=False)
def tensorinv(A, ind=2):
    """The tensor T with tensordot(T, A, ind) the identity: inv of A as a
    prod(shape[:ind]) x prod(shape[ind:]) matrix, reshaped to shape[ind:] + shape[:ind]."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = tuple(A.shape)
    rows, cols = math.prod(shape[:ind]), math.prod(shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    result = linalg_inv(A.reshape(rows, cols)).reshape(shape[ind:] + shape[:ind])
    return result


@with_out("linalg_tensorsolve", same_dtype=False)
def tensorsolve(A, B, dims=None):
    """X with tensordot(A, X, X.ndim) = B (the dims ``dims`` of A moved to the end first)."""
    if dims is not None:
        dims = [A._dim(d) for d in dims]
        A = A.movedim(dims, list(range(A.dim() - len(dims), A.dim())))
    shape = tuple(A.shape)
    result_shape = shape[B.dim():]
    rows, cols = math.prod(shape[:B.dim()]), math.prod(result_shape)
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim"
                           f":]) == prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    result = linalg_solve(A.reshape(rows, cols), B.reshape(rows)).reshape(result_shape)
    return result


# ---- Vandermonde matrices --------------------------------------------------------------------
def _powers(x, count):
    """x^0, x^1, ..., x^(count-1) as the last dim, by repeated products (exact gradient at 0)."""
    from ._functions import stack
    cols = [x.new_ones(x.shape)] if count else []
    for _ in range(1, count):
        cols.append(cols[-1] * x)
    if not cols:
        return x.new_zeros(tuple(x.shape) + (0,))
    return stack(cols, -1)


def linalg_vander(x, *, N=None):
    """x^0 ... x^(N-1) along a new last dim (N defaults to x.shape[-1]); batched."""
    if x._data.dtype == np.bool_:
        raise RuntimeError("linalg.vander supports floating point, complex, and integer "
                           "tensors, but got Bool")
    n = (x.shape[-1] if x.dim() else 0) if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    if x._data.dtype.kind in "iu":
        x = x.long()
    return _powers(x, n)


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D x: columns x^(N-1) ... x^0 (ascending when
    increasing); integer and bool inputs give int64."""
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "iub":
        x = x.long()
    result = _powers(x, n)
    return result if increasing else result.flip(-1)


def adjoint(input):
    """The conjugate transpose of the matrices (the transpose: fastnn is real), a view."""
    if input.dim() < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           f"matrices. Got {input.dim()}-D tensor.")
    return input.transpose(-2, -1)


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """(X, A's copy) with T X = b (T^T X = b when transpose), T the upper or lower triangle
    of A; batch dims broadcast, and the copy of A takes the broadcast shape."""
    if b.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 dimensions, "
                           f"but it has {b.dim()} dimensions instead")
    if A.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected A to have at least 2 dimensions, "
                           f"but it has {A.dim()} dimensions instead")
    if b._data.dtype == A._data.dtype and b._data.dtype.kind != "f":
        raise NotImplementedError(f"\"triangular_solve_cpu\" not implemented for "
                                  f"'{D.scalar_type_name(A._data.dtype)}'")
    if b._data.dtype != A._data.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{D.scalar_type_name(b._data.dtype)} and A of type "
                           f"{D.scalar_type_name(A._data.dtype)} instead.")
    m, n = A.shape[-2:]
    if m != n:
        raise RuntimeError(f"A must be batches of square matrices, but they are {m} by {n} "
                           "matrices")
    if b.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for triangular_solve: each A matrix is "
                           f"{n} by {n} but each b matrix is {b.shape[-2]} by {b.shape[-1]}")
    batch = tuple(batch_shape("triangular_solve", tuple(A.shape[:-2]), tuple(b.shape[:-2])))
    T, up = (A.mT, not upper) if transpose else (A, upper)
    X = linalg_solve_triangular(T, b, upper=bool(up), unitriangular=bool(unitriangular))
    X = X.expand(*batch, *X.shape[-2:]) if tuple(X.shape[:-2]) != batch else X
    copy = A.expand(*batch, n, n).clone()
    if out is not None:
        from ._functions import _into
        return _triangular_solve_rt(_into(out[0], X, "triangular_solve"),
                                    _into(out[1], copy, "triangular_solve"))
    return _triangular_solve_rt(X, copy)


def symeig(input, eigenvectors=False, upper=True, *, out=None):
    """Removed from PyTorch: raises, naming its replacements."""
    raise RuntimeError(
        "This function was deprecated since version 1.9 and is now removed. The default "
        "behavior has changed from using the upper triangular portion of the matrix by default "
        "to using the lower triangular portion.\n\nL, _ = torch.symeig(A, upper=upper) should "
        "be replaced with:\nL = torch.linalg.eigvalsh(A, UPLO='U' if upper else 'L')\n\nand\n\n"
        "L, V = torch.symeig(A, eigenvectors=True) should be replaced with:\nL, V = "
        "torch.linalg.eigh(A, UPLO='U' if upper else 'L')")


# ---- Cholesky-factor functions: the gradient is dense in the factor --------------------------
class CholeskyInverseBackward0(Node):
    """R = (L L^T)^-1 from L's triangle; for A = L L^T, gA = -R G R and the gradient of the
    whole of L (PyTorch's convention) is (gA + gA^T) L, or U (gA + gA^T) when upper."""

    def forward(self, f, upper):
        self.upper = upper
        tri = np.triu(f) if upper else np.tril(f)
        eye = np.broadcast_to(np.eye(f.shape[-1], dtype=f.dtype), f.shape)
        inv_tri = solve_tri(tri, eye, upper)
        r = inv_tri @ _T(inv_tri) if upper else _T(inv_tri) @ inv_tri
        self.save(f, r)
        return r

    def backward(self, g):
        f, r = self.saved
        ga = -(r @ (g + _T(g)) @ r)
        return ((f @ ga) if self.upper else (ga @ f),)


def _chol_solve(low, b):
    """(L L^T)^-1 b by two triangular solves (inf/nan rather than an error for a zero pivot)."""
    return solve_tri(_T(low), solve_tri(low, b, False), True)


class CholeskySolveBackward0(Node):
    """X = (L L^T)^-1 B: gB = (L L^T)^-1 G, gA = -gB X^T, and gL = (gA + gA^T) L (U (gA +
    gA^T) when upper), over the whole of L; batch dims broadcast."""

    def forward(self, b, f, upper):
        self.upper = upper
        self.meta = (b.shape, b.dtype, f.shape, f.dtype)
        tri = np.triu(f) if upper else np.tril(f)
        low = _T(tri) if upper else tri
        self.low = low
        x = _chol_solve(low, b)
        self.save(f, x)
        return x

    def backward(self, g):
        f, x = self.saved
        b_shape, b_dt, f_shape, f_dt = self.meta
        low = self.low
        gb = _chol_solve(low, g)
        gf = None
        if self.needs(1):
            sym = -(gb @ _T(x) + x @ _T(gb))
            gf = unbroadcast((f @ sym) if self.upper else (sym @ f), f_shape, f_dt)
        return (unbroadcast(gb, b_shape, b_dt) if self.needs(0) else None), gf


def cholesky_inverse_dense(L, upper):
    return apply(CholeskyInverseBackward0, (L,), bool(upper))


def cholesky_solve_dense(B, L, upper):
    return apply(CholeskySolveBackward0, (B, L), bool(upper))
