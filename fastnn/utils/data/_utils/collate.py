"""``fastnn.utils.data._utils.collate``: the collate helpers under the private path that code
written for ``torch.utils.data`` imports them from.

``default_collate`` and ``default_convert`` are fastnn's own (``fastnn.utils.data``).
``collate(batch, collate_fn_map=...)`` is the extensible form: it looks the type of the
batch's first element up in ``collate_fn_map`` (exact type first, then ``isinstance`` in the
map's order) and otherwise recurses into mappings, namedtuples and sequences.
``default_collate_fn_map`` holds the built-in leaf functions; adding entries to it affects
``collate`` calls that pass it, not fastnn's ``default_collate``.
"""
import numpy as np

from ....tensor import Tensor
from .._collate import _ERR as default_collate_err_msg_format, _NP_STR_OBJ
from .._collate import collate_container, default_collate, default_convert

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
    return collate_container(batch, lambda s: collate(s, collate_fn_map=collate_fn_map))
