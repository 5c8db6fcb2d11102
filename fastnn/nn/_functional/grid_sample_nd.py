"""grid_sample on 5-D input (trilinear 'bilinear' and 'nearest') and with mode='bicubic' on
4-D input.

Sampling is separable: along each spatial axis every output point reads a few taps (one for
nearest, two for linear, four for bicubic), each with a weight and the weight's derivative by
the pixel coordinate. The output is the sum over every combination of taps (one per axis) of
the product of their weights times the input value there; the input gradient scatters the
same products back, and the grid gradient uses the weight derivative along one axis at a time.
"""
import numpy as np

from ...autograd.node import Node
from .grid_sample import _inside, _lost_in_padding, _source_index

_CUBIC_A = -0.75     # the bicubic convolution constant grid_sample uses


def _unnormalize(coord, size, align_corners):
    """Pixel coordinate of a normalised one (no padding applied) and its derivative."""
    dt = coord.dtype
    if align_corners:
        scale = dt.type((size - 1) / 2)
        return (coord + dt.type(1)) * scale, scale
    scale = dt.type(size / 2)
    return (coord + dt.type(1)) * scale - dt.type(0.5), scale


def _pad_taps(x, size, padding_mode, align_corners):
    """Move integer tap coordinates (as floats) inside the input for border and reflection
    padding: reflect about the edges, then clip."""
    dt = x.dtype
    if padding_mode == "reflection":
        low, twice_span = (0, (size - 1) * 2) if align_corners else (-0.5, size * 2)
        if twice_span == 0:
            x = np.zeros_like(x)
        else:
            a = np.abs(x - dt.type(low))
            extra = a - np.trunc(a / dt.type(twice_span)) * dt.type(twice_span)
            x = np.minimum(extra, dt.type(twice_span) - extra) + dt.type(low)
    if padding_mode in ("border", "reflection"):
        x = np.clip(x, 0, size - 1)
    return x.astype(dt, copy=False)


def _cubic_near(t):      # the weight of the taps at distance |t| < 1
    a = _CUBIC_A
    return ((a + 2) * t - (a + 3)) * t * t + 1


def _cubic_far(t):       # the weight of the taps at distance 1 <= |t| < 2
    a = _CUBIC_A
    return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a


def _cubic_near_slope(t):
    a = _CUBIC_A
    return (3 * (a + 2) * t - 2 * (a + 3)) * t


def _cubic_far_slope(t):
    a = _CUBIC_A
    return (3 * a * t - 10 * a) * t + 8 * a


def _axis_taps(coord, size, mode, padding_mode, align_corners):
    """Taps along one axis: ([(index, in_bounds, weight, d weight / d pixel)], d pixel /
    d normalised coordinate)."""
    dt = coord.dtype
    if mode == "bicubic":
        x, mult = _unnormalize(coord, size, align_corners)
        base = np.floor(x)
        t = x - base
        weights = (_cubic_far(t + 1), _cubic_near(t), _cubic_near(1 - t), _cubic_far(2 - t))
        slopes = (_cubic_far_slope(t + 1), _cubic_near_slope(t), -_cubic_near_slope(1 - t),
                  -_cubic_far_slope(2 - t))
        taps = []
        for k in range(4):
            pos = _pad_taps(base + dt.type(k - 1), size, padding_mode, align_corners)
            i = pos.astype(np.int64)
            taps.append((i, _inside(i, size), weights[k].astype(dt),
                         slopes[k].astype(dt)))
        return taps, np.full(coord.shape, mult, dt)
    x, mult = _source_index(coord, size, padding_mode, align_corners, nan_to_last=True)
    if mode == "nearest":
        i = np.round(x).astype(np.int64)
        one = np.ones_like(x)
        return [(i, _inside(i, size), one, np.zeros_like(x))], mult
    base = np.floor(x)
    i = base.astype(np.int64)
    frac = x - base
    return [(i, _inside(i, size), 1 - frac, -np.ones_like(x)),
            (i + 1, _inside(i + 1, size), frac, np.ones_like(x))], mult


