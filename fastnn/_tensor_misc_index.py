"""Indexing Tensor methods of MiscMixin: index_fill/index_copy, scatter_reduce, take,
take_along_dim, unfold, fill_diagonal_, put, masked_scatter, index_put and the *_scatter ops."""
import numpy as np

from .autograd.function import apply
from .autograd.node import keep_saved
from .autograd import ops_misc as M
from .autograd.ops_math import relabel
from ._tensor_shape import _as_view
from ._dtype import scalar_type_name as _title

_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
_LEGACY_REDUCE = {"max": "amax", "min": "amin"}  # older spellings PyTorch still takes


def _cpu_only(t, fn):
    if type(t._data) is not np.ndarray:
        raise NotImplementedError(f"fastnn's {fn} runs on CPU tensors only; call .cpu() first")


def _long_index(fn, index, word="a long tensor for index"):
    from .tensor import Tensor
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{fn}(): Expected {word}, but got {_title(index._data.dtype)}")
    return index._data


def _check_bounds(idx, size, dim):
    if idx.size:
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise RuntimeError(f"index {bad} is out of bounds for dimension {dim} with size "
                               f"{size}")


def _check_flat_bounds(self, idx):
    """The element count, after PyTorch's IndexError for a flat position outside it."""
    n = self._data.size
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.min() if idx.min() < -n else idx.max()
        raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                         "elements.")
    return n


def _flat_positions(self, idx):
    """Multi-indices of flat (row-major) positions, negative ones counted from the end."""
    n = _check_flat_bounds(self, idx)
    return np.unravel_index(np.where(idx < 0, idx + n, idx), self._data.shape)


_BETA_WARNED = []


def check_index_and_source(fn, self, idx, source):
    """index_add_/index_reduce_'s checks: an int32/int64 vector of indices, a same-dtype source."""
    if idx.dtype.kind not in "iu" or idx.itemsize < 4:
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index but got: "
                           f"{_title(idx.dtype)}")
    if idx.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector, but got dim: "
                         f"{idx.ndim} with type: {_title(idx.dtype)} and size: "
                         f"{list(idx.shape)}")
    if self._data.dtype != source._data.dtype:
        raise RuntimeError(f"{fn}(): self ({_title(self._data.dtype)}) and source "
                           f"({_title(source._data.dtype)}) must have the same scalar type")


def _warn_index_reduce_beta():
    if not _BETA_WARNED:  # once per process, like PyTorch's own notice
        _BETA_WARNED.append(True)
        import warnings
        warnings.warn("index_reduce() is in beta and the API may change at any time.",
                      UserWarning, stacklevel=3)


def _index_reduce_checks(self, dim, index, source, reduce):
    """PyTorch's argument checks of index_reduce; returns the index as a flat array."""
    from .tensor import Tensor
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    for pos, (name, arg) in enumerate((("index", index), ("source", source)), 2):
        if not isinstance(arg, Tensor):
            raise TypeError(f"index_reduce(): argument '{name}' (position {pos}) must be "
                            f"Tensor, not {type(arg).__name__}")
    d = self._dim(dim)
    idx = index._data
    check_index_and_source("index_reduce_", self, idx, source)
    shape, sshape = self._data.shape, source._data.shape
    if sshape and d >= len(sshape):
        raise RuntimeError(f"index_reduce_(): Indexing dim {d} is out of bounds of the source "
                           f"tensor with dim {len(sshape)}")
    if len(sshape) != len(shape) or any(a != b for k, (a, b) in enumerate(zip(sshape, shape))
                                        if k != d):
        raise RuntimeError("source tensor shape must match self tensor shape, excluding the "
                           f"specified dimension. Got self.shape = {list(shape)} source.shape "
                           f"= {list(sshape)}")
    idx = idx.reshape(-1)
    ns = sshape[d] if sshape else 1
    if idx.size != ns:
        raise RuntimeError(f"index_reduce_(): Number of indices ({idx.size}) should be equal to "
                           f"source.size(dim): ({ns}), for dim: {d}")
    size = shape[d] if shape else 1
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        raise IndexError("index out of range in self")
    return idx


