"""More Tensor methods (a mixin of Tensor): trigonometry, logs in other bases, scans,
diagonals, selection, counting, rearranging and a few linear-algebra helpers.

The ops that are not numpy ufuncs (cumprod, diagonal, roll, unique, ...) run on CPU tensors;
on a CUDA tensor they raise NotImplementedError.
"""
import math

import numpy as np

from . import _dtype as D
from .autograd.function import apply
from .autograd.node import keep_saved
from .autograd import ops_extra as E
from .autograd.ops_math import relabel
from ._tensor_math import _float_input, _nograd, operands, check_same_device, broadcast_error
from ._tensor_shape import _sizes, _int_sizes, _as_view
from ._dtype import scalar_type_name as _title

_ndarray = np.ndarray


def _cpu_only(t, fn):
    if type(t._data) is not _ndarray:
        raise NotImplementedError(f"fastnn's {fn} runs on CPU tensors only; call .cpu() first")


def _tensor_arg(fn, name, pos, x):
    from .tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _int_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


class ExtraMixin:
    __slots__ = ()

    # ---- elementwise ---------------------------------------------------------------
    def log2(self):
        return apply(E.Log2Backward0, (_float_input(self),))

    def log10(self):
        return apply(E.Log10Backward0, (_float_input(self),))

    def tan(self):
        return apply(E.TanBackward0, (_float_input(self),))

    def asin(self):
        return apply(E.AsinBackward0, (_float_input(self),))

    def acos(self):
        return apply(E.AcosBackward0, (_float_input(self),))

    def atan(self):
        return apply(E.AtanBackward0, (_float_input(self),))

    def sinh(self):
        return apply(E.SinhBackward0, (_float_input(self),))

    def cosh(self):
        return apply(E.CoshBackward0, (_float_input(self),))

    arcsin, arccos, arctan = asin, acos, atan

    def atan2(self, other):
        _tensor_arg("atan2", "other", 2, other)
        a, b, dt = operands(self, other)
        rd = D._FROM_NP[np.dtype(dt) if dt is not None else a._data.dtype]
        if not rd.is_floating_point:  # integer and bool inputs compute in the default float
            rd = D.get_default_dtype()
        a = a if a._data.dtype == rd.np else a.to(rd)
        b = b if b._data.dtype == rd.np else b.to(rd)
        try:
            return apply(E.Atan2Backward0, (a, b))
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    arctan2 = atan2

    def deg2rad(self):
        return _float_input(self) * (math.pi / 180.0)

    def rad2deg(self):
        return _float_input(self) * (180.0 / math.pi)

    # ---- scans ---------------------------------------------------------------------
    def cumprod(self, dim=None, *, dtype=None, axis=None):
        dim = axis if dim is None else dim  # PyTorch's numpy-style alias
        if dim is None:
            raise TypeError('cumprod() missing 1 required positional arguments: "dim"')
        if dtype is not None:
            src = self.to(dtype)
            if src._data.dtype.kind == "b":
                raise NotImplementedError("\"cumprod_out_cpu\" not implemented for 'Bool'")
        elif self._data.dtype.kind in "biu":  # integer products accumulate in int64
            src = self.to(D.int64)
        else:
            src = self
        d = self._dim(dim)
        if not self._data.ndim:
            return src.reshape(1).cumprod(0, dtype=dtype).reshape(())
        _cpu_only(self, "cumprod")
        from ._tensor_reduce import in_asked_dtype
        return in_asked_dtype(apply(E.CumprodBackward0, (src,), d), dtype)

    # ---- selection -----------------------------------------------------------------
    def nonzero(self, *, as_tuple=False):
        arr = self._host()
        if arr.ndim == 0:
            hit = bool(arr)
            if as_tuple:
                return (_nograd(np.zeros(int(hit), np.int64)),)
            return _nograd(np.zeros((int(hit), 0), np.int64))
        idx = np.nonzero(arr)
        if as_tuple:
            return tuple(_nograd(i.astype(np.int64, copy=False)) for i in idx)
        return _nograd(np.stack(idx, axis=1).astype(np.int64, copy=False))

    def argwhere(self):
        return self.nonzero()

    def masked_select(self, mask):
        _tensor_arg("masked_select", "mask", 2, mask)
        if mask._data.dtype.kind != "b":
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        check_same_device(self, mask)
        _cpu_only(self, "masked_select")
        try:
            return keep_saved(apply(E.MaskedSelectBackward0, (self,), mask._data), mask)
        except ValueError as e:
            raise broadcast_error(mask, self, e) from None  # PyTorch names the mask a

    def diagonal(self, offset=0, dim1=0, dim2=1):
        d1, d2 = self._dim(dim1), self._dim(dim2)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        _cpu_only(self, "diagonal")
        return _as_view(apply(E.DiagonalBackward0, (self,), int(offset), d1, d2), self)

    def diag(self, diagonal=0):
        nd = self._data.ndim
        if nd not in (1, 2):
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")
        _cpu_only(self, "diag")
        if nd == 1:
            return apply(E.DiagEmbedBackward0, (self,), int(diagonal))
        return apply(E.DiagonalBackward0, (self,), int(diagonal), 0, 1, True)

    def trace(self):
        if self._data.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim "
                               f"{self._data.ndim}")
        if self._data.dtype == np.bool_:
            raise NotImplementedError("\"trace\" not implemented for 'Bool'")
        return relabel(self.diagonal().sum(), "TraceBackward0")

    # ---- counting ------------------------------------------------------------------
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        """Always sorted, as PyTorch's CPU kernel returns it; nan values stay distinct."""
        arr = self._host()
        if dim is None:
            arr = arr.reshape(-1)
            axis = None
        else:
            axis = self._dim(dim)
            if arr.ndim == 0:
                arr, axis = arr.reshape(1), 0
        res = np.unique(arr, return_inverse=True, return_counts=True, axis=axis,
                        equal_nan=False)
        vals, inv, counts = res
        out = [_nograd(vals)]
        if return_inverse:
            shape = self._data.shape if dim is None else (arr.shape[axis],)
            out.append(_nograd(inv.astype(np.int64).reshape(shape)))
        if return_counts:
            out.append(_nograd(counts.astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    def bincount(self, weights=None, minlength=0):
        arr = self._host()
        if arr.dtype.kind not in "iu":
            raise NotImplementedError(f"\"bincount_cpu\" not implemented for "
                                      f"'{_title(arr.dtype)}'")
        if arr.ndim != 1 or (arr.size and arr.min() < 0):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        if minlength < 0:
            raise RuntimeError("minlength should be >= 0")
        if weights is None:
            return _nograd(np.bincount(arr, minlength=minlength).astype(np.int64))
        w = weights._host()
        if w.ndim != 1 or w.shape[0] != arr.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
        dt = np.float32 if w.dtype == np.float32 else np.float64
        return _nograd(np.bincount(arr, w.astype(np.float64), minlength).astype(dt))

    # ---- rearranging ---------------------------------------------------------------
    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None, axis=None):
        if axis is not None:  # numpy's name for dim
            dim = axis
        from .tensor import Tensor
        if repeats is None:  # fastnn.repeat_interleave(repeats): index i repeated repeats[i]
            r = self._host()
            if r.ndim != 1:
                raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
            if r.dtype.kind not in "iu":
                raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                          f"'{_title(r.dtype)}'")
            if r.size and r.min() < 0:
                raise RuntimeError("repeats can not be negative")
            return _nograd(np.repeat(np.arange(r.size, dtype=np.int64), r))
        src = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else self._dim(dim)
        if src._data.ndim == 0:
            src = src.reshape(1)
        n = src._data.shape[d]
        if isinstance(repeats, Tensor):
            r = repeats._host()
            if r.ndim > 1:
                raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
            if r.dtype.kind not in "iu":
                raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                          f"'{_title(r.dtype)}'")
            if r.size and r.min() < 0:
                raise RuntimeError("repeats can not be negative")
            if r.size != 1 and r.size != n:
                raise RuntimeError(f"repeats must have the same size as input along dim, but "
                                   f"got repeats.size(0) = {r.size} and input.size({d}) = {n}")
            r = r.reshape(-1)
        else:
            if repeats < 0:
                raise RuntimeError("Repeats must be non-negative")
            r = int(repeats)
        idx = np.repeat(np.arange(n, dtype=np.int64), r if np.ndim(r) == 0 or r.size == n
                        else np.broadcast_to(r, (n,)))
        if output_size is not None and output_size != idx.size:
            raise RuntimeError("allocated size does not match required size")
        out = src.index_select(d, _nograd(idx))
        if out.grad_fn is not None and not isinstance(repeats, Tensor):
            # PyTorch repeats by a count as an expand viewed back to shape
            from .autograd.ops_math import relabel
            relabel(out, "ViewBackward0")
        return out

    def roll(self, shifts, dims=None):
        sh = _int_tuple(shifts)
        if not sh:
            raise RuntimeError("`shifts` required")
        _cpu_only(self, "roll")
        if dims is None:
            if len(sh) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, "
                                   "dims:0")
            return apply(E.RollBackward0, (self,), int(sh[0]), None)
        dm = _int_tuple(dims)
        if len(sh) != len(dm):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(sh)}, "
                               f"dims:{len(dm)}")
        if not self._data.ndim:
            return apply(E.RollBackward0, (self,), 0, None)
        axes = tuple(self._dim(d) for d in dm)
        return apply(E.RollBackward0, (self,), tuple(int(s) for s in sh), axes)

    def tile(self, *dims, **kw):
        if kw:
            dims = _tile_dims_keyword(dims, kw)
        reps = _int_sizes("tile", "dims", _sizes(dims))
        reps = (1,) * (self._data.ndim - len(reps)) + tuple(reps)
        return self.repeat(reps)

    def movedim(self, source, destination):
        src, dst = _int_tuple(source), _int_tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source "
                               f"({list(src)} dims) should contain the same number of dims as "
                               f"destination ({list(dst)} dims)")
        s = [self._dim(d) for d in src]
        t = [self._dim(d) for d in dst]
        if len(set(s)) != len(s):
            raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
        if len(set(t)) != len(t):
            raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
        nd = self._data.ndim
        if not nd:
            return self.view(())
        rest = iter(d for d in range(nd) if d not in s)
        where = dict(zip(t, s))
        perm = [where[i] if i in where else next(rest) for i in range(nd)]
        return self.permute(perm)

    moveaxis = movedim

    def ravel(self):
        return self.reshape(-1)

    def index_add(self, dim, index, source, *, alpha=1):
        _tensor_arg("index_add", "index", 2, index)
        _tensor_arg("index_add", "source", 3, source)
        d = self._dim(dim)
        idx = index._host()
        from ._tensor_misc_index import check_index_and_source
        check_index_and_source("index_add_", self, idx, source)
        _cpu_only(self, "index_add")
        idx = idx.reshape(-1)
        sshape, shape = source._data.shape, self._data.shape
        ns = sshape[d] if len(sshape) > d else 1
        if idx.size != ns:
            raise RuntimeError(f"index_add_(): Number of indices ({idx.size}) should be equal to "
                               f"source.size(dim): ({ns}), for dim: {d}")
        if len(sshape) != len(shape) or any(a != b for i, (a, b) in
                                            enumerate(zip(sshape, shape)) if i != d):
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding "
                               f"the specified dimension. Got self.shape = {list(shape)} "
                               f"source.shape = {list(sshape)}")
        size = shape[d] if shape else 1
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            if len(shape) > 1 and isinstance(alpha, (int, float)) and alpha == 1:
                # PyTorch's message for a matrix or more (its alpha=1 kernel) names the index
                bad = idx[(idx < 0) | (idx >= size)][0]
                raise RuntimeError(f"index {int(bad)} is out of bounds for dimension {d} with "
                                   f"size {size}")
            raise IndexError("index out of range in self")
        if self._data.dtype.kind in "biu" and isinstance(alpha, (float, np.floating)):
            alpha = bool(alpha) if self._data.dtype.kind == "b" else int(alpha)  # truncates
        return keep_saved(apply(E.IndexAddBackward0, (self, source), d, idx, alpha), index)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._unary_("index_add", dim, index, source, alpha=alpha)

    # ---- linear algebra ------------------------------------------------------------
    def mv(self, vec):
        _tensor_arg("mv", "vec", 1, vec)
        if self._data.ndim != 2 or vec._data.ndim != 1:
            raise RuntimeError(f"vector + matrix @ vector expected, got 1, {self._data.ndim}, "
                               f"{vec._data.ndim}")
        m, v = self._data, vec._data
        if m.shape[1] != v.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({m.shape[0]}), mat "
                               f"({m.shape[0]}x{m.shape[1]}), vec ({v.shape[0]})")
        if m.dtype != v.dtype:
            raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                               f"{_title(v.dtype)}, {_title(m.dtype)}, and {_title(v.dtype)}")
        return relabel(self.matmul(vec), "MvBackward0")

    def outer(self, vec2):
        _tensor_arg("outer", "vec2", 1, vec2)
        for name, t in (("self", self), ("vec2", vec2)):
            if t._data.ndim != 1:
                raise RuntimeError(f"outer: Expected 1-D argument {name}, but got "
                                   f"{t._data.ndim}-D")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def cross(self, other, dim=None):
        _tensor_arg("cross", "other", 1, other)
        if self._data.ndim != other._data.ndim:
            raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
        from ._functions import _check_broadcast
        shape = tuple(_check_broadcast(self._data.shape, other._data.shape))
        if dim is None:  # the first dim of size 3 (fastnn.cross warns about this default)
            dims = [i for i, n in enumerate(shape) if n == 3]
            if not dims:
                raise RuntimeError("no dimension of size 3 in input")
            dim = dims[0]
        d = self._dim(dim)
        if self._data.shape[d] != 3 or other._data.shape[d] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {d} must have length 3. Got "
                               f"{self._data.shape[d]} and {other._data.shape[d]}")
        a, b = self.expand(shape), other.expand(shape)
        i1 = _nograd(np.array([1, 2, 0]))
        i2 = _nograd(np.array([2, 0, 1]))
        return (a.index_select(d, i1) * b.index_select(d, i2) -
                a.index_select(d, i2) * b.index_select(d, i1))

    # ---- bit shifts of integers ------------------------------------------------------
    def bitwise_left_shift(self, other):
        return self._shift(other, np.left_shift, "lshift_cpu")

    def bitwise_right_shift(self, other):
        return self._shift(other, np.right_shift, "rshift_cpu")

    __lshift__, __rshift__ = bitwise_left_shift, bitwise_right_shift

    def __rlshift__(self, other):
        return self._shift(other, np.left_shift, "lshift_cpu", reverse=True)

    def __rrshift__(self, other):
        return self._shift(other, np.right_shift, "rshift_cpu", reverse=True)

    def _shift(self, other, fn, kernel, reverse=False):
        return self._bitwise(other, _shift_fn(fn), kernel, bool_ok=False, reverse=reverse)


def _tile_dims_keyword(dims, kw):
    """``tile(dims=...)``: the keyword form of the repetition counts."""
    extra = [k for k in kw if k != "dims"]
    if extra:
        raise TypeError(f"tile() got an unexpected keyword argument '{extra[0]}'")
    if dims:
        raise TypeError("tile() got multiple values for argument 'dims'")
    return (kw["dims"],)


def _shift_fn(fn):
    """``fn`` with PyTorch's results for shift amounts outside [0, bits): every bit shifted
    out (0, or -1 for a right shift of a negative value)."""
    def shift(values, amounts):
        bits = values.dtype.itemsize * 8
        out_of_range = (amounts < 0) | (amounts >= bits)
        if not np.any(out_of_range):
            return fn(values, amounts)
        shifted = fn(values, np.where(out_of_range, 0, amounts).astype(amounts.dtype))
        if fn is np.right_shift:
            spilled = np.where(values < 0, -1, 0).astype(values.dtype)
        else:
            spilled = np.zeros((), values.dtype)
        return np.where(out_of_range, spilled, shifted)
    return shift