def _combinations(per_axis):
    """Every choice of one tap per axis, as lists of (axis, tap)."""
    combos = [[]]
    for a, taps in enumerate(per_axis):
        combos = [c + [(a, t)] for c in combos for t in taps]
    return combos


class _GridSamplerNd(Node):
    """grid_sample over D = 2 or 3 spatial axes for the modes the 2-D node does not cover."""

    def forward(self, x, grid, mode, padding_mode, align_corners):
        n, c, *spatial = x.shape
        nd = len(spatial)
        self.sampled, self.options = (x, grid), (mode, padding_mode, align_corners)
        # grid[..., 0] addresses the last spatial axis (W), grid[..., 1] the one before, ...
        per_axis, mults = [], []
        lost = None          # points whose gradient PyTorch drops (see _lost_in_padding)
        for a in range(nd):
            taps, mult = _axis_taps(grid[..., nd - 1 - a], spatial[a], mode, padding_mode,
                                    align_corners)
            per_axis.append(taps)
            mults.append(mult)
            if mode != "bicubic":
                axis_lost = _lost_in_padding(grid[..., nd - 1 - a], spatial[a], padding_mode,
                                             align_corners)
                if axis_lost is not None and axis_lost.any():
                    lost = axis_lost if lost is None else lost | axis_lost
        self.lost = lost
        flat = x.reshape(n, c, int(np.prod(spatial)))     # explicit sizes: N may be 0
        out_shape = (n, c) + grid.shape[1:-1]
        points = int(np.prod(grid.shape[1:-1]))
        out = np.zeros(out_shape, x.dtype)
        taken = []
        for combo in _combinations(per_axis):
            ok = np.ones(grid.shape[:-1], bool)
            lin = np.zeros(grid.shape[:-1], np.int64)
            weight = np.ones(grid.shape[:-1], x.dtype)
            for a, (i, inside, w, _) in combo:
                ok &= inside
                lin = lin * spatial[a] + i
                weight = weight * w
            lin = np.where(ok, lin, 0).reshape(n, 1, points)
            vals = np.take_along_axis(flat, np.broadcast_to(lin, (n, c, lin.shape[2])), 2)
            vals = vals.reshape(out_shape) * ok[:, None]
            out += vals * weight[:, None]
            taken.append((combo, lin, ok, weight, vals))
        self.save(taken)
        self.meta = (x.shape, nd, mults)
        return out

    def name(self):
        return f"GridSampler{self.meta[1]}DBackward0"

    def backward(self, g):
        (taken,) = self.saved
        shape, nd, mults = self.meta
        n, c = shape[:2]
        g_in = g_grid = None
        if self.needs(0):
            size = int(np.prod(shape[2:]))
            base = (np.arange(n)[:, None, None] * c + np.arange(c)[None, :, None]) * size
            total = np.zeros(n * c * size, np.float64)
            for _, lin, ok, weight, _ in taken:
                if self.lost is not None:
                    ok = ok & ~self.lost
                contrib = (g * (weight * ok)[:, None]).reshape(n, c, lin.shape[2])
                total += np.bincount((base + lin).reshape(-1), contrib.reshape(-1),
                                     minlength=total.size)
            g_in = total.reshape(shape).astype(g.dtype)
        if self.needs(1):
            g_grid = np.zeros(g.shape[:1] + g.shape[2:] + (nd,), g.dtype)
            for combo, _, _, _, vals in taken:
                seen = (vals * g).sum(1)
                for a in range(nd):
                    slope = np.ones_like(seen)
                    for b, (_, _, w, dw) in combo:
                        slope = slope * (dw if b == a else w)
                    g_grid[..., nd - 1 - a] += seen * slope
            for a in range(nd):
                g_grid[..., nd - 1 - a] *= mults[a]
            if self.lost is not None:
                g_grid[self.lost] = 0
        return g_in, g_grid
