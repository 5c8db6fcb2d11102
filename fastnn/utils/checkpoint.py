"""Activation checkpointing: keep a segment's inputs, recompute its activations in backward.

Two variants, chosen by ``use_reentrant`` as in PyTorch:

* ``use_reentrant=True`` (the default when the argument is left out, with PyTorch's
  warning): a custom ``autograd.Function`` runs the segment under ``no_grad``; its backward
  reruns it with grad enabled and calls ``backward`` on the recomputed outputs. Parameters
  receive gradients only when some tensor input requires grad, and ``autograd.grad`` (or
  ``backward(inputs=...)``) through it raises.
* ``use_reentrant=False``: the segment runs with grad enabled, then its graph is cut out:
  the outputs hang off one ``CheckpointBackward`` node whose edges lead to everything the
  segment reached from outside (inputs, parameters, captured tensors), and the inner nodes,
  with every array they saved, are dropped as soon as the segment returns. Its backward
  recomputes the segment and runs the recomputed graph down to those edges, so parameters
  get gradients even when no input requires grad, keyword arguments are accepted and
  ``autograd.grad`` works.

Both restore fastnn's random state (the CPU's, and the GPU's once the CUDA backend is in use)
before recomputing (``preserve_rng_state``), so dropout draws the same masks twice.
"""
import contextlib
import enum
import heapq
import sys
import warnings

from .. import random as _random
from ..autograd import engine as _engine
from ..autograd import grad_mode
from ..autograd.fan import route, unpack
from ..autograd.function import Function
from ..autograd.node import AccumulateGrad, Node, engine_mode, new_sequence_number, \
    run_tensor_hooks

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "check_backward_validity", "detach_variable", "noop_context_fn",
           "set_checkpoint_early_stop", "set_checkpoint_debug_enabled",
           "create_selective_checkpoint_contexts", "CheckpointPolicy"]

_DEFAULT_DETERMINISM_MODE = "default"
_debug_enabled = None
# whether the backward pass around a recomputation is a plain backward() (innermost last)
_plain_pass = [False]


class CheckpointError(RuntimeError):
    pass


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


@contextlib.contextmanager
def set_checkpoint_early_stop(enable):
    """Accepted for compatibility: fastnn always recomputes the whole segment."""
    yield


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled):
    global _debug_enabled
    prev, _debug_enabled = _debug_enabled, enabled
    try:
        yield
    finally:
        _debug_enabled = prev


class CheckpointPolicy(enum.Enum):
    """What a selective-checkpoint policy function returns for an op: keep its output
    (SAVE), recompute it in backward (RECOMPUTE) or move it to host memory (CPU_OFFLOAD);
    MUST_ binds, PREFER_ may be overridden."""
    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    raise NotImplementedError("selective activation checkpointing needs per-operator dispatch "
                              "hooks, which fastnn does not have: checkpoint whole segments "
                              "instead")


def _is_tensor(x):
    from ..tensor import Tensor
    return isinstance(x, Tensor)


def detach_variable(inputs):
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for x in inputs:
        if _is_tensor(x):
            d = x.detach()
            if x.requires_grad:
                d.requires_grad_(True)
            x = d
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs):
    if not any(x.requires_grad for x in inputs if _is_tensor(x)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)


def _rng_state():
    """The CPU random state, and the GPU's once fastnn's CUDA backend is in use (as PyTorch
    stashes a device's state only when that device was initialized)."""
    cuda = None
    if "fastnn.cuda._backend" in sys.modules:
        from .. import cuda as _cuda
        cuda = _cuda.get_rng_state()
    return _random.get_rng_state(), cuda


@contextlib.contextmanager
def _rng_as_in_forward(state):
    """Run with the random state the forward saw, then put the current one back."""
    if state is None:
        yield
        return
    now = _rng_state()
    _set_rng_state(state)
    try:
        yield
    finally:
        _set_rng_state(now)


