"""Checks and error texts behind the tensor factories (tensor, zeros, arange, ...)."""
import math

import numpy as np

_INT64_MAX = (1 << 63) - 1


def wrap_unsigned(data, npd):
    """Python ints as an unsigned dtype: -max..max wrap around (-1 -> 255 in uint8) as in
    PyTorch; anything else past the dtype's range is an error."""
    try:
        ints = np.array(data, dtype=np.int64)
    except OverflowError:
        if np.array(data).dtype.kind != "f":  # past 64 bits: the Python int cannot be read
            raise ValueError("Overflow when unpacking long long") from None
        ints = None  # an infinity, or a float past int64: out of range
    if ints is not None and np.dtype(npd).kind == "u" and \
            np.array(data).dtype.kind in "iub" and (np.abs(ints) <= np.iinfo(npd).max).all():
        return ints.astype(npd)
    raise RuntimeError(f"value cannot be converted to type {np.dtype(npd).name} without "
                       "overflow")


def ragged(data, npd):
    """PyTorch's error for nested sequences of uneven depth or length (None if even): the
    first element at each level sets what the others must be."""
    level, dim = [data], 0
    while level:
        if isinstance(level[0], str):
            return ValueError("too many dimensions 'str'")
        if not isinstance(level[0], (list, tuple)):
            bad = next((x for x in level if isinstance(x, (list, tuple))), None)
            if bad is None:
                return None
            if npd is None or np.dtype(npd).kind == "f":
                return TypeError(f"must be real number, not {type(bad).__name__}")
            return TypeError(f"'{type(bad).__name__}' object cannot be interpreted as an "
                             "integer")
        if not all(isinstance(x, (list, tuple)) for x in level):
            return TypeError("not a sequence")
        n = len(level[0])
        for x in level:
            if len(x) != n:
                return ValueError(f"expected sequence of length {n} at dim {dim} (got {len(x)})")
        level, dim = [y for x in level for y in x], dim + 1
    return None


def alloc_error(err, shape, npd):
    """The error a factory raises when numpy cannot allocate ``shape``: PyTorch's storage
    overflow or out-of-memory text (other errors pass through unchanged)."""
    numel = math.prod(shape)
    nbytes = numel * np.dtype(npd).itemsize
    if isinstance(err, ValueError):
        if nbytes <= _INT64_MAX and "too big" not in str(err) and "maximum" not in str(err):
            return err
        return RuntimeError(f"Storage size calculation overflowed with sizes={list(shape)}")
    return RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: "
                        f"can't allocate memory: you tried to allocate {nbytes} bytes. Error "
                        "code 12 (Cannot allocate memory)")


def check_arange(vals):
    """start/end of arange must be finite numbers."""
    start, end = vals[0], vals[1]
    if isinstance(start, float) and not math.isfinite(start) or \
            isinstance(end, float) and not math.isfinite(end):
        raise RuntimeError(f"unsupported range: {start:g} -> {end:g}")


_SIGNATURES = {
    "randint": (" * (int high, tuple of ints size, *, Generator generator = None, "
                "dtype dtype = None, device device = None, bool requires_grad = False)\n"
                " * (int low, int high, tuple of ints size, *, Generator generator = None, "
                "dtype dtype = None, device device = None, bool requires_grad = False)\n"),
    "linspace": (" * (Number start, Number end, int steps, *, dtype dtype = None, "
                 "device device = None, bool requires_grad = False)\n"),
    "logspace": (" * (Number start, Number end, int steps, float base = 10.0, *, "
                 "dtype dtype = None, device device = None, bool requires_grad = False)\n"),
}


def bad_call(fn, args):
    """A TypeError naming the argument types given and the forms ``fn`` accepts."""
    got = ", ".join(type(a).__name__ for a in args)
    return TypeError(f"{fn}() received an invalid combination of arguments - got ({got}), "
                     f"but expected one of:\n{_SIGNATURES[fn]}")
