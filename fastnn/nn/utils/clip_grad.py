"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (PyTorch's semantics)."""
import math
import types
import warnings

import numpy as np

from ..._fp_quiet import quietly
from ...tensor import Tensor, _wrap

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]


def _as_list(tensors):
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x, p):
    """torch.linalg.vector_norm of a flat array, in the array's dtype."""
    if x.dtype == np.float16:
        # Half precision accumulates in float32 (squares of values above ~256 overflow
        # float16); only the finished norm is rounded back to half.
        return _vector_norm(x.astype(np.float32), p).astype(np.float16)
    if x.size == 0:
        return x.dtype.type(0)
    if p == 2:
        x = x.ravel() if x.flags.c_contiguous else np.ascontiguousarray(x).ravel()
        return np.sqrt(np.dot(x, x))
    a = np.abs(x)
    if p == math.inf:
        return a.max()
    if p == -math.inf:
        return a.min()
    if p == 0:
        return x.dtype.type(np.count_nonzero(x))
    if p == 1:
        return a.sum(dtype=x.dtype)
    return np.power(np.power(a, x.dtype.type(p)).sum(dtype=x.dtype), x.dtype.type(1.0 / p))


@quietly  # overflow to inf is a result here (as in PyTorch), not a warning
def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Norm of the norms of ``tensors`` (as if they were concatenated into one vector)."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return _wrap(np.array(0.0, dtype=np.float32))
    arrs = [t._data for t in tensors]
    dtype = np.result_type(*[a.dtype for a in arrs])
    norms = [_vector_norm(a, norm_type) for a in arrs]
    if type(arrs[0]) is np.ndarray:
        norms = np.array(norms, dtype=dtype)
        total = np.asarray(_vector_norm(norms, norm_type), dtype=dtype)
    else:  # CUDA arrays: the norms and the total stay on the device
        norms = np.stack([n.astype(dtype) for n in norms])
        total = _vector_norm(norms, norm_type).astype(dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`")
    return _wrap(total)


@quietly
def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))``."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    tn = total_norm._data if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coef = np.minimum(tn.dtype.type(max_norm) / (tn + tn.dtype.type(1e-6)), tn.dtype.type(1.0))
    for g in grads:
        arr = g._data
        if arr.dtype == np.float16:
            # Half grads are scaled by a float32 coefficient, rounding once to half.
            np.multiply(arr, coef.astype(np.float32), out=arr, casting="same_kind")
        else:
            arr *= coef.astype(arr.dtype)
        g._vc[0] += 1


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Clip the gradients' total norm to ``max_norm`` in place; returns the total norm."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_gen = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)
        if is_gen and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        g = p.grad
        if g is not None:
            arr = g._data
            t = arr.dtype.type
            np.clip(arr, t(-clip_value), t(clip_value), out=arr)
            g._vc[0] += 1
