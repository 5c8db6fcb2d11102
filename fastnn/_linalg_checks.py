"""Input checks and failure diagnosis for fastnn's matrix functions (fastnn._functions_linalg).

numpy.linalg only says that a factorization failed; PyTorch's messages also name the batch
element and the failing pivot or leading minor, which the vectorised re-runs here recover.
"""
import functools

import numpy as np

from . import _dtype as D
from .autograd.ops_decomp import LinAlgError


def _Tensor():
    from .tensor import Tensor
    return Tensor


def _wrap(arr):
    from .tensor import _wrap
    return _wrap(np.asarray(arr))


def _no_out(fn, out):
    if out is not None:
        raise RuntimeError(f"{fn}: out= is not supported by fastnn")


def with_out(name, same_dtype=True):
    """Adds PyTorch's ``out=`` to a matrix function: the result (or tuple of results) is
    written into ``out``, whose dtype must be the result's exactly where PyTorch's function
    requires it (``same_dtype``). ``name`` is the function's name in PyTorch's messages."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, out=None, **kwargs):
            result = fn(*args, **kwargs)
            if out is None:
                return result
            from ._functions import _into
            pairs = zip(out, result) if isinstance(result, tuple) and \
                isinstance(out, (tuple, list)) else [(out, result)]
            for o, r in pairs:
                if same_dtype and isinstance(o, _Tensor()) and isinstance(r, _Tensor()) and \
                        o._data.dtype != r._data.dtype:
                    raise RuntimeError(f"Expected out tensor to have dtype "
                                       f"{D.c_type_name(r._data.dtype)}, but got "
                                       f"{D.c_type_name(o._data.dtype)} instead")
            return _into(out, result, name)
        return wrapper
    return decorate


def check_matrix(fn, A, name="A", square=True, int_kernel=None, half_kernel=None,
                 half=False):
    """PyTorch's input checks: a tensor of >= 2 dims, floating (not half), maybe square."""
    if not isinstance(A, _Tensor()):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"{fn}: The input tensor {name} must have at least 2 dimensions.")
    dt = A._data.dtype
    title = D.scalar_type_name(dt)
    if dt.kind != "f":
        if int_kernel:
            raise NotImplementedError(f"\"{int_kernel}\" not implemented for '{title}'")
        raise RuntimeError(f"{fn}: Expected a floating point or complex tensor as input. "
                           f"Got {title}")
    if dt == np.float16 and not half:
        if half_kernel:
            raise NotImplementedError(f"\"{half_kernel}\" not implemented for '{title}'")
        raise RuntimeError(f"{fn}: Low precision dtypes not supported. Got {title}")
    m, n = A.shape[-2:]
    if square and m != n:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are {m} by "
                           f"{n} matrices")
    return A


def same_dtype(fn, A, B, a="A", b="B"):
    if A._data.dtype != B._data.dtype:
        raise RuntimeError(f"{fn}: Expected {a} and {b} to have the same dtype, but found {a} "
                           f"of type {D.scalar_type_name(A._data.dtype)} and {b} of type "
                           f"{D.scalar_type_name(B._data.dtype)} instead")


def batch_shape(fn, sa, sb):
    """The broadcast of two batch shapes, or PyTorch's error."""
    try:
        return np.broadcast_shapes(sa, sb)
    except ValueError:
        for i in range(1, min(len(sa), len(sb)) + 1):
            if sa[-i] != sb[-i] and 1 not in (sa[-i], sb[-i]):
                raise RuntimeError(f"The size of tensor a ({sa[-i]}) must match the size of "
                                   f"tensor b ({sb[-i]}) at non-singleton dimension "
                                   f"{max(len(sa), len(sb)) - i}") from None
        raise


# ---- failure diagnosis (only run once numpy has reported a failure) --------------------------
def _flat(a):
    return a.reshape((-1,) + a.shape[-2:])


def lu_info(a):
    """Per matrix, the 1-based index of the first exactly-zero pivot of LU with partial
    pivoting (LAPACK's getrf info), 0 where there is none."""
    from ._linalg_lu import lu_packed
    orig = _flat(a)
    return _fill_unknown(lu_packed(orig)[2], orig, np.linalg.inv)


