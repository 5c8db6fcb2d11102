"""Adam and AdamW (decoupled weight decay), with amsgrad and maximize."""
import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, _check_lr, _core, _lr_value, _scalar, kernels_for  # noqa: F401
from .sgd import _check_fused

__all__ = ["Adam", "AdamW"]


def lerp_(a, b, w):
    """a <- lerp(a, b, w) with torch.lerp's two formulas (exact at either end)."""
    t = a.dtype.type
    w = t(w)
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        np.copyto(a, b - (b - a) * (t(1) - w))


class Adam(Optimizer):
    """``torch.optim.Adam``; ``fused=False`` selects the per-parameter numpy reference path."""
    _fusable = True
    _counts_steps = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= _scalar(betas[0]) < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= _scalar(betas[1]) < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        betas = tuple(_scalar(b) for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def step(self, closure=None):
        return self._fused_step(closure)

    def _state_keys(self, group):
        keys = (("exp_avg", 0), ("exp_avg_sq", 0))
        return keys + (("max_exp_avg_sq", 0),) if group["amsgrad"] else keys

    def _hyper(self, group):
        b1, b2 = group["betas"]
        return (_lr_value(group["lr"]), float(_scalar(b1)), float(_scalar(b2)),
                float(group["eps"]), float(_scalar(group["weight_decay"])),
                bool(group["amsgrad"]), bool(group["maximize"]),
                bool(group.get("decoupled_weight_decay", False)))

    def _update(self, hyper, p, g, bufs, step, kernel):
        lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled = hyper
        m, v = bufs[0], bufs[1]
        vmax = bufs[2] if amsgrad else None
        # the kernel derives its scalars from lr in double: a float32 tensor lr takes numpy
        if kernel and (type(lr) is float or type(p) is not np.ndarray):
            kernels_for(p).adam_step(p, g, m, v, vmax, lr, beta1, beta2, eps, wd, step, amsgrad,
                                     maximize, decoupled)
            return
        # torch.optim's single-tensor Adam, op for op
        t = p.dtype.type
        d = np.negative(g) if maximize else g
        if wd != 0:
            if decoupled:
                p *= t(1 - lr * wd)
            else:
                d = d + t(wd) * p
        lerp_(m, d, 1 - beta1)
        v *= t(beta2)
        v += (t(1 - beta2) * d) * d
        step_size = lr / (1 - beta1 ** step)
        bc2_sqrt = (1 - beta2 ** step) ** 0.5
        if amsgrad:
            np.maximum(vmax, v, out=vmax)
            v = vmax
        denom = np.sqrt(v) / t(bc2_sqrt)
        denom += t(eps)
        p += (t(-step_size) * m) / denom


class AdamW(Adam):
    """``torch.optim.AdamW``: Adam whose weight decay shrinks the parameters directly."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
