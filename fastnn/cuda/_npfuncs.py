"""numpy functions (NEP 18) on CudaArrays: views, creation, joining, selection, reductions.

Registered in ``_dispatch._FUNCS``; a numpy function missing here raises NotImplementedError
naming it, with the advice to move the tensor to the CPU.
"""
import numpy as np

from ._array import CudaArray, empty, from_host, assign
from ._layout import collapse
from ._dispatch import implements, _FUNCS, as_cuda, _lift, _cast, broadcast_shapes, unsupported
from . import kernels_elementwise as E


@implements(np.reshape)
def _reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    return a.reshape(shape if shape is not None else newshape, copy=copy)


@implements(np.transpose)
def _transpose(a, axes=None):
    return a.transpose() if axes is None else a.transpose(axes)


@implements(np.swapaxes)
def _swapaxes(a, axis1, axis2):
    return a.swapaxes(axis1, axis2)


@implements(np.moveaxis)
def _moveaxis(a, source, destination):
    src = [s % a.ndim for s in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [d % a.ndim for d in (destination if isinstance(destination, (tuple, list))
                                else (destination,))]
    order = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return a.transpose(order)


@implements(np.broadcast_to)
def _broadcast_to(array, shape, subok=False):
    return array.broadcast_to(shape if isinstance(shape, tuple) else tuple(shape)
                              if isinstance(shape, list) else (shape,))


@implements(np.broadcast_arrays)
def _broadcast_arrays(*args, subok=False):
    shape = broadcast_shapes(*[a.shape for a in args])
    return tuple(as_cuda(a).broadcast_to(shape) for a in args)


@implements(np.expand_dims)
def _expand_dims(a, axis):
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    nd = a.ndim + len(axes)
    axes = sorted(x % nd for x in axes)
    shape, est = list(a.shape), list(a.est)
    for x in axes:
        shape.insert(x, 1)
        est.insert(x, 0)
    return CudaArray(a.st, a.off, tuple(shape), tuple(est), a.dtype, a._root())


@implements(np.squeeze)
def _squeeze(a, axis=None):
    return a.squeeze(axis)


@implements(np.ravel)
def _ravel(a, order="C"):
    return a.reshape(-1)


@implements(np.flip)
def _flip(m, axis=None):
    axes = range(m.ndim) if axis is None else \
        [x % m.ndim for x in (axis if isinstance(axis, (tuple, list)) else (axis,))]
    off, est = m.off, list(m.est)
    for x in axes:
        if m.shape[x]:
            off += (m.shape[x] - 1) * est[x]
        est[x] = -est[x]
    return CudaArray(m.st, off, m.shape, tuple(est), m.dtype, m._root())


def _like(a, dtype, shape):
    return empty(a.shape if shape is None else
                 (tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)),
                 a.dtype if dtype is None else dtype)


@implements(np.empty_like)
def _empty_like(prototype, dtype=None, order="K", subok=True, shape=None, *, device=None):
    return _like(prototype, dtype, shape)


@implements(np.zeros_like)
def _zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    out = _like(a, dtype, shape)
    out.fill(0)
    return out


@implements(np.ones_like)
def _ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    out = _like(a, dtype, shape)
    out.fill(1)
    return out


@implements(np.full_like)
def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    out = _like(a, dtype, shape)
    out.fill(fill_value)
    return out


def _creator(value):
    def make(shape, dtype=float, order="C", *, like=None, device=None):
        out = empty(shape if isinstance(shape, (tuple, list)) else (shape,), dtype)
        if value is not None:
            out.fill(value)
        return out
    return make


_FUNCS[np.zeros] = _creator(0)
_FUNCS[np.ones] = _creator(1)
_FUNCS[np.empty] = _creator(None)


@implements(np.copyto)
def _copyto(dst, src, casting="same_kind", where=True):
    if where is not True:
        raise unsupported("numpy.copyto(where=...)")
    if not isinstance(dst, CudaArray):
        raise unsupported("numpy.copyto into a host array from a CUDA array")
    src = _lift(src)
    sdt = src.dtype if isinstance(src, (CudaArray, np.generic)) else np.result_type(src)
    if isinstance(src, (CudaArray, np.generic)) and not np.can_cast(sdt, dst.dtype, casting):
        raise TypeError(f"Cannot cast array data from {sdt!r} to {dst.dtype!r} according to "
                        f"the rule '{casting}'")
    if isinstance(src, CudaArray):
        broadcast_shapes(src.shape, dst.shape)
        assign(dst, src)
    else:
        dst.fill(src)


