"""LU factorization with partial pivoting and the functions built on it: linalg.lu_factor(_ex),
linalg.lu, linalg.lu_solve, linalg.solve_ex, and the older fastnn.lu / lu_unpack / lu_solve.

numpy has no getrf, so the factorization is a column-by-column elimination vectorised over
the batch; the pivot is the first entry of largest magnitude, as LAPACK chooses it, so the
1-based int32 pivots agree with PyTorch's. Only the packed LU carries a gradient (node below);
L, U, lu_solve and solve_ex are differentiable compositions of it and triangular solves.
"""
import numpy as np

from .autograd.function import apply
from .autograd.node import Node
from .autograd.ops_decomp import LinAlgError, _T, solve_tri
from ._functions_linalg import return_type, linalg_solve, linalg_solve_triangular
from ._linalg_checks import _Tensor, _wrap, _prefix, check_matrix, batch_shape, same_dtype

__all__ = ["lu", "lu_unpack", "lu_solve"]

_lu_factor_rt = return_type("linalg_lu_factor", ["LU", "pivots"])
_lu_factor_ex_rt = return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_linalg_lu_rt = return_type("linalg_lu", ["P", "L", "U"])
_lu_unpack_rt = return_type("lu_unpack", ["P", "L", "U"])
_solve_ex_rt = return_type("linalg_solve_ex", ["result", "info"])


def lu_packed(a):
    """(LU, pivots, info) of a stack (..., m, n): L's strict lower part and U packed in one
    array, pivots 1-based int32 (..., min(m, n)), info = first zero pivot (1-based) or 0."""
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    count = int(np.prod(batch, dtype=np.int64))
    lu = a.reshape((count, m, n)).copy()
    rows = np.arange(count)
    piv = np.empty((count, k), np.int32)
    info = np.zeros(count, np.int32)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(k):
            p = np.argmax(np.abs(lu[:, j:, j]), axis=1) + j
            piv[:, j] = p + 1
            top = lu[rows, j, :].copy()
            lu[rows, j, :] = lu[rows, p, :]
            lu[rows, p, :] = top
            d = lu[:, j, j]
            zero = d == 0
            info[(info == 0) & zero] = j + 1
            # a zero pivot leaves its (all-zero) column unscaled, as LAPACK does
            lu[:, j + 1:, j] /= np.where(zero, 1, d)[:, None]
            lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(a.shape), piv.reshape(batch + (k,)), info.reshape(batch)


def permutation(piv, m):
    """perm (..., m) with A[..., perm, :] = L U, from LAPACK's sequence of row swaps."""
    count = int(np.prod(piv.shape[:-1], dtype=np.int64))
    flat = piv.reshape((count, piv.shape[-1])).astype(np.int64) - 1
    perm = np.broadcast_to(np.arange(m), (flat.shape[0], m)).copy()
    rows = np.arange(flat.shape[0])
    for j in range(flat.shape[1]):
        p = flat[:, j]
        top = perm[rows, j].copy()
        perm[rows, j] = perm[rows, p]
        perm[rows, p] = top
    return perm.reshape(piv.shape[:-1] + (m,))


class LinalgLuFactorExBackward0(Node):
    """A = P L U, with L (m x k) unit lower, U (k x n) upper, k = min(m, n). With B = P^T A
    split at k: for X = L1^-1 dB11 U1^-1, L1^-1 dL1 = tril(X, -1) and dU1 U1^-1 = triu(X); the
    off-square blocks follow from dU2 = L1^-1 (dB12 - dL1 U2) and dL2 = (dB21 - L2 dU1) U1^-1."""

    def forward(self, a, extra):
        lu, piv, info = lu_packed(a)
        extra.extend((piv, info))
        self.save(lu)
        self.perm = permutation(piv, a.shape[-2]) if self._next is not None else None
        return lu

    def backward(self, g):
        lu = self.saved[0]
        m, n = lu.shape[-2:]
        k = min(m, n)
        low = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=lu.dtype)
        up = np.triu(lu[..., :k, :])
        gl, gu = np.tril(g[..., :, :k], -1), np.triu(g[..., :k, :])
        l1, l2, gl1, gl2 = low[..., :k, :], low[..., k:, :], gl[..., :k, :], gl[..., k:, :]
        u1, u2, gu1, gu2 = up[..., :k], up[..., k:], gu[..., :k], gu[..., k:]
        mid = np.tril(_T(l1) @ gl1 - gu2 @ _T(u2), -1) + np.triu(gu1 @ _T(u1) - _T(l2) @ gl2)

        def left_lt(x):   # L1^-T x
            return solve_tri(_T(l1), x, True)

        def right_ut(x):  # x U1^-T
            return _T(solve_tri(u1, _T(x), True))
        gb = np.empty(np.broadcast_shapes(lu.shape, g.shape), lu.dtype)
        gb[..., :k, :k] = right_ut(left_lt(mid))
        gb[..., :k, k:] = left_lt(gu2)
        gb[..., k:, :k] = right_ut(gl2)
        inverse = np.argsort(self.perm, axis=-1)
        return (np.take_along_axis(gb, inverse[..., :, None], axis=-2),)


