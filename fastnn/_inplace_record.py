"""Writing in-place results into a tensor and recording them in autograd (views included)."""
import numpy as np

from .autograd import grad_mode
from .autograd.function import apply
from .autograd import ops_shape as S
from ._tensor_math import broadcast_error, Const
from ._dtype import scalar_type_name as _title
from ._tensor_views import move_history, multi_output_error, refresh_views
from ._inplace_dtypes import castable as _castable

_state = grad_mode.state
_ndarray = np.ndarray


def _cast_error(self, src_dtype):
    return RuntimeError(f"result type {_title(src_dtype)} can't be cast to the desired output "
                        f"type {_title(self._data.dtype)}")


def _write(self, result_arr):
    """Store an out-of-place result into self's storage (views see the change)."""
    src = getattr(result_arr, "dtype", None)
    if src is not None and not _castable(src, self._data.dtype):
        raise _cast_error(self, src)
    try:
        np.copyto(self._data, result_arr, casting="unsafe")
    except TypeError:
        raise _cast_error(self, result_arr.dtype) from None
    except ValueError as e:
        raise _inplace_error(self, result_arr, e) from None


def _inplace_error(self, other_arr, err):
    """PyTorch's wording for an in-place write that cannot happen."""
    if not self._data.flags.writeable:
        return RuntimeError("unsupported operation: more than one element of the written-to "
                            "tensor refers to a single memory location. Please clone() the "
                            "tensor before performing the operation.")
    try:
        shape = np.broadcast_shapes(self._data.shape, np.shape(other_arr))
    except ValueError:
        return broadcast_error(self, Const(np.asarray(other_arr)), err)
    if shape != self._data.shape:
        return RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                            f"broadcast shape {list(shape)}")
    return RuntimeError(str(err))


def _tracked(self, others=()):
    """True when the in-place op must be recorded in the graph."""
    if not _state.enabled:
        return False
    return self._rg or any(getattr(o, "_rg", False) for o in others)


def _record(self, compute):
    """Run ``compute(alias)`` out of place on a copy that keeps self's history, then write back.

    The copy keeps values that the new node saved intact when self's storage is overwritten.
    """
    base = self._base
    if base is not None and "_multi_out" in self.__dict__:
        raise multi_output_error(*self.__dict__["_multi_out"])
    if base is not None and "_custom_fn_view" in self.__dict__:
        raise custom_function_view_error(*self.__dict__["_custom_fn_view"])
    if base is not None and (base._rg or not self._rg):
        # a view of a tensor with history, or one that takes a grad only now: either way
        # the base must see the new values' history
        done = _record_view(self, base, compute)
        if done is not None:
            return done
    from .tensor import _wrap
    alias = _wrap(self._data.copy(), self.grad_fn)
    alias._rg = self._rg
    res = compute(alias)
    _write(self, res._data)
    if res.grad_fn is not None:
        move_history(self, res.grad_fn)
        if "_views" in self.__dict__:
            refresh_views(self)
    else:
        self.grad_fn = None
        self._rg = res._rg
    return self._bump()


def custom_function_view_error(fn, k):
    """In-place on a view that a custom Function returned (tagged ``_custom_fn_view``)."""
    return RuntimeError(
        f"Output {k} of {fn} is a view and is being modified inplace. This view was created "
        "inside a custom Function (or because an input was returned as-is) and the autograd "
        "logic to handle view+inplace would override the custom backward associated with the "
        "custom Function, leading to incorrect gradients. This behavior is forbidden. You can "
        "fix this by cloning the output of the custom Function.")


def _view_positions(view, base):
    """Flat positions in ``base`` of each element of ``view`` (None if not expressible)."""
    b = base._data
    if type(b) is not _ndarray or not b.flags.c_contiguous or not np.shares_memory(view._data, b):
        return None
    size = b.itemsize
    off = (view._data.__array_interface__["data"][0] - b.__array_interface__["data"][0]) // size
    flat = np.arange(b.size, dtype=np.int64)
    steps = [s // size * flat.itemsize for s in view._data.strides]
    return np.array(np.lib.stride_tricks.as_strided(flat[off:], view._data.shape, steps))


def _record_view(self, base, compute):
    """In-place op on a view of a tensor with history (PyTorch's CopySlices).

    The view's new values are computed from the base's old history; the base then becomes
    "old base with those positions replaced", so gradients reach both the untouched positions
    and, through the op, the overwritten ones.
    """
    from .tensor import _wrap
    if self.grad_fn is None and base._rg:
        raise RuntimeError("A view was created in no_grad mode and is being modified inplace "
                           "with grad mode enabled. Given that this use case is ambiguous and "
                           "error-prone, it is forbidden. You can clarify your code by moving "
                           "both the view and the inplace either both inside the no_grad block "
                           "(if you don't want the inplace to be tracked) or both outside (if "
                           "you want the inplace to be tracked).")
    pos = _view_positions(self, base)
    if pos is None and not base._rg:
        return None  # a layout the base cannot follow: only the view records the op
    if pos is None:
        raise RuntimeError("fastnn cannot record this in-place operation on a view of a tensor "
                           "that requires grad; clone() the view first")
    old = _wrap(np.ascontiguousarray(base._data).copy(), base.grad_fn)
    old._rg = base._rg
    res = compute(old.reshape(-1)[pos])
    res = res if res._data.dtype == base._data.dtype else res.to(base.dtype)
    new = apply(S.CopySlices, (old, res), pos)
    _write(self, res._data)
    move_history(base, new.grad_fn)
    move_history(self, res.grad_fn)
    refresh_views(base, keep=self)
    return self._bump()
