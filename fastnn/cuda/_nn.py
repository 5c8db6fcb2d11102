"""CUDA versions of the functional ops that have fused kernels: linear, conv, pooling,
cross-entropy / NLL, softmax rows and dropout masks.

``fastnn.nn.functional`` sends tensors whose data is a CudaArray here; each op is a graph node
named like PyTorch's, with its backward beside its forward.
"""
import numpy as np

from ..autograd.function import apply, apply_node
from ..autograd.node import AccumulateGrad, Node
from ..autograd.ops_math import ReluBackward0
from ..tensor import _wrap
from . import _backend as B
from ._array import CudaArray, empty, assign
from ._layout import contiguous_strides
from . import kernels_conv as KC
from . import kernels_gemm as KG
from . import kernels_loss as KL


def _as3(a):
    """A 2-D CudaArray as a batch of one, for the GEMM kernel."""
    return CudaArray(a.st, a.off, (1,) + a.shape, (0,) + a.est, a.dtype, a._root())


def _contig(a):
    return a if a.is_c_contiguous() else a.copy()


# ---- linear ---------------------------------------------------------------------------------
def _grad_target(edge, shape, dt):
    if type(edge) is not AccumulateGrad:
        return None
    return edge.direct_target(shape, dt, CudaArray, empty)


class AddmmBackward0(Node):
    """out = x @ w.T + b on the GPU: one GEMM with the bias fused into its epilogue."""

    def forward(self, x, w, b=None, relu=False):
        n, m = x.shape[0], w.shape[0]
        out = empty((n, m), x.dtype)
        cin = None if b is None else CudaArray(b.st, b.off, (1, n, m), (0, 0, b.est[0]),
                                               b.dtype)
        KG.gemm(_as3(x), _as3(w.T), _as3(out), 1, cin, 1 if b is not None else 0, relu=relu)
        self.save(x, w)
        return out

    def backward(self, g):
        x, w = self.saved
        nxt = self._next
        gx = gw = gb = None
        if nxt[0] is not None:
            gx = empty(x.shape, x.dtype)
            KG.gemm(_as3(g), _as3(w), _as3(gx))
        if nxt[1] is not None:
            tgt = _grad_target(nxt[1], w.shape, w.dtype)
            arr, acc = tgt if tgt else (empty(w.shape, w.dtype), False)
            KG.gemm(_as3(g.T), _as3(x), _as3(arr), 1, _as3(arr) if acc else None, 1)
            if tgt:
                nxt[1].commit(arr, acc)
            else:
                gw = arr
        if len(nxt) > 2 and nxt[2] is not None:
            tgt = _grad_target(nxt[2], (w.shape[0],), g.dtype)
            if tgt:  # the sum lands in .grad or the optimizer arena's slot
                arr, acc = tgt
                if acc:
                    np.add(arr, g.sum(axis=0), out=arr)
                else:
                    g.sum(axis=0, out=arr)
                nxt[2].commit(arr, acc)
            else:
                gb = g.sum(axis=0)
        return (gx, gw, gb) if len(nxt) > 2 else (gx, gw)


def linear(input, weight, bias=None):
    _same_device(input, weight)
    if bias is not None:
        _same_device(input, bias)
    x = input._data
    flat = input.reshape(-1, x.shape[-1]) if x.ndim != 2 else input
    out = apply(AddmmBackward0, (flat, weight) if bias is None else (flat, weight, bias))
    return out.reshape(x.shape[:-1] + (weight.shape[0],)) if x.ndim != 2 else out


def linear_relu(input, weight, bias):
    """relu(linear(...)) with the ReLU in the GEMM's epilogue, recording the graph the two
    calls record (as on the CPU); None where the plain calls should run and check instead."""
    x, w, b = input._data, weight._data, bias._data
    if not (type(x) is CudaArray and type(w) is CudaArray and type(b) is CudaArray) or \
            x.ndim != 2 or w.ndim != 2 or b.ndim != 1 or x.dtype.kind != "f" or \
            not x.dtype == w.dtype == b.dtype or x.shape[1] != w.shape[1] or \
            b.shape[0] != w.shape[0]:
        return None
    pre = apply(AddmmBackward0, (input, weight, bias), True)
    return apply(ReluBackward0, (pre,), True)


