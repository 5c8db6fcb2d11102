"""Second-order rules of convolutions (1/2/3-d, grouped, depthwise, strided, dilated, padded),
transposed convolutions, pooling, resampling and fold/unfold, for ``create_graph=True``.

A convolution reads, for kernel offset k and output position l, the padded input at one flat
position pos[k, l]: gathering those positions (index_select) gives the columns, and
index_add sums column gradients back. With them each gradient is one batched product:
  y  = W @ cols(xp)             (per group)
  dW = sum_n g @ cols(xp)^T     dxp = scatter(W^T @ g)
A transposed convolution is the adjoint of a convolution's input map: its input gradient is
the convolution of g, and its weight gradient pairs its input with the columns of g.
"""
import numpy as np

from .higher_order import _const, _input, rule
from .higher_order_shape import _need, _zeros


def window_positions(padded, ksize, stride, dilation, out):
    """(K*L,) flat positions in a plane of shape ``padded``: row k*L + l is what kernel
    offset k reads for output position l."""
    strides = np.cumprod((tuple(padded[1:]) + (1,))[::-1])[::-1]
    k_off = np.zeros((1,) * len(ksize), np.int64)
    l_off = np.zeros((1,) * len(out), np.int64)
    for a, (k, s, d, o, st) in enumerate(zip(ksize, stride, dilation, out, strides)):
        shape = (1,) * a + (-1,) + (1,) * (len(ksize) - a - 1)
        k_off = k_off + (np.arange(k) * d * st).reshape(shape)
        l_off = l_off + (np.arange(o) * s * st).reshape(shape)
    return (k_off.reshape(-1, 1) + l_off.reshape(1, -1)).reshape(-1)


def _columns(xp, pos, groups, L):
    """(N, G, Cg*K, L) columns of the padded input Tensor xp (N, C, *P)."""
    n, c = xp.shape[:2]
    cols = xp.reshape(n, c, -1).index_select(2, _const(pos))
    return cols.reshape(n, groups, -1, L)


