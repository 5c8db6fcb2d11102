"""Manipulation, indexing and linear-algebra functions of the array API standard.

Everything is built from Tensor views, ``index_select``, ``cat`` and ``matmul``, so gradients
flow through all of it.
"""
import builtins
import math

import numpy as np

from .. import _dtype as D
from .._functions import broadcast_tensors, cat, stack as _stack
from ..tensor import Tensor, _wrap
from ._common import axis_index, cast, promote, result_type, shares_memory, tensor_arg


def from_dlpack(x, /, *, device=None, copy=None):
    """Wrap any DLPack producer without copying (``copy=True`` forces a copy)."""
    from .._dlpack import from_dlpack as _from
    t = _from(x)
    if copy:
        t = t.clone()
    if device is not None and D.device(device) != t.device:
        if copy is False:
            raise ValueError("from_dlpack(copy=False): moving to another device needs a copy")
        t = t.to(device)
    return t


def _as_list(arrays, fn):
    if isinstance(arrays, Tensor) or not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{fn}(): arrays must be a tuple or list of Tensors, not "
                        f"{type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{fn}(): expected at least one array")
    for i, a in enumerate(arrays):
        tensor_arg(a, fn, f"arrays[{i}]")
    dt = result_type(*arrays)
    return [cast(a, dt) for a in arrays]


def broadcast_arrays(*arrays):
    for i, a in enumerate(arrays):
        tensor_arg(a, "broadcast_arrays", f"arrays[{i}]")
    return list(broadcast_tensors(*arrays))


def broadcast_to(x, /, shape):
    tensor_arg(x, "broadcast_to")
    shape = tuple(shape)
    if len(shape) < x.ndim or builtins.any(s != 1 and s != t for s, t in
                                           zip(x.shape[::-1], shape[::-1])):
        raise ValueError(f"broadcast_to(): cannot broadcast shape {tuple(x.shape)} to {shape}")
    return x.expand(shape)


def concat(arrays, /, *, axis=0):
    ts = _as_list(arrays, "concat")
    if axis is None:
        return cat([t.reshape(-1) for t in ts], 0)
    if ts[0].ndim == 0:
        raise ValueError("concat(): zero-dimensional arrays cannot be concatenated")
    return cat(ts, axis)


def stack(arrays, /, *, axis=0):
    return _stack(_as_list(arrays, "stack"), axis)


def expand_dims(x, /, *, axis=0):
    return tensor_arg(x, "expand_dims").unsqueeze(axis)


def flip(x, /, *, axis=None):
    tensor_arg(x, "flip")
    axes = axis if isinstance(axis, tuple) else (axis,)
    return x.flip(tuple(range(x.ndim)) if axis is None else
                  tuple(axis_index(x, a, "flip") for a in axes))


def permute_dims(x, /, axes):
    return tensor_arg(x, "permute_dims").permute(tuple(axes))


