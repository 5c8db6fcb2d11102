"""Data types, type promotion and inspection for the array-API namespace.

Promotion follows the standard's table within a kind (int8 + uint8 -> int16, float32 +
float64 -> float64) and, unlike fastnn's operators, gives 0-d arrays no lower priority.
Across kinds, where the standard leaves the result undefined, fastnn uses PyTorch's lattice
bool < integer < floating: the result has the dtype of the higher kind (int64 + float32 ->
float32). ``can_cast(a, b)`` is true exactly when ``result_type(a, b)`` is ``b``.
"""
import builtins
import collections
import numbers

import numpy as np

from .. import _dtype as D
from ..tensor import Tensor

# The standard's dtypes that fastnn has, in the order `dtypes()` lists them.
STANDARD = (D.bool_, D.int8, D.int16, D.int32, D.int64, D.uint8, D.float32, D.float64)
MISSING = ("uint16", "uint32", "uint64", "complex64", "complex128")

_KINDS = {
    "bool": "b",
    "signed integer": "i",
    "unsigned integer": "u",
    "integral": "iu",
    "real floating": "f",
    "complex floating": "c",
    "numeric": "iufc",
}


def as_dtype(d, fn="astype"):
    """A fastnn dtype from a fastnn dtype (or anything fastnn's ``to_dtype`` accepts)."""
    if d is None:
        raise TypeError(f"{fn}() requires a dtype, got None")
    try:
        return D.to_dtype(d)
    except TypeError:
        raise TypeError(f"{fn}(): {d!r} is not a dtype that fastnn supports") from None


def dtype_of(x, fn):
    if isinstance(x, Tensor):
        return x.dtype
    if isinstance(x, D.dtype):
        return x
    raise TypeError(f"{fn}() expects a fastnn Tensor or dtype, got {type(x).__name__}")


def isdtype(dtype, kind):
    if not isinstance(dtype, D.dtype):
        raise TypeError(f"isdtype() expects a dtype as its first argument, got "
                        f"{type(dtype).__name__}")
    if isinstance(kind, tuple):
        return builtins.any(isdtype(dtype, k) for k in kind)
    if isinstance(kind, D.dtype):
        return dtype is kind
    if isinstance(kind, str):
        chars = _KINDS.get(kind)
        if chars is None:
            raise ValueError(f"isdtype(): unknown dtype kind {kind!r}; expected one of "
                             f"{', '.join(map(repr, _KINDS))}")
        return dtype.np.kind in chars
    raise TypeError(f"isdtype(): kind must be a dtype, a string or a tuple of them, got "
                    f"{type(kind).__name__}")


def result_type(*arrays_and_dtypes):
    """The standard's promotion over arrays and dtypes; Python scalars (an extension) only
    lift the kind, as in PyTorch."""
    dts, scalars = [], []
    for x in arrays_and_dtypes:
        if isinstance(x, (builtins.bool, np.bool_, numbers.Real)):
            scalars.append(x)
        elif isinstance(x, Tensor):
            dts.append(x.dtype)
        else:
            dts.append(as_dtype(x, "result_type"))
    if not dts:
        raise ValueError("result_type() requires at least one array or dtype")
    out = dts[0]
    for d in dts[1:]:
        out = D.promote_types(out, d)
    for s in scalars:
        out = D.promote_scalar(out, s)
    return out


def can_cast(from_, to, /):
    src = dtype_of(from_, "can_cast")
    dst = as_dtype(to, "can_cast")
    return D.promote_types(src, dst) is dst


def astype(x, dtype, /, *, copy=True, device=None):
    dt = as_dtype(dtype)
    out = x if dt is x.dtype else x.to(dt)
    if device is not None:
        out = out.to(device)
    if copy and out is x:
        out = x.clone()
    return out


finfo_object = collections.namedtuple(
    "finfo_object", ["bits", "eps", "max", "min", "smallest_normal", "dtype"])
iinfo_object = collections.namedtuple("iinfo_object", ["bits", "max", "min", "dtype"])


def finfo(type, /):
    dt = dtype_of(type, "finfo")
    if not dt.is_floating_point:
        raise TypeError(f"finfo() requires a floating-point dtype, got {dt}")
    f = np.finfo(dt.np)
    return finfo_object(int(f.bits), float(f.eps), float(f.max), float(f.min),
                        float(f.smallest_normal), dt)


def iinfo(type, /):
    dt = dtype_of(type, "iinfo")
    if dt.np.kind not in "iu":
        raise TypeError(f"iinfo() requires an integer dtype, got {dt}")
    i = np.iinfo(dt.np)
    return iinfo_object(int(i.bits), int(i.max), int(i.min), dt)


class Info:
    """What ``__array_namespace_info__()`` returns: capabilities, devices and dtypes."""

    def capabilities(self):
        return {"boolean indexing": True, "data-dependent shapes": True}

    def default_device(self):
        return D.CPU

    def devices(self):
        from .. import cuda     # imports numba only here, when CUDA devices are asked for
        n = cuda.device_count() if cuda.is_available() else 0
        return [D.CPU] + [D.device("cuda", i) for i in range(n)]

    def default_dtypes(self, *, device=None):
        # fastnn has no complex dtypes, so that entry is None
        return {"real floating": D.get_default_dtype(), "complex floating": None,
                "integral": D.int64, "indexing": D.int64}

    def dtypes(self, *, device=None, kind=None):
        return {d.name: d for d in STANDARD if kind is None or isdtype(d, kind)}

    def __repr__(self):
        return "fastnn.array_api.__array_namespace_info__()"


def __array_namespace_info__():
    return Info()
