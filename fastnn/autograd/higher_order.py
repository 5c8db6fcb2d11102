"""Higher-order gradients: a backward pass that records its own graph (``create_graph=True``).

The ordinary engine runs each node's ``backward`` on arrays. Here each node's gradient is
computed again from differentiable Tensor ops (its rule below), so the resulting gradients
carry a graph and can be differentiated once more: gradient penalties, Hessian-vector
products, physics-informed losses. A value a node saved becomes a Tensor linked to the node
it came from: an input's gradient edge, or the node itself for a saved output. Nodes without
a rule raise, naming the op, rather than returning a gradient that silently lacks a graph.
"""
import numpy as np

from .._fp_quiet import quietly
from .engine import _check_anomaly, _dependencies, _useful, run_post_hooks, warn_forward_trace
from .grad_mode import enable_grad
from .node import AccumulateGrad, Node, anomaly
from .saved_hooks import unpack_node

_RULES = {}


def rule(*classes, routed=False):
    """Register ``fn(node, g)`` as the differentiable gradient of nodes of ``classes``.

    ``routed``: the op's gradient is g sent through a mask or an argmax picked by the input
    (relu, abs, max pooling): it does depend on the input, with derivative zero, and stays
    in the input's graph as in PyTorch, so differentiating it again gives zeros."""
    def register(fn):
        for cls in classes:
            _RULES[cls] = fn
        if routed:
            fn.routed = True
        return fn
    return register


class RoutedInputBackward(Node):
    """Zeros shaped like a routed gradient, depending on the input that chose the routing
    (derivative zero): what keeps that gradient in the input's graph."""

    def forward(self, x, shape, dtype):
        self.meta = (x.shape, x.dtype)
        return np.zeros(shape, dtype)

    def backward(self, g):
        shape, dtype = self.meta
        return (np.zeros(shape, dtype),)


def _keep_routing_inputs(node, grads):
    from .function import apply
    out = []
    for i, gi in enumerate(grads):
        if gi is not None and node._next[i] is not None:
            # only the shape is read: a broadcast zero stands for the input's values
            x = _input(node, i, np.broadcast_to(np.zeros((), gi._data.dtype), tuple(gi.shape)))
            gi = gi + apply(RoutedInputBackward, (x,), tuple(gi.shape), gi._data.dtype)
        out.append(gi)
    return tuple(out)


@quietly  # inf/nan without numpy's warnings, as in the first-order engine
def run_graph_backward(roots, root_grads, capture=None, retain_graph=True):
    """Like the engine's dependency-ordered pass, on Tensors; leaves accumulate graph grads
    unless ``capture`` (autograd.grad's nodes) is given, which returns them instead. Without
    ``retain_graph`` each node that ran frees its saved values, as a first-order pass does
    (the new graph keeps what it read of them)."""
    deps = _dependencies(roots)
    # with capture, a node runs only when a target lies below it: a captured node's own
    # backward is not needed (and may lead into graph parts without rules)
    reach = _useful(roots, capture) if capture is not None else None
    pending, ready, captured = {}, [], {}
    for node, g in zip(roots, root_grads):
        pending[node] = g if node not in pending else pending[node] + g
        if deps.get(node, 0) == 0 and node not in ready:
            ready.append(node)
    with enable_grad():
        while ready:
            node = ready.pop()
            g = pending.pop(node, None)
            if type(node) is AccumulateGrad:  # (_accumulate runs the sink's own hooks)
                if capture is not None:
                    if node in capture:
                        captured[node] = g
                elif g is not None:
                    _accumulate(node, g)
                continue
            if g is not None and node._pre_hooks:
                g = _run_hooks(node._pre_hooks, g)
            if capture is not None and node in capture:
                captured[node] = g
            nexts = node._next
            if g is None or (reach is not None and
                             not any(n in reach for n in nexts if n is not None)):
                grads = (None,) * len(nexts)
            else:
                grads = _node_grads(node, g, retain_graph)
            for nxt, gi in zip(nexts, grads):
                if nxt is None:
                    continue
                if gi is not None:
                    prev = pending.get(nxt)
                    pending[nxt] = gi if prev is None else prev + gi
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
    return captured


def _node_grads(node, g, retain_graph):
    """One node's gradients from its rule, with its hooks and anomaly mode's checks."""
    try:
        packed = node._packed
        if node._vcs or node._freed or packed is not None:
            node.check_saved()
            if packed is not None:
                node.saved = unpack_node(packed)
        fn = _rule_for(node)
        grads = fn(node, g)
        if packed is not None:
            node.saved = ()
        if not retain_graph:
            node.release()
        if getattr(fn, "routed", False):
            grads = _keep_routing_inputs(node, grads)
        if node._post_hooks:
            grads = run_post_hooks(node, grads, g, as_arrays=False)
        if anomaly.enabled:
            _check_anomaly(node, grads)
    except Exception:
        if anomaly.enabled:
            warn_forward_trace(node)
        raise
    return grads


