"""PyTorch's ``out=`` dtype rules for reductions and other functions, applied before they run.

Most functions compute their result and cast it into ``out`` (``_functions._into``); several
reductions instead compute in ``out``'s dtype, several functions accept only one dtype for
``out`` (each with PyTorch's own message), and a ``dtype=`` given with ``out=`` must be out's.
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


def _must_match(message):
    """A check that ``out`` has the input's dtype, raising ``message(input's, out's)``: the
    functions differ only in PyTorch's wording."""
    def check(name, x, out):
        if out._data.dtype != x._data.dtype:
            raise RuntimeError(message(x._data.dtype, out._data.dtype))
    return check


def _must_be_long(message):
    """A check that ``out`` is int64, raising ``message(out's dtype)``."""
    def check(name, x, out):
        if out._data.dtype != D.int64.np:
            raise RuntimeError(message(out._data.dtype))
    return check


_same_dtype = _must_match(lambda want, got: (
    f"Expected the dtype for input and out to match, but got {_title(want)} for input's "
    f"dtype and {_title(got)} for out's dtype."))
_exact_out = _must_match(lambda want, got: (
    f"Expected out tensor to have dtype {_c_name(want)}, but got {_c_name(got)} instead"))
_found_out = _must_match(lambda want, got: (
    f"Found dtype {_title(got)} but expected {_title(want)}"))
_vdot_out = _must_match(lambda want, got: (
    f"result dtype {_title(got)} does not match input dtype {_title(want)}"))
_inner_out = _must_match(lambda want, got: (
    f"tensordot: Expected the output tensor to have dtype {_title(want)}, but got an output "
    f"tensor with dtype {_title(got)}"))
_narrow_copy_out = _must_match(lambda want, got: (
    "Expected self.dtype() == output.dtype() to be true, but got false.  (Could this error "
    "message be improved?  If so, please report an enhancement request to PyTorch.)"))
_long_out = _must_be_long(lambda got: (
    f"Expected out tensor to have dtype long int, but got {_c_name(got)} instead"))
_multinomial_out = _must_be_long(lambda got: (
    f"multinomial expects Long tensor out, got: {_title(got)}"))


def _norm_out(name, x, out):
    if x._data.dtype.kind == "f":
        _exact_out(name, x, out)


def _logical_out(name, x, out):
    dt = out._data.dtype
    if dt.kind != "b" and not (dt == x._data.dtype == D.uint8.np):
        raise RuntimeError(f"{name} only supports bool tensor for result, got: {_title(dt)}")


def _bool_out(name, x, out):
    if out._data.dtype.kind != "b":
        raise RuntimeError(f"Expected out tensor to have dtype bool, but got "
                           f"{_c_name(out._data.dtype)} instead")


def _nanmean_out(name, x, out):
    if out._data.dtype.kind not in "fc":  # the sum it starts with has no integer kernel
        raise NotImplementedError(f"\"nansum_cpu\" not implemented for "
                                  f"'{_title(out._data.dtype)}'")


def _mvlgamma_out(name, x, out):
    if out._data.dtype.kind not in "fc":  # PyTorch names the result's type twice here
        kind = _title(x._data.dtype if x._data.dtype.kind == "f" else D.get_default_dtype().np)
        raise RuntimeError(f"mvlgamma: result type {kind} can't be cast to the desired output "
                           f"type {kind}")


_CHECKS = {"amax": _same_dtype, "amin": _same_dtype, "argmax": _long_out,
           "argmin": _long_out, "all": _logical_out, "any": _logical_out, "norm": _norm_out,
           "renorm": _exact_out, "slice_scatter": _exact_out, "index_copy": _exact_out,
           "index_reduce": _exact_out, "take_along_dim": _exact_out, "isin": _bool_out,
           "conj_physical": _found_out, "hardshrink": _found_out, "vdot": _vdot_out,
           "inner": _inner_out, "narrow_copy": _narrow_copy_out, "nanmean": _nanmean_out,
           "multinomial": _multinomial_out, "mvlgamma": _mvlgamma_out}


# functions whose dtype= must be out's dtype when both are given
_DTYPE_NAMES_OUT = frozenset(("sum", "prod", "mean", "cumsum", "cumprod", "nansum", "softmax",
                              "log_softmax", "norm"))


def _dtype_matches_out(name, dt, out):
    if dt == out._data.dtype:
        return
    if name == "nansum":
        raise RuntimeError(f"nansum: provided dtype must match dtype of result. Got "
                           f"{_title(out._data.dtype)} and {_title(dt)}.")
    raise RuntimeError(f"Expected out tensor to have dtype {_c_name(dt)}, but got "
                       f"{_c_name(out._data.dtype)} instead")


def prepare(name, args, kwargs, out):
    """The arguments ``name`` runs with when writing into ``out`` (PyTorch's rules above);
    raises PyTorch's error where ``out``'s dtype is not allowed."""
    if not args or not isinstance(args[0], type(out)):
        return args, kwargs
    x = args[0]
    if kwargs.get("dtype") is not None and name in _DTYPE_NAMES_OUT:
        _dtype_matches_out(name, D.to_dtype(kwargs["dtype"]).np, out)
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
