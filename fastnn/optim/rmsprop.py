"""RMSprop (optionally centered, with momentum).

No compiled kernel: the fused path runs the same numpy update once over each group's
arena instead of once per parameter.
"""
import numpy as np

from .adam import lerp_
from .optimizer import Optimizer, _check_lr, _scalar

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """``torch.optim.RMSprop``."""
    _fusable = True
    _counts_steps = True

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._fused_step(closure)

    def _state_keys(self, group):
        keys = (("square_avg", 0),)
        if group["momentum"] > 0:
            keys += (("momentum_buffer", 0),)
        if group["centered"]:
            keys += (("grad_avg", 0),)
        return keys

    def _hyper(self, group):
        return (float(_scalar(group["lr"])), float(group["alpha"]), float(group["eps"]),
                float(group["weight_decay"]), float(group["momentum"]), bool(group["centered"]),
                bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, step, kernel):
        lr, alpha, eps, wd, mom, centered, maximize = hyper
        t = p.dtype.type
        sq = bufs[0]
        d = np.negative(g) if maximize else g
        if wd != 0:
            d = d + t(wd) * p
        sq *= t(alpha)
        sq += (t(1 - alpha) * d) * d
        if centered:
            ga = bufs[-1]
            lerp_(ga, d, 1 - alpha)
            avg = sq + (t(-1) * ga) * ga
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(sq)
        avg += t(eps)
        if mom > 0:
            buf = bufs[1]
            buf *= t(mom)
            buf += d / avg
            p += t(-lr) * buf
        else:
            p += (t(-lr) * d) / avg
