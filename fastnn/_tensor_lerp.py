"""``lerp``/``lerp_``: start + weight * (end - start), with PyTorch's checks and its two
formulas, so that a weight of 1 gives ``end`` exactly (an EMA's hard copy, say) even when
``start`` is much larger than ``end``."""
from . import _dtype as D


def _tensor_type():
    from .tensor import Tensor
    return Tensor


def check_lerp(start, end, weight, fn):
    Tensor = _tensor_type()
    if not isinstance(end, Tensor) or not isinstance(weight, (Tensor, int, float)):
        raise TypeError(f"{fn}() received an invalid combination of arguments - got "
                        f"({type(end).__name__}, {type(weight).__name__}), but expected one "
                        "of:\n * (Tensor end, Tensor weight)\n * (Tensor end, Number weight)")
    dt = start._data.dtype
    if dt.kind != "f":
        kernel = "lerp_kernel_tensor" if isinstance(weight, Tensor) else "lerp_kernel_scalar"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{D.scalar_type_name(dt)}'")
    if end._data.dtype != dt:
        raise RuntimeError(f"expected dtype {D.c_type_name(dt)} for `end` but got dtype "
                           f"{D.c_type_name(end._data.dtype)}")
    if isinstance(weight, Tensor) and weight.dim() and weight._data.dtype != dt:
        raise RuntimeError(f"expected dtype {D.c_type_name(dt)} for `weight` but got dtype "
                           f"{D.c_type_name(weight._data.dtype)}")


def lerp_value(start, end, weight):
    """start + w (end - start) where |w| < 0.5, else end - (end - start)(1 - w)."""
    diff = end - start
    if isinstance(weight, _tensor_type()):
        from ._functions import where
        return where(weight.abs() < 0.5, start + weight * diff, end - diff * (1 - weight))
    w = start._data.dtype.type(weight)  # the weight in the tensors' precision, as PyTorch
    return start + diff * float(w) if abs(w) < 0.5 else end - diff * float(1 - w)
