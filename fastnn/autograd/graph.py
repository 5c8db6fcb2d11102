"""Inspecting and hooking the autograd graph: ``Node`` (the type of every ``grad_fn``),
gradient edges, hooks over several tensors, hooks on saved tensors and manual version
bumps."""
import contextlib
from typing import NamedTuple

from .node import Node, engine_mode
from .saved_hooks import disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks

__all__ = ["Node", "GradientEdge", "get_gradient_edge", "increment_version",
           "register_multi_grad_hook", "saved_tensors_hooks", "save_on_cpu",
           "disable_saved_tensors_hooks", "allow_mutation_on_saved_tensors"]


class GradientEdge(NamedTuple):
    """Where a tensor's gradient enters the graph: ``node`` and which of its outputs."""
    node: Node
    output_nr: int
    ownership_token: object = None


def get_gradient_edge(tensor):
    """The edge a tensor's gradient flows into; ``autograd.grad`` accepts it as an input."""
    from .engine import _edge
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    return GradientEdge(_edge(tensor), tensor.output_nr)


def increment_version(tensor):
    """Mark a tensor (or each of several) as modified in place, behind autograd's back: saved
    copies of it then raise in backward."""
    for t in ([tensor] if hasattr(tensor, "_vc") else tensor):
        t._vc[0] += 1


class _MultiHandle:
    def __init__(self, handles):
        self.handles = handles

    def remove(self):
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_multi_grad_hook(tensors, fn, *, mode="all"):
    """Call ``fn`` once per backward pass over several tensors.

    ``mode="all"``: ``fn(grads)`` after every one of ``tensors`` that the pass reaches got its
    gradient, with None for those it does not reach. ``mode="any"``: ``fn(grad)`` with the
    first gradient the pass computes among them.
    """
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = list(tensors)
    seen = {"pass": None}

    if mode == "any":
        def any_hook(g):
            if seen["pass"] != engine_mode.passes:
                seen["pass"] = engine_mode.passes
                fn(g)
        return _MultiHandle([t.register_hook(any_hook) for t in tensors if t.requires_grad])

    state = {"pass": None, "grads": None, "waiting": 0}

    def start():
        # which of the tensors this pass will reach: their gradients are awaited
        reached = _reachable(engine_mode.roots)
        from .engine import _edge
        waiting = sum(1 for t in tensors if t.requires_grad and _edge(t) in reached)
        state.update({"pass": engine_mode.passes, "grads": [None] * len(tensors),
                      "waiting": waiting})

    def make_hook(i):
        def hook(g):
            if state["pass"] != engine_mode.passes:
                start()
            if state["grads"][i] is None:
                state["grads"][i] = g
                state["waiting"] -= 1
                if state["waiting"] == 0:
                    fn(state["grads"])
        return hook

    return _MultiHandle([t.register_hook(make_hook(i)) for i, t in enumerate(tensors)
                         if t.requires_grad])


def _reachable(roots):
    seen = set(roots)
    stack = list(roots)
    while stack:
        for nxt in stack.pop()._next or ():
            if nxt is not None and nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen



class _AllowMutationOnSavedContext:
    """The state of one ``allow_mutation_on_saved_tensors`` block; ``clear`` drops it."""

    def __init__(self):
        self.active = True

    def clear(self):
        self.active = False


_mutation_context = [None]  # the open allow_mutation_on_saved_tensors block, if any

_BACKWARD_OUTSIDE = ("Trying to backward outside of the 'allow_mutation_on_saved_tensors' "
                     "contextin which the graph was originally recorded.")


@contextlib.contextmanager
def allow_mutation_on_saved_tensors():
    """Within the block, tensors saved for backward may be modified in place: backward
    uses the values they had when they were saved. fastnn keeps a copy of every tensor saved
    inside the block (memory for every saved tensor, not only the mutated ones), and the
    graph recorded there must be differentiated before the block ends."""
    if _mutation_context[0] is not None:
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    ctx = _AllowMutationOnSavedContext()

    def pack(t):
        if not hasattr(t, "detach"):  # a Python scalar operand, lifted: never mutated
            from ..tensor import _wrap
            return ctx, _wrap(t._data)
        return ctx, t.detach().clone()

    def unpack(packed):
        owner, copy = packed
        if not owner.active:
            raise AssertionError(_BACKWARD_OUTSIDE)
        return copy

    _mutation_context[0] = ctx
    try:
        with saved_tensors_hooks(pack, unpack):
            yield ctx
    finally:
        ctx.clear()
        _mutation_context[0] = None
