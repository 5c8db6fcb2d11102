"""Turning a list of samples into a batch (``default_collate``) or converting one sample
(``default_convert``, used when automatic batching is off)."""
import collections.abc
import copy
import re

import numpy as np

from ...tensor import Tensor, _wrap
from .dataset import BatchedSamples

__all__ = ["default_collate", "default_convert"]

# numpy dtypes that cannot become tensors: bytes, unicode, objects
_NP_STR_OBJ = re.compile(r"[SaUO]")

# numpy scalars a batch can be made of; other numpy scalar types are refused by name
_NP_NUMERIC_SCALARS = (np.bool_, np.number, np.object_)

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _is_namedtuple(obj):
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def _typename(obj):
    t = type(obj)
    return t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def _stack(tensors):
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{_typename(t)}")
    first = tensors[0]
    if type(first._data) is np.ndarray and not any(t._rg for t in tensors):
        shape, dtype = first._data.shape, first._data.dtype
        if all(t._data.shape == shape and t._data.dtype == dtype for t in tensors):
            return _wrap(np.stack([t._data for t in tensors]))
    from ..._functions import stack
    return stack(tensors, 0)  # differentiable, promotes dtypes, words shape errors


def default_collate(batch):
    """Stack a list of samples into a batch, recursing into tuples, lists and dicts.

    Tensors are stacked along a new first dimension; numpy arrays and numbers become
    tensors (as in PyTorch, a batch whose first number is a float is float64; otherwise the
    dtype is inferred as ``fastnn.tensor`` does: bool, int64, or the default dtype when
    floats are mixed in); strings are kept as a list; a mapping becomes the same kind of
    mapping of batches, a namedtuple a namedtuple of batches, and any other sequence a
    list of batches (one per position).
    """
    if type(batch) is BatchedSamples:
        return batch.collated
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    elem_type = type(elem)
    if isinstance(elem, np.ndarray) or (
            elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "bytes_")):
        if isinstance(elem, np.ndarray):  # subclasses too (np.memmap, np.matrix, ...)
            if _NP_STR_OBJ.search(elem.dtype.str) is not None:
                raise TypeError(_ERR.format(elem.dtype))
            shape, dtype = elem.shape, elem.dtype
            if all(isinstance(b, np.ndarray) and b.shape == shape and b.dtype == dtype
                   for b in batch):
                from ..._creation import from_numpy
                # stacked as plain arrays: np.stack would keep a subclass, which a tensor
                # cannot hold; from_numpy refuses what no tensor can be made of
                if type(elem) is not np.ndarray:
                    batch = [_plain_array(b) for b in batch]
                return from_numpy(np.stack(batch))
            # anything irregular goes the slow way, for PyTorch's errors (shape mismatch,
            # an element no tensor can be made of) and its dtype promotion
            from ..._creation import as_tensor
            return _stack([as_tensor(b) for b in batch])
        if elem.shape == ():  # numpy scalar
            if not isinstance(elem, _NP_NUMERIC_SCALARS):  # np.datetime64, np.void
                raise TypeError(_ERR.format(elem_type))
            if all(type(b) is elem_type for b in batch):
                stacked = np.asarray(batch)
                if stacked.dtype.kind not in "biuf":  # timedelta64, complex: from_numpy's error
                    from ..._creation import from_numpy
                    return from_numpy(stacked)
                return _wrap(stacked)
            return _scalars(batch)
    if isinstance(elem, float):
        if all(type(b) is float for b in batch):
            return _wrap(np.asarray(batch, dtype=np.float64))
        return _wrap(np.asarray([_real(b) for b in batch], dtype=np.float64))
    if isinstance(elem, int):
        # PyTorch's tensor(batch) inference: all bools -> bool, any float -> default dtype
        from ..._creation import tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    return collate_container(batch, default_collate)


def collate_container(batch, inner):
    """The batch of mappings, namedtuples or sequences, each field's samples collated by
    ``inner``: a mapping of the first element's kind, a namedtuple, or a list per position
    (the sequence's own type where it can be rebuilt)."""
    elem = batch[0]
    elem_type = type(elem)
    if isinstance(elem, collections.abc.Mapping):
        out = {key: inner([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                # a copy keeps what a constructor would lose (a defaultdict's factory)
                clone = copy.copy(elem)
                clone.update(out)
                return clone
            return elem_type(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return elem_type(*(inner(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        out = [inner(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return out
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, v in enumerate(out):
                    clone[i] = v
                return clone
            return elem_type(out)
        except TypeError:
            return out
    raise TypeError(_ERR.format(elem_type))


def _plain_array(arr):
    return arr if type(arr) is np.ndarray else arr.view(np.ndarray)


def _scalars(batch):
    """Mixed numpy scalars (and numbers): one tensor, with fastnn.tensor's dtype inference."""
    for b in batch:
        if isinstance(b, np.ndarray) and b.ndim:
            raise TypeError("only 0-dimensional arrays can be converted to Python scalars")
    from ..._creation import tensor
    return tensor(batch)


def _real(b):
    """One element of a float batch as a Python float, refusing what is not a real number."""
    if isinstance(b, (int, float, np.integer, np.floating, np.bool_)) or \
            (isinstance(b, Tensor) and b.numel() == 1):
        return float(b)
    raise TypeError(f"must be real number, not {type(b).__name__}")


def default_convert(data):
    """Make numpy arrays (also inside containers) tensors; leave everything else alone."""
    if isinstance(data, Tensor):
        return data
    elem_type = type(data)
    if isinstance(data, np.ndarray):
        # as in PyTorch, only numpy's own array types are converted (np.memmap, np.matrix,
        # not a user's subclass)
        if _NP_STR_OBJ.search(data.dtype.str) is not None or elem_type.__module__ != "numpy":
            return data
        from ..._creation import from_numpy
        return from_numpy(data)
    if isinstance(data, np.generic) and elem_type.__name__ not in ("str_", "bytes_"):
        return _wrap(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return elem_type(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
