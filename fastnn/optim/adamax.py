"""Adamax (Adam with the infinity norm), with weight decay and maximize.

No compiled kernel: the fused path runs the same numpy update once over each run of an arena
whose parameters share a step count.
"""
import numpy as np

from .adam import lerp_
from .optimizer import Optimizer, _check_lr, _lr_value

__all__ = ["Adamax"]


def check_betas(eps, betas, weight_decay):
    """The checks fastnn's Adam-like optimizers share, with PyTorch's messages."""
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


class Adamax(Optimizer):
    """``torch.optim.Adamax``."""
    _fusable = True
    _counts_steps = True

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        check_betas(eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._fused_step(closure)

    def _state_keys(self, group):
        return (("exp_avg", 0), ("exp_inf", 0))

    def _hyper(self, group):
        b1, b2 = group["betas"]
        return (_lr_value(group["lr"]), float(b1), float(b2), float(group["eps"]),
                float(group["weight_decay"]), bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, step, kernel):
        lr, beta1, beta2, eps, wd, maximize = hyper
        t = p.dtype.type
        m, inf = bufs
        d = np.negative(g) if maximize else g
        if wd != 0:
            d = d + t(wd) * p
        lerp_(m, d, 1 - beta1)
        inf *= t(beta2)
        norm = np.abs(d)
        norm += t(eps)
        np.maximum(inf, norm, out=inf)
        clr = lr / (1 - beta1 ** step)
        p += (t(-clr) * m) / inf
