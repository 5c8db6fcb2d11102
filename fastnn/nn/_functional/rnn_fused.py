"""The recurrent loop of one RNN, LSTM or GRU layer and direction as a single graph node.

The composite path (``nn.modules.rnn._run_direction``) records a dozen nodes per time step.
Here the whole loop over time runs in the compiled kernels ``_core.rnn_forward`` and
``_core.rnn_backward`` (one BLAS call and one fused gate pass per step), and backward is
backpropagation through time on arrays, with the ``w_hh`` and ``b_hh`` gradients taken as one
GEMM and one column sum over all steps at the end.

The node's inputs are the projected gates ``gi`` (packed, (N, G*H)), the initial states, and
``w_hh`` / ``b_hh``; its outputs are the packed outputs (N, H) and the final states (B, H),
each feeding it through a slot node (``autograd.fan``).
"""
import numpy as np

from ...autograd import grad_mode, node as _node
from ...autograd.engine import _edge, record_trace
from ...autograd.fan import Pack, SlotBackward, route, unpack
from ...autograd.higher_order import _input, recompute, rule
from ...autograd.node import Node, anomaly, new_sequence_number
from ...autograd.saved_hooks import hooks as saved_hooks, pack_node
from .linear import linear_grads

try:
    from ... import _core
except ImportError:  # a source checkout without the compiled extension
    _core = None

# an extension built before the recurrent kernels existed keeps the composite path
_KERNELS = _core is not None and hasattr(_core, "rnn_forward")
_state = grad_mode.state
_FAST_DT = (np.dtype(np.float32), np.dtype(np.float64))
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_enabled = [True]


def set_enabled(flag):
    """Use the fused loop where it applies (True) or always the composite path; returns the
    previous setting."""
    previous = _enabled[0]
    _enabled[0] = bool(flag)
    return previous


def usable(gi, states, w_hh, b_hh):
    """Whether the fused loop takes these tensors: CPU float32/float64 of one dtype, and a
    non-empty batch (an empty one has nothing to loop over)."""
    if not _enabled[0] or not _KERNELS or states[0].shape[0] == 0:
        return False
    dt = gi._data.dtype
    if dt not in _FAST_DT:
        return False
    for t in (gi, w_hh, b_hh, *states):
        if t is not None and (type(t._data) is not np.ndarray or t._data.dtype != dt):
            return False
    return True


class RnnSlotBackward(SlotBackward):
    """One output of the fused node; its own class so that higher-order gradients can route."""


class FusedRnnBackward0(Node):
    """(y, h_n[, c_n]) = the cell's loop over packed steps from gi, h0[, c0], w_hh[, b_hh]."""
    _late_vcs = ()  # saved inputs that only the create_graph rule reads

    def forward(self, arrays, mode, sizes, reverse):
        lstm, gru = mode == "LSTM", mode == "GRU"
        self.mode, self.sizes, self.reverse = mode, sizes, reverse
        gi, h0 = arrays[0], arrays[1]
        c0 = arrays[2] if lstm else None
        w = arrays[2 + lstm]
        b = arrays[3 + lstm] if len(arrays) > 3 + lstm else None
        dt = gi.dtype
        n, hidden, batch = gi.shape[0], w.shape[1], h0.shape[0]
        wc = np.ascontiguousarray(w)
        h = np.array(h0, dt, order="C")
        c = np.array(c0, dt, order="C") if lstm else None
        y = np.empty((n, hidden), dt)
        hp = np.empty((n, hidden), dt)
        cp = np.empty((n, hidden), dt) if lstm else None
        tc = np.empty((n, hidden), dt) if lstm else None
        act = np.empty((n, 4 * hidden), dt) if lstm or gru else None
        tmp = np.empty((batch, 3 * hidden), dt) if gru else None
        _core.rnn_forward(mode, np.ascontiguousarray(gi), wc,
                          None if b is None else np.ascontiguousarray(b), sizes, reverse, h, c,
                          y, hp, cp, tc, act, tmp)
        # the inputs themselves only for the in-place check and for double backward
        self.save(*arrays, wc, y if not (lstm or gru) else None, hp, cp, tc, act)
        return (y, h, c) if lstm else (y, h)

    def backward(self, g):
        mode, lstm, gru = self.mode, self.mode == "LSTM", self.mode == "GRU"
        k = len(self.saved) - 6
        wc, y, hp, cp, tc, act = self.saved[k:]
        dt, nxt = wc.dtype, self._next
        grads = unpack(g, 3 if lstm else 2)
        batch, hidden = self.saved[1].shape
        gy = None if grads[0] is None else np.ascontiguousarray(grads[0], dt)
        dh = _state_grad(grads[1], batch, hidden, dt)
        dc = _state_grad(grads[2], batch, hidden, dt) if lstm else None
        dgi = np.empty((hp.shape[0], _GATES[mode] * hidden), dt)
        dgh = np.empty_like(dgi) if gru else dgi
        _core.rnn_backward(mode, wc, self.sizes, self.reverse, y, hp, cp, tc, act, gy, dh, dc,
                           dgi, dgh)
        out = [dgi if nxt[0] is not None else None, dh if nxt[1] is not None else None]
        if lstm:
            out.append(dc if nxt[2] is not None else None)
        iw = 2 + lstm
        out += _weight_grads(nxt[iw], nxt[iw + 1] if k > iw + 1 else None, dgh, hp, wc)
        return tuple(out[:k])


