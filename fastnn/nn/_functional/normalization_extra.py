"""RMS normalization and local response normalization, composed of differentiable ops."""
import numbers

import numpy as np

from ...autograd.out_layout import is_channels_last
from ...tensor import Tensor
from .misc import pad
from .pooling import avg_pool2d


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / sqrt(mean(x^2 over the trailing normalized dims) + eps) * weight."""
    if not isinstance(input, Tensor):
        raise TypeError(f"rms_norm(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    shape_n = tuple(int(s) for s in normalized_shape)
    k = len(shape_n)
    shape = tuple(input.shape)
    if k == 0 or k > len(shape) or shape[len(shape) - k:] != shape_n:
        raise RuntimeError(f"Given normalized_shape={list(shape_n)}, expected input with shape "
                           f"[*{', '.join(map(str, shape_n))}], but got input of size"
                           f"{list(shape)}")
    if weight is not None and tuple(weight.shape) != shape_n:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got "
                           f"weight of shape {list(weight.shape)} and normalized_shape = "
                           f"{list(shape_n)}")
    dt = input._data.dtype
    # float16 is normalised in float32 (its default eps too) and the result cast back; the
    # result always has the input's dtype, whatever the weight's
    x = input.float() if dt == np.float16 else input
    if eps is None:
        xdt = x._data.dtype
        eps = float(np.finfo(xdt if xdt.kind == "f" else np.float32).eps)
    dims = tuple(range(len(shape) - k, len(shape)))
    y = x * (x * x).mean(dims, keepdim=True).add(eps).rsqrt()
    if weight is not None:
        y = y * weight
    if y.dtype != input.dtype:
        y = y.to(input.dtype)
    # C-contiguous like PyTorch's result, or channels-last for a channels-last input
    if is_channels_last(input._data):
        from ..._tensor_layout import channels_last, channels_last_3d
        return y.contiguous(memory_format=channels_last if y.dim() == 4 else channels_last_3d)
    return y if y._data.flags.c_contiguous else y.contiguous()


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """y = x / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    n, c = input.shape[0], input.shape[1]
    # channels as the height of a one-channel image, the other dims flattened into its width
    sq = (input * input).reshape(n, 1, c, -1)
    sq = pad(sq, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(sq, (size, 1), stride=1).reshape(input.shape)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div
