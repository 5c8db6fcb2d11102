"""Storage-level views and memory layouts (a mixin of Tensor, plus helpers).

* ``x.as_strided(size, stride, storage_offset)``: a view over the storage ``x`` lives in (the
  array of the tensor it is a view of), with element strides;
* ``x.resize_(*sizes)`` / ``x.resize_as_(other)``: re-view the storage contiguously from the
  tensor's offset, growing it when it is too small;
* the memory formats (``fastnn.preserve_format``, ...) and the helpers that give ``clone()``
  and the ``*_like`` factories their source's memory order;
* small argument parsers shared with other Tensor modules (dims given as 0-d tensors, and the
  legacy reading of a list index as a tuple).
"""
import operator
import warnings

import numpy as np

from .autograd.function import apply
from .autograd import ops_shape as S

_ndarray = np.ndarray
_strided = np.lib.stride_tricks.as_strided


# ---- memory formats ------------------------------------------------------------------------

class memory_format:
    """A memory layout request, such as ``fastnn.contiguous_format``."""
    __slots__ = ("_name",)
    _all = {}

    def __new__(cls, name):
        fmt = cls._all.get(name)
        if fmt is None:
            fmt = object.__new__(cls)
            fmt._name = name
            cls._all[name] = fmt
        return fmt

    def __repr__(self):
        return "fastnn." + self._name

    def __reduce__(self):
        return (memory_format, (self._name,))


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")

# the dimension order, outermost first, that the channels-last formats lay memory out in
_CHANNELS_LAST = {channels_last: (4, (0, 2, 3, 1)), channels_last_3d: (5, (0, 2, 3, 4, 1))}


def _check_format(fmt, ndim):
    if fmt is None or fmt is preserve_format or fmt is contiguous_format:
        return
    rank = _CHANNELS_LAST.get(fmt)
    if rank is None:
        raise TypeError(f"memory_format must be a fastnn.memory_format, not {type(fmt).__name__}")
    if ndim != rank[0]:
        raise RuntimeError(f"required rank {rank[0]} tensor to use {fmt._name} format")


def _is_dense(shape, strides):
    """Whether element strides cover a gap-free block without overlap (in any dim order)."""
    expected = 1
    for st, n in sorted((st, n) for n, st in zip(shape, strides) if n != 1):
        if st != expected:
            return False
        expected *= n
    return True


