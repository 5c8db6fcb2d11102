"""Batch and layer normalization: statistics, running-stat updates and their backward."""
import numpy as np

from ..._fp_quiet import quietly
from ... import _dtype as D
from ...autograd.function import apply
from ...autograd.node import Node
from ...autograd.out_layout import c_contiguous, c_order_unless_channels_last
from ...tensor import Tensor
from .misc import float_check


class NativeBatchNormBackward0(Node):
    """Inputs (x, [weight, [bias]]); channels on axis 1, statistics over every other axis."""

    def forward(self, *args):
        *arrays, (training, mean, var, eps, has_w, has_b) = args
        x = arrays[0]
        w = arrays[1] if has_w else None
        b = arrays[1 + has_w] if has_b else None
        shape = (1, -1) + (1,) * (x.ndim - 2)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = (x - mean.reshape(shape).astype(x.dtype, copy=False)) * invstd.reshape(shape)
        y = xhat if w is None else xhat * w.reshape(shape)
        if b is not None:
            y = y + b.reshape(shape)
        # C-ordered for a transposed input; channels-last input keeps its layout
        y = c_order_unless_channels_last(y, x)
        if y is xhat:  # xhat is saved for backward: the result needs its own memory
            y = xhat.copy(order="K")
        self.training = training
        self.has = (has_w, has_b)
        self.eps = eps
        self.axes = (0,) + tuple(range(2, x.ndim))
        self.shape = shape
        self.invstd = invstd
        self.save(xhat, w)
        return y

    def backward(self, g):
        xhat, w = self.saved
        has_w, has_b = self.has
        axes, shape = self.axes, self.shape
        gx = gw = gb = None
        if has_b and self.needs(1 + has_w):
            gb = g.sum(axis=axes)
        if has_w and self.needs(1):
            gw = (g * xhat).sum(axis=axes)
        if self.needs(0):
            scale = self.invstd if w is None else self.invstd * w
            if self.training:
                mg = g.mean(axis=axes, keepdims=True)
                mgx = (g * xhat).mean(axis=axes, keepdims=True)
                gx = (g - mg - xhat * mgx) * scale.reshape(shape)
            else:
                gx = g * scale.reshape(shape)
        out = [gx]
        if has_w:
            out.append(gw)
        if has_b:
            out.append(gb)
        return tuple(out)


def _check_vec(t, name, c):
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def _check_dtypes(input, params, kernel):
    """Normalization takes float input only, and parameters of the input's dtype, or float32
    ones beside float16 input (PyTorch's mixed precision); returns whether the input is
    float16, which is then normalized in float32 like PyTorch does."""
    dx = input._data.dtype
    given = [t._data.dtype for t in params if t is not None]
    if any(dt != dx for dt in given):
        # all-float32 parameters are a mixed-precision request, which only float16 input
        # may make; any other mismatch is a parameter that is not float32
        if any(dt != np.float32 for dt in given):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if dx != np.float16:
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    if dx.kind != "f":
        float_check(input, kernel)
    return dx == np.float16


def _single(t):
    """A float16 parameter as float32 for a float16 input normalized in float32."""
    return t if t is None or t._data.dtype != np.float16 else t.float()


def _refuse_under_vmap():
    # vmap runs the function once per sample here: each call would update the running
    # statistics from one sample's batch, which is not what a batched update means
    from ...func import _vmap
    if _vmap.active():
        raise RuntimeError(
            "Batch norm got a batched tensor as input while the running_mean or running_var, "
            "which will be updated in place, were not batched.\nIf you are using a module and "
            "do not need eval mode, please set `track_running_stats` to be False.")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"Expected 2D or more input (got {x.ndim}D input)")
    c = x.shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_vec(t, name, c)
    if _check_dtypes(input, (running_mean, running_var, weight, bias), "batch_norm"):
        # float16 statistics are updated in place, so they are handed over as they are
        return _batch_norm(input.float(), running_mean, running_var, _single(weight),
                           _single(bias), training, momentum, eps).half()
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


@quietly
def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps):
    x = input._data
    c = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    if training and x.size == 0:  # an empty batch: nothing to normalize or to learn from
        mean, var = np.zeros(c, x.dtype), np.ones(c, x.dtype)
    elif training:
        n = x.size // c if c else 0
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {_size_text(x.shape)}")
        acc = np.float64 if x.dtype == np.float64 else np.float32
        mean = (_channel_sums(x, axes) / n).astype(acc)
        centred = x - mean.reshape((1, -1) + (1,) * (x.ndim - 2)).astype(x.dtype)
        var = (_channel_sums(centred * centred, axes) / n).astype(acc)
        if running_mean is not None or running_var is not None:
            _refuse_under_vmap()
            m = float(momentum if momentum is not None else 0.0)
            if running_mean is not None:
                rm = running_mean._data
                rm *= (1 - m)
                rm += (m * mean).astype(rm.dtype)
                running_mean._bump()
            if running_var is not None:
                rv = running_var._data
                rv *= (1 - m)
                rv += (m * var * (n / (n - 1))).astype(rv.dtype)
                running_var._bump()
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation "
                               "mode")
        mean = running_mean._data
        var = running_var._data
    tensors = [input] + [t for t in (weight, bias) if t is not None]
    return apply(NativeBatchNormBackward0, tuple(tensors),
                 (bool(training), mean, var, eps, weight is not None, bias is not None))


