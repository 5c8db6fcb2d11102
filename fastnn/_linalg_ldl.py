"""linalg.ldl_factor(_ex) and linalg.ldl_solve: A = P L D L^T P^T for symmetric A with
Bunch-Kaufman diagonal pivoting (1x1 and 2x2 blocks in D), from A's lower triangle.

numpy has no sytrf, so the factorization follows LAPACK's unblocked lower algorithm step by
step (same pivot choices, same packed LD and pivot encoding: a positive pivot k marks a 1x1
block whose row was swapped with k, a pair of equal negative pivots -k a 2x2 block). The
matrices of a batch branch differently, so they are factored one at a time. Neither
function has a gradient (as in PyTorch).
"""
import math

import numpy as np

from .autograd.function import apply
from .autograd.node import Node
from .autograd.ops_decomp import LinAlgError
from ._functions_linalg import return_type
from ._linalg_checks import _wrap, _prefix, check_matrix, same_dtype, batch_shape

_ldl_factor_rt = return_type("linalg_ldl_factor", ["LD", "pivots"])
_ldl_factor_ex_rt = return_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])
_ALPHA = (1 + math.sqrt(17)) / 8  # Bunch-Kaufman's threshold for a 1x1 pivot


def _first_max(v):
    return int(np.argmax(np.abs(v)))


def _choose_pivot(a, k, n):
    """(kp, kstep): the row brought to k (or k+1) and the block size, per Bunch-Kaufman."""
    absakk = abs(a[k, k])
    imax = k + 1 + _first_max(a[k + 1:, k]) if k < n - 1 else k
    colmax = abs(a[imax, k]) if k < n - 1 else 0.0
    if max(absakk, colmax) == 0 or absakk != absakk:
        return None, 1
    if absakk >= _ALPHA * colmax:
        return k, 1
    jmax = k + _first_max(a[imax, k:imax])
    rowmax = abs(a[imax, jmax])
    if imax < n - 1:
        jmax = imax + 1 + _first_max(a[imax + 1:, imax])
        rowmax = max(rowmax, abs(a[jmax, imax]))
    if absakk >= _ALPHA * colmax * (colmax / rowmax):
        return k, 1
    if abs(a[imax, imax]) >= _ALPHA * rowmax:
        return imax, 1
    return imax, 2


def _swap_symmetric(a, kk, kp, k, kstep):
    """Interchange rows and columns kk and kp of the trailing lower triangle."""
    a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
    seg = a[kk + 1:kp, kk].copy()
    a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
    a[kp, kk + 1:kp] = seg
    a[[kk, kp], [kk, kp]] = a[[kp, kk], [kp, kk]]
    if kstep == 2:
        a[[k + 1, kp], k] = a[[kp, k + 1], k]


def ldl_one(a):
    """(LD, pivots 1-based, info) of one symmetric matrix, from its lower triangle."""
    a = np.tril(a).astype(a.dtype, copy=True)
    n = a.shape[0]
    piv = np.zeros(n, np.int32)
    info = 0
    k = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        while k < n:
            kp, kstep = _choose_pivot(a, k, n)
            if kp is None:  # a zero column: nothing to eliminate
                info = info or k + 1
                piv[k] = k + 1
                k += 1
                continue
            kk = k + kstep - 1
            if kp != kk:
                _swap_symmetric(a, kk, kp, k, kstep)
            if kstep == 1:
                if k < n - 1:
                    x, d11 = a[k + 1:, k].copy(), 1 / a[k, k]
                    a[k + 1:, k + 1:] = np.tril(a[k + 1:, k + 1:]
                                                + x[:, None] * (-d11 * x)[None, :])
                    a[k + 1:, k] = x * d11
                piv[k] = kp + 1
            else:
                if k < n - 2:
                    d21 = a[k + 1, k]
                    d11, d22 = a[k + 1, k + 1] / d21, a[k, k] / d21
                    d21 = (1 / (d11 * d22 - 1)) / d21
                    xk, xk1 = a[k + 2:, k].copy(), a[k + 2:, k + 1].copy()
                    wk = d21 * (d11 * xk - xk1)
                    wkp1 = d21 * (d22 * xk1 - xk)
                    a[k + 2:, k + 2:] = np.tril(a[k + 2:, k + 2:] - xk[:, None] * wk[None, :]
                                                - xk1[:, None] * wkp1[None, :])
                    a[k + 2:, k], a[k + 2:, k + 1] = wk, wkp1
                piv[k] = piv[k + 1] = -(kp + 1)
            k += kstep
    return a, piv, info


