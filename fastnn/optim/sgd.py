"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
import numpy as np

from .optimizer import Optimizer, _check_lr, _core, _scalar, kernels_for  # noqa: F401

__all__ = ["SGD"]


def _check_fused(fused, foreach, differentiable):
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


class SGD(Optimizer):
    """``torch.optim.SGD``; ``fused=False`` selects the per-parameter numpy reference path."""
    _fusable = True

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def step(self, closure=None):
        return self._fused_step(closure)

    def _integral_message(self, p):
        return "For integral input tensors, argument alpha must not be a floating point number."

    def _state_keys(self, group):
        return (("momentum_buffer", None),) if group["momentum"] != 0 else ()

    def _hyper(self, group):
        return (float(_scalar(group["lr"])), float(group["momentum"]), float(group["dampening"]),
                float(_scalar(group["weight_decay"])), bool(group["nesterov"]),
                bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, first, kernel):
        lr, mom, damp, wd, nesterov, maximize = hyper
        buf = bufs[0] if bufs else None
        if kernel:
            kernels_for(p).sgd_step(p, g, buf, lr, mom, damp, wd, nesterov, maximize,
                                    bool(first))
            return
        # torch.optim's single-tensor SGD, op for op, scalars rounded to the array dtype
        t = p.dtype.type
        d = np.negative(g) if maximize else g
        if wd != 0:
            d = d + t(wd) * p
        if mom != 0:
            if first:
                np.copyto(buf, d)
            else:
                buf *= t(mom)
                buf += t(1 - damp) * d
            d = d + t(mom) * buf if nesterov else buf
        p += t(-lr) * d
