"""Top-level matrix functions: inverse, det, solve and the factorizations (also fastnn.linalg).

Forward passes go through numpy.linalg on whole stacks of matrices (..., m, n); gradients
are the nodes of fastnn.autograd.ops_decomp. The ``linalg_*`` functions here are the
``fastnn.linalg`` versions (PyTorch's signatures there differ from the top-level ones).
"""
import collections

import numpy as np

from . import _dtype as D
from .autograd.function import apply
from .autograd import ops_decomp as O
from ._linalg_checks import (_Tensor, _wrap, check_matrix, same_dtype, batch_shape,
                             tolerance, _inverter, _factorer, _solver, with_out)

__all__ = ["inverse", "det", "logdet", "slogdet", "pinverse", "svd", "qr", "cholesky",
           "cholesky_solve", "cholesky_inverse", "matrix_exp"]


def return_type(name, fields):
    """A named tuple that prints like PyTorch's ``return_types``."""
    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"fastnn.return_types.{name}(\n{body})"
    base = collections.namedtuple(name, fields)
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__module__": "fastnn.return_types"})


_slogdet_rt = return_type("slogdet", ["sign", "logabsdet"])
_linalg_slogdet_rt = return_type("linalg_slogdet", ["sign", "logabsdet"])
_svd_rt = return_type("svd", ["U", "S", "V"])
_linalg_svd_rt = return_type("linalg_svd", ["U", "S", "Vh"])
_qr_rt = return_type("qr", ["Q", "R"])
_linalg_qr_rt = return_type("linalg_qr", ["Q", "R"])
_eigh_rt = return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])
_inv_ex_rt = return_type("linalg_inv_ex", ["inverse", "info"])
_cholesky_ex_rt = return_type("linalg_cholesky_ex", ["L", "info"])


# ---- fastnn.linalg functions -----------------------------------------------------------------
@with_out("linalg_inv")
def linalg_inv(A, *, out=None):
    """A^-1 (LinAlgError when A is singular)."""
    check_matrix("linalg.inv", A)
    return apply(O.LinalgInvExBackward0, (A,), _inverter("linalg.inv"))


@with_out("linalg_inv_ex")
def linalg_inv_ex(A, *, check_errors=False, out=None):
    """(A^-1, info): info > 0 marks a singular matrix (its inverse is then nan)."""
    check_matrix("linalg.inv", A)
    if check_errors:
        return _inv_ex_rt(linalg_inv(A), _wrap(np.zeros(A.shape[:-2], np.int32)))
    info = []
    y = apply(O.LinalgInvExBackward0, (A,), _inverter("linalg.inv", info))
    return _inv_ex_rt(y, _wrap(info[0]))


@with_out("linalg_det")
def linalg_det(A, *, out=None):
    """det(A); its gradient is the cofactor matrix (fine for singular A)."""
    check_matrix("linalg.det", A, half_kernel="lu_cpu")
    return apply(O.LinalgDetBackward0, (A,))


def _slogdet(A, rt):
    check_matrix("linalg.slogdet", A)
    sign, logabs = O.apply_multi(O.LinalgSlogdetBackward0, (A,))
    return rt(sign, logabs)


@with_out("linalg_slogdet")
def linalg_slogdet(A, *, out=None):
    """(sign(det A), log|det A|); only log|det A| has a gradient, A^-T."""
    return _slogdet(A, _linalg_slogdet_rt)


def _vector_rhs(A, B):
    return B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


@with_out("linalg_solve")
def linalg_solve(A, B, *, left=True, out=None):
    """X with AX = B (or XA = B when left=False); B may be a (batch of) vector(s)."""
    check_matrix("linalg.solve", A)
    check_matrix("linalg.solve", B if B.dim() >= 2 else B.unsqueeze(-1), "B", square=False)
    same_dtype("linalg.solve", A, B)
    n = A.shape[-1]
    vector = _vector_rhs(A, B)
    rows, cols = (B.shape[-1], 1) if vector else tuple(B.shape[-2:])
    if (rows if left else cols) != n or (vector and not left):
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {rows}x{cols})")
    B2 = B.unsqueeze(-1) if vector else B
    batch_shape("linalg.solve", A.shape[:-2], B2.shape[:-2])
    if not left:  # XA = B is A^T X^T = B^T
        return apply(O.LinalgSolveExBackward0, (A.mT, B2.mT), _solver).mT
    X = apply(O.LinalgSolveExBackward0, (A, B2), _solver)
    return X.squeeze(-1) if vector else X


