"""state_dict / load_state_dict for Module."""
from collections import OrderedDict
from collections.abc import Mapping
from typing import List, NamedTuple

from ...autograd import grad_mode
from ._hooks import ModuleHookHandle
from ._hook_dicts import HookFlags, LazyHookDict


class _IncompatibleKeys(NamedTuple):
    missing_keys: List[str]
    unexpected_keys: List[str]

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
                f"unexpected_keys={self.unexpected_keys!r})")

    __str__ = __repr__


def _quoted(keys):
    return ", ".join(f'"{k}"' for k in keys)


_EXTRA_STATE_KEY = "_extra_state"


def _overrides(module, name):
    """Whether the module's class defines its own ``name`` (get/set_extra_state)."""
    return getattr(type(module), name) is not getattr(StateDictMixin, name)


class StateDictMixin:
    # created on the instance when first read (see _hook_dicts)
    _state_dict_pre_hooks = LazyHookDict(OrderedDict)
    _load_state_dict_pre_hooks = LazyHookDict(OrderedDict)
    _state_dict_hooks_public = LazyHookDict(HookFlags)
    _load_state_dict_pre_hooks_with_module = LazyHookDict(HookFlags)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        skip = self._non_persistent_buffers_set
        for name, b in self._buffers.items():
            if b is not None and name not in skip:
                destination[prefix + name] = b if keep_vars else b.detach()
        if _overrides(self, "get_extra_state"):
            destination[prefix + _EXTRA_STATE_KEY] = self.get_extra_state()

    def get_extra_state(self):
        """Extra state saved in state_dict under ``_extra_state``; override it together with
        set_extra_state. fastnn.save stores it when it is built from tensors, numbers,
        strings, None and dicts / lists / tuples / sets of those (it never pickles)."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never "
                           "be called.")

    def set_extra_state(self, state):
        """Restore the value get_extra_state returned; called by load_state_dict."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never "
                           "be called.")

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """Parameters and persistent buffers by dotted name, as detached tensors sharing storage.

        Shared parameters appear once per name, as in PyTorch.
        """
        if args:  # the deprecated positional form state_dict(destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        # one dict, both stored in the metadata and handed to the post-hooks, so a hook's
        # additions to it are saved
        local_metadata = {"version": self._version}
        meta = getattr(destination, "_metadata", None)
        if meta is not None:
            meta[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        public = self._state_dict_hooks_public
        for hid, hook in self._state_dict_hooks.items():
            r = hook(self, destination, prefix, local_metadata)
            if r is None:
                continue
            if hid in public:
                raise RuntimeError("state_dict post-hook must return None")
            destination = r  # the private hook form may swap in a new destination
        return destination

    def _state_hook(self, hooks, hook, extra=()):
        return ModuleHookHandle(getattr(self, hooks), hook, self,
                                tuple(getattr(self, e) for e in extra))

    def _register_state_dict_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)``; a returned dict replaces it."""
        if any(h is hook and hid in self._state_dict_hooks_public
               for hid, h in self._state_dict_hooks.items()):
            raise RuntimeError("Cannot register the same function as the state dict post hook "
                               "that was previously registered via "
                               "register_state_dict_post_hook")
        return self._state_hook("_state_dict_hooks", hook)

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)``, editing state_dict in place."""
        return self._state_hook("_state_dict_hooks", hook, ("_state_dict_hooks_public",))

    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)`` before this module's state_dict is gathered."""
        return self._state_hook("_state_dict_pre_hooks", hook)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        """Like register_load_state_dict_pre_hook; the module is passed only with_module."""
        extra = ("_load_state_dict_pre_hooks_with_module",) if with_module else ()
        return self._state_hook("_load_state_dict_pre_hooks", hook, extra)

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, *key_and_error_lists)``."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys)`` after this module's load_state_dict."""
        return self._state_hook("_load_state_dict_post_hooks", hook)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Load this module's own tensors, assigning them if local_metadata asks to."""
        from ...tensor import Tensor
        assign = local_metadata.get("assign_to_params_buffers", False)
        with_module = self._load_state_dict_pre_hooks_with_module
        args = (state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                error_msgs)
        for hid, hook in self._load_state_dict_pre_hooks.items():
            if hid in with_module:
                hook(self, *args)
            else:
                hook(*args)
        skip = self._non_persistent_buffers_set
        local = {k: v for k, v in self._parameters.items() if v is not None}
        local.update((k, v) for k, v in self._buffers.items() if v is not None and k not in skip)
        for name, param in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            src = state_dict[key]
            if not isinstance(src, Tensor):
                error_msgs.append(f'While copying the parameter named "{key}", expected '
                                  "fastnn.Tensor or Tensor-like object from checkpoint but "
                                  f"received {type(src)}")
                continue
            if param.dim() == 0 and src.dim() == 1 and src.shape[0] == 1:
                src = src[0]
            if src.shape != param.shape:
                error_msgs.append(f"size mismatch for {key}: copying a param with shape "
                                  f"{src.shape} from checkpoint, the shape in current model is "
                                  f"{param.shape}.")
                continue
            try:
                with grad_mode.no_grad():
                    if assign:
                        self._assign(name, param, src)
                    else:
                        # in place: parameter identity (and views into its storage) survive
                        param.copy_(src)
            except Exception as ex:
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions '
                                  f"in the model are {param.shape} and whose dimensions in the "
                                  f"checkpoint are {src.shape}, an exception occurred : "
                                  f"{ex.args}.")
        has_extra = _overrides(self, "set_extra_state")
        if has_extra:
            key = prefix + _EXTRA_STATE_KEY
            if key in state_dict:
                self.set_extra_state(state_dict[key])
            elif strict:
                missing_keys.append(key)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix):
                    continue
                head, dot, _ = key[len(prefix):].partition(".")
                if head == _EXTRA_STATE_KEY and not dot and has_extra:
                    continue
                if (dot and head not in self._modules) or (not dot and head not in local):
                    unexpected_keys.append(key)

    def _assign(self, name, param, src):
        from ..parameter import Parameter
        if name in self._parameters:
            if not isinstance(src, Parameter):
                src = Parameter(src.detach(), requires_grad=param.requires_grad)
            else:
                src.requires_grad_(param.requires_grad)
            self._parameters[name] = src
        else:
            self._buffers[name] = src.detach()

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values in place; returns ``(missing_keys, unexpected_keys)``.

        With ``strict`` (the default) any missing or unexpected key raises RuntimeError, as
        does a shape mismatch in any mode.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata  # load pre-hooks may read it

        def load(module, local_sd, prefix):
            local_metadata = {} if metadata is None else metadata.get(prefix[:-1], {})
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_sd, prefix, local_metadata, True, missing,
                                         unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local_sd.items()
                                 if k.startswith(child_prefix)}, child_prefix)
            keys = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks.values():
                if hook(module, keys) is not None:
                    raise AssertionError("Hooks registered with "
                                         "``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values, if incompatible_keys "
                                         "need to be modified, it should be done inplace.")

        load(self, state_dict, "")
        if strict:
            if unexpected:
                errors.insert(0, f"Unexpected key(s) in state_dict: {_quoted(unexpected)}. ")
            if missing:
                errors.insert(0, f"Missing key(s) in state_dict: {_quoted(missing)}. ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)
