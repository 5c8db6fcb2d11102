"""Poisson and Gaussian negative log-likelihood losses, composed of differentiable Tensor ops."""
import math

import numpy as np

from .loss import _broadcastable, _reduction
from .loss_margin import _reduced


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """exp(input) - target * input (log_input) or input - target * log(input + eps), plus
    Stirling's approximation of log(target!) for targets above 1 when ``full``."""
    reduction = _reduction(size_average, reduce, reduction)
    _broadcastable(input._data, target._data)
    if log_input:
        loss = input.exp() - target * input
    else:
        with np.errstate(divide="ignore", invalid="ignore"):  # log of inputs <= -eps
            loss = input - target * (input + eps).log()
    if full:
        # log(0) and 0 * -inf for targets <= 1, which the masked_fill then drops
        with np.errstate(divide="ignore", invalid="ignore"):
            stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduced(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """0.5 * (log(var) + (input - target)**2 / var), var clamped at eps without cutting its
    gradient; var may have the input's shape, lack its last dimension, or differ from it in
    exactly one dimension of size one."""
    import fastnn
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * fastnn.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.dim() == var.dim() and
                  sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not valid")
    # the clamp is outside autograd: the gradient reaches var unmasked
    var = var + (var.clamp(min=eps) - var).detach()
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduced(loss, reduction)


__all__ = ["poisson_nll_loss", "gaussian_nll_loss"]
