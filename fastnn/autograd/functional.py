"""Jacobian-style helpers built on ``autograd.grad``."""
import numpy as np


def vjp(func, inputs, v=None):
    from . import grad
    ins = inputs if isinstance(inputs, tuple) else (inputs,)
    ins = tuple(t.detach().requires_grad_(True) for t in ins)
    out = func(*ins)
    g = grad(out, ins, v, allow_unused=True, materialize_grads=True)
    return out.detach(), (g if isinstance(inputs, tuple) else g[0])


def jacobian(func, inputs):
    """Row by row: one backward per output element (fine for the small cases it serves)."""
    from . import grad
    from ..tensor import _wrap
    single = not isinstance(inputs, tuple)
    ins = (inputs,) if single else inputs
    ins = tuple(t.detach().requires_grad_(True) for t in ins)
    out = func(*ins)
    rows = [[] for _ in ins]
    flat = out.reshape(-1)
    for i in range(flat.numel()):
        gs = grad(flat[i], ins, retain_graph=True, allow_unused=True, materialize_grads=True)
        for k, g in enumerate(gs):
            rows[k].append(g._data.reshape(-1))
    jac = tuple(_wrap(np.stack(r).reshape(out.shape + t.shape) if r else
                      np.zeros(out.shape + t.shape, t._data.dtype)) for r, t in zip(rows, ins))
    return jac[0] if single else jac