def _check_pivot(fn, pivot):
    if not pivot:
        raise RuntimeError(f"{fn}: LU without pivoting is not implemented on the CPU")


def _factor(A, fn="linalg.lu_factor"):
    if isinstance(A, _Tensor()) and A.dim() < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got "
                           f"size: {list(A.shape)} instead")
    check_matrix(fn, A, square=False, int_kernel="lu_cpu", half_kernel="lu_cpu")
    extra = []
    LU = apply(LinalgLuFactorExBackward0, (A,), extra)
    return LU, extra[0], extra[1]


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """(LU, pivots, info): info > 0 gives the first zero pivot of U (1-based)."""
    _check_pivot("linalg.lu_factor", pivot)
    LU, piv, info = _factor(A)
    if check_errors and info.any():
        _raise_singular("torch.linalg.lu_factor_ex", info)
    result = _lu_factor_ex_rt(LU, _wrap(piv), _wrap(info))
    return result if out is None else _copy_out(out, result)


def _raise_singular(fn, info):
    i = int(np.argmax(info.reshape(-1) != 0))
    k = int(info.reshape(-1)[i])
    raise RuntimeError(f"{fn}: {_prefix(info.shape + (0, 0), i)}U[{k},{k}] is zero and using "
                      "it on lu_solve would result in a division by zero. If you still want "
                      "to perform the factorization, consider calling linalg.lu(A, pivot) or "
                      "linalg.lu_factor_ex(A, pivot)")


def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots) of A = P L U; RuntimeError when U has a zero on its diagonal."""
    _check_pivot("linalg.lu_factor", pivot)
    LU, piv, info = _factor(A)
    if info.any():
        _raise_singular("torch.linalg.lu_factor", info)
    result = _lu_factor_rt(LU, _wrap(piv))
    return result if out is None else _copy_out(out, result)


def _copy_out(outs, result):
    from ._functions import _into
    for o, r in zip(outs, result):
        _into(o, r, "linalg_lu")
    return type(result)(*outs)


def _unpack_factors(LU):
    from ._creation import eye
    m, n = LU.shape[-2:]
    k = min(m, n)
    L = LU[..., :, :k].tril(-1) + eye(m, k, dtype=LU.dtype)
    U = LU[..., :k, :].triu()
    return L, U


def _permutation_matrix(piv, m, dtype):
    perm = permutation(piv, m)
    P = np.zeros(perm.shape + (m,), dtype)
    np.put_along_axis(P, perm[..., None, :], 1, axis=-2)  # P[perm[i], i] = 1
    return _wrap(P)


def linalg_lu(A, *, pivot=True, out=None):
    """(P, L, U) with A = P L U; P a permutation matrix, L unit lower, U upper."""
    _check_pivot("linalg.lu", pivot)
    LU, piv, _ = _factor(A, "linalg.lu")
    L, U = _unpack_factors(LU)
    result = _linalg_lu_rt(_permutation_matrix(piv, A.shape[-2], A._data.dtype), L, U)
    return result if out is None else _copy_out(out, result)


def lu(A, pivot=True, get_infos=False, out=None):
    """(LU, pivots) or, with get_infos, (LU, pivots, infos) of A = P L U."""
    _check_pivot("linalg.lu_factor", pivot)
    LU, piv, info = _factor(A)
    result = (LU, _wrap(piv), _wrap(info)) if get_infos else (LU, _wrap(piv))
    if out is not None:
        from ._functions import _into
        for o, r in zip(out, result):
            _into(o, r, "lu")
        return tuple(out)
    return result


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) from lu_factor's packed (LU, pivots); the parts not asked for are empty."""
    check_matrix("lu_unpack", LU_data, name="LU_data", square=False)
    if not isinstance(LU_pivots, _Tensor()):
        raise TypeError(f"lu_unpack(): argument 'LU_pivots' (position 2) must be Tensor, not "
                        f"{type(LU_pivots).__name__}")
    if LU_pivots._data.dtype != np.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor "
                           "of torch.int32 dtype.\nNote: this function is intended to be used "
                           "with the output produced by torch.linalg.lu_factor")
    empty = _wrap(np.zeros((0,), LU_data._data.dtype))
    L, U = _unpack_factors(LU_data) if unpack_data else (empty, empty)
    P = _permutation_matrix(LU_pivots._data, LU_data.shape[-2], LU_data._data.dtype) \
        if unpack_pivots else empty
    result = _lu_unpack_rt(P, L, U)
    return result if out is None else _copy_out(out, result)


