"""Jacobian-style helpers built on ``autograd.grad``."""
import numpy as np


def vjp(func, inputs, v=None):
    from . import grad
    ins = inputs if isinstance(inputs, tuple) else (inputs,)
    ins = tuple(t.detach().requires_grad_(True) for t in ins)
    out = func(*ins)
    g = grad(out, ins, v, allow_unused=True, materialize_grads=True)
    return out.detach(), (g if isinstance(inputs, tuple) else g[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """Row by row: one backward per output element (fine for the small cases it serves).

    ``vectorize`` is accepted and changes nothing; ``create_graph=True`` needs higher-order
    gradients, which fastnn does not have."""
    if strategy not in ("reverse-mode", "forward-mode"):  # PyTorch's exception types
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian is only implemented for `vectorize=True`.")
    if create_graph:
        raise NotImplementedError("jacobian(create_graph=True) needs higher-order gradients, "
                                  "which fastnn does not support")
    if strict:
        raise NotImplementedError("jacobian(strict=True) is not supported")
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
