"""Elementwise, binary cross-entropy and KL losses, and the reduction rules every loss shares
(the class losses, cross-entropy and NLL, are in loss_class.py)."""
import warnings

import numpy as np

from ... import _dtype as D
from ...autograd import grad_mode
from ...autograd.function import apply
from ...autograd.node import Node
from ...autograd.ops_math import sigmoid_array, unbroadcast
from .misc import float_check, type_title

_REDUCTIONS = ("none", "mean", "sum")


def legacy_reduction(size_average, reduce, emit_warning=True):
    """PyTorch's mapping of the deprecated size_average/reduce flags onto ``reduction``."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "none" if not reduce else ("mean" if size_average else "sum")
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", UserWarning, stacklevel=3)
    return ret


def check_weight_untracked(weight, function, argument="weight"):
    """The losses whose weights have no derivative refuse a weight that requires grad while
    grad mode is on, as PyTorch does, rather than silently leave its .grad empty."""
    if weight is not None and weight.requires_grad and grad_mode.state.enabled:
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           f"argument '{argument}'. This input cannot have requires_grad True.")


def _reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _reduce(arr, reduction):
    if reduction == "none":
        return arr
    total = arr.mean() if reduction == "mean" else arr.sum()
    if reduction == "batchmean":  # kl_div's: the sum over the batch size
        total = total / (arr.shape[0] if arr.ndim else 1)
    if type(arr) is not np.ndarray:  # a CUDA array: the total stays on the device
        return total.astype(arr.dtype, copy=False)
    return np.asarray(total, arr.dtype)


def _expand(g, reduction, shape):
    """The gradient of the reduction: one value per loss element."""
    if reduction == "none":
        return g
    n = int(np.prod(shape)) if reduction == "mean" else (
        (shape[0] if len(shape) else 1) if reduction == "batchmean" else 1)
    return np.broadcast_to(g / n if n else g, shape)


def _size(shape):
    return repr(D.Size(shape))


# ---- elementwise losses ---------------------------------------------------------------------
def _warn_shape(input, target, stacklevel=3):
    # stacklevel: the frames up to the user's call of the loss function
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({_size(target.shape)}) that is different to the "
                      f"input size ({_size(input.shape)}). This will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=stacklevel)


def _broadcastable(a, b):
    """The broadcast shape of two arrays, or PyTorch's error naming the first clash."""
    nd = max(a.ndim, b.ndim)
    sa, sb = (1,) * (nd - a.ndim) + a.shape, (1,) * (nd - b.ndim) + b.shape
    for i in range(nd - 1, -1, -1):
        if sa[i] != sb[i] and 1 not in (sa[i], sb[i]):
            raise RuntimeError(f"The size of tensor a ({sa[i]}) must match the size of tensor b "
                               f"({sb[i]}) at non-singleton dimension {i}")
    return tuple(max(u, v) if 0 not in (u, v) else 0 for u, v in zip(sa, sb))


def _aligned(extra, x):
    _broadcastable(extra, x)
    return extra.astype(x.dtype, copy=False)


class _Pointwise(Node):
    """Elementwise loss f(d), d = input - target, reduced; subclasses give f and f'."""

    def forward(self, a, b, reduction, param):
        self.meta = ((a.shape, a.dtype), (b.shape, b.dtype), reduction)
        self.param = param
        d = a - b
        self.save(d)
        return _reduce(self.value(d, param), reduction)

    def backward(self, g):
        d = self.saved[0]
        (ash, adt), (bsh, bdt), reduction = self.meta
        gd = _expand(g, reduction, d.shape) * self.slope(d, self.param)
        return (unbroadcast(gd, ash, adt) if self.needs(0) else None,
                unbroadcast(-gd, bsh, bdt) if self.needs(1) else None)


class MseLossBackward0(_Pointwise):
    def value(self, d, _):
        return d * d

    def slope(self, d, _):
        return 2 * d


class SmoothL1LossBackward0(_Pointwise):
    def value(self, d, beta):
        ad = np.abs(d)
        return np.where(ad < beta, (0.5 / beta) * d * d, ad - 0.5 * beta)

    def slope(self, d, beta):
        return np.where(np.abs(d) < beta, d / beta, np.sign(d))


class HuberLossBackward0(_Pointwise):
    def value(self, d, delta):
        ad = np.abs(d)
        return np.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))

    def slope(self, d, delta):
        return np.where(np.abs(d) < delta, d, delta * np.sign(d))


