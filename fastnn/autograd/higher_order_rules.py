"""The differentiable gradient of each supported node, for ``create_graph=True``.

Each rule mirrors its node's array ``backward`` in Tensor ops: ``g`` is the incoming
gradient (a Tensor, possibly with a graph); saved values come back through ``_input`` /
``_output`` so that differentiating the result reaches the forward graph.
"""
import numpy as np

from . import ops_linalg as L
from . import ops_math as M
from . import ops_reduce as R
from . import ops_shape as S
from .higher_order import _const, _expand_back, _fit, _input, _output, rule


def _need(node, i):
    return node._next[i] is not None


def _binary(node, ga, gb):
    return (_fit(ga, *node.a_meta) if ga is not None and _need(node, 0) else None,
            _fit(gb, *node.b_meta) if gb is not None and _need(node, 1) else None)


# ---- elementwise -------------------------------------------------------------------------

@rule(M.AddBackward0)
def _add(node, g):
    return _binary(node, g, g if node.alpha == 1 else g * node.alpha)


@rule(M.SubBackward0)
def _sub(node, g):
    return _binary(node, g, -g if node.alpha == 1 else g * -node.alpha)


@rule(M.MulBackward0)
def _mul(node, g):
    a, b = node.saved
    ga = g * _input(node, 1, b) if _need(node, 0) else None
    gb = g * _input(node, 0, a) if _need(node, 1) else None
    return _binary(node, ga, gb)


@rule(M.DivBackward0)
def _div(node, g):
    a, b = node.saved
    B = _input(node, 1, b)
    ga = g / B if _need(node, 0) else None
    gb = -g * _input(node, 0, a) / (B * B) if _need(node, 1) else None
    return _binary(node, ga, gb)


@rule(M.PowBackward0)
def _pow_scalar(node, g):
    (a,) = node.saved
    e = node.e
    if e == 0:
        return (g * 0,)
    return (g * e * _input(node, 0, a) ** (e - 1),)


@rule(M.NegBackward0)
def _neg(node, g):
    return (-g,)


@rule(M.CloneBackward0)
def _identity(node, g):
    return (g,)


@rule(M.ToCopyBackward0)
def _to_copy(node, g):
    return (_fit(g, g.shape, node.dt),)


@rule(M.ExpBackward0)
def _exp(node, g):
    return (g * _output(node, node.saved[0]),)


@rule(M.Expm1Backward0)
def _expm1(node, g):
    return (g * (_output(node, node.saved[0]) + 1),)


@rule(M.LogBackward0)
def _log(node, g):
    return (g / _input(node, 0, node.saved[0]),)


@rule(M.Log1PBackward0)
def _log1p(node, g):
    return (g / (_input(node, 0, node.saved[0]) + 1),)


@rule(M.SqrtBackward0)
def _sqrt(node, g):
    return (g / (2 * _output(node, node.saved[0])),)


@rule(M.RsqrtBackward0)
def _rsqrt(node, g):
    y = _output(node, node.saved[0])
    return (g * (-0.5) * y * y * y,)


@rule(M.SinBackward0)
def _sin(node, g):
    return (g * _input(node, 0, node.saved[0]).cos(),)


@rule(M.CosBackward0)
def _cos(node, g):
    return (-g * _input(node, 0, node.saved[0]).sin(),)


@rule(M.TanhBackward0)
def _tanh(node, g):
    y = _output(node, node.saved[0])
    return (g * (1 - y * y),)


@rule(M.SigmoidBackward0)
def _sigmoid(node, g):
    y = _output(node, node.saved[0])
    return (g * y * (1 - y),)


# piecewise-linear ops: the mask is constant, so their second derivative is zero
def _select(keep, g):
    """g where ``keep`` (an array mask), else 0: a selection, so a nan or inf in g at a
    cut-off position gives 0 rather than nan (as the array backward does)."""
    from .. import where
    return where(_const(keep), g, _const(np.zeros((), g._data.dtype)))


