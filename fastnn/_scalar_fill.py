"""A Python number converted into a tensor's dtype the way fills do it (``fill_``,
``masked_fill``, ``t[i] = v``, ``full``, clamp bounds, ``alpha=``).

An integer dtype takes any value in its range; an unsigned one also takes a negative int
down to ``-max`` and wraps it around (``uint8`` ``-1`` is 255). Anything else out of range,
and NaN or infinity into an integer dtype, raises PyTorch's RuntimeError instead of numpy's
OverflowError/ValueError. float16 and float32 take infinities and NaN, but raise that error
for a finite value past their largest one.
"""
import math

import numpy as np

_C_TYPE_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
                 "int64": "int64_t", "uint16": "uint16_t", "uint32": "uint32_t",
                 "uint64": "uint64_t", "float16": "c10::Half", "float32": "float",
                 "float64": "double"}


def overflow_error(np_dtype):
    name = _C_TYPE_NAMES.get(np.dtype(np_dtype).name, np.dtype(np_dtype).name)
    return RuntimeError(f"value cannot be converted to type {name} without overflow")


def checked_scalar(value, np_dtype, wrap_negative=True):
    """``value`` as a 0-d array of ``np_dtype``; integer and floating dtypes are
    range-checked (a finite value past a float dtype's largest one raises, even where it
    would round to it; infinities and NaN pass). ``wrap_negative=False``: a negative int
    into an unsigned dtype raises instead of wrapping (as pad's value does)."""
    dt = np.dtype(np_dtype)
    if dt.kind == "f":
        check_float_fits(value, dt)
        return np.asarray(value).astype(dt)
    if dt.kind not in "iu" or isinstance(value, (bool, np.bool_)):
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(value).astype(dt)
    info = np.iinfo(dt)
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if not -2 ** 63 <= v < 2 ** 64:
            raise OverflowError("int too big to convert")
        low = -int(info.max) if dt.kind == "u" and wrap_negative else int(info.min)
        if not low <= v <= int(info.max):
            raise overflow_error(dt)
        return np.asarray(v, np.uint64 if v > 2 ** 63 - 1 else np.int64).astype(dt)
    v = float(value)
    if math.isnan(v) or not int(info.min) <= v <= int(info.max):
        raise overflow_error(dt)
    return np.asarray(v).astype(dt)  # truncates toward zero, as a C cast


_FLOAT_MAX = {np.dtype(np.float16): float(np.finfo(np.float16).max),
              np.dtype(np.float32): float(np.finfo(np.float32).max)}


def check_float_fits(value, np_dtype):
    """PyTorch's overflow error for a finite number past a float16/float32 dtype's largest
    value, even one that would round to it (65505 into float16); infinities and NaN pass.
    Other dtypes and non-numbers are left alone. Cheap: a dict look-up for most calls."""
    top = _FLOAT_MAX.get(np_dtype)
    if top is not None and is_number(value) and abs(value) > top and math.isfinite(value):
        raise overflow_error(np_dtype)


def is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating, np.bool_))
