"""Optimizer.state_dict and load_state_dict (a mixin of Optimizer): PyTorch's layout, with
parameters numbered across groups, and loaded state copied into the parameter's dtype; the
hooks around them, and the global step hooks every optimizer runs."""
from collections import OrderedDict, defaultdict
from copy import deepcopy
from itertools import chain

import numpy as np

from ..tensor import Tensor, _wrap
from ..utils.hooks import RemovableHandle

_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` before every optimizer's step; it may return new
    ``(args, kwargs)`` (``args`` starts with the optimizer)."""
    return RemovableHandle(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` after every optimizer's step."""
    return RemovableHandle(_global_optimizer_post_hooks, hook)


def run_step(step, self, args, kwargs):
    """``step(*args, **kwargs)`` (``args[0]`` is the optimizer) between its hooks: global pre
    hooks, then the optimizer's own; after the step its own post hooks, then global ones."""
    pre = self._optimizer_step_pre_hooks
    if pre or _global_optimizer_pre_hooks:
        for hook in list(chain(_global_optimizer_pre_hooks.values(), pre.values())):
            r = hook(self, args, kwargs)
            if r is not None:
                if not (isinstance(r, tuple) and len(r) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {r}.")
                args, kwargs = r
    out = step(*args, **kwargs)
    self._opt_called = True
    post = self._optimizer_step_post_hooks
    if post or _global_optimizer_post_hooks:
        for hook in list(chain(post.values(), _global_optimizer_post_hooks.values())):
            hook(self, args, kwargs)
    return out


def _register(self, name, hook, prepend):
    # the tables are made on first use, so optimizers restored by pickle get them too
    hooks = self.__dict__.setdefault(name, OrderedDict())
    handle = RemovableHandle(hooks, hook)
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _hooks(self, name):
    return list(self.__dict__.get(name, {}).values())


class StateDictMixin:
    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` before ``state_dict`` builds the dict."""
        return _register(self, "_optimizer_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` after; a non-None return replaces the dict."""
        return _register(self, "_optimizer_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` before loading (on a shallow copy of the caller's
        dict); a non-None return is loaded instead."""
        return _register(self, "_optimizer_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` after ``load_state_dict``."""
        return _register(self, "_optimizer_load_state_dict_post_hooks", hook, prepend)

    def state_dict(self):
        for hook in _hooks(self, "_optimizer_state_dict_pre_hooks"):
            hook(self)
        out = self._build_state_dict()
        for hook in _hooks(self, "_optimizer_state_dict_post_hooks"):
            r = hook(self, out)
            if r is not None:
                out = r
        return out

    def load_state_dict(self, state_dict):
        state_dict = state_dict.copy()  # hooks may edit it; the caller's dict stays as is
        for hook in _hooks(self, "_optimizer_load_state_dict_pre_hooks"):
            r = hook(self, state_dict)
            if r is not None:
                state_dict = r
        self._load(state_dict)
        for hook in _hooks(self, "_optimizer_load_state_dict_post_hooks"):
            hook(self)

    def _build_state_dict(self):
        mapping, groups, start = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def _load(self, state_dict):
        groups = self.param_groups
        saved = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved),
                          chain.from_iterable(g["params"] for g in groups)))
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                p = id_map[k]
                state[p] = {key: _cast(p, val, key) for key, val in v.items()}
            else:
                state[k] = v
        for g, s in zip(groups, saved):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            for k, v in self.defaults.items():
                s.setdefault(k, v)
        self.state = state
        self.param_groups = saved
        _tensorize_scalar_state(self)
        if self._fusable:
            self._adopt_state()


def _tensorize_scalar_state(opt):
    """Plain-number scalar state (``step``, NAdam's ``mu_product``, ASGD's ``eta``/``mu``),
    as in checkpoints of old releases, becomes 0-d tensors of the step dtype, as in PyTorch."""
    keys = opt._tensor_scalar_keys
    if keys is None:
        keys = ("step",) if opt._counts_steps else ()
    if not keys:
        return
    for group in opt.param_groups:
        # fused Adam/AdamW/Adagrad keep float32 steps whatever the default dtype
        dtype = np.float32 if group.get("fused") else opt._step_dtype()
        for p in group["params"]:
            st = opt.state.get(p)
            if not st:
                continue
            for key in keys:
                value = st.get(key)
                if value is not None and not isinstance(value, Tensor):
                    st[key] = _wrap(np.array(float(value), dtype=dtype))


def _cast(p, value, key):
    """A loaded state value as the parameter wants it (floating state in the param's dtype).

    Always a copy: the state_dict handed in may hold another optimizer's live buffers."""
    if isinstance(value, Tensor):
        arr, dt = value._data, p._data.dtype
        keep = key == "step" or dt.kind != "f" or arr.dtype == dt
        return _wrap(arr.copy() if keep else arr.astype(dt))
    if isinstance(value, dict):
        return {k: _cast(p, v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(p, v, None) for v in value)
    return value
