"""Second-order rules of the joining, selecting and scattering ops (cat, stack, gather,
scatter, index_select, pads, embedding, ...), for ``create_graph=True``.

Each of these gradients is linear in the incoming gradient with a fixed routing (slices,
index lists or masks, all constants), so each rule routes ``g`` with Tensor ops.
"""
import numpy as np

from . import ops_extra as E
from . import ops_math as M
from . import ops_shape as S
from .higher_order import _const, _fit, rule


def _need(node, i):
    return node._next[i] is not None


def _zeros(shape, like):
    from .. import zeros
    return zeros(tuple(shape), dtype=like.dtype)


def _index(arr):
    return _const(np.asarray(arr, np.int64).reshape(-1))


def scatter_flat(g, positions, shape):
    """A tensor of ``shape`` with g's values added at the flat ``positions`` (same size as g)."""
    n = int(np.prod(shape))
    return _zeros((n,), g).index_add(0, _index(positions), g.reshape(-1)).reshape(tuple(shape))


def _keep(mask, g):
    """g where the array ``mask`` holds, else 0 (a selection: nan elsewhere gives 0)."""
    from .. import where
    return where(_const(np.asarray(mask, bool)), g, _const(np.zeros((), g._data.dtype)))


def _strided_slots(size, stride, offset):
    """The storage slot of every element of a view with these sizes, strides and offset."""
    slots = np.full((), offset, np.int64)
    for k, (m, st) in enumerate(zip(size, stride)):
        slots = slots + (np.arange(m, dtype=np.int64) * st).reshape(
            (m,) + (1,) * (len(size) - k - 1))
    return np.broadcast_to(slots, tuple(size))


@rule(S.AsStridedBackward0)
def _as_strided(node, g):
    # linear in g: add g into the storage slots it came from, read the input's slots back
    n, size, stride, offset, (shape, in_stride, in_offset), _ = node.meta
    storage = scatter_flat(g, _strided_slots(size, stride, offset).reshape(-1), (n,))
    return (storage[_index(_strided_slots(shape, in_stride, in_offset))].reshape(tuple(shape)),)


def _along(nd, axis, sl):
    return (slice(None),) * axis + (sl,) + (slice(None),) * (nd - axis - 1)


# ---- joining: cat, stack (split, chunk, unbind and narrow are slices: IndexBackward0) ------

@rule(S.CatBackward0)
def _cat(node, g):
    nd = g.dim()
    axis = node.axis % nd
    ends = list(node.bounds) + [g.shape[axis]]
    out, start = [], 0
    for i, end in enumerate(ends):
        out.append(g[_along(nd, axis, slice(int(start), int(end)))] if _need(node, i) else None)
        start = end
    return tuple(out)


@rule(S.StackBackward0)
def _stack(node, g):
    axis = node.axis % g.dim()
    return tuple(g[_along(g.dim(), axis, i)] if _need(node, i) else None
                 for i in range(len(node._next)))


# ---- reordering ---------------------------------------------------------------------------

@rule(S.FlipBackward0)
def _flip(node, g):
    return (g.flip(node.axes),)


@rule(E.RollBackward0)
def _roll(node, g):
    sh = node.shifts
    neg = tuple(-s for s in sh) if isinstance(sh, tuple) else -sh
    return (g.roll(neg, node.axes),)


@rule(S.RepeatBackward0)
def _repeat(node, g):
    shape, reps = node.meta
    full = (1,) * (len(reps) - len(shape)) + tuple(shape)
    split = [v for r, s in zip(reps, full) for v in (r, s)]
    return (g.reshape(split).sum(tuple(range(0, len(split), 2))).reshape(tuple(shape)),)


@rule(S.TriuBackward0)
def _triu(node, g):
    return (g.triu(node.k) if node.upper else g.tril(node.k),)


@rule(E.DiagonalBackward0)
def _diagonal(node, g):
    shape, _ = node.meta
    pos = np.diagonal(np.arange(int(np.prod(shape))).reshape(shape), *node.args)
    return (scatter_flat(g, pos, shape),)


@rule(E.DiagEmbedBackward0)
def _diag_embed(node, g):
    return (g.diagonal(node.offset),)


# ---- gathering and scattering along a dim -------------------------------------------------

