"""fractional_max_pool2d / fractional_max_pool3d (Graham's fractional max-pooling).

Each (sample, channel) plane draws one number u in [0, 1) per spatial axis (``_random_samples``
of shape (N, C, 2) or (N, C, 3)); along an axis of input size n, output size o and pool size k
the windows start at trunc((i + u) * alpha) - trunc(u * alpha) for i < o - 1, with
alpha = (n - k) / (o - 1) computed in the input's float precision, and the last window ends at
the input's end. Each output is the maximum of its k-wide window (a NaN wins).
"""
import numpy as np

from ..._dtype import scalar_type_name
from ...autograd.function import apply_node
from ...autograd.node import Node
from ...tensor import Tensor
from .misc import wrap


def _starts(samples, n_in, n_out, pool):
    """Window starts along one axis, (N, C, n_out), from the (N, C) samples of that axis."""
    dt = samples.dtype.type
    starts = np.empty(samples.shape + (n_out,), np.int64)
    if n_out > 1:
        alpha = dt(n_in - pool) / dt(n_out - 1)
        steps = np.arange(n_out - 1).astype(samples.dtype)
        u = samples[..., None]
        starts[..., :-1] = (np.trunc((steps + u) * alpha).astype(np.int64)
                            - np.trunc(u * alpha).astype(np.int64))
    if n_out > 0:
        starts[..., -1] = n_in - pool
    return starts


def _window_indices(samples, spatial, out, pool):
    """Flat in-plane indices of every window element, (N, C, *out, prod(pool))."""
    nd = len(spatial)
    strides = [int(np.prod(spatial[a + 1:])) for a in range(nd)]
    flat = 0
    for a in range(nd):
        offs = _starts(samples[..., a], spatial[a], out[a], pool[a])[..., None] + \
            np.arange(pool[a])                                   # (N, C, o_a, k_a)
        shape = [offs.shape[0], offs.shape[1]] + [1] * (2 * nd)
        shape[2 + a], shape[2 + nd + a] = out[a], pool[a]
        flat = flat + offs.reshape(shape) * strides[a]
    n, c = samples.shape[:2]
    return np.broadcast_to(flat, (n, c) + tuple(out) + tuple(pool)).reshape(
        (n, c) + tuple(out) + (-1,))


class _FractionalMaxPoolBackward(Node):
    def forward(self, x, samples, out, pool, batched):
        self.unbatched_shape = None if batched else x.shape
        x = x if batched else x[None]
        n, c, *spatial = x.shape
        self.meta = (x.shape, len(spatial))
        if n * c == 0 or 0 in out or 0 in pool:   # no window, or only empty ones
            self.idx = np.full((n, c) + tuple(out), -1, np.int64)
            y = np.full((n, c) + tuple(out), -np.inf, x.dtype)
            return y if batched else y[0]
        windows = _window_indices(samples, spatial, out, pool)
        flat = x.reshape(n, c, -1)
        vals = np.take_along_axis(flat, windows.reshape(n, c, -1), 2).reshape(windows.shape)
        pick = np.argmax(vals, axis=-1)                     # the first maximum ...
        nan = np.isnan(vals)
        if nan.any():                                       # ... but the last NaN if any
            last_nan = nan.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
            pick = np.where(nan.any(-1), last_nan, pick)
        self.idx = np.take_along_axis(windows, pick[..., None], -1)[..., 0]
        y = np.take_along_axis(vals, pick[..., None], -1)[..., 0]
        return y if batched else y[0]

    def name(self):
        return f"FractionalMaxPool{self.meta[1]}DBackward0"

    def backward(self, g):
        shape = self.meta[0]
        n, c = shape[:2]
        g = g if self.unbatched_shape is None else g[None]
        size = int(np.prod(shape[2:]))
        grad = np.zeros((n * c, size), g.dtype)
        rows = np.repeat(np.arange(n * c), int(np.prod(g.shape[2:])))
        np.add.at(grad, (rows, self.idx.reshape(-1)), g.reshape(-1))
        return (grad.reshape(self.unbatched_shape or shape),)


_AXIS_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _fractional(input, kernel_size, output_size, output_ratio, return_indices,
                _random_samples, nd):
    fn = f"fractional_max_pool{nd}d"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if _random_samples is None and input.dim() < nd + 1:   # the channel axis is read first
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-input.dim()}, {input.dim() - 1}], but got {-nd - 1})")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    many = "tuple of Ints" if nd == 2 else "tuple of three Ints"
    if output_size is None:
        if nd == 2 and len(output_ratio) > 2:
            raise ValueError(f"{fn} requires output_ratio to either be a single Int or tuple "
                             "of Ints.")
        ratio = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) \
            else (output_ratio,) * nd
        output_size = [int(input.shape[-nd + a] * ratio[a]) for a in range(nd)]
    pool = _ints(kernel_size, nd, f"{fn}: kernel_size must either be a single Int or {many}")
    out = _ints(output_size, nd, f"{fn}: output_size must either be a single Int or {many}")
    where = f"{fn}()" if nd == 2 else f"{fn}_out()"
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{where}: Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    batched = input.dim() == nd + 2
    n = input.shape[0] if batched else 1
    c = input.shape[-nd - 1]
    spatial = input.shape[-nd:]
    for name, n_in, o, k in zip(_AXIS_NAMES[nd], spatial, out, pool):
        if o + k - 1 > n_in:
            raise RuntimeError(f"{where}: pool {name} {k} too large relative to input "
                               f"{name} {n_in}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"check_uniform_bounds" not implemented for '
                                  f"'{scalar_type_name(input._data.dtype)}'")
    if _random_samples is None:
        from ... import rand
        _random_samples = rand(n, c, nd, dtype=input.dtype)
    s = _random_samples
    if s.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {s.dim()}")
    if s.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got {s.shape[2]}.")
    if s.shape[0] < n:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if s.shape[1] != c:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if s.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    samples = s._data[:n]
    # the 2-D samples list the width's number first, the 3-D ones go time, height, width
    samples = samples[..., ::-1] if nd == 2 else samples
    y, node = apply_node(_FractionalMaxPoolBackward, (input,), samples, tuple(out),
                         tuple(pool), batched)
    idx = wrap(node.idx if batched else node.idx[0])
    return (y, idx) if return_indices else y


def _ints(value, nd, message):
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (int(value[0]),) * nd
        if len(value) != nd:
            raise RuntimeError(message)
        return tuple(int(v) for v in value)
    return (int(value),) * nd


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """Fractional max-pooling over (N, C, H, W) or (C, H, W) input; returns (output, indices)."""
    return _fractional(input, kernel_size, output_size, output_ratio, True, _random_samples, 2)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max-pooling over (N, C, H, W) or (C, H, W) input."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples, 2)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """Fractional max-pooling over (N, C, T, H, W) or (C, T, H, W) input; returns (output,
    indices)."""
    return _fractional(input, kernel_size, output_size, output_ratio, True, _random_samples, 3)


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):
    """Fractional max-pooling over (N, C, T, H, W) or (C, T, H, W) input."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices,
                       _random_samples, 3)
