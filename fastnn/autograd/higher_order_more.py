"""Second-order rules of scans, order statistics, products, spreads, norms and more
elementwise math, for ``create_graph=True``."""
import math

import numpy as np

from . import ops_extra as E
from . import ops_math as M
from . import ops_misc as X
from . import ops_reduce as R
from .higher_order import _const, _expand_back, _fit, _input, _output, rule
from .higher_order_shape import _keep, _need, _zeros


def _safe(t, bad):
    """t with 1 where the array ``bad`` holds: a divisor whose zeros are masked out later."""
    from .. import where
    return where(_const(np.asarray(bad, bool)), _const(np.ones((), t._data.dtype)), t)


# ---- scans and products -------------------------------------------------------------------

@rule(R.CumsumBackward0)
def _cumsum(node, g):
    ax = node.axis
    return (g.flip(ax).cumsum(ax).flip(ax),)


def _others_product(x, zero_free):
    """prod over the last dim of x leaving each entry out in turn (exact with zeros): the
    leave-one-out rows are x with its own entry replaced by 1."""
    n = x.shape[-1]
    if zero_free:
        return x.prod(-1, keepdim=True) / x
    from .. import where
    eye = _const(np.eye(n, dtype=bool))
    rows = where(eye, _const(np.ones((), x._data.dtype)), x.unsqueeze(-2))
    return rows.prod(-1)


@rule(R.ProdBackward1)
def _prod(node, g):
    a, _ = node.saved
    shape, axis, keepdim = node.meta
    x = _input(node, 0, a)
    zero_free = not (a == 0).any()
    if axis is None:
        return ((_others_product(x.reshape(-1), zero_free) * g).reshape(shape),)
    others = _others_product(x.movedim(axis, -1), zero_free).movedim(-1, axis)
    return (others * _expand_back(g, shape, (axis,), keepdim),)


@rule(E.CumprodBackward0)
def _cumprod(node, g):
    a, y = node.saved
    ax = node.axis
    x = _input(node, 0, a)
    if not (a == 0).any():  # d y_j / d x_i = y_j / x_i for j >= i
        return ((g * _output(node, y)).flip(ax).cumsum(ax).flip(ax) / x,)
    # with zeros: c[i, j] = prod_{k <= j, k != i} x_k, summed over j >= i against g_j
    from .. import where
    xm = x.movedim(ax, -1)
    n = xm.shape[-1]
    one = _const(np.ones((), a.dtype))
    c = where(_const(np.eye(n, dtype=bool)), one, xm.unsqueeze(-2)).cumprod(-1)
    upper = _const(np.triu(np.ones((n, n), a.dtype)))
    return ((c * upper * g.movedim(ax, -1).unsqueeze(-2)).sum(-1).movedim(-1, ax),)


# ---- order statistics: the gradient goes where the chosen values came from ----------------

@rule(R.MaxBackward1)
def _max_all(node, g):
    a = node.saved[0]
    mask = node.ties()
    return (_keep(mask, g * _const(np.asarray(1 / mask.sum(), a.dtype))),)


@rule(R.MaxBackward0)
def _max_dim(node, g):
    shape, _, axis = node.meta
    if not len(shape):
        return (g,)
    if not node.keepdim:
        g = g.unsqueeze(axis)
    return (_zeros(shape, g).scatter_add(axis, _const(node.idx), g),)


@rule(R.SortBackward0)
def _sort(node, g):
    shape = node.meta[0]
    if not len(shape):
        return (g,)
    return (_zeros(shape, g).scatter_add(node.axis, _const(node.indices), g),)


@rule(M.MaximumBackward0)
def _maximum(node, g):
    wa, wb = node.weights()  # MinimumBackward0 saves its inputs swapped: this serves both
    dt = g._data.dtype
    # selections around g * weight: an inf gradient at a losing input gives 0, not nan
    return (_fit(_keep(wa != 0, g * _const(wa.astype(dt))), *node.a_meta)
            if _need(node, 0) else None,
            _fit(_keep(wb != 0, g * _const(wb.astype(dt))), *node.b_meta)
            if _need(node, 1) else None)


# ---- spreads, norms, logsumexp ------------------------------------------------------------

@rule(R.VarBackward0)
def _var(node, g):
    centred, y = node.saved
    shape, axes, keepdim = node.meta
    # x's mean does not move the centred values: x_like - mean(x_like) has x's derivatives
    x = _input(node, 0, centred)
    c = x - (x.mean() if axes is None else x.mean(axes, keepdim=True))
    if node.take_sqrt:  # a zero std has slope 0
        g = _keep(y != 0, g / (2 * _safe(_output(node, y), y == 0)))
    if not node.denom:  # no degrees of freedom: the first-order rule's infinite slope
        return (_expand_back(g, shape, axes, keepdim) * c.abs() * math.inf,)
    return (_expand_back(g, shape, axes, keepdim) * c * (2.0 / node.denom),)


