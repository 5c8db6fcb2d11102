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


@rule(M.ReluBackward0, routed=True)
def _relu(node, g):
    return (_select(node.saved[0] > 0, g),)


@rule(M.AbsBackward0, routed=True)
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
    from ..nn._functional import activation as act_mod

    @rule(act_mod.LeakyReluBackward0, routed=True)
    def _leaky_relu(node, g):
        a = node.saved[0]
        return (g * _const(np.where(a > 0, 1.0, node.slope).astype(a.dtype)),)

    from .. import where

    def _mask(cond, a):
        return _const(cond.astype(a.dtype))

    @rule(act_mod.HardtanhBackward0, routed=True)
    def _hardtanh(node, g):
        a = node.saved[0]
        return (_select((a > node.lo) & (a < node.hi), g),)

    @rule(act_mod.ThresholdBackward0, routed=True)
    def _threshold(node, g):
        return (_select(~(node.saved[0] <= node.threshold), g),)  # NaN keeps its gradient

    @rule(act_mod.HardsigmoidBackward0, routed=True)
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


_register_more_layer_rules()
