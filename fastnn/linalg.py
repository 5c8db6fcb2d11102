"""fastnn.linalg: norms, inverses, determinants, solves and factorizations, with autograd.

The norms are composed of differentiable Tensor ops (ord=2, -2 and 'nuc' of the singular
values); the matrix functions live in fastnn._functions_linalg (forward through numpy.linalg,
gradients in fastnn.autograd.ops_decomp). fastnn has no complex dtype, so eig and eigvals
(complex in general) raise; use eigh for symmetric matrices.
"""
import math

import numpy as np

from . import _dtype as D
from . import _functions_linalg as _F
from . import _linalg_checks as _C
from . import _linalg_ldl as _LDL
from . import _linalg_lu as _LU
from . import _linalg_more as _M
from ._functions_linalg import return_type as _return_type
from ._functions import _into, _takes_out
from .autograd.ops_decomp import LinAlgError
from .tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm", "LinAlgError", "inv", "inv_ex", "det",
           "slogdet", "solve", "solve_triangular", "lstsq", "cholesky", "cholesky_ex", "qr",
           "svd", "svdvals", "eigh", "eigvalsh", "eig", "eigvals", "pinv", "matrix_rank",
           "multi_dot", "cross", "vecdot", "matmul", "diagonal", "matrix_exp", "matrix_power",
           "cond", "solve_ex", "lu", "lu_factor", "lu_factor_ex", "lu_solve",
           "householder_product", "tensorinv", "tensorsolve", "vander", "ldl_factor",
           "ldl_factor_ex", "ldl_solve"]

inv = _F.linalg_inv
inv_ex = _F.linalg_inv_ex
det = _F.linalg_det
slogdet = _F.linalg_slogdet
solve = _F.linalg_solve
solve_triangular = _F.linalg_solve_triangular
cholesky = _F.linalg_cholesky
cholesky_ex = _F.linalg_cholesky_ex
qr = _F.linalg_qr
svd = _F.linalg_svd
svdvals = _F.linalg_svdvals
eigh = _F.linalg_eigh
eigvalsh = _F.linalg_eigvalsh
pinv = _F.linalg_pinv
matrix_exp = _F.linalg_matrix_exp
cond = _M.cond
solve_ex = _LU.solve_ex
lu = _LU.linalg_lu
lu_factor = _LU.lu_factor
lu_factor_ex = _LU.lu_factor_ex
lu_solve = _LU.linalg_lu_solve
householder_product = _M.householder_product
tensorinv = _M.tensorinv
tensorsolve = _M.tensorsolve
vander = _M.linalg_vander
ldl_factor = _LDL.ldl_factor
ldl_factor_ex = _LDL.ldl_factor_ex
ldl_solve = _LDL.ldl_solve

_INF = math.inf


def _float_input(fn, x, dtype):
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if not x.is_floating_point():  # the input itself, whatever dtype= asks
        raise RuntimeError(f"linalg.{fn}: Expected a floating point or complex tensor as "
                           f"input. Got {D.scalar_type_name(x._data.dtype)}")
    if dtype is not None:
        dt = D.to_dtype(dtype)
        if not dt.is_floating_point:
            raise RuntimeError(f"linalg.{fn}: dtype should be floating point or complex, but "
                               f"got {D.scalar_type_name(dt.np)}")
        if D.promote_types(x.dtype, dt) != dt:
            raise RuntimeError(f"linalg.{fn}: the dtype of the input "
                               f"({D.scalar_type_name(x._data.dtype)}) should be convertible "
                               f"without narrowing to the specified dtype "
                               f"({D.scalar_type_name(dt.np)})")
        x = x.to(dt)
    return x


def _ord(ord):
    if isinstance(ord, Tensor):  # a 0-d Tensor order is read as its number
        return ord.item()
    return {"inf": _INF, "-inf": -_INF}.get(ord, ord) if isinstance(ord, str) else ord


@_C.with_out("linalg_vector_norm")
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements when None); ord may be +-inf or 0."""
    x = _float_input("vector_norm", x, dtype)
    ord = _ord(ord)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is None and keepdim and x.dim():  # every dim, kept: one node, as in PyTorch
        dim = tuple(range(x.dim()))
    # ord=0 counts the nonzeros (inf and NaN among them) and sends no gradient back
    return x.norm(p=ord, dim=dim, keepdim=keepdim)


def _not_two_dims(dim):
    """PyTorch's message for a matrix norm asked over other than two dims (listed bare)."""
    listed = " ".join(str(d) for d in dim) if isinstance(dim, (tuple, list)) else dim
    return f"linalg.matrix_norm: dim must be a 2-tuple. Got {listed}"


