"""Loss functions. Cross-entropy is one fused node: forward keeps the log-probabilities and
backward is softmax minus the target distribution, scaled, through the Cython kernels when
they are built."""
import warnings

import numpy as np

from ... import _dtype as D
from ...autograd.function import apply
from ...autograd.node import Node
from ...autograd.ops_math import sigmoid_array, unbroadcast
from ...autograd.ops_reduce import log_softmax_array
from ...tensor import Tensor
from .misc import core, float_check, type_title

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


# ---- cross entropy and NLL ------------------------------------------------------------------
def _rows(x):
    """(N, C, d1..dk) -> (N*d1*..dk, C): classes last, one row per prediction."""
    if x.ndim <= 2:
        return x if x.ndim == 2 else x[None, :]
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(g2, shape):
    if len(shape) <= 2:
        return g2 if len(shape) == 2 else g2[0]
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return np.ascontiguousarray(np.moveaxis(g2.reshape(moved), -1, 1))


class NllLossBackward0(Node):
    """nll_loss on log-probabilities, or (fused=True) cross-entropy on logits.

    Class-index targets: the inputs are (input,); probability targets: (input, target).
    """

    def forward(self, x, *rest):
        *soft, (tgt, weight, ignore_index, reduction, eps, fused) = rest
        self.meta = (x.shape, x.dtype, reduction, eps, fused, weight)
        x2 = _rows(x)
        m, c = x2.shape
        if soft:
            return self._soft(x2, _rows(soft[0]), weight, reduction, eps)
        t = tgt.reshape(-1).astype(np.int64, copy=False)
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= c))
        if bad.any():
            raise IndexError(f"Target {t[bad][0]} is out of bounds.")
        t_safe = np.where(valid, t, 0)
        w_row = (weight[t_safe] if weight is not None else np.ones(m, x.dtype)) * valid
        w_row = w_row.astype(x.dtype, copy=False)
        k = core()
        if not fused:
            lp = x2
        elif k is not None and x.dtype in (np.float32, np.float64) and m * c:
            lp = np.empty((m, c), x.dtype)
            k.cross_entropy_forward(np.ascontiguousarray(x2), t_safe, lp)
        else:
            lp = log_softmax_array(x2, 1)
        loss = -w_row * lp[np.arange(m), t_safe]
        if eps > 0:
            smooth = -(lp * weight).sum(axis=1) if weight is not None else -lp.sum(axis=1)
            loss = (1 - eps) * loss + (eps / c) * (smooth * valid)
        self.t_safe, self.w_row, self.valid = t_safe, w_row, valid
        self.denom = w_row.sum()
        self.save(lp if fused else None)
        if reduction == "none":
            return loss.astype(x.dtype, copy=False).reshape(tgt.shape)
        total = loss.sum() / (self.denom if reduction == "mean" else 1)
        return np.asarray(total, x.dtype)

    def _soft(self, x2, q, weight, reduction, eps):
        m, c = x2.shape
        lp = log_softmax_array(x2, 1)
        if eps > 0:
            q = q * (1 - eps) + eps / c
        self.wq = q * weight if weight is not None else q
        self.denom = m
        self.save(lp)
        loss = -(self.wq * lp).sum(axis=1)
        shape = self.meta[0]
        if reduction == "none":
            return loss.reshape((shape[0],) + shape[2:] if len(shape) > 1 else ())
        return np.asarray(loss.sum() / (m if reduction == "mean" else 1), x2.dtype)

    def backward(self, g):
        shape, dt, reduction, eps, fused, weight = self.meta
        lp = self.saved[0]
        # per-row scale of the gradient: the upstream value, divided for a mean
        s = g.reshape(-1, 1).astype(dt, copy=False) if reduction == "none" else \
            np.full((1, 1), g.reshape(()).item() / (self.denom if reduction == "mean" else 1),
                    dt)
        if hasattr(self, "wq"):
            return self._soft_backward(s, lp)
        m, c = self.t_safe.shape[0], (shape[1] if len(shape) > 1 else shape[0])
        # an ignored row gets no gradient at all, even when every row is ignored and the mean
        # divides by zero (PyTorch never writes those rows)
        scale = np.where(self.valid, s[:, 0] * self.w_row, 0).astype(dt, copy=False)
        k = core()
        if fused and eps == 0 and k is not None and dt in (np.float32, np.float64) and m * c:
            out = np.empty((m, c), dt)
            k.cross_entropy_backward(lp, self.t_safe, np.ascontiguousarray(scale), out)
            return (_unrows(out, shape),)
        # a = dL/dlog-probs; through log-softmax the gradient is a - softmax * sum_j a_j
        a = np.zeros((m, c), dt)
        a[np.arange(m), self.t_safe] = -(1 - eps) * scale
        if eps > 0:
            wv = weight if weight is not None else np.ones(c, dt)
            a -= (eps / c) * np.where(self.valid[:, None], s, 0) * wv[None, :]
        if fused:
            a -= np.exp(lp) * a.sum(axis=1, keepdims=True)
        return (_unrows(a.astype(dt, copy=False), shape),)

    def _soft_backward(self, s, lp):
        shape, dt, reduction, eps, _, weight = self.meta
        wq = self.wq
        gx = gt = None
        if self.needs(0):
            gx = _unrows(((np.exp(lp) * wq.sum(axis=1, keepdims=True) - wq) * s).astype(dt),
                         shape)
        if self.needs(1):
            d = -lp * (weight if weight is not None else 1) * (1 - eps)
            gt = _unrows((d * s).astype(dt), shape)
        return gx, gt


