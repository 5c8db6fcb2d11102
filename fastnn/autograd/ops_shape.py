"""Shape, view and indexing ops."""
import numpy as np

from .node import Node
from .accumulate import add_at, sum_axes
from .ops_math import name_by_use, renamed, unbroadcast, zeros_on
from .out_layout import c_contiguous, c_order_unless_channels_last


class _Aliased(Node):
    """A node that a composite method renames after the PyTorch op it stands for."""
    alias = None

    def name(self):
        return self.alias or type(self).__name__


class ViewBackward0(_Aliased):
    def forward(self, a, shape):
        self.in_shape = a.shape
        return np.reshape(a, shape, copy=False)

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class ReshapeAliasBackward0(ViewBackward0):
    # PyTorch: a reshape that can alias is a view; one that must copy (renamed by the caller)
    # is an UnsafeViewBackward0
    alias = "ViewBackward0"

    def forward(self, a, shape):
        self.in_shape = a.shape
        return np.reshape(a, shape)


# a reshape that can alias is what PyTorch calls a view (the copying one, UnsafeViewBackward0,
# is renamed by its caller); other modules import the class by its identifier
ReshapeAliasBackward0.__name__ = ReshapeAliasBackward0.__qualname__ = "ViewBackward0"


class PermuteBackward0(_Aliased):
    def forward(self, a, dims):
        self.inv = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    def backward(self, g):
        return (np.transpose(g, self.inv),)


# the views PyTorch names after the op that made them: chosen by the caller, so the node is
# of the right class from the start
SqueezeBackward0 = renamed(ViewBackward0, "SqueezeBackward0")  # every size-1 dim
SqueezeBackward1 = renamed(ViewBackward0, "SqueezeBackward1")  # the given dims
UnsqueezeBackward0 = renamed(ViewBackward0, "UnsqueezeBackward0")
TransposeBackward0 = renamed(PermuteBackward0, "TransposeBackward0")
TBackward0 = renamed(PermuteBackward0, "TBackward0")


class ExpandBackward0(Node):
    def forward(self, a, shape):
        self.meta = (a.shape, a.dtype)
        if a.shape == shape:
            return a.view()  # nothing repeats, so the view stays writeable
        return np.broadcast_to(a, shape)

    def backward(self, g):
        return (unbroadcast(g, *self.meta),)


class AsStridedBackward0(Node):
    """A view over the input's storage; the gradient adds up the output elements sharing a
    storage slot, then reads it back in the input's own layout."""

    def forward(self, a, flat, size, stride, offset, geometry):
        self.meta = (flat.size, size, stride, offset, geometry, a.dtype)
        isz = flat.itemsize
        return np.lib.stride_tricks.as_strided(flat[offset:], size, [s * isz for s in stride])

    def backward(self, g):
        n, size, stride, offset, (shape, in_stride, in_offset), dt = self.meta
        slots = np.full((), offset, np.int64)
        for k, (m, s) in enumerate(zip(size, stride)):
            slots = slots + (np.arange(m, dtype=np.int64) * s).reshape(
                (m,) + (1,) * (len(size) - k - 1))
        buf = np.bincount(np.broadcast_to(slots, size).reshape(-1),
                          weights=np.asarray(g, np.float64).reshape(-1), minlength=n)
        buf = buf.astype(dt, copy=False)
        isz = buf.itemsize
        return (np.lib.stride_tricks.as_strided(buf[in_offset:], shape,
                                                [s * isz for s in in_stride]).copy(),)


class FlipBackward0(Node):
    def forward(self, a, axes):
        self.axes = axes
        # a copy in the input's layout, as in PyTorch: writing it leaves `a` alone
        return np.flip(a, axes).copy(order="K")

    def backward(self, g):
        return (np.flip(g, self.axes),)