@_C.with_out("linalg_matrix_norm")
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Frobenius, nuclear (sum of singular values), 2 / -2 (largest / smallest singular value),
    1, -1, inf or -inf norm of the matrices over the two dims ``dim``."""
    A = _float_input("matrix_norm", A, dtype)
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(_not_two_dims(dim))
    d0, d1 = (A._dim(d) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    ord = _ord(ord)
    if ord == "fro":
        return A.norm(p=2, dim=(d0, d1), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        # the singular values of the matrices, moved to the last two dims first
        rest = [i for i in range(A.dim()) if i not in (d0, d1)]
        s = svdvals(A.permute(*rest, d0, d1))
        if ord == -2 and s.shape[-1] == 0:
            raise IndexError("amin(): Expected reduction dim -1 to have non-zero size.")
        # an empty matrix has norm 0 (the sum of no singular values)
        empty = s.shape[-1] == 0
        out = s.sum(-1) if ord == "nuc" or empty else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return out
    if ord not in (1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # ord +-1: extreme column sum (sum over rows d0); ord +-inf: extreme row sum
    over, across = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = A.abs().sum(dim=over, keepdim=True)
    if A.shape[across] == 0:
        if ord < 0:  # no identity for the minimum (named as PyTorch's reduction numbers it)
            where = across if keepdim or across < over else across - 1
            raise IndexError(f"amin(): Expected reduction dim {where} to have non-zero size.")
        out = sums.sum(dim=across, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    out = sums.amax(dim=across, keepdim=True) if ord > 0 else \
        sums.amin(dim=across, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


@_C.with_out("linalg_norm")
def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """vector_norm or matrix_norm, chosen by ``dim`` (or A's dims), as in torch.linalg.norm."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.norm(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or "
                               f"2. Got {list(dim)}")
    elif ord is not None:
        if A.dim() not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input "
                               f"must be 1D or 2D. Got {A.dim()}D.")
        dim = tuple(range(A.dim()))
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) and ord not in ("inf", "-inf"):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


