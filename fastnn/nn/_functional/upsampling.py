"""interpolate (nearest, nearest-exact, linear, bilinear, bicubic, area, antialiased
bilinear/bicubic), pixel_shuffle and pixel_unshuffle.

Resampling is separable: along each spatial axis every output position reads one (nearest),
two (linear), four (bicubic) or a few (antialiased) input positions, so the forward is one
gather per tap and axis, and the backward multiplies the gradient by the transposed (out, in)
weight matrix of each axis. Source positions are computed as PyTorch does, in the input's
float precision; the bicubic and antialiased plans live in upsampling_cubic.py.
"""
import math
import operator
import warnings

import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node
from ...autograd.ops_math import name_by_use, relabel
from ...tensor import Tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
from .pooling_extra import adaptive_avg_pool3d
from .upsampling_cubic import antialias_plan, cubic_plan
from .upsampling_uint8 import check_integer_input, resize_uint8


def _scale(n_in, n_out, align_corners, scale, dt):
    """The source step per output position along one axis, in dtype dt."""
    if align_corners:
        return dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
    if scale is not None and scale > 0:
        return dt(1.0 / scale)
    return dt(n_in) / dt(n_out)


def _copies_same_size(mode, n_spatial):
    """Whether an axis whose size is unchanged is copied whatever the scale_factor.

    PyTorch copies such an axis for the linear family and 2-D nearest, but resamples it with
    the given scale for 1-D/3-D nearest, nearest-exact and bicubic."""
    return mode in ("linear", "bilinear", "trilinear") or mode == "nearest" and n_spatial == 2