def empty_in_layout(a, dt, fmt=None):
    """An uninitialised array of ``a``'s shape and dtype ``dt`` in the memory order that
    ``fmt`` asks for: for preserve_format (None), ``a``'s own strides when ``a`` is dense,
    else a dense layout that follows the order of ``a``'s strides."""
    _check_format(fmt, a.ndim)
    if fmt is contiguous_format or a.flags.c_contiguous and fmt is not channels_last \
            and fmt is not channels_last_3d:
        return np.empty(a.shape, dt)
    rank = _CHANNELS_LAST.get(fmt)
    if rank is not None:
        order = rank[1]
        buf = np.empty(tuple(a.shape[i] for i in order), dt)
        return buf.transpose(np.argsort(order))
    isz = a.itemsize
    strides = [s // isz for s in a.strides]
    if 0 in strides:  # expanded: numpy's 'K' order would put the broadcast dims innermost
        order = _dense_order(a.shape, strides)
        return np.empty(tuple(a.shape[d] for d in order), dt).transpose(np.argsort(order))
    out = np.empty_like(a, dtype=dt, order="K")  # a's stride order, packed densely
    if out.itemsize == a.itemsize and out.strides == a.strides or not a.size:
        return out
    # numpy re-derives the strides of size-1 dims; a dense source keeps its own exactly
    if all(s >= 0 for s in strides) and _is_dense(a.shape, strides):
        step = out.itemsize
        return _strided(np.empty(a.size, dt), a.shape, [s * step for s in strides])
    return out


def _dense_order(shape, strides):
    """Dims outermost first for a dense copy of an expanded array: larger strides go outward,
    equal strides put the larger size outward, and a stride-0 (broadcast) dim compares with
    nothing, so it keeps its place: ``arange(5).expand(3, 5)`` copies C-ordered."""
    def outward(d0, d1):  # 1: d0 belongs further out than d1; -1: further in; 0: unknown
        s0, s1 = strides[d0], strides[d1]
        if s0 == 0 or s1 == 0:
            return 0
        if s0 != s1:
            return 1 if s0 > s1 else -1
        return 1 if shape[d0] > shape[d1] else 0
    inner_first = list(reversed(range(len(shape))))
    for i in range(1, len(shape)):  # insertion sort that steps over the unknown comparisons
        moving = i
        for pos in range(i - 1, -1, -1):
            c = outward(inner_first[pos], inner_first[moving])
            if c > 0:
                inner_first[pos], inner_first[moving] = inner_first[moving], inner_first[pos]
                moving = pos
            elif c < 0:
                break
    return inner_first[::-1]


def copy_in_layout(a, fmt=None):
    """A copy of ``a`` laid out as :func:`empty_in_layout` says."""
    out = empty_in_layout(a, a.dtype, fmt)
    np.copyto(out, a)
    return out


def contiguous_as(t, fmt):
    """``t.contiguous(memory_format=fmt)`` for a channels-last format: ``t`` itself when its
    memory is already in that order, else a copy that is."""
    if fmt is preserve_format:
        if t._data.flags.c_contiguous:
            return t
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    _check_format(fmt, t._data.ndim)
    return t if in_format(t._data, fmt) else t.clone(memory_format=fmt)


def in_format(a, fmt):
    """Whether ``a``'s memory is dense in the order ``fmt`` names (``is_contiguous``)."""
    if fmt is None or fmt is contiguous_format or fmt is preserve_format:
        return bool(a.flags.c_contiguous)
    rank = _CHANNELS_LAST.get(fmt)
    if rank is None:
        raise TypeError(f"is_contiguous(): argument 'memory_format' must be "
                        f"fastnn.memory_format, not {type(fmt).__name__}")
    if a.ndim != rank[0]:
        return False
    isz, want = a.itemsize, 1
    for d in reversed(rank[1]):
        if a.shape[d] != 1 and a.strides[d] != want * isz:
            return False
        want *= a.shape[d]
    return True


def like_layout(t, out, fmt):
    """``out`` (a new tensor of ``t``'s shape, contiguous) rearranged to ``t``'s memory order
    under ``fmt`` (``*_like`` factories); unchanged when that order is the contiguous one."""
    a = t._data
    if type(a) is not _ndarray or type(out._data) is not _ndarray:
        return out
    if fmt is None or fmt is preserve_format:
        if a.flags.c_contiguous:
            return out
    elif fmt is contiguous_format:
        return out
    arr = empty_in_layout(a, out._data.dtype, fmt)
    np.copyto(arr, out._data)
    out._data = arr
    return out


# ---- argument parsing shared with other modules ----------------------------------------------

def index_dim(dim):
    """A dim given as something other than an int: a one-element integer tensor (or anything
    with ``__index__`` but a bool) stands for its value; anything else is a TypeError."""
    if hasattr(dim, "_data") and dim._data.size == 1 and dim._data.dtype.kind in "iub":
        return int(dim._data.reshape(-1)[0])
    if not isinstance(dim, (bool, np.bool_, float, np.floating)):
        try:
            return operator.index(dim)
        except TypeError:
            pass
    raise TypeError(f"dim must be an int, got {type(dim).__name__}")


_LEGACY_INDEX = ("Using a non-tuple sequence for multidimensional indexing is deprecated and "
                 "will be changed in pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In "
                 "pytorch 2.9 this will be interpreted as tensor index, x[torch.tensor(seq)], "
                 "which will result either in an error or a different result")


def legacy_tuple(idx):
    """True (after PyTorch's deprecation warning) when a list index is read the old way, as a
    tuple of indices: a short list holding a sequence, tensor, slice, None or Ellipsis."""
    if len(idx) >= 32:
        return False
    for i in idx:
        if i is None or i is Ellipsis or isinstance(i, (list, tuple, range, slice, str,
                                                        _ndarray)) or hasattr(i, "_data"):
            warnings.warn(_LEGACY_INDEX, UserWarning, stacklevel=4)
            return True
    return False


# ---- the storage behind a tensor --------------------------------------------------------------

def storage_of(t):
    """(flat array over the storage ``t`` views, ``t``'s offset in it, in elements)."""
    root = t._base if t._base is not None else t
    r = root._data
    if type(r) is not _ndarray:
        raise RuntimeError("as_strided and resize_ work on CPU tensors only in fastnn")
    kept = root.__dict__.get("_storage")  # the whole storage of a tensor that resize_ shrank
    if kept is not None and kept.dtype == r.dtype and _inside(r, kept):
        r = kept
    if any(s < 0 for s in r.strides):  # start from the lowest address
        r = r[tuple(slice(None, None, -1) if s < 0 else slice(None) for s in r.strides)]
    isz = r.itemsize
    n = 1 + sum((k - 1) * s for k, s in zip(r.shape, r.strides)) // isz if r.size else 0
    flat = _strided(r, (n,), (isz,))
    a = t._data
    low = a.__array_interface__["data"][0]
    if a.size and any(s < 0 for s in a.strides):
        low += sum((k - 1) * s for k, s in zip(a.shape, a.strides) if s < 0)
    off = (low - r.__array_interface__["data"][0]) // isz if a.size else 0
    return flat, max(off, 0)


def _inside(a, storage):
    start = storage.__array_interface__["data"][0]
    ptr = a.__array_interface__["data"][0]
    return start <= ptr and ptr + a.nbytes <= start + storage.nbytes


def _sizes_arg(fn, args):
    sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
    out = []
    for s in sizes:
        if isinstance(s, (bool, float, np.floating)):
            raise TypeError(f"{fn}(): argument 'size' must be tuple of ints, but found element "
                            f"of type {type(s).__name__}")
        out.append(operator.index(s))
    return tuple(out)


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given sizes, element strides and offset (the
    tensor's own offset by default); the gradient sums over elements that overlap."""
    from ._tensor_shape import _as_view
    size, stride = _sizes_arg("as_strided", (size,)), _sizes_arg("as_strided", (stride,))
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    flat, own = storage_of(input)
    off = own if storage_offset is None else operator.index(storage_offset)
    if off < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {off}")
    if all(size):
        need = off + 1 + sum((n - 1) * s for n, s in zip(size, stride))
        if need > flat.size:
            isz = flat.itemsize
            raise RuntimeError(
                f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {off}, "
                f"and itemsize {isz} requiring a storage size of {need * isz} are out of bounds "
                f"for storage of size {flat.size * isz}")
    a = input._data
    isz = a.itemsize
    geometry = (a.shape, tuple(s // isz for s in a.strides), own)
    return _as_view(apply(S.AsStridedBackward0, (input,), flat, size, stride, off, geometry),
                    input)


class LayoutMixin:
    __slots__ = ()

    def as_strided(self, size, stride, storage_offset=None):
        return as_strided(self, size, stride, storage_offset)

    def resize_(self, *sizes, memory_format=None):
        shape = _sizes_arg("resize_", sizes)
        if self._rg:
            raise RuntimeError("cannot resize variables that require grad")
        self._check_inplace()
        if any(n < 0 for n in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{min(shape)}: {list(shape)}")
        if shape == self._data.shape:
            return self
        flat, off = storage_of(self)
        n = int(np.prod(shape, dtype=np.int64))
        if off + n > flat.size:  # grow: a new storage that starts with the old one
            new = np.empty(off + n, flat.dtype)
            new[:flat.size] = flat
            flat = new
            self.__dict__.pop("_grad_slot", None)
            self.__dict__.pop("_base", None)  # no longer the memory of the tensor it viewed
        if self._base is None:
            self.__dict__["_storage"] = flat
        arr = flat[off:off + n].reshape(shape)
        _check_format(memory_format, len(shape))
        if memory_format in _CHANNELS_LAST:
            order = _CHANNELS_LAST[memory_format][1]
            arr = arr.reshape(tuple(shape[i] for i in order)).transpose(np.argsort(order))
        self._data = arr
        return self._bump()

    def resize_as_(self, the_template, *, memory_format=None):
        return self.resize_(the_template._data.shape, memory_format=memory_format)


_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation.")


def writable_alias(arr, region=None):
    """A writeable view of the memory behind ``arr`` when ``arr`` is a read-only view of
    writeable memory (an expanded tensor), so that writes reach the shared elements as in
    PyTorch; ``arr`` itself otherwise. With ``region`` (a basic index), a region in which
    two elements share one memory slot is refused, as PyTorch refuses it."""
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    if not root.flags.writeable or not root.flags.c_contiguous or root.dtype != arr.dtype:
        return arr
    if region is not None:
        part = arr[region]
        if any(st == 0 and n > 1 for st, n in zip(part.strides, part.shape)):
            raise RuntimeError(_OVERLAP)
    start = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    flat = root.reshape(-1)[start // root.itemsize:]
    return np.lib.stride_tricks.as_strided(flat, arr.shape, arr.strides)