# ---- least squares, rank and products -------------------------------------------------------
_lstsq_rt = _return_type("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
_DRIVERS = (None, "gels", "gelsy", "gelsd", "gelss")


@_C.with_out("linalg_lstsq", same_dtype=False)
def lstsq(A, B, rcond=None, *, driver=None):
    """argmin_X |AX - B|_F (the minimum-norm one when A is rank deficient), as A^+ B with
    singular values <= rcond * s_max dropped. The other fields follow the driver as PyTorch's
    CPU drivers fill them: rank unless 'gels', singular values for 'gelsd'/'gelss', squared
    residuals (per column) when m > n, A has full rank and the driver is not 'gelsy'."""
    fn = "torch.linalg.lstsq"
    if driver not in _DRIVERS:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           "gelss)")
    for name, t in (("input", A), ("other", B)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linalg.lstsq(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"{fn}: input must have at least 2 dimensions.")
    if not 0 <= A.dim() - B.dim() <= 1:
        raise RuntimeError(f"{fn}: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    _C.check_matrix("linalg.lstsq", A, square=False)
    if B.dim() < 1 or A._data.dtype != B._data.dtype:
        raise RuntimeError(f"{fn}: Expected input and other to have the same dtype, but got "
                           f"input's dtype {D.scalar_type_name(A._data.dtype)} and other's "
                           f"dtype {D.scalar_type_name(B._data.dtype)}")
    vector = B.dim() == A.dim() - 1
    B2 = B.unsqueeze(-1) if vector else B
    if A.shape[-2] != B2.shape[-2]:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    batch = _C.batch_shape(fn, tuple(A.shape[:-2]), tuple(B2.shape[:-2]))
    m, n = A.shape[-2:]
    driver = driver or "gelsy"
    eps = float(np.finfo(A._data.dtype).eps)
    rcond = eps * max(m, n) if rcond is None or rcond < 0 else rcond
    X = pinv(A, rtol=rcond).matmul(B2)
    s = np.linalg.svd(A._data, compute_uv=False)
    rank_arr = (s > rcond * s.max(-1, keepdims=True, initial=0.0)).sum(-1)
    empty = np.zeros((0,), A._data.dtype)
    if driver != "gelsy" and m > n and (driver == "gels" or (rank_arr == n).all()):
        residuals = (A.matmul(X) - B2).square().sum(-2)
    else:
        residuals = _C._wrap(empty)
    rank = _C._wrap(np.zeros((0,), np.int64) if driver == "gels" else
                    np.broadcast_to(rank_arr, batch).astype(np.int64))
    sv = _C._wrap(s if driver in ("gelsd", "gelss") else empty)
    return _lstsq_rt(X.squeeze(-1) if vector else X, residuals, rank, sv)


@_C.with_out("linalg_matrix_rank")
def matrix_rank(A, tol=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """The number of singular values (|eigenvalues| when hermitian) > max(atol, rtol s_max);
    ``tol`` (the older spelling) is atol with rtol = 0."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.matrix_rank(): argument 'input' must be Tensor, not "
                        f"{type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError("torch.linalg.matrix_rank: The input tensor input must have at "
                           "least 2 dimensions.")
    if A._data.dtype not in (np.float32, np.float64):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if tol is not None:
        atol, rtol = tol, 0.0
    atol, rtol = _C.tolerance(A, atol, rtol)
    a = A._data
    s = np.abs(np.linalg.eigvalsh(a)) if hermitian else np.linalg.svd(a, compute_uv=False)
    smax = s.max(-1, keepdims=True, initial=0.0)
    return _C._wrap((s > np.maximum(atol, rtol * smax)).sum(-1).astype(np.int64))


def _chain_order(dims):
    """Cheapest parenthesisation of a chain of matrices with shapes dims[i] x dims[i+1]."""
    k = len(dims) - 1
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for span in range(1, k):
        for i in range(k - span):
            j = i + span
            cost[i][j], split[i][j] = min(
                (cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1], s)
                for s in range(i, j))
    return split


@_C.with_out("linalg_multi_dot")
def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices (the first and last may be vectors), in the order
    that costs the fewest multiplications."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    for i, t in enumerate(ts):
        d = t.dim()
        if i in (0, len(ts) - 1) and d not in (1, 2):
            which = "first" if i == 0 else "last"
            raise RuntimeError(f"multi_dot(): the {which} tensor must be 1D or 2D but got {d}D")
        if 0 < i < len(ts) - 1 and d != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {d}D")
        if t._data.dtype != ts[0]._data.dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {D.c_type_name(ts[0]._data.dtype)} and tensor {i} "
                               f"{D.c_type_name(t._data.dtype)}")
    first_vec, last_vec = ts[0].dim() == 1, ts[-1].dim() == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i in range(len(ts) - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            shapes = [list(tensors[k].shape) for k in (i, i + 1)]
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {shapes[0]} "
                               f"and {shapes[1]} cannot be multiplied")
    split = _chain_order([t.shape[0] for t in ts] + [ts[-1].shape[1]])

    def product(i, j):
        if i == j:
            return ts[i]
        s = split[i][j]
        return product(i, s).matmul(product(s + 1, j))
    out = product(0, len(ts) - 1)
    if first_vec:
        out = out.squeeze(0)
    if last_vec:
        out = out.squeeze(-1)
    return out


def matrix_power(A, n, *, out=None):
    """A @ A @ ... (n times); the identity for n = 0, powers of the inverse for n < 0."""
    from ._functions_more import matrix_power as power
    result = power(A, n)
    return result if out is None else _into(out, result, "linalg_matrix_power")


@_takes_out
def cross(input, other, *, dim=-1):
    """The cross product of 3-vectors along ``dim`` (batch dims broadcast)."""
    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = input._dim(dim)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    return input.cross(other, dim=d)


def vecdot(x, y, *, dim=-1, out=None):
    """sum_i x_i y_i along ``dim`` (broadcast); x and y floating, of one dtype."""
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linalg.vecdot(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if x._data.dtype != y._data.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found "
                           f"x of type {D.scalar_type_name(x._data.dtype)} and y of type "
                           f"{D.scalar_type_name(y._data.dtype)} instead")
    _float_input("vecdot", x, None)
    result = (x * y).sum(dim)
    return result if out is None else _into(out, result, "linalg_vecdot")


@_C.with_out("linalg_matmul")
def matmul(input, other, *, out=None):
    """input @ other (an alias of fastnn.matmul)."""
    return input.matmul(other)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The diagonals of the matrices (an alias of fastnn.diagonal over the last two dims)."""
    return A.diagonal(offset, dim1, dim2)


def _no_complex(fn):
    raise RuntimeError(f"linalg.{fn}: fastnn has no complex dtype, and the eigenvalues of a "
                       "general real matrix are complex; use linalg.eigh / linalg.eigvalsh for "
                       "symmetric matrices, or linalg.svd")


def eig(A, *, out=None):
    """Not available: its results are complex (fastnn has no complex dtype)."""
    _no_complex("eig")


def eigvals(A, *, out=None):
    """Not available: its results are complex (fastnn has no complex dtype)."""
    _no_complex("eigvals")