def moveaxis(x, source, destination, /):
    tensor_arg(x, "moveaxis")
    src = source if isinstance(source, tuple) else (source,)
    dst = destination if isinstance(destination, tuple) else (destination,)
    if len(src) != len(dst):
        raise ValueError("moveaxis(): source and destination must have the same number of "
                         "elements")
    src = [axis_index(x, a, "moveaxis") for a in src]
    dst = [axis_index(x, a, "moveaxis") for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError("moveaxis(): repeated axis")
    order = [a for a in range(x.ndim) if a not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x.permute(tuple(order))


def _select(x, axis, index):
    """Differentiable gather of ``index`` (an int array) along ``axis``."""
    return x.index_select(axis, _wrap(np.asarray(index, np.int64)))


def repeat(x, repeats, /, *, axis=None):
    tensor_arg(x, "repeat")
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis_index(x, axis, "repeat")
    r = repeats._data if isinstance(repeats, Tensor) else repeats
    r = np.asarray(r)
    if r.dtype.kind not in "iu":
        raise TypeError(f"repeat(): repeats must be an int or an integer array, got {r.dtype}")
    if (r < 0).any():
        raise ValueError("repeat(): repeats must be non-negative")
    n = x.shape[axis]
    if r.ndim > 1 or (r.ndim == 1 and r.size not in (1, n)):
        raise ValueError(f"repeat(): repeats must be an int or a 1-d array of size 1 or "
                         f"{n}, got shape {r.shape}")
    return _select(x, axis, np.repeat(np.arange(n), r.reshape(-1) if r.ndim else r))


def reshape(x, /, shape, *, copy=None):
    tensor_arg(x, "reshape")
    shape = tuple(shape)
    if copy is False and type(x._data) is np.ndarray:
        try:
            np.reshape(x._data, shape, copy=False)
        except ValueError as e:
            if "copy" in str(e):
                raise ValueError(f"reshape(copy=False): shape {tuple(x.shape)} cannot be "
                                 f"viewed as {shape} without a copy") from None
            raise
        except TypeError:  # numpy < 2.1 has no copy argument: check the result instead
            if x._data.size and not np.shares_memory(x._data.reshape(shape), x._data):
                raise ValueError(f"reshape(copy=False): shape {tuple(x.shape)} cannot be "
                                 f"viewed as {shape} without a copy") from None
    out = x.reshape(shape)
    if copy and (out is x or shares_memory(out, x)):
        out = out.clone()
    return out


def roll(x, /, shift, *, axis=None):
    tensor_arg(x, "roll")
    if axis is None:
        return roll(x.reshape(-1), shift, axis=0).reshape(tuple(x.shape))
    axes = axis if isinstance(axis, tuple) else (axis,)
    shifts = shift if isinstance(shift, tuple) else (shift,) * len(axes)
    if len(shifts) != len(axes):
        raise ValueError("roll(): shift and axis must have the same length")
    out = x
    for s, a in zip(shifts, axes):
        a = axis_index(x, a, "roll")
        n = x.shape[a]
        if n:
            out = _select(out, a, (np.arange(n) - s) % n)
    return out


def squeeze(x, /, axis):
    tensor_arg(x, "squeeze")
    axes = axis if isinstance(axis, tuple) else (axis,)
    dims = [axis_index(x, a, "squeeze") for a in axes]
    if len(set(dims)) != len(dims):
        raise ValueError(f"squeeze(): repeated axis in {axis}")
    for a in dims:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze(): cannot remove axis {a} of size {x.shape[a]}; only "
                             "axes of size 1 can be squeezed")
    return x.squeeze(tuple(dims)) if dims else x


def tile(x, repetitions, /):
    tensor_arg(x, "tile")
    reps = tuple(repetitions)
    if builtins.any(r < 0 for r in reps):
        raise ValueError("tile(): repetitions must be non-negative")
    reps = (1,) * (x.ndim - len(reps)) + reps
    return x.repeat(reps)


def unstack(x, /, *, axis=0):
    tensor_arg(x, "unstack")
    if x.ndim == 0:
        raise ValueError("unstack(): x must have at least one dimension")
    return x.unbind(axis)


def take(x, indices, /, *, axis=None):
    tensor_arg(x, "take")
    tensor_arg(indices, "take", "indices")
    if axis is None:
        if x.ndim != 1:
            raise ValueError("take(): axis must be given when x has more than one dimension")
        axis = 0
    axis = axis_index(x, axis, "take")
    if indices.ndim != 1 or indices.dtype.np.kind not in "iu":
        raise TypeError(f"take(): indices must be a 1-d integer array, got "
                        f"{indices.ndim}-d {indices.dtype}")
    return x.index_select(axis, indices)


# ---- linear algebra --------------------------------------------------------------------
def matmul(x1, x2, /):
    a, b = promote(tensor_arg(x1, "matmul", "x1"), tensor_arg(x2, "matmul", "x2"), "matmul")
    return a.matmul(b)


def matrix_transpose(x, /):
    tensor_arg(x, "matrix_transpose")
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose(): x must have at least 2 dimensions, got "
                         f"{x.ndim}")
    return x.transpose(-2, -1)


def tensordot(x1, x2, /, *, axes=2):
    a, b = promote(tensor_arg(x1, "tensordot", "x1"), tensor_arg(x2, "tensordot", "x2"),
                   "tensordot")
    if isinstance(axes, int):
        if axes < 0 or axes > builtins.min(a.ndim, b.ndim):
            raise ValueError(f"tensordot(): axes={axes} is out of range for arrays of "
                             f"{a.ndim} and {b.ndim} dimensions")
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        ax_a, ax_b = (list(v) if isinstance(v, (list, tuple)) else [v] for v in axes)
        if len(ax_a) != len(ax_b):
            raise ValueError("tensordot(): both axes sequences must have the same length")
        ax_a = [axis_index(a, i, "tensordot") for i in ax_a]
        ax_b = [axis_index(b, i, "tensordot") for i in ax_b]
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"tensordot(): contracted axes differ in size: axis {i} of x1 has "
                             f"{a.shape[i]}, axis {j} of x2 has {b.shape[j]}")
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [j for j in range(b.ndim) if j not in ax_b]
    k = math.prod(a.shape[i] for i in ax_a)
    sa, sb = [a.shape[i] for i in free_a], [b.shape[j] for j in free_b]
    m = a.permute(tuple(free_a + ax_a)).reshape((math.prod(sa), k))
    n = b.permute(tuple(ax_b + free_b)).reshape((k, math.prod(sb)))
    return m.matmul(n).reshape(tuple(sa + sb))


def vecdot(x1, x2, /, *, axis=-1):
    a, b = promote(tensor_arg(x1, "vecdot", "x1"), tensor_arg(x2, "vecdot", "x2"), "vecdot")
    nd = builtins.max(a.ndim, b.ndim)
    if nd == 0:
        raise ValueError("vecdot(): x1 and x2 must have at least one dimension")
    if not -nd <= axis < nd:
        raise IndexError(f"vecdot(): axis {axis} is out of range for {nd} dimensions")
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    if sa[axis] != sb[axis]:
        raise ValueError(f"vecdot(): x1 and x2 must have the same size along axis {axis}, "
                         f"got {sa[axis]} and {sb[axis]}")
    return (a * b).sum(dim=axis % nd, dtype=a.dtype)
