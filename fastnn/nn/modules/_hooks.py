"""Module hooks: handles, global hooks, the hooked call path and full backward hooks.

A plain ``Module.__call__`` goes straight to ``forward``; everything here runs only once a
hook is registered on the module or globally.
"""
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from ...autograd import grad_mode
from ...autograd.engine import _edge
from ...autograd.fan import SlotBackward, route, unpack
from ...autograd.higher_order import rule
from ...autograd.node import Node, new_sequence_number
from ...utils.hooks import RemovableHandle
from ._hook_dicts import refresh_module

_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_forward_hooks_always_called = set()
_global_forward_hooks_with_kwargs = set()
_global_backward_hooks = OrderedDict()
_global_backward_pre_hooks = OrderedDict()
# ids in _global_backward_hooks by how they were registered: the two kinds exclude each other
_global_full_backward_hooks = set()
_global_non_full_backward_hooks = set()
_GLOBAL = (_global_forward_pre_hooks, _global_forward_hooks, _global_backward_hooks,
           _global_backward_pre_hooks)


class _State:
    # read by Module.__call__: True while any global module hook is registered
    on = False


state = _State()


def refresh_global():
    state.on = any(_GLOBAL)


class ModuleHookHandle(RemovableHandle):
    """A RemovableHandle that also drops the hook's flags and re-arms the call fast path."""

    def __init__(self, hooks_dict, hook, owner=None, extra=(), prepend=False):
        super().__init__(hooks_dict, hook)
        if prepend:
            hooks_dict.move_to_end(self.id, last=False)
        self._owner = weakref.ref(owner) if owner is not None else None
        self.extra_dicts = extra
        for s in extra:
            s.add(self.id)

    def remove(self):
        super().remove()
        for s in self.extra_dicts:
            s.discard(self.id)
        owner = self._owner() if self._owner is not None else None
        if owner is not None:
            refresh_module(owner)
        elif self._owner is None:
            refresh_global()


def claim_backward_hook_kind(module, full):
    """Record which kind of backward hook ``module`` takes; the two kinds exclude each other."""
    if module._is_full_backward_hook is (not full):
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a "
                           "single Module. Please use only one of them.")
    object.__setattr__(module, "_is_full_backward_hook", full)


def register_global(hooks_dict, hook, extra=()):
    h = ModuleHookHandle(hooks_dict, hook, None, extra)
    refresh_global()
    return h


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward; a non-None return replaces args."""
    return register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """``hook(module, args, output)`` after every module's forward, before the module's own
    forward hooks; ``with_kwargs=True`` calls ``hook(module, args, kwargs, output)``."""
    extra = ((_global_forward_hooks_with_kwargs,) if with_kwargs else ()) + \
        ((_global_forward_hooks_always_called,) if always_call else ())
    return register_global(_global_forward_hooks, hook, extra)


def register_module_full_backward_hook(hook):
    """``hook(module, grad_input, grad_output)`` for every module's backward."""
    if _global_non_full_backward_hooks:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    return register_global(_global_backward_hooks, hook, (_global_full_backward_hooks,))


def register_module_backward_hook(hook):
    """Deprecated global backward hook; runs as a full backward hook in fastnn.

    While one is registered, full global backward hooks are refused (and the reverse).
    """
    if _global_full_backward_hooks:
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks as a "
                           "global Module hook. Please use only one of them.")
    return register_global(_global_backward_hooks, hook, (_global_non_full_backward_hooks,))


# registration hooks: ``hook(module, name, value)``, a non-None return replaces the value
_global_buffer_registration_hooks = OrderedDict()
_global_module_registration_hooks = OrderedDict()
_global_parameter_registration_hooks = OrderedDict()


def register_module_buffer_registration_hook(hook):
    """``hook(module, name, buffer)`` whenever any module registers or assigns a buffer."""
    return RemovableHandle(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook):
    """``hook(module, name, submodule)`` whenever any module registers a child module."""
    return RemovableHandle(_global_module_registration_hooks, hook)


def register_module_parameter_registration_hook(hook):
    """``hook(module, name, param)`` whenever any module registers a (non-None) parameter."""
    return RemovableHandle(_global_parameter_registration_hooks, hook)


def run_registration_hooks(hooks, module, name, value):
    for hook in tuple(hooks.values()):
        r = hook(module, name, value)
        if r is not None:
            value = r
    return value


def register_module_full_backward_pre_hook(hook):
    """``hook(module, grad_output)`` before every module's input gradients are computed."""
    return register_global(_global_backward_pre_hooks, hook)


def _uses_kwargs(module, hid):
    return hid in _global_forward_hooks_with_kwargs or hid in module._forward_hooks_with_kwargs


def _is_always_called(module, hid):
    return hid in _global_forward_hooks_always_called or \
        hid in module._forward_hooks_always_called