class RepeatBackward0(Node):
    def forward(self, a, reps):
        self.meta = (a.shape, reps)
        lead = len(reps) - a.ndim
        return c_contiguous(np.tile(a.reshape((1,) * lead + a.shape), reps))

    def backward(self, g):
        shape, reps = self.meta
        lead = len(reps) - len(shape)
        full = (1,) * lead + shape
        split = []
        for r, s in zip(reps, full):
            split += [r, s]
        g = sum_axes(g.reshape(split), tuple(range(0, len(split), 2)))
        return (g.reshape(shape),)


def is_basic_index(idx):
    items = idx if isinstance(idx, tuple) else (idx,)
    for it in items:
        if not (it is None or it is Ellipsis or isinstance(it, (int, slice, np.integer))):
            return False
    return True


_strided = np.lib.stride_tricks.as_strided


def _new_axis_strides(a, idx, out):
    """``out = a[idx]`` with a stride for each ``None`` dim that steps over the source dim
    that follows it (the whole remaining block), instead of numpy's 0."""
    items = idx if type(idx) is tuple else (idx,)
    n_ellipsis = items.count(Ellipsis)
    fill = a.ndim - (len(items) - items.count(None) - n_ellipsis)  # dims a ... stands for
    shape, src_strides = a.shape, a.strides
    strides = list(out.strides)
    d = p = 0
    for i in items:
        if i is None:
            strides[p] = shape[d] * src_strides[d] if d < len(shape) else a.itemsize
            p += 1
        elif i is Ellipsis:
            d += fill
            p += fill
            fill = 0  # a second ... adds nothing
        else:
            d += 1
            if type(i) is slice:
                p += 1
    strides = tuple(strides)
    if strides == out.strides:
        return out
    # numpy's reshape adding the size-1 dims usually lands on these strides, and keeps the
    # view's link to its base array (as_strided does not): try it first
    rest = tuple([i for i in items if i is not None])
    again = a[rest if n_ellipsis else rest + (Ellipsis,)].reshape(out.shape)
    return again if again.strides == strides else _strided(out, out.shape, strides)


class IndexBackward0(Node):
    """``a[idx]``: basic indexing makes a view; advanced indexing a copy."""

    def forward(self, a, idx, basic):
        self.meta = (a.shape, a.dtype)
        self.idx, self.basic = idx, basic
        out = a[idx]
        if basic and not isinstance(out, np.ndarray) and type(a) is np.ndarray:
            # integers alone give numpy a scalar copy; a trailing ... keeps a 0-d view
            out = a[(idx if isinstance(idx, tuple) else (idx,)) + (Ellipsis,)]
        elif basic:
            if (idx is None or type(idx) is tuple and None in idx) and type(out) is np.ndarray:
                out = _new_axis_strides(a, idx, out)
        elif type(out) is np.ndarray:
            if not out.flags.c_contiguous:
                out = np.ascontiguousarray(out)  # a fresh tensor, C-ordered (numpy may permute)
            if 1 in out.shape or 0 in out.shape:  # numpy's C strides from a flat view
                out = out.reshape(-1).reshape(out.shape)
        return out

    def backward(self, g):
        out = zeros_on(g, *self.meta)
        if self.basic:
            out[self.idx] = g
        else:
            np.add.at(out, self.idx, g)
        return (out,)

    def name(self):
        return basic_index_name(self.idx) if self.basic else "IndexBackward0"


_EVERYTHING = slice(None)


def basic_index_name(idx):
    # PyTorch names the view after the last step that changed anything
    for i in reversed(idx) if type(idx) is tuple else (idx,):
        if i is None:
            return "UnsqueezeBackward0"
        if type(i) is slice:
            if i != _EVERYTHING:
                return "SliceBackward0"
        elif i is not Ellipsis:
            return "SelectBackward0"
    return "AliasBackward0"


_BASIC_INDEX = {n: renamed(IndexBackward0, n) for n in (
    "AliasBackward0", "UnsqueezeBackward0", "SliceBackward0", "SelectBackward0")}
_SELECT = _BASIC_INDEX["SelectBackward0"]