# ---- convolution ----------------------------------------------------------------------------
class ConvolutionBackward0(Node):
    """2-D convolution: im2col, then one batched GEMM writing (N, O, L) with the bias fused."""

    def forward(self, *args):
        *arrays, (stride, pads, dilation, groups) = args
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        N, C, H, W = x.shape
        O, cg, kh, kw = w.shape
        og = O // groups
        pad = (pads[0][0], pads[1][0])
        OH = (H + sum(pads[0]) - dilation[0] * (kh - 1) - 1) // stride[0] + 1
        OW = (W + sum(pads[1]) - dilation[1] * (kw - 1) - 1) // stride[1] + 1
        L = OH * OW
        ck = cg * kh * kw
        y = empty((N, O, OH, OW), x.dtype)
        w2 = _contig(w).reshape(O, ck)
        cols = []
        for gi in range(groups):
            xg = x[:, gi * cg:(gi + 1) * cg]
            col = empty((ck, N * L), x.dtype)
            KC.im2col(xg, kh, kw, (OH, OW), stride, pad, dilation, col)
            cols.append(col)
            # batch n: y[n, group] (og, L) = w2[group] (og, ck) @ col[:, n*L:(n+1)*L]
            wg = w2[gi * og:(gi + 1) * og]
            a = CudaArray(wg.st, wg.off, (N, og, ck), (0,) + wg.est, wg.dtype)
            bm = CudaArray(col.st, 0, (N, ck, L), (L, N * L, 1), col.dtype)
            out = CudaArray(y.st, gi * og * L, (N, og, L), (O * L, L, 1), y.dtype)
            cin = None
            if b is not None:
                cin = CudaArray(b.st, b.off + gi * og * b.est[0], (N, og, L), (0, b.est[0], 0),
                                b.dtype)
            KG.gemm(a, bm, out, 1, cin, 1 if b is not None else 0)
        self.geom = (x.shape, stride, pad, dilation, groups, (OH, OW), b is not None)
        self.save(w)
        self.cols = cols if self._next is not None else None
        return y

    def release(self):
        super().release()
        self.cols = None

    def backward(self, g):
        (w,) = self.saved
        x_shape, stride, pad, dilation, groups, (OH, OW), has_b = self.geom
        N, C, H, W = x_shape
        O, cg, kh, kw = w.shape
        og, L, ck = O // groups, OH * OW, cg * kh * kw
        g = _contig(g)
        w2 = _contig(w).reshape(O, ck)
        gx = empty(x_shape, g.dtype) if self.needs(0) else None
        gw = empty((O, ck), g.dtype) if self.needs(1) else None
        for gi, col in enumerate(self.cols):
            gsl = CudaArray(g.st, g.off + gi * og * L, (N, og, L), (O * L, L, 1), g.dtype)
            if gw is not None:
                gt = empty((og, N, L), g.dtype)
                assign(gt, gsl.transpose(1, 0, 2))
                KG.gemm(_as3(gt.reshape(og, N * L)), _as3(col.T), _as3(gw[gi * og:(gi + 1) * og]))
            if gx is not None:
                wg = w2[gi * og:(gi + 1) * og]
                gcol = empty((ck, N * L), g.dtype)
                a = CudaArray(wg.st, wg.off, (N, ck, og), (0, wg.est[1], wg.est[0]), wg.dtype)
                out = CudaArray(gcol.st, 0, (N, ck, L), (L, N * L, 1), gcol.dtype)
                KG.gemm(a, gsl, out)
                dst = gx if groups == 1 else empty((N, cg, H, W), g.dtype)
                KC.col2im(gcol, (N, cg, H, W), kh, kw, (OH, OW), stride, pad, dilation, dst)
                if groups != 1:
                    assign(gx[:, gi * cg:(gi + 1) * cg], dst)
        gb = g.sum(axis=(0, 2, 3)) if has_b and self.needs(2) else None
        gw = gw.reshape(w.shape) if gw is not None else None
        return (gx, gw, gb) if has_b else (gx, gw)


