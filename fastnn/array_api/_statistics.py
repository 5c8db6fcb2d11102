"""Statistical, searching, sorting, set and utility functions of the array API standard.

Reductions accept ``axis`` as None, an int or a tuple; ``axis=()`` reduces over no axes (the
result has x's shape), done by reducing over an added trailing axis of size 1.
"""
import builtins
import collections
import warnings

import numpy as np

from .. import _dtype as D
from .._functions import cat, nonzero as _nonzero
from .._creation import zeros
from ..tensor import _wrap
from ._common import axis_index, cast, cpu_array, norm_axes, result_type, tensor_arg
from ._dtypes import as_dtype


def _quiet(fn, x):
    """numpy warns on reductions over empty slices; the standard simply returns nan."""
    if x.numel():
        return fn()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn()


def _accumulator(x, dtype, name):
    """The standard's default dtype for sum/prod/cumulative_sum: integers (and bools) widen
    to int64; fastnn has no uint64, so unsigned inputs widen to int64 as in PyTorch."""
    if dtype is not None:
        return as_dtype(dtype, name)
    return x.dtype if x.dtype.is_floating_point else D.int64


def sum(x, /, *, axis=None, dtype=None, keepdims=False):
    tensor_arg(x, "sum")
    if axis == ():
        return sum(x.unsqueeze(-1), axis=-1, dtype=dtype)
    dt = _accumulator(x, dtype, "sum")
    return x.sum(dim=norm_axes(x, axis, "sum"), keepdim=keepdims, dtype=dt)


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    tensor_arg(x, "prod")
    if axis == ():
        return prod(x.unsqueeze(-1), axis=-1, dtype=dtype)
    axes = norm_axes(x, axis, "prod")
    out = cast(x, _accumulator(x, dtype, "prod"))
    if axes is None:
        out = out.prod()
        return out.reshape((1,) * x.ndim) if keepdims else out
    for a in reversed(axes):
        out = out.prod(a, keepdim=True)
    return out if keepdims else out.squeeze(axes)


def mean(x, /, *, axis=None, keepdims=False):
    tensor_arg(x, "mean")
    if axis == ():
        return mean(x.unsqueeze(-1), axis=-1)
    axes = norm_axes(x, axis, "mean")
    return _quiet(lambda: x.mean(dim=axes, keepdim=keepdims), x)


def _spread(x, axis, correction, keepdims, name):
    tensor_arg(x, name)
    if axis == ():
        return _spread(x.unsqueeze(-1), -1, correction, False, name)
    axes = norm_axes(x, axis, name)
    method = getattr(x, name)
    return _quiet(lambda: method(dim=axes, correction=correction, keepdim=keepdims), x)


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    return _spread(x, axis, correction, keepdims, "var")


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    return _spread(x, axis, correction, keepdims, "std")


def _extreme(x, axis, keepdims, name):
    tensor_arg(x, name)
    if axis == ():
        return _extreme(x.unsqueeze(-1), -1, False, name)
    axes = norm_axes(x, axis, name)
    if x.numel() == 0 and (axes is None or
                            builtins.any(x.shape[a] == 0 for a in axes)):
        raise ValueError(f"{name}(): cannot reduce a zero-size array over an axis of length 0")
    if axes is None:
        out = x.max() if name == "max" else x.min()
        return out.reshape((1,) * x.ndim) if keepdims else out
    return (x.amax if name == "max" else x.amin)(axes, keepdims)


def max(x, /, *, axis=None, keepdims=False):
    return _extreme(x, axis, keepdims, "max")


def min(x, /, *, axis=None, keepdims=False):
    return _extreme(x, axis, keepdims, "min")


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    tensor_arg(x, "cumulative_sum")
    if axis is None:
        if x.ndim != 1:
            raise ValueError("cumulative_sum(): axis must be given unless x is one-dimensional")
        axis = 0
    ax = axis_index(x, axis, "cumulative_sum")
    dt = _accumulator(x, dtype, "cumulative_sum")
    out = cast(x, dt).cumsum(ax)
    if include_initial:
        shape = list(x.shape)
        shape[ax] = 1
        out = cat([zeros(tuple(shape), dtype=dt), out], ax)
    return out


