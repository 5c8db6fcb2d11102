"""3-d max/average/adaptive pooling, power-average (Lp) pooling and max unpooling.

3-d pooling runs through the N-d helpers of ``pooling``; Lp pooling is composed of
differentiable ops; unpooling scatters each value to the flat plane index max pooling
reported, and its backward gathers from the same places.
"""
import math

import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node
from ...autograd.ops_math import name_by_use
from ...tensor import Tensor
from . import pooling as P
from .activation import relu


def _check_3d(input, kernel_size, stride, padding, fn, avg):
    """The checks PyTorch words differently for 3-d pooling, made before the N-d plan."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if avg and isinstance(kernel_size, (list, tuple)) and len(kernel_size) not in (1, 3):
        raise RuntimeError(f"{fn}: kernel_size must be a single int, or a tuple of three ints")
    k = P._tuple(kernel_size, 3, fn, "kernel_size")
    if any(v < 0 for v in k):
        raise RuntimeError("kernel size should be greater than zero, but got " +
                           " ".join(f"k{a}: {v}" for a, v in zip("THW", k)))
    shape = tuple(input.shape)
    if input.dim() in (4, 5) and any(v == 0 for v in shape[-4:]):
        where = "max_pool3d_with_indices_out_cpu_template" if not avg else fn
        dim = next(i for i, v in enumerate(shape[-4:]) if v == 0)
        raise RuntimeError(f"{where}(): Expected input's non-batch dimensions to have positive "
                           f"length, but input has a shape of {list(shape)} and non-batch "
                           f"dimension {dim} has length zero!")
    if avg and input.dim() in (4, 5) and all(v > 0 for v in k):
        p = P._tuple(padding, 3, fn, "padding")
        if any(n + 2 * pp < kk for n, pp, kk in zip(shape[-3:], p, k)):
            raise RuntimeError("input image (" + " ".join(f"{a}: {n}" for a, n in
                                                          zip("THW", shape[-3:])) +
                               ") smaller than kernel size (" +
                               " ".join(f"k{a}: {v}" for a, v in zip("THW", k)) + ")")


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y[n,c,t,h,w] = max over the (dilated) window; indices are flat in each T*H*W plane."""
    _check_3d(input, kernel_size, stride, padding, "max_pool3d", False)
    return P._max_pool(input, kernel_size, stride, padding, dilation, ceil_mode,
                       return_indices, 3, "max_pool3d")


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return P.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """y = sum over the window / (window volume, padding counted or not, or the override)."""
    _check_3d(input, kernel_size, stride, padding, "avg_pool3d", True)
    return P._avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                       divisor_override, 3, "avg_pool3d")


