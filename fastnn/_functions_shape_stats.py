"""Module-level functions re-exported by fastnn._functions_more: rotations and flips,
triangle indices, block and column stacking, sorted search, histograms, covariance and
logcumsumexp. Composed of differentiable Tensor ops where the result has a gradient.

Python's min/max/sum are reached through ``_builtins`` (fastnn defines its own).
"""
import builtins as _builtins
import math
import warnings

import numpy as np

from . import _dtype as D
from . import _functions as F
from ._tensor_math import _nograd
from ._dtype import scalar_type_name as _title

__all__ = ["rot90", "fliplr", "flipud", "triu_indices", "tril_indices", "cartesian_prod",
           "block_diag", "column_stack", "searchsorted", "bucketize", "histc", "cov",
           "corrcoef", "logcumsumexp"]


def _T():
    from .tensor import Tensor
    return Tensor


def _need_float(t, kernel):
    if not t.is_floating_point():
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_title(t._data.dtype)}\'')


def _logaddexp(a, b):
    from ._functions_more import logaddexp
    return logaddexp(a, b)


# ---- rearranging -----------------------------------------------------------------------------
def rot90(input, k=1, dims=(0, 1)):
    """Rotates by 90 degrees k times, from the first of ``dims`` towards the second."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    nd = input.dim()
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = (d % nd if -nd <= d < nd else d for d in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return input.flip([d1]).transpose(d0, d1)
    if k == 2:
        return input.flip([d0, d1])
    if k == 3:
        return input.flip([d0]).transpose(d0, d1)
    from ._tensor_layout import contiguous_format
    return input.clone(memory_format=contiguous_format)


def fliplr(input):
    """Reverses dimension 1."""
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return input.flip([1])


def flipud(input):
    """Reverses dimension 0."""
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return input.flip([0])


def _tri_indices(fn, np_fn, row, col, offset, dtype):
    dtype = D.int64 if dtype is None else dtype
    if dtype not in (D.int64, D.int32):
        raise NotImplementedError(f'"{fn}" not implemented for \'{_title(dtype.np)}\'')
    i, j = np_fn(row, offset, col)
    return _nograd(np.stack([i, j]).astype(dtype.np).reshape(2, -1))


def triu_indices(row, col, offset=0, *, dtype=None, device="cpu", layout=None):
    """The (2, N) indices of the upper triangle of a row x col matrix, row by row."""
    return _tri_indices("triu_indices", np.triu_indices, row, col, offset, dtype)


def tril_indices(row, col, offset=0, *, dtype=None, device="cpu", layout=None):
    """The (2, N) indices of the lower triangle of a row x col matrix, row by row."""
    return _tri_indices("tril_indices", np.tril_indices, row, col, offset, dtype)


def cartesian_prod(*tensors):
    """All combinations of the 1-D inputs' entries, as rows (a single input comes back)."""
    for t in tensors:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = F.meshgrid(*tensors, indexing="ij")
    return F.stack([g.reshape(-1) for g in grids], 1)


def _promote_all(dtypes):
    dt = dtypes[0]
    for other in dtypes[1:]:
        dt = D.promote_types(dt, other)
    return dt


def _operands_dtype(tensors):
    """The result dtype of tensor operands: a 0-d operand only widens the dimensioned ones
    when it belongs to a higher category (bool < integer < float < complex)."""
    shaped = [t.dtype for t in tensors if t.dim()]
    scalars = [t.dtype for t in tensors if not t.dim()]
    if not shaped or not scalars:
        return _promote_all(shaped or scalars)
    dt, zero_dim = _promote_all(shaped), _promote_all(scalars)
    return D.promote_types(dt, zero_dim) if zero_dim.category > dt.category else dt


def block_diag(*tensors):
    """The inputs (0-, 1- or 2-D) along the diagonal of a zero matrix."""
    from ._creation import zeros
    mats = []
    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.dim()} dimensions")
        mats.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not mats:
        return zeros(1, 0)
    dt = _operands_dtype(tensors)
    ncol = _builtins.sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m.shape
        parts = [zeros(r, left, dtype=dt), m.to(dt), zeros(r, ncol - left - c, dtype=dt)]
        rows.append(F.cat(parts, 1))
        left += c
    return F.cat(rows, 0)


def column_stack(tensors):
    """0-D and 1-D inputs become columns, then all are joined along dimension 1."""
    if not len(tensors):
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return F.hstack([t.reshape(-1, 1) if t.dim() < 2 else t for t in tensors])


