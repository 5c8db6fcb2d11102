"""The backward engine: an iterative walk in dependency order (never recursive)."""
from heapq import heappop, heappush

import numpy as np

from .._fp_quiet import STATE as _fp_state, QUIET as _FP_QUIET
from .grad_mode import state as _grad_state
from .saved_hooks import unpack_node
from .node import (AccumulateGrad, anomaly, capture_trace, engine_mode, has_nan,
                   run_tensor_hooks, slot_owners)


_mode = engine_mode


def direct_write_ok():
    return _mode.direct


def _edge(t):
    """The node a tensor's gradient flows into, or None."""
    fn = t.grad_fn
    if fn is not None:
        return fn
    if t._rg:
        acc = t._acc
        if acc is None:
            acc = AccumulateGrad(t)
            t._acc = acc
        return acc
    return None


def _dependencies(roots):
    deps = {}
    stack = [r for r in roots]
    seen = set(stack)
    while stack:
        node = stack.pop()
        for nxt in node._next:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps


def _useful(roots, targets):
    """Nodes from which some target is reachable (so autograd.grad skips the rest)."""
    useful = set()
    done = set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            if node in targets or any(n in useful for n in node._next if n is not None):
                useful.add(node)
            continue
        if node in done:
            continue
        done.add(node)
        stack.append((node, True))
        stack.extend((n, False) for n in node._next if n is not None and n not in done)
    return useful


def run_backward(roots, root_grads, retain_graph=False, capture=None):
    """Propagate ``root_grads`` from the ``roots`` nodes.

    ``capture`` (autograd.grad) maps nodes to slots: their incoming gradient is recorded
    instead of being accumulated into leaves, and nodes that lead to no target are skipped.
    """
    prev_direct = _mode.direct
    _mode.direct = capture is None
    prev_pass = start_pass(roots)
    # as in PyTorch, hooks and custom backward code run without recording a graph
    prev_enabled = _grad_state.enabled
    _grad_state.enabled = False
    if slot_owners:  # (backward(inputs=...) captures too, and still writes leaf grads)
        for ref in list(slot_owners.values()):
            owner = ref()
            if owner is not None:
                owner.check_slots()
    token = _fp_state.set(_FP_QUIET)  # PyTorch's backward gives inf/nan without warnings
    try:
        if capture is None:
            _run_in_creation_order(roots, root_grads, retain_graph)
            return {}
        return _run(roots, root_grads, retain_graph, capture)
    finally:
        end_pass(prev_pass)  # (a top-level pass leaves no roots: they would keep the graph)
        _mode.direct = prev_direct
        _grad_state.enabled = prev_enabled
        _fp_state.reset(token)


def start_pass(roots):
    """Begin a backward pass from ``roots`` under a new pass id; returns what ``end_pass``
    restores, so a backward run inside a hook leaves the outer pass as it was."""
    prev = (_mode.roots, _mode.passes)
    _mode.counter += 1
    _mode.roots, _mode.passes = roots, _mode.counter
    return prev


def end_pass(prev):
    _mode.roots, _mode.passes = prev


def _execute(node, g, retain_graph):
    """One node's backward with its hooks; the gradients for ``node._next``."""
    packed = node._packed
    try:  # (free unless something raises)
        if node._vcs or node._freed or packed is not None:
            node.check_saved()
            if packed is not None:  # saved_tensors_hooks: unpacked afresh for each pass
                node.saved = unpack_node(packed)
        grads = node.backward(g)
        if packed is not None:
            node.saved = ()
        if node._post_hooks:
            grads = run_post_hooks(node, grads, g, as_arrays=True)
        if anomaly.enabled:
            _check_anomaly(node, grads)
    except Exception:
        if anomaly.enabled:
            warn_forward_trace(node)
        raise
    if not retain_graph:
        node.release()
    return grads