def conv(x, weight, bias, stride, pads, dilation, groups, nd):
    """x batched (N, C, *spatial); nd is 1 or 2 (1-D runs as 2-D with a height of one)."""
    if nd == 3:
        raise NotImplementedError("conv3d is not implemented for CUDA tensors in fastnn; move "
                                  "the tensor to the CPU with .cpu() first")
    if nd == 1:
        y = conv(x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + tuple(stride),
                 ((0, 0),) + tuple(pads), (1,) + tuple(dilation), groups, 2)
        return y.squeeze(2)
    _same_device(x, weight)
    if bias is not None:
        _same_device(x, bias)
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return apply(ConvolutionBackward0, tensors, (tuple(stride), tuple(pads), tuple(dilation),
                                                 groups))


# ---- pooling --------------------------------------------------------------------------------
class MaxPool2DWithIndicesBackward0(Node):
    def forward(self, x, k, s, p, d, out):
        N, C = x.shape[:2]
        y = empty((N, C) + tuple(out), x.dtype)
        idx = empty((N, C) + tuple(out), np.int64)
        KC.max_pool(x, k, s, p, d, out, y, idx)
        self.meta = (x.shape, x.dtype)
        self.idx = idx
        return y

    def backward(self, g):
        shape, dt = self.meta
        gx = empty(shape, dt)
        gx.fill(0)
        KC.max_pool_backward(_contig(g), self.idx, gx)
        return (gx,)


class AvgPool2DBackward0(Node):
    def forward(self, x, k, s, p, out, include_pad, override):
        N, C = x.shape[:2]
        y = empty((N, C) + tuple(out), x.dtype)
        KC.avg_pool(x, k, s, p, out, include_pad, override, y)
        self.meta = (x.shape, x.dtype, k, s, p, include_pad, override)
        return y

    def backward(self, g):
        shape, dt, k, s, p, include_pad, override = self.meta
        gx = empty(shape, dt)
        gx.fill(0)
        KC.avg_pool_backward(g, k, s, p, include_pad, override, gx)
        return (gx,)


def _two_d(x, k, s, p, d, out, nd):
    if nd == 2:
        return x, k, s, p, d, out
    return x.unsqueeze(2), (1,) + k, (1,) + s, (0,) + p, (1,) + d, (1,) + out


def max_pool(x, k, s, p, d, out, nd):
    """(y, indices) for batched x; indices are flat positions in each input plane."""
    x2, k, s, p, d, out2 = _two_d(x, k, s, p, d, out, nd)
    y, node = apply_node(MaxPool2DWithIndicesBackward0, (x2,), k, s, p, d, out2)
    idx = _wrap(node.idx)
    if nd == 1:
        return y.squeeze(2), idx.squeeze(2)
    return y, idx


def avg_pool(x, k, s, p, out, include_pad, override, nd):
    x2, k, s, p, _, out2 = _two_d(x, k, s, p, (1,) * nd, out, nd)
    y = apply(AvgPool2DBackward0, (x2,), k, s, p, out2, bool(include_pad), override)
    return y.squeeze(2) if nd == 1 else y


# ---- softmax rows ---------------------------------------------------------------------------
def _rows(a, axis):
    axis %= a.ndim
    kept = [d for d in range(a.ndim) if d != axis]
    return tuple(a.shape[d] for d in kept) or (1,), tuple(a.est[d] for d in kept) or (0,), \
        kept, axis


def softmax_array(a, axis, log=False):
    out = empty(a.shape, a.dtype)
    if a.size:
        kshape, akst, kept, axis = _rows(a, axis)
        ost = contiguous_strides(a.shape)
        okst = tuple(ost[d] for d in kept) or (0,)
        nrows = a.size // a.shape[axis]
        KL.softmax(nrows, kshape, akst, okst, a.shape[axis], a.est[axis], ost[axis], a.st.dev,
                   a.off, out.st.dev, log)
    return out


def softmax_backward_array(g, y, axis, log=False):
    out = empty(y.shape, y.dtype)
    if y.size:
        g = g.broadcast_to(y.shape)
        kshape, gkst, kept, axis = _rows(g, axis)
        _, ykst, _, _ = _rows(y, axis)
        ost = contiguous_strides(y.shape)
        okst = tuple(ost[d] for d in kept) or (0,)
        KL.softmax_backward(y.size // y.shape[axis], kshape, gkst, ykst, okst, y.shape[axis],
                            g.est[axis], y.est[axis], ost[axis], g.st.dev, g.off, y.st.dev,
                            y.off, out.st.dev, log)
    return out


