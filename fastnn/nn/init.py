"""Parameter initialization (``fastnn.nn.init``), PyTorch's schemes and names.

Every function fills the tensor in place without recording a graph and draws from fastnn's
generator (or the one passed), so ``fastnn.manual_seed`` makes initialization reproducible.
"""
import math
import numbers
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from .._dtype import scalar_type_name
from .._scalar_fill import checked_scalar
from .._tensor_inplace import _check_random_dtype
from ..random import get_generator
from ._trunc_normal import draw_truncated_normal

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for an activation (PyTorch's table)."""
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Number) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    if tensor.dim() < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _no_grad_uniform_(tensor, a, b, generator=None):
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def _no_grad_normal_(tensor, mean, std, generator=None):
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _no_grad_fill_(tensor, val):
    with no_grad():
        return tensor.fill_(val)


def _no_grad_zero_(tensor):
    with no_grad():
        return tensor.zero_()


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """N(mean, std) restricted to [a, b]. Always finishes in a few passes, even when [a, b]
    holds almost none of the distribution's mass (values then come from the inverse CDF)."""
    return _fill_trunc_normal(tensor, mean, std, a, b, generator, stacklevel=3)


def _normal_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _check_trunc_normal_args(tensor, mean, std, a, b):
    """PyTorch's errors: it fills mostly-inside intervals (mass above 0.3) from normal_
    and the rest from uniform_ on [a, b], so those two name the failure."""
    mass = _normal_cdf((b - mean) / std) - _normal_cdf((a - mean) / std)
    npd = tensor._data.dtype
    if not tensor.is_floating_point():
        if mass > 0.3:
            try:  # the bounds are first converted to the dtype: uint8 cannot hold -2.0
                checked_scalar(a, npd)
                checked_scalar(b, npd)
            except RuntimeError:
                raise RuntimeError(f"value cannot be converted to type {npd.name} without "
                                   f"overflow") from None
            kernel = "normal_kernel_cpu"
        else:
            kernel = "check_uniform_bounds"
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{scalar_type_name(npd)}'")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={a:g} > to={b:g}")


def _no_grad_trunc_normal_(tensor, mean, std, a, b, generator=None):
    return _fill_trunc_normal(tensor, mean, std, a, b, generator, stacklevel=3)


def _fill_trunc_normal(tensor, mean, std, a, b, generator, stacklevel):
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=stacklevel)
    _check_trunc_normal_args(tensor, mean, std, a, b)
    std = abs(std)  # only the width matters: PyTorch samples the same law for -std
    arr = tensor._data
    if arr.size == 0:
        return tensor
    vals = draw_truncated_normal(get_generator(generator).np, arr.shape, mean, std, a, b,
                                 exact=arr.dtype == np.float64)
    with np.errstate(over="ignore"):
        vals = vals.astype(arr.dtype)
        # rounding into a narrower dtype may step just past a bound: hold it there
        np.clip(vals, arr.dtype.type(a), arr.dtype.type(b), out=vals)
    with no_grad():
        arr[...] = vals
        tensor._bump()
    return tensor


def constant_(tensor, val):
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        tensor._data[...] = np.eye(*tensor.shape, dtype=tensor._data.dtype)
        tensor._bump()
    return tensor


def dirac_(tensor, groups=1):
    """Identity-preserving conv weights: out channel i of each group passes in channel i."""
    nd = tensor.dim()
    if nd not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    shape = tensor.shape
    if shape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per = shape[0] // groups
    n = min(per, shape[1])
    with no_grad():
        arr = tensor._data
        arr[...] = 0
        centre = tuple(s // 2 for s in shape[2:])
        i = np.arange(n)
        for g in range(groups):
            arr[(g * per + i, i) + centre] = 1
        tensor._bump()
    return tensor


def xavier_uniform_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor, a, mode, nonlinearity):
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor, gain=1, generator=None):
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    _check_random_dtype(tensor, "normal_kernel_cpu")  # the first thing it fills is normal
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = get_generator(generator).np.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # makes the decomposition unique, as PyTorch does
    if rows < cols:
        q = q.T
    with no_grad():
        tensor._data[...] = (gain * q).reshape(tensor.shape)
        tensor._bump()
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    _check_random_dtype(tensor, "normal_kernel_cpu")
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    gen = get_generator(generator).np
    with no_grad():
        arr = tensor._data
        arr[...] = gen.normal(0.0, std, arr.shape)
        if zeros:
            # each column gets its own random set of zeroed rows
            order = np.argsort(gen.random((rows, cols)), axis=0)[:zeros]
            arr[order, np.arange(cols)[None, :]] = 0
        tensor._bump()
    return tensor


def reset_weight_and_bias(weight, bias):
    """The default of Linear and the convolutions: kaiming_uniform_(a=sqrt(5)) for the weight,
    which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = _calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0  # empty layers get zero bias
        uniform_(bias, -bound, bound)


def _deprecated_alias(fn):
    """The old no-underscore name of ``fn``: warns (FutureWarning) and calls ``fn``."""
    old = fn.__name__[:-1]

    def alias(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{fn.__name__}`.",
                      FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)
    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated: use ``nn.init.{fn.__name__}``."
    return alias


# PyTorch keeps these pre-0.4 names, deprecated
uniform = _deprecated_alias(uniform_)
normal = _deprecated_alias(normal_)
constant = _deprecated_alias(constant_)
eye = _deprecated_alias(eye_)
dirac = _deprecated_alias(dirac_)
xavier_uniform = _deprecated_alias(xavier_uniform_)
xavier_normal = _deprecated_alias(xavier_normal_)
kaiming_uniform = _deprecated_alias(kaiming_uniform_)
kaiming_normal = _deprecated_alias(kaiming_normal_)
orthogonal = _deprecated_alias(orthogonal_)
sparse = _deprecated_alias(sparse_)