def _set_rng_state(state):
    _random.set_rng_state(state[0])
    if state[1] is not None:
        from .. import cuda as _cuda
        _cuda.set_rng_state(state[1])


# ---- use_reentrant=True ----------------------------------------------------------------

class CheckpointFunction(Function):
    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.rng_state = _rng_state() if preserve_rng_state else None
        ctx.inputs = [None if _is_tensor(a) else a for a in args]
        ctx.tensor_indices = [i for i, a in enumerate(args) if _is_tensor(a)]
        ctx.save_for_backward(*[a for a in args if _is_tensor(a)])
        return run_function(*args)  # Function.apply already runs this under no_grad

    @staticmethod
    def backward(ctx, *grads):
        # autograd.grad or backward(inputs=...) is running (seen through any enclosing
        # non-reentrant checkpoint's recomputation); backward(create_graph=True) is plain too
        plain_graph = engine_mode.plain_graph_pass == engine_mode.passes
        if not (engine_mode.direct or _plain_pass[-1] or plain_graph):
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible with .grad() "
                "or passing an `inputs` parameter to .backward(). To resolve this error, you "
                "can either set use_reentrant=False, or call .backward() without passing the "
                "`inputs` argument.")
        from ..autograd import backward as _backward
        inputs = list(ctx.inputs)
        for i, t in zip(ctx.tensor_indices, ctx.saved_tensors):
            inputs[i] = t
        detached = detach_variable(tuple(inputs))
        with _rng_as_in_forward(ctx.rng_state), grad_mode.enable_grad():
            outputs = ctx.run_function(*detached)
        if _is_tensor(outputs):
            outputs = (outputs,)
        roots, seeds = [], []
        for o, g in zip(outputs, grads):
            if _is_tensor(o) and o.requires_grad and g is not None:
                roots.append(o)
                seeds.append(g)
        if not roots:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is "
                               "not necessary")
        _backward(roots, seeds)
        return (None, None) + tuple(d.grad if _is_tensor(d) else None for d in detached)


# ---- use_reentrant=False ---------------------------------------------------------------

def _flat_tensors(out, acc):
    """The tensors of an output in a fixed order: a tensor, or tuples/lists/dicts of them."""
    if _is_tensor(out):
        acc.append(out)
    elif isinstance(out, (tuple, list)):
        for o in out:
            _flat_tensors(o, acc)
    elif isinstance(out, dict):
        for o in out.values():
            _flat_tensors(o, acc)
    return acc


def _inner(node, start):
    """Whether a graph node was recorded after sequence number ``start``."""
    return node is not None and type(node) is not AccumulateGrad and node._seq is not None \
        and node._seq > start


def _inner_nodes(roots, start):
    """The nodes recorded after ``start`` that the roots reach, oldest first, and the nodes
    outside that they lead to (in order of discovery)."""
    seen, inner, boundary, stack = set(), [], [], list(roots)
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if not _inner(node, start):
            boundary.append(node)
            continue
        inner.append(node)
        stack.extend(reversed(node._next or ()))
    inner.sort(key=lambda n: n._seq)
    return inner, boundary


def _metadata(nodes):
    from .._dtype import from_numpy_dtype, Size
    meta = []
    for n in nodes:
        for a in n.saved or ():
            if hasattr(a, "shape") and hasattr(a, "dtype"):
                dev = "cuda" if hasattr(a, "device_spec") else "cpu"
                meta.append({"shape": Size(a.shape), "dtype": from_numpy_dtype(a.dtype),
                             "device": dev})
    return meta


