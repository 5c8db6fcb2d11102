"""Checks and argument helpers of the Tensor math methods: broadcasting, device and bool
errors, integer division by zero, result dtypes and dim/axis arguments."""
import numpy as np

from . import _dtype as D

_ndarray = np.ndarray


def broadcast_error(a, b, err):
    """numpy's ValueError for shapes that do not broadcast, as PyTorch words it."""
    sa, sb = a._data.shape, b._data.shape
    for i in range(1, min(len(sa), len(sb)) + 1):
        x, y = sa[-i], sb[-i]
        if x != y and x != 1 and y != 1:
            dim = max(len(sa), len(sb)) - i
            return RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                                f"({y}) at non-singleton dimension {dim}")
    return err


def _no_bool(a, b, kernel):
    if a._data.dtype.kind == "b" and b._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _check_int_zero_division(a, b, dt):
    if np.dtype(dt or a._data.dtype).kind in "iu" and not np.all(b._data):
        raise RuntimeError("ZeroDivisionError")


def check_same_device(a, b):
    if a._data.ndim == 0 or b._data.ndim == 0:
        if type(b._data) is _ndarray and b._data.ndim == 0:
            return
        if type(a._data) is _ndarray and a._data.ndim == 0:
            return
    da, db = a.device, b.device
    if da != db:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                           f"two devices, {da} and {db}!")


def _float_dt(a, b, dt):
    """True division and friends always produce a floating dtype."""
    cur = dt if dt is not None else a._data.dtype
    if cur.kind in "biu":
        return D.get_default_dtype().np
    return dt


def axes_of(t, dim):
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        axes = tuple(sorted(t._dim(d) for d in dim))
        for i in range(1, len(axes)):
            if axes[i] == axes[i - 1]:
                raise RuntimeError(f"dim {axes[i]} appears multiple times in the list of dims")
    else:
        axes = (t._dim(dim),)
    # a 0-d tensor accepts dim 0 or -1 and reduces over nothing
    return axes if t._data.ndim else None


def _required(dim, axis, fn):
    if dim is None:
        if axis is None:
            raise TypeError(f'{fn}() missing 1 required positional arguments: "dim"')
        return axis
    return dim


def required_args(fn, **named):
    """PyTorch's TypeError for required arguments left out: methods that also take numpy's
    ``axis=`` give ``dim`` (and the arguments after it) a None default."""
    missing = [f'"{k}"' for k, v in named.items() if v is None]
    if missing:
        raise TypeError(f"{fn}() missing {len(missing)} required positional argument: "
                        f"{', '.join(missing)}")


def _pick(dim, axis, keepdim, keepdims):
    return (axis if dim is None else dim), bool(keepdims if keepdims is not None else keepdim)


def _bool_sub_error(a, b):
    if a._data.dtype.kind == "b" and b._data.dtype.kind == "b":
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                       "If you are trying to invert a mask, use the `~` or `logical_not()` "
                       "operator instead.")