# ---- searching and counting ------------------------------------------------------------------
def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """Where each value of ``input`` would go in ``sorted_sequence`` (its last dimension)."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to "
                               "opposites, got side of left while right was True")
        right = side == "right"
    how = "right" if right else "left"
    seq = sorted_sequence._host()
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter._host(), -1)
    scalar = not isinstance(input, _T())
    vals = np.asarray(input) if scalar else input._host()
    idt = np.int32 if out_int32 else np.int64
    if seq.ndim == 1 and seq.dtype.kind == "f" and np.isnan(seq).any():
        found = _bisect_rows(seq.reshape(1, -1), np.reshape(vals, (1, -1)), right)
        return _nograd(found.reshape(np.shape(vals)).astype(idt))
    if seq.ndim == 1:
        return _nograd(np.asarray(np.searchsorted(seq, vals, how)).astype(idt))
    if scalar or seq.shape[:-1] != vals.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or "
                           f"the first N-1 dimensions of boundaries tensor and input value "
                           f"tensor must match, but we got boundaries tensor "
                           f"{list(seq.shape)} and input value tensor {list(vals.shape)}")
    s2 = seq.reshape(-1, seq.shape[-1])
    v2 = vals.reshape(-1, vals.shape[-1])
    if s2.dtype.kind == "f" and np.isnan(s2).any():
        return _nograd(_bisect_rows(s2, v2, right).astype(idt).reshape(vals.shape))
    out = np.empty(v2.shape, idt)
    for r in range(s2.shape[0]):  # one numpy search per row
        out[r] = np.searchsorted(s2[r], v2[r], how)
    return _nograd(out.reshape(vals.shape))


def _bisect_rows(seq, vals, right):
    """Binary search of each row of ``vals`` in the same row of ``seq`` when ``seq`` holds NaN,
    with PyTorch's results: it halves the range with plain comparisons (false for NaN), moving
    right unless the middle entry is >= (> when ``right``) the value. numpy instead orders NaN
    last, which places values differently whenever the boundaries hold NaN."""
    n = seq.shape[-1]
    lo = np.zeros(vals.shape, np.int64)
    hi = np.full(vals.shape, n, np.int64)
    rows = np.arange(seq.shape[0])[:, None]
    with np.errstate(invalid="ignore"):
        while True:
            active = lo < hi
            if not active.any():
                return lo
            mid = (lo + hi) // 2
            middle = seq[rows, np.minimum(mid, n - 1)]  # mid < n wherever active
            stop = middle > vals if right else middle >= vals
            lo = np.where(active & ~stop, mid + 1, lo)
            hi = np.where(active & stop, mid, hi)


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The index of the bucket of ``boundaries`` (1-D, increasing) each value falls into."""
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.dim()})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histc(input, bins=100, min=0, max=0):
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when both are 0);
    values outside are left out."""
    _need_float(input, "histogram_cpu")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for "
                           f"dimension 0")
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    x = input._host().reshape(-1)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo:g}, {hi:g}] is not finite")
    if x.dtype.kind == "f" and np.isnan(x).any():  # NaN falls in no bin
        x = x[~np.isnan(x)]
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts, _ = np.histogram(x, bins=bins, range=(lo, hi))
    return _nograd(counts.astype(input._data.dtype))


# ---- statistics ------------------------------------------------------------------------------
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance of the rows (variables) of ``input`` over its columns (observations)."""
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.dim()} dimensions")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    if not x.is_floating_point():
        x = x.to(D.get_default_dtype())
    n = x.shape[1]
    w = None
    if fweights is not None:
        if fweights.is_floating_point():
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got "
                               f"fweights with {_title(fweights._data.dtype)} dtype")
        if (fweights < 0).any():
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights.to(x.dtype)
    if aweights is not None:
        if not aweights.is_floating_point():
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got "
                               f"aweights with {_title(aweights._data.dtype)} dtype")
        if (aweights < 0).any():
            raise RuntimeError("cov(): aweights cannot be negative")
        w = aweights.to(x.dtype) if w is None else w * aweights.to(x.dtype)
    if w is None:
        avg = x.mean(1, keepdim=True)
        wsum = float(n)
        norm = wsum - correction
    else:
        wsum_t = w.sum()
        avg = (x * w).sum(1, keepdim=True) / wsum_t
        wsum = wsum_t
        if correction == 0:
            norm = wsum
        elif aweights is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * (w * aweights.to(x.dtype)).sum() / wsum
    if float(norm) <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", UserWarning, stacklevel=2)
        norm = 0.0 if not isinstance(norm, _T()) else norm.clamp(min=0.0)
    xc = x - avg
    xw = xc if w is None else xc * w
    c = xw.matmul(xc.conj().t() if hasattr(xc, "conj") else xc.t()) / norm
    return c.reshape(()) if input.dim() < 2 else c


def corrcoef(input):
    """Pearson correlation coefficients of the rows of ``input``."""
    if input.dim() > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got "
                           f"an input with {input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    sd = c.diagonal().sqrt()
    c = c / sd.unsqueeze(1) / sd.unsqueeze(0)
    return c.clamp(-1.0, 1.0)


def logcumsumexp(input, dim=None, *, axis=None):
    """log(cumsum(exp(input), dim)), computed without overflow or underflow."""
    from ._tensor_math import _required
    dim = _required(dim, axis, "logcumsumexp")  # axis: numpy's name for dim
    _need_float(input, "logcumsumexp_out_cpu")
    if input.dim() == 0:
        input._dim(dim)  # only -1 and 0 name a 0-d tensor's dim
        return input.clone()
    d = dim % input.dim() if -input.dim() <= dim < input.dim() else dim
    n = input.shape[d]
    y, shift = input, 1
    while shift < n:  # a log-space prefix scan: log2(n) rounds of logaddexp
        head = y.narrow(d, 0, shift)
        tail = _logaddexp(y.narrow(d, shift, n - shift), y.narrow(d, 0, n - shift))
        y = F.cat([head, tail], d)
        shift *= 2
    return y if y is not input else input.clone()
