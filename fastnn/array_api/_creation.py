"""Creation functions of the array API standard, with its signatures and copy rules."""
import builtins
import numbers

import numpy as np

from .. import _dtype as D
from .. import _creation as C
from ..tensor import Tensor, _wrap
from ._common import cast, result_type, tensor_arg
from ._dtypes import as_dtype

_ndarray = np.ndarray


def _dt(dtype, fn):
    return None if dtype is None else as_dtype(dtype, fn)


def _place(t, device):
    return t if device is None or D.device(device) == t.device else t.to(device)


def _no_copy(what):
    return ValueError(f"asarray(copy=False): {what} needs a copy, which copy=False forbids")


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    """A tensor from a tensor, an array (shared when possible), a DLPack or buffer object,
    a Python scalar or nested sequence; ``copy`` follows the standard (False: never copy)."""
    dt = _dt(dtype, "asarray")
    if isinstance(obj, Tensor):
        out = obj
        if dt is not None and dt is not obj.dtype:
            if copy is False:
                raise _no_copy(f"casting {obj.dtype} to {dt}")
            out = obj.to(dt)
        if device is not None and D.device(device) != out.device:
            if copy is False:
                raise _no_copy(f"moving from {out.device} to {device}")
            out = out.to(device)
        return out.clone() if copy and out is obj else out
    if isinstance(obj, (builtins.bool, numbers.Number, list, tuple)) and \
            not isinstance(obj, np.generic):
        if copy is False:
            raise _no_copy(f"converting a Python {type(obj).__name__}")
        return _place(C.tensor(obj, dtype=dt), device)
    if hasattr(obj, "__dlpack__") and not isinstance(obj, _ndarray):
        from ._manipulation import from_dlpack
        t = from_dlpack(obj, copy=copy)
        return asarray(t, dtype=dt, device=device, copy=False if copy is False else None)
    try:
        arr = np.asarray(obj)      # ndarrays, numpy scalars, buffers, __array__ objects
    except (TypeError, ValueError) as e:
        raise TypeError(f"asarray(): cannot convert {type(obj).__name__} to a tensor: {e}") \
            from None
    if dt is None:
        dt = D.from_numpy_dtype(arr.dtype)
    if arr.dtype != dt.np:
        if copy is False:
            raise _no_copy(f"casting {arr.dtype} to {dt}")
        arr = arr.astype(dt.np)
    elif copy:
        arr = arr.copy()
    return _place(_wrap(arr), device)


def _shape(shape):
    return (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)


def zeros(shape, *, dtype=None, device=None):
    return C.zeros(_shape(shape), dtype=_dt(dtype, "zeros"), device=device)


def ones(shape, *, dtype=None, device=None):
    return C.ones(_shape(shape), dtype=_dt(dtype, "ones"), device=device)


def empty(shape, *, dtype=None, device=None):
    return C.empty(_shape(shape), dtype=_dt(dtype, "empty"), device=device)


def full(shape, fill_value, *, dtype=None, device=None):
    if not isinstance(fill_value, (builtins.bool, numbers.Real, np.bool_)):
        raise TypeError(f"full(): fill_value must be a bool, int or float, got "
                        f"{type(fill_value).__name__}")
    return C.full(_shape(shape), fill_value, dtype=_dt(dtype, "full"), device=device)


def _like(x, dtype, device, fn):
    tensor_arg(x, fn)
    return _dt(dtype, fn) or x.dtype, device if device is not None else x.device


def zeros_like(x, /, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device, "zeros_like")
    return C.zeros(x.shape, dtype=dt, device=dev)


def ones_like(x, /, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device, "ones_like")
    return C.ones(x.shape, dtype=dt, device=dev)


def empty_like(x, /, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device, "empty_like")
    return C.empty(x.shape, dtype=dt, device=dev)


def full_like(x, /, fill_value, *, dtype=None, device=None):
    dt, dev = _like(x, dtype, device, "full_like")
    return C.full(x.shape, fill_value, dtype=dt, device=dev)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    """Like numpy's arange: an empty result (not an error) when step points away from stop."""
    if stop is None:
        start, stop = 0, start
    if step == 0:
        raise ValueError("arange(): step must be nonzero")
    dt = _dt(dtype, "arange")
    if dt is None:
        floating = builtins.any(isinstance(v, float) for v in (start, stop, step))
        dt = D.get_default_dtype() if floating else D.int64
    return _place(_wrap(np.arange(start, stop, step, dtype=dt.np)), device)


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True):
    if num < 0:
        raise ValueError(f"linspace(): num must be non-negative, got {num}")
    dt = _dt(dtype, "linspace") or D.get_default_dtype()
    if not dt.is_floating_point:
        # the standard allows integer dtypes; compute in float64 and truncate like numpy
        arr = np.linspace(start, stop, num, endpoint=endpoint).astype(dt.np)
    else:
        arr = np.linspace(start, stop, num, endpoint=endpoint, dtype=dt.np)
    return _place(_wrap(arr), device)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    dt = _dt(dtype, "eye") or D.get_default_dtype()
    return _place(_wrap(np.eye(n_rows, n_cols, k=k, dtype=dt.np)), device)


def _triangle(x, k, keep, fn):
    from .._functions import where as _where
    tensor_arg(x, fn)
    if x.ndim < 2:
        raise ValueError(f"{fn}(): x must have at least 2 dimensions, got {x.ndim}")
    rows, cols = x.shape[-2:]
    mask = _wrap(keep(np.ones((rows, cols), bool), k))
    # a select, not a multiply: inf and nan outside the triangle must still become 0
    return _where(mask, x, 0)


def tril(x, /, *, k=0):
    return _triangle(x, k, np.tril, "tril")


def triu(x, /, *, k=0):
    return _triangle(x, k, np.triu, "triu")


def meshgrid(*arrays, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid(): indexing must be 'xy' or 'ij', got {indexing!r}")
    for i, a in enumerate(arrays):
        tensor_arg(a, "meshgrid", f"arrays[{i}]")
        if a.ndim != 1:
            raise ValueError(f"meshgrid(): every array must be one-dimensional, but "
                             f"arrays[{i}] has {a.ndim} dimensions")
    if not arrays:
        return []
    dt = result_type(*arrays)
    sizes = [a.shape[0] for a in arrays]
    order = list(range(len(arrays)))
    if indexing == "xy" and len(arrays) > 1:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[j] for j in order)
    out = []
    for i, a in enumerate(arrays):
        view = [1] * len(arrays)
        view[order.index(i)] = sizes[i]
        out.append(cast(a, dt).reshape(tuple(view)).expand(shape))
    return out


__all__ = ["asarray", "zeros", "ones", "empty", "full", "zeros_like", "ones_like",
           "empty_like", "full_like", "arange", "linspace", "eye", "tril", "triu", "meshgrid"]