def _channel_sums(a, axes):
    """Per-channel sums of ``a`` (channels on axis 1), more accurate than a strided sum.

    numpy sums a strided axis one element after another, so float32 statistics of a large
    batch (or of values with a large offset) drift. Each contiguous sample-channel row is
    summed pairwise in the array's own dtype instead, and only the row totals in float64.
    """
    if a.ndim > 2 and a.flags.c_contiguous:
        rows = a.reshape(a.shape[0], a.shape[1], -1).sum(axis=2)
        return rows.sum(axis=0, dtype=np.float64)
    if a.ndim == 2 and a.shape[0] <= 4 * _BLOCK:
        # a small batch of vectors: its few row additions lose little, and BatchNorm1d in
        # small MLPs must stay as fast as a plain sum
        return a.sum(axis=0).astype(np.float64)
    # channels last in memory (2-D input, channels_last): whole rows of channels are added
    # up in blocks of _BLOCK rows in the array's dtype, and only the block totals in float64
    last = a if a.ndim == 2 else a.transpose((0,) + axes[1:] + (1,))
    if not last.flags.c_contiguous:
        return a.sum(axis=axes, dtype=np.float64)
    flat = last.reshape(-1, a.shape[1])
    whole = flat.shape[0] - flat.shape[0] % _BLOCK
    total = flat[whole:].sum(axis=0, dtype=np.float64)
    if whole:
        blocks = flat[:whole].reshape(-1, _BLOCK, a.shape[1]).sum(axis=1)
        total += blocks.sum(axis=0, dtype=np.float64)
    return total


_BLOCK = 64


def _size_text(shape):
    return repr(D.Size(shape))


class NativeLayerNormBackward0(Node):
    """Normalizes over the trailing dims; inputs (x, [weight, [bias]])."""

    def forward(self, *args):
        *arrays, (k, eps, has_w, has_b) = args
        x = arrays[0]
        w = arrays[1] if has_w else None
        b = arrays[1 + has_w] if has_b else None
        x = c_contiguous(x)  # a transposed input still gives a C-contiguous result
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        var = np.mean(centred * centred, axis=axes, keepdims=True)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = centred * invstd
        y = xhat if w is None else xhat * w
        if b is not None:
            y = y + b
        elif y is xhat:
            y = xhat.copy()
        self.axes, self.invstd, self.has, self.eps = axes, invstd, (has_w, has_b), eps
        self.save(xhat, w)
        return y

    def backward(self, g):
        xhat, w = self.saved
        has_w, has_b = self.has
        lead = tuple(range(g.ndim - len(self.axes)))
        gx = gw = gb = None
        if has_b and self.needs(1 + has_w):
            gb = g.sum(axis=lead)
        if has_w and self.needs(1):
            gw = (g * xhat).sum(axis=lead)
        if self.needs(0):
            gh = g if w is None else g * w
            mg = gh.mean(axis=self.axes, keepdims=True)
            mgx = (gh * xhat).mean(axis=self.axes, keepdims=True)
            gx = (gh - mg - xhat * mgx) * self.invstd
        return tuple([gx] + ([gw] if has_w else []) + ([gb] if has_b else []))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    shape = tuple(input.shape)
    if k == 0 or shape[len(shape) - k:] != normalized_shape or k > len(shape):
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input "
                           f"with shape [*, {', '.join(map(str, normalized_shape))}], but got "
                           f"input of size{list(shape)}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {list(t.shape)} and normalized_shape = "
                               f"{list(normalized_shape)}")
    if _check_dtypes(input, (weight, bias), "LayerNormKernelImpl"):
        return layer_norm(input.float(), normalized_shape, _single(weight), _single(bias),
                          eps).half()
    tensors = [input] + [t for t in (weight, bias) if t is not None]
    return apply(NativeLayerNormBackward0, tuple(tensors),
                 (k, eps, weight is not None, bias is not None))