@rule(R.NormBackward1)
def _norm(node, g):
    a, y = node.saved
    shape, axes, keepdim = node.meta
    p = node.p
    gb = _expand_back(g, *node.meta)
    if p == 1 or p == np.inf:  # piecewise constant slopes (NaN entries and slices get none)
        return (gb * _const(node.slope().astype(a.dtype)),)
    yb_arr = R.expand_back(y, *node.meta)
    x = _input(node, 0, a)
    yb = _safe(_expand_back(_output(node, y), *node.meta), yb_arr == 0)
    if p == 2:
        r = x / yb
    elif p < 1:  # zero entries have slope 0 (|x|^(p-1) is infinite there)
        xa = _safe(x.abs(), a == 0)
        return (_keep((a != 0) & (yb_arr != 0),
                      gb * xa ** (p - 1) * _const(np.sign(a)) / yb ** (p - 1)),)
    else:  # sign(x) |x|^(p-1) / y^(p-1)
        r = x.abs() ** (p - 1) * _const(np.sign(a)) / yb ** (p - 1)
    return (_keep(yb_arr != 0, gb * r),)


@rule(R.LogsumexpBackward0)
def _logsumexp(node, g):
    a, s = node.saved
    shape, axes, keepdim = node.meta
    s_out = s if keepdim else np.squeeze(s, axis=axes)
    sb = _expand_back(_output(node, s_out), shape, axes, keepdim)
    return (_expand_back(g, shape, axes, keepdim) * (_input(node, 0, a) - sb).exp(),)


# ---- elementwise: zero slopes, piecewise, powers, inverse trigonometry ---------------------

@rule(M.SignBackward0, M.RoundingBackward0)
def _flat(node, g):
    return (_zeros(node.meta[0], g),)


@rule(M.DivBackward2)
def _div_rounded(node, g):
    return (_zeros(node.a_meta[0], g) if _need(node, 0) else None,
            _zeros(node.b_meta[0], g) if _need(node, 1) else None)


@rule(M.RemainderBackward0)
def _remainder(node, g):
    gb = None
    if _need(node, 1):
        a, b = node.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            q = (np.trunc if node.trunc else np.floor)(a / b)
        gb = _fit(-g * _const(q.astype(g._data.dtype)), *node.b_meta)
    return (_fit(g, *node.a_meta) if _need(node, 0) else None, gb)


@rule(M.PowBackward1)
def _pow_tensor(node, g):
    from .. import where
    a, b, y = node.saved
    xa, xb = _input(node, 0, a), _input(node, 1, b)
    ga = gb = None
    if _need(node, 0):
        ga = _fit(_keep(b != 0, g * xb * xa ** (xb - 1)), *node.a_meta)  # b == 0: slope 0
    if _need(node, 1):  # y log(a); 0 where a == 0 and b >= 0
        pos = a > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            bad = np.where(a == 0, -np.inf, np.nan).astype(y.dtype)
        la = where(_const(pos), _safe(xa, ~pos).log(), _const(bad))
        gb = _fit(_keep(~((a == 0) & (b >= 0)), g * _output(node, y) * la), *node.b_meta)
    return ga, gb


def _unary(cls, slope):
    """Rule of an elementwise node that saved (a, y): g times slope(x, y) as Tensors."""
    @rule(cls)
    def _fn(node, g):
        a, y = node.saved
        return (g * slope(_input(node, 0, a), lambda: _output(node, y)),)
    return _fn


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_unary(E.Log2Backward0, lambda x, y: 1 / (x * _LN2))
_unary(E.Log10Backward0, lambda x, y: 1 / (x * _LN10))
_unary(E.TanBackward0, lambda x, y: 1 + y() * y())
_unary(E.AsinBackward0, lambda x, y: (1 - x * x).rsqrt())
_unary(E.AcosBackward0, lambda x, y: -(1 - x * x).rsqrt())
_unary(E.AtanBackward0, lambda x, y: 1 / (1 + x * x))
_unary(E.SinhBackward0, lambda x, y: x.cosh())
_unary(E.CoshBackward0, lambda x, y: x.sinh())
_unary(X.AsinhBackward0, lambda x, y: (x * x + 1).rsqrt())
_unary(X.AcoshBackward0, lambda x, y: (x * x - 1).rsqrt())
_unary(X.AtanhBackward0, lambda x, y: 1 / (1 - x * x))
_unary(X.Exp2Backward0, lambda x, y: y() * _LN2)
_unary(X.LgammaBackward0, lambda x, y: x.digamma())
_unary(X.DigammaBackward0, lambda x, y: x.polygamma(1))
_unary(X.I0Backward0, lambda x, y: _special_i1(x))


def _special_i1(x):
    from .._special_more import special_op
    return special_op("i1", x)


@rule(X.PolygammaBackward0)
def _polygamma(node, g):
    return (g * _input(node, 0, node.saved[0]).polygamma(node.n + 1),)


@rule(E.Atan2Backward0)
def _atan2(node, g):
    a, b = node.saved
    xa, xb = _input(node, 0, a), _input(node, 1, b)
    r_arr = a * a + b * b
    recip = _keep(r_arr != 0, 1 / _safe(xa * xa + xb * xb, r_arr == 0))  # 0 at atan2(0, 0)
    return (_fit(g * xb * recip, *node.a_meta) if _need(node, 0) else None,
            _fit(-g * xa * recip, *node.b_meta) if _need(node, 1) else None)


def _register_layer_rules():
    from ..nn._functional import activation_shrink as shrink

    @rule(shrink.HardshrinkBackward0, shrink.SoftshrinkBackward0)
    def _shrink(node, g):
        a = node.saved[0]
        return (_keep((a < -node.lambd) | (a > node.lambd), g),)

    @rule(shrink.RreluWithNoiseBackward0)
    def _rrelu(node, g):
        return (g * _const(np.asarray(node.noise, g._data.dtype)),)


_register_layer_rules()