def run_post_hooks(node, grads, g, as_arrays):
    """``grad_fn.register_hook`` hooks: each gets (grad_inputs, grad_outputs) as tuples of
    Tensors (None where a gradient is absent) and may return new grad_inputs. ``as_arrays``:
    the engine passes arrays in and takes arrays back."""
    from ..tensor import Tensor, _wrap
    from .fan import Pack, unpack
    from .node import _hook_name
    wrap = _wrap if as_arrays else (lambda t: t)
    nexts = node._next
    ins = tuple(None if gi is None or nxt is None else wrap(gi) for gi, nxt in zip(grads, nexts))
    many = type(g) is Pack and getattr(node, "_outputs", None) is not None
    outs = unpack(g, len(node._outputs)) if many else (g,)
    outs = tuple(None if o is None else wrap(o) for o in outs)
    for hook in list(node._post_hooks.values()):
        r = hook(ins, outs)
        if r is None:
            continue
        if not isinstance(r, tuple):
            raise TypeError(f"expected tuple, but hook returned '{type(r).__name__}'")
        if len(r) != len(ins):
            raise RuntimeError(f"hook '{_hook_name(hook)}' has returned an incorrect number of "
                               f"values (got {len(r)}, but expected {len(ins)})")
        for old, new in zip(ins, r):
            if new is None:
                continue
            if old is None:
                raise RuntimeError("can't replace a None gradient with a non-None value")
            if not isinstance(new, Tensor):
                raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
            if new.shape != old.shape:
                raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")
        ins = r
    if as_arrays:
        return tuple(None if t is None else t._data for t in ins)
    return ins


def _run_in_creation_order(roots, root_grads, retain_graph):
    """backward(): nodes run newest first, so no dependency count is needed.

    Every node was created after the nodes its inputs came from, so once all newer nodes
    have run its gradient is complete. Leaf sinks (AccumulateGrad) are created lazily and
    may be newer than their consumers: they run last, when nothing can still feed them.
    Nodes that receive no gradient are never visited.
    """
    pending = {}
    heap = []
    sinks = []
    edges = zip(roots, root_grads)  # the roots first, then each executed node's outputs
    while True:
        for nxt, gi in edges:
            if gi is not None and nxt is not None:
                prev = pending.get(nxt)
                if prev is not None:
                    pending[nxt] = prev + gi
                elif type(nxt) is AccumulateGrad:
                    pending[nxt] = gi
                    sinks.append(nxt)
                else:
                    pending[nxt] = gi
                    heappush(heap, (-nxt._seq, nxt))
        if not heap:
            break
        node = heappop(heap)[1]
        g = pending.pop(node)
        if node._pre_hooks:
            g = run_tensor_hooks(node._pre_hooks, g)
        edges = zip(node._next, _execute(node, g, retain_graph))
    for node in sinks:  # (accumulate runs the sink's own hooks)
        node.accumulate(pending.pop(node))


def _run(roots, root_grads, retain_graph, capture):
    """autograd.grad and backward(inputs=...): dependency counts, capture, pruning."""
    deps = _dependencies(roots)
    useful = _useful(roots, capture)
    pending = {}
    ready = []
    for node, g in zip(roots, root_grads):
        if node in pending:
            pending[node] = pending[node] + g
        else:
            pending[node] = g
        if deps.get(node, 0) == 0 and node not in ready:
            ready.append(node)
    captured = {}
    while ready:
        node = ready.pop()
        g = pending.pop(node, None)
        if type(node) is AccumulateGrad:
            # a leaf's gradient is captured as it arrives: its node's hooks run only if
            # backward(inputs=...) accumulates it (in AccumulateGrad.accumulate)
            if node in capture:
                captured[node] = g
            continue
        if g is not None and node._pre_hooks:
            g = run_tensor_hooks(node._pre_hooks, g)
        if node in capture:
            captured[node] = g
        nexts = node._next
        if g is None or node not in useful:
            grads = (None,) * len(nexts)
        else:
            grads = _execute(node, g, retain_graph)
        for nxt, gi in zip(nexts, grads):
            if nxt is None:
                continue
            if gi is not None:
                prev = pending.get(nxt)
                pending[nxt] = gi if prev is None else prev + gi
            left = deps[nxt] - 1
            deps[nxt] = left
            if left == 0:
                ready.append(nxt)
    return captured


def warn_forward_trace(node):
    """Anomaly mode: say where the forward of the node whose backward failed ran."""
    import warnings
    where = node._trace or "(not recorded: anomaly detection was off during the forward pass)"
    where = "".join("  " + line for line in where.splitlines(True))
    warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that caused the "
                  f"error:\n{where}", UserWarning, stacklevel=3)


def _check_anomaly(node, grads):
    """Anomaly mode: raise if the node's backward produced NaN (arrays or Tensors)."""
    if not anomaly.check_nan:
        return
    for i, gi in enumerate(grads):
        if gi is not None and has_nan(np.asarray(getattr(gi, "_data", gi))):  # not inf: as PyTorch
            where = node._trace or "(forward location not recorded: enable anomaly detection " \
                                   "before the forward pass)"
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.\n"
                f"Its forward ran {where}")


def record_trace(node):
    node._trace = capture_trace()