class MiscIndexMixin:
    __slots__ = ()

    # ---- index_fill / index_copy ----------------------------------------------------
    def index_fill(self, dim, index, value):
        return self.clone().index_fill_(dim, index, value)

    def index_copy_(self, dim, index, source):
        d = self._dim(dim)
        idx = _long_index("index_copy_", index)
        if idx.ndim > 1:
            raise IndexError("index_copy_(): Index should have dimension 1 or 0 (got "
                             f"{idx.ndim})")
        n = idx.reshape(-1).shape[0]
        ssize = source.shape[d] if source.dim() else 1
        if n != ssize:
            raise IndexError(f"index_copy_(): Number of indices ({n}) should be equal to "
                             f"source.size(dim) ({ssize})")
        try:
            _check_bounds(idx, self._data.shape[d], d)
        except RuntimeError as e:
            raise IndexError(f"index_copy_(): {e}") from None
        if source.dtype != self.dtype:
            raise RuntimeError("index_copy_(): self and source expected to have the same dtype, "
                               f"but got (self) {_title(self._data.dtype)} and (source) "
                               f"{_title(source._data.dtype)}")
        self[(slice(None),) * d + (index.reshape(-1),)] = source
        node = self.grad_fn
        if node is not None and type(node).__name__ == "IndexPutBackward0":
            relabel(self, "IndexCopyBackward0")
        return self

    def index_copy(self, dim, index, source):
        from ._tensor_layout import contiguous_format  # PyTorch's result is C-ordered
        return self.clone(memory_format=contiguous_format).index_copy_(dim, index, source)

    # ---- scatter_reduce ---------------------------------------------------------------
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        from .tensor import Tensor
        reduce = _LEGACY_REDUCE.get(reduce, reduce)
        if reduce not in _REDUCTIONS:
            raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, "
                               f"got {reduce}")
        if not isinstance(src, Tensor):
            raise TypeError("scatter_reduce(): argument 'src' (position 3) must be Tensor, not "
                            f"{type(src).__name__}")
        d = self._dim(dim)
        idx = index._data
        if idx.dtype.kind not in "iu" or idx.itemsize < 4:
            raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
        if src._data.dtype != self._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        if idx.ndim != self._data.ndim or src._data.ndim != self._data.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as self "
                               "tensor")
        for k in range(idx.ndim):
            if idx.shape[k] > src._data.shape[k] or (k != d and idx.shape[k] >
                                                     self._data.shape[k]):
                raise RuntimeError(f"Expected index {list(idx.shape)} to be smaller than self "
                                   f"{list(self._data.shape)} apart from dimension {d} and to "
                                   f"be smaller size than src {list(src._data.shape)}")
        _check_bounds(idx, self._data.shape[d], d)
        _cpu_only(self, "scatter_reduce")
        return keep_saved(apply(M.ScatterReduceBackward0, (self, src), d, idx.astype(np.int64),
                                reduce, bool(include_self)), index)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._unary_("scatter_reduce", dim, index, src, reduce, include_self=include_self)

    # ---- index_reduce -----------------------------------------------------------------
    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        """Reduce the slices ``source.select(dim, i)`` into ``self.select(dim, index[i])``
        with ``reduce`` ('prod', 'mean', 'amax' or 'amin'); differentiable."""
        _warn_index_reduce_beta()
        idx = _index_reduce_checks(self, dim, index, source, reduce)
        if self._data.ndim == 0:  # a 0-d self takes a 0-d source as one slice
            return self.reshape(1).index_reduce(0, index.reshape(1), source.reshape(1), reduce,
                                                include_self=include_self).reshape(())
        d = self._dim(dim)
        _cpu_only(self, "index_reduce")
        # the scatter_reduce form: each source element goes to the slice its index row names
        along = [-1 if k == d else 1 for k in range(source._data.ndim)]
        full = np.ascontiguousarray(np.broadcast_to(idx.astype(np.int64).reshape(along),
                                                    source._data.shape))
        out = apply(M.ScatterReduceBackward0, (self, source), d, full, reduce,
                    bool(include_self), False)
        return keep_saved(relabel(out, "IndexReduceBackward0"), index)

    def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
        return self._unary_("index_reduce", dim, index, source, reduce,
                            include_self=include_self)

    # ---- take / take_along_dim --------------------------------------------------------
    def take(self, index):
        idx = _long_index("take", index)
        n = self._data.size
        _check_flat_bounds(self, idx)
        from .tensor import _wrap
        return keep_saved(relabel(self.reshape(-1)[_wrap(np.asarray(np.where(idx < 0, idx + n,
                                                                           idx)))],
                                  "TakeBackward0"), index)

    def take_along_dim(self, indices, dim=None):
        from .tensor import Tensor
        if not isinstance(indices, Tensor):
            raise TypeError("take_along_dim(): argument 'indices' (position 1) must be Tensor, "
                            f"not {type(indices).__name__}")
        if indices._data.dtype != np.int64:
            raise RuntimeError("torch.take_along_dim(): dtype of indices should be Long but got "
                               f"{_title(indices._data.dtype)}")
        if self._rg:  # backward reads its own copy: a later change to indices is harmless
            indices = indices.clone()
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        d = self._dim(dim)
        if self._data.ndim != indices._data.ndim:
            raise RuntimeError("torch.take_along_dim(): input and indices should have the same "
                               f"number of dimensions, but got {self._data.ndim} dimensions for "
                               f"input, and {indices._data.ndim} dimensions for indices")
        # every dim but d broadcasts between input and indices
        ss, si = list(self._data.shape), list(indices._data.shape)
        ss[d], si[d] = 1, 1
        for k, (a, b) in enumerate(zip(ss, si)):
            if a != b and a != 1 and b != 1:
                raise RuntimeError(f"The size of tensor a ({a}) must match the size of tensor b "
                                   f"({b}) at non-singleton dimension {k}")
        common = list(np.broadcast_shapes(tuple(ss), tuple(si)))
        size = self._data.shape[d]
        if indices._data.size and indices._data.min() < 0:  # negative positions count from the end
            if indices._data.min() >= -size:
                indices = indices + (indices < 0).long() * size
        common_s, common_i = list(common), list(common)
        common_s[d], common_i[d] = self._data.shape[d], indices._data.shape[d]
        x = self.expand(*common_s)
        i = indices.expand(*common_i)
        return x.gather(d, i)

    # ---- unfold -----------------------------------------------------------------------
    def unfold(self, dimension, size, step):
        if self._data.ndim == 0:
            out = self.reshape(1).unfold(0, size, step)
            return out.reshape(size)
        d = self._dim(dimension)
        if size < 0:
            raise RuntimeError(f"size is {size} but must be >= 0")
        if size > self._data.shape[d]:
            raise RuntimeError(f"maximum size for tensor at dimension {d} is "
                               f"{self._data.shape[d]} but size is {size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        _cpu_only(self, "unfold")
        return _as_view(apply(M.UnfoldBackward0, (self,), d, int(size), int(step)), self)

    # ---- fill_diagonal_, put, masked_scatter, index_put -------------------------------
    def fill_diagonal_(self, fill_value, wrap=False):
        shape = self._data.shape
        if len(shape) < 2:
            raise RuntimeError("dimensions must larger than 1")
        if len(shape) > 2 and len(set(shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        if len(shape) > 2:
            k = np.arange(shape[0])
            idx = (k,) * len(shape)
        else:
            rows, cols = shape
            # wrap: a tall matrix restarts its diagonal every cols + 1 rows
            stop = rows * cols if wrap and rows > cols else min(rows, cols) * cols
            flat = np.arange(0, stop, cols + 1)
            idx = (flat // cols, flat % cols)
        self[idx] = fill_value
        return self

    def put_(self, index, source, accumulate=False):
        idx = _long_index("put_", index, "a long tensor for index")
        if idx.size != source.numel():
            raise IndexError(f"put_(): Expected source and index to have the same number of "
                               f"elements, but got source.numel() = {source.numel()}, "
                               f"index.numel() = {idx.size}")
        if source.dtype != self.dtype:
            raise RuntimeError("put_(): self and source expected to have the same dtype, but got "
                               f"self.dtype = {self.dtype} and source.dtype = {source.dtype}")
        from .tensor import _wrap
        pos = tuple(_wrap(p.reshape(-1)) for p in _flat_positions(self, idx.reshape(-1)))
        return self.index_put_(pos, source.reshape(-1), accumulate)

    def put(self, index, source, accumulate=False):
        return self.clone().put_(index, source, accumulate)

    def index_put(self, indices, values, accumulate=False):
        return self.clone().index_put_(indices, values, accumulate)

    def masked_scatter_(self, mask, source):
        if mask._data.dtype != np.bool_:
            raise RuntimeError("masked_scatter_ only supports boolean masks, but got mask with "
                               f"dtype {mask.dtype}")
        m = np.broadcast_to(mask._data, self._data.shape)
        count = int(m.sum())
        if count > source.numel():
            raise RuntimeError("Number of elements of source < number of ones in mask")
        from .tensor import _wrap
        self[_wrap(np.ascontiguousarray(m))] = source.reshape(-1)[:count]
        return self

    def masked_scatter(self, mask, source):
        shape = np.broadcast_shapes(self._data.shape, mask._data.shape)
        from ._tensor_layout import contiguous_format
        return self.expand(*shape).clone(memory_format=contiguous_format).masked_scatter_(
            mask, source)

    # ---- *_scatter: a copy of self with one slice / diagonal replaced ------------------
    def _scatter_into(self, idx, src, target_shape):
        if tuple(src.shape) != tuple(target_shape):
            raise RuntimeError("expected src to have a size equal to the slice of self. src size "
                               f"= {list(src.shape)}, slice size = {list(target_shape)}")
        out = self.clone()
        out[idx] = src
        return out

    def select_scatter(self, src, dim, index):
        d = self._dim(dim)
        idx = (slice(None),) * d + (index,)
        return self._scatter_into(idx, src, self._data[idx].shape)

    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        d = self._dim(dim)
        idx = (slice(None),) * d + (slice(start, end, step),)
        return self._scatter_into(idx, src, self._data[idx].shape)

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        d1, d2 = self._dim(dim1), self._dim(dim2)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        shape = self._data.shape
        n = np.diagonal(self._data, offset, d1, d2).shape
        length = n[-1]
        k = np.arange(length)
        rows, cols = (k, k + offset) if offset >= 0 else (k - offset, k)
        rest = [i for i in range(len(shape)) if i not in (d1, d2)]
        idx = [None] * len(shape)
        nr = len(rest)
        for j, ax in enumerate(rest):  # the other dims lead, the diagonal goes last
            idx[ax] = np.arange(shape[ax]).reshape((-1,) + (1,) * (nr - j))
        idx[d1], idx[d2] = rows, cols
        if tuple(src.shape) != n:
            raise RuntimeError("expected src to have a size equal to the slice of self. src size "
                               f"= {list(src.shape)}, slice size = {list(n)}")
        out = self.clone()
        out[tuple(idx)] = src
        return out
