"""RAdam (rectified Adam), with coupled or decoupled weight decay and maximize.

No compiled kernel: the fused path runs the same numpy update once over each run of an arena
whose parameters share a step count.
"""
import numpy as np

from .adam import lerp_
from .adamax import check_betas
from .optimizer import Optimizer, _check_lr, _lr_value

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """``torch.optim.RAdam``."""
    _fusable = True
    _counts_steps = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_lr(lr)
        check_betas(eps, betas, weight_decay)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._fused_step(closure)

    def _state_keys(self, group):
        return (("exp_avg", 0), ("exp_avg_sq", 0))

    def _hyper(self, group):
        b1, b2 = group["betas"]
        return (_lr_value(group["lr"]), float(b1), float(b2), float(group["eps"]),
                float(group["weight_decay"]), bool(group["decoupled_weight_decay"]),
                bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, step, kernel):
        lr, beta1, beta2, eps, wd, decoupled, maximize = hyper
        t = p.dtype.type
        m, v = bufs
        d = np.negative(g) if maximize else g
        if wd != 0:
            if decoupled:
                p *= t(1 - lr * wd)
            else:
                d = d + t(wd) * p
        lerp_(m, d, 1 - beta1)
        v *= t(beta2)
        v += (t(1 - beta2) * d) * d
        bc1 = 1 - beta1 ** step
        bc2 = 1 - beta2 ** step
        corrected = m / t(bc1)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bc2
        if rho_t > 5.0:
            root = np.sqrt(v)
            root += t(eps)
            adaptive = t(bc2 ** 0.5) / root
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            corrected *= t(lr)
            corrected *= adaptive
            corrected *= t(rect)
            p -= corrected
        else:
            corrected *= t(lr)
            p -= corrected
