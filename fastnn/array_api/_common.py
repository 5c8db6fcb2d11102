"""Argument checks and promotion shared by the namespace's functions."""
import builtins
import numbers

import numpy as np

from .. import _dtype as D
from ..tensor import Tensor, _wrap
from ._dtypes import result_type

_SCALARS = (builtins.bool, np.bool_, numbers.Real)    # Python and numpy scalars


def tensor_arg(x, fn, name="x"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be a fastnn Tensor, not "
                        f"{type(x).__name__}")
    return x


def cpu_array(x, fn):
    """The numpy array behind a CPU tensor (the namespace's numpy-only paths need one)."""
    tensor_arg(x, fn)
    if type(x._data) is not np.ndarray:
        raise NotImplementedError(f"fastnn.array_api.{fn} supports CPU tensors only, got a "
                                  f"tensor on {x.device}")
    return x._data


def cast(t, dt):
    return t if t.dtype is dt else t.to(dt)


def lift(s, dt):
    return _wrap(np.asarray(s, dt.np))


def promote(x1, x2, fn, lift_scalar=False):
    """Operands in the standard's result dtype; a Python scalar keeps PyTorch's weak rule.

    With ``lift_scalar`` a scalar becomes a 0-d tensor, for ops that need two tensors.
    """
    a, b = isinstance(x1, Tensor), isinstance(x2, Tensor)
    if a and b:
        dt = result_type(x1, x2)
        return cast(x1, dt), cast(x2, dt)
    if a and isinstance(x2, _SCALARS):
        if not lift_scalar:
            return x1, x2
        dt = D.promote_scalar(x1.dtype, x2)
        return cast(x1, dt), lift(x2, dt)
    if b and isinstance(x1, _SCALARS):
        dt = D.promote_scalar(x2.dtype, x1)
        return lift(x1, dt), cast(x2, dt)
    if not (a or b):
        raise TypeError(f"{fn}(): at least one operand must be a fastnn Tensor, got "
                        f"{type(x1).__name__} and {type(x2).__name__}")
    bad = x2 if a else x1
    raise TypeError(f"{fn}(): expected fastnn Tensors or Python scalars, got "
                    f"{type(bad).__name__}")


def to_float(t):
    """Integer and bool inputs of transcendental functions compute in the default float dtype,
    as in PyTorch (the standard leaves them undefined)."""
    return t if t.dtype.is_floating_point else t.to(D.get_default_dtype())


def axis_index(x, axis, fn):
    """``axis`` as a non-negative index; unlike Tensor methods (PyTorch accepts 0 and -1 on
    0-d tensors) the standard requires -ndim <= axis < ndim."""
    n = x.ndim
    if isinstance(axis, builtins.bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{fn}(): axis must be an int, got {type(axis).__name__}")
    if not -n <= axis < n:
        raise IndexError(f"{fn}(): axis {axis} is out of bounds for an array of {n} "
                         "dimension" + ("" if n == 1 else "s"))
    return int(axis) % n


def norm_axes(x, axis, fn):
    """``axis`` (None, an int or a tuple) as a sorted tuple of non-negative axes, or None."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = tuple(sorted(axis_index(x, a, fn) for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}(): repeated axis in {axis}")
    return out


def shares_memory(a, b):
    return type(a._data) is np.ndarray and type(b._data) is np.ndarray and \
        np.may_share_memory(a._data, b._data)
