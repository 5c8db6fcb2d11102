"""Row kernels (softmax, log-softmax, fused cross-entropy / NLL) and the dropout RNG.

One thread owns one row: it finds the row's max, the log-sum-exp and writes the row, so each
op is one launch with no barriers. Cross-entropy keeps only the per-row log-sum-exp for
backward, which recomputes the softmax from the logits.
"""
import math

from ._backend import buffer_from, cuda, grid, unravel
from ._launch import launch


@cuda.jit
def _softmax_k(nrows, kshape, akst, okst, n, ast, ost, a, ao, out, log):
    r = cuda.grid(1)
    step = cuda.gridsize(1)
    while r < nrows:
        ab = ao + unravel(r, kshape, akst, 0)
        ob = unravel(r, kshape, okst, 0)
        m = a[ab]
        for j in range(1, n):
            v = a[ab + j * ast]
            if v > m or v != v:
                m = v
        s = a[ab] * 0
        for j in range(n):
            s += math.exp(a[ab + j * ast] - m)
        if log:
            ls = math.log(s)
            for j in range(n):
                out[ob + j * ost] = a[ab + j * ast] - m - ls
        else:
            for j in range(n):
                out[ob + j * ost] = math.exp(a[ab + j * ast] - m) / s
        r += step


@cuda.jit
def _softmax_back_k(nrows, kshape, gkst, ykst, okst, n, gst, yst, ost, g, go, y, yo, out, log):
    # softmax: dx = y * (g - sum(g * y)); log-softmax: dx = g - exp(y) * sum(g)
    r = cuda.grid(1)
    step = cuda.gridsize(1)
    while r < nrows:
        gb = go + unravel(r, kshape, gkst, 0)
        yb = yo + unravel(r, kshape, ykst, 0)
        ob = unravel(r, kshape, okst, 0)
        s = g[gb] * 0
        for j in range(n):
            if log:
                s += g[gb + j * gst]
            else:
                s += g[gb + j * gst] * y[yb + j * yst]
        for j in range(n):
            gj = g[gb + j * gst]
            yj = y[yb + j * yst]
            if log:
                out[ob + j * ost] = gj - math.exp(yj) * s
            else:
                out[ob + j * ost] = yj * (gj - s)
        r += step


@cuda.jit
def _ce_forward_k(m, c, x, xo, xs0, xs1, t, to, ts, w, has_w, ignore, eps, fused, loss, wrow,
                  lse, err):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < m:
        xb = xo + i * xs0
        ti = t[to + i * ts]
        lz = x[xb] * 0
        if fused:
            mx = x[xb]
            for j in range(1, c):
                v = x[xb + j * xs1]
                if v > mx or v != v:
                    mx = v
            s = lz
            for j in range(c):
                s += math.exp(x[xb + j * xs1] - mx)
            lz = mx + math.log(s)
        lse[i] = lz
        valid = ti != ignore
        if valid and (ti < 0 or ti >= c):
            err[0] = 1      # reported at the next synchronising call, like a device assert
            err[1] = ti
            loss[i] = math.nan
            wrow[i] = 0
        elif not valid:
            loss[i] = 0
            wrow[i] = 0
        else:
            wt = w[ti] if has_w else 1.0
            li = wt * (lz - x[xb + ti * xs1])
            if eps > 0:
                sm = lz * 0
                for j in range(c):
                    wj = w[j] if has_w else 1.0
                    sm += wj * (lz - x[xb + j * xs1])
                li = (1 - eps) * li + (eps / c) * sm
            loss[i] = li
            wrow[i] = wt
        i += step


@cuda.jit
def _ce_backward_k(m, c, x, xo, xs0, xs1, t, to, ts, w, has_w, ignore, eps, fused, lse, gsc,
                   gs, den, sw, out):
    # d loss_i / d x_ik = (1-eps) w_t (p_k - [k = t]) + (eps/C) (sum_j w_j p_k - w_k), p = 0
    # for NLL on log-probabilities; scaled by the incoming gradient (and 1/den for 'mean')
    k = cuda.grid(1)
    step = cuda.gridsize(1)
    while k < m * c:
        i = k // c
        j = k % c
        ti = t[to + i * ts]
        if ti == ignore or ti < 0 or ti >= c:
            out[k] = 0
        else:
            sc = gsc[i * gs] / den[0]
            p = x[xo + i * xs0] * 0
            if fused:
                p = math.exp(x[xo + i * xs0 + j * xs1] - lse[i])
            wt = w[ti] if has_w else 1.0
            wj = w[j] if has_w else 1.0
            hit = 1.0 if j == ti else 0.0
            d = (1 - eps) * wt * (p - hit)
            if eps > 0:
                d += (eps / c) * (sw[0] * p - wj)
            out[k] = sc * d
        k += step


@cuda.jit(device=True)
def _mul32(x, c):
    # (x * c) mod 2**32 in int64 arithmetic that never overflows
    lo = (x * (c & 0xFFFF)) & 0xFFFFFFFF
    hi = ((x * (c >> 16)) & 0xFFFF) << 16
    return (lo + hi) & 0xFFFFFFFF


@cuda.jit(device=True)
def _mix32(x):
    x ^= x >> 16
    x = _mul32(x, 0x7FEB352D)
    x ^= x >> 15
    x = _mul32(x, 0x846CA68B)
    x ^= x >> 16
    return x


@cuda.jit
def _dropout_k(n, out, key, offset, p, scale, zero):
    # counter-based: draw i of this call is a hash of (seed, offset + i)
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        ctr = offset + i
        h = _mix32((ctr & 0xFFFFFFFF) ^ _mix32(((ctr >> 32) & 0xFFFFFFFF) ^ key))
        u = (h >> 8) * (1.0 / 16777216.0)
        out[i] = scale if u >= p else zero
        i += step


def mix32_host(x):
    """The kernels' hash on the host, for the per-seed key."""
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


# ---- launchers ------------------------------------------------------------------------------
def softmax(nrows, kshape, akst, okst, n, ast, ost, a, ao, out, log):
    launch(_softmax_k, grid(nrows), nrows, kshape, akst, okst, n, ast, ost, a, ao, out, log)


def softmax_backward(nrows, kshape, gkst, ykst, okst, n, gst, yst, ost, g, go, y, yo, out, log):
    launch(_softmax_back_k, grid(nrows), nrows, kshape, gkst, ykst, okst, n, gst, yst, ost, g, go,
           y, yo, out, log)


def ce_forward(m, c, x, t, w, ignore, eps, fused, loss, wrow, lse, err):
    launch(_ce_forward_k, grid(m), m, c, x.st.dev, x.off, x.est[0], x.est[1], t.st.dev, t.off,
           t.est[0], buffer_from(w), w is not x, ignore, eps, fused, loss.st.dev, wrow.st.dev,
           lse.st.dev, err)


def ce_backward(m, c, x, t, w, ignore, eps, fused, lse, gsc, den, sw, out):
    launch(_ce_backward_k, grid(m * c), m, c, x.st.dev, x.off, x.est[0], x.est[1], t.st.dev, t.off,
           t.est[0], buffer_from(w), w is not x, ignore, eps, fused, lse.st.dev, buffer_from(gsc),
           gsc.est[0] if gsc.ndim else 0, buffer_from(den), buffer_from(sw), out.st.dev)


def dropout_mask(n, out, key, offset, p, scale):
    launch(_dropout_k, grid(n), n, out.st.dev, key, offset, p, out.dtype.type(scale),
           out.dtype.type(0))
