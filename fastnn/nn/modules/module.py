"""Module: the base class of every layer and model.

``_parameters``, ``_buffers`` and ``_modules`` are the source of truth; each write to them is
mirrored into an instance attribute so that ``self.weight`` in a forward is a plain attribute
hit. Module defines no ``__getattr__`` and never touches ``self.__dict__`` on the common
paths: on CPython 3.11 either one makes every attribute read of the instance ~4x slower.
"""
from collections import OrderedDict

from ..parameter import Parameter, Buffer
from ...autograd.node import forget_grad
from ...tensor import Tensor
from . import _hooks
from ._hooks import ModuleHookHandle
from . import _hook_dicts
from ._hook_dicts import HookDict, HookFlags, LazyHookDict
from ._hooks import (register_module_forward_pre_hook, register_module_forward_hook,  # noqa
                     register_module_full_backward_hook,
                     register_module_full_backward_pre_hook, register_module_backward_hook,
                     register_module_buffer_registration_hook,
                     register_module_module_registration_hook,
                     register_module_parameter_registration_hook)
from ._hooks import (_global_buffer_registration_hooks as _buffer_reg_hooks,
                     _global_module_registration_hooks as _module_reg_hooks,
                     _global_parameter_registration_hooks as _param_reg_hooks,
                     run_registration_hooks as _run_reg_hooks)
from ._state import StateDictMixin, _IncompatibleKeys  # noqa: F401
from ._convert import ConvertMixin
from . import _context
from ._context import add_context as _add_context, current_module_path  # noqa: F401
from ._registry import _Registry, _get

_REGISTRIES = ("_parameters", "_buffers", "_modules")
_CALL_HOOK_NAMES = frozenset(_hook_dicts.CALL_HOOK_NAMES)
_NOARG = object()
_setattr = object.__setattr__
_hook_state = _hooks.state