def _axis_plan(mode, n_in, n_out, align_corners, scale, dt, antialias=False, n_spatial=2):
    """(indices, weights) along one axis: output i = sum_k w[k][i] * input[idx[k][i]]."""
    if n_in == n_out and not antialias and _copies_same_size(mode, n_spatial):
        return (np.arange(n_out),), None
    if antialias:
        return antialias_plan(mode, n_in, n_out, _scale(n_in, n_out, align_corners, scale, dt),
                              dt)
    if mode == "bicubic":
        return cubic_plan(n_in, n_out, _scale(n_in, n_out, align_corners, scale, dt),
                          align_corners, dt)
    dst = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        if mode == "nearest" and n_out == 2 * n_in:    # PyTorch's shortcut, whatever the scale
            return (dst >> 1,), None
        s = _scale(n_in, n_out, False, scale, np.float32)
        pos = dst.astype(np.float32) + (np.float32(0.5) if mode == "nearest-exact" else 0)
        return (np.minimum(np.floor(pos * s).astype(np.int64), n_in - 1),), None
    s = _scale(n_in, n_out, align_corners, scale, dt)
    d = dst.astype(dt)
    src = s * d if align_corners else np.maximum(s * (d + dt(0.5)) - dt(0.5), dt(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam1 = np.clip(src - i0.astype(dt), 0, 1).astype(dt)
    i1 = i0 + (i0 < n_in - 1)
    return (i0, i1), (1 - lam1, lam1)


def _matrix(n_in, idx, weights, dt):
    m = np.zeros((len(idx[0]), n_in), dt)
    rows = np.arange(len(idx[0]))
    for k, ix in enumerate(idx):
        np.add.at(m, (rows, ix), 1 if weights is None else weights[k])
    return m


_TAGS = {"nearest": "Nearest", "nearest-exact": "NearestExact", "bicubic": "Bicubic"}


class _UpsampleBackward(Node):
    """One weighted gather per tap (1 nearest, 2 linear, 4 bicubic) per spatial axis."""

    def forward(self, x, mode, out, align_corners, scales, antialias=False):
        self.tag = _TAGS.get(mode, ("Linear", "Bilinear", "Trilinear")[x.ndim - 3])
        self.aa = "Aa" if antialias else ""
        dt = x.dtype.type
        self.plans = []
        y = x
        for a, (n_in, n_out, sc) in enumerate(zip(x.shape[2:], out, scales)):
            ax = 2 + a
            idx, w = _axis_plan(mode, n_in, n_out, align_corners, sc, dt, antialias,
                                len(out))
            # the backward is the exact transpose of this forward, also where PyTorch's own
            # backward departs from its forward (axes of unchanged size under 1-D/3-D nearest,
            # bicubic or antialias)
            self.plans.append((ax, n_in, idx, w))
            if w is None:
                y = np.take(y, idx[0], axis=ax)
            else:
                shape = (-1,) + (1,) * (x.ndim - 1 - ax)
                acc = np.take(y, idx[0], axis=ax) * w[0].reshape(shape)
                for ix, wk in zip(idx[1:], w[1:]):
                    acc += np.take(y, ix, axis=ax) * wk.reshape(shape)
                y = acc
        name_by_use(self)
        return np.ascontiguousarray(y, dtype=x.dtype)

    def name(self):
        return f"Upsample{self.tag}{len(self.plans)}D{self.aa}Backward0"

    def backward(self, g):
        dt = g.dtype
        for ax, n_in, idx, w in reversed(self.plans):
            m = _matrix(n_in, idx, w, dt)                     # (out, in)
            g = np.moveaxis(np.matmul(np.moveaxis(g, ax, -1), m), -1, ax)
        return (np.ascontiguousarray(g, dtype=dt),)


_SIZE_FORMAT = {"output": ("output size", "(o1, o2, ...,oK)", "output size of"),
                "scale": ("scale_factor", "(s1, s2, ...,sK)", "scale_factor of shape")}


def _per_dim(value, dim, input, kind):
    if isinstance(value, (list, tuple)):
        if len(value) != dim:
            what, fmt, of = _SIZE_FORMAT[kind]
            first = "Input and output" if kind == "output" else "Input and scale_factor"
            raise ValueError(f"{first} must have the same number of spatial dimensions, but "
                             f"got input with spatial dimensions of {list(input.shape[2:])} "
                             f"and {of} {value}. Please provide input tensor in (N, C, d1, d2, "
                             f"...,dK) format and {what} in {fmt} format.")
        return list(value)
    return [value] * dim


def _is_int(v):
    try:
        operator.index(v)
        return True
    except TypeError:
        return False


def _check_size_types(size, mode, dim):
    """PyTorch's TypeErrors for an output size that is not made of ints."""
    if isinstance(size, (list, tuple)):
        if not all(_is_int(v) for v in size):
            raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                            "Tuple[int, int, int], but got size with types "
                            f"{[type(v) for v in size]}")
        bad = any(isinstance(v, bool) for v in size)
    else:
        bad = isinstance(size, bool) or not _is_int(size)
    if bad and mode == "area":
        raise TypeError(f"adaptive_avg_pool{dim}d(): argument 'output_size' (position 2) must "
                        f"be tuple of ints, but found element of type {type(size).__name__} "
                        "at pos 0")
    if bad:
        kernel = {"nearest-exact": f"_upsample_nearest_exact{dim}d"}.get(
            mode, f"upsample_{mode}{dim}d")
        raise TypeError(f"{kernel}() received an invalid combination of arguments - the output "
                        f"size must be a tuple of ints, but got {size!r}")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size`` or by
    ``scale_factor``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        _check_size_types(size, mode, dim)
        output_size, scales = [int(v) for v in _per_dim(size, dim, input, "output")], None
    elif scale_factor is not None:
        output_size, scales = None, [float(v) for v in _per_dim(scale_factor, dim, input,
                                                                "scale")]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and output_size is None:
        recompute_scale_factor = True
    if scales is not None:
        output_size = [math.floor(float(n) * s) for n, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor:
            scales = None
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                         "modes and requires a 4-D tensor as input")
    wants = {"linear": 3, "bilinear": 4, "trilinear": 5}
    if mode in ("nearest", "nearest-exact", "area") and input.dim() in (3, 4, 5) or \
            wants.get(mode) == input.dim() or mode == "bicubic" and input.dim() == 4:
        if mode != "area" and any(n <= 0 for n in list(output_size) + list(input.shape[2:])):
            names = ("D", "H", "W")[3 - dim:]
            text = lambda sizes: ", ".join(f"{a}: {v}" for a, v in zip(names, sizes))  # noqa
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got "
                               f"input ({text(input.shape[2:])}){' and' if dim == 1 else ''} "
                               f"output ({text(output_size)})")
        if mode == "area":
            pool = (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1]
            return pool(input, output_size)
        if check_integer_input(input._data, mode, dim, antialias) and \
                mode in ("bilinear", "bicubic"):
            from ...tensor import _wrap
            return _wrap(resize_uint8(input._data, mode, tuple(output_size),
                                      bool(align_corners), scales or (None,) * dim, antialias))
        return apply(_UpsampleBackward, (input,), mode, tuple(output_size),
                     bool(align_corners), tuple(scales) if scales else (None,) * dim,
                     bool(antialias))
    if mode in wants and input.dim() in (3, 4, 5):
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                  f"{wants[mode]}D input")
    if input.dim() == 5 and mode != "bicubic" or mode in ("trilinear", "lanczos"):
        raise NotImplementedError(f"fastnn's interpolate does not support mode '{mode}' on "
                                  f"{input.dim()}D input")
    raise NotImplementedError("Input Error: Only 3D, 4D and 5D input Tensors supported"
                              f" (got {input.dim()}D) for the modes: nearest | linear | "
                              "bilinear | bicubic | trilinear | lanczos | area | nearest-exact"
                              f" (got {mode})")


