"""Second-order rules of custom Functions, in-place writes (index_put, writes into views),
order statistics (median, kthvalue, cummax, ...), scatter_reduce, Tensor.unfold, a few
special elementwise ops and the matrix inverse and determinant, for ``create_graph=True``."""
import numpy as np

from . import ops_decomp as D
from . import ops_misc as X
from . import ops_select as P
from . import ops_shape as S
from .fan import Pack, SlotBackward, unpack
from .function import FunctionCtx
from .higher_order import _const, _fit, _input, _output, rule
from .higher_order_shape import _keep, _need, _zeros, scatter_flat


# ---- custom Functions: their own backward, run on Tensors, records its graph -------------

@rule(SlotBackward)
def _slot(node, g):
    return (Pack(node.index, g),)


@rule(FunctionCtx)
def _custom_function(node, g):
    from ..tensor import Tensor
    if node._outputs is None:
        grads_out = (g,)
    else:
        grads_out = []
        for gi, (shape, dt) in zip(unpack(g, len(node._outputs)), node._outputs):
            if gi is None and node.materialize_grads and shape is not None:
                gi = _const(np.zeros(shape, dt))
            grads_out.append(gi)
    from .function import backward_formula
    grads = backward_formula(node._fn_cls)(node, *grads_out)
    grads = grads if isinstance(grads, tuple) else (grads,)
    out = []
    for gi, slot in zip(grads, node._tensor_slots):
        if slot is None:
            continue
        if isinstance(gi, Tensor) and tuple(gi.shape) != tuple(slot.shape):
            gi = _fit(gi, tuple(slot.shape), gi._data.dtype)
        out.append(gi)
    out += [None] * (len(node._next) - len(out))
    return tuple(out)


# ---- in-place writes ----------------------------------------------------------------------

@rule(S.IndexPutBackward0)
def _index_put(node, g):
    gx = gv = None
    if _need(node, 0):
        gx = g
        if not node.accumulate:  # overwritten positions lose their gradient
            kept = np.ones(tuple(g.shape), bool)
            kept[node.idx] = False
            gx = _keep(kept, g)
    if _need(node, 1):
        gv = _fit(g[node.idx], *node.v_meta)
    return gx, gv


@rule(S.CopySlices)
def _copy_slices(node, g):
    gx = gv = None
    if _need(node, 0):
        kept = np.ones(int(np.prod(g.shape)), bool)
        kept[node.pos] = False
        gx = _keep(kept.reshape(tuple(g.shape)), g)
    if _need(node, 1):
        gv = g.reshape(-1)[node.pos]
    return gx, gv


# ---- order statistics and selections --------------------------------------------------------

@rule(P.TakeAlongBackward)
def _take_along(node, g):
    shape, _, axis, squeeze = node.meta
    if squeeze:
        g = g.unsqueeze(axis)
    return (_zeros(shape, g).scatter_add(axis, _const(node.idx), g),)


@rule(P.EvenlyBackward)
def _evenly(node, g):
    (a,) = node.saved
    axes, _ = node.meta
    v = node.value
    mask = (a == v) | (np.isnan(a) & np.isnan(v)) if a.dtype.kind == "f" else a == v
    share = mask / mask.sum(axis=axes, keepdims=True)
    spread = g.reshape(v.shape) * _const(share.astype(g._data.dtype))
    if node.label == "AminmaxBackward0":  # scaled by the mask, as the first-order backward
        return (spread,)
    return (_keep(mask, spread),)  # a selection: an inf gradient gives 0 off the chosen


@rule(X.ScatterReduceBackward0)
def _scatter_reduce(node, g):
    a, src, out = node.saved
    pos, region, src_shape, reduce, include_self, count = node.args
    if reduce == "prod":
        return _scatter_prod(node, g)
    own = np.ones(a.shape, bool)
    if not include_self:
        own[pos] = False
    flat = np.ravel_multi_index(np.broadcast_arrays(*pos), a.shape)
    if reduce in ("sum", "mean"):
        gg = g / _const(count.astype(g._data.dtype)) if reduce == "mean" else g
        ga, gs = _keep(own, gg), gg.reshape(-1)[_const(flat)]
    else:  # amax / amin: ties share the gradient evenly
        hit_a = own & (a == out)
        hit_s = src[region] == out[pos]
        n = hit_a.astype(np.int64)
        np.add.at(n, pos, hit_s)
        gn = g / _const(np.maximum(n, 1).astype(g._data.dtype))
        ga, gs = _keep(hit_a, gn), _keep(hit_s, gn.reshape(-1)[_const(flat)])
    gsrc = None
    if _need(node, 1):
        gsrc = gs
        if tuple(src_shape) != tuple(gs.shape):
            gsrc = _zeros(src_shape, g)
            gsrc[region] = gs
    return (ga if _need(node, 0) else None, gsrc)