@implements(np.concatenate)
def _concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = [as_cuda(a) for a in arrays]
    if axis is None:
        arrays, axis = [a.reshape(-1) for a in arrays], 0
    axis %= arrays[0].ndim
    dt = dtype or np.result_type(*[a.dtype for a in arrays])
    total = sum(a.shape[axis] for a in arrays)
    shape = list(arrays[0].shape)
    shape[axis] = total
    if out is None:
        out = empty(tuple(shape), dt)
    pos = 0
    for a in arrays:
        n = a.shape[axis]
        sl = (slice(None),) * axis + (slice(pos, pos + n),)
        assign(out[sl], a)
        pos += n
    return out


@implements(np.stack)
def _stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    arrays = [as_cuda(a) for a in arrays]
    ax = axis % (arrays[0].ndim + 1)
    return _concatenate([_expand_dims(a, ax) for a in arrays], ax, out, dtype)


@implements(np.split, np.array_split)
def _split(ary, indices_or_sections, axis=0):
    axis %= ary.ndim
    size = ary.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        step = size // int(indices_or_sections)
        bounds = list(range(step, size, step))[:int(indices_or_sections) - 1]
    else:
        bounds = [int(b) for b in indices_or_sections]
    edges = [0] + bounds + [size]
    pre = (slice(None),) * axis
    return [ary[pre + (slice(a, b),)] for a, b in zip(edges[:-1], edges[1:])]


@implements(np.where)
def _where(condition, x=None, y=None):
    if x is None and y is None:
        return _nonzero(condition)
    c = as_cuda(condition)
    if c.dtype != np.bool_:
        c = c.astype(np.bool_)
    ops = [_lift(v) for v in (x, y)]
    dt = np.result_type(*[v.dtype if isinstance(v, (CudaArray, np.generic)) else v
                          for v in ops])
    ops = [_cast(v, dt) for v in ops]
    a, b = (v if isinstance(v, CudaArray) else _scalar_array(v, dt) for v in ops)
    shape = broadcast_shapes(c.shape, a.shape, b.shape)
    out = empty(shape, dt)
    if out.size:
        c, a, b = (v.broadcast_to(shape) for v in (c, a, b))
        cs, (so, sc, sa, sb) = collapse(shape, out.est, c.est, a.est, b.est)
        E.where(out.size, cs, (out.st.dev, out.off, so), (c.st.dev, c.off, sc),
                (a.st.dev, a.off, sa), (b.st.dev, b.off, sb))
    return out


def _scalar_array(v, dt):
    out = empty((), dt)
    out.fill(v)
    return out


@implements(np.nonzero)
def _nonzero(a):
    # the result's size depends on the data: one device-to-host copy, as in PyTorch
    return tuple(from_host(i) for i in np.nonzero(a.copy_to_host()))


@implements(np.clip)
def clip(a, a_min=None, a_max=None, out=None, **kwargs):
    a_min = kwargs.get("min", a_min)
    a_max = kwargs.get("max", a_max)
    res = a
    if a_min is not None:
        res = np.maximum(res, a_min)
    if a_max is not None:
        res = np.minimum(res, a_max)
    if res is a:
        res = a.copy()
    if out is not None:
        assign(out, res)
        return out
    return res


@implements(np.round, np.around)
def _round(a, decimals=0, out=None):
    if decimals == 0:
        return np.rint(a, out=out)
    scale = 10.0 ** decimals
    return np.true_divide(np.rint(a * scale), scale, out=out)


def _reduction(kind):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce(kind, as_cuda(a), axis, keepdims, dtype, out)
    return fn


_FUNCS[np.sum] = _reduction("sum")
_FUNCS[np.mean] = _reduction("mean")
_FUNCS[np.prod] = _reduction("prod")