def _run_forward_hooks(module, args, kwargs, result, called_always):
    # the hook lists are read after forward, so a hook registered during it runs as well
    for hid, hook in (*_global_forward_hooks.items(), *module._forward_hooks.items()):
        if _is_always_called(module, hid):
            called_always.add(hid)
        r = hook(module, args, kwargs, result) if _uses_kwargs(module, hid) \
            else hook(module, args, result)
        if r is not None:
            result = r
    return result


def _run_always_called_hooks(module, args, kwargs, result, called_always):
    """After an error in a pre-hook, forward or a forward hook: the always_call hooks that
    have not run yet; their own errors become warnings so the first error propagates."""
    for scope, hooks in (("global module", _global_forward_hooks),
                         ("module", module._forward_hooks)):
        for hid, hook in tuple(hooks.items()):
            if not _is_always_called(module, hid) or hid in called_always:
                continue
            try:
                r = hook(module, args, kwargs, result) if _uses_kwargs(module, hid) \
                    else hook(module, args, result)
            except Exception as e:
                warnings.warn(f"{scope} forward hook with ``always_call=True`` raised an "
                              "exception that was silenced as another error was raised in "
                              f"forward: {e}", stacklevel=3)
                continue
            if r is not None:
                result = r


def _run_pre_hooks(module, args, kwargs):
    with_kwargs = module._forward_pre_hooks_with_kwargs
    for hid, hook in (*_global_forward_pre_hooks.items(), *module._forward_pre_hooks.items()):
        if hid in with_kwargs:
            r = hook(module, args, kwargs)
            if r is not None:
                if not (isinstance(r, tuple) and len(r) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {r}.")
                args, kwargs = r
        else:
            r = hook(module, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
    return args, kwargs


def call_hooked(module, args, kwargs):
    """``Module.__call__`` once hooks exist: pre-hooks, forward, forward hooks, backward hooks."""
    called_always = set()
    result = None
    try:
        args, kwargs = _run_pre_hooks(module, args, kwargs)
        bw_hooks = [*_global_backward_hooks.values(), *module._backward_hooks.values()]
        bw_pre = [*_global_backward_pre_hooks.values(), *module._backward_pre_hooks.values()]
        call = None
        if (bw_hooks or bw_pre) and grad_mode.state.enabled:
            call = _BackwardHookCall(module, bw_hooks, bw_pre)
            args = call.wrap_inputs(args)
        result = module.forward(*args, **kwargs)
        if _global_forward_hooks or module._forward_hooks:
            result = _run_forward_hooks(module, args, kwargs, result, called_always)
    except Exception:
        if _global_forward_hooks_always_called or module._forward_hooks_always_called:
            _run_always_called_hooks(module, args, kwargs, result, called_always)
        raise
    if call is not None:
        result = call.wrap_outputs(result)
    return result


# ---- full backward hooks --------------------------------------------------------------
# n tensors are routed through n slot nodes into one gather node (see autograd.fan), which
# sees every gradient at once and hands them to the hooks.

class BackwardHookFunctionBackward(SlotBackward):
    def name(self):
        return "BackwardHookFunctionBackward"


class _GatherBackward(Node):
    callback = None

    def name(self):
        return "BackwardHookFunctionBackward"

    def backward(self, pack):
        return self.callback(unpack(pack, len(self._next)))


@rule(_GatherBackward)
def _gather_with_graph(node, pack):
    # create_graph=True: the hooks see (and may return) gradients that carry a graph
    return node.callback(unpack(pack, len(node._next)), graph=True)


def _fan(tensors, callback):
    from ...tensor import _wrap
    gather = _GatherBackward()
    gather._seq = new_sequence_number()  # older than the slots that feed it
    gather._next = tuple(_edge(t) for t in tensors)
    gather.callback = callback
    outs = []
    for t in tensors:
        o = _wrap(t._data)
        o._vc = t._vc
        outs.append(o)
    route(gather, outs, BackwardHookFunctionBackward)
    return outs


def _placed_grads(n, slots, grads, graph=False):
    """n gradient tensors (None where absent), grads[i] put at position slots[i]; with
    ``graph`` the grads are Tensors already (create_graph=True) and are kept as they are."""
    full = [None] * n
    for k, g in zip(slots, grads):
        full[k] = g
    return tuple(full) if graph else _wrap_grads(full)


def _unwrapped(full, slots, graph):
    """What the gather node hands on: Tensors with ``graph``, else their arrays."""
    if graph:
        return tuple(full[k] for k in slots)
    return tuple(None if full[k] is None else full[k]._data for k in slots)


def _wrap_grads(arrays):
    from ...tensor import _wrap
    return tuple(None if a is None else _wrap(a) for a in arrays)


def _as_tuple(r):
    return tuple(r) if isinstance(r, (tuple, list)) else (r,)


class _BackwardHookCall:
    """One forward call's full backward hooks: captures grad_output, then calls the hooks."""

    def __init__(self, module, hooks, pre_hooks):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.input_slots = None   # positions (among all args) of the inputs needing grad
        self.input_specs = ()     # (shape, dtype) of each input in input_slots
        self.input_zeros = ()     # (position, shape, dtype) of tensor args needing no grad

    def _route(self, values, callback):
        from ...tensor import Tensor
        tensor_pos = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        need = [k for k, i in enumerate(tensor_pos) if values[i]._rg]
        if not need:
            return values, len(tensor_pos), None
        new = _fan([values[tensor_pos[k]] for k in need], callback)
        values = list(values)
        for k, o in zip(need, new):
            values[tensor_pos[k]] = o
        return values, len(tensor_pos), need

    def wrap_inputs(self, args):
        # grad_input has one entry per positional arg: None for a non-tensor, zeros for a
        # tensor that needs no gradient (once any input needs one), as PyTorch reports them
        from ...tensor import Tensor
        new, _, need = self._route(args, self._on_inputs)
        self.n_inputs = len(args)
        if need is None:
            return tuple(args)
        tensor_pos = [i for i, v in enumerate(args) if isinstance(v, Tensor)]
        self.input_slots = [tensor_pos[k] for k in need]
        slots = set(self.input_slots)
        self.input_specs = [(args[i]._data.shape, args[i]._data.dtype) for i in self.input_slots]
        self.input_zeros = tuple((i, args[i]._data.shape, args[i]._data.dtype)
                                 for i in tensor_pos if i not in slots)
        return tuple(new)

    def wrap_outputs(self, result):
        from ...tensor import Tensor
        single = isinstance(result, Tensor)
        if not single and not isinstance(result, tuple):
            # only a Tensor or a tuple output is routed through the backward hooks
            warnings.warn("For backward hooks to be called, module output should be a Tensor "
                          f"or a tuple of Tensors but received {type(result)}", stacklevel=3)
            return result
        values, self.n_outputs, self.output_slots = self._route(
            [result] if single else list(result), self._on_outputs)
        if single:
            return values[0]
        return tuple(values) if type(result) is tuple else type(result)(*values)

    def _on_outputs(self, grads, graph=False):
        full = _placed_grads(self.n_outputs, self.output_slots, grads, graph)
        for hook in self.pre_hooks:
            r = hook(self.module, full)
            if r is not None:
                r = _as_tuple(r)
                if len(r) != len(full):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(r)}, but expected {len(full)}")
                full = r
        self.grad_outputs = full
        if self.input_slots is None:
            # no input needs a gradient: the hooks still run, with grad_input all None (PyTorch
            # warns whether a backward hook or only a backward pre-hook is registered)
            warnings.warn("Full backward hook is firing when gradients are computed with "
                          "respect to module outputs since no inputs require gradients. "
                          "See the documentation of "
                          "fastnn.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            none = (None,) * self.n_inputs
            for hook in self.hooks:
                r = hook(self.module, none, full)
                if r is not None and any(x is not None for x in _as_tuple(r)):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")
        return _unwrapped(full, self.output_slots, graph)

    def _on_inputs(self, grads, graph=False):
        if self.grad_outputs is None:
            # the gradient reached the inputs without passing through this call's outputs
            # (a double backward through the forward graph, or an output that is not
            # routed): the hooks are not called, as in PyTorch
            return tuple(grads)
        grads = [(_wrap_grads((np.zeros(shape, dtype),))[0] if graph else np.zeros(shape, dtype))
                 if g is None else g for g, (shape, dtype) in zip(grads, self.input_specs)]
        full = list(_placed_grads(self.n_inputs, self.input_slots, grads, graph))
        for i, shape, dtype in self.input_zeros:
            full[i] = _wrap_grads((np.zeros(shape, dtype),))[0]
        full = tuple(full)
        for hook in self.hooks:
            r = hook(self.module, full, self.grad_outputs)
            if r is not None:
                r = _as_tuple(r)
                if len(r) != len(full):
                    raise RuntimeError(f"Backward hook returned an invalid number of "
                                       f"grad_input, got {len(r)}, but expected {len(full)}")
                full = r
        self.grad_outputs = None  # consumed: a later pass straight to the inputs skips hooks
        return _unwrapped(full, self.input_slots, graph)


class BackwardHook(_BackwardHookCall):
    """``torch.utils.hooks.BackwardHook``: full backward hooks for one call of ``module``.
    ``setup_input_hook(args)`` before the forward, ``setup_output_hook(result)`` after it;
    each returns its argument with the tensors routed through the hooks' gradient node."""

    def __init__(self, module, user_hooks, user_pre_hooks):
        super().__init__(module, list(user_hooks), list(user_pre_hooks))

    def setup_input_hook(self, args):
        return self.wrap_inputs(args)

    def setup_output_hook(self, args):
        return self.wrap_outputs(args)
