"""Second-order rules of the loss nodes (class losses, binary cross-entropy, KL divergence,
smooth L1 and Huber), for ``create_graph=True``.

A loss node saves transformed values (log-probabilities, differences): a Tensor with those
values linked to an input serves wherever its derivatives are what matters, and for a saved
value that is a fixed transform of an input, ``const + linked zeros * slope`` carries the
value and the derivative together.
"""
import numpy as np

from .higher_order import _const, _fit, _input, rule
from .higher_order_shape import _keep, _need


def _spread(g, reduction, shape):
    """The gradient of the reduction as one Tensor value per loss element."""
    if reduction == "none":
        return g
    n = 1
    if reduction == "mean":
        n = int(np.prod(shape))
    elif reduction == "batchmean":
        n = shape[0] if len(shape) else 1
    return (g / n if n > 1 else g).expand(tuple(shape))


def _register_loss_rules():
    from ..nn._functional import loss as L
    from ..nn._functional import loss_class as C

    def _pointwise(slope):
        """Rule of an elementwise loss of d = input - target: g times slope(d)."""
        def fn(node, g):
            (d,) = node.saved
            (ash, adt), (bsh, bdt), reduction = node.meta
            # a Tensor of d's values with slope +1 to the input and -1 to the target
            diff = _input(node, 0, d) - _input(node, 1, np.zeros_like(d))
            gd = _spread(g, reduction, d.shape) * slope(diff, d, node.param)
            return (_fit(gd, ash, adt) if _need(node, 0) else None,
                    _fit(-gd, bsh, bdt) if _need(node, 1) else None)
        return fn

    def _smooth_l1(diff, d, beta):
        from .. import where
        return where(_const(np.abs(d) < beta), diff / beta, _const(np.sign(d)))

    def _huber(diff, d, delta):
        from .. import where
        return where(_const(np.abs(d) < delta), diff, _const(delta * np.sign(d)))

    rule(L.SmoothL1LossBackward0)(_pointwise(_smooth_l1))
    rule(L.HuberLossBackward0)(_pointwise(_huber))

    def _bce_start(node, g, x, t, w):
        """The weighted incoming gradient spread to the elements, and x, t as linked tensors."""
        shape, dt, reduction = node.meta
        ge = _spread(g, reduction, shape)
        if w is not None:
            ge = ge * _const(w)
        return ge, _input(node, 0, x), _input(node, 1, t), shape, dt

    @rule(L.BinaryCrossEntropyBackward0)
    def _bce(node, g):
        x, t, w = node.saved
        ge, xs, ts, shape, dt = _bce_start(node, g, x, t, w)
        gx = gt = None
        if _need(node, 0):  # (x - t) / (x (1 - x))
            gx = _fit(ge * (xs - ts) / ((1 - xs) * xs).clamp(min=1e-12), shape, dt)
        if _need(node, 1):  # log(1 - x) - log(x)
            gt = _fit(ge * ((-xs).log1p() - xs.log()), shape, dt)
        return gx, gt

    @rule(L.BinaryCrossEntropyWithLogitsBackward0)
    def _bce_logits(node, g):
        x, t = node.saved
        w, pw, _, _ = node.wts
        ge, xs, ts, shape, dt = _bce_start(node, g, x, t, w)
        gx = gt = None
        if _need(node, 0):  # lw sigmoid(x) - pw t, lw = (pw - 1) t + 1
            if pw is None:
                gx = _fit(ge * (xs.sigmoid() - ts), shape, dt)
            else:
                lw = ts * _const(pw - 1) + 1
                gx = _fit(ge * (lw * xs.sigmoid() - ts * _const(pw)), shape, dt)
        if _need(node, 1):  # -x + (pw - 1) softplus(-x)
            d = -xs
            if pw is not None:
                d = d + _const(pw - 1) * ((-xs.abs()).exp().log1p() + (-xs).clamp(min=0))
            gt = _fit(ge * d, shape, dt)
        return gx, gt

    @rule(L.KlDivBackward0)
    def _kl_div(node, g):
        x, t = node.saved
        shape, dt, reduction, log_target = node.meta
        ge = _spread(g, reduction, shape)
        xs, ts = _input(node, 0, x), _input(node, 1, t)
        et = ts.exp() if log_target else ts
        gx = _fit(-ge * et, shape, dt) if _need(node, 0) else None
        gt = None
        if _need(node, 1):
            d = et * (ts - xs + 1) if log_target else ts.log() + 1 - xs
            gt = _fit(ge * d, shape, dt)
        return gx, gt

    def _rows(t, shape):
        """(N, C, d1..) -> (N*d1.., C) as Tensor ops, as the node's own _rows."""
        if len(shape) <= 2:
            return t if len(shape) == 2 else t.unsqueeze(0)
        return t.movedim(1, -1).reshape(-1, shape[1])

    def _unrows(t, shape):
        if len(shape) <= 2:
            return t if len(shape) == 2 else t[0]
        moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
        return t.reshape(moved).movedim(-1, 1)

    def _scale(node, g, reduction):
        if reduction == "none":
            return g.reshape(-1, 1)
        s = g.reshape(1, 1)
        return s / float(node.denom or 1) if reduction == "mean" else s

    def _logits(node, lp, shape):
        # log-probabilities differ from the logits by a per-row constant, which softmax and
        # log_softmax ignore: these rows have the logits' derivatives
        return _rows(_input(node, 0, C._unrows(lp, shape)), shape)

    @rule(C.NllLossBackward0)
    def _nll(node, g):
        shape, dt, reduction, eps, fused, weight = node.meta
        s = _scale(node, g, reduction)
        if hasattr(node, "wq"):
            return _soft_targets(node, s)
        m, c = node.t_safe.shape[0], (shape[1] if len(shape) > 1 else shape[0])
        onehot = np.zeros((m, c), dt)
        onehot[np.arange(m), node.t_safe] = 1
        valid = node.valid[:, None]
        # a = dL/dlog-probs, then through log_softmax (fused): a - softmax * sum(a)
        a = _const(onehot) * _keep(valid, s * _const(node.w_row[:, None])) * -(1 - eps)
        if eps > 0:
            wv = weight if weight is not None else np.ones(c, dt)
            a = a - _keep(valid, s) * _const((eps / c) * wv[None, :])
        if fused:
            a = a - _logits(node, node.saved[0], shape).softmax(1) * a.sum(1, keepdim=True)
        else:
            # nll's gradient does not depend on the input, yet it stays linked to it (a zero
            # second derivative), so that the gradient requires grad as the user expects
            a = a + _rows(_input(node, 0, np.zeros(shape, dt)), shape) * 0
        return (_unrows(a, shape),)

    def _soft_targets(node, s):
        shape, dt, reduction, eps, _, weight = node.meta
        lp = node.saved[0]
        xr = _logits(node, lp, shape)
        factor = (1 - eps) * (weight if weight is not None else np.ones((), dt))
        gx = gt = None
        if _need(node, 0):
            # the weighted smoothed targets as a Tensor: their values, the target's slope
            wq = _const(node.wq) + _rows(_input(node, 1, np.zeros(shape, dt)), shape) * \
                _const(np.asarray(factor, dt))
            gx = _unrows((xr.softmax(1) * wq.sum(1, keepdim=True) - wq) * s, shape)
        if _need(node, 1):
            gt = _unrows(-xr.log_softmax(1) * _const(np.asarray(factor, dt)) * s, shape)
        return gx, gt

    @rule(C.CrossEntropyMeanBackward)
    def _cross_entropy(node, g):
        if node.general:
            return _nll(node, g)
        p = node.saved[0]
        with np.errstate(divide="ignore"):
            logits = _input(node, 0, np.log(p))
        onehot = np.zeros(p.shape, p.dtype)
        onehot[np.arange(p.shape[0]), node.t] = 1
        return ((logits.softmax(1) - _const(onehot)) * (g / p.shape[0]),)


_register_loss_rules()