def _pointwise(cls, input, target, reduction, param=None, weight=None, by_weight=True):
    if (input._rg or target._rg) and grad_mode.state.enabled and \
            (input.is_inference() or target.is_inference()):
        # the node keeps only input - target, where PyTorch's keeps both operands
        raise RuntimeError(grad_mode.SAVED_INFERENCE)
    _warn_shape(input, target, 4)  # called by mse_loss, smooth_l1_loss, huber_loss
    _broadcastable(input._data, target._data)
    input, target = _common_dtype(input, target, cls is HuberLossBackward0)
    if input._data.dtype.kind != "f":  # both integer: PyTorch has no integer kernel
        float_check(input, _INT_KERNEL[cls.__name__])
    if weight is None:
        return apply(cls, (input, target), reduction, param)
    return _weighted(apply(cls, (input, target), "none", param), input, weight, reduction,
                     by_weight)


def _common_dtype(input, target, keep_input_dtype):
    """Both operands in the loss's dtype: PyTorch's promotion (an integer target leaves a
    float32 input float32), or for huber_loss a floating input's own dtype."""
    da, db = input._data.dtype, target._data.dtype
    if da == db:
        return input, target
    if keep_input_dtype and da.kind == "f":
        dt = D._FROM_NP[da]
    else:
        dt = D.promote_types(D._FROM_NP[da], D._FROM_NP[db])
    return (input if da == dt.np else input.to(dt)), (target if db == dt.np else target.to(dt))


