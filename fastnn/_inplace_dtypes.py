"""dtype rules of in-place ops (``x += y``, ``x.add_(y)``, ``x.addcmul_(a, b)``, ...).

PyTorch computes ``x op= y`` in the dtype x and y promote to and then casts the result into
x. Any cast within the bool < integer < floating order or down it is allowed (an int64
result lands in uint8 by wrapping around); only a result of a higher category than x's
(float into int, int into bool) raises "result type ... can't be cast".
"""
import numpy as np

from . import _dtype as D
from ._scalar_operands import checked_alpha

# in-place bitwise ops report the cast error before the kernel's own dtype error
BITWISE_METHODS = frozenset((
    "__and__", "__or__", "__xor__", "bitwise_and", "bitwise_or", "bitwise_xor",
    "__lshift__", "__rshift__", "bitwise_left_shift", "bitwise_right_shift"))


def castable(src, dst):
    """Whether a result of dtype ``src`` may be written into a tensor of dtype ``dst``."""
    if src == dst:
        return True
    s, d = D._FROM_NP.get(np.dtype(src)), D._FROM_NP.get(np.dtype(dst))
    return s is None or d is None or s.category <= d.category


def inplace_operand(self, barr, dt, ufunc):
    """(operand, compute dtype) for ``self op= other`` when the dtypes differ: the op runs in
    the promoted dtype, which must not be of a higher category than self's."""
    from ._tensor_inplace import _cast_error
    own = self._data.dtype
    rdt = np.dtype(dt) if dt is not None else own
    if ufunc is np.true_divide and rdt.kind in "biu":  # true division makes floats
        rdt = D.get_default_dtype().np
    if not castable(rdt, own):
        raise _cast_error(self, rdt)
    if barr.dtype != rdt:  # a 0-d operand converts (wrapping) to the compute dtype
        barr = barr.astype(rdt)
    return barr, rdt


def scaled_by_alpha(arr, alpha):
    """``arr * alpha`` in arr's dtype, as add/sub's alpha= works (integers wrap around)."""
    return arr * checked_alpha(alpha, arr.dtype, "add")