@rule(S.IndexSelectBackward0)
def _index_select(node, g):
    return (_zeros(node.meta[0], g).index_add(node.axis, _index(node.index), g),)


@rule(S.GatherBackward0)
def _gather(node, g):
    return (_zeros(node.meta[0], g).scatter_add(node.axis, _const(node.index), g),)


@rule(S.ScatterBackward0)
def _scatter(node, g):
    if node.reduce == "multiply":
        raise NotImplementedError("create_graph=True: fastnn does not differentiate the "
                                  "gradient of scatter with reduce='multiply'")
    ga = gs = None
    coords = S._scatter_index(node.index, node.axis)
    if _need(node, 0):
        ga = g
        if node.reduce != "add":  # overwritten positions lose their gradient
            kept = np.ones(tuple(g.shape), bool)
            kept[coords] = False
            ga = _keep(kept, g)
    if _need(node, 1):
        gs = g.gather(node.axis, _const(node.index))
        shape = node.src_meta[0]
        if tuple(shape) != tuple(node.index.shape):
            full = _zeros(shape, g)
            full[tuple(slice(0, s) for s in node.index.shape)] = gs
            gs = full
    return ga, gs


@rule(E.IndexAddBackward0)
def _index_add(node, g):
    gs = None
    if _need(node, 1):
        gg = g.reshape(1) if g.dim() == 0 else g
        gs = gg.index_select(node.axis, _index(node.index))
        if node.alpha != 1:
            gs = gs * node.alpha
        gs = _fit(gs.reshape(node.src_meta[0]), *node.src_meta)
    return (g if _need(node, 0) else None, gs)


@rule(S.MaskedFillBackward0)
def _masked_fill(node, g):
    return (_fit(_keep(~node.mask, g), *node.meta),)


@rule(S.MaskedFillBackward1)
def _masked_fill_tensor(node, g):
    ga = _fit(_keep(~node.mask, g), *node.meta) if _need(node, 0) else None
    gv = _keep(node.mask, g).sum() if _need(node, 1) else None
    return ga, gv


@rule(E.MaskedSelectBackward0)
def _masked_select(node, g):
    return (_fit(scatter_flat(g, np.flatnonzero(node.mask), node.mask.shape), *node.meta),)


@rule(M.WhereBackward0)
def _where(node, g):
    from .. import where
    zero = _const(np.zeros((), g._data.dtype))
    cond = _const(np.asarray(node.cond, bool))
    return (_fit(where(cond, g, zero), *node.a_meta) if _need(node, 0) else None,
            _fit(where(cond, zero, g), *node.b_meta) if _need(node, 1) else None)


# ---- pads and embeddings ------------------------------------------------------------------

def _register_layer_rules():
    from ..nn._functional import misc

    @rule(misc.ConstantPadNdBackward0)
    def _constant_pad(node, g):
        shape, _, src, grown = node.meta
        inner = tuple(slice(b, g.shape[i] - e) for i, (b, e) in enumerate(grown))
        out = _zeros(shape, g)
        out[src] = g[inner]
        return (out,)

    @rule(misc._IndexPadBackward)
    def _index_pad(node, g):
        # reflect / replicate / circular: each padded dim gathered input positions ``idx``
        for ax, n, idx in reversed(node.maps):
            shape = list(g.shape)
            shape[ax] = n
            g = _zeros(shape, g).index_add(ax, _index(idx), g)
        return (g,)

    @rule(misc.EmbeddingBackward0)
    def _embedding(node, g):
        shape, _, padding_idx, by_freq = node.meta
        flat = node.idx.reshape(-1)
        rows = g.reshape(-1, shape[1])
        if by_freq:
            # the value is divided by each index's count; PyTorch's derivative of it with
            # respect to g gathers g unscaled, and so does this one
            counts = np.bincount(flat, minlength=shape[0])[flat].astype(g._data.dtype)
            rows = rows + (rows / _const(counts[:, None]) - rows).detach()
        if padding_idx is not None:
            keep = np.flatnonzero(flat != padding_idx)
            flat, rows = flat[keep], rows[_index(keep)]
        return (_zeros(shape, g).index_add(0, _index(flat), rows),)


_register_layer_rules()
