"""affine_grid and grid_sample: the sampling grid of an affine transform and the
bilinear or nearest sampling of an image at a grid, as in spatial transformer networks.

Coordinates are unnormalised, clipped and reflected with the same float operations, in the
input's dtype, as PyTorch's CPU kernel, so sampled values agree to the last bits.
"""
import warnings

import numpy as np

from ... import _dtype as D
from ...autograd.function import apply
from ...autograd.node import Node

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                  "old behavior is desired. See the documentation of grid_sample for details.")


def _shape_list(shape):
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


# ---- affine_grid ----------------------------------------------------------------------------
def _linspace_from_neg_one(n, align_corners, dt):
    """n points spread over [-1, 1] (the pixel corners), or their centres without
    align_corners; PyTorch's linspace fills each half from its own end."""
    if n <= 1:
        return np.zeros(1, dt)
    step = np.asarray(2.0 / (n - 1), dt)
    i = np.arange(n)
    half = n // 2
    r = np.where(i < half, np.asarray(-1, dt) + step * i.astype(dt),
                 np.asarray(1, dt) - step * (n - 1 - i).astype(dt)).astype(dt)
    if not align_corners:
        r = (r * np.asarray(n - 1, dt) / np.asarray(n, dt)).astype(dt)
    return r


def affine_grid(theta, size, align_corners=None):
    """The (N, H, W, 2) (or (N, D, H, W, 3)) grid of theta applied to the output's
    normalised pixel coordinates."""
    import fastnn
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size_list = [int(s) for s in size]
    if len(size_list) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size_list[-2:]
    elif len(size_list) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size_list[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      UserWarning, stacklevel=2)
    elif min(size_list) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n = size_list[0]
    k = len(spatial) + 1
    if theta.shape[0] != n:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{n}, {k}] but got: [{theta.shape[0]}, {k}].")
    dt = theta._data.dtype
    # the base grid holds (x, y[, z], 1) per output pixel, x varying fastest
    axes = [_linspace_from_neg_one(s, align_corners, dt) for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    base = np.stack([m for m in reversed(mesh)] + [np.ones(spatial, dt)], -1)
    base = fastnn.tensor(np.ascontiguousarray(base.reshape(-1, k)))
    grid = base.matmul(theta.transpose(1, 2))                 # (N, prod(spatial), k - 1)
    return grid.reshape(n, *spatial, k - 1)


# ---- grid_sample ----------------------------------------------------------------------------
def _source_index(coord, size, padding_mode, align_corners, nan_to_last=False):
    """The pixel coordinate of each normalised one, and its derivative.

    With border or reflection padding a NaN coordinate (and an infinite one under
    reflection, which the folding turns into NaN) lands on pixel 0 with a zero derivative,
    so the sampled value stays finite; PyTorch's 5-D kernel puts it on the last pixel
    instead (nan_to_last)."""
    with np.errstate(invalid="ignore"):
        return _padded_source_index(coord, size, padding_mode, align_corners, nan_to_last)


def _lost_in_padding(coord, size, padding_mode, align_corners):
    """Where border or reflection padding meets a coordinate it cannot place (NaN, or
    +-inf under reflection): PyTorch's 5-D backward passes no gradient through them."""
    if padding_mode == "border":
        return np.isnan(coord)
    if padding_mode == "reflection":
        if align_corners and size == 1:          # reflection maps everything to 0
            return np.zeros(coord.shape, bool)
        return ~np.isfinite(coord)
    return None


def _padded_source_index(coord, size, padding_mode, align_corners, nan_to_last):
    dt = coord.dtype
    one = dt.type(1)
    if align_corners:
        scale, low, twice_span = dt.type((size - 1) / 2), dt.type(0), dt.type((size - 1) * 2)
        x = (coord + one) * scale
    else:
        scale, low, twice_span = dt.type(size / 2), dt.type(-0.5), dt.type(size * 2)
        x = (coord + one) * scale - dt.type(0.5)
    mult = np.full(x.shape, scale, dt)
    if padding_mode == "reflection":
        if twice_span == 0:
            x, mult = np.zeros_like(x), np.zeros_like(x)
        else:
            shifted = x - low
            neg = shifted < 0
            a = np.abs(shifted)
            flips = np.trunc(a / twice_span)
            extra = a - flips * twice_span
            reflected = twice_span - extra
            more = extra > reflected
            x = (np.minimum(extra, reflected) + low).astype(dt, copy=False)
            mult = mult * np.where(more ^ neg, dt.type(-1), one)
    if padding_mode in ("border", "reflection"):
        top = dt.type(size - 1)
        if nan_to_last:
            lo = np.maximum(x, dt.type(0))
            x = np.fmin(lo, top)                 # fmin: NaN becomes top
        else:
            lo = np.fmax(x, dt.type(0))          # fmax: NaN becomes 0
            x = np.minimum(lo, top)
        inside = (lo != 0) & (lo < top)          # the borders count as outside
        mult = mult * inside
    return x, mult


def _inside(i, size):
    return (i > -1) & (i < size)


class GridSampler2DBackward0(Node):
    def forward(self, x, grid, mode, padding_mode, align_corners):
        n, c, h, w = x.shape
        gx, mx = _source_index(grid[..., 0], w, padding_mode, align_corners)
        gy, my = _source_index(grid[..., 1], h, padding_mode, align_corners)
        self.meta = (x.shape, mode)
        # for create_graph=True, which redoes this forward in Tensor ops (grid_sample_grad)
        self.sampled, self.options = (x, grid), (mode, padding_mode, align_corners)
        flat = x.reshape(n, c, h * w)
        if mode == "nearest":
            ix, iy = np.round(gx).astype(np.int64), np.round(gy).astype(np.int64)
            corners = [(iy, ix, np.ones_like(gx))]
        else:
            x0, y0 = np.floor(gx), np.floor(gy)
            we, ns = gx - x0, gy - y0
            ew, sn = 1 - we, 1 - ns
            ix, iy = x0.astype(np.int64), y0.astype(np.int64)
            corners = [(iy, ix, sn * ew), (iy, ix + 1, sn * we), (iy + 1, ix, ns * ew),
                       (iy + 1, ix + 1, ns * we)]
        out = np.zeros((n, c) + gx.shape[1:], x.dtype)
        points = int(np.prod(gx.shape[1:]))    # explicit: -1 fails on an empty batch
        taken = []
        for yy, xx, wt in corners:
            ok = _inside(yy, h) & _inside(xx, w)
            idx = np.where(ok, yy * w + xx, 0).reshape(n, 1, points)
            vals = np.take_along_axis(flat, np.broadcast_to(idx, (n, c, idx.shape[2])), 2)
            vals = vals.reshape(out.shape) * ok[:, None]
            out += vals * wt[:, None]
            taken.append((idx, ok, wt, vals))
        self.save(taken)
        self.geom = (mx, my, gx, gy)
        return out

    def backward(self, g):
        (taken,) = self.saved
        (n, c, h, w), mode = self.meta
        mx, my, gx, gy = self.geom
        g_in = g_grid = None
        if self.needs(0):
            hw = h * w
            base = (np.arange(n)[:, None, None] * c + np.arange(c)[None, :, None]) * hw
            total = np.zeros(n * c * hw, np.float64)
            for idx, ok, wt, _ in taken:
                contrib = g * (wt * ok)[:, None]
                total += np.bincount((base + idx).reshape(-1), contrib.reshape(-1),
                                     minlength=total.size)
            g_in = total.reshape(n, c, h, w).astype(g.dtype)
        if self.needs(1):
            if mode == "nearest":
                g_grid = np.zeros(gx.shape + (2,), g.dtype)
            else:
                (_, _, _, nw), (_, _, _, ne), (_, _, _, sw), (_, _, _, se) = taken
                x0, y0 = np.floor(gx), np.floor(gy)
                we, ns = (gx - x0)[:, None], (gy - y0)[:, None]
                ew, sn = 1 - we, 1 - ns
                dx = ((-nw * sn + ne * sn - sw * ns + se * ns) * g).sum(1)
                dy = ((-nw * ew - ne * we + sw * ew + se * we) * g).sum(1)
                g_grid = np.stack([dx * mx, dy * my], -1).astype(g.dtype)
        return g_in, g_grid


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample the (N, C, H, W) input at the (N, Ho, Wo, 2) grid of normalised (x, y), or the
    (N, C, D, H, W) input at the (N, Do, Ho, Wo, 3) grid of normalised (x, y, z)."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, UserWarning, stacklevel=2)
        align_corners = False
    x, gr = input._data, grid._data
    ins, gs = _shape_list(x.shape), _shape_list(gr.shape)
    if x.ndim and gr.ndim and x.shape[0] != gr.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {ins} and grid with sizes {gs}")
    if gr.ndim and gr.shape[-1] != x.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {x.ndim - 2} in last "
                           f"dimension, but got grid with sizes {gs}")
    for i in range(2, x.ndim):
        if x.shape[i] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {ins} with dimension {i} being "
                               f"empty")
    if not (x.ndim in (4, 5) and gr.ndim == x.ndim):
        raise RuntimeError(f"grid_sampler(): expected {4 if x.ndim == 4 else 5}D input and grid "
                           f"with same number of dimensions, but got input with sizes {ins} and "
                           f"grid with sizes {gs}")
    if mode == "bicubic" and x.ndim != 4:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if gr.dtype != x.dtype:
        raise RuntimeError(f"expected scalar type {D.scalar_type_name(x.dtype)} but found "
                           f"{D.scalar_type_name(gr.dtype)}")
    if x.dtype.kind != "f":
        raise NotImplementedError(f'"grid_sampler_2d_cpu_kernel_impl" not implemented for '
                                  f"'{D.scalar_type_name(x.dtype)}'")
    if x.ndim == 5 or mode == "bicubic":
        from .grid_sample_nd import _GridSamplerNd     # imported here: it builds on this file
        return apply(_GridSamplerNd, (input, grid), mode, padding_mode, bool(align_corners))
    return apply(GridSampler2DBackward0, (input, grid), mode, padding_mode, bool(align_corners))


__all__ = ["affine_grid", "grid_sample"]

from . import grid_sample_grad  # noqa: E402,F401  (registers the create_graph rule)
