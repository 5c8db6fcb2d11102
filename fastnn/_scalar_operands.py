"""Scalar operands of arithmetic whose dtype is not the tensor's: true division's int
scalar, add/sub's ``alpha=``, and the sign of a zero remainder."""
import numpy as np

from . import _dtype as D
from . import _tensor_math as _tm
from ._scalar_fill import checked_scalar


def float_operands(a, b):
    """operands() for ops whose result is always floating (true division): an integer scalar
    goes straight into the float result dtype, never wrapped through the tensor's int dtype
    (``int16 [16384] / 32768`` is 0.5)."""
    if a._data.dtype.kind in "biu" and type(b) is not bool and \
            isinstance(b, (int, np.integer)) and not isinstance(b, _tm.Tensor):
        if not -2 ** 63 <= b < 2 ** 64:
            raise OverflowError("int too big to convert")
        fd = D.get_default_dtype().np
        return a, _tm.Const(np.asarray(b, fd)), fd
    a, b, dt = _tm.operands(a, b)
    return a, b, _tm._float_dt(a, b, dt)


def checked_alpha(alpha, result_dtype, fn):
    """add/sub's ``alpha=`` as the result dtype takes it, with PyTorch's errors."""
    if hasattr(alpha, "_data"):  # a 0-d tensor acts as its number
        if alpha._data.ndim:
            raise TypeError(f"{fn}(): argument 'alpha' must be Number, not Tensor")
        alpha = alpha.item()
    if isinstance(alpha, complex):
        raise RuntimeError("For non-complex input tensors, argument alpha must not be a "
                           "complex number.")
    kind = np.dtype(result_dtype).kind
    is_bool = isinstance(alpha, (bool, np.bool_))
    if kind == "f":
        if is_bool:
            raise RuntimeError("Boolean alpha only supported for Boolean results.")
        return alpha
    if isinstance(alpha, (float, np.floating)):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if kind == "b":
        return np.bool_(alpha)
    if is_bool:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    return checked_scalar(alpha, result_dtype)  # -2 wraps into uint8; 300 raises


def zero_remainder_sign(res, dividend):
    """A zero floating remainder takes the dividend's sign in PyTorch (numpy gives it the
    divisor's): ``remainder(2., -1.)`` is 0.0, not -0.0. Fixes ``res`` in place."""
    if res.dtype.kind != "f" or type(res) is not np.ndarray:
        return
    zero = res == 0
    if zero.any():
        np.copysign(res, np.broadcast_to(dividend, res.shape), out=res, where=zero,
                    casting="unsafe")
