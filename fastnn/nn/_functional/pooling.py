"""Max and average pooling over 1 or 2 spatial dims, adaptive pooling over 1 to 3.

Pooling walks the kernel offsets (K of them, e.g. 4 for 2x2), each a strided view of the
padded input covering every window at once, so the work is K vectorized passes over the
output, never a loop over samples or pixels.
"""
import math

import numpy as np

from ..._dtype import scalar_type_name
from ...autograd.function import apply, apply_node
from ...autograd.node import Node
from ...autograd.ops_math import name_by_use, relabel
from ...tensor import Tensor
from .misc import core, float_check, kernel_slices, nodes_dtype, wrap
from .pool_args import _tuple
from .pool_windows import window_means


def _as_squeeze(y):
    # PyTorch pools 1-d input as 2-d with a unit dim it squeezes away: that step shows
    return relabel(y, "SqueezeBackward1")


def _out_len(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0)
    o = span // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _plan(input, kernel_size, stride, padding, dilation, ceil_mode, nd, fn):
    """Validate pooling arguments; returns (unbatched?, k, s, p, d, out)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")
    k = _tuple(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) else \
        _tuple(stride, nd, fn, "stride")
    p = _tuple(padding, nd, fn, "padding")
    d = _tuple(dilation, nd, fn, "dilation")
    shape = input.shape
    if input.dim() not in (nd + 1, nd + 2) or any(v == 0 for v in shape[-nd - 1:]):
        if nd >= 2:
            raise RuntimeError(f"non-empty {nd + 1}D or {nd + 2}D (batch mode) tensor expected "
                               "for input")
        raise RuntimeError(f"{fn}: Expected 2D or 3D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got:{list(shape)}")
    if any(v == 0 for v in s) or any(v == 0 for v in k):
        raise RuntimeError("stride should not be zero")
    if any(v < 0 for v in s + k):
        raise RuntimeError(f"{fn}: kernel_size and stride must be positive")
    if any(v <= 0 for v in d):
        raise RuntimeError("dilation should be greater than zero, but got " +
                           " ".join(f"dilation{a}: {v}" for a, v in zip("THW"[-nd:], d)))
    for kk, pp, dd in zip(k, p, d):
        if pp < 0 or pp > (dd * (kk - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    out = tuple(_out_len(n, kk, ss, pp, dd, ceil_mode)
                for n, kk, ss, pp, dd in zip(shape[-nd:], k, s, p, d))
    if any(o <= 0 for o in out):
        plane = "x".join(map(str, shape[-nd - 1:]))
        calc = "x".join(map(str, (shape[-nd - 1],) + out))
        raise RuntimeError(f"Given input size: ({plane}). Calculated output size: ({calc}). "
                           "Output size is too small")
    return input.dim() == nd + 1, k, s, p, d, out


def _padded(x, k, s, p, d, out, fill):
    """x padded on the left by p and on the right as far as the last window reaches."""
    spatial = x.shape[2:]
    need = tuple((o - 1) * ss + dd * (kk - 1) + 1 for o, ss, dd, kk in zip(out, s, d, k))
    right = tuple(max(nn - pp - n, 0) for nn, pp, n in zip(need, p, spatial))
    if not any(p) and not any(right):
        return x
    shape = x.shape[:2] + tuple(n + pp + r for n, pp, r in zip(spatial, p, right))
    xp = np.full(shape, fill, x.dtype)
    xp[(slice(None), slice(None)) + tuple(slice(pp, pp + n) for pp, n in zip(p, spatial))] = x
    return xp


def _crop(gp, x_shape, p):
    return gp[(slice(None), slice(None)) + tuple(slice(pp, pp + n)
                                                 for pp, n in zip(p, x_shape[2:]))]


# ---- max pooling ----------------------------------------------------------------------------
def _tournament(views):
    """Elementwise max over the views and the index of the first view holding it.

    Pairs are merged level by level (earlier operand first, so ties keep the lower index);
    at the first level the comparison itself is the index.
    """
    itype = np.int8 if len(views) < 128 else np.int32
    level = []
    for j in range(0, len(views) - 1, 2):
        a, b = views[j], views[j + 1]
        later = (b > a).view(np.int8).astype(itype, copy=False)
        level.append((np.maximum(a, b), later + j if j else later))
    if len(views) % 2:
        level.append((views[-1].copy(), np.full(views[-1].shape, len(views) - 1, itype)))
    while len(level) > 1:
        nxt = []
        for j in range(0, len(level) - 1, 2):
            (ma, ia), (mb, ib) = level[j], level[j + 1]
            take = mb > ma
            nxt.append((np.maximum(ma, mb, out=ma), np.where(take, ib, ia)))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    best, idx = level[0]
    return best, np.asarray(idx, itype)


class _PoolNode(Node):
    """Takes unbatched (C, *spatial) input as a batch of one, as PyTorch's pooling kernels do."""

    def forward(self, x, unbatched, *args):
        self.unbatched = unbatched
        y = self._fwd(x[None] if unbatched else x, *args)
        name_by_use(self)  # MaxPool2DWithIndicesBackward0, AvgPool1DBackward0, ...
        return y[0] if unbatched else y

    def backward(self, g):
        gx = self._bwd(g[None] if self.unbatched else g)
        return (gx[0] if self.unbatched else gx,)


