"""PyTorch's ``out=`` dtype rules for reductions, applied before the reduction runs.

Most functions compute their result and cast it into ``out`` (``_functions._into``); several
reductions instead compute in ``out``'s dtype, or accept only one dtype for it.
"""
from . import _dtype as D
from ._dtype import scalar_type_name as _title

# computed as if called with dtype=out.dtype: torch.sum(x, 1, out=int32) sums x cast to int32
_OUT_IS_DTYPE = frozenset(("sum", "prod", "cumsum", "cumprod", "nansum"))
# floating input is cast to a floating out's dtype first (a float64 out gets float64 math)
_OUT_CASTS_INPUT = frozenset(("std", "var", "logsumexp", "mean"))


def _c_name(npd):
    """The C++ type name these messages print (int64 is 'long int' here, not 'long')."""
    return {"int64": "long int", "int16": "short int"}.get(npd.name) or D.c_type_name(npd)


def _same_dtype(name, x, out):
    if x._data.dtype != out._data.dtype:
        raise RuntimeError(f"Expected the dtype for input and out to match, but got "
                           f"{_title(x._data.dtype)} for input's dtype and "
                           f"{_title(out._data.dtype)} for out's dtype.")


def _norm_out(name, x, out):
    if x._data.dtype.kind == "f" and out._data.dtype != x._data.dtype:
        raise RuntimeError(f"Expected out tensor to have dtype {_c_name(x._data.dtype)}, "
                           f"but got {_c_name(out._data.dtype)} instead")


def _long_out(name, x, out):
    if out._data.dtype != D.int64.np:
        raise RuntimeError(f"Expected out tensor to have dtype long int, but got "
                           f"{_c_name(out._data.dtype)} instead")


def _logical_out(name, x, out):
    dt = out._data.dtype
    if dt.kind != "b" and not (dt == x._data.dtype == D.uint8.np):
        raise RuntimeError(f"{name} only supports bool tensor for result, got: {_title(dt)}")


_CHECKS = {"amax": _same_dtype, "amin": _same_dtype, "argmax": _long_out,
           "argmin": _long_out, "all": _logical_out, "any": _logical_out, "norm": _norm_out}


def prepare(name, args, kwargs, out):
    """The arguments ``name`` runs with when writing into ``out`` (PyTorch's rules above);
    raises PyTorch's error where ``out``'s dtype is not allowed."""
    if not args or not isinstance(args[0], type(out)):
        return args, kwargs
    x = args[0]
    if name in _OUT_IS_DTYPE:
        if name == "nansum" and x._data.dtype.kind == "f" and out._data.dtype.kind != "f":
            # PyTorch has no kernel for this (NotImplementedError); the usual cast check
            # below raises a RuntimeError instead
            return args, kwargs
        if kwargs.get("dtype") is None:
            kwargs = dict(kwargs, dtype=out.dtype)
    elif name in _OUT_CASTS_INPUT:
        if name == "logsumexp" and out._data.dtype.kind not in "fc":
            raise RuntimeError(f"logsumexp(): Expected floating point type for result tensor, "
                               f"but got: {_title(out._data.dtype)}")
        if x._data.dtype.kind == "f" and out._data.dtype.kind == "f" and \
                x._data.dtype != out._data.dtype:
            args = (x.to(out.dtype),) + tuple(args[1:])
    elif name in _CHECKS:
        _CHECKS[name](name, x, out)
    return args, kwargs
