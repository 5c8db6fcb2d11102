"""Host side of the reductions: numpy's axis, keepdims and dtype rules over the kernels."""
import numpy as np

from ._array import empty, assign
from ._layout import collapse
from . import _backend as B
from . import kernels_reduce as KR

_acc_dtypes = {}


def _acc_dtype(kind, dt):
    """The dtype numpy reduces dt in (sum of int32 gives int64, mean of int gives float64)."""
    key = (kind, dt)
    r = _acc_dtypes.get(key)
    if r is None:
        probe = np.zeros(1, dt)
        r = {"sum": probe.sum, "prod": probe.prod, "mean": probe.mean}[kind]().dtype
        _acc_dtypes[key] = r
    return r


def axes_of(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(a, ndim)
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(out))


_IDENTITY = {"sum": 0, "mean": 0, "prod": 1}
_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "max": "maximum", "min": "minimum",
          "all": "logical_and", "any": "logical_or"}


def _init(kind, dt):
    if kind in _IDENTITY:
        return dt.type(_IDENTITY[kind])
    if dt.kind == "f":
        return dt.type(-np.inf if kind == "max" else np.inf)
    info = np.iinfo(dt) if dt.kind in "iu" else None
    if info is None:  # bool
        return dt.type(kind != "max")
    return dt.type(info.min if kind == "max" else info.max)


def reduce(kind, a, axis, keepdims, dtype, out):
    axes = axes_of(axis, a.ndim)
    if kind in ("all", "any"):
        # on 0/1 bytes: any is a max, all a min
        res = reduce("max" if kind == "any" else "min", np.not_equal(a, 0).astype(np.uint8),
                     axis, keepdims, None, None).astype(np.bool_)
        if out is not None:
            assign(out, res)
            return out
        return res
    if dtype is not None:
        dt = np.dtype(dtype)
    elif kind in ("sum", "prod", "mean"):
        dt = _acc_dtype(kind, a.dtype)
    else:
        dt = a.dtype
    src = a if a.dtype == dt else a.astype(dt)
    kept = [d for d in range(a.ndim) if d not in axes]
    kshape = tuple(a.shape[d] for d in kept)
    nred = 1
    for d in axes:
        nred *= a.shape[d]
    direct = out is not None and not keepdims and out.shape == kshape and out.dtype == dt \
        and out.is_c_contiguous() and out.st is not src.st
    res = out if direct else empty(kshape, dt)  # the kernel writes a suitable out itself
    nout = res.size
    if nout:
        if nred == 0:
            if kind in ("max", "min"):
                raise ValueError(f"zero-size array to reduction operation "
                                 f"{_UFUNC[kind]} which has no identity")
            res.fill(np.nan if kind == "mean" else _IDENTITY[kind])
        elif not axes:
            assign(res, src)
        else:
            ks, (kst,) = collapse(kshape, tuple(src.est[d] for d in kept))
            rs, (rst,) = collapse(tuple(a.shape[d] for d in axes),
                                  tuple(src.est[d] for d in axes))
            KR.reduce(kind, nout, nred, ks, kst, rs, rst, src.st.dev, src.off,
                      B.buffer_from(res), _init(kind, dt), dt.type(nred))
    if keepdims:
        res = res.reshape(tuple(1 if d in axes else s for d, s in enumerate(a.shape)))
    if out is not None:
        if res is not out:
            assign(out, res)
        return out
    return res


def arg_extreme(a, axis, keepdims, use_max):
    if axis is None:
        flat = a.reshape(-1)
        res = arg_extreme(flat, 0, False, use_max)
        return res.reshape((1,) * a.ndim) if keepdims else res
    ax = axes_of(axis, a.ndim)[0]
    n = a.shape[ax]
    if n == 0:
        raise ValueError(f"attempt to get {'argmax' if use_max else 'argmin'} of an empty "
                         "sequence")
    kept = [d for d in range(a.ndim) if d != ax]
    kshape = tuple(a.shape[d] for d in kept)
    res = empty(kshape, np.int64)
    if res.size:
        ks, (kst,) = collapse(kshape, tuple(a.est[d] for d in kept))
        KR.arg_extreme(B.grid(res.size), res.size, ks, kst, n, a.est[ax], a.st.dev, a.off,
                       res.st.dev, use_max)
    if keepdims:
        res = res.reshape(tuple(1 if d == ax else s for d, s in enumerate(a.shape)))
    return res