# ---- searching -------------------------------------------------------------------------
def _arg(x, axis, keepdims, name):
    tensor_arg(x, name)
    if axis is not None:
        axis = axis_index(x, axis, name)
    if x.numel() == 0 and (axis is None or x.shape[axis] == 0):
        raise ValueError(f"{name}(): cannot reduce a zero-size array over an axis of length 0")
    if axis is None:
        out = getattr(x, name)()
        return out.reshape((1,) * x.ndim) if keepdims else out
    return getattr(x, name)(axis, keepdim=keepdims)


def argmax(x, /, *, axis=None, keepdims=False):
    return _arg(x, axis, keepdims, "argmax")


def argmin(x, /, *, axis=None, keepdims=False):
    return _arg(x, axis, keepdims, "argmin")


def nonzero(x, /):
    tensor_arg(x, "nonzero")
    if x.ndim == 0:
        raise ValueError("nonzero(): zero-dimensional arrays are not allowed; use "
                         "expand_dims(x, axis=0) first")
    return _nonzero(x, as_tuple=True)


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    if side not in ("left", "right"):
        raise ValueError(f"searchsorted(): side must be 'left' or 'right', got {side!r}")
    a, b = cpu_array(x1, "searchsorted"), cpu_array(x2, "searchsorted")
    if a.ndim != 1:
        raise ValueError(f"searchsorted(): x1 must be one-dimensional, got {a.ndim} dimensions")
    dt = result_type(x1, x2).np
    s = None if sorter is None else cpu_array(sorter, "searchsorted")
    out = np.searchsorted(a.astype(dt, copy=False), b.astype(dt, copy=False), side=side,
                          sorter=s)
    return _wrap(np.asarray(out, np.int64))


# ---- sorting ---------------------------------------------------------------------------
def _argsort(a, axis, descending, stable):
    kind = "stable" if stable else None
    if not descending:
        return np.argsort(a, axis=axis, kind=kind)
    # stable descending: sort the reversed array ascending, then map positions back
    idx = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return a.shape[axis] - 1 - np.flip(idx, axis)


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    a = cpu_array(x, "argsort")
    ax = axis_index(x, axis, "argsort")
    return _wrap(_argsort(a, ax, descending, stable).astype(np.int64, copy=False))


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """Sorted values through a gather, so the gradient flows back to the input positions."""
    a = cpu_array(x, "sort")
    ax = axis_index(x, axis, "sort")
    idx = _argsort(a, ax, descending, stable).astype(np.int64, copy=False)
    return x.gather(ax, _wrap(idx))


# ---- sets (data-dependent shapes; not differentiable) ----------------------------------
UniqueAllResult = collections.namedtuple(
    "UniqueAllResult", ["values", "indices", "inverse_indices", "counts"])
UniqueCountsResult = collections.namedtuple("UniqueCountsResult", ["values", "counts"])
UniqueInverseResult = collections.namedtuple("UniqueInverseResult",
                                             ["values", "inverse_indices"])


def _unique(x, name, **kw):
    # equal_nan=False: the standard counts every NaN as a distinct value
    out = np.unique(cpu_array(x, name).reshape(-1), equal_nan=False, **kw)
    if not kw:
        return _wrap(out)
    vals, rest = out[0], out[1:]
    return [_wrap(vals)] + [_wrap(np.asarray(r, np.int64)) for r in rest]


def unique_values(x, /):
    return _unique(x, "unique_values")


def unique_counts(x, /):
    return UniqueCountsResult(*_unique(x, "unique_counts", return_counts=True))


def unique_inverse(x, /):
    vals, inv = _unique(x, "unique_inverse", return_inverse=True)
    return UniqueInverseResult(vals, inv.reshape(tuple(x.shape)))


def unique_all(x, /):
    vals, idx, inv, counts = _unique(x, "unique_all", return_index=True, return_inverse=True,
                                     return_counts=True)
    return UniqueAllResult(vals, idx, inv.reshape(tuple(x.shape)), counts)


# ---- utility ---------------------------------------------------------------------------
def _logical(x, axis, keepdims, name):
    tensor_arg(x, name)
    if axis == ():
        return _logical(x.unsqueeze(-1), -1, False, name)
    out = getattr(x, name)(norm_axes(x, axis, name), keepdims)
    return out if out.dtype is D.bool_ else out.bool()  # the standard: always bool (uint8 too)


def all(x, /, *, axis=None, keepdims=False):
    return _logical(x, axis, keepdims, "all")


def any(x, /, *, axis=None, keepdims=False):
    return _logical(x, axis, keepdims, "any")
