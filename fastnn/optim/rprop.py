"""Rprop (resilient backpropagation): per-element step sizes driven by gradient signs.

No compiled kernel: the fused path runs the numpy update once over each run of an arena
whose parameters share a step count.
"""
import numpy as np

from .optimizer import Optimizer, _check_lr, _scalar

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """``torch.optim.Rprop``: step *= eta+ when the gradient keeps its sign, eta- when it flips
    (and that gradient is skipped), clamped to step_sizes; p -= sign(g) * step."""
    _fusable = True
    _counts_steps = True

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def step(self, closure=None):
        return self._fused_step(closure)

    def _state_keys(self, group):
        # every step size starts at the group's learning rate
        return (("prev", 0), ("step_size", float(_scalar(group["lr"]))))

    def _hyper(self, group):
        (eta_minus, eta_plus), (lo, hi) = group["etas"], group["step_sizes"]
        return (float(eta_minus), float(eta_plus), float(lo), float(hi),
                bool(group["maximize"]))

    def _update(self, hyper, p, g, bufs, step, kernel):
        eta_minus, eta_plus, lo, hi, maximize = hyper
        t = p.dtype.type
        prev, size = bufs
        d = np.negative(g) if maximize else g
        agree = np.sign(d * prev)
        size *= np.where(agree > 0, t(eta_plus), np.where(agree < 0, t(eta_minus), t(1)))
        np.clip(size, t(lo), t(hi), out=size)
        # after a sign flip the gradient is forgotten: no move now, no flip test next step
        d = np.where(agree < 0, t(0), d)
        p -= np.sign(d) * size
        prev[...] = d
