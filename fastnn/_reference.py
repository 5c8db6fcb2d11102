"""Plain numpy versions of the kernels in fastnn._core, with the same signatures.

They exist to be obviously right: tests hold the compiled kernels to them.
Arithmetic is kept in the arrays' dtype, with Python scalars rounded to that
dtype, the way the compiled kernels (and torch) do it.  No argument checking.
"""
import numpy as np


def linear_forward(x, w, b, out):
    out[...] = x @ w.T
    if b is not None:
        out += b
    return out


def linear_relu_forward(x, w, b, out):
    linear_forward(x, w, b, out)
    out[out < 0] = 0
    return out


def linear_backward(g, x, w, gx, gw, gb, accumulate_w=False, accumulate_b=False,
                    accumulate_x=False):
    if gx is not None:
        if accumulate_x:
            gx += g @ w
        else:
            gx[...] = g @ w
    if gw is not None:
        if accumulate_w:
            gw += g.T @ x
        else:
            gw[...] = g.T @ x
    if gb is not None:
        if accumulate_b:
            gb += g.sum(axis=0)
        else:
            gb[...] = g.sum(axis=0)
    return gx, gw, gb


def relu_forward(x, out):
    out[...] = np.where(x <= 0, 0, x)
    return out


def relu_backward(g, y, out):
    out[...] = np.where(y <= 0, 0, g)
    return out


def zero_(arr):
    arr[...] = 0
    return arr


def _as_generator(bitgen):
    if isinstance(bitgen, np.random.Generator):
        return bitgen
    return np.random.Generator(bitgen)


def uniform_(out, low, high, bitgen):
    gen = _as_generator(bitgen)
    if out.dtype == np.float32:
        u = gen.random(out.size, dtype=np.float32)
        out[...] = (np.float32(low) + np.float32(high - low) * u).reshape(out.shape)
    else:
        out[...] = gen.uniform(low, high, out.size).reshape(out.shape)
    return out


def normal_(out, mean, std, bitgen):
    gen = _as_generator(bitgen)
    z = gen.standard_normal(out.size, dtype=out.dtype)
    t = out.dtype.type
    out[...] = (t(mean) + t(std) * z).reshape(out.shape)
    return out


def sgd_step(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize,
             first_step):
    t = param.dtype.type
    d = -grad if maximize else grad.copy()
    if weight_decay != 0:
        d = d + t(weight_decay) * param
    if momentum != 0:
        if first_step:
            buf[...] = d
        else:
            buf[...] = t(momentum) * buf + t(1 - dampening) * d
        if nesterov:
            d = d + t(momentum) * buf
        else:
            d = buf.copy()
    param -= t(lr) * d
    return param


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
              weight_decay, step, amsgrad, maximize, decoupled):
    t = param.dtype.type
    d = -grad if maximize else grad.copy()
    if weight_decay != 0:
        if decoupled:
            param *= t(1 - lr * weight_decay)
        else:
            d = d + t(weight_decay) * param
    w1 = t(1 - beta1)
    if abs(w1) < 0.5:
        exp_avg += w1 * (d - exp_avg)
    else:
        exp_avg[...] = d - (d - exp_avg) * (t(1) - w1)
    exp_avg_sq *= t(beta2)
    exp_avg_sq += (t(1 - beta2) * d) * d
    bias_correction1 = 1 - beta1 ** float(step)
    bias_correction2 = 1 - beta2 ** float(step)
    step_size = lr / bias_correction1
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    else:
        v = exp_avg_sq
    denom = np.sqrt(v) / t(bias_correction2 ** 0.5) + t(eps)
    param += (t(-step_size) * exp_avg) / denom
    return param


def cross_entropy_forward(logits, target, out_logprobs):
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted.astype(np.float64)).sum(axis=1, keepdims=True))
    out_logprobs[...] = shifted - lse.astype(logits.dtype)
    return -out_logprobs[np.arange(len(target)), target]


def cross_entropy_backward(logprobs, target, grad_scale, out):
    onehot = np.zeros_like(logprobs)
    onehot[np.arange(len(target)), target] = 1
    scale = np.asarray(grad_scale, dtype=logprobs.dtype)
    if scale.ndim == 1:
        scale = scale[:, None]
    out[...] = (np.exp(logprobs) - onehot) * scale
    return out


def softmax_cross_entropy_forward(logits, target, out_probs):
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1)
    out_probs[...] = e / s[:, None]
    nll = np.log(s) - shifted[np.arange(len(target)), target]
    return np.asarray(nll.mean(), dtype=logits.dtype)


def softmax_cross_entropy_backward(probs, target, grad_scale, out):
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(target)), target] = 1
    out[...] = (probs - onehot) * probs.dtype.type(grad_scale)
    return out


def max_pool2d_forward(x, kh, kw, sh, sw):
    """(y, argmax) of 2-D max pooling without padding; argmax is the flat position in the plane.

    Ties keep the first maximum; a window holding NaN reports its last NaN (as PyTorch).
    """
    n, c, h, w = x.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    oh, ow = win.shape[2:4]
    flat = win.reshape(n, c, oh, ow, kh * kw)
    k = np.argmax(flat, axis=-1)
    nan = np.isnan(flat)
    last_nan = kh * kw - 1 - np.argmax(nan[..., ::-1], axis=-1)
    k = np.where(nan.any(axis=-1), last_nan, k)
    y = np.take_along_axis(flat, k[..., None], axis=-1)[..., 0]
    a, b = np.divmod(k, kw)
    rows = np.arange(oh)[:, None] * sh + a
    cols = np.arange(ow)[None, :] * sw + b
    return np.ascontiguousarray(y), (rows * w + cols).astype(np.int32)


def max_pool2d_backward(g, argmax, gx):
    """gx = 0, then each gradient is added at its window's argmax."""
    n, c = g.shape[:2]
    planes = gx.reshape(n * c, -1)
    planes[...] = 0
    idx = argmax.reshape(n * c, -1)
    np.add.at(planes, (np.arange(n * c)[:, None], idx), g.reshape(n * c, -1))
    return gx


def _window_rows(h, w, kh, kw, sh, sw, ph, pw, dh, dw):
    """For each kernel offset (a, b): the padded-input slices its output positions read."""
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    for a in range(kh):
        for b in range(kw):
            yield a, b, (slice(a * dh, a * dh + (oh - 1) * sh + 1, sh),
                         slice(b * dw, b * dw + (ow - 1) * sw + 1, sw))


def im2col2d(x, cols, kh, kw, sh=1, sw=1, ph=0, pw=0, dh=1, dw=1):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    rows = cols.reshape(c, kh, kw, n, cols.shape[2], cols.shape[3])
    for a, b, (si, sj) in _window_rows(h, w, kh, kw, sh, sw, ph, pw, dh, dw):
        rows[:, a, b] = xp[:, :, si, sj].swapaxes(0, 1)
    return cols


def col2im2d(cols, gx, kh, kw, sh=1, sw=1, ph=0, pw=0, dh=1, dw=1):
    n, c, h, w = gx.shape
    gp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), gx.dtype)
    rows = cols.reshape(c, kh, kw, n, cols.shape[2], cols.shape[3])
    for a, b, (si, sj) in _window_rows(h, w, kh, kw, sh, sw, ph, pw, dh, dw):
        gp[:, :, si, sj] += rows[:, a, b].swapaxes(0, 1)
    gx[...] = gp[:, :, ph:ph + h, pw:pw + w]
    return gx