# ---- cross-entropy / NLL --------------------------------------------------------------------
class NllLossBackward0(Node):
    """Cross-entropy on logits (fused) or NLL on log-probabilities, class-index targets."""

    def forward(self, x, t, w, ignore, reduction, eps, fused):
        m, c = x.shape
        loss, wrow, lse = empty((m,), x.dtype), empty((m,), x.dtype), empty((m,), x.dtype)
        KL.ce_forward(m, c, x, t, x if w is None else w, ignore, eps, fused, loss, wrow, lse,
                      B.error_flags())
        B.expect_errors()
        self.args = (t, w, ignore, eps, fused, reduction)
        self.lse = lse
        self.save(x)
        if reduction == "none":
            self.den = None
            return loss
        total = loss.sum()
        self.den = wrow.sum() if reduction == "mean" else None
        return np.true_divide(total, self.den) if reduction == "mean" else total

    def backward(self, g):
        (x,) = self.saved
        t, w, ignore, eps, fused, reduction = self.args
        m, c = x.shape
        one = _const(1, x.dtype)
        sw = _const(c, x.dtype) if w is None else w.sum()
        out = empty((m, c), x.dtype)
        # 'mean' and 'sum' bring one gradient for every row: broadcast it
        gsc = g.reshape(-1) if reduction == "none" else \
            CudaArray(g.st, g.off, (m,), (0,), g.dtype)
        KL.ce_backward(m, c, x, t, x if w is None else w, ignore, eps, fused, self.lse, gsc,
                       self.den if self.den is not None else one, sw, out)
        return (out,)

    def name(self):
        return "NllLossBackward0"


_consts = {}


def _const(v, dt):
    key = (v, np.dtype(dt).str)
    a = _consts.get(key)
    if a is None:
        a = _consts[key] = empty((1,), dt)
        a.fill(v)
    return a


def _same_device(a, b):
    if not isinstance(b._data, CudaArray):
        raise RuntimeError("Expected all tensors to be on the same device, but found at least "
                           f"two devices, {a.device} and {b.device}!")


def class_loss(input, target, weight, ignore_index, reduction, eps, fused):
    """cross_entropy (fused=True) or nll_loss with class-index targets."""
    _same_device(input, target)
    if weight is not None:
        _same_device(input, weight)
    x = input
    if x.dim() == 1:
        x = x.unsqueeze(0)
    elif x.dim() > 2:
        x = x.permute((0,) + tuple(range(2, x.dim())) + (1,)).reshape(-1, x.shape[1])
    t = target._data.reshape(-1)
    t = t if t.dtype == np.int64 else t.astype(np.int64)
    w = None if weight is None else weight._data.astype(x._data.dtype, copy=False)
    out = apply(NllLossBackward0, (x,), t, w, int(ignore_index), reduction, float(eps),
                bool(fused))
    return out.reshape(target.shape) if reduction == "none" else out


def soft_cross_entropy(input, target, weight, reduction, eps):
    """cross_entropy with class-probability targets, composed from device ops."""
    _same_device(input, target)
    c = input.shape[1] if input.dim() > 1 else input.shape[0]
    lp = input.log_softmax(1 if input.dim() > 1 else 0)
    q = target * (1 - eps) + eps / c if eps > 0 else target
    if weight is not None:
        shape = (1, c) + (1,) * (input.dim() - 2) if input.dim() > 1 else (c,)
        q = q * weight.reshape(shape)
    loss = -(q * lp).sum(1 if input.dim() > 1 else 0)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (loss.numel() if loss.dim() else 1)


# ---- dropout --------------------------------------------------------------------------------
def dropout_mask(shape, dtype, p):
    """Kept entries 1/(1-p), dropped 0: drawn on the device from the CUDA generator."""
    n = 1
    for s in shape:
        n *= s
    out = empty(tuple(shape), dtype)
    if p >= 1.0:
        out.fill(0)
        return out
    seed, offset = B.rng.take(n)
    key = KL.mix32_host((seed & 0xFFFFFFFF) ^ KL.mix32_host(seed >> 32))
    if n:
        KL.dropout_mask(n, out, key, offset, float(p), 1.0 / (1.0 - p))
    return out

