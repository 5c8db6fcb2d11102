"""``fastnn.utils.data._utils.collate``: the collate helpers under the private path that code
written for ``torch.utils.data`` imports them from.

``default_collate`` and ``default_convert`` are fastnn's own (``fastnn.utils.data``).
``collate(batch, collate_fn_map=...)`` is the extensible form: it looks the type of the
batch's first element up in ``collate_fn_map`` (exact type first, then ``isinstance`` in the
map's order) and otherwise recurses into mappings, namedtuples and sequences.
``default_collate_fn_map`` holds the built-in leaf functions; adding entries to it affects
``collate`` calls that pass it, not fastnn's ``default_collate``.
"""
import collections.abc
import copy

import numpy as np

from ....tensor import Tensor
from .._collate import _ERR as default_collate_err_msg_format, _NP_STR_OBJ, _is_namedtuple
from .._collate import default_collate, default_convert

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert",
           "collate_tensor_fn", "collate_numpy_array_fn", "collate_numpy_scalar_fn",
           "collate_float_fn", "collate_int_fn", "collate_str_fn"]

np_str_obj_array_pattern = _NP_STR_OBJ


def collate_tensor_fn(batch, *, collate_fn_map=None):
    return default_collate(batch)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if _NP_STR_OBJ.search(batch[0].dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    from ...._creation import as_tensor
    # as tensors, so that a map overriding the tensor entry sees them too
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    return default_collate(batch)


def collate_float_fn(batch, *, collate_fn_map=None):
    return default_collate(batch)


def collate_int_fn(batch, *, collate_fn_map=None):
    return default_collate(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def _leaf_fn(elem, collate_fn_map):
    fn = collate_fn_map.get(type(elem))
    if fn is not None:
        return fn
    for kind, fn in collate_fn_map.items():
        if isinstance(elem, kind):
            return fn
    return None


def collate(batch, *, collate_fn_map=None):
    """Collate ``batch`` with the leaf functions of ``collate_fn_map``; each is called as
    ``fn(batch, collate_fn_map=collate_fn_map)``."""
    elem = batch[0]
    if collate_fn_map is not None:
        fn = _leaf_fn(elem, collate_fn_map)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)

    def inner(samples):
        return collate(samples, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        fields = {key: inner([d[key] for d in batch]) for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)  # keeps what a constructor would lose
                clone.update(fields)
                return clone
            return type(elem)(fields)
        except TypeError:
            return fields
    if _is_namedtuple(elem):
        return type(elem)(*(inner(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [inner(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, column in enumerate(columns):
                    clone[i] = column
                return clone
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(default_collate_err_msg_format.format(type(elem)))
