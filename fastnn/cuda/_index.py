"""Indexing CudaArrays with numpy's rules.

Basic indices (ints, slices, None, Ellipsis) make views. Advanced indices (integer or boolean
arrays) become one array of element offsets, built on the device from the index arrays, that
a gather (read), scatter (write) or atomic scatter-add kernel then follows.
"""
import numpy as np

from ._array import CudaArray, empty, from_host, arange, assign
from . import kernels_index as K
from ._backend import buffer_from


def _is_array(it):
    return isinstance(it, (CudaArray, np.ndarray, list))


def _normalize(a, idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    items = tuple(np.asarray(it) if isinstance(it, list) else it for it in items)
    used = 0
    for it in items:
        if it is None or it is Ellipsis:
            continue
        if _is_array(it) and it.dtype == np.bool_:
            used += max(it.ndim, 1)
        else:
            used += 1
    if used > a.ndim:
        raise IndexError(f"too many indices for array: array is {a.ndim}-dimensional, but "
                         f"{used} were indexed")
    if Ellipsis in [it for it in items if not _is_array(it)]:
        k = next(i for i, it in enumerate(items) if not _is_array(it) and it is Ellipsis)
        items = items[:k] + (slice(None),) * (a.ndim - used) + items[k + 1:]
    else:
        items = items + (slice(None),) * (a.ndim - used)
    return items


def _basic_view(a, items):
    off, shape, est, d = a.off, [], [], 0
    for it in items:
        if it is None:
            shape.append(1)
            est.append(0)
            continue
        size, st = a.shape[d], a.est[d]
        if isinstance(it, slice):
            start, stop, step = it.indices(size)
            n = len(range(start, stop, step))
            if n:
                off += start * st
            shape.append(n)
            est.append(st * step)
        else:
            i = int(it)
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for axis {d} with size {size}")
            off += (i % size) * st
        d += 1
    return CudaArray(a.st, off, tuple(shape), tuple(est), a.dtype, a._root())


def _index_array(it):
    if isinstance(it, CudaArray):
        if it.dtype.kind not in "iu":
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        return it if it.dtype == np.int64 else it.astype(np.int64)
    arr = np.asarray(it)
    if arr.dtype.kind not in "iu":
        raise IndexError("arrays used as indices must be of integer (or boolean) type")
    return from_host(arr.astype(np.int64))


def _placed(arr, pos, ndim):
    """arr (whose dims are output dims pos, pos+1, ...) reshaped to broadcast in ndim dims."""
    return arr.reshape((1,) * pos + arr.shape + (1,) * (ndim - pos - arr.ndim))


def _wrapped(idx, size):
    return np.where(np.less(idx, 0), np.add(idx, size), idx)


def offsets(a, idx):
    """(shape, offsets): the result shape of ``a[idx]`` and each element's buffer offset."""
    items = []
    for it in _normalize(a, idx):
        if _is_array(it) and it.dtype == np.bool_:
            items.extend(np.nonzero(it))  # a mask selects the positions where it is True
        else:
            items.append(it)
    adv_pos = [k for k, it in enumerate(items) if _is_array(it) or
               (it is not None and not isinstance(it, slice))]
    arrays = []
    d = 0
    for k, it in enumerate(items):
        if k in adv_pos:
            arrays.append((_index_array(it) if _is_array(it) else int(it), d))
        if it is not None:
            d += 1
    bshape = np.broadcast_shapes(*[x.shape if isinstance(x, CudaArray) else ()
                                   for x, _ in arrays])
    adjacent = adv_pos == list(range(adv_pos[0], adv_pos[0] + len(adv_pos)))
    # output dimensions: (size, stride) of slices and new axes, with the broadcast block
    out_dims, bpos, d = [], 0, 0
    base = a.off
    for k, it in enumerate(items):
        if k in adv_pos:
            if adjacent and k == adv_pos[0]:
                bpos = len(out_dims)
            d += 1
            continue
        if it is None:
            out_dims.append((1, 0))
            continue
        start, stop, step = it.indices(a.shape[d])
        n = len(range(start, stop, step))
        base += start * a.est[d] if n else 0
        out_dims.append((n, a.est[d] * step))
        d += 1
    shape = [s for s, _ in out_dims]
    shape[bpos:bpos] = list(bshape)
    shape = tuple(shape)
    nd = len(shape)
    acc = from_host(np.asarray(base, np.int64))
    for j, (n, st) in enumerate(out_dims):
        pos = j if j < bpos else j + len(bshape)
        if n > 1 and st:
            acc = np.add(acc, _placed(arange(n, np.int64, 0, st), pos, nd))
    for x, dim in arrays:
        size, st = a.shape[dim], a.est[dim]
        if isinstance(x, CudaArray):
            term = np.multiply(_wrapped(x, size), st).broadcast_to(bshape)
            acc = np.add(acc, _placed(term, bpos, nd))
        else:
            if not -size <= x < size:
                raise IndexError(f"index {x} is out of bounds for axis {dim} with size {size}")
            acc = np.add(acc, (x % size) * st)
    offs = acc.broadcast_to(shape)
    return shape, (offs if offs.is_c_contiguous() else offs.copy())


def getitem(a, idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    if not any(_is_array(it) or isinstance(it, bool) for it in items):
        return _basic_view(a, _normalize(a, idx))
    shape, offs = offsets(a, idx)
    out = empty(shape, a.dtype)
    if out.size:
        K.gather(out.size, out.st.dev, a.st.dev, buffer_from(offs))
    return out


def _values(value, dtype, shape):
    if isinstance(value, CudaArray):
        v = value if value.dtype == dtype else value.astype(dtype)
    else:
        v = from_host(np.asarray(value, dtype))
    v = v.broadcast_to(shape)
    return v if v.is_c_contiguous() else v.copy()


def setitem(a, idx, value):
    items = idx if isinstance(idx, tuple) else (idx,)
    if hasattr(value, "_data") and isinstance(value._data, CudaArray):
        value = value._data
    if not any(_is_array(it) or isinstance(it, bool) for it in items):
        view = _basic_view(a, _normalize(a, idx))
        if isinstance(value, CudaArray):
            assign(view, value)
        elif isinstance(value, np.ndarray) and value.ndim:
            view.copy_from_host(value)
        else:
            view.fill(value)
        return
    shape, offs = offsets(a, idx)
    n = offs.size
    if n:
        v = _values(value, a.dtype, shape)
        K.scatter(n, a.st.dev, buffer_from(offs), buffer_from(v))


def index_add(a, idx, value):
    shape, offs = offsets(a, idx)
    n = offs.size
    if n:
        v = _values(value, a.dtype, shape)
        K.scatter_add(n, a.st.dev, buffer_from(offs), buffer_from(v))


def _along_offsets(arr, idx, axis):
    axis %= arr.ndim
    if idx.ndim != arr.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    shape = np.broadcast_shapes(idx.shape, tuple(1 if d == axis else s
                                                 for d, s in enumerate(arr.shape)))
    nd = arr.ndim
    acc = from_host(np.asarray(arr.off, np.int64))
    for d in range(nd):
        if d != axis and shape[d] > 1:
            acc = np.add(acc, _placed(arange(shape[d], np.int64, 0, arr.est[d]), d, nd))
    ix = idx if idx.dtype == np.int64 else idx.astype(np.int64)
    acc = np.add(acc, np.multiply(_wrapped(ix, arr.shape[axis]), arr.est[axis]))
    offs = acc.broadcast_to(shape)
    return shape, (offs if offs.is_c_contiguous() else offs.copy())


def take_along_axis(arr, idx, axis):
    if axis is None:
        arr, axis = arr.reshape(-1), 0
    shape, offs = _along_offsets(arr, idx, axis)
    out = empty(shape, arr.dtype)
    if out.size:
        K.gather(out.size, out.st.dev, arr.st.dev, buffer_from(offs))
    return out


def put_along_axis(arr, idx, values, axis):
    shape, offs = _along_offsets(arr, idx, axis)
    if offs.size:
        v = _values(values, arr.dtype, shape)
        K.scatter(offs.size, arr.st.dev, buffer_from(offs), buffer_from(v))
