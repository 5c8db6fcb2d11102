"""Class losses: cross-entropy and NLL over class indices or class probabilities, with
weights, ignore_index and label smoothing; one graph node each way (a fused Cython pass for
the training-loop case)."""
import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node, keep_saved
from ...autograd.ops_math import relabel
from ...autograd.ops_reduce import log_softmax_array
from ...tensor import Tensor
from .loss import _reduction, check_weight_untracked
from .misc import core, float_check, type_title


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
        with np.errstate(divide="ignore", invalid="ignore"):  # every target ignored: NaN
            total = loss.sum() / (self.denom if reduction == "mean" else 1)
        return np.asarray(total, x.dtype)

    def _soft(self, x2, q, weight, reduction, eps):
        m, c = x2.shape
        lp = log_softmax_array(x2, 1)
        if eps > 0:
            q = q * (1 - eps) + eps / c
        self.wq = q * weight if weight is not None else q
        self.denom = np.float64(m)  # a numpy zero: an empty batch's mean is NaN, not an error
        self.save(lp)
        loss = -(self.wq * lp).sum(axis=1)
        shape = self.meta[0]
        if reduction == "none":
            return loss.reshape((shape[0],) + shape[2:] if len(shape) > 1 else ())
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(loss.sum() / (self.denom if reduction == "mean" else 1), x2.dtype)

    def backward(self, g):
        shape, dt, reduction, eps, fused, weight = self.meta
        lp = self.saved[0]
        # per-row scale of the gradient: the upstream value, divided for a mean
        with np.errstate(divide="ignore", invalid="ignore"):  # a mean over no target
            s = g.reshape(-1, 1).astype(dt, copy=False) if reduction == "none" else \
                np.full((1, 1), g.reshape(()).item() / (self.denom if reduction == "mean"
                                                         else 1), dt)
        if hasattr(self, "wq"):
            return self._soft_backward(s, lp)
        m, c = self.t_safe.shape[0], (shape[1] if len(shape) > 1 else shape[0])
        # an ignored row gets no gradient at all, even when every row is ignored and the mean
        # divides by zero (PyTorch never writes those rows)
        with np.errstate(invalid="ignore"):  # inf * 0 on ignored rows, dropped by the where
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
        raise ValueError("Expected 1 or more dimensions for input (got 0)")
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
    if weight is not None and weight._data.dtype != input._data.dtype:
        raise RuntimeError(f"expected scalar type {type_title(input._data.dtype)} but found "
                           f"{type_title(weight._data.dtype)}")


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

    def backward(self, g):
        if self.general:
            return NllLossBackward0.backward(self, g)
        p = self.saved[0]
        out = np.empty(p.shape, p.dtype)
        core().softmax_cross_entropy_backward(p, self.t, float(g) / p.shape[0], out)
        return (out,)


# PyTorch's name for the node of cross_entropy; modules import the class by its identifier
CrossEntropyMeanBackward.__name__ = CrossEntropyMeanBackward.__qualname__ = "NllLossBackward0"


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
        return keep_saved(apply(CrossEntropyMeanBackward, (input,), target._data, ignore_index),
                         target)
    reduction = _reduction(size_average, reduce, reduction)
    for name, t in (("input", input), ("target", target)):
        if not isinstance(t, Tensor):
            raise TypeError(f"cross_entropy(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    if label_smoothing < 0.0:  # accepted, and smooths nothing (as PyTorch)
        label_smoothing = 0.0
    float_check(input, "log_softmax_lastdim_kernel_impl")
    dt = input._data.dtype
    if target._data.shape == input._data.shape and target._data.dtype.kind == "f":
        if ignore_index >= 0:  # a negative one (the default -100) names no class
            raise RuntimeError("ignore_index is not supported for floating point target")
        _check_class_weight(input, weight)
        if target._data.dtype != dt or (weight is not None and weight.requires_grad):
            return _soft_cross_entropy_composed(input, target, weight, reduction,
                                                float(label_smoothing))
        tgt = target
        if type(input._data) is not np.ndarray:
            from ...cuda._nn import soft_cross_entropy
            return soft_cross_entropy(input, tgt, weight, reduction, float(label_smoothing))
        out = apply(NllLossBackward0, (input, tgt),
                    (None, _weight_arr(weight, dt), ignore_index, reduction,
                     float(label_smoothing), True))
        # PyTorch sums -target * log_softmax itself: the mean divides, the others negate
        return relabel(out, "DivBackward1" if reduction == "mean" else "NegBackward0")
    if target._data.shape == input._data.shape:  # probabilities, but not floating point
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {type_title(target._data.dtype)}")
    check_weight_untracked(weight, "nll_loss_forward")
    _class_checks(input, target, weight)
    if _fast_ce(input, target, weight, reduction, label_smoothing):
        return keep_saved(apply(CrossEntropyMeanBackward, (input,), target._data, ignore_index),
                         target)
    if type(input._data) is not np.ndarray:
        from ...cuda._nn import class_loss  # one fused kernel each way on the GPU
        return class_loss(input, target, weight, ignore_index, reduction, label_smoothing, True)
    out = keep_saved(apply(NllLossBackward0, (input,),
                           (target._data, _weight_arr(weight, dt), ignore_index, reduction,
                            float(label_smoothing), True)), target)
    # with smoothing PyTorch adds the smoothing term to the nll loss last
    return relabel(out, "AddBackward0") if label_smoothing > 0 else \
        _show_nll_node(out, input.dim(), reduction)


def _soft_cross_entropy_composed(input, target, weight, reduction, label_smoothing):
    """Cross-entropy on class probabilities from differentiable Tensor ops: the rare case of
    a weight that requires grad, or input and target of different float dtypes (the loss
    takes the promoted dtype)."""
    from .activation import log_softmax
    # log-probabilities in the input's dtype; the products promote
    x, q = input, target
    class_dim = 1 if x.dim() > 1 else 0
    n_classes = x.shape[class_dim]
    if label_smoothing > 0:
        q = q * (1 - label_smoothing) + label_smoothing / n_classes
    prod = log_softmax(x, class_dim) * q
    if weight is not None:
        prod = prod * weight.reshape((n_classes,) + (1,) * (x.dim() - 1 - class_dim))
    if reduction == "none":
        return -prod.sum(class_dim)
    if reduction == "sum":
        return -prod.sum()
    return relabel(-prod.sum() / (x.numel() // n_classes if n_classes else 0), "DivBackward1")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    check_weight_untracked(weight, "nll_loss_forward")
    _class_checks(input, target, weight)
    if type(input._data) is not np.ndarray:
        from ...cuda._nn import class_loss
        return class_loss(input, target, weight, ignore_index, reduction, 0.0, False)
    out = keep_saved(apply(NllLossBackward0, (input,),
                           (target._data, _weight_arr(weight, input._data.dtype), ignore_index,
                            reduction, 0.0, False)), target)
    return _show_nll_node(out, input.dim(), reduction)


def _show_nll_node(out, ndim, reduction):
    """PyTorch's node for nll over spatial dims: its 2-d kernel, viewed back to shape when an
    unreduced loss had other than 2 spatial dims."""
    if ndim <= 2 or out.grad_fn is None:
        return out
    return relabel(out, "ViewBackward0" if reduction == "none" and ndim != 4
                   else "NllLoss2DBackward0")