def _class_checks(input, target, weight):
    x, t = input._data, target._data
    if x.ndim == 0:
        raise ValueError(f"Expected 1 or more dimensions for input (got 0)")
    if x.ndim <= 2:
        if t.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        n_in = x.shape[0] if x.ndim == 2 else 1
        n_t = t.shape[0] if t.ndim == 1 else 1
        if x.ndim == 2 and n_in != n_t or (x.ndim == 1 and t.ndim == 1 and n_t != 1):
            raise ValueError(f"Expected input batch_size ({n_in}) to match target batch_size "
                             f"({n_t}).")
    else:
        want = (x.shape[0],) + x.shape[2:]
        if t.shape != want:
            if t.ndim >= 1 and t.shape[0] != x.shape[0]:
                raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target "
                                 f"batch_size ({t.shape[0]}).")
            raise RuntimeError(f"Expected target size {list(want)}, got {list(t.shape)}")
    if t.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{type_title(t.dtype)}")
    _check_class_weight(input, weight)


def _check_class_weight(input, weight):
    c = input.shape[1] if input.dim() > 1 else input.shape[0]
    if weight is not None and weight.numel() != c:
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")


def _weight_arr(weight, dt):
    return None if weight is None else weight._data.astype(dt, copy=False)


class CrossEntropyMeanBackward(NllLossBackward0):
    """The training-loop case: 2-D logits, class targets, mean, no weight or smoothing.

    One Cython pass each way: forward keeps the softmax probabilities and returns the mean
    loss, backward is (probabilities - onehot) / N. The general node above covers every
    other option.
    """

    def forward(self, x, t, ignore_index):
        self.general = 0 <= ignore_index < x.shape[1] and bool((t == ignore_index).any())
        if not self.general:
            p = np.empty(x.shape, x.dtype)
            try:
                loss = core().softmax_cross_entropy_forward(x, t, p)
            except IndexError:
                # a target outside [0, C): an ignored row (the default ignore_index is -100)
                # or a bad target, which the general path reports in PyTorch's words
                self.general = True
        if self.general:
            return NllLossBackward0.forward(self, x, (t, None, ignore_index, "mean", 0.0, True))
        self.t = t
        self.save(p)
        return loss

    def name(self):
        return "NllLossBackward0"  # PyTorch's name for the node of cross_entropy

    def backward(self, g):
        if self.general:
            return NllLossBackward0.backward(self, g)
        p = self.saved[0]
        out = np.empty(p.shape, p.dtype)
        core().softmax_cross_entropy_backward(p, self.t, float(g) / p.shape[0], out)
        return (out,)