class MaxPoolWithIndicesBackward(_PoolNode):
    def _fwd(self, x, k, s, p, d, out, want_idx):
        self.flat = None
        kernels = core()
        if kernels is not None and len(k) == 2 and p == (0, 0) and d == (1, 1) and \
                x.dtype in nodes_dtype and x.flags.c_contiguous and \
                out == tuple((n - kk) // ss + 1 for n, kk, ss in zip(x.shape[2:], k, s)):
            # the common case in one Cython pass each way
            y, self.flat = kernels.max_pool2d_forward(x, k[0], k[1], s[0], s[1])
            self.meta = (x.shape, x.dtype, x.shape, k, s, p, d, out)
            return y
        low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = _padded(x, k, s, p, d, out, low)
        views = [xp[(slice(None), slice(None)) + sl]
                 for _, sl in kernel_slices(k, s, d, out)]
        self.meta = (x.shape, x.dtype, xp.shape, k, s, p, d, out)
        self.idx = None
        if not want_idx and self._next is None:
            best = views[0].copy()
            for v in views[1:]:
                np.maximum(best, v, out=best)  # propagates NaN, as PyTorch's max pooling does
            return best
        best, idx = _tournament(views)
        if best.dtype.kind == "f" and np.isnan(best.sum()) and np.isnan(best).any():
            for i, v in enumerate(views):  # PyTorch reports the last NaN of a window
                np.copyto(idx, i, where=np.isnan(v))
        self.idx = idx
        return best

    def name(self):
        return f"MaxPool{len(self.meta[3])}DWithIndicesBackward0"

    def flat_indices(self):
        """PyTorch's indices: the max's flat position in its (unpadded) input plane."""
        if self.flat is not None:
            return self.flat.astype(np.int64)
        x_shape, _, _, k, s, p, d, out = self.meta
        idx = self.idx.astype(np.int64)
        nd = len(k)
        offs = np.unravel_index(idx, k) if nd > 1 else (idx,)
        flat = 0
        for a in range(nd):
            base = np.arange(out[a]) * s[a] - p[a]
            base = base.reshape((-1,) + (1,) * (nd - 1 - a))
            pos = base + offs[a] * d[a]
            flat = flat * x_shape[2 + a] + pos
        return flat

    def _bwd(self, g):
        x_shape, dt, xp_shape, k, s, p, d, out = self.meta
        if self.flat is not None:
            return core().max_pool2d_backward(np.ascontiguousarray(g, dt), self.flat,
                                              np.empty(x_shape, dt))
        disjoint = all(ss >= dd * (kk - 1) + 1 for ss, kk, dd in zip(s, k, d))
        # windows that tile the input exactly write every element once: no zero fill needed
        tiled = all(dd == 1 and ss == kk and o * ss == n
                    for ss, kk, dd, o, n in zip(s, k, d, out, xp_shape[2:]))
        gp = np.empty(xp_shape, dt) if tiled else np.zeros(xp_shape, dt)
        zero = np.zeros((), g.dtype)
        for i, (_, sl) in enumerate(kernel_slices(k, s, d, out)):
            part = np.where(self.idx == i, g, zero)
            if disjoint:
                gp[(slice(None), slice(None)) + sl] = part
            else:
                gp[(slice(None), slice(None)) + sl] += part
        return np.ascontiguousarray(_crop(gp, x_shape, p))


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd,
              fn):
    kind = input._data.dtype.kind
    if kind == "b" or (nd == 1 and kind != "f"):  # PyTorch pools integers in 2-d and 3-d only
        float_check(input, "max_pool1d_impl" if nd == 1 else f"max_pool{nd}d")
    unbatched, k, s, p, d, out = _plan(input, kernel_size, stride, padding, dilation,
                                       ceil_mode, nd, fn)
    if type(input._data) is not np.ndarray:
        from ...cuda._nn import max_pool as cuda_max_pool
        y, ind = cuda_max_pool(input.unsqueeze(0) if unbatched else input, k, s, p, d, out, nd)
        y, ind = (y.squeeze(0), ind.squeeze(0)) if unbatched else (y, ind)
        return (y, ind) if return_indices else y
    y, node = apply_node(MaxPoolWithIndicesBackward, (input,), unbatched, k, s, p, d, out,
                         return_indices)
    if nd == 1:
        _as_squeeze(y)
    if not return_indices:
        return y
    ind = node.flat_indices()
    return y, wrap(ind[0] if unbatched else ind)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2, "max_pool2d")


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     1, "max_pool1d")


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---- average pooling ------------------------------------------------------------------------
def _divisor(n, k, s, p, o, include_pad):
    """Per-output window sizes along one axis, as PyTorch counts them."""
    start = np.arange(o) * s - p
    end = np.minimum(start + k, n + p)
    if include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