def _check_metadata(saved, recomputed):
    if len(saved) != len(recomputed):
        raise CheckpointError(
            "torch.utils.checkpoint: A different number of tensors was saved during the original "
            f"forward and recomputation.\nNumber of tensors saved during forward: {len(saved)}\n"
            f"Number of tensors saved during recomputation: {len(recomputed)}.\n")
    diff = ""
    for i, (a, b) in enumerate(zip(saved, recomputed)):
        if a != b:
            diff += f"tensor at position {i}:\nsaved metadata: {a}\nrecomputed metadata: {b}\n"
    if diff:
        raise CheckpointError("torch.utils.checkpoint: Recomputed values for the following "
                              "tensors have different metadata than during the forward pass.\n"
                              f"{diff}.\n")


class CheckpointBackward(Node):
    """Stands for a checkpointed segment in the graph; ``_next`` are the edges it left by."""

    def setup(self, function, args, kwargs, rng_state, recompute_ctx, check, meta, n_out,
              rooted):
        self.function, self.args, self.kwargs = function, args, kwargs
        self.rng_state, self.recompute_ctx = rng_state, recompute_ctx
        self.check, self.meta, self.n_out, self.rooted = check, meta, n_out, rooted
        tensors = [a for a in args if _is_tensor(a)]
        # the inputs count as saved: a second backward, or an in-place change to an input,
        # raises like any node whose saved values are gone or stale
        self.saved = tuple(t._data for t in tensors) or (None,)
        self._vcs = [(t._vc, t._vc[0], t._data, t.grad_fn) for t in tensors]

    def release(self):
        super().release()
        self.function = self.args = self.kwargs = self.recompute_ctx = None

    def backward(self, g):
        grads = unpack(g, self.n_out)
        detached = detach_variable(tuple(self.args))
        # a recomputed input leaf stands for the edge the original input had
        where = {b: i for i, b in enumerate(self._next)}
        for orig, d in zip(self.args, detached):
            if _is_tensor(orig) and orig.requires_grad:
                edge = _engine._edge(orig)
                if edge in where:
                    where[_engine._edge(d)] = where[edge]
        roots, seeds, start = self.recompute(detached, grads)
        captured = _run_inner(roots, seeds, start)
        result = [None] * len(self._next)
        for node, gi in captured.items():
            i = where.get(node)
            if i is not None:
                result[i] = gi if result[i] is None else result[i] + gi
        return tuple(result)

    def recompute(self, args, grads):
        """Rerun the segment on ``args``: the recomputed output nodes that get a gradient,
        those gradients, and the sequence number the recomputed nodes come after."""
        start = new_sequence_number()
        with _rng_as_in_forward(self.rng_state), grad_mode.enable_grad(), self.recompute_ctx:
            out = self.function(*args, **self.kwargs)
        outs = _flat_tensors(out, [])
        every, roots, seeds = [], [], []
        for k, i in enumerate(self.rooted):
            if i < len(outs) and _inner(outs[i].grad_fn, start):
                every.append(outs[i].grad_fn)
                if grads[k] is not None:
                    roots.append(outs[i].grad_fn)
                    seeds.append(grads[k])
        if self.check:
            _check_metadata(self.meta, _metadata(_inner_nodes(every, start)[0]))
        return roots, seeds, start


def _differentiable_backward(node, g):
    """create_graph=True through a non-reentrant checkpoint: the segment is recomputed on its
    original inputs, so the recomputed nodes lead straight to the segment's edges, and each
    recomputed node's gradient is taken in differentiable ops (its higher-order rule)."""
    from ..autograd.higher_order import _rule_for
    roots, seeds, start = node.recompute(node.args, unpack(g, node.n_out))
    pending, heap, captured = {}, [], {}

    def send(n, gi):
        if n is None or gi is None:
            return
        into = pending if _inner(n, start) else captured
        prev = into.get(n)
        if prev is None and into is pending:
            heapq.heappush(heap, (-n._seq, id(n), n))
        into[n] = gi if prev is None else prev + gi

    for r, s in zip(roots, seeds):
        send(r, s)
    with grad_mode.enable_grad():
        while heap:
            n = heapq.heappop(heap)[2]
            gi = pending.pop(n)
            if n._pre_hooks:
                gi = run_tensor_hooks(n._pre_hooks, gi)
            for nxt, gn in zip(n._next, _rule_for(n)(n, gi)):
                send(nxt, gn)
    return tuple(captured.get(b) for b in node._next)


