"""Base of the arena-stepped optimizers whose per-parameter state also holds 0-d tensors
(NAdam's ``mu_product``, ASGD's ``eta`` and ``mu``).

Those scalars are advanced in plain Python, once per parameter and step, before the array
updates run; ``_update`` then receives ``info = (step, extra)``, where ``extra`` is what
``_advance`` returned for the parameter.  Parameters of an arena that share both values go
through one numpy update together, as with the other step-counting optimizers.
"""
import numpy as np

from ..tensor import _wrap
from .optimizer import Optimizer

__all__ = ["ScalarStateOptimizer"]


class ScalarStateOptimizer(Optimizer):
    _fusable = True
    _counts_steps = True
    _extra = None
    _loose_extra = None

    def _advance(self, group, st, step):
        """Create or update the 0-d state of one parameter for its step ``step``."""
        raise NotImplementedError

    def _scalar_tensor(self, value):
        return _wrap(np.array(value, dtype=self._step_dtype()))

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        extra = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                st = self.state[p]
                if "step" not in st:  # first in the state dict, as in PyTorch
                    st["step"] = self._scalar_tensor(0.0)
                extra[id(p)] = self._advance(group, st, float(st["step"]) + 1)
        self._extra = extra
        try:
            self._fused_step()
        finally:
            self._extra = None
        return loss

    def _sync(self, arena, i, st, keys, bts, init=True):
        info = super()._sync(arena, i, st, keys, bts, init)
        if not init or self._extra is None:
            return info
        return (info, self._extra[id(arena.params[i])])

    def _step_param(self, p, keys, hyper, kernel):
        self._loose_extra = self._extra[id(p)]
        super()._step_param(p, keys, hyper, kernel)

    def _apply(self, hyper, p, g, bufs, info, kernel):
        if not isinstance(info, tuple):
            info = (info, self._loose_extra)
        super()._apply(hyper, p, g, bufs, info, False)