class AvgPoolBackward(_PoolNode):
    def _fwd(self, x, k, s, p, out, ceil_mode, include_pad, divisor_override):
        nd = len(k)
        d = (1,) * nd
        xp = _padded(x, k, s, p, d, out, 0)
        total = None
        # float16 windows are summed in float32 and rounded once, as PyTorch does
        acc = np.float32 if x.dtype == np.float16 else x.dtype
        for _, sl in kernel_slices(k, s, d, out):
            v = xp[(slice(None), slice(None)) + sl]
            total = v.astype(acc, copy=True) if total is None else np.add(total, v, out=total)
        if divisor_override:
            div = np.asarray(float(divisor_override))
        else:
            div = np.ones((1,) * nd)
            for a in range(nd):
                da = _divisor(x.shape[2 + a], k[a], s[a], p[a], out[a], include_pad)
                div = div * da.reshape((1,) * a + (-1,) + (1,) * (nd - 1 - a))
        self.div = div.astype(x.dtype) if x.dtype.kind == "f" else div
        self.meta = (x.shape, x.dtype, xp.shape, k, s, p, out)
        if x.dtype.kind == "f":
            return (total / self.div).astype(x.dtype, copy=False)
        # integer input: exact division rounding toward zero, as C integer division does
        quotient = np.abs(total) // np.asarray(div).astype(x.dtype)
        return np.where(total < 0, -quotient, quotient).astype(x.dtype)

    def name(self):
        return f"AvgPool{len(self.meta[3])}DBackward0"

    def _bwd(self, g):
        x_shape, dt, xp_shape, k, s, p, out = self.meta
        share = (g / self.div).astype(dt, copy=False)
        gp = np.zeros(xp_shape, dt)
        for _, sl in kernel_slices(k, s, (1,) * len(k), out):
            gp[(slice(None), slice(None)) + sl] += share
        return np.ascontiguousarray(_crop(gp, x_shape, p))


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, nd, fn):
    if input._data.dtype != np.int64:       # int64 is the one integer type PyTorch pools
        float_check(input, "avg_pool3d_out_frame" if nd == 3 else "avg_pool2d")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    unbatched, k, s, p, _, out = _plan(input, kernel_size, stride, padding, 1, ceil_mode, nd,
                                       fn)
    if type(input._data) is not np.ndarray:
        from ...cuda._nn import avg_pool as cuda_avg_pool
        y = cuda_avg_pool(input.unsqueeze(0) if unbatched else input, k, s, p, out,
                          count_include_pad, divisor_override, nd)
        return y.squeeze(0) if unbatched else y
    y = apply(AvgPoolBackward, (input,), unbatched, k, s, p, out, ceil_mode,
              bool(count_include_pad), divisor_override)
    return _as_squeeze(y) if nd == 1 else y


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     1, "avg_pool1d")