def adaptive_avg_pool3d(input, output_size):
    """Mean over each of PyTorch's adaptive bins of (N, C, D, H, W) or (C, D, H, W) input."""
    return P._adaptive_avg(input, output_size, 3, "adaptive_avg_pool3d")


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over each adaptive bin; indices are flat in each D*H*W plane."""
    return P._adaptive_max(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """Always (values, indices), as in PyTorch."""
    return adaptive_max_pool3d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    return P.adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    return P.adaptive_max_pool1d(input, output_size, True)


# ---- Lp pooling -----------------------------------------------------------------------------
def _lp(pooled, norm_type, count):
    """(count * mean(x^p))^(1/p); sign(m) * relu(|m|) equals m but, as in PyTorch, passes no
    gradient where m == 0."""
    return (pooled.sign() * relu(pooled.abs())).mul(count).pow(1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """y = (sum over the window of x^p)^(1/p)."""
    k = int(kernel_size[0] if isinstance(kernel_size, (list, tuple)) else kernel_size)
    if norm_type == math.inf:  # the limit of the power mean: the largest |x| of each window
        return P.max_pool1d(input.abs(), k, stride if stride is not None else k, 0, 1, ceil_mode)
    pooled = P.avg_pool1d(input.pow(norm_type), k, stride if stride is not None else k, 0,
                          ceil_mode)
    return _lp(pooled, norm_type, k)


def _lp_nd(input, norm_type, kernel_size, stride, ceil_mode, nd, pool):
    k = kernel_size if isinstance(kernel_size, (list, tuple)) else (kernel_size,) * nd
    if len(k) != nd:
        raise ValueError(f"too many values to unpack (expected {nd})" if len(k) > nd else
                         f"not enough values to unpack (expected {nd}, got {len(k)})")
    if norm_type == math.inf:  # the largest |x| of each window
        max_pool = P.max_pool2d if nd == 2 else max_pool3d
        return max_pool(input.abs(), k, stride if stride is not None else k, 0, 1, ceil_mode)
    pooled = pool(input.pow(norm_type), k, stride if stride is not None else k, 0, ceil_mode)
    return _lp(pooled, norm_type, int(np.prod(k)))


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """y = (sum over the kh x kw window of x^p)^(1/p)."""
    return _lp_nd(input, norm_type, kernel_size, stride, ceil_mode, 2, P.avg_pool2d)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """y = (sum over the kt x kh x kw window of x^p)^(1/p)."""
    return _lp_nd(input, norm_type, kernel_size, stride, ceil_mode, 3, avg_pool3d)


# ---- max unpooling --------------------------------------------------------------------------
class _UnpoolBackward(Node):
    """Values of (N, C, *in) scattered into zeros of (N, C, *out) at flat plane indices."""

    def forward(self, x, idx, out, unbatched):
        if unbatched:  # a batch of one, as PyTorch's unpooling kernels take it
            x, idx = x[None], idx[None]
        self.unbatched = unbatched
        lead = x.shape[:2]
        size = int(np.prod(out))
        plane = int(np.prod(x.shape[2:]))      # explicit: -1 fails on an empty batch
        flat_idx = idx.reshape(lead + (plane,))
        y = np.zeros(lead + (size,), x.dtype)
        np.put_along_axis(y, flat_idx, x.reshape(lead + (plane,)), axis=-1)
        self.idx, self.x_shape, self.nd = flat_idx, x.shape, len(out)
        name_by_use(self)
        y = y.reshape(lead + tuple(out))
        return y[0] if unbatched else y

    def name(self):
        return f"MaxUnpool{self.nd}DBackward0"

    def backward(self, g):
        g = g.reshape(self.x_shape[:2] + (int(np.prod(g.shape[-self.nd:])),))
        gx = np.take_along_axis(g, self.idx, axis=-1).reshape(self.x_shape)
        return (gx[0] if self.unbatched else gx,)


def _unpool_size(in_spatial, k, s, p, output_size, nd):
    default = [(n - 1) * ss - 2 * pp + kk for n, kk, ss, pp in zip(in_spatial, k, s, p)]
    if output_size is None:
        return tuple(default)
    given = output_size
    if len(given) == nd + 2:
        given = given[2:]
    if len(given) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                         f"elements, but it has a length of '{len(given)}'")
    for d, (want, base, ss) in enumerate(zip(given, default, s)):
        if not base - ss < want < base + ss:
            raise ValueError(f'invalid output_size "{given}" (dim {d} must be between '
                             f"{base - ss} and {base + ss})")
    return tuple(int(v) for v in given)


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, nd, fn):
    k = P._tuple(kernel_size, nd, fn, "kernel_size")
    s = k if stride is None else P._tuple(stride, nd, fn, "stride")
    p = P._tuple(padding, nd, fn, "padding")
    if indices._data.dtype != np.int64:
        from ..._dtype import scalar_type_name
        raise RuntimeError("elements in indices should be type int64 but got: "
                           f"{scalar_type_name(indices._data.dtype)}")
    # PyTorch runs 1-d unpooling as 2-d, hence its wording
    kd = max(nd, 2)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Input to max_unpooling{kd}d should be a {kd + 1}d or {kd + 2}d "
                           f"Tensor, but got a tensor with {input.dim() + (nd == 1)} "
                           "dimensions.")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError("Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    out = _unpool_size(input.shape[-nd:], k, s, p, output_size, nd)
    idx = indices._data
    size = int(np.prod(out))
    bad = (idx < 0) | (idx >= size)
    if bad.any():
        dims = "x".join(map(str, out + ((1,) if nd == 1 else ())))
        raise RuntimeError(f"Found an invalid max index: {int(idx[bad].ravel()[0])} (output "
                           f"volumes are of size {dims})")
    return apply(_UnpoolBackward, (input,), idx, out, input.dim() == nd + 1)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool1d: each value placed at its index, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1,
                       "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool2d: each value placed at its flat H*W index, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2,
                       "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Inverse of max_pool3d: each value placed at its flat T*H*W index, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3,
                       "max_unpool3d")
