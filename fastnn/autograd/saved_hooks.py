"""``autograd.graph.saved_tensors_hooks``: hooks on the tensors ops keep for backward.

While a pair (pack, unpack) is active, each array an op saves with ``Node.save`` (and each
tensor a custom Function saves with ``ctx.save_for_backward``) goes through ``pack`` when the
op is recorded. The node then keeps only what ``pack`` returned, and ``unpack`` turns it back
into a tensor every time the backward pass (or ``grad_fn._saved_*``, or ``ctx.saved_tensors``)
needs it. As in PyTorch, saved values that went through hooks are not version-checked:
what ``unpack`` returns is what backward uses.

Arrays an op keeps under other names (masks, indices, a fused kernel's workspace) are the
op's own business and do not pass through the hooks.
"""
import threading
from contextlib import contextmanager

from . import grad_mode

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_grad_state = grad_mode.state


class _Hooks(threading.local):
    def __init__(self):
        self.stack = []        # (pack, unpack) pairs, the innermost last
        self.disabled = None   # the error message while disable_saved_tensors_hooks holds


hooks = _Hooks()

_MODIFIED = ("A saved tensor pack hook is modifying its input in place. Tensors provided as "
             "input to pack hook cannot be modified by in-place operations as this can lead "
             "to unexpected side-effects.")


class saved_tensors_hooks:
    """Context manager: ``pack_hook(tensor) -> anything`` runs when an op saves a tensor for
    backward, ``unpack_hook(packed) -> Tensor`` when backward needs it again. The innermost
    active pair applies."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if hooks.disabled is not None:
            raise RuntimeError(hooks.disabled)
        hooks.stack.append((self.pack_hook, self.unpack_hook))

    def __exit__(self, *exc):
        hooks.stack.pop()


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are copied to host memory and moved back to their device for backward
    (with fastnn's CPU tensors the copy is all that happens)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            return t.device, t.detach().to("cpu", copy=True)

        def unpack(packed):
            device, t = packed
            return t.to(device)

        super().__init__(pack, unpack)


@contextmanager
def disable_saved_tensors_hooks(error_message):
    """Within the block, entering ``saved_tensors_hooks`` (or saving a tensor while hooks
    are active) raises ``RuntimeError(error_message)``."""
    prev = hooks.disabled
    hooks.disabled = error_message
    try:
        yield
    finally:
        hooks.disabled = prev


def pack_tensors(tensors):
    """``(unpack_hook, entries)`` for ``tensors`` (None entries stay None) under the innermost
    hooks; what ``unpack_tensors`` takes."""
    if hooks.disabled is not None:
        raise RuntimeError(hooks.disabled)
    pack, unpack = hooks.stack[-1]
    prev = _grad_state.enabled
    _grad_state.enabled = False  # PyTorch runs pack hooks without recording
    try:
        entries = []
        for t in tensors:
            if t is None:
                entries.append(None)
                continue
            version = t._vc[0]
            packed = pack(t)
            if t._vc[0] != version:
                raise RuntimeError(_MODIFIED)
            entries.append((packed,))  # a 1-tuple: the hook may well return None
        return unpack, entries
    finally:
        _grad_state.enabled = prev


def unpack_tensors(packed):
    """The tensors ``pack_tensors`` packed, each through the unpack hook (None stays None)."""
    from ..tensor import Tensor
    unpack, entries = packed
    out = []
    for e in entries:
        if e is None:
            out.append(None)
            continue
        t = unpack(e[0])
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                            f"result of type {type(t).__name__}")
        out.append(t)
    return tuple(out)


def _saved_tensor(arr, candidates, Tensor, wrap):
    """The tensor a saved ``arr`` stands for: the one among ``candidates`` (the op's inputs
    and outputs) that holds it, or a new one over it; None for what is no tensor (None, a
    number, a Python scalar operand, whose number PyTorch keeps)."""
    if arr is None or not hasattr(arr, "shape"):
        return None
    for t in candidates:
        if t is not None and t._data is arr:
            return t if isinstance(t, Tensor) else None
    return wrap(arr)


def pack_node(node, candidates):
    """Send the arrays ``node`` saved through the pack hook and keep only the results (and,
    as they are, the saved entries that are not tensors)."""
    from ..tensor import Tensor, _wrap
    tensors = [_saved_tensor(s, candidates, Tensor, _wrap) for s in node.saved]
    plain = tuple(None if t is not None else (s,) for s, t in zip(node.saved, tensors))
    node._packed = (pack_tensors(tensors), plain)
    node.saved = ()
    node._vcs = ()  # hooked values are not version-checked (PyTorch's rule)


def unpack_node(packed):
    """The ``saved`` tuple of arrays back from what ``pack_node`` kept."""
    hooked, plain = packed
    return tuple(t._data if p is None else p[0]
                 for t, p in zip(unpack_tensors(hooked), plain))
