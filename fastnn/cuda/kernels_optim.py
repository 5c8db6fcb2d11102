"""Fused optimizer updates on the GPU, one launch over a whole parameter arena.

Same signatures, operation order and rounding points as ``fastnn._core.sgd_step`` and
``adam_step`` (torch.optim's single-tensor algorithms): the hyper-parameters are rounded to the
parameter dtype on the host, then every element runs the CPU kernel's arithmetic.
"""
import math

from ._backend import buffer_from, cuda, grid
from ._launch import launch
from ._array import CudaArray


@cuda.jit
def _sgd_k(n, p, g, go, buf, sign, lr, mom, keep, wd, use_wd, use_mom, first, nesterov):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        d = sign * g[go + i]
        if use_wd:
            d = d + wd * p[i]
        if use_mom:
            if first:
                bi = d
            else:
                bi = mom * buf[i] + keep * d
            buf[i] = bi
            if nesterov:
                d = d + mom * bi
            else:
                d = bi
        p[i] = p[i] - lr * d
        i += step


@cuda.jit
def _adam_k(n, p, g, go, m, v, vmax, sign, wd, shrink, w1, w1c, b2, c2, bc2_sqrt, eps,
            neg_step, coupled, small_w1, ams):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        d = sign * g[go + i]
        pi = p[i] * shrink
        if coupled:
            d = d + wd * pi
        mi = m[i]
        if small_w1:
            mi = mi + w1 * (d - mi)
        else:
            mi = d - (d - mi) * w1c
        m[i] = mi
        vi = v[i] * b2
        vi = vi + (c2 * d) * d
        v[i] = vi
        if ams:
            vm = vmax[i]
            if vi > vm or vi != vi:
                vm = vi
            vmax[i] = vm
            vi = vm
        denom = math.sqrt(vi) / bc2_sqrt + eps
        p[i] = pi + (neg_step * mi) / denom
        i += step


def _flat(a, name, like=None):
    if not isinstance(a, CudaArray):
        raise TypeError(f"expected '{name}' to be a CUDA array, got {type(a).__name__}")
    if like is not None and (a.shape != like.shape or a.dtype != like.dtype):
        raise ValueError(f"'{name}' must match param in shape and dtype")
    if not a.is_c_contiguous():
        raise ValueError(f"'{name}' must be contiguous")
    return buffer_from(a)  # the kernels take the element count, not the buffer's length


def _grad(g, p):
    if g.shape != p.shape or g.dtype != p.dtype or not g.is_c_contiguous():
        g = g.broadcast_to(p.shape).astype(p.dtype)
    return g.st.dev, g.off


def sgd_step(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize,
             first_step):
    """p -= lr * d, d = (+/-)grad + wd*p through (Nesterov) momentum buf, as torch.optim.SGD."""
    t = param.dtype.type
    pd = _flat(param, "param")
    gd, go = _grad(grad, param)
    n = param.size
    use_mom = momentum != 0
    bd = _flat(buf, "buf", param) if use_mom else pd
    if n:
        launch(_sgd_k, grid(n), n, pd, gd, go, bd, t(-1 if maximize else 1), t(lr), t(momentum),
               t(1.0 - dampening), t(weight_decay), weight_decay != 0, use_mom,
               bool(first_step) and use_mom, bool(nesterov))


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
              weight_decay, step, amsgrad, maximize, decoupled):
    """Adam (AdamW if decoupled): p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)."""
    t = float(step)
    if not t >= 1:
        raise ValueError(f"adam_step: expected 'step' to count from 1, but got {step}")
    dt = param.dtype.type
    pd = _flat(param, "param")
    gd, go = _grad(grad, param)
    md = _flat(exp_avg, "exp_avg", param)
    vd = _flat(exp_avg_sq, "exp_avg_sq", param)
    if amsgrad:
        if max_exp_avg_sq is None:
            raise TypeError("adam_step: argument 'max_exp_avg_sq' must be a CUDA array when "
                            "amsgrad=True, not NoneType")
        vmd = _flat(max_exp_avg_sq, "max_exp_avg_sq", param)
    else:
        vmd = vd
    step_size = lr / (1.0 - beta1 ** t)
    bc2_sqrt = (1.0 - beta2 ** t) ** 0.5
    w1 = dt(1.0 - beta1)
    coupled = weight_decay != 0 and not decoupled
    shrink = dt(1.0 - lr * weight_decay) if (weight_decay != 0 and decoupled) else dt(1)
    n = param.size
    if n:
        launch(_adam_k, grid(n), n, pd, gd, go, md, vd, vmd, dt(-1 if maximize else 1),
               dt(weight_decay), shrink, w1, dt(1) - w1, dt(beta2), dt(1.0 - beta2), dt(bc2_sqrt),
               dt(eps), dt(-step_size), coupled, bool(abs(w1) < 0.5), bool(amsgrad))

