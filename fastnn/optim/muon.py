"""Muon: momentum SGD for 2-D parameters whose step is the orthogonalized momentum.

The (Nesterov) momentum of each matrix is pushed towards the nearest semi-orthogonal matrix
by a few Newton-Schulz iterations of a quintic polynomial, run in bfloat16 precision as in
PyTorch. fastnn has no bfloat16 arrays, so the iteration works on float32 arrays whose
values are rounded to bfloat16 after every operation that PyTorch stores in bfloat16
(products accumulate in float32 first, as PyTorch's bfloat16 matrix products do).
"""
import math

import numpy as np

from ..tensor import Tensor, _wrap
from .adam import lerp_
from .optimizer import Optimizer, _lr_value, _scalar

__all__ = ["Muon"]

_NS_DEFAULT = (3.4445, -4.775, 2.0315)


def _bf16(x):
    """float32 array ``x`` rounded to the nearest bfloat16 (ties to even), in float32."""
    x = np.asarray(x, dtype=np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    out = bits.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), x, out)


def _orthogonalize(m, coefficients, steps, eps):
    """Newton-Schulz iterations towards the semi-orthogonal factor of matrix ``m``."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if m.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(v) for v in coefficients)
    x = _bf16(m.astype(np.float32))
    tall = m.shape[0] > m.shape[1]
    if tall:  # iterate on the wide orientation: the Gram matrix is the smaller one
        x = x.T
    norm = _bf16(np.sqrt(np.sum(x * x, dtype=np.float32)))
    x = _bf16(x / max(norm, _bf16(np.float32(eps))))
    for _ in range(steps):
        gram = _bf16(x @ x.T)
        poly = _bf16(b * gram + c * (gram @ gram))
        x = _bf16(a * x + poly @ x)
    return x.T if tall else x


def _lr_scale(adjust_lr_fn, shape):
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1, rows / cols))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(rows, cols))
    return 1.0


class Muon(Optimizer):
    """``torch.optim.Muon`` (2-D parameters only)."""

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=_NS_DEFAULT, eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= _scalar(lr):
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ("original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def step(self, closure=None):
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            todo = []
            for p in group["params"]:
                if p._grad is None:
                    continue
                st = self.state[p]
                if "momentum_buffer" not in st:
                    st["momentum_buffer"] = _wrap(np.zeros_like(p._grad._data))
                todo.append((p, st["momentum_buffer"]))
            self._step_group(group, todo)
        return loss

    def _step_group(self, group, todo):
        lr = _lr_value(group["lr"])
        wd, momentum = float(group["weight_decay"]), float(group["momentum"])
        for p, buf_t in todo:
            g = p._grad._data
            if g.ndim != 2:
                raise ValueError("Param gradient must be a 2D matrix")
            arr, buf = p._data, buf_t._data
            lerp_(buf, g, 1 - momentum)
            buf_t._vc[0] += 1
            if group["nesterov"]:
                update = g.astype(buf.dtype, copy=True)
                lerp_(update, buf, momentum)
            else:
                update = buf
            ortho = _orthogonalize(update, group["ns_coefficients"], group["ns_steps"],
                                   group["eps"])
            step = lr * _lr_scale(group["adjust_lr_fn"], arr.shape)
            t = arr.dtype.type
            p._vc[0] += 1
            arr *= t(1 - lr * wd)
            # PyTorch adds alpha * update with one rounding (a fused multiply-add); the
            # product of a bfloat16 value and a float32 step is exact in float64
            wide = ortho.astype(np.float64)
            wide *= -np.float64(t(step))
            wide += arr
            np.copyto(arr, wide, casting="unsafe")