class LinalgLdlFactorExBackward0(Node):
    """The factorization, with no derivative (as in PyTorch)."""

    def forward(self, a, extra):
        n = a.shape[-1]
        flat = a.reshape((int(np.prod(a.shape[:-2], dtype=np.int64)), n, n))
        ld = np.empty_like(flat)
        piv = np.empty(flat.shape[:-1], np.int32)
        info = np.empty(flat.shape[0], np.int32)
        for i in range(flat.shape[0]):
            ld[i], piv[i], info[i] = ldl_one(flat[i])
        extra.extend((piv.reshape(a.shape[:-1]), info.reshape(a.shape[:-2])))
        return ld.reshape(a.shape)

    def backward(self, g):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


def _factor(A, fn):
    check_matrix(fn, A)
    extra = []
    LD = apply(LinalgLdlFactorExBackward0, (A,), extra)
    return LD, extra[0], extra[1]


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """(LD, pivots, info): info = k > 0 when D's k-th diagonal entry is exactly zero."""
    LD, piv, info = _factor(A, "torch.linalg.ldl_factor_ex")
    if check_errors and info.any():
        _raise_singular("torch.linalg.ldl_factor_ex", info)
    result = _ldl_factor_ex_rt(LD, _wrap(piv), _wrap(info))
    return result if out is None else _copy_out(out, result)


def ldl_factor(A, *, hermitian=False, out=None):
    """(LD, pivots) of A = P L D L^T P^T; LinAlgError when D is singular."""
    LD, piv, info = _factor(A, "torch.linalg.ldl_factor_ex")
    if info.any():
        _raise_singular("torch.linalg.ldl_factor", info)
    result = _ldl_factor_rt(LD, _wrap(piv))
    return result if out is None else _copy_out(out, result)


def _raise_singular(fn, info):
    i = int(np.argmax(info.reshape(-1) != 0))
    k = int(info.reshape(-1)[i])
    raise LinAlgError(f"{fn}: {_prefix(info.shape + (0, 0), i)}The factorization could not be "
                      f"completed because D[{k},{k}] is zero, so the input matrix is singular.")


def _copy_out(outs, result):
    from ._functions import _into
    return _into(outs, result, "linalg_ldl_factor")


def _swap_rows(b, i, j):
    if i != j:
        b[[i, j]] = b[[j, i]]


def ldl_solve_one(a, piv, b):
    """X with A X = b from one matrix's (LD, pivots), in LAPACK's order of operations."""
    n = a.shape[0]
    b = b.copy()
    k = 0
    while k < n:  # solve with P L D
        if piv[k] > 0:
            _swap_rows(b, k, piv[k] - 1)
            b[k + 1:] -= a[k + 1:, k, None] * b[k]
            b[k] *= 1 / a[k, k]
            k += 1
        else:
            _swap_rows(b, k + 1, -piv[k] - 1)
            b[k + 2:] -= a[k + 2:, k, None] * b[k]
            b[k + 2:] -= a[k + 2:, k + 1, None] * b[k + 1]
            akm1k = a[k + 1, k]
            akm1, ak = a[k, k] / akm1k, a[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # solve with L^T P^T
        if piv[k] > 0:
            b[k] -= a[k + 1:, k] @ b[k + 1:]
            _swap_rows(b, k, piv[k] - 1)
            k -= 1
        else:
            b[k] -= a[k + 1:, k] @ b[k + 1:]
            b[k - 1] -= a[k + 1:, k - 1] @ b[k + 1:]
            _swap_rows(b, k, -piv[k] - 1)
            k -= 2
    return b


class LinalgLdlSolveBackward0(Node):
    """The solve, with no derivative (as in PyTorch)."""

    def forward(self, ld, b, piv):
        batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2], piv.shape[:-1])
        ld = np.broadcast_to(ld, batch + ld.shape[-2:])
        piv = np.broadcast_to(piv, batch + piv.shape[-1:])
        b = np.broadcast_to(b, batch + b.shape[-2:])
        x = np.empty(b.shape, np.result_type(ld, b))
        with np.errstate(divide="ignore", invalid="ignore"):
            for idx in np.ndindex(*batch):
                x[idx] = ldl_solve_one(ld[idx], piv[idx], b[idx])
        return x

    def backward(self, g):
        raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """X with A X = B for A given by ldl_factor's (LD, pivots); batch dims broadcast."""
    fn = "torch.linalg.ldl_solve"
    check_matrix(fn, LD, name="LD")
    check_matrix(fn, B, name="B", square=False)
    same_dtype(fn, LD, B, "LD", "B")
    if pivots._data.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}: Expected pivots to be integers. Got "
                           f"{pivots.dtype}".replace("fastnn.", ""))
    if B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation AX = B "
                           f"({LD.shape[-2]}x{LD.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    batch_shape(fn, tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    X = apply(LinalgLdlSolveBackward0, (LD, B), pivots._data)
    if out is not None:
        from ._functions import _into
        return _into(out, X, "linalg_ldl_solve")
    return X