@rule(M.ReluBackward0)
def _relu(node, g):
    return (_select(node.saved[0] > 0, g),)


@rule(M.AbsBackward0)
def _abs(node, g):
    return (g * _const(np.sign(node.saved[0])),)


@rule(M.ClampBackward1)
def _clamp(node, g):
    a = node.saved[0]
    keep = np.ones(a.shape, bool)
    if node.lo is not None:
        keep &= a >= node.lo
    if node.hi is not None:
        keep &= a <= node.hi
    return (_select(keep, g),)


# ---- reductions and softmax ---------------------------------------------------------------

@rule(R.SumBackward1)
def _sum(node, g):
    return (_expand_back(g, *node.meta),)


@rule(R.MeanBackward1)
def _mean(node, g):
    return (_expand_back(g / node.n, *node.meta),)


@rule(R.SoftmaxBackward0)
def _softmax(node, g):
    y = _output(node, node.saved[0])
    gy = g * y
    return (gy - y * gy.sum(dim=node.axis, keepdim=True),)


@rule(R.LogSoftmaxBackward0)
def _log_softmax(node, g):
    y = _output(node, node.saved[0])
    return (g - y.exp() * g.sum(dim=node.axis, keepdim=True),)


# ---- shapes and indexing -----------------------------------------------------------------

@rule(S.ViewBackward0)
def _view(node, g):
    return (g.reshape(node.in_shape),)


@rule(S.PermuteBackward0)
def _permute(node, g):
    return (g.permute(*node.inv),)


@rule(S.ExpandBackward0)
def _expand(node, g):
    return (_fit(g, *node.meta),)


@rule(S.IndexBackward0)
def _index(node, g):
    from .. import zeros
    from .._dtype import _FROM_NP
    shape, dt = node.meta
    out = zeros(shape, dtype=_FROM_NP[dt])
    if node.basic:
        out[node.idx] = g
        return (out,)
    return (out.index_put(node.idx if isinstance(node.idx, tuple) else (node.idx,), g,
                          accumulate=True),)


# ---- matrix products and linear layers ------------------------------------------------------

@rule(L.MmBackward0)
def _matmul(node, g):
    a, b = node.saved
    a_shape, a_dt, b_shape, b_dt = node.meta
    A, B = _input(node, 0, a), _input(node, 1, b)
    # a 1-D operand takes part as a row (a) or a column (b), as in the forward
    if a.ndim == 1:
        A = A.unsqueeze(0)
    if b.ndim == 1:
        B = B.unsqueeze(-1)
        g = g.unsqueeze(-1)
    if a.ndim == 1:
        g = g.unsqueeze(-2)
    ga = gb = None
    if _need(node, 0):
        ga = _fit(g.matmul(B.transpose(-1, -2)), tuple(A.shape), a_dt).reshape(a_shape)
    if _need(node, 1):
        gb = _fit(A.transpose(-1, -2).matmul(g), tuple(B.shape), b_dt).reshape(b_shape)
    return ga, gb


@rule(L.AddmmBackward0)
def _addmm(node, g):
    m1, m2 = node.saved
    gi = _fit(g * node.beta, *node.meta) if _need(node, 0) else None
    ga = g * node.alpha if node.alpha != 1 else g
    g1 = ga.matmul(_input(node, 2, m2).t()) if _need(node, 1) else None
    g2 = _input(node, 1, m1).t().matmul(ga) if _need(node, 2) else None
    return gi, g1, g2