@with_out("linalg_solve_triangular")
def linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with TX = B (or XT = B) for T the upper or lower triangle of A (unit diagonal when
    unitriangular); the other triangle of A is never read."""
    fn = "linalg.solve_triangular"
    check_matrix(fn, A)
    check_matrix(fn, B, "B", square=False)
    same_dtype(fn, A, B)
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and "
                           f"{B.shape[-2]}x{B.shape[-1]})")
    batch_shape(fn, A.shape[:-2], B.shape[:-2])
    node = O.LinalgSolveTriangularBackward0
    if not left:
        return apply(node, (A.mT, B.mT), not upper, bool(unitriangular)).mT
    return apply(node, (A, B), bool(upper), bool(unitriangular))


@with_out("linalg_cholesky")
def linalg_cholesky(A, *, upper=False, out=None):
    """L lower triangular with A = L L^T (or U = L^T when upper); reads A's lower triangle."""
    check_matrix("linalg.cholesky", A, half_kernel="cholesky_cpu")
    return apply(O.LinalgCholeskyExBackward0, (A,), bool(upper), _factorer("linalg.cholesky"))


@with_out("linalg_cholesky_ex")
def linalg_cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): info = k > 0 when the leading minor of order k is not positive-definite
    (that matrix's L is then nan)."""
    if check_errors:
        L = linalg_cholesky(A, upper=upper)
        return _cholesky_ex_rt(L, _wrap(np.zeros(A.shape[:-2], np.int32)))
    check_matrix("linalg.cholesky", A, half_kernel="cholesky_cpu")
    info = []
    L = apply(O.LinalgCholeskyExBackward0, (A,), bool(upper),
              _factorer("linalg.cholesky", info))
    return _cholesky_ex_rt(L, _wrap(info[0]))


def _qr(A, mode, rt):
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    check_matrix("linalg.qr", A, square=False, half_kernel="geqrf_cpu")
    return rt(*O.apply_multi(O.LinalgQrBackward0, (A,), mode))


@with_out("linalg_qr")
def linalg_qr(A, mode="reduced", *, out=None):
    """A = QR, Q with orthonormal columns, R upper triangular; mode 'reduced', 'complete' or
    'r' (R only; Q is then an empty tensor)."""
    return _qr(A, mode, _linalg_qr_rt)


def _check_svd(A):
    check_matrix("linalg.svd", A, square=False, half_kernel="linalg_svd_cpu")


@with_out("linalg_svd")
def linalg_svd(A, full_matrices=True, *, driver=None, out=None):
    """A = U diag(S) Vh with S descending; singular vectors are unique only up to sign."""
    _check_svd(A)
    return _linalg_svd_rt(*O.apply_multi(O.LinalgSvdBackward0, (A,), bool(full_matrices)))


@with_out("linalg_svdvals")
def linalg_svdvals(A, *, driver=None, out=None):
    """The singular values of A, descending."""
    _check_svd(A)
    return apply(O.LinalgSvdvalsBackward0, (A,))


def _check_eigh(A, UPLO):
    check_matrix("linalg.eigh", A, int_kernel="linalg_eigh_cpu", half_kernel="linalg_eigh_cpu")
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


@with_out("linalg_eigh")
def linalg_eigh(A, UPLO="L", *, out=None):
    """(w, V) with A = V diag(w) V^T, w ascending; reads only the UPLO triangle of A."""
    _check_eigh(A, UPLO)
    return _eigh_rt(*O.apply_multi(O.LinalgEighBackward0, (A,), UPLO))


@with_out("linalg_eigvalsh")
def linalg_eigvalsh(A, UPLO="L", *, out=None):
    """The eigenvalues of the symmetric A, ascending."""
    _check_eigh(A, UPLO)
    return apply(O.LinalgEigvalshBackward0, (A,), UPLO)


@with_out("linalg_pinv")
def linalg_pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """A^+ from the SVD, singular values <= max(atol, rtol * s_max) treated as zero
    (``rcond``, PyTorch's older spelling, is rtol)."""
    ok = isinstance(A, _Tensor()) and A.dim() >= 2 and A._data.dtype in (np.float32,
                                                                         np.float64)
    if not ok:
        what = f"{D.scalar_type_name(A._data.dtype)}{{{list(A.shape)}}}" \
            if isinstance(A, _Tensor()) else type(A).__name__
        raise RuntimeError(f"linalg.pinv({what}): expected a tensor with 2 or more dimensions "
                           "of float, double, cfloat or cdouble types")
    if rcond is not None:
        rtol = rcond
    atol, rtol = tolerance(A, atol, rtol)
    return apply(O.LinalgPinvBackward0, (A,), atol, rtol, bool(hermitian))


def linalg_matrix_exp(A):
    """exp(A) = sum_k A^k / k!, by scaling and squaring."""
    check_matrix("linalg.matrix_exp", A, half=True)
    return apply(O.LinalgMatrixExpBackward0, (A,))


# ---- top-level functions (PyTorch's older signatures) ---------------------------------------
@with_out("inverse")
def inverse(input, *, out=None):
    """input^-1."""
    return linalg_inv(input, out=out)


def det(input):
    """det(input)."""
    return linalg_det(input)


@with_out("slogdet")
def slogdet(input):
    """(sign, log|det|) of the matrices."""
    return _slogdet(input, _slogdet_rt)


def logdet(input):
    """log det(input): nan where the determinant is negative, -inf where it is zero."""
    sign, logabs = _slogdet(input, _slogdet_rt)
    # a constant offset keeps the gradient of log|det| where the result is finite
    with np.errstate(invalid="ignore"):
        shift = np.where(sign._data < 0, np.nan, 0).astype(logabs._data.dtype)
    return logabs + _wrap(shift)


def pinverse(input, rcond=1e-15, hermitian=False):
    """input^+, singular values <= rcond * s_max dropped."""
    return linalg_pinv(input, rtol=rcond, hermitian=hermitian)


@with_out("svd")
def svd(input, some=True, compute_uv=True, *, out=None):
    """(U, S, V) with input = U diag(S) V^T (V, not V^T); with compute_uv=False, U and V are
    zeros of shapes (..., m, m) and (..., n, n)."""
    if not compute_uv:
        from ._creation import zeros
        S = linalg_svdvals(input)
        m, n = input.shape[-2:]
        batch = tuple(input.shape[:-2])
        return _svd_rt(zeros(batch + (m, m), dtype=input.dtype), S,
                       zeros(batch + (n, n), dtype=input.dtype))
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return _svd_rt(U, S, Vh.mT)


@with_out("qr")
def qr(input, some=True, *, out=None):
    """(Q, R) with input = QR; some=False gives the complete (square) Q."""
    return _qr(input, "reduced" if some else "complete", _qr_rt)


@with_out("cholesky")
def cholesky(input, upper=False, *, out=None):
    """The Cholesky factor of input: L (or U = L^T when upper)."""
    return linalg_cholesky(input, upper=upper, out=out)


def _chol_operand(fn, L):
    check_matrix(fn, L, name="A", int_kernel="cholesky_inverse_out_cpu"
                 if fn == "cholesky_inverse" else None)
    return L


@with_out("cholesky_solve")
def cholesky_solve(B, L, upper=False, *, out=None):
    """X with (L L^T) X = B for the Cholesky factor L (U^T U when upper), read from L's
    triangle; the gradient covers all of L, as in PyTorch."""
    if B.dim() < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.dim()} dimensions "
                           "instead")
    _chol_operand("cholesky_solve", L)
    if B._data.dtype != L._data.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{D.scalar_type_name(B._data.dtype)} and A of type "
                           f"{D.scalar_type_name(L._data.dtype)} instead.")
    n = L.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {n} "
                           f"by {n} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    batch_shape("cholesky_solve", tuple(B.shape[:-2]), tuple(L.shape[:-2]))
    from ._linalg_more import cholesky_solve_dense
    return cholesky_solve_dense(B, L, upper)


@with_out("cholesky_inverse")
def cholesky_inverse(L, upper=False, *, out=None):
    """(L L^T)^-1 (or (U^T U)^-1 when upper) from the Cholesky factor."""
    _chol_operand("cholesky_inverse", L)
    from ._linalg_more import cholesky_inverse_dense
    return cholesky_inverse_dense(L, upper)


def matrix_exp(A):
    """exp(A) of the matrices."""
    return linalg_matrix_exp(A)