def _extreme(kind):
    def fn(a, axis=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce(kind, as_cuda(a), axis, keepdims, None, out)
    return fn


_FUNCS[np.max] = _FUNCS[np.amax] = _extreme("max")
_FUNCS[np.min] = _FUNCS[np.amin] = _extreme("min")
_FUNCS[np.all] = _extreme("all")
_FUNCS[np.any] = _extreme("any")


@implements(np.argmax)
def _argmax(a, axis=None, out=None, *, keepdims=False):
    return a.argmax(axis, keepdims=keepdims)


@implements(np.argmin)
def _argmin(a, axis=None, out=None, *, keepdims=False):
    return a.argmin(axis, keepdims=keepdims)


@implements(np.count_nonzero)
def _count_nonzero(a, axis=None, *, keepdims=False):
    return np.not_equal(a, 0).sum(axis=axis, dtype=np.int64, keepdims=keepdims)


@implements(np.take_along_axis)
def _take_along_axis(arr, indices, axis=-1):
    from ._index import take_along_axis
    return take_along_axis(arr, as_cuda(indices), axis)


@implements(np.put_along_axis)
def _put_along_axis(arr, indices, values, axis):
    from ._index import put_along_axis
    put_along_axis(arr, as_cuda(indices), values, axis)


@implements(np.take)
def _take(a, indices, axis=None, out=None, mode="raise"):
    if axis is None:
        return a.reshape(-1)[as_cuda(indices)]
    return a[(slice(None),) * (axis % a.ndim) + (as_cuda(indices),)]


@implements(np.shares_memory, np.may_share_memory)
def _shares_memory(a, b, max_work=None):
    return isinstance(a, CudaArray) and isinstance(b, CudaArray) and a.st is b.st


@implements(np.ndim)
def _ndim(a):
    return a.ndim


@implements(np.shape)
def _shape(a):
    return a.shape


@implements(np.size)
def _size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


@implements(np.result_type)
def _result_type(*arrays_and_dtypes):
    return np.result_type(*[x.dtype if isinstance(x, CudaArray) else x
                            for x in arrays_and_dtypes])


@implements(np.pad)
def _pad(array, pad_width, mode="constant", **kwargs):
    if mode != "constant":
        raise unsupported(f"numpy.pad(mode='{mode}')")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (array.ndim, 2))
    shape = tuple(int(s + lo + hi) for s, (lo, hi) in zip(array.shape, widths))
    out = empty(shape, array.dtype)
    out.fill(kwargs.get("constant_values", 0))
    inner = tuple(slice(int(lo), int(lo) + s) for s, (lo, _) in zip(array.shape, widths))
    assign(out[inner], array)
    return out


@implements(np.tile)
def _tile(A, reps):
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    nd = max(len(reps), A.ndim)
    reps = (1,) * (nd - len(reps)) + reps
    a = A.reshape((1,) * (nd - A.ndim) + A.shape)
    inter = []
    for r, s in zip(reps, a.shape):
        inter += [r, s]
    grown = _expand_dims(a, tuple(range(0, 2 * nd, 2))).broadcast_to(tuple(inter))
    return grown.copy().reshape(tuple(r * s for r, s in zip(reps, a.shape)))


@implements(np.ascontiguousarray)
def _ascontiguousarray(a, dtype=None, *, like=None):
    a = a if dtype is None else a.astype(dtype, copy=False)
    return a if a.is_c_contiguous() else a.copy()


@implements(np.dot)
def _dot(a, b, out=None):
    return np.matmul(a, b, out=out)


@implements(np.tensordot)
def _tensordot(a, b, axes=2):
    if isinstance(axes, int):
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        ax_a, ax_b = ([x] if isinstance(x, int) else list(x) for x in axes)
    ax_a = [x % a.ndim for x in ax_a]
    ax_b = [x % b.ndim for x in ax_b]
    free_a = [i for i in range(a.ndim) if i not in ax_a]
    free_b = [i for i in range(b.ndim) if i not in ax_b]
    k = 1
    for x in ax_a:
        k *= a.shape[x]
    a2 = a.transpose(free_a + ax_a).reshape(-1, k)
    b2 = b.transpose(ax_b + free_b).reshape(k, -1)
    return np.matmul(a2, b2).reshape(tuple(a.shape[i] for i in free_a) +
                                     tuple(b.shape[i] for i in free_b))


@implements(np.lib.stride_tricks.sliding_window_view)
def _sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    ws = tuple(window_shape) if isinstance(window_shape, (tuple, list)) else (window_shape,)
    axes = tuple(range(x.ndim - len(ws), x.ndim)) if axis is None else \
        tuple(a % x.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,)))
    shape, est = list(x.shape), list(x.est)
    for a, w in zip(axes, ws):
        shape[a] -= w - 1
    shape += list(ws)
    est += [x.est[a] for a in axes]
    return CudaArray(x.st, x.off, tuple(shape), tuple(est), x.dtype, x._root())


@implements(np.isclose)
def _isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    diff = np.absolute(np.subtract(a, b))
    ok = np.less_equal(diff, np.add(atol, np.multiply(rtol, np.absolute(b))))
    if equal_nan:
        ok = np.logical_or(ok, np.logical_and(np.isnan(a), np.isnan(b)))
    return ok


@implements(np.allclose)
def _allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(_isclose(a, b, rtol, atol, equal_nan).all())


@implements(np.array_equal)
def _array_equal(a1, a2, equal_nan=False):
    return a1.shape == a2.shape and bool(np.equal(a1, a2).all())
