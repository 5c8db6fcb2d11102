"""ASGD (averaged stochastic gradient descent), with weight decay and maximize.

Each parameter's state holds ``eta`` and ``mu`` as 0-d tensors, advanced before the array
update; no compiled kernel.
"""
import numpy as np

from ._scalar_state import ScalarStateOptimizer
from .optimizer import _check_lr, _lr_value

__all__ = ["ASGD"]


class ASGD(ScalarStateOptimizer):
    """``torch.optim.ASGD``."""
    _tensor_scalar_keys = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _advance(self, group, st, step):
        lr = _lr_value(group["lr"])
        lambd, alpha, t0 = group["lambd"], group["alpha"], group["t0"]
        if st.get("eta") is None:
            st["eta"] = self._scalar_tensor(lr)
        if st.get("mu") is None:
            st["mu"] = self._scalar_tensor(1.0)
        eta, mu = st["eta"], st["mu"]
        old = (float(eta._data), float(mu._data))
        # new values pass through a tensor of the default dtype, as torch.as_tensor does
        new_eta = self._step_dtype()(lr / ((1 + lambd * lr * step) ** alpha))
        new_mu = self._step_dtype()(1 / max(1, step - t0))
        eta._data[...] = new_eta
        mu._data[...] = new_mu
        eta._vc[0] += 1
        mu._vc[0] += 1
        return old

    def _state_keys(self, group):
        return (("ax", 0),)

    def _hyper(self, group):
        return (float(group["lambd"]), float(group["weight_decay"]), bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, info, kernel):
        lambd, wd, maximize = hyper
        eta, mu = info[1]
        t = p.dtype.type
        ax = bufs[0]
        d = np.negative(g) if maximize else g
        if wd != 0:
            d = d + t(wd) * p
        p *= t(1 - lambd * eta)
        p += t(-eta) * d
        if mu != 1:
            ax += (p - ax) * t(mu)
        else:
            np.copyto(ax, p)