def _typename(obj):
    """A tensor's type string, else the dotted path of the object's class (builtins bare)."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    mod = getattr(cls, "__module__", "") or ""
    return cls.__qualname__ if mod in ("", "builtins") else f"{mod}.{cls.__qualname__}"


def _add_indent(text, spaces):
    first, *rest = text.split("\n")
    if not rest:
        return text
    pad = " " * spaces
    return "\n".join([first] + [pad + line for line in rest])


def _check_name(kind, name, module, registry):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {_typename(name)}")
    if "." in name:
        raise KeyError(f"{kind} name can't contain \".\"" +
                       (f", got: {name}" if kind == "module" else ""))
    if name == "":
        raise KeyError(f"{kind} name can't be empty string \"\"")
    if name not in registry and hasattr(module, name):
        raise KeyError(f"attribute '{name}' already exists")


class Module(StateDictMixin, ConvertMixin):
    """Base class for all neural-network modules; subclasses define ``forward``."""
    dump_patches = False
    _version = 1
    training = True
    _hooked = False
    call_super_init = False
    _is_full_backward_hook = None
    # hook containers: each is created on the instance when first read (see _hook_dicts)
    _forward_pre_hooks = LazyHookDict(HookDict)
    _forward_hooks = LazyHookDict(HookDict)
    _backward_hooks = LazyHookDict(HookDict)
    _backward_pre_hooks = LazyHookDict(HookDict)
    _state_dict_hooks = LazyHookDict(OrderedDict)
    _load_state_dict_post_hooks = LazyHookDict(OrderedDict)
    _forward_pre_hooks_with_kwargs = LazyHookDict(HookFlags)
    _forward_hooks_with_kwargs = LazyHookDict(HookFlags)
    _forward_hooks_always_called = LazyHookDict(HookFlags)

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            if kwargs:
                raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword "
                                f"argument '{next(iter(kwargs))}'")
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but "
                            f"{len(args) + 1} were given")
        _init_state(self)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required "
                                  "\"forward\" function")

    def __call__(self, __input=_NOARG, *args, **kwargs):
        # the common one-positional-argument call skips *args/**kwargs forwarding entirely
        if args or kwargs or __input is _NOARG or _hook_state.on or self._hooked:
            return _call_general(self, __input, args, kwargs)
        try:
            return self.forward(__input)
        except _CONTEXT_ERRORS as e:
            _add_context(e, self)
            raise

    _call_impl = _wrapped_call_impl = __call__

    # ---- registration ----------------------------------------------------------------
    def register_parameter(self, name, param):
        params = _get(self, "_parameters")
        if params is None:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self, params)
        if param is None:
            params[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(fastnn.nn.Parameter or None required)")
        elif param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model "
                             f"parameters must be created explicitly. To express '{name}' as a "
                             "function of another Tensor, compute the value in the forward() "
                             "method.")
        else:
            if _param_reg_hooks:
                param = _run_reg_hooks(_param_reg_hooks, self, name, param)
            params[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        buffers = _get(self, "_buffers")
        if buffers is None:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self, buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(fastnn Tensor or None required)")
        if isinstance(tensor, Buffer):
            tensor = tensor.detach()
        if _buffer_reg_hooks:
            tensor = _run_reg_hooks(_buffer_reg_hooks, self, name, tensor)
        buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        modules = _get(self, "_modules")
        if modules is None:
            raise AttributeError("cannot assign module before Module.__init__() call")
        _check_name("module", name, self, modules)
        if _module_reg_hooks:
            module = _run_reg_hooks(_module_reg_hooks, self, name, module)
        modules[name] = module

    register_module = add_module

    # ---- attribute routing -----------------------------------------------------------
    def __setattr__(self, name, value):
        params = _get(self, "_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            _remove(self, name, "_buffers", "_modules")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(fastnn.nn.Parameter or None expected)")
            self.register_parameter(name, value)
            return
        modules = _get(self, "_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            _remove(self, name, "_parameters", "_buffers")
            if _module_reg_hooks:
                value = _run_reg_hooks(_module_reg_hooks, self, name, value)
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(fastnn.nn.Module or None expected)")
            if _module_reg_hooks:
                value = _run_reg_hooks(_module_reg_hooks, self, name, value)
            modules[name] = value
            return
        buffers = _get(self, "_buffers")
        if isinstance(value, Buffer) or (buffers is not None and name in buffers):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                "(fastnn.nn.Buffer, fastnn.Tensor or None expected)")
            if buffers is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            persistent = value.persistent if isinstance(value, Buffer) else \
                name not in self._non_persistent_buffers_set
            _remove(self, name, "_parameters", "_modules")
            if isinstance(value, Buffer):
                value = value.detach()
            if _buffer_reg_hooks:
                value = _run_reg_hooks(_buffer_reg_hooks, self, name, value)
            buffers[name] = value
            (self._non_persistent_buffers_set.discard if persistent
             else self._non_persistent_buffers_set.add)(name)
            return
        if name in _CALL_HOOK_NAMES:
            _hook_dicts.assign(self, name, value)
            return
        _setattr(self, name, value)

    # No __getattr__: registered names are mirrored into __dict__, and merely defining
    # __getattr__ would slow down every attribute read of every module (no specialisation).

    def __delattr__(self, name):
        for reg in _REGISTRIES:
            r = _get(self, reg)
            if r is not None and name in r:
                del r[name]
                if reg == "_buffers":
                    self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = set(object.__dir__(self))
        for reg in _REGISTRIES:
            keys.update(_get(self, reg) or ())
        return sorted(k for k in keys if not k[0].isdigit())

    def __getstate__(self):
        d = self.__dict__
        registered = set()
        for reg in _REGISTRIES:
            registered.update(d.get(reg, ()))
        state = {k: v for k, v in d.items() if k not in registered}
        for reg in _REGISTRIES:
            if reg in d:
                state[reg] = OrderedDict(d[reg])
        return state

    def __setstate__(self, state):
        for k, v in state.items():
            if k not in _REGISTRIES:
                _setattr(self, k, v)
        _init_state(self, only_missing=True)
        for reg in _REGISTRIES:
            _setattr(self, reg, _Registry(self, dict(state.get(reg) or {}).items()))
        _hook_dicts.bind_all(self)

    def __copy__(self):
        # shares every container (parameters, buffers, children, hook dicts) with self
        return _hook_dicts.shallow_copy(self, _REGISTRIES)

    # ---- traversal -------------------------------------------------------------------
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (mod_prefix + "." + k if mod_prefix else k), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse=True):
        seen = set()
        for _, m in (self.named_modules() if recurse else (("", self),)):
            for p in m._parameters.values():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        # pre-order, as a recursive walk would give, but without nested generators
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            pre, module = stack.pop()
            if module in memo:
                continue
            if remove_duplicate:
                memo.add(module)
            yield pre, module
            kids = [(pre + "." + name if pre else name, m)
                    for name, m in module._modules.items() if m is not None]
            stack.extend(reversed(kids))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target):
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at dotted ``target``; ``strict`` requires the name to exist."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if not hasattr(parent, name):
            if strict:
                raise AttributeError(f"{parent._get_name()} has no attribute `{name}`")
        elif not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"`{name}` is not an nn.Module")
        setattr(parent, name, module)

    def get_parameter(self, target):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    # ---- modes and bulk operations ---------------------------------------------------
    def apply(self, fn):
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p._grad is None:
                continue
            if set_to_none:
                forget_grad(p)
            else:
                g = p._grad
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._rg = False
                g._data[...] = 0
                g._vc[0] += 1

    def share_memory(self):
        return self

    def compile(self, *args, **kwargs):
        """Compile in place: fastnn.compile leaves code as it is, so the module stays as is."""
        from ... import compile as _compile
        _compile(self.__call__, *args, **kwargs)

    # ---- hooks -----------------------------------------------------------------------
    def _hook(self, hooks, hook, extra=(), prepend=False):
        h = ModuleHookHandle(getattr(self, hooks), hook, self,
                             tuple(getattr(self, e) for e in extra), prepend)
        _setattr(self, "_hooked", True)
        return h

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        extra = ("_forward_pre_hooks_with_kwargs",) if with_kwargs else ()
        return self._hook("_forward_pre_hooks", hook, extra, prepend)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        extra = (("_forward_hooks_with_kwargs",) if with_kwargs else ()) + \
            (("_forward_hooks_always_called",) if always_call else ())
        return self._hook("_forward_hooks", hook, extra, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)``; a non-None return replaces grad_input."""
        _hooks.claim_backward_hook_kind(self, True)
        return self._hook("_backward_hooks", hook, (), prepend)

    def register_backward_hook(self, hook):
        """Deprecated form of register_full_backward_hook; runs as a full backward hook in
        fastnn. A module takes hooks of only one of the two kinds."""
        _hooks.claim_backward_hook_kind(self, False)
        return self._hook("_backward_hooks", hook)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)``; a non-None return replaces grad_output."""
        return self._hook("_backward_pre_hooks", hook, (), prepend)

    # ---- printing --------------------------------------------------------------------
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_add_indent(repr(m), 2)}"
                       for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"

    def summary(self, input_size=None, **kwargs):
        from ...utils.summary import summary
        return summary(self, input_size, **kwargs)


def _init_state(module, only_missing=False):
    if not only_missing or _get(module, "_non_persistent_buffers_set") is None:
        _setattr(module, "_non_persistent_buffers_set", set())
    if not only_missing:
        _setattr(module, "training", True)
        for reg in _REGISTRIES:
            _setattr(module, reg, _Registry(module))


def _remove(module, name, *regs):
    try:
        object.__delattr__(module, name)
    except AttributeError:
        pass
    for reg in regs:
        r = _get(module, reg)
        if r is not None and name in r:
            dict.__delitem__(r, name)
    if "_buffers" in regs:
        module._non_persistent_buffers_set.discard(name)


def _call_general(self, first, args, kwargs):
    if first is not _NOARG:
        args = (first,) + args
    try:
        if _hook_state.on or self._hooked:
            return _hooks.call_hooked(self, args, kwargs)
        return self.forward(*args, **kwargs)
    except _CONTEXT_ERRORS as e:
        _add_context(e, self)
        raise


_CONTEXT_ERRORS = (RuntimeError, ValueError, IndexError)
_context.CALL_CODE = Module.__call__.__code__
