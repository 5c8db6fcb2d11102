"""Per-axis resampling plans for interpolate's bicubic mode and its antialiased modes.

A plan is (indices, weights): output i along the axis is sum_k weights[k][i] *
input[indices[k][i]], the same form as the nearest and linear plans in upsampling.py, so one
gather-and-add per tap does the forward and the (out, in) weight matrix the backward.
"""
import numpy as np


def _cubic_near(x, a):
    """Keys' cubic kernel for |x| <= 1: (a+2)|x|^3 - (a+3)|x|^2 + 1."""
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic_far(x, a):
    """Keys' cubic kernel for 1 < |x| < 2: a|x|^3 - 5a|x|^2 + 8a|x| - 4a."""
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def cubic_plan(n_in, n_out, step, align_corners, dt):
    """Four taps at floor(src)-1 .. floor(src)+2, clamped to the border, with Keys' weights
    for a = -0.75; src = step*i (align_corners) or step*(i+0.5) - 0.5, never clamped."""
    a = dt(-0.75)
    d = np.arange(n_out).astype(dt)
    src = step * d if align_corners else step * (d + dt(0.5)) - dt(0.5)
    base = np.floor(src)
    t = (src - base).astype(dt)
    one = dt(1)
    base = base.astype(np.int64)
    idx = tuple(np.clip(base + k, 0, n_in - 1) for k in (-1, 0, 1, 2))
    w = (_cubic_far(t + one, a), _cubic_near(t, a), _cubic_near(one - t, a),
         _cubic_far(dt(2) - t, a))
    return idx, tuple(v.astype(dt) for v in w)


def _triangle(x):
    """The linear filter: max(0, 1 - |x|)."""
    return np.maximum(1 - np.abs(x), 0)


def _cubic_aa(x):
    """Keys' cubic with a = -0.5 (the antialiasing filter), zero from |x| = 2 on."""
    x = np.abs(x)
    a = x.dtype.type(-0.5)
    return np.where(x < 1, _cubic_near(x, a), np.where(x < 2, _cubic_far(x, a), 0))


def antialias_plan(mode, n_in, n_out, step, dt):
    """Taps of a filter stretched by max(step, 1) so that downsampling averages every input
    it skips: input j weighs filter((j + 0.5 - c) / max(step, 1)) around c = step*(i+0.5),
    inside a support of radius (taps/2)*max(step, 1), the weights normalised to sum 1; the
    window is cut (not clamped) at the borders."""
    if n_in == n_out:   # an axis left at its size is copied, whatever scale_factor says
        return (np.arange(n_out),), None
    taps, filt = (2, _triangle) if mode == "bilinear" else (4, _cubic_aa)
    stretch = max(float(step), 1.0)
    support = dt(taps / 2 * stretch)
    center = dt(step) * (np.arange(n_out).astype(dt) + dt(0.5))
    lo = np.maximum(np.floor(center - support + dt(0.5)).astype(np.int64), 0)
    hi = np.minimum(np.floor(center + support + dt(0.5)).astype(np.int64), n_in)
    width = int((hi - lo).max()) if n_out else 0
    j = lo[:, None] + np.arange(width)[None, :]                  # (out, width)
    inside = j < hi[:, None]
    w = np.where(inside, filt(((j - center[:, None] + dt(0.5)) / dt(stretch)).astype(dt)), 0)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), w).astype(dt)
    j = np.where(inside, j, 0)                                   # zero-weight taps read 0
    return tuple(j.T), tuple(w.T)
