"""NAdam (Adam with Nesterov momentum), with coupled or decoupled weight decay and maximize.

No compiled kernel: the fused path runs the same numpy update once over each run of an arena
whose parameters share a step count and ``mu_product``.
"""
import numpy as np

from ._scalar_state import ScalarStateOptimizer
from .adam import lerp_
from .adamax import check_betas
from .optimizer import _check_lr, _lr_value

__all__ = ["NAdam"]


def _mu(beta1, momentum_decay, step):
    return beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))


class NAdam(ScalarStateOptimizer):
    """``torch.optim.NAdam``; each parameter's state holds ``mu_product`` as a 0-d tensor."""
    _tensor_scalar_keys = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_lr(lr)
        check_betas(eps, betas, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        foreach=foreach, capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    def _advance(self, group, st, step):
        mp = st.get("mu_product")
        if mp is None:
            mp = st["mu_product"] = self._scalar_tensor(1.0)
        arr = mp._data
        t = arr.dtype.type
        arr[...] = arr * t(_mu(float(group["betas"][0]), float(group["momentum_decay"]), step))
        mp._vc[0] += 1
        return float(arr)

    def _state_keys(self, group):
        return (("exp_avg", 0), ("exp_avg_sq", 0))

    def _hyper(self, group):
        b1, b2 = group["betas"]
        return (_lr_value(group["lr"]), float(b1), float(b2), float(group["eps"]),
                float(group["weight_decay"]), float(group["momentum_decay"]),
                bool(group["decoupled_weight_decay"]), bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, info, kernel):
        lr, beta1, beta2, eps, wd, mdecay, decoupled, maximize = hyper
        step, mu_product = info
        t = p.dtype.type
        m, v = bufs
        d = np.negative(g) if maximize else g
        bc2 = 1 - beta2 ** step
        if wd != 0:
            if decoupled:
                p *= t(1 - lr * wd)
            else:
                d = d + t(wd) * p
        mu = _mu(beta1, mdecay, step)
        mu_next = _mu(beta1, mdecay, step + 1)
        lerp_(m, d, 1 - beta1)
        v *= t(beta2)
        v += (t(1 - beta2) * d) * d
        denom = v / t(bc2)
        np.sqrt(denom, out=denom)
        mu_product_next = mu_product * mu_next
        denom += t(eps)
        p += (t(-lr * (1.0 - mu) / (1.0 - mu_product)) * d) / denom
        p += (t((-lr * mu_next) / (1.0 - mu_product_next)) * m) / denom