def basic_index_node(idx):
    """The node class of ``a[idx]`` for a basic index, named as PyTorch names that view."""
    if type(idx) is int:  # x[0], the common case
        return _SELECT
    return _BASIC_INDEX[basic_index_name(idx)]


class IndexPutBackward0(Node):
    """``x[idx] = v`` recorded on x: x's old values lose the overwritten positions' grads."""

    def forward(self, x, v, idx, accumulate):
        self.idx = idx
        self.v_meta = (v.shape, v.dtype)
        self.accumulate = accumulate
        name_by_use(self)
        if accumulate:
            np.add.at(x, idx, v)
        else:
            x[idx] = v
        return x

    def name(self):
        basic = not self.accumulate and is_basic_index(self.idx)
        return "CopySlices" if basic else "IndexPutBackward0"

    def backward(self, g):
        gx = gv = None
        if self.needs(0):
            gx = g
            if not self.accumulate:
                gx = g.copy()
                gx[self.idx] = 0
        if self.needs(1):
            gv = unbroadcast(np.asarray(g[self.idx]), *self.v_meta)
        return gx, gv


class CopySlices(Node):
    """An in-place op on a view: ``x`` (contiguous, owned) with flat positions ``pos`` replaced."""

    def forward(self, x, v, pos):
        self.pos = pos
        x.reshape(-1)[pos] = v
        return x

    def backward(self, g):
        gx = gv = None
        if self.needs(0):
            gx = np.array(g, order="C")
            gx.reshape(-1)[self.pos] = 0
        if self.needs(1):
            gv = np.ascontiguousarray(g).reshape(-1)[self.pos]
        return gx, gv


class CatBackward0(Node):
    def forward(self, *arrays_and_axis):
        *arrays, axis = arrays_and_axis
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return c_order_unless_channels_last(np.concatenate(arrays, axis=axis), *arrays)

    def backward(self, g):
        return tuple(np.split(g, self.bounds, axis=self.axis))


class StackBackward0(Node):
    def forward(self, *arrays_and_axis):
        *arrays, axis = arrays_and_axis
        self.axis = axis
        return c_order_unless_channels_last(np.stack(arrays, axis=axis), *arrays)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.axis, 0))


class IndexSelectBackward0(Node):
    def forward(self, a, axis, index):
        self.meta = (a.shape, a.dtype)
        self.axis, self.index = axis, index
        if a.ndim == 0:  # a 0-d source gives a 0-d result
            return np.array(a, copy=True)
        return np.take(a, index, axis=axis)

    def backward(self, g):
        if not self.meta[0]:  # 0-d source: its one element was picked
            return (np.array(g, dtype=self.meta[1], copy=True),)
        out = zeros_on(g, *self.meta)
        sl = [slice(None)] * len(self.meta[0])
        sl[self.axis] = self.index
        if len(self.meta[0]) > 1:  # float16 rows accumulate in float32, as in PyTorch
            add_at(out, tuple(sl), g)
        else:  # single elements add in the dtype itself there
            np.add.at(out, tuple(sl), g)
        return (out,)


def _scatter_index(index, axis):
    """Full coordinate tuple addressing ``out[..., index[i, j, ...], ...]`` along ``axis``."""
    grids = list(np.indices(index.shape, sparse=True))
    grids[axis] = index
    return tuple(grids)


def check_gather_index(fn, shp, d, idx, src):
    """PyTorch's rules: index within the input (and src) outside dim d; values in [0, size)."""
    if idx.ndim != len(shp) or (src is not None and src.ndim != len(shp)):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           f"{'input' if idx.ndim != len(shp) else 'src'} tensor")
    if any(n > shp[i] for i, n in enumerate(idx.shape) if i != d) or (
            src is not None and any(n > m for n, m in zip(idx.shape, src.shape))):
        msg = (f"index {list(idx.shape)} to be no larger than self {list(shp)} apart from "
               f"dimension {d}")
        if fn == "gather":
            raise RuntimeError(f"Size does not match at dimension {d} expected {msg}")
        extra = f" and to be no larger size than src {list(src.shape)}" if src is not None else ""
        raise RuntimeError(f"Expected {msg}{extra}")
    size = shp[d] if shp else 1
    if idx.size and (idx.min() < 0 or idx.max() >= size):  # negative indices never wrap
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"index {int(bad)} is out of bounds for dimension {d} with size "
                           f"{size}")