def _register_layer_rules():
    from ..nn._functional import linear as linear_mod
    from ..nn._functional import loss as loss_mod

    @rule(linear_mod.AddmmBackward0)
    def _linear(node, g):
        x, w = node.saved
        gx = g.matmul(_input(node, 1, w)) if _need(node, 0) else None
        gw = g.t().matmul(_input(node, 0, x)) if _need(node, 1) else None
        gb = g.sum(0) if len(node._next) > 2 and _need(node, 2) else None
        return (gx, gw, gb) if len(node._next) > 2 else (gx, gw)

    @rule(loss_mod.MseLossBackward0)
    def _mse(node, g):
        (d,) = node.saved
        (ash, adt), (bsh, bdt), reduction = node.meta
        # input - target as a Tensor with slope +1 to the input and -1 to the target
        diff = _input(node, 0, d) - _input(node, 1, np.zeros_like(d))
        if reduction == "mean":
            g = (g / d.size).expand(d.shape)
        elif reduction == "sum":
            g = g.expand(d.shape)
        gd = g * 2 * diff
        return (_fit(gd, ash, adt) if _need(node, 0) else None,
                _fit(-gd, bsh, bdt) if _need(node, 1) else None)


_register_layer_rules()


def _register_more_layer_rules():
    from ..nn import functional as F
    from ..nn._functional import activation as act_mod
    from ..nn._functional import conv as conv_mod
    from ..nn._functional import loss_class as ce_mod

    @rule(act_mod.LeakyReluBackward0)
    def _leaky_relu(node, g):
        a = node.saved[0]
        return (g * _const(np.where(a > 0, 1.0, node.slope).astype(a.dtype)),)

    from .. import where

    def _mask(cond, a):
        return _const(cond.astype(a.dtype))

    @rule(act_mod.HardtanhBackward0)
    def _hardtanh(node, g):
        a = node.saved[0]
        return (_select((a > node.lo) & (a < node.hi), g),)

    @rule(act_mod.ThresholdBackward0)
    def _threshold(node, g):
        return (_select(node.saved[0] > node.threshold, g),)

    @rule(act_mod.HardsigmoidBackward0)
    def _hardsigmoid(node, g):
        a = node.saved[0]
        return (_select((a > -3) & (a < 3), g) / 6,)

    @rule(act_mod.HardswishBackward0)
    def _hardswish(node, g):
        a = node.saved[0]
        inside = _mask((a > -3) & (a < 3), a)
        return (g * (inside * (_input(node, 0, a) / 3 + 0.5) + _mask(a >= 3, a)),)

    @rule(act_mod.EluBackward0)
    def _elu(node, g):
        a = node.saved[0]
        neg = node.alpha * _input(node, 0, a).clamp(max=0).exp()
        return (g * where(_const(a > 0), _const(np.ones((), a.dtype)), neg),)

    @rule(act_mod.SiluBackward0)
    def _silu(node, g):
        a = node.saved[0]
        x = _input(node, 0, a)
        s = x.sigmoid()
        return (g * (s * (1 + x * (1 - s))),)

    @rule(act_mod.SoftplusBackward0)
    def _softplus(node, g):
        a = node.saved[0]
        z = a * node.beta
        slope = (_input(node, 0, a) * node.beta).sigmoid()
        return (g * where(_const(z > node.threshold), _const(np.ones((), a.dtype)), slope),)

    @rule(act_mod.GeluBackward0)
    def _gelu(node, g):
        a = node.saved[0]
        x = _input(node, 0, a)
        if node.approximate == "tanh":
            k = act_mod._GELU_K
            th = (k * (x + 0.044715 * x * x * x)).tanh()
            d = 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x)
        else:  # Phi(x) + x phi(x)
            d = 0.5 * (1 + (x / np.sqrt(2.0)).erf()) + x * (-0.5 * x * x).exp() / np.sqrt(
                2 * np.pi)
        return (g * d,)

    from ..nn._functional import pooling as pool_mod

    # pooling's gradient is linear in g with a fixed routing (the argmax, or the averaging
    # weights), so its own gradient goes through g alone
    @rule(pool_mod.MaxPoolWithIndicesBackward)
    def _max_pool(node, g):
        from .. import zeros
        x_shape = node.meta[0]
        n, c = x_shape[:2]
        flat = _const(node.flat_indices().reshape(n, c, -1))
        gb = g.unsqueeze(0) if node.unbatched else g
        gx = zeros((n, c, int(np.prod(x_shape[2:]))), dtype=gb.dtype).scatter_add(
            2, flat, gb.reshape(n, c, -1)).reshape(x_shape)
        return (gx[0] if node.unbatched else gx,)

    @rule(pool_mod.AvgPoolBackward)
    def _avg_pool(node, g):
        x_shape, dt, xp_shape, k, s, p, out = node.meta
        if len(k) != 2:
            raise NotImplementedError("create_graph=True: fastnn differentiates the gradient of "
                                      "2-d average pooling only")
        gb = g.unsqueeze(0) if node.unbatched else g
        n, c = x_shape[:2]
        share = (gb / _const(node.div)).reshape(n, c, 1, -1)
        kk = k[0] * k[1]
        cols = share.expand(n, c, kk, share.shape[-1]).reshape(n, c * kk, -1)
        full = F.fold(cols, tuple(xp_shape[2:]), k, stride=s)
        gx = full[:, :, p[0]:p[0] + x_shape[2], p[1]:p[1] + x_shape[3]]
        return (gx[0] if node.unbatched else gx,)

    @rule(ce_mod.CrossEntropyMeanBackward)
    def _cross_entropy(node, g):
        if node.general:
            raise NotImplementedError("create_graph=True: fastnn differentiates the gradient of "
                                      "cross_entropy with class targets and no ignored rows only")
        p = node.saved[0]
        # log p differs from the logits by a per-row constant, which softmax ignores: the
        # softmax of this tensor is p, with the logits' derivatives
        with np.errstate(divide="ignore"):
            logits = _input(node, 0, np.log(p))
        onehot = np.zeros(p.shape, p.dtype)
        onehot[np.arange(p.shape[0]), node.t] = 1
        return ((logits.softmax(1) - _const(onehot)) * (g / p.shape[0]),)

    def _conv2d_rule(node, g, x, w, stride, pads, dilation, groups, has_b):
        if w.ndim != 4 or groups != 1:
            raise NotImplementedError("create_graph=True: fastnn differentiates the gradient of "
                                      "2-d convolutions with groups=1 only")
        n, c, h, wd = x.shape
        o = w.shape[0]
        ksize = tuple(w.shape[2:])
        (pt, pb), (pl, pr) = pads
        X, W = _input(node, 0, x), _input(node, 1, w)
        Xp = F.pad(X, (pl, pr, pt, pb)) if pt or pb or pl or pr else X
        g3 = g.reshape(n, o, -1)
        gx = gw = gb = None
        if _need(node, 1):
            cols = F.unfold(Xp, ksize, dilation=dilation, stride=stride)     # (N, C*K, L)
            gw = g3.matmul(cols.transpose(1, 2)).sum(0).reshape(tuple(w.shape))
        if _need(node, 0):
            gcols = W.reshape(o, -1).t().matmul(g3)                            # (N, C*K, L)
            full = F.fold(gcols, (h + pt + pb, wd + pl + pr), ksize, dilation=dilation,
                          stride=stride)
            gx = full[:, :, pt:pt + h, pl:pl + wd]
        if has_b and _need(node, 2):
            gb = g.sum((0, 2, 3))
        return (gx, gw, gb) if has_b else (gx, gw)

    @rule(conv_mod.ConvolutionBackward0)
    def _conv_nd(node, g):
        x_shape, xp_shape, pads, stride, dilation, groups, out, has_b, last = node.meta
        _, w, x = node.saved
        return _conv2d_rule(node, g, x, w, stride, pads, dilation, groups, has_b)

    @rule(conv_mod.Conv2dColumnsBackward)
    def _conv_columns(node, g):
        x_shape, (kh, kw, sh, sw, ph, pw, dh, dw), groups, has_b = node.meta
        _, w, x = node.saved
        return _conv2d_rule(node, g, x, w, (sh, sw), ((ph, ph), (pw, pw)), (dh, dw), groups,
                            has_b)


_register_more_layer_rules()