def _state_grad(g, batch, hidden, dt):
    if g is None:
        return np.zeros((batch, hidden), dt)
    return np.array(np.broadcast_to(g, (batch, hidden)), dt, order="C")


def _weight_grads(w_next, b_next, dg, hp, wc):
    """dW_hh = dg.T @ hp and db_hh = dg.sum(0), written as ``linear``'s backward writes them."""
    if w_next is None and b_next is None:
        return [None, None]
    return list(linear_grads(dg, hp, wc, None, w_next, b_next))


def run(mode, gi, states, w_hh, b_hh, batch_sizes, reverse):
    """One layer and direction over packed ``gi``; ``states`` is (h0,) or (h0, c0), each
    (B, H). Returns the packed outputs and the tuple of final states."""
    inputs = [gi, *states, w_hh] + ([b_hh] if b_hh is not None else [])
    sizes = np.asarray(batch_sizes, np.int64)
    node = FusedRnnBackward0()
    record = _state.enabled and any(t._rg for t in inputs)
    if record:
        node._next = tuple(t.grad_fn or _edge(t) for t in inputs)
        node._seq = new_sequence_number()
    arrs = node.forward([t._data for t in inputs], mode, sizes, reverse)
    outs = [_node._wrap(a) for a in arrs]
    if record:
        route(node, outs, RnnSlotBackward)
        vcs, late = [], []
        for s in node.saved:
            for t in inputs + outs:
                if s is not None and t._data is s:
                    # backward never reads b_hh (as in PyTorch, changing it in place
                    # afterwards is allowed); only the create_graph rule, recomputing, does
                    (late if t is b_hh else vcs).append(_node.saved_version(t, s))
                    break
        node._vcs, node._late_vcs = vcs, late
        if saved_hooks.stack:
            pack_node(node, inputs + outs)
            node._late_vcs = ()
        if anomaly.enabled:
            record_trace(node)
    return outs[0], tuple(outs[1:])


# ---- create_graph=True: redo the loop in differentiable ops

@rule(RnnSlotBackward)
def _slot_rule(node, g):
    return (Pack(node.index, g),)


@rule(FusedRnnBackward0)
def _fused_rule(node, g):
    from ..modules.rnn import _run_direction
    from ..modules.rnn_cell import _STEPS
    lstm = node.mode == "LSTM"
    if node._late_vcs:
        kept, node._vcs = node._vcs, node._late_vcs
        try:
            node.check_saved()
        finally:
            node._vcs = kept
    n_in = len(node.saved) - 6
    grads = unpack(g, 3 if lstm else 2)
    keep = [k for k, gk in enumerate(grads) if gk is not None]
    tensors = [_input(node, i, node.saved[i]) for i in range(n_in)]
    sizes = [int(s) for s in node.sizes]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()

    def composite(gi, *rest):
        states, w_hh = rest[:1 + lstm], rest[1 + lstm]
        b_hh = rest[2 + lstm] if len(rest) > 2 + lstm else None
        out, final = _run_direction(_STEPS[node.mode], (w_hh, b_hh, None), gi, sizes, offsets,
                                    states, node.reverse)
        every = (out, *final)
        return tuple(every[k] for k in keep)

    try:
        return recompute(node, [grads[k] for k in keep], tensors, composite)
    except NotImplementedError as e:  # an op of the composite step still lacks a rule
        raise NotImplementedError(
            f"create_graph=True: fastnn cannot yet differentiate the gradient of {node.name()} "
            f"(the recurrent loop of RNN, LSTM and GRU), which is recomputed from per-step "
            f"ops: {e}") from None
