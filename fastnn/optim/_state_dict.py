"""Optimizer.state_dict and load_state_dict (a mixin of Optimizer): PyTorch's layout, with
parameters numbered across groups, and loaded state copied into the parameter's dtype."""
from collections import defaultdict
from copy import deepcopy
from itertools import chain

from ..tensor import Tensor, _wrap


class StateDictMixin:
    def state_dict(self):
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

    def load_state_dict(self, state_dict):
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
        if self._fusable:
            self._adopt_state()


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
