"""Alpha dropout: dropped entries take SELU's saturation value, keeping mean and variance."""
import numpy as np

from ...random import draw_uniform
from ...tensor import Tensor
from .dropout import _check_p
from .misc import type_title, wrap

# the value SELU saturates to at -inf: -scale * alpha
_ALPHA_NEG = -1.7580993408473766


def _alpha(input, p, training, inplace, feature, name):
    _check_p(p)
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 0 or not training or input.numel() == 0:
        return input
    dt = input._data.dtype
    if dt.kind != "f":
        raise RuntimeError("result type Float can't be cast to the desired output type "
                           f"{type_title(dt)}")
    if p == 1:
        zero = wrap(np.zeros((), dt))
        return input.mul_(zero) if inplace else input * zero
    shape = input.shape
    noise_shape = tuple(shape[:2]) + (1,) * (len(shape) - 2) if feature else tuple(shape)
    keep = draw_uniform(noise_shape, dt) >= p
    # dropped entries go to the saturation value, then an affine map restores mean and variance:
    # y = a * (x * keep + alpha' * (1 - keep)) + b
    a = (1.0 - p) * (1.0 + p * _ALPHA_NEG ** 2)
    a = a ** -0.5
    b = -a * _ALPHA_NEG * p
    scale = wrap((keep * a).astype(dt))
    shift = wrap(np.where(keep, b, a * _ALPHA_NEG + b).astype(dt))
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Each element dropped with probability p to SELU's saturation value, then rescaled."""
    return _alpha(input, p, training, inplace, False, "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout with one draw per (sample, channel), shared over the other dims."""
    return _alpha(input, p, training, inplace, True, "feature_alpha_dropout")
