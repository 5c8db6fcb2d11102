"""``Tensor.storage()`` and ``Tensor.untyped_storage()``: the memory behind a tensor.

A storage object is a flat numpy view over the whole buffer the tensor (and every view of
it) lives in, so reads and writes through it show in the tensor and back. ``TypedStorage``
counts elements of the tensor's dtype, ``UntypedStorage`` counts bytes.
"""
import warnings

import numpy as np

from . import _dtype as D

_warned_typed = False


def _warn_typed_storage_once():
    global _warned_typed
    if not _warned_typed:
        _warned_typed = True
        warnings.warn(
            "TypedStorage is deprecated. It will be removed in the future and UntypedStorage "
            "will be the only storage class. This should only matter to you if you are using "
            "storages directly.  To access UntypedStorage directly, use "
            "tensor.untyped_storage() instead of tensor.storage()", UserWarning, stacklevel=3)


def _flat_storage(t):
    if type(t._data) is not np.ndarray:
        raise RuntimeError("fastnn: storage() and untyped_storage() work on CPU tensors only; "
                           "call .cpu() first")
    from ._tensor_layout import storage_of
    return storage_of(t)[0]


class _StorageBase:
    __slots__ = ("_flat",)

    def __len__(self):
        return int(self._flat.size)

    def size(self):
        return int(self._flat.size)

    def nbytes(self):
        return int(self._flat.nbytes)

    def element_size(self):
        return self._flat.itemsize

    def data_ptr(self):
        return self._flat.__array_interface__["data"][0]

    @property
    def device(self):
        return D.CPU

    @property
    def is_cuda(self):
        return False

    def is_shared(self):
        return False

    def is_pinned(self, device=None):
        return False

    def cpu(self):
        return self

    def tolist(self):
        return self._flat.tolist()

    def __iter__(self):
        return iter(self._flat.tolist())

    def _index(self, idx):
        n = self._flat.size
        i = int(idx)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for storage of size {n}")
        return i

    def __setitem__(self, idx, value):
        if isinstance(idx, slice):
            self._flat[idx] = value
        else:
            self._flat[self._index(idx)] = value

    def fill_(self, value):
        self._flat[...] = value
        return self

    def _header(self):
        raise NotImplementedError

    def __str__(self):
        items = "\n ".join(str(v) for v in self._flat.tolist())
        return f" {items}\n[{self._header()} of size {self._flat.size}]"

    __repr__ = __str__


class UntypedStorage(_StorageBase):
    """The bytes of a tensor's storage; indexing gives ints in [0, 255], slicing a storage
    over part of the same memory."""
    __slots__ = ()
    __module__ = "fastnn"

    def __init__(self, flat_bytes):
        self._flat = flat_bytes

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return UntypedStorage(self._flat[idx])
        return int(self._flat[self._index(idx)])

    def _header(self):
        return f"fastnn.UntypedStorage(device={self.device})"


class TypedStorage(_StorageBase):
    """The elements (of the tensor's dtype) of a tensor's storage."""
    __slots__ = ()
    __module__ = "fastnn"

    def __init__(self, flat):
        self._flat = flat

    @property
    def dtype(self):
        return D._FROM_NP[self._flat.dtype]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        return self._flat[self._index(idx)].item()

    def untyped(self):
        return UntypedStorage(self._flat.view(np.uint8))

    @property
    def _untyped_storage(self):
        return self.untyped()

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch." + D._LEGACY[self.dtype.name].replace("Tensor", "Storage")
        raise NotImplementedError("fastnn: TypedStorage.type(dtype) is not supported")

    def _header(self):
        return f"fastnn.TypedStorage(dtype={self.dtype}, device={self.device})"


def typed_storage(t):
    _warn_typed_storage_once()
    return TypedStorage(_flat_storage(t))


def untyped_storage(t):
    return UntypedStorage(_flat_storage(t).view(np.uint8))