class NativeGroupNormBackward0(Node):
    """Statistics per (sample, group of channels); inputs (x, [weight, [bias]]) with the
    per-channel affine parameters. Instance normalization is the case of one channel a group.
    """

    def forward(self, *args):
        *arrays, (groups, eps, has_w, has_b) = args
        x = arrays[0]
        w = arrays[1] if has_w else None
        b = arrays[1 + has_w] if has_b else None
        n, c = x.shape[:2]
        per_group = x.size // max(n * groups, 1)   # explicit: -1 fails on an empty batch
        xr = x.reshape(n, groups, per_group)
        if x.size:
            mean = xr.mean(axis=2, keepdims=True)
            centred = xr - mean
            var = np.mean(centred * centred, axis=2, keepdims=True)
        else:               # an empty batch: numpy would warn about empty means
            centred, var = xr, np.zeros((n, groups, 1), x.dtype)
        invstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        xhat = (centred * invstd).reshape(x.shape)
        shape = (1, c) + (1,) * (x.ndim - 2)
        y = xhat if w is None else xhat * w.reshape(shape)
        if b is not None:
            y = y + b.reshape(shape)
        elif y is xhat:
            y = xhat.copy()
        self.meta = (groups, shape, (0,) + tuple(range(2, x.ndim)), has_w, has_b)
        self.invstd, self.has, self.eps = invstd, (has_w, has_b), eps
        self.save(xhat, w)
        return y

    def backward(self, g):
        xhat, w = self.saved
        groups, shape, axes, has_w, has_b = self.meta
        gx = gw = gb = None
        if has_b and self.needs(1 + has_w):
            gb = g.sum(axis=axes)
        if has_w and self.needs(1):
            gw = (g * xhat).sum(axis=axes)
        if self.needs(0) and g.size == 0:
            gx = np.zeros_like(g)
        elif self.needs(0):
            n = g.shape[0]
            per_group = g.size // max(n * groups, 1)
            gh = (g if w is None else g * w.reshape(shape)).reshape(n, groups, per_group)
            xh = xhat.reshape(n, groups, per_group)
            mg = gh.mean(axis=2, keepdims=True)
            mgx = (gh * xh).mean(axis=2, keepdims=True)
            gx = ((gh - mg - xh * mgx) * self.invstd).reshape(g.shape)
        return tuple([gx] + ([gw] if has_w else []) + ([gb] if has_b else []))


def _group_norm(input, groups, weight, bias, eps):
    tensors = [input] + [t for t in (weight, bias) if t is not None]
    return apply(NativeGroupNormBackward0, tuple(tensors),
                 (groups, eps, weight is not None, bias is not None))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05):
    """Normalizes each sample's channels in ``num_groups`` groups, then scales and shifts
    each channel by weight and bias."""
    if not isinstance(input, Tensor):
        raise TypeError(f"group_norm(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.dim() < 2:
        raise RuntimeError("Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    shape = tuple(input.shape)
    n, c = shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError("Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(shape)} and "
                           f"num_groups={num_groups}")
    if n * c // num_groups * int(np.prod(shape[2:])) == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {[n * c // num_groups, num_groups, *shape[2:]]}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape {list(t.shape)} "
                               f"and input of shape {list(shape)}")
    if _check_dtypes(input, (weight, bias), "GroupNormKernelImpl"):
        return _group_norm(input.float(), num_groups, _single(weight), _single(bias), eps).half()
    return _group_norm(input, num_groups, weight, bias, eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-05):
    """Normalizes each channel of each sample over its spatial positions (use_input_stats),
    updating running_mean/running_var when given; else normalizes by the running ones."""
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    shape = tuple(input.shape)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when "
                               "use_input_stats is false")
        if input.dtype is not running_mean.dtype and input._data.dtype != np.float16:
            # instance norm takes running statistics of any float dtype (it only reads them)
            running_mean, running_var = running_mean.to(input.dtype), running_var.to(input.dtype)
        return _as_view(batch_norm(input, running_mean, running_var, weight, bias, False,
                                   momentum, eps))
    if int(np.prod(shape[2:])) == 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{_size_text(shape)}")
    c = shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        _check_vec(t, name, c)
    half = _check_dtypes(input, (weight, bias), "batch_norm")  # before any running update
    if running_mean is not None or running_var is not None:
        x = input._data
        axes = tuple(range(2, x.ndim))
        count = int(np.prod(shape[2:]))
        acc = np.float64 if x.dtype == np.float64 else np.float32
        mean = x.mean(axis=axes, dtype=acc)                         # (N, C)
        centred = x - mean.reshape(mean.shape + (1,) * len(axes)).astype(x.dtype)
        var = np.mean(centred * centred, axis=axes, dtype=acc) * (count / (count - 1))
        m = float(momentum)
        for t, stat in ((running_mean, mean), (running_var, var)):
            if t is not None:
                arr = t._data
                arr *= (1 - m)
                arr += (m * stat.mean(axis=0)).astype(arr.dtype)
                t._bump()
    if half:
        return _as_view(_group_norm(input.float(), c, _single(weight), _single(bias), eps)
                        .half())
    return _as_view(_group_norm(input, c, weight, bias, eps))


def _as_view(y):
    # PyTorch normalizes instances as one batch-norm over a reshaped input and views the
    # result back: that view is the node users see
    from ...autograd.ops_math import relabel
    return relabel(y, "ViewBackward0")
