"""2-D convolution (im2col / col2im around the GEMM) and max / average pooling kernels.

The column matrix is (C*kh*kw, N*OH*OW), the layout fastnn's CPU convolution uses, so one GEMM
with the (O, C*kh*kw) weight gives every output. col2im gathers, for each input pixel, the
column entries that read it: no atomics, a deterministic sum.
"""
from ._backend import buffer_from, cuda, grid
from ._launch import launch


@cuda.jit
def _im2col_k(total, nl, x, xo, sn, sc, sh, sw, H, W, kw, kh, OW, L, st_h, st_w, ph, pw, dh,
              dw, cols, zero):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < total:
        row = i // nl          # (c, ki, kj)
        j = i % nl             # (n, oy, ox)
        kj = row % kw
        ki = (row // kw) % kh
        c = row // (kw * kh)
        n = j // L
        l = j % L
        oy = l // OW
        ox = l % OW
        iy = oy * st_h - ph + ki * dh
        ix = ox * st_w - pw + kj * dw
        if 0 <= iy < H and 0 <= ix < W:
            cols[i] = x[xo + n * sn + c * sc + iy * sh + ix * sw]
        else:
            cols[i] = zero
        i += step


@cuda.jit
def _col2im_k(total, nl, gcols, gx, C, H, W, kh, kw, OH, OW, st_h, st_w, ph, pw, dh, dw, zero):
    # gx is contiguous (N, C, H, W); one thread per input pixel sums what every window read
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    L = OH * OW
    while i < total:
        xw = i % W
        yh = (i // W) % H
        c = (i // (W * H)) % C
        n = i // (W * H * C)
        acc = zero
        for ki in range(kh):
            ty = yh + ph - ki * dh
            if ty >= 0 and ty % st_h == 0 and ty // st_h < OH:
                oy = ty // st_h
                for kj in range(kw):
                    tx = xw + pw - kj * dw
                    if tx >= 0 and tx % st_w == 0 and tx // st_w < OW:
                        ox = tx // st_w
                        acc += gcols[((c * kh + ki) * kw + kj) * nl + n * L + oy * OW + ox]
        gx[i] = acc
        i += step


@cuda.jit
def _maxpool_k(total, x, xo, sn, sc, sh, sw, C, H, W, kh, kw, OH, OW, st_h, st_w, ph, pw, dh,
               dw, y, idx):
    # y and idx contiguous (N, C, OH, OW); idx is the flat position in the input plane
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < total:
        ox = i % OW
        oy = (i // OW) % OH
        c = (i // (OW * OH)) % C
        n = i // (OW * OH * C)
        base = xo + n * sn + c * sc
        best = x[base]
        bi = -1
        for ki in range(kh):
            iy = oy * st_h - ph + ki * dh
            if 0 <= iy < H:
                for kj in range(kw):
                    ix = ox * st_w - pw + kj * dw
                    if 0 <= ix < W:
                        v = x[base + iy * sh + ix * sw]
                        if bi < 0 or v > best or v != v:
                            best = v
                            bi = iy * W + ix
        y[i] = best
        idx[i] = bi
        i += step


@cuda.jit
def _maxpool_back_k(total, g, idx, gx, HW, L):
    # windows may overlap: atomics sum the shares that land on one input element
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < total:
        cuda.atomic.add(gx, (i // L) * HW + idx[i], g[i])
        i += step


@cuda.jit
def _avgpool_k(total, x, xo, sn, sc, sh, sw, C, H, W, kh, kw, OH, OW, st_h, st_w, ph, pw,
               include_pad, override, y, zero):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < total:
        ox = i % OW
        oy = (i // OW) % OH
        c = (i // (OW * OH)) % C
        n = i // (OW * OH * C)
        y0 = oy * st_h - ph
        x0 = ox * st_w - pw
        y1 = min(y0 + kh, H + ph)
        x1 = min(x0 + kw, W + pw)
        div = (y1 - y0) * (x1 - x0)
        ya, xa, yb, xb = max(y0, 0), max(x0, 0), min(y1, H), min(x1, W)
        if not include_pad:
            div = (yb - ya) * (xb - xa)
        if override > 0:
            div = override
        acc = zero
        base = xo + n * sn + c * sc
        for iy in range(ya, yb):
            for ix in range(xa, xb):
                acc += x[base + iy * sh + ix * sw]
        y[i] = acc / div
        i += step


@cuda.jit
def _avgpool_back_k(total, g, gs, C, H, W, kh, kw, OH, OW, st_h, st_w, ph, pw, include_pad,
                    override, gx):
    # gx contiguous (N, C, H, W), zeroed; each output spreads its share over its window
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < total:
        ox = i % OW
        oy = (i // OW) % OH
        c = (i // (OW * OH)) % C
        n = i // (OW * OH * C)
        y0 = oy * st_h - ph
        x0 = ox * st_w - pw
        y1 = min(y0 + kh, H + ph)
        x1 = min(x0 + kw, W + pw)
        div = (y1 - y0) * (x1 - x0)
        ya, xa, yb, xb = max(y0, 0), max(x0, 0), min(y1, H), min(x1, W)
        if not include_pad:
            div = (yb - ya) * (xb - xa)
        if override > 0:
            div = override
        share = g[gs[0] + n * gs[1] + c * gs[2] + oy * gs[3] + ox * gs[4]] / div
        base = (n * C + c) * H * W
        for iy in range(ya, yb):
            for ix in range(xa, xb):
                cuda.atomic.add(gx, base + iy * W + ix, share)
        i += step


# ---- launchers ------------------------------------------------------------------------------
def im2col(x, kh, kw, out_hw, stride, pad, dil, cols):
    """cols (C*kh*kw, N*OH*OW), contiguous, from x (N, C, H, W) of any strides."""
    N, C, H, W = x.shape
    OH, OW = out_hw
    nl = N * OH * OW
    total = C * kh * kw * nl
    sn, sc, sh, sw = x.est
    launch(_im2col_k, grid(total), total, nl, x.st.dev, x.off, sn, sc, sh, sw, H, W, kw, kh, OW,
           OH * OW, stride[0], stride[1], pad[0], pad[1], dil[0], dil[1], cols.st.dev,
           cols.dtype.type(0))


def col2im(gcols, x_shape, kh, kw, out_hw, stride, pad, dil, gx):
    N, C, H, W = x_shape
    OH, OW = out_hw
    total = N * C * H * W
    launch(_col2im_k, grid(total), total, N * OH * OW, buffer_from(gcols), gx.st.dev, C, H, W, kh,
           kw, OH, OW, stride[0], stride[1], pad[0], pad[1], dil[0], dil[1], gx.dtype.type(0))


def max_pool(x, k, s, p, d, out_hw, y, idx):
    N, C, H, W = x.shape
    OH, OW = out_hw
    total = N * C * OH * OW
    sn, sc, sh, sw = x.est
    launch(_maxpool_k, grid(total), total, x.st.dev, x.off, sn, sc, sh, sw, C, H, W, k[0], k[1], OH,
           OW, s[0], s[1], p[0], p[1], d[0], d[1], y.st.dev, idx.st.dev)


def max_pool_backward(g, idx, gx):
    """gx (contiguous, zeroed) += g scattered through idx; g contiguous like idx."""
    N, C, H, W = gx.shape
    total = g.size
    launch(_maxpool_back_k, grid(total), total, buffer_from(g), buffer_from(idx), gx.st.dev, H * W,
           total // (N * C))


def avg_pool(x, k, s, p, out_hw, include_pad, override, y):
    N, C, H, W = x.shape
    OH, OW = out_hw
    total = N * C * OH * OW
    sn, sc, sh, sw = x.est
    launch(_avgpool_k, grid(total), total, x.st.dev, x.off, sn, sc, sh, sw, C, H, W, k[0], k[1], OH,
           OW, s[0], s[1], p[0], p[1], include_pad, int(override or 0), y.st.dev, y.dtype.type(0))


def avg_pool_backward(g, k, s, p, include_pad, override, gx):
    N, C, H, W = gx.shape
    OH, OW = g.shape[2:]
    total = g.size
    launch(_avgpool_back_k, grid(total), total, g.st.dev, (g.off,) + g.est, C, H, W, k[0], k[1], OH,
           OW, s[0], s[1], p[0], p[1], include_pad, int(override or 0), gx.st.dev)