def recompute(node, g, tensors, fn):
    """Gradients of ``fn(*tensors)`` (the node's forward redone in differentiable ops on its
    inputs as linked Tensors), with a graph: a rule for nodes whose formulas are long."""
    from . import grad
    want = [i for i, t in enumerate(tensors) if node._next[i] is not None]
    got = grad(fn(*tensors), [tensors[i] for i in want], g, create_graph=True,
               allow_unused=True)
    out = [None] * len(tensors)
    for i, gi in zip(want, got):
        out[i] = gi
    return tuple(out)


def _rule_for(node):
    for cls in type(node).__mro__:
        fn = _RULES.get(cls)
        if fn is not None:
            return fn
    raise NotImplementedError(
        f"create_graph=True: fastnn cannot yet differentiate the gradient of {node.name()} "
        "(higher-order gradients cover elementwise math and activations, matrix products, "
        "inverse, det, slogdet and solve, solve_triangular, cholesky_solve/inverse, lu, "
        "eigvalsh, einsum, cholesky, qr, svd, svdvals, eigh, pinv and "
        "matrix_exp, linear layers, 1/2/3-d convolutions (grouped, depthwise, "
        "transposed), max/average/adaptive pooling, interpolate, grid_sample, fold/unfold, "
        "batch/layer/group/instance norm, sums, means, products, cumsum/cumprod, max/min, sort, "
        "median, var/std, norms, logsumexp, softmax, shape ops, cat/stack/split, pad, "
        "embedding, indexing, as_strided, gather/scatter/index_add/scatter_reduce, masked_fill, "
        "where, "
        "in-place writes, custom Functions, and the losses: mse, l1, smooth_l1, huber, "
        "nll, cross_entropy, binary_cross_entropy (with logits), kl_div)")


def _run_hooks(hooks, g):
    for hook in list(hooks.values()):
        r = hook(g)
        if r is not None:
            g = r
    return g


def _accumulate(node, g):
    """A leaf's graph-carrying gradient added into ``.grad``, with the hooks in the order of
    the first-order ``AccumulateGrad.accumulate``."""
    leaf = node.variable
    if node.tensor_hooks:
        g = _run_hooks(node.tensor_hooks, g)
    if node._pre_hooks:
        g = _run_hooks(node._pre_hooks, g)
    g = _fit(g, leaf._data.shape, leaf._data.dtype)
    leaf._grad = g if leaf._grad is None else leaf._grad + g
    if "_post_acc_hooks" in leaf.__dict__:
        from .node import _run_post_accumulate_hooks
        _run_post_accumulate_hooks(leaf)
    if node._post_hooks:
        run_post_hooks(node, (), g, as_arrays=False)


# ---- saved values as Tensors linked into the graph -------------------------------------------

def _const(arr):
    from ..tensor import _wrap
    return _wrap(arr)


def _input(node, i, arr):
    """``arr`` (what node saved of input i) as a Tensor whose gradient flows to input i."""
    from ..tensor import _wrap
    return _wrap(arr, node._next[i]) if node._next[i] is not None else _wrap(arr)


def _output(node, arr):
    """node's own saved output as a Tensor: its gradient flows back through node."""
    from ..tensor import _wrap
    return _wrap(arr, node)


def _fit(g, shape, dtype):
    """Sum a broadcast gradient back to ``shape`` (differentiably) and cast it."""
    if tuple(g.shape) != tuple(shape):
        lead = g.dim() - len(shape)
        if lead:
            g = g.sum(dim=tuple(range(lead)))
        axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
        if axes:
            g = g.sum(dim=axes, keepdim=True)
    if g._data.dtype != dtype:
        g = g.to(_dtype_of(dtype))
    return g


def _dtype_of(npd):
    from .._dtype import _FROM_NP
    return _FROM_NP[npd]


def _expand_back(g, shape, axes, keepdim):
    """A reduced gradient broadcast back over the reduced axes."""
    if axes is None:
        g = g.reshape((1,) * len(shape))
    elif not keepdim:
        for a in sorted(a % len(shape) for a in axes):
            g = g.unsqueeze(a)
    return g.expand(shape)


from . import higher_order_rules, higher_order_norm  # noqa: E402,F401  (register the rules)
from . import higher_order_shape, higher_order_more, higher_order_loss  # noqa: E402,F401
from . import higher_order_conv, higher_order_extra  # noqa: E402,F401
from . import higher_order_func  # noqa: E402,F401
from . import higher_order_einsum  # noqa: E402,F401
from . import higher_order_linalg  # noqa: E402,F401


@rule(RoutedInputBackward)
def _routed_input(node, g):
    shape, dtype = node.meta
    return (_const(np.zeros(shape, dtype)),)
