"""Adagrad, with learning-rate decay and weight decay.

No compiled kernel: the fused path runs the same numpy update once over each run of an arena
whose parameters share a step count.
"""
import numpy as np

from ..tensor import _wrap
from .optimizer import Optimizer, _check_lr, _lr_value
from .sgd import _check_fused

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``torch.optim.Adagrad``: state is created for every parameter at construction."""
    _fusable = True
    _counts_steps = True

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)
        for gi, group in enumerate(self.param_groups):
            self._init_state(gi, group)

    def _init_state(self, gi, group):
        init = group["initial_accumulator_value"]
        packed = set()
        if group.get("fused") is not False:
            for a in self._layout(gi, group)[0]:
                steps, sums = a.step_tensors(), a.buffer("sum")
                for i, p in enumerate(a.params):
                    sums[i]._data.fill(init)
                    self.state[p] = {"step": steps[i], "sum": sums[i]}
                    packed.add(id(p))
        for p in group["params"]:
            if id(p) not in packed:
                self.state[p] = {"step": _wrap(np.zeros((), self._step_dtype())),
                                 "sum": _wrap(np.full_like(p._data, init))}

    def step(self, closure=None):
        return self._fused_step(closure)

    def _state_keys(self, group):
        # state created lazily (a group added later) starts from the constructor's value
        return (("sum", self.defaults["initial_accumulator_value"]),)

    def _hyper(self, group):
        return (_lr_value(group["lr"]), float(group["lr_decay"]),
                float(group["weight_decay"]), float(group["eps"]), bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, step, kernel):
        lr, lr_decay, wd, eps, maximize = hyper
        t = p.dtype.type
        s = bufs[0]
        d = np.negative(g) if maximize else g
        if wd != 0:
            d = d + t(wd) * p
        clr = lr / (1 + (step - 1) * lr_decay)
        s += d * d
        std = np.sqrt(s)
        std += t(eps)
        p += (t(-clr) * d) / std