def conv_forward(xp, w, pos, groups, out):
    """The convolution itself, (N, O, *out), from the padded input and the weight (Tensors)."""
    n, o = xp.shape[0], w.shape[0]
    L = int(np.prod(out))
    y = w.reshape(groups, o // groups, -1).matmul(_columns(xp, pos, groups, L))
    return y.reshape((n, o) + tuple(out))


def conv_weight_grad(xp, g, pos, groups, w_shape):
    """dW = sum over samples of g @ cols(xp)^T, per group."""
    n, o = g.shape[:2]
    g4 = g.reshape(n, groups, o // groups, -1)
    cols = _columns(xp, pos, groups, g4.shape[-1])
    return g4.matmul(cols.transpose(-1, -2)).sum(0).reshape(tuple(w_shape))


def conv_input_grad(g, w, pos, groups, xp_shape):
    """d(padded input) = the column gradients W^T @ g added back where they were read."""
    n, o = g.shape[:2]
    c = xp_shape[1]
    gcols = w.reshape(groups, o // groups, -1).transpose(-1, -2).matmul(
        g.reshape(n, groups, o // groups, -1))                      # (N, G, Cg*K, L)
    gcols = gcols.reshape(n, c, -1)
    flat = _zeros((n, c, int(np.prod(xp_shape[2:]))), g).index_add(2, _const(pos), gcols)
    return flat.reshape(tuple(xp_shape))


def _crop(t, starts, sizes):
    return t[(slice(None), slice(None)) + tuple(slice(b, b + s) for b, s in zip(starts, sizes))]


def _pad(t, pads):
    """Zeros around the spatial dims; pads is ((before, after), ...) per spatial dim."""
    from ..nn import functional as F
    if not any(b or a for b, a in pads):
        return t
    return F.pad(t, tuple(v for b, a in reversed(pads) for v in (b, a)))


def _conv2d_columns(node, g, xp, ws, stride, dilation):
    """2-d, groups=1: the same products on fastnn's unfold/fold (im2col/col2im) kernels."""
    from ..nn import functional as F
    n, o = g.shape[:2]
    ksize = tuple(ws.shape[2:])
    g3 = g.reshape(n, o, -1)
    gw = gxp = None
    if _need(node, 1):
        cols = F.unfold(xp, ksize, dilation=dilation, stride=stride)        # (N, C*K, L)
        gw = g3.matmul(cols.transpose(1, 2)).sum(0).reshape(tuple(ws.shape))
    if _need(node, 0):
        gcols = ws.reshape(o, -1).t().matmul(g3)                            # (N, C*K, L)
        gxp = F.fold(gcols, tuple(xp.shape[2:]), ksize, dilation=dilation, stride=stride)
    return gw, gxp


def _conv_rule(node, g, x, w, stride, pads, dilation, groups, has_b):
    xs, ws = _input(node, 0, x), _input(node, 1, w)
    xp = _pad(xs, pads)
    ksize = tuple(w.shape[2:])
    gx = gw = gxp = gb = None
    if len(ksize) == 2 and groups == 1:
        gw, gxp = _conv2d_columns(node, g, xp, ws, stride, dilation)
    else:
        pos = window_positions(tuple(xp.shape[2:]), ksize, stride, dilation,
                               tuple(g.shape[2:]))
        if _need(node, 1):
            gw = conv_weight_grad(xp, g, pos, groups, w.shape)
        if _need(node, 0):
            gxp = conv_input_grad(g, ws, pos, groups, tuple(xp.shape))
    if gxp is not None:
        gx = _crop(gxp, [b for b, _ in pads], x.shape[2:])
    if has_b and _need(node, 2):
        gb = g.sum((0,) + tuple(range(2, g.dim())))
    return (gx, gw, gb) if has_b else (gx, gw)


def _register_conv_rules():
    from ..nn._functional import conv as conv_mod
    from ..nn._functional import conv_transpose as convt_mod

    @rule(conv_mod.ConvolutionBackward0)
    def _conv_nd(node, g):
        _, _, pads, stride, dilation, groups, _, has_b, _ = node.meta
        _, w, x = node.saved
        return _conv_rule(node, g, x, w, stride, pads, dilation, groups, has_b)

    @rule(conv_mod.Conv2dColumnsBackward)
    def _conv_columns(node, g):
        _, (_, _, sh, sw, ph, pw, dh, dw), groups, has_b = node.meta
        _, w, x = node.saved
        return _conv_rule(node, g, x, w, (sh, sw), ((ph, ph), (pw, pw)), (dh, dw), groups,
                          has_b)

    @rule(convt_mod.ConvolutionBackward0)
    def _conv_transpose(node, g):
        x2, w = node.saved
        window, groups, in_hw, has_b = node.meta
        ksize, stride, padding, dilation = convt_mod._split(window)
        cin = w.shape[0]
        n = g.shape[0]
        x = np.swapaxes(x2.reshape((cin, n) + tuple(in_hw)), 0, 1)
        gp = _pad(g, [(p, p) for p in padding])
        pos = window_positions(tuple(gp.shape[2:]), ksize, stride, dilation, in_hw)
        gx = gw = gb = None
        if _need(node, 0):  # the convolution of g by the same weight
            gx = conv_forward(gp, _input(node, 1, w), pos, groups, in_hw)
        if _need(node, 1):  # the input paired with g's columns
            gw = conv_weight_grad(gp, _input(node, 0, x), pos, groups, w.shape)
        if has_b and _need(node, 2):
            gb = g.sum((0,) + tuple(range(2, g.dim())))
        return (gx, gw, gb) if has_b else (gx, gw)


def _register_pool_rules():
    from ..nn import functional as F
    from ..nn._functional import fold as fold_mod
    from ..nn._functional import pooling as pool_mod
    from ..nn._functional import pooling_extra as pool_extra
    from ..nn._functional import upsampling as up_mod

    def _batched(node, g, fn):
        gx = fn(g.unsqueeze(0) if node.unbatched else g)
        return (gx[0] if node.unbatched else gx,)

    def _scatter_planes(g, flat, x_shape):
        """g's values added into zeros of x_shape at flat positions within each plane."""
        n, c = x_shape[:2]
        gx = _zeros((n, c, int(np.prod(x_shape[2:]))), g).scatter_add(
            2, _const(flat.reshape(n, c, -1)), g.reshape(n, c, -1))
        return gx.reshape(tuple(x_shape))

    # pooling's gradient is linear in g with a fixed routing (the argmax, or the averaging
    # weights), so its own gradient goes through g alone
    @rule(pool_mod.MaxPoolWithIndicesBackward, routed=True)
    def _max_pool(node, g):
        return _batched(node, g, lambda gb: _scatter_planes(gb, node.flat_indices(),
                                                           node.meta[0]))

    @rule(pool_mod.AdaptiveMaxPoolBackward, routed=True)
    def _adaptive_max_pool(node, g):
        return _batched(node, g, lambda gb: _scatter_planes(gb, node.flat, node.meta[0]))

    @rule(pool_mod.AvgPoolBackward)
    def _avg_pool(node, g):
        x_shape, _, xp_shape, k, s, p, out = node.meta

        def fn(gb):
            n, c = x_shape[:2]
            share = (gb / _const(node.div)).reshape(n, c, 1, -1)
            kk = int(np.prod(k))
            cols = share.expand(n, c, kk, share.shape[-1]).reshape(n, c, -1)
            pos = window_positions(xp_shape[2:], k, s, (1,) * len(k), out)
            flat = _zeros((n, c, int(np.prod(xp_shape[2:]))), gb).index_add(2, _const(pos),
                                                                             cols)
            return _crop(flat.reshape(tuple(xp_shape)), p, x_shape[2:])
        return _batched(node, g, fn)

    def _along(t, m, axis):
        """t with dim ``axis`` mapped through the (o, n) matrix m's transpose: o -> n."""
        return t.transpose(axis, -1).matmul(_const(m)).transpose(axis, -1)

    @rule(pool_mod.AdaptiveAvgPoolBackward)
    def _adaptive_avg_pool(node, g):
        def fn(gb):
            for a, m in enumerate(node.mats):
                gb = _along(gb, m.astype(node.dt, copy=False), 2 + a)
            return gb
        return _batched(node, g, fn)

    @rule(up_mod._UpsampleBackward)
    def _upsample(node, g):
        for ax, n_in, idx, w in reversed(node.plans):
            g = _along(g, up_mod._matrix(n_in, idx, w, g._data.dtype), ax)
        return (g,)

    @rule(pool_extra._UnpoolBackward)
    def _unpool(node, g):
        def fn(gb):
            n, c = node.x_shape[:2]
            return gb.reshape(n, c, -1).gather(2, _const(node.idx)).reshape(node.x_shape)
        return _batched(node, g, fn)

    def _window_args(window):
        kh, kw, sh, sw, ph, pw, dh, dw = window
        return dict(kernel_size=(kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))

    @rule(fold_mod.Im2ColBackward0)
    def _unfold(node, g):
        shape, window, unbatched = node.meta
        gi = F.fold(g.unsqueeze(0) if unbatched else g, tuple(shape[2:]), **_window_args(window))
        return (gi[0] if unbatched else gi,)

    @rule(fold_mod.Col2ImBackward0)
    def _fold(node, g):
        window, _, unbatched = node.meta
        gc = F.unfold(g.unsqueeze(0) if unbatched else g, **_window_args(window))
        return (gc[0] if unbatched else gc,)


_register_conv_rules()
_register_pool_rules()
