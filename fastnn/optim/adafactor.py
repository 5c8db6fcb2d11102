"""Adafactor: Adam-like steps whose second moment is kept factored for matrices.

A parameter of two or more dimensions keeps only a row and a column mean of the squared
gradient over its last two dimensions (``row_var``, ``col_var``) and rebuilds the full
estimate as their outer product; vectors and scalars keep the whole ``variance``. The step
size is relative to the parameter's RMS and decays as 1/sqrt(step), and the update is
clipped to an RMS of ``d``.

The update runs in numpy per parameter, in the parameter's dtype, with PyTorch's order of
operations (a norm that is then squared, rather than a mean of squares) so that
trajectories agree with PyTorch's to rounding.
"""
import math

import numpy as np

from ..tensor import Tensor, _wrap
from .adam import lerp_
from .optimizer import Optimizer, _lr_value, _scalar

__all__ = ["Adafactor"]


def _norm(a, axis=None):
    """sqrt of the sum of squares, in a's dtype (a 0-d array when axis is None)."""
    return np.sqrt(np.sum(a * a, axis=axis, keepdims=axis is not None))


class Adafactor(Optimizer):
    """``torch.optim.Adafactor``."""
    _tensor_scalar_keys = ("step",)

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d,
                        weight_decay=weight_decay, foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)

    def _init_state(self, p, g):
        st = self.state[p]
        if len(st) == 0:
            st["step"] = _wrap(np.array(0.0, dtype=self._step_dtype()))
            if g.ndim > 1:
                st["row_var"] = _wrap(np.zeros(g.shape[:-1] + (1,), dtype=g.dtype))
                st["col_var"] = _wrap(np.zeros(g.shape[:-2] + (1,) + g.shape[-1:],
                                               dtype=g.dtype))
            else:
                st["variance"] = _wrap(np.zeros_like(g))
        elif not isinstance(st["step"], Tensor):  # a state saved with a plain-number step
            st["step"] = _wrap(np.array(float(st["step"]), dtype=self._step_dtype()))
        return st

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            todo = []
            for p in group["params"]:
                if p._grad is None:
                    continue
                if p._data.dtype.kind == "c":
                    raise RuntimeError("Adafactor does not support complex parameters")
                todo.append((p, self._init_state(p, p._grad._data)))
            self._step_group(group, todo)
        return loss

    def _step_group(self, group, todo):
        lr = _lr_value(group["lr"])
        beta2_decay, d = float(group["beta2_decay"]), float(group["d"])
        wd, maximize = float(group["weight_decay"]), bool(group["maximize"])
        eps1, eps2 = group["eps"]
        for p, st in todo:
            arr = p._data
            g = p._grad._data
            if g.dtype != arr.dtype or g.shape != arr.shape:
                g = np.broadcast_to(g, arr.shape).astype(arr.dtype)
            if maximize:
                g = np.negative(g)
            t = arr.dtype.type
            if eps1 is None:  # the first parameter's dtype fixes it for the group, as in PyTorch
                eps1 = float(np.finfo(arr.dtype).eps)
            step_arr = st["step"]._data
            step_arr += 1
            st["step"]._vc[0] += 1
            step = float(step_arr)
            beta2_weight = step ** beta2_decay
            rho = min(lr, 1 / step ** 0.5)
            rms = float(_norm(arr)) / math.sqrt(arr.size)
            alpha = max(eps2, rms) * rho
            p._vc[0] += 1
            if wd != 0:
                arr *= t(1 - lr * wd)
            if g.ndim > 1:
                row, col = st["row_var"]._data, st["col_var"]._data
                row_mean = np.square(_norm(g, -1)) / t(g.shape[-1])
                lerp_(row, row_mean, beta2_weight)
                col_mean = np.square(_norm(g, -2)) / t(g.shape[-2])
                lerp_(col, col_mean, beta2_weight)
                st["row_var"]._vc[0] += 1
                st["col_var"]._vc[0] += 1
                estimate = row * col  # the outer product over the last two dimensions
                estimate /= np.maximum(row.mean(axis=-2, keepdims=True, dtype=arr.dtype),
                                       t(eps1))
            else:
                var = st["variance"]._data
                lerp_(var, g * g, beta2_weight)
                st["variance"]._vc[0] += 1
                estimate = var.copy()
            np.maximum(estimate, t(eps1 * eps1), out=estimate)
            update = np.reciprocal(np.sqrt(estimate, out=estimate), out=estimate)
            update *= g
            clip = max(1.0, float(_norm(update)) / (math.sqrt(update.size) * d))
            update *= t(-alpha / clip)
            arr += update
