"""numpy's NEP 13 / NEP 18 protocols for CudaArray: ufuncs and array functions on the GPU.

Result dtypes follow numpy exactly (``ufunc.resolve_dtypes``, with Python scalars weak), so a
CUDA run computes in the same dtypes as the CPU run of the same code.
"""
import numpy as np

from ._array import CudaArray, empty, from_host
from ._layout import collapse
from . import kernels_elementwise as E

_resolved = {}


def unsupported(what):
    return NotImplementedError(f"{what} is not implemented for CUDA tensors in fastnn; move the "
                               "tensor to the CPU with .cpu() first")


def _lift(x):
    """A ufunc operand as a CudaArray or a scalar: numpy scalars keep their (strong) dtype."""
    if isinstance(x, CudaArray):
        return x
    if isinstance(x, np.ndarray):
        return x[()] if x.ndim == 0 else from_host(x)
    if isinstance(x, (bool, int, float, np.generic)):
        return x
    if hasattr(x, "_data") and isinstance(getattr(x, "_data"), CudaArray):
        return x._data
    raise TypeError(f"unsupported operand type for a CUDA array: {type(x).__name__}")


def _kind(x):
    if isinstance(x, (CudaArray, np.generic)):
        return x.dtype
    if isinstance(x, bool):
        return np.dtype(bool)
    return type(x)


def resolve(ufunc, ops, dtype):
    key = (ufunc, tuple(_kind(x) for x in ops), dtype)
    r = _resolved.get(key)
    if r is None:
        kinds = key[1] + (None,) * ufunc.nout
        try:
            if dtype is None:
                r = ufunc.resolve_dtypes(kinds)
            else:
                r = ufunc.resolve_dtypes(kinds, signature=(None,) * ufunc.nin + (np.dtype(dtype),))
        except (TypeError, np.exceptions.DTypePromotionError) as e:
            raise TypeError(f"ufunc '{ufunc.__name__}' not supported for the input types "
                            f"({e})") from None
        _resolved[key] = r
    return r


def _cast(x, dt):
    if isinstance(x, CudaArray):
        return x if x.dtype == dt else x.astype(dt)
    return dt.type(x)