# ---- adaptive pooling (1, 2 or 3 spatial dims) -----------------------------------------------
def _bins(n, o):
    """Start and end of PyTorch's o adaptive bins over n: [floor(i*n/o), ceil((i+1)*n/o))."""
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def _bin_matrix(n, o, dtype):
    """(o, n) matrix averaging each adaptive bin."""
    start, end = _bins(n, o)
    cols = np.arange(n)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def _along(y, m, axis):
    """y with dimension ``axis`` mapped through the matrix m: (..., n, ...) -> (..., o, ...)."""
    if axis == y.ndim - 1:
        return np.matmul(y, m.T)
    lead, rest = y.shape[:axis], y.shape[axis + 1:]
    flat = y.reshape(lead + (y.shape[axis], math.prod(rest)))
    return np.matmul(m, flat).reshape(lead + (m.shape[0],) + rest)


class AdaptiveAvgPoolBackward(_PoolNode):
    """Bins are separable, so the pooling is one bin-averaging matrix per spatial dim."""

    def _fwd(self, x, out):
        dt = x.dtype if x.dtype.kind == "f" else np.float64
        self.mats = [_bin_matrix(n, o, dt) for n, o in zip(x.shape[2:], out)]
        self.dt = x.dtype
        if all(o == 1 for o in out) and x.dtype.kind == "f":
            # one cell per plane (a classifier head): a plain mean keeps NaN/inf where they are
            return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)  # (float16 sums in float32)
        if tuple(out) == x.shape[2:]:
            return x.copy()  # every bin is a single cell
        y = x
        for a, m in enumerate(self.mats):
            y = _along(y, m, 2 + a)
        if not np.isfinite(y).all():
            # the bin matrix's zeros turn a NaN/inf into NaN in every bin of its row: average
            # window by window instead (the output is small, so the check above is cheap)
            y = x
            for a, (n, o) in enumerate(zip(x.shape[2:], out)):
                y = window_means(y, *_bins(n, o), 2 + a, dt)
        return y.astype(x.dtype, copy=False)

    def name(self):
        return f"AdaptiveAvgPool{len(self.mats)}DBackward0"

    def _bwd(self, g):
        gx = g
        for a, m in enumerate(self.mats):
            gx = _along(gx, m.T, 2 + a)
        if type(gx) is not np.ndarray:  # a CUDA array, already contiguous
            return gx.astype(self.dt, copy=False)
        return np.ascontiguousarray(gx, dtype=self.dt)


def _output_sizes(output_size, nd, bad_len):
    if not isinstance(output_size, (list, tuple)):
        return (output_size,) * nd
    if len(output_size) != nd:
        raise RuntimeError(bad_len(len(output_size)))
    return tuple(output_size)


def _check_planes(input, first, fn):
    shape = input.shape
    for i in range(first, input.dim()):
        if shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(shape)} with dimension "
                               f"{i} being empty")


