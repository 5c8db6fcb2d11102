"""The fast path of ``fastnn.tensor(list)``: nested lists/tuples of plain Python numbers.

The general path inspects every element in Python (dtype inference, unwrapping tensors),
which takes seconds for a few hundred thousand numbers. When the data holds only Python
bools, ints and floats (checked level by level with C-speed ``set(map(type, ...))``), the
dtype follows from the set of element types alone and numpy builds the array in one call.
"""
import itertools

import numpy as np

from . import _dtype as D
from ._fp_quiet import quiet, restore

_NUMBER_TYPES = frozenset((bool, int, float))
_SEQUENCE_TYPES = frozenset((list, tuple))
_MAX_DEPTH = 64


def plain_number_dtype(data):
    """The dtype ``fastnn.tensor`` infers for ``data`` when it is nested lists/tuples of only
    Python bools, ints and floats, all at the same depth; None for anything else (the
    caller then takes the general path)."""
    items = data
    for _ in range(_MAX_DEPTH):
        kinds = set(map(type, items))
        if kinds <= _NUMBER_TYPES:
            break
        if not kinds <= _SEQUENCE_TYPES:
            return None
        items = list(itertools.chain.from_iterable(items))
    else:
        return None
    if not kinds:  # empty: the general path knows the shapes and default dtype to give
        return None
    if float in kinds:  # as in PyTorch: any float -> default dtype, else int64, else bool
        return D.get_default_dtype()
    return D.int64 if int in kinds else D.bool_


def array_from_plain_numbers(data, dtype):
    """``data`` as an array of ``dtype``, or None when numpy refuses it (ragged nesting, an
    int out of range): the general path then gives fastnn's result or error."""
    token = quiet()  # 1e300 -> inf in float32 without numpy's warning, as in PyTorch
    try:
        return np.array(data, dtype=dtype.np)
    except (ValueError, TypeError, OverflowError):
        return None
    finally:
        restore(token)


_LIST_OF_ARRAYS = ("Creating a tensor from a list of numpy.ndarrays is extremely slow. Please "
                   "consider converting the list to a single numpy.ndarray with numpy.array() "
                   "before converting to a tensor.")
_GRAD_TO_SCALAR = ("Converting a tensor with requires_grad=True to a scalar may lead to "
                   "unexpected behavior.\nConsider using tensor.detach() first.")


_warned = set()  # each of the two warnings is given once per program, as in PyTorch


def _warn_once(message, stacklevel):
    if message not in _warned:
        _warned.add(message)
        import warnings
        warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


def warn_list_of_arrays():
    _warn_once(_LIST_OF_ARRAYS, 3)


def tensor_as_scalar(t):
    """The one value of a tensor found inside the data of ``fastnn.tensor``, as a 0-d array
    of the tensor's dtype; more than one value is PyTorch's ValueError."""
    arr = t._host()
    if arr.size != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    if t.requires_grad:
        _warn_once(_GRAD_TO_SCALAR, 5)
    return arr.reshape(())
