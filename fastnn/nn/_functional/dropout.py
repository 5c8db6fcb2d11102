"""Dropout: inverted scaling in training, identity in eval; masks come from fastnn's generator,
so ``fastnn.manual_seed`` reproduces them."""
import warnings

import numpy as np

from ...random import draw_uniform
from ...tensor import Tensor
from .misc import type_title, wrap


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _mask(shape, dtype, p):
    """Kept entries scaled by 1/(1-p), dropped ones 0 (all 0 when p == 1)."""
    u = draw_uniform(shape, dtype)
    keep = u >= p
    if p == 1.0:
        return np.zeros(shape, dtype)
    return keep.astype(dtype) * np.asarray(1.0 / (1.0 - p), dtype)


def _apply_mask(input, mask_shape, p, inplace):
    if not isinstance(input, Tensor):
        raise TypeError(f"dropout(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    dt = input._data.dtype
    if dt.kind != "f":
        raise RuntimeError("result type Float can't be cast to the desired output type "
                           f"{type_title(dt)}")
    if type(input._data) is np.ndarray:
        mask = wrap(_mask(mask_shape, dt, p))
    else:  # drawn on the GPU from its own seeded stream
        from ...cuda._nn import dropout_mask
        mask = wrap(dropout_mask(mask_shape, dt, p))
    return input.mul_(mask) if inplace else input * mask


def dropout(input, p=0.5, training=True, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _apply_mask(input, input._data.shape, p, inplace)


def _feature_dropout(input, p, training, inplace, nd, name):
    _check_p(p)
    shape = input._data.shape
    if name == "dropout2d" and len(shape) in (2, 3):
        warnings.warn(_DROPOUT2D_WARN[len(shape)], UserWarning, stacklevel=3)
        lead = 2 if len(shape) == 3 else len(shape)
    elif len(shape) in (nd + 1, nd + 2):
        lead = 1 if len(shape) == nd + 1 else 2
    else:
        raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D input, but received a "
                           f"{len(shape)}D input. Note that {name} exists to provide "
                           f"channel-wise dropout on inputs with {nd} spatial dimension"
                           f"{'s' if nd > 1 else ''}, a channel dimension, and an optional batch "
                           f"dimension (i.e. {nd + 1}D or {nd + 2}D inputs).")
    if not training or p == 0.0:
        return input
    # one draw per channel, broadcast over the spatial dims
    mask_shape = shape[:lead] + (1,) * (len(shape) - lead)
    return _apply_mask(input, mask_shape, p, inplace)


_DROPOUT2D_WARN = {
    3: "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
       "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel "
       "dim. This behavior will change in a future release to interpret the input as one "
       "without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
       "dropout behavior, please switch to using dropout1d instead.",
    2: "dropout2d: Received a 2-D input to dropout2d, which is deprecated and will result in an "
       "error in a future release. To retain the behavior and silence this warning, please use "
       "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs "
       "with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. "
       "3D or 4D inputs).",
}


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _feature_dropout(input, p, training, inplace, 3, "dropout3d")
