"""Higher-order gradients of grid_sample (create_graph=True).

The rule redoes grid_sample's forward in differentiable Tensor ops and differentiates that:
the tap positions and in-bounds masks come from the first forward (they are piecewise
constant in the grid), the values are gathered from the input, and the tap weights are
polynomials of the pixel coordinate. The pixel coordinate is the grid coordinate times its
derivative (zero where border or reflection padding clips it) plus a constant, so padding is
piecewise linear here too, and the gradients agree with the first-order backward.
"""
import itertools

import numpy as np

from ...autograd.higher_order import _const, _input, recompute, rule
from .grid_sample import GridSampler2DBackward0, _inside, _lost_in_padding, _source_index
from .grid_sample_nd import (_CUBIC_A, _GridSamplerNd, _pad_taps, _unnormalize)


def _pixel_coordinate(coord, coord_np, pixel_np, slope):
    """A Tensor equal to pixel_np whose derivative by coord is slope."""
    slope = np.broadcast_to(np.asarray(slope, coord_np.dtype), coord_np.shape)
    moving = slope != 0
    with np.errstate(invalid="ignore"):
        offset = np.where(moving, pixel_np - np.where(moving, coord_np, 0) * slope, pixel_np)
    # masked first: a NaN coordinate (slope 0) must not leak into the weights
    still = coord.masked_fill(_const(~moving), 0)
    return still * _const(slope.astype(coord_np.dtype)) + _const(offset.astype(coord_np.dtype))


def _cubic_weights(t):
    """The four bicubic weights of taps at floor - 1 .. floor + 2 for fraction t (a Tensor)."""
    a = _CUBIC_A

    def near(u):
        return ((a + 2) * u - (a + 3)) * u * u + 1

    def far(u):
        return ((a * u - 5 * a) * u + 8 * a) * u - 4 * a
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _axis_taps(coord, coord_np, size, mode, padding_mode, align_corners, nd):
    """[(index, in_bounds, weight Tensor or None)] along one axis."""
    if mode == "bicubic":
        pixel_np, slope = _unnormalize(coord_np, size, align_corners)
        pixel = _pixel_coordinate(coord, coord_np, pixel_np, slope)
        base = np.floor(pixel_np)
        t = pixel - _const(base)
        taps = []
        for k, w in enumerate(_cubic_weights(t)):
            i = _pad_taps(base + (k - 1), size, padding_mode, align_corners).astype(np.int64)
            taps.append((i, _inside(i, size), w))
        return taps
    pixel_np, slope = _source_index(coord_np, size, padding_mode, align_corners,
                                    nan_to_last=nd == 3)
    if mode == "nearest":
        i = np.round(pixel_np).astype(np.int64)
        return [(i, _inside(i, size), None)]
    pixel = _pixel_coordinate(coord, coord_np, pixel_np, slope)
    base = np.floor(pixel_np)
    frac = pixel - _const(base)
    i = base.astype(np.int64)
    return [(i, _inside(i, size), 1 - frac), (i + 1, _inside(i + 1, size), frac)]


def _sample(x, grid, mode, padding_mode, align_corners):
    """grid_sample's forward in differentiable Tensor ops."""
    xa, ga = x._data, grid._data
    n, c, *spatial = xa.shape
    nd = len(spatial)
    per_axis = [_axis_taps(grid[..., nd - 1 - a], ga[..., nd - 1 - a], spatial[a], mode,
                           padding_mode, align_corners, nd) for a in range(nd)]
    keep = np.ones(ga.shape[:-1], bool)
    if nd == 3 and mode != "bicubic":        # points whose gradient the 5-D kernel drops
        for a in range(nd):
            lost = _lost_in_padding(ga[..., nd - 1 - a], spatial[a], padding_mode,
                                    align_corners)
            if lost is not None:
                keep &= ~lost
    points = int(np.prod(ga.shape[1:-1]))
    flat = x.reshape(n, c, int(np.prod(spatial)))
    out = None
    for combo in itertools.product(*per_axis):
        ok = keep.copy()
        lin = np.zeros(ga.shape[:-1], np.int64)
        weight = None
        for a, (i, inside, w) in enumerate(combo):
            ok &= inside
            lin = lin * spatial[a] + i
            if w is not None:
                weight = w if weight is None else weight * w
        lin = np.broadcast_to(np.where(ok, lin, 0).reshape(n, 1, points), (n, c, points))
        vals = flat.gather(2, _const(np.ascontiguousarray(lin)))
        vals = vals.reshape(n, c, *ga.shape[1:-1]) * _const(ok[:, None].astype(xa.dtype))
        term = vals if weight is None else vals * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


@rule(GridSampler2DBackward0, _GridSamplerNd)
def _grid_sample_rule(node, g):
    x, grid = node.sampled
    mode, padding_mode, align_corners = node.options
    tensors = [_input(node, 0, x), _input(node, 1, grid)]
    grads = recompute(node, g, tensors,
                      lambda xt, gt: _sample(xt, gt, mode, padding_mode, align_corners))
    if mode == "nearest" and node.needs(1):
        # the grid gradient of nearest is zero, still in the grid's graph (as in PyTorch)
        grads = (grads[0], tensors[1].masked_fill(_const(np.ones(grid.shape, bool)), 0))
    return grads