def _weighted(loss, input, weight, reduction, by_weight):
    """Elementwise weights; the mean divides by sum(weight) (mse, l1) or the count (huber)."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction != "mean":
        return loss if reduction == "none" else loss.sum()
    return loss.sum() / weight.sum() if by_weight else loss.mean()


_INT_KERNEL = {"MseLossBackward0": "mse_cpu", "SmoothL1LossBackward0": "smooth_l1_cpu",
               "HuberLossBackward0": "huber_cpu"}


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return _pointwise(MseLossBackward0, input, target,
                      _reduction(size_average, reduce, reduction), weight=weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    _warn_shape(input, target)
    shape = _broadcastable(input._data, target._data)
    if input.dim() != target.dim() or tuple(input.shape) != tuple(target.shape):
        # broadcast first, so a 0-d operand promotes like a dimensioned one (as PyTorch)
        input, target = input.expand(*shape), target.expand(*shape)
    loss = (input - target).abs()
    if weight is not None:
        return _weighted(loss, input, weight, reduction, True)
    return loss if reduction == "none" else (loss.mean() if reduction == "mean" else loss.sum())


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    return _pointwise(SmoothL1LossBackward0, input, target, reduction, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    return _pointwise(HuberLossBackward0, input, target, reduction, float(delta), weight, False)


# ---- binary cross entropy -------------------------------------------------------------------
class BinaryCrossEntropyBackward0(Node):
    def forward(self, x, t, w, reduction):
        self.meta = (x.shape, x.dtype, reduction)
        # PyTorch clamps each log at -100 so that 0 * log(0) stays finite
        with np.errstate(divide="ignore"):
            lx = np.maximum(np.log(x), -100)
            l1x = np.maximum(np.log1p(-x), -100)
        loss = -(t * lx + (1 - t) * l1x)
        if w is not None:
            loss = loss * w
        self.save(x, t, w)
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    def backward(self, g):
        x, t, w = self.saved
        shape, dt, reduction = self.meta
        ge = _expand(g, reduction, shape)
        if w is not None:
            ge = ge * w
        gx = gt = None
        if self.needs(0):
            gx = (ge * (x - t) / np.maximum((1 - x) * x, 1e-12)).astype(dt, copy=False)
        if self.needs(1):
            with np.errstate(divide="ignore", invalid="ignore"):  # unclamped, as PyTorch's
                gt = (ge * (np.log1p(-x) - np.log(x))).astype(dt, copy=False)
        return gx, gt


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({_size(target.shape)}) that is different to the "
                         f"input size ({_size(input.shape)}) is deprecated. Please ensure they "
                         "have the same size.")
    if target._data.dtype != input._data.dtype:
        raise RuntimeError(f"Found dtype {type_title(target._data.dtype)} but expected "
                           f"{type_title(input._data.dtype)}")
    x = input._data
    # written so that NaN fails the range checks too, as in PyTorch
    if x.size and not (x.min() >= 0 and x.max() <= 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    t = target._data
    if t.size and not (t.min() >= 0 and t.max() <= 1):
        raise RuntimeError("all elements of target should be between 0 and 1")
    check_weight_untracked(weight, "binary_cross_entropy")
    w = None if weight is None else _aligned(weight._data, x)
    return apply(BinaryCrossEntropyBackward0, (input, target), w, reduction)


class BinaryCrossEntropyWithLogitsBackward0(Node):
    def forward(self, x, t, w, pw, reduction):
        self.meta = (x.shape, x.dtype, reduction)
        # softplus(-x) = log(1 + exp(-x)) without overflow
        sp = np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)
        lw = 1 if pw is None else (pw - 1) * t + 1
        loss = (1 - t) * x + lw * sp
        if w is not None:
            loss = loss * w
        self.save(x, t)
        self.wts = (w, pw, lw, sp)
        return _reduce(loss.astype(x.dtype, copy=False), reduction)

    def backward(self, g):
        x, t = self.saved
        w, pw, lw, sp = self.wts
        shape, dt, reduction = self.meta
        ge = _expand(g, reduction, shape)
        if w is not None:
            ge = ge * w
        gx = gt = None
        if self.needs(0):
            # lw sigmoid(x) - pw t: equal to (1 - t) - lw sigmoid(-x), without its
            # cancellation to 0 for large negative x
            d = sigmoid_array(x) - t if pw is None else lw * sigmoid_array(x) - pw * t
            gx = (ge * d).astype(dt, copy=False)
        if self.needs(1):
            d = -x if pw is None else -x + (pw - 1) * sp
            gt = (ge * d).astype(dt, copy=False)
        return gx, gt


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({_size(target.shape)}) must be the same as input size "
                         f"({_size(input.shape)})")
    if target._data.dtype.kind != "f":  # the loss is written into the target's type
        raise RuntimeError(f"result type {type_title(input._data.dtype)} can't be cast to the "
                           f"desired output type {type_title(target._data.dtype)}")
    if target._data.dtype.itemsize > input._data.dtype.itemsize:
        input = input.to(target.dtype)  # a wider target widens the result, as in PyTorch
    check_weight_untracked(weight, "binary_cross_entropy_with_logits")
    check_weight_untracked(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
    x = input._data
    w, pw = (None if e is None else _aligned(e._data, x) for e in (weight, pos_weight))
    tgt = target if target._data.dtype == x.dtype else target.to(input.dtype)
    return apply(BinaryCrossEntropyWithLogitsBackward0, (input, tgt), w, pw, reduction)


# ---- KL divergence --------------------------------------------------------------------------
class KlDivBackward0(Node):
    def forward(self, x, t, log_target, reduction):
        self.meta = (x.shape, x.dtype, reduction, log_target)
        if log_target:
            loss = np.exp(t) * (t - x)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                # xlogy(t, t): 0 where t == 0, NaN for negative targets, as PyTorch
                loss = np.where(t == 0, 0, t * np.log(np.where(t == 0, 1, t))) - t * x
        self.save(x, t)
        return _reduce(loss, reduction)

    def backward(self, g):
        x, t = self.saved
        shape, dt, reduction, log_target = self.meta
        ge = _expand(g, reduction, shape)
        gx = gt = None
        et = np.exp(t) if log_target else t
        if self.needs(0):
            gx = (-ge * et).astype(dt, copy=False)
        if self.needs(1):
            with np.errstate(divide="ignore", invalid="ignore"):
                d = et * (t - x + 1) if log_target else np.log(t) + 1 - x
            gt = (ge * d).astype(dt, copy=False)
        return gx, gt


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS + ("batchmean",):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    shape = _broadcastable(input._data, target._data)
    if tuple(input.shape) != tuple(target.shape):
        if input.dtype != target.dtype:  # a 0-d operand must not widen the other's dtype
            from ... import result_type
            common = result_type(input, target)
            input, target = input.to(common), target.to(common)
        input, target = input.expand(*shape), target.expand(*shape)
    out = apply(KlDivBackward0, (input, target), bool(log_target), reduction)
    if out.grad_fn is not None:  # the node PyTorch's composite kl_div ends with
        from ...autograd.ops_math import relabel
        relabel(out, _KL_DIV_LAST_NODE[reduction])
    return out


_KL_DIV_LAST_NODE = {"none": "SubBackward0", "mean": "MeanBackward0", "sum": "SumBackward0",
                     "batchmean": "DivBackward0"}