def _leading(shape, axis, ndim):
    """The region ``index`` covers outside ``axis``: it may be smaller than the input there."""
    return tuple(slice(None) if i == axis else slice(0, n) for i, n in enumerate(shape[:ndim]))


class GatherBackward0(Node):
    def forward(self, a, axis, index):
        self.meta = (a.shape, a.dtype)
        self.axis, self.index = axis, index
        return np.take_along_axis(a[_leading(index.shape, axis, a.ndim)], index, axis=axis)

    def backward(self, g):
        out = zeros_on(g, *self.meta)
        add_at(out, _scatter_index(self.index, self.axis), g)  # repeated indices add up
        return (out,)


class ScatterBackward0(Node):
    """Out-of-place scatter of ``src`` into a copy of ``a``: reduce None, 'add' or 'multiply'."""

    def forward(self, a, src, axis, index, reduce):
        self.axis, self.index, self.reduce = axis, index, reduce
        out = a.copy()
        coords = _scatter_index(index, axis)
        part = src[tuple(slice(0, s) for s in index.shape)]
        if reduce == "add":
            add_at(out, coords, part)  # unbuffered: repeated indices accumulate
        elif reduce == "multiply":
            np.multiply.at(out, coords, part)
        else:
            out[coords] = part
        self.src_meta = (src.shape, src.dtype)
        return out

    def backward(self, g):
        if self.reduce == "multiply":
            raise RuntimeError("fastnn does not differentiate scatter with reduce='multiply'")
        ga = gs = None
        coords = _scatter_index(self.index, self.axis)
        if self.needs(0):
            ga = g
            if self.reduce != "add":
                ga = g.copy()
                ga[coords] = 0
        if self.needs(1):
            gs = zeros_on(g, *self.src_meta)
            gs[tuple(slice(0, s) for s in self.index.shape)] = g[coords]
        return ga, gs

    def name(self):
        return "ScatterAddBackward0" if self.reduce == "add" else "ScatterBackward0"


ScatterAddBackward0 = renamed(ScatterBackward0, "ScatterAddBackward0")


class TriuBackward0(Node):
    """triu/tril select (never multiply): -inf or nan outside the kept triangle must become 0."""

    def forward(self, a, k, upper):
        self.k, self.upper = k, upper
        return c_contiguous(np.triu(a, k) if upper else np.tril(a, k))

    def backward(self, g):
        return (np.triu(g, self.k) if self.upper else np.tril(g, self.k),)

    def name(self):
        return "TriuBackward0" if self.upper else "TrilBackward0"


TrilBackward0 = renamed(TriuBackward0, "TrilBackward0")


class MaskedFillBackward0(Node):
    def forward(self, a, mask, value):
        self.mask = mask
        self.meta = (a.shape, a.dtype)
        return c_contiguous(np.where(mask, np.asarray(value, a.dtype), a))

    def backward(self, g):
        return (unbroadcast(np.where(self.mask, 0, g), *self.meta),)


class MaskedFillBackward1(Node):
    """masked_fill with a 0-d value tensor that needs a gradient."""

    def forward(self, a, v, mask):
        self.mask = mask
        self.meta = (a.shape, a.dtype)
        return c_contiguous(np.where(mask, v, a))

    def backward(self, g):
        zero = np.zeros((), g.dtype)
        ga = unbroadcast(np.where(self.mask, zero, g), *self.meta) if self.needs(0) else None
        gv = np.where(self.mask, g, zero).sum() if self.needs(1) else None
        return ga, (None if gv is None else np.asarray(gv, g.dtype))