def broadcast_shapes(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError("operands could not be broadcast together with shapes " +
                         " ".join(str(s) for s in shapes)) from None


def _check_out(ufunc, out, shape, loop_out, casting):
    if not isinstance(out, CudaArray):
        raise TypeError(f"ufunc '{ufunc.__name__}': the output of a CUDA computation must be a "
                        f"CUDA array, not {type(out).__name__}")
    if out.shape != shape and broadcast_shapes(out.shape, shape) != out.shape:
        raise ValueError(f"non-broadcastable output operand with shape {out.shape} doesn't "
                         f"match the broadcast shape {shape}")
    if not np.can_cast(loop_out, out.dtype, casting=casting):
        raise TypeError(f"Cannot cast ufunc '{ufunc.__name__}' output from {loop_out!r} to "
                        f"{out.dtype!r} with casting rule '{casting}'")


def _name(ufunc, in_dt):
    name = ufunc.__name__
    if name in ("invert", "bitwise_not") and in_dt == np.bool_:
        return "logical_not"
    if name == "divide":
        return "true_divide"
    if name in ("mod",):
        return "remainder"
    if name == "abs":
        return "absolute"
    return name


def elementwise(ufunc, inputs, out=None, dtype=None, casting="same_kind"):
    ops = [_lift(x) for x in inputs]
    loop = resolve(ufunc, ops, dtype)
    ops = [_cast(x, dt) for x, dt in zip(ops, loop)]
    arrays = [x for x in ops if isinstance(x, CudaArray)]
    shape = broadcast_shapes(*[a.shape for a in arrays]) if arrays else ()
    if out is None:
        out = empty(shape, loop[-1])
    else:
        _check_out(ufunc, out, shape, loop[-1], casting)
        shape = out.shape
    n = out.size
    if n == 0:
        return out
    name = _name(ufunc, loop[0])
    if len(ops) == 1:
        if name not in E.UNARY:
            raise unsupported(f"numpy.{ufunc.__name__}")
        a = ops[0].broadcast_to(shape)
        cs, (so, sa) = collapse(shape, out.est, a.est)
        E.unary(name, n, cs, (out.st.dev, out.off, so), (a.st.dev, a.off, sa))
        return out
    if name not in E.BINARY:
        raise unsupported(f"numpy.{ufunc.__name__}")
    a, b = ops
    if isinstance(a, CudaArray) and isinstance(b, CudaArray):
        a, b = a.broadcast_to(shape), b.broadcast_to(shape)
        cs, (so, sa, sb) = collapse(shape, out.est, a.est, b.est)
        E.binary(name, n, cs, (out.st.dev, out.off, so), (a.st.dev, a.off, sa),
                 (b.st.dev, b.off, sb))
    elif isinstance(a, CudaArray) or isinstance(b, CudaArray):
        first = not isinstance(a, CudaArray)
        arr, s = (b, a) if first else (a, b)
        arr = arr.broadcast_to(shape)
        cs, (so, sa) = collapse(shape, out.est, arr.est)
        E.binary_scalar(name, n, cs, (out.st.dev, out.off, so), (arr.st.dev, arr.off, sa), s,
                        first)
    else:  # two scalars with a CUDA out=
        out.fill(getattr(np, ufunc.__name__)(a, b))
    return out


def unary(name, a):
    """A unary kernel numpy has no ufunc for (erf): float in, the same float dtype out."""
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    out = empty(a.shape, a.dtype)
    if out.size:
        cs, (so, sa) = collapse(a.shape, out.est, a.est)
        E.unary(name, out.size, cs, (out.st.dev, out.off, so), (a.st.dev, a.off, sa))
    return out


def binary(name, a, b):
    """A binary kernel numpy has no ufunc for (relu's gradient): a and b of one shape, out of
    a's dtype, in one launch where the numpy spelling would take several."""
    out = empty(a.shape, a.dtype)
    if out.size:
        cs, (so, sa, sb) = collapse(a.shape, out.est, a.est, b.est)
        E.binary(name, out.size, cs, (out.st.dev, out.off, so), (a.st.dev, a.off, sa),
                 (b.st.dev, b.off, sb))
    return out


_REDUCE_UFUNCS = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
                  "logical_and": "all", "logical_or": "any"}


def array_ufunc(ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if isinstance(out, tuple):
        out = out[0] if len(out) == 1 else out
    if kwargs.get("where", True) is not True:
        raise unsupported(f"numpy.{ufunc.__name__}(where=...)")
    if method == "__call__":
        if ufunc is np.matmul:
            from .kernels_gemm import matmul
            a, b = (_lift(x) for x in inputs)
            return matmul(a, b, out)
        if ufunc is np.clip:
            from ._npfuncs import clip
            return clip(*inputs, out=out)
        return elementwise(ufunc, inputs, out, kwargs.get("dtype"),
                           kwargs.get("casting", "same_kind"))
    if method == "reduce" and ufunc.__name__ in _REDUCE_UFUNCS:
        from ._reduce import reduce
        return reduce(_REDUCE_UFUNCS[ufunc.__name__], _lift(inputs[0]), kwargs.get("axis", 0),
                      kwargs.get("keepdims", False), kwargs.get("dtype"), out)
    if method == "at" and ufunc is np.add:
        from ._index import index_add
        index_add(inputs[0], inputs[1], _lift(inputs[2]))
        return None
    raise unsupported(f"numpy.{ufunc.__name__}.{method}")


# ---- array functions ----------------------------------------------------------------------
_FUNCS = {}


def implements(*funcs):
    def deco(fn):
        for f in funcs:
            _FUNCS[f] = fn
        return fn
    return deco


def array_function(func, types, args, kwargs):
    fn = _FUNCS.get(func)
    if fn is None:
        raise unsupported(f"numpy.{func.__name__}")
    return fn(*args, **kwargs)


def as_cuda(x, dtype=None):
    """A CudaArray of x (scalars and host arrays are uploaded)."""
    if isinstance(x, CudaArray):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    arr = np.asarray(x, dtype=dtype)
    return from_host(arr)


from . import _npfuncs  # noqa: E402,F401  (registers the array functions in _FUNCS)
