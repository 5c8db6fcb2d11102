"""Adadelta, with weight decay and maximize.

No compiled kernel: the fused path runs the same numpy update once over each run of an arena
whose parameters share a step count.
"""
import numpy as np

from .optimizer import Optimizer, _check_lr, _scalar

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """``torch.optim.Adadelta``."""
    _fusable = True
    _counts_steps = True

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._fused_step(closure)

    def _state_keys(self, group):
        return (("square_avg", 0), ("acc_delta", 0))

    def _hyper(self, group):
        return (float(_scalar(group["lr"])), float(group["rho"]), float(group["eps"]),
                float(group["weight_decay"]), bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, step, kernel):
        lr, rho, eps, wd, maximize = hyper
        t = p.dtype.type
        sq, acc = bufs
        d = np.negative(g) if maximize else g
        if wd != 0:
            d = d + t(wd) * p
        sq *= t(rho)
        sq += (t(1 - rho) * d) * d
        std = sq + t(eps)
        np.sqrt(std, out=std)
        delta = acc + t(eps)
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= d
        acc *= t(rho)
        acc += (t(1 - rho) * delta) * delta
        p += t(-lr) * delta
