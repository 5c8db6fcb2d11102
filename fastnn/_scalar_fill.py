"""A Python number converted into a tensor's dtype the way fills do it (``fill_``,
``masked_fill``, ``t[i] = v``, ``full``, clamp bounds, ``alpha=``).

An integer dtype takes any value in its range; an unsigned one also takes a negative int
down to ``-max`` and wraps it around (``uint8`` ``-1`` is 255). Anything else out of range,
and NaN or infinity into an integer dtype, raises PyTorch's RuntimeError instead of numpy's
OverflowError/ValueError.
"""
import math

import numpy as np

_C_TYPE_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
                 "int64": "int64_t", "uint16": "uint16_t", "uint32": "uint32_t",
                 "uint64": "uint64_t"}


def overflow_error(np_dtype):
    name = _C_TYPE_NAMES.get(np.dtype(np_dtype).name, np.dtype(np_dtype).name)
    return RuntimeError(f"value cannot be converted to type {name} without overflow")


def checked_scalar(value, np_dtype):
    """``value`` as a 0-d array of ``np_dtype``; only integer dtypes are range-checked."""
    dt = np.dtype(np_dtype)
    if dt.kind not in "iu" or isinstance(value, (bool, np.bool_)):
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(value).astype(dt)
    info = np.iinfo(dt)
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if not -2 ** 63 <= v < 2 ** 64:
            raise OverflowError("int too big to convert")
        low = -int(info.max) if dt.kind == "u" else int(info.min)
        if not low <= v <= int(info.max):
            raise overflow_error(dt)
        return np.asarray(v, np.uint64 if v > 2 ** 63 - 1 else np.int64).astype(dt)
    v = float(value)
    if math.isnan(v) or not int(info.min) <= v <= int(info.max):
        raise overflow_error(dt)
    return np.asarray(v).astype(dt)  # truncates toward zero, as a C cast


def is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating, np.bool_))