def _deprecated(name):
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", UserWarning, stacklevel=3)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- pixel shuffle --------------------------------------------------------------------------
def _unshared(out, input):
    """``out``, or a copy of it when it is still a view of ``input``: a shuffle that moves
    nothing (factor 1, 1x1 pixels, one channel per group) comes out of ``reshape`` as a view,
    and writes to the result must not reach ``input``. A real shuffle copies already, and a
    fresh buffer never starts where a live input does."""
    if out.data_ptr() != input.data_ptr() or not out.numel():
        return out
    from ..._tensor_layout import channels_last, contiguous_format
    keep_channels_last = out.dim() == 4 and not input.is_contiguous() and \
        input.is_contiguous(memory_format=channels_last)
    name = out.grad_fn.name() if out.grad_fn is not None else None
    out = out.clone(memory_format=channels_last if keep_channels_last else contiguous_format)
    return out if name is None else relabel(out, name)


def pixel_shuffle(input, upscale_factor):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    k = len(lead)
    y = input.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return relabel(_unshared(y.reshape(*lead, c // (r * r), h * r, w * r), input),
                   "PixelShuffleBackward0")


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError("pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError("pixel_unshuffle expects height to be divisible by downscale_factor, "
                           f"but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError("pixel_unshuffle expects width to be divisible by downscale_factor, "
                           f"but input.size(-1)={w} is not divisible by {r}")
    k = len(lead)
    y = input.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return relabel(_unshared(y.reshape(*lead, c * r * r, h // r, w // r), input),
                   "PixelUnshuffleBackward0")


def channel_shuffle(input, groups):
    """(N, g*m, *) -> (N, m*g, *): channel i*m + j moves to j*g + i."""
    g = int(groups)
    if input.dim() <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    if g <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. Value of "
                           f"groups:{g}")
    n, c, *rest = input.shape
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {g} groups.")
    y = input.reshape(n, g, c // g, *rest).transpose(1, 2)
    return relabel(_unshared(y.reshape(n, c, *rest), input), "ChannelShuffleBackward0")
