"""Index key parsing for ``t[key]`` and ``t[key] = v``: tensors to arrays, checks, splits."""
import numpy as np

from ._tensor_layout import legacy_tuple

_ndarray = np.ndarray


def _index_arrays(idx):
    """Convert tensors inside an index to arrays (bool and uint8 tensors act as masks)."""
    from .tensor import Tensor
    if isinstance(idx, Tensor):
        return _mask_or_indices(idx._data)
    if isinstance(idx, tuple):
        return tuple(_mask_or_indices(i._data) if isinstance(i, Tensor) else
                     (_int_list([j._data if isinstance(j, Tensor) else j for j in i])
                      if isinstance(i, (list, tuple)) else _plain(i)) for i in idx)
    if isinstance(idx, list):
        if legacy_tuple(idx):  # [[0, 1], [1, 2]] read as ([0, 1], [1, 2]), as PyTorch still does
            return _index_arrays(tuple(idx))
        return _int_list([i.item() if isinstance(i, Tensor) else i for i in idx])
    return _plain(idx)


def _mask_or_indices(arr):
    if arr.ndim == 0 and arr.dtype.kind in "iu" and arr.dtype != np.uint8:
        return int(arr)  # a 0-d integer index selects, as a plain int does (a view)
    if arr.dtype == np.uint8:  # PyTorch's deprecated byte mask
        import warnings
        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                      "torch.bool instead.", UserWarning, stacklevel=4)
        return arr.astype(bool)
    return arr


def _int_list(items):
    """A list index as an array; an empty one selects nothing, as integers."""
    arr = np.asarray(items)
    if arr.dtype.kind == "f":  # PyTorch reads such data as long, truncating
        return arr.astype(np.int64)
    return arr if arr.size else arr.astype(np.int64)


def _numpy_index(arr):
    """A numpy array index: bool and uint8 ones are masks; other numbers are read as long
    (a 0-d one as a plain int), whatever their dtype, as PyTorch reads numpy data."""
    if arr.dtype == bool or arr.dtype == np.uint8:
        return _mask_or_indices(arr)
    if arr.dtype.kind in "iuf" and arr.dtype != np.int64:
        arr = arr.astype(np.int64)
    return int(arr) if arr.ndim == 0 and arr.dtype == np.int64 else arr


def _plain(i):
    """A range indexes as its integers (``x[range(n), y]``, the NLL recipe); slices step
    forwards only, as in PyTorch (numpy would reverse: flip() does that)."""
    if isinstance(i, range):
        return np.arange(i.start, i.stop, i.step, dtype=np.int64)
    if isinstance(i, _ndarray):
        return _numpy_index(i)
    if i is True or i is False:  # a 0-d mask: a new size-1 (or 0) dim, indexed as a copy
        return np.array(i)
    if isinstance(i, slice) and i.step is not None and i.step <= 0:
        raise ValueError("step must be greater than zero" if i.step else
                         "slice step cannot be zero")
    return i


def _check_index(t, idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    real = [i for i in items if i is not None and i is not Ellipsis]
    ndim = t._data.ndim
    used = sum(i.ndim if isinstance(i, _ndarray) and i.dtype == bool else 1 for i in real)
    if used > ndim:
        if ndim == 0 and not isinstance(idx, tuple) and isinstance(idx, (int, np.integer)):
            # the old ``loss.data[0]`` idiom
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    dim = 0
    for i in items:
        if i is Ellipsis:  # the items after it index the trailing dimensions
            dim += ndim - used
            continue
        if i is None:
            continue
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
            size = t._data.shape[dim]
            if not -size <= i < size:
                raise IndexError(f"index {int(i)} is out of bounds for dimension {dim} with "
                                 f"size {size}")
        dim += i.ndim if isinstance(i, _ndarray) and i.dtype == bool else 1


def _check_index_types(idx):
    for i in (idx if isinstance(idx, tuple) else (idx,)):
        ok = i is None or i is Ellipsis or isinstance(i, (int, slice, np.integer)) or (
            (isinstance(i, _ndarray) or hasattr(i, "device_spec")) and (
                i.dtype.kind == "b" or i.dtype.kind in "iu" and i.itemsize >= 4))
        if isinstance(i, str):  # PyTorch reads a string as data for a tensor index
            raise TypeError("new(): invalid data type 'str'")
        if not ok:
            kind = type(i).__name__ if type(i).__module__ != "numpy" else \
                "numpy." + type(i).__name__
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or "
                             f"byte Variables are valid indices (got {kind})"
                             if not isinstance(i, _ndarray) else
                             "tensors used as indices must be long, int, byte or bool tensors")


def _mask_mismatch(t, idx):
    """PyTorch's message for a boolean mask whose shape does not fit (None if they fit)."""
    items = idx if isinstance(idx, tuple) else (idx,)
    if Ellipsis in [i for i in items if not isinstance(i, _ndarray)]:
        return None
    d = 0
    for i in items:
        if isinstance(i, _ndarray) and i.dtype == bool:
            for j, n in enumerate(i.shape):
                if d + j < t._data.ndim and t._data.shape[d + j] != n:
                    return (f"The shape of the mask {list(i.shape)} at index {j} does not match "
                            f"the shape of the indexed tensor {list(t._data.shape)} at index "
                            f"{d + j}")
            d += i.ndim
        elif i is not None:
            d += 1
    return None


def check_empty_masks(t, idx):
    """numpy reads an empty bool array as an empty integer index; PyTorch checks its shape."""
    for i in (idx if type(idx) is tuple else (idx,)):
        if type(i) is _ndarray and i.dtype == bool and i.ndim and not i.size:
            msg = _mask_mismatch(t, idx)
            if msg:
                raise IndexError(msg)
            return


def drop_empty_ellipsis(t, idx):
    """``idx`` without a ``...`` that stands for no dims: numpy would still count it as
    separating the advanced indices around it (moving their dims to the front)."""
    if type(idx) is not tuple or not any(i is Ellipsis for i in idx):
        return idx
    used = sum(i.ndim if type(i) is _ndarray and i.dtype == bool else 1 for i in idx
               if i is not None and i is not Ellipsis)
    if used != t._data.ndim:
        return idx
    return tuple(i for i in idx if i is not Ellipsis)


def _is_int(i):
    return isinstance(i, (int, np.integer)) and not isinstance(i, bool)


def _split_int_indices(idx):
    """(ints-only index, rest) when integers mix with advanced indices, else None."""
    if not isinstance(idx, tuple) or not any(_is_int(i) for i in idx):
        return None
    first, rest = [], []
    for i in idx:
        if _is_int(i):
            first.append(i)
        elif i is None or i is Ellipsis:
            first.append(i)
            rest.append(slice(None) if i is None else i)
        else:
            n = i.ndim if isinstance(i, _ndarray) and i.dtype == bool else 1
            first.extend([slice(None)] * n)
            rest.append(i)
    return tuple(first), tuple(rest)