def _gather_rows(X, order):
    """X[..., order[i], :] per batch element (order: an int array over the batch)."""
    from ._creation import tensor
    idx = np.broadcast_to(order[..., :, None], tuple(X.shape[:-1]) + (X.shape[-1],))
    return X.gather(-2, tensor(np.ascontiguousarray(idx)))


def linalg_lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """X with A X = B (A^T X = B when adjoint; X A = B or X A^T = B when not left), A = P L U
    given by lu_factor; differentiable in LU and B."""
    fn = "linalg.lu_solve"
    check_matrix(fn, LU, name="LU")
    check_matrix(fn, B, name="B", square=False)
    same_dtype(fn, LU, B, "LU", "B")
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B.shape[-2]}x"
                           f"{B.shape[-1]})")
    if pivots.dim() == 0 or pivots.shape[-1] != n:
        raise RuntimeError(f"{fn}: Number of pivots per batch should be same as the dimension "
                           "of the matrix")
    if pivots._data.size and (pivots._data.min() < 1 or pivots._data.max() > n):
        raise RuntimeError("Pivots given to lu_solve must all be greater or equal to 1. Did "
                           "you properly pass the result of lu_factor?" if
                           pivots._data.min() < 1 else "Pivots given to lu_solve must all be "
                           "smaller or equal to LU.size(-2). Did you properly pass the result "
                           "of lu_factor?")
    if not left:  # X A = B is A^T X^T = B^T; X A^T = B is A X^T = B^T
        X = linalg_lu_solve(LU, pivots, B.mT, adjoint=not adjoint).mT
        return X if out is None else _into_out(out, X)
    batch = tuple(batch_shape(fn, tuple(LU.shape[:-2]), tuple(B.shape[:-2])))
    LU = LU.expand(*batch, n, n) if tuple(LU.shape[:-2]) != batch else LU
    B = B.expand(*batch, *B.shape[-2:]) if tuple(B.shape[:-2]) != batch else B
    perm = np.broadcast_to(permutation(pivots._data, n), batch + (n,))
    if not adjoint:  # X = U^-1 L^-1 P^T B
        Y = linalg_solve_triangular(LU, _gather_rows(B, perm), upper=False, unitriangular=True)
        X = linalg_solve_triangular(LU, Y, upper=True)
    else:            # X = P L^-T U^-T B
        Y = linalg_solve_triangular(LU.mT, B, upper=False)
        Z = linalg_solve_triangular(LU.mT, Y, upper=True, unitriangular=True)
        X = _gather_rows(Z, np.argsort(perm, axis=-1))
    return X if out is None else _into_out(out, X)


def _into_out(out, X):
    from ._functions import _into
    return _into(out, X, "linalg_lu_solve")


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """X with A X = b for A = P L U given by fastnn.lu (the older argument order)."""
    return linalg_lu_solve(LU_data, LU_pivots, b, out=out)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(X, info) for A X = B (X A = B when not left); info > 0 marks a singular A (its X is
    then inf/nan instead of an error)."""
    check_matrix("linalg.solve", A)
    try:  # the common, regular case: one LAPACK solve, info all zeros
        X = linalg_solve(A, B, left=left)
        info = np.zeros(A.shape[:-2], np.int32)
        return _solve_ex_rt(X, _wrap(info)) if out is None else \
            _copy_out(out, _solve_ex_rt(X, _wrap(info)))
    except LinAlgError:
        pass
    _, _, info = lu_packed(A._data)  # singular somewhere: which pivot, per matrix
    if check_errors and info.any():
        i = int(np.argmax(info.reshape(-1) != 0))
        raise LinAlgError(f"torch.linalg.solve_ex: {_prefix(A.shape, i)}The solver failed "
                          "because the input matrix is singular.")
    if info.any():
        vector = B.dim() == 1 or (B.dim() == A.dim() - 1 and
                                  tuple(B.shape) == tuple(A.shape[:-1]))
        B2 = B.unsqueeze(-1) if vector else B
        LU, piv, _ = _factor(A, "linalg.solve")
        X = linalg_lu_solve(LU, _wrap(piv), B2, left=left)
        X = X.squeeze(-1) if vector else X
    else:
        X = linalg_solve(A, B, left=left)
    result = _solve_ex_rt(X, _wrap(info))
    return result if out is None else _copy_out(out, result)