def _scatter_prod(node, g):
    """scatter_reduce 'prod' redone as a product over a padded table of each output's
    factors (self's element where it counts, then the src elements scattered onto it, ones
    as padding), differentiated with a graph: prod's own rules handle zero factors."""
    from .. import cat, ones
    from .higher_order import recompute
    a, src, _ = node.saved
    pos, region, _, _, include_self, _ = node.args
    own = np.ones(a.shape, bool)
    if not include_self:
        own[pos] = False
    targets = np.ravel_multi_index(np.broadcast_arrays(*pos), a.shape).reshape(-1)
    # table[j] lists the src elements (flat, in index order) that land on output j
    order = np.argsort(targets, kind="stable")
    counts = np.bincount(targets, minlength=a.size)
    width = int(counts.max(initial=0))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(order.size) - starts[targets[order]]
    pad = targets.size  # the index of the appended one
    table = np.full((a.size, width), pad, np.int64)
    table[targets[order], rank] = order

    def scatter_prod(x, s):
        mine = _keep(own, x) + _const(np.where(own, 0, 1).astype(a.dtype))
        flat_src = cat([s[region].reshape(-1), ones(1, dtype=s.dtype)])
        factors = cat([mine.reshape(-1, 1), flat_src[_const(table)]], 1)
        return factors.prod(1).reshape(a.shape)
    return recompute(node, g, (_input(node, 0, a), _input(node, 1, src)), scatter_prod)


@rule(X.UnfoldBackward0)
def _unfold(node, g):
    shape, _, dim, size, step = node.meta
    n = int(np.prod(shape))
    pos = X.unfold_view(np.arange(n).reshape(shape), dim, size, step)
    return (scatter_flat(g, pos, shape),)


@rule(X.DiagEmbedBackward1)
def _diag_embed(node, g):
    return (g.diagonal(*node.args),)


# ---- elementwise special cases --------------------------------------------------------------

@rule(P.LogitBackward0)
def _logit(node, g):
    (a,) = node.saved
    eps = node.eps
    x = _input(node, 0, a)
    d = g / (x * (1 - x))
    if eps is None:  # NaN outside [0, 1], as the slope itself
        return (d + _const(np.where((a < 0) | (a > 1), np.nan, 0).astype(a.dtype)),)
    return (_keep(~((a < eps) | (a > 1 - eps)), d),)


@rule(P.SincBackward0)
def _sinc(node, g):
    from .. import where
    a, y = node.saved
    zero = a == 0
    x = _input(node, 0, a)
    safe = where(_const(zero), _const(np.ones((), a.dtype)), x)
    return (_keep(~zero, g * ((np.pi * x).cos() - _output(node, y)) / safe),)


@rule(P.CopysignBackward0)
def _copysign(node, g):
    a, b = node.saved
    slope = (np.sign(a) * np.copysign(1, b)).astype(g._data.dtype)
    return (_fit(g * _const(slope), *node.a_meta) if _need(node, 0) else None,
            _zeros(node.b_meta[0], g) if _need(node, 1) else None)


# ---- matrix inverse and determinant ----------------------------------------------------------

@rule(D.LinalgInvExBackward0)
def _inverse(node, g):
    yt = _output(node, node.saved[0]).transpose(-1, -2)
    return (-(yt.matmul(g).matmul(yt)),)


@rule(D.LinalgDetBackward0)
def _det(node, g):
    from .. import linalg
    x = _input(node, 0, node.saved[0])
    # d det(A) / dA = det(A) A^-T (A invertible)
    scale = (g * linalg.det(x)).unsqueeze(-1).unsqueeze(-1)
    return (scale * linalg.inv(x).transpose(-1, -2),)


@rule(D.LinalgSlogdetBackward0)
def _slogdet(node, g):
    from .. import linalg
    gl = unpack(g, 2)[1]  # the sign is piecewise constant
    if gl is None:
        return (None,)
    x = _input(node, 0, node.saved[0])
    return (gl.unsqueeze(-1).unsqueeze(-1) * linalg.inv(x).transpose(-1, -2),)


@rule(D.LinalgSolveExBackward0)
def _solve(node, g):
    from .. import linalg
    a, x = node.saved
    a_shape, a_dt, b_shape, b_dt = node.meta
    gb = linalg.solve(_input(node, 0, a).transpose(-1, -2), g)  # A^-T G
    ga = _fit(-gb.matmul(_output(node, x).transpose(-1, -2)), a_shape, a_dt) \
        if _need(node, 0) else None
    return ga, (_fit(gb, b_shape, b_dt) if _need(node, 1) else None)
