"""interpolate on integer images: uint8 input for the nearest modes (any dimension) and for
bilinear / bicubic on 4-D input (with or without antialias), as image pipelines resize them.

Bilinear and bicubic resample one axis at a time, width first, skipping axes whose size is
unchanged. Each pass turns the axis's float weights into 16-bit fixed point (as many fraction
bits as the largest weight allows), sums in integers, rounds half up and saturates to
[0, 255], so the intermediate image is uint8 like the result. The float plans are the same as
the float path's, in double precision.
"""
import numpy as np

from ... import _dtype as D

_FRACTION_LIMIT = 22      # at most this many fraction bits
_WEIGHT_LIMIT = 1 << 15   # fixed-point weights stay within int16


def _fixed_point(matrix):
    """(int weights, fraction bits) of an (out, in) float weight matrix."""
    largest = float(matrix.max()) if matrix.size else 0.0
    bits = 0
    while bits < _FRACTION_LIMIT and int(0.5 + largest * (1 << (bits + 1))) < _WEIGHT_LIMIT:
        bits += 1
    scaled = matrix * (1 << bits)
    # round half away from zero, as a C cast of v +- 0.5 does
    return np.trunc(np.where(scaled < 0, scaled - 0.5, scaled + 0.5)).astype(np.int64), bits


def resize_uint8(x, mode, out, align_corners, scales, antialias):
    """Bilinear or bicubic resize of a (N, C, H, W) uint8 array to out = (Ho, Wo)."""
    from .upsampling import _axis_plan, _matrix     # imported here: upsampling imports us
    y = x.astype(np.int64)
    for ax in (3, 2):
        n_in, n_out = x.shape[ax], out[ax - 2]
        if n_in == n_out:
            continue
        idx, w = _axis_plan(mode, n_in, n_out, align_corners, scales[ax - 2], np.float64,
                            antialias, 2)
        weights, bits = _fixed_point(_matrix(n_in, idx, w, np.float64))
        acc = np.matmul(np.moveaxis(y, ax, -1), weights.T)
        half = (1 << (bits - 1)) if bits else 0
        y = np.moveaxis(np.clip((acc + half) >> bits, 0, 255), -1, ax)
    return np.ascontiguousarray(y, dtype=np.uint8)


def unsupported_kernel(mode, n_spatial, antialias):
    """The name of the kernel PyTorch reports as not implemented for a dtype."""
    if antialias:
        return "compute_index_ranges_weights"
    if mode in ("nearest", "nearest-exact"):
        return ("upsample_nearest2d_channels_last" if n_spatial == 2 else
                "compute_indices_weights_nearest")
    if mode == "bilinear":
        return "upsample_bilinear2d_channels_last"
    if mode == "bicubic":
        return "compute_indices_weights_cubic"
    return "compute_indices_weights_linear"


def check_integer_input(x, mode, n_spatial, antialias):
    """Raise as PyTorch does for the integer inputs interpolate cannot resize; return
    whether x is a supported uint8 image."""
    if x.dtype.kind == "f":
        return False
    if x.dtype == np.uint8 and mode in ("nearest", "nearest-exact", "bilinear", "bicubic"):
        return True
    raise NotImplementedError(f'"{unsupported_kernel(mode, n_spatial, antialias)}" not '
                              f"implemented for '{D.scalar_type_name(x.dtype)}'")
