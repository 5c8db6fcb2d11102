"""Margin, ranking, embedding and triplet losses, composed of differentiable Tensor ops
(poisson_nll_loss and gaussian_nll_loss are in loss_nll.py)."""
import numpy as np

from ... import _dtype as D
from ...autograd.ops_math import relabel
from ...autograd.node import keep_saved
from .activation import logsigmoid
from .distance import pairwise_distance
from .loss import _broadcastable, _reduction, _size, check_weight_untracked


def _reduced(loss, reduction):
    if reduction == "none":
        return loss
    return loss.mean() if reduction == "mean" else loss.sum()


def _tensor_module():
    import fastnn
    return fastnn


def _where(cond, a, b):
    return _tensor_module().where(cond, a, b)


def _zeros_like(t):
    return _tensor_module().zeros_like(t)


def _shape_list(shape):
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _check_long(t):
    if t._data.dtype != np.int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{D.scalar_type_name(t._data.dtype)}")


# ---- elementwise margin losses --------------------------------------------------------------
def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -target * (input1 - input2) + margin), reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {_size(input1.shape)}, input2: {_size(input2.shape)}, "
            f"target: {_size(target.shape)} ")
    diff_shape = _broadcastable(input1._data, input2._data)
    _broadcastable(target._data, np.broadcast_to(np.int8(0), diff_shape))
    return _reduced((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """input where target is 1, max(0, margin - input) where target is -1, reduced."""
    reduction = _reduction(size_average, reduce, reduction)
    _broadcastable(target._data, input._data)
    zeros = _zeros_like(input)
    output_margin = _where(target != 1, (margin - input).clamp_min(0), zeros)
    output_self = _where(target != -1, input, zeros)
    return _reduced(output_margin + output_self, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-target * input)), reduced; the loss keeps the input's shape and dtype."""
    reduction = _reduction(size_average, reduce, reduction)
    shape = _broadcastable(input._data, target._data)
    if shape != tuple(input.shape):
        raise RuntimeError(f"output with shape {_shape_list(input.shape)} doesn't match the "
                           f"broadcast shape {_shape_list(shape)}")
    if target.requires_grad and _tensor_module().is_grad_enabled():
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect "
                           "to argument 'target'. This input cannot have requires_grad True.")
    loss = (-input * target).exp().log1p()
    if loss.dtype != input.dtype:
        loss = loss.to(input.dtype)
    return relabel(_reduced(loss, reduction), "SoftMarginLossBackward0")


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1."""
    reduction = _reduction(size_average, reduce, reduction)
    td = target.dim()
    if td not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if td == 1 and not (input1.dim() == 2 and input2.dim() == 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {_shape_list(input1.shape)} and {_shape_list(input2.shape)}.")
    if td == 0 and not (input1.dim() == 1 and input2.dim() == 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {_shape_list(input1.shape)} and {_shape_list(input2.shape)}.")
    eps = 1e-12
    prod_sum = (input1 * input2).sum(td)
    mag1 = (input1 * input1).sum(td) + eps
    mag2 = (input2 * input2).sum(td) + eps
    cos = prod_sum / (mag1 * mag2).sqrt()
    zeros = _zeros_like(cos)
    out = _where(target == 1, 1 - cos, zeros) + _where(target == -1, (cos - margin).clamp_min(0),
                                                       zeros)
    return _reduced(out, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """The mean over classes of the binary logistic loss, one value per sample, reduced."""
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    return _reduced(loss, reduction)


# ---- multi-class margin losses --------------------------------------------------------------
def _frames(input, name):
    nd = input.dim()
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {_shape_list(input.shape)}")
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{name}" not implemented for '
                                  f"'{D.scalar_type_name(input._data.dtype)}'")
    return (1 if nd <= 1 else input.shape[0]), (1 if nd == 0 else input.shape[nd - 1])


def _positive_part(raw):
    """max(0, raw) whose gradient is 0 where raw is exactly 0: the multi-class margin losses
    count only the hinge terms strictly above zero (clamp_min would pass a zero term's
    gradient on)."""
    above = (raw > 0).to(raw.dtype)
    return raw.clamp_min(0) * above


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """sum over j != y of weight[y] * max(0, margin - x[y] + x[j])**p / C, per sample."""
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    nframe, dim = _frames(input, "multi_margin_loss_cpu_kernel")
    if not (target.dim() <= 1 and target.numel() == nframe):
        raise RuntimeError(
            f"multi_margin_loss: target tensor should be 1-D with size equal to the number of "
            f"input samples (batch size). Expected target size [{nframe}], but got "
            f"{_shape_list(target.shape)}. Input has shape {_shape_list(input.shape)}.")
    if weight is not None:
        if weight.numel() != dim:
            raise RuntimeError(f"inconsistent weight size, expected {dim} but got "
                               f"{_shape_list(weight.shape)}")
        if weight._data.dtype != input._data.dtype:
            raise RuntimeError(f"expected scalar type {D.scalar_type_name(input._data.dtype)} "
                               f"but found {D.scalar_type_name(weight._data.dtype)}")
    _check_long(target)
    check_weight_untracked(weight, "multi_margin_loss")
    y = target._data.reshape(-1)
    if y.size and (y.min() < 0 or y.max() >= dim):
        raise RuntimeError("target out of range")
    fastnn = _tensor_module()
    x = input.reshape(nframe, dim)
    yt = fastnn.tensor(y.reshape(nframe, 1))
    z = _positive_part(margin - x.gather(1, yt) + x)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight[yt]
    other = fastnn.tensor(np.arange(dim)[None, :] != y[:, None])
    loss = (z * other).sum(1) / dim
    if reduction == "none":
        loss = loss if target.dim() > 0 else loss.reshape(())
    else:
        loss = _reduced(loss, reduction)
    return keep_saved(relabel(loss, "MultiMarginLossBackward0"), target)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """For each listed target class y (up to the first -1) and each unlisted class i,
    max(0, 1 - (x[y] - x[i])), summed per sample and divided by the class count."""
    reduction = _reduction(size_average, reduce, reduction)
    nd = input.dim()
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {_shape_list(input.shape)}")
    nframe, dim = (1, 1 if nd == 0 else input.shape[0]) if nd <= 1 else tuple(input.shape)
    ok = (target.dim() <= 1 and target.numel() == dim) if nd <= 1 else \
        (target.dim() == 2 and tuple(target.shape) == (nframe, dim))
    if not ok:
        raise RuntimeError(f"inconsistent target size: {_shape_list(target.shape)} for input of "
                           f"size: {_shape_list(input.shape)}")
    _check_long(target)
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"multilabel_margin_loss_forward_out_frame" not implemented '
                                  f"for '{D.scalar_type_name(input._data.dtype)}'")
    y = target._data.reshape(nframe, dim)
    if y.size and (y.min() < -1 or y.max() >= dim):
        raise RuntimeError("argument #2 'target' is out of range")
    # the listed targets of a row are those before its first -1
    valid = np.cumprod(y != -1, axis=1).astype(bool)
    ys = np.where(valid, y, 0)
    listed = np.zeros((nframe, dim), bool)
    rows = np.broadcast_to(np.arange(nframe)[:, None], ys.shape)
    listed[rows[valid], ys[valid]] = True
    fastnn = _tensor_module()
    x = input.reshape(nframe, dim)
    xy = x.gather(1, fastnn.tensor(ys))                               # (N, K)
    h = _positive_part(1 - xy.unsqueeze(2) + x.unsqueeze(1))          # (N, K, C)
    mask = fastnn.tensor((valid[:, :, None] & ~listed[:, None, :]).astype(input._data.dtype))
    loss = (h * mask).sum((1, 2)) / dim
    if reduction == "none":
        return loss if target.dim() > 1 else loss.reshape(())
    return _reduced(loss, reduction)


# ---- triplet losses -------------------------------------------------------------------------
def _check_triplet_dims(anchor, positive, negative):
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not (a == p and p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {a}D, positive "
                           f"{p}D, and negative {n}D inputs")


def _triplet(anchor, positive, negative, dist, margin, swap, reduction):
    dist_pos = dist(anchor, positive)
    dist_neg = dist(anchor, negative)
    if swap:
        dist_neg = _minimum(dist_neg, dist(positive, negative))
    return _reduced((margin + dist_pos - dist_neg).clamp_min(0), reduction)


def _minimum(a, b):
    return _tensor_module().minimum(a, b)


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with the p-norm distance."""
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)

    def dist(a, b):
        return pairwise_distance(a, b, p, eps)
    return _triplet(anchor, positive, negative, dist, margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """triplet_margin_loss with any distance (pairwise_distance by default)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    return _triplet(anchor, positive, negative, dist, margin, swap, reduction)


__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "cosine_embedding_loss", "multilabel_soft_margin_loss", "multi_margin_loss",
           "multilabel_margin_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss"]