def _adaptive_avg(input, output_size, nd, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")
    sizes = _output_sizes(output_size, nd, lambda n: f"{fn}: output_size must be {nd}")
    shape = input.shape
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got "
                           f"{list(shape)}")
    # PyTorch runs 1-d through its 2-d kernel, and its 3-d kernel also rejects empty channels
    kernel = "adaptive_avg_pool3d" if nd == 3 else "adaptive_avg_pool2d"
    _check_planes(input, input.dim() - nd - (nd == 3), fn)
    if input._data.dtype.kind not in "fc":
        raise NotImplementedError(f'"{kernel}{"_cpu" if nd == 3 else ""}" not implemented for '
                                  f"'{scalar_type_name(input._data.dtype)}'")
    out = tuple(shape[-nd + a] if v is None else int(v) for a, v in enumerate(sizes))
    if any(o < 0 for o in out):
        shown = ((1,) + out) if nd == 1 else out
        listed = f"{shown[0]}, {shown[1]}" + "".join(f",{o}" for o in shown[2:])
        raise RuntimeError(f"{kernel}: elements of output_size must be greater than or equal "
                           f"to 0 but received {{{listed}}}")
    y = apply(AdaptiveAvgPoolBackward, (input,), input.dim() == nd + 1, out)
    if nd == 1:
        return _as_squeeze(y)
    if y.grad_fn is not None and all(o == 1 for o in out):
        relabel(y, "MeanBackward1")  # PyTorch takes a mean for a single output cell
    return y


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def _bin_reads(n, o):
    """(o, kmax) input positions of each adaptive bin, short bins repeating their last."""
    start, end = _bins(n, o)
    kmax = int((end - start).max()) if o else 1
    return np.minimum(start[:, None] + np.arange(kmax), end[:, None] - 1)


class AdaptiveMaxPoolBackward(_PoolNode):
    """Each bin's values gathered into a trailing axis; the max and its flat plane index."""

    def _fwd(self, x, out):
        nd = len(out)
        reads = [_bin_reads(n, o) for n, o in zip(x.shape[2:], out)]
        ks = tuple(r.shape[1] for r in reads)
        # (N, C, *out, *ks), then one trailing axis per bin in row-major order, so argmax
        # keeps the first maximum in scan order
        v = x[(slice(None), slice(None)) + tuple(
            r.reshape((r.shape[0],) + (1,) * (nd - 1) + (r.shape[1],) + (1,) * (nd - 1 - a))
            for a, r in enumerate(reads))]
        v = v.reshape(x.shape[:2] + tuple(out) + (math.prod(ks),))
        arg = v.argmax(axis=-1)
        best = np.take_along_axis(v, arg[..., None], axis=-1)[..., 0]
        flat = 0
        for a, (r, k) in enumerate(zip(reads, np.unravel_index(arg, ks))):
            bin_no = np.arange(out[a]).reshape((-1,) + (1,) * (nd - 1 - a))
            flat = flat * x.shape[2 + a] + r[bin_no, k]
        self.flat = np.asarray(flat, np.int64)
        self.meta = (x.shape, x.dtype)
        return np.ascontiguousarray(best)

    def name(self):
        return f"AdaptiveMaxPool{self.flat.ndim - 2}DBackward0"

    def _bwd(self, g):
        shape, dt = self.meta
        planes = shape[0] * shape[1]
        size = int(np.prod(shape[2:]))
        at = (np.arange(planes) * size).reshape(shape[:2] + (1,) * (g.ndim - 2)) + self.flat
        gx = np.bincount(at.ravel(), weights=g.ravel(), minlength=planes * size)
        return gx.astype(dt, copy=False).reshape(shape)


def _adaptive_max(input, output_size, return_indices, nd, fn):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")
    sizes = _output_sizes(output_size, nd, lambda n: (
        f"{fn}(): internal error: output_size.size() must be {nd}" if nd > 1 else
        f"{fn}() argument 'output_size' should contain one int (got {n})"))
    shape = input.shape
    if input.dim() not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{fn})")
        raise RuntimeError(f"{fn}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(shape)}")
    _check_planes(input, input.dim() - nd - 1, fn)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{fn}{"_cpu" if nd == 3 else ""}" not implemented for '
                                  f"'{scalar_type_name(input._data.dtype)}'")
    out = tuple(shape[-nd + a] if v is None else int(v) for a, v in enumerate(sizes))
    if any(o < 0 for o in out):
        full = list(shape[:-nd]) + list(out)
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{next(o for o in out if o < 0)}: {full}")
    y, node = apply_node(AdaptiveMaxPoolBackward, (input,), input.dim() == nd + 1, out)
    if nd == 1:
        _as_squeeze(y)
    if not return_indices:
        return y
    ind = node.flat
    return y, wrap(ind[0] if input.dim() == nd + 1 else ind)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")