def _register_differentiable_backward():
    from ..autograd.higher_order import rule
    rule(CheckpointBackward)(_differentiable_backward)


_register_differentiable_backward()


def _run_inner(roots, seeds, start):
    """Backward through the recomputed nodes only, newest first (the order backward() uses);
    what reaches a node from outside the segment is returned instead of propagated."""
    pending, heap, captured = {}, [], {}

    def send(node, gi):
        if node is None or gi is None:
            return
        if not _inner(node, start):
            prev = captured.get(node)
            captured[node] = gi if prev is None else prev + gi
            return
        prev = pending.get(node)
        if prev is None:
            pending[node] = gi
            heapq.heappush(heap, (-node._seq, id(node), node))
        else:
            pending[node] = prev + gi

    for r, s in zip(roots, seeds):
        send(r, s)
    direct = engine_mode.direct
    engine_mode.direct = False  # leaf gradients go back to the outer pass, not into .grad
    _plain_pass.append(direct or _plain_pass[-1])
    try:
        while heap:
            node = heapq.heappop(heap)[2]
            g = pending.pop(node)
            if node._pre_hooks:
                g = run_tensor_hooks(node._pre_hooks, g)
            for nxt, gi in zip(node._next, _engine._execute(node, g, False)):
                send(nxt, gi)
    finally:
        engine_mode.direct = direct
        _plain_pass.pop()
    return captured


def _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check, args,
                                  kwargs):
    fwd_ctx, recompute_ctx = context_fn()
    if not grad_mode.is_grad_enabled():
        with fwd_ctx:
            return function(*args, **kwargs)
    rng_state = _rng_state() if preserve else None
    start = new_sequence_number()
    with fwd_ctx:
        out = function(*args, **kwargs)
    outs = _flat_tensors(out, [])
    rooted = [i for i, o in enumerate(outs) if _inner(o.grad_fn, start)]
    if not rooted:
        return out
    check = determinism_check == "default"
    inner, boundary = _inner_nodes([outs[i].grad_fn for i in rooted], start)
    node = CheckpointBackward()
    node._seq = new_sequence_number()
    node._next = tuple(boundary)
    node.setup(function, args, kwargs, rng_state, recompute_ctx, check,
               _metadata(inner) if check else None, len(rooted), rooted)
    del inner
    targets = [outs[i] for i in rooted]
    for o in targets:
        base = o._base
        if base is not None and _inner(base.grad_fn, start):
            o._base = base.detach()  # the view's base would keep the dropped graph alive
    if len(targets) == 1:
        targets[0].grad_fn = node
    else:
        route(node, targets)
    return out


# ---- entry points --------------------------------------------------------------------

def checkpoint(function, *args, use_reentrant=None, context_fn=noop_context_fn,
               determinism_check=_DEFAULT_DETERMINISM_MODE, debug=False, early_stop=True,
               **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its activations for backward."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    if determinism_check not in ("default", "none"):
        raise ValueError("determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    return _checkpoint_without_reentrant(function, preserve, context_fn, determinism_check,
                                         args, kwargs)


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` in ``segments`` chunks, checkpointing all but the last chunk."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should "
            "be passed explicitly. In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is recommended, but if you need to preserve "
            "the current default behavior, you can pass use_reentrant=True. Refer to docs for "
            "more details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())

    def chunk(lo, hi):
        def run(x):
            for f in functions[lo:hi]:
                x = f(x)
            return x
        return run

    size = len(functions) // segments
    end = 0
    # range() raises for a zero step, as PyTorch does when segments > len(functions)
    for lo in range(0, size * (segments - 1), size):
        end = lo + size
        input = checkpoint(chunk(lo, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return chunk(end, len(functions))(input)
