"""Jacobian-style helpers built on ``autograd.grad``: vjp, jvp and jacobian.

fastnn has first-order gradients only, so ``jvp`` is the Jacobian times ``v`` (one backward
per output element, fine for the small functions these helpers serve) and the helpers that
need second derivatives (hessian, hvp, vhp) raise.
"""
import numpy as np


def _as_tuple(x):
    return (x, False) if isinstance(x, tuple) else ((x,), True)


def _prepare(inputs):
    ins, single = _as_tuple(inputs)
    return tuple(t.detach().requires_grad_(True) for t in ins), single


def _check_strict(outs, ins, strict):
    """PyTorch's strict mode: every output must depend differentiably on the inputs."""
    if not strict:
        return
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(f"Output {i} of the user-provided function does not require "
                               "gradients. The outputs must be computed in a differentiable "
                               "manner from the input when running in strict mode.")


def _grads(out, ins, seed=None, retain=False, strict=False, who="The output"):
    """d(out . seed)/d(ins), zeros for inputs out does not depend on (raises under strict)."""
    from . import grad
    if not out.requires_grad:
        return [np.zeros(t.shape, t._data.dtype) for t in ins]
    gs = grad(out, ins, seed, retain_graph=retain, allow_unused=True)
    for k, g in enumerate(gs):
        if g is None and strict:
            raise RuntimeError(f"{who} of the user-provided function is independent of "
                               f"input {k}. This is not allowed in strict mode.")
    return [np.zeros(t.shape, t._data.dtype) if g is None else g._data for g, t in zip(gs, ins)]


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product for each input."""
    from ..tensor import _wrap
    if create_graph:
        raise NotImplementedError("vjp(create_graph=True) needs higher-order gradients, which "
                                  "fastnn does not support")
    ins, single = _prepare(inputs)
    outs, single_out = _as_tuple(func(*ins))
    _check_strict(outs, ins, strict)
    vs = (None,) * len(outs) if v is None else _as_tuple(v)[0]
    for o, s in zip(outs, vs):
        if s is None and o.numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
    total = [np.zeros(t.shape, t._data.dtype) for t in ins]
    for o, s in zip(outs, vs):
        for k, g in enumerate(_grads(o, ins, s, retain=True, strict=strict)):
            total[k] = total[k] + g
    res = tuple(_wrap(g) for g in total)
    detached = tuple(o.detach() for o in outs)
    return (detached[0] if single_out else detached), (res[0] if single else res)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs, nested by output then input as PyTorch nests it.

    ``vectorize`` is accepted and changes nothing; ``create_graph=True`` needs higher-order
    gradients, which fastnn does not have."""
    from ..tensor import _wrap
    if strategy not in ("reverse-mode", "forward-mode"):  # PyTorch's exception types
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-reverse "
                                  "Hessian is only implemented for `vectorize=True`.")
    if create_graph:
        raise NotImplementedError("jacobian(create_graph=True) needs higher-order gradients, "
                                  "which fastnn does not support")
    ins, single = _prepare(inputs)
    outs, single_out = _as_tuple(func(*ins))
    _check_strict(outs, ins, strict)
    per_output = []
    for j, out in enumerate(outs):
        rows = [[] for _ in ins]
        flat = out.reshape(-1)
        for i in range(flat.numel()):
            for k, g in enumerate(_grads(flat[i], ins, retain=True, strict=strict,
                                         who=f"Output {j}")):
                rows[k].append(g.reshape(-1))
        jac = tuple(_wrap(np.stack(r).reshape(out.shape + t.shape) if r else
                          np.zeros(out.shape + t.shape, t._data.dtype))
                    for r, t in zip(rows, ins))
        per_output.append(jac[0] if single else jac)
    return per_output[0] if single_out else tuple(per_output)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, through the Jacobian."""
    from ..tensor import _wrap
    ins, single = _prepare(inputs)
    vs = _as_tuple(v)[0] if v is not None else None
    if vs is None:
        if any(t.numel() != 1 for t in ins):
            raise RuntimeError("The vector v can only be None if the input to the "
                               "user-provided function is a single Tensor with a single "
                               "element.")
        vs = tuple(_wrap(np.ones(t.shape, t._data.dtype)) for t in ins)
    for t, s in zip(ins, vs):
        if tuple(s.shape) != tuple(t.shape):
            raise RuntimeError(f"Mismatch in shape: expected v of shape {list(t.shape)} but "
                               f"got {list(s.shape)}")
    outs, single_out = _as_tuple(func(*ins))
    jac = jacobian(func, inputs, create_graph=create_graph, strict=strict)
    jac = (jac,) if single_out else jac
    res = []
    for o, j in zip(outs, jac):
        j = (j,) if single else j
        total = np.zeros(o.shape, o._data.dtype)
        for jk, s in zip(j, vs):
            flat = jk._data.reshape(o.numel(), -1)
            total = total + (flat @ s._data.reshape(-1)).reshape(o.shape)
        res.append(_wrap(total))
    detached = tuple(o.detach() for o in outs)
    return (detached[0] if single_out else detached), (res[0] if single_out else tuple(res))


def _second_order(name):
    def unsupported(*args, **kwargs):
        raise NotImplementedError(f"autograd.functional.{name} needs second derivatives "
                                  "(higher-order gradients), which fastnn does not support")
    unsupported.__name__ = name
    return unsupported


hessian = _second_order("hessian")
hvp = _second_order("hvp")
vhp = _second_order("vhp")