def _fast_ce(input, target, weight, reduction, label_smoothing):
    x, t = input._data, target._data
    return (weight is None and reduction == "mean" and label_smoothing == 0 and
            type(x) is np.ndarray and x.ndim == 2 and x.shape[0] > 0 and
            x.dtype in _FAST_DT and x.flags.c_contiguous and type(t) is np.ndarray and
            t.dtype == np.int64 and t.shape == x.shape[:1] and t.flags.c_contiguous and
            core() is not None)


_FAST_DT = (np.dtype(np.float32), np.dtype(np.float64))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    if reduction == "mean" and weight is None and size_average is None and reduce is None \
            and label_smoothing == 0.0 and isinstance(input, Tensor) and \
            isinstance(target, Tensor) and _fast_ce(input, target, None, "mean", 0.0):
        # the training-loop case, which the checks below would all accept
        return apply(CrossEntropyMeanBackward, (input,), target._data, ignore_index)
    reduction = _reduction(size_average, reduce, reduction)
    for name, t in (("input", input), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"cross_entropy(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    float_check(input, "log_softmax_lastdim_kernel_impl")
    dt = input._data.dtype
    if target._data.shape == input._data.shape and target._data.dtype.kind == "f":
        _check_class_weight(input, weight)
        tgt = target if target._data.dtype == dt else target.to(input.dtype)
        if type(input._data) is not np.ndarray:
            from ...cuda._nn import soft_cross_entropy
            return soft_cross_entropy(input, tgt, weight, reduction, float(label_smoothing))
        return apply(NllLossBackward0, (input, tgt),
                     (None, _weight_arr(weight, dt), ignore_index, reduction,
                      float(label_smoothing), True))
    if input.dim() > 1 and target._data.dtype.kind in "iu" and target._data.dtype != np.uint8 \
            and target.shape == input.shape:
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {type_title(target._data.dtype)}")
    _class_checks(input, target, weight)
    if _fast_ce(input, target, weight, reduction, label_smoothing):
        return apply(CrossEntropyMeanBackward, (input,), target._data, ignore_index)
    if type(input._data) is not np.ndarray:
        from ...cuda._nn import class_loss  # one fused kernel each way on the GPU
        return class_loss(input, target, weight, ignore_index, reduction, label_smoothing, True)
    return apply(NllLossBackward0, (input,),
                 (target._data, _weight_arr(weight, dt), ignore_index, reduction,
                  float(label_smoothing), True))


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    _class_checks(input, target, weight)
    if type(input._data) is not np.ndarray:
        from ...cuda._nn import class_loss
        return class_loss(input, target, weight, ignore_index, reduction, 0.0, False)
    return apply(NllLossBackward0, (input,),
                 (target._data, _weight_arr(weight, input._data.dtype), ignore_index,
                  reduction, 0.0, False))


# ---- elementwise losses ---------------------------------------------------------------------
def _warn_shape(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({_size(target.shape)}) that is different to the "
                      f"input size ({_size(input.shape)}). This will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=3)


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
    _warn_shape(input, target)
    _broadcastable(input._data, target._data)
    input, target = _common_dtype(input, target, cls is HuberLossBackward0)
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


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    return _pointwise(MseLossBackward0, input, target,
                      _reduction(size_average, reduce, reduction), weight=weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    _warn_shape(input, target)
    _broadcastable(input._data, target._data)
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
    if x.size and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
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
            gx = (ge * ((1 - t) - lw * sigmoid_array(-x))).astype(dt, copy=False)
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
        input, target = input.expand(*shape), target.expand(*shape)
    return apply(KlDivBackward0, (input, target), bool(log_target), reduction)