def chol_info(a):
    """Per matrix, the order of the first leading minor that is not positive-definite
    (LAPACK's potrf info), 0 where the factorization succeeds."""
    a = _flat(a)
    b, n = a.shape[0], a.shape[-1]
    low = np.zeros_like(a)
    info = np.zeros(b, np.int32)
    for j in range(n):
        d = a[:, j, j] - np.einsum("bk,bk->b", low[:, j, :j], low[:, j, :j])
        bad = ~(d > 0)
        info[(info == 0) & bad] = j + 1
        low[:, j, j] = np.sqrt(np.where(bad, 1, d))
        done = (low[:, j + 1:, :j] @ low[:, j, :j, None])[..., 0]
        low[:, j + 1:, j] = (a[:, j + 1:, j] - done) / low[:, j, j, None]
    return _fill_unknown(info, a, np.linalg.cholesky)


def _fill_unknown(info, a, factor):
    """Where the vectorised diagnosis disagrees with LAPACK (rounding at the margin), ask
    numpy matrix by matrix; such a failure is reported at order n."""
    if info.any() or not a.size:
        return info
    for i in range(a.shape[0]):
        try:
            factor(a[i])
        except np.linalg.LinAlgError:
            info[i] = a.shape[-1]
    return info


def _prefix(shape, i):
    return f"(Batch element {i}): " if len(shape) > 2 else ""


def _guarded(op, find_info, message, keep_info):
    """``op`` (a batched numpy factorization) that, where a matrix fails, raises LinAlgError
    with ``message(info, where)``, or for the ``_ex`` forms stores LAPACK-style info in
    ``keep_info`` and gives nan for those matrices."""
    def run(a):
        try:
            y = op(a)
            if keep_info is not None:
                keep_info.append(np.zeros(a.shape[:-2], np.int32))
            return y
        except np.linalg.LinAlgError:
            info = find_info(a)
        bad = info != 0
        if keep_info is None:
            i = int(np.argmax(bad))
            raise LinAlgError(message(int(info[i]), _prefix(a.shape, i)))
        keep_info.append(info.reshape(a.shape[:-2]))
        flat = _flat(a).copy()
        flat[bad] = np.eye(a.shape[-1], dtype=a.dtype)
        y = op(flat)
        y[bad] = np.nan
        return y.reshape(a.shape)
    return run


def _inverter(fn, keep_info=None):
    """``invert(a)`` for the inverse node, guarded as ``_guarded`` says."""
    def message(k, where):
        what = f"The diagonal element {k} is zero, the" if k else "The"
        return (f"{fn}: {where}{what} inversion could not be completed because the input "
                "matrix is singular.")
    return _guarded(np.linalg.inv, lu_info, message, keep_info)


def _factorer(fn, keep_info=None):
    """``factor(a)`` (lower Cholesky factor) for the Cholesky node, guarded likewise."""
    def message(k, where):
        return (f"{fn}: {where}The factorization could not be completed because the input is "
                f"not positive-definite (the leading minor of order {k} is not "
                "positive-definite).")
    return _guarded(np.linalg.cholesky, chol_info, message, keep_info)


def _solver(a, b):
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        info = lu_info(np.broadcast_to(a, batch + a.shape[-2:]))
        i = int(np.argmax(info != 0))
        raise LinAlgError(f"torch.linalg.solve: {_prefix(batch + (0, 0), i)}The solver failed "
                          "because the input matrix is singular.") from None


def tolerance(A, atol, rtol):
    """(atol, rtol) as arrays that broadcast against the singular values (..., k)."""
    def arr(x):
        x = x._data if isinstance(x, _Tensor()) else x
        return np.asarray(x, np.float64)[..., None]
    if rtol is None:
        eps = float(np.finfo(A._data.dtype).eps) * max(A.shape[-2:])
        rtol = 0.0 if atol is not None and np.all(arr(atol) > 0) else eps
    return arr(0.0 if atol is None else atol), arr(rtol)
