"""Optimizer: PyTorch's param-group API, with the built-in optimizers' updates run over
contiguous parameter arenas (see ``_arena``) by one fused kernel call per group.

A subclass that wants the fused machinery sets ``_fusable = True`` and provides
``_state_keys(group)`` (per-parameter state arrays, with their initial fill; a fill of None
means the update itself writes the first value, as SGD's momentum buffer), ``_hyper(group)``
(the group's scalars) and ``_update(hyper, param, grad, bufs, info, kernel)``, which updates
flat or shaped arrays in place.  ``info`` is the step count after increment for optimizers
with ``_counts_steps``, else whether the state is being created by this update.
"""
import warnings
from collections import OrderedDict, defaultdict
from operator import is_
from sys import getrefcount as _getrefcount

import numpy as np

from .. import _dtype as D
from ..autograd import grad_mode
from ..tensor import Tensor, _wrap
from . import _arena
from ._state_dict import (StateDictMixin, register_optimizer_step_post_hook,  # noqa: F401
                          register_optimizer_step_pre_hook, run_step)
from ..utils.hooks import RemovableHandle

try:
    from .. import _core
except ImportError:  # the numpy path covers every update
    _core = None

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]


def kernels_for(arr):
    """The fused update kernels for arr's device: fastnn._core, or the CUDA ones."""
    if type(arr) is np.ndarray:
        return _core
    from ..cuda import kernels_optim
    return kernels_optim


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def _scalar(v):
    return float(v.item()) if isinstance(v, Tensor) else v


_NARROW_LR = (np.dtype(np.float16), np.dtype(np.float32))


def _lr_value(lr):
    """A group's learning rate for an update: a float, or for a float16/float32 tensor lr a
    numpy scalar of that dtype, so that the scalars derived from it (``1 - lr * wd``,
    ``lr / bias_correction``) round in that dtype as PyTorch's tensor arithmetic does."""
    if isinstance(lr, Tensor):
        dtype = lr._data.dtype
        value = lr.item()
        return dtype.type(value) if dtype in _NARROW_LR else float(value)
    return float(lr)


def _check_lr(lr):
    """PyTorch's checks of a learning rate, a number or a 1-element tensor."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= _scalar(lr):
        raise ValueError(f"Invalid learning rate: {lr}")


def _state_shape_message(state_shape, param_shape):
    """PyTorch's error for an update whose loaded state does not fit its parameter."""
    ndim = max(len(state_shape), len(param_shape))
    a = (1,) * (ndim - len(state_shape)) + tuple(state_shape)
    b = (1,) * (ndim - len(param_shape)) + tuple(param_shape)
    for dim in range(ndim - 1, -1, -1):
        if a[dim] != b[dim] and a[dim] != 1 and b[dim] != 1:
            return (f"The size of tensor a ({a[dim]}) must match the size of tensor b "
                    f"({b[dim]}) at non-singleton dimension {dim}")
    return (f"output with shape {list(state_shape)} doesn't match the broadcast shape "
            f"{list(param_shape)}")


def _typename(obj):
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__


class Optimizer(StateDictMixin):
    """Base class of all optimizers (``torch.optim.Optimizer``)."""
    _fusable = False
    _counts_steps = False
    # state entries loaded as plain numbers that become 0-d tensors (None: "step" for the
    # step-counting optimizers, nothing otherwise)
    _tensor_scalar_keys = None

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        self._packs = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ---- param groups --------------------------------------------------------------
    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some "
                                 "param names are missing")
            param_group["param_names"] = names
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(tensors) != len({id(p) for p in tensors}):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                txt = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {txt} to the optimizer")
        if any(id(p) in seen for p in tensors):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._packs.append(None)
        if self._fusable:
            self._layout(len(self.param_groups) - 1, param_group)

    # ---- arenas ---------------------------------------------------------------------
    def _step_dtype(self):
        return np.float64 if D.get_default_dtype() is D.float64 else np.float32

    def _layout(self, gi, group):
        """(arenas, loose params) of group ``gi``, repacked if its parameter list changed."""
        params = group["params"]
        while len(self._packs) <= gi:
            self._packs.append(None)
        pk = self._packs[gi]
        if pk is not None:
            old, arenas, loose = pk[0], pk[1], pk[2]
            if len(old) == len(params) and all(map(is_, old, params)) and \
                    all(type(a.params[0]._data) is type(a.data) for a in arenas) and \
                    not (loose and group.get("fused") is not False and
                         _arena.any_packable(loose)):
                # (a loose parameter turns packable when the optimizer that held it is gone)
                return arenas, loose
            for a in arenas:
                a.release()
            # drop the old packing before repacking: its references would make every
            # parameter it held look shared, and keep them all out of the new arena
            pk = old = arenas = loose = a = None
            self._packs[gi] = None
        if group.get("fused") is False:
            arenas, loose = [], list(params)
        else:
            arenas, loose = _arena.pack_group(params, self._step_dtype())
        # (arena, index), not the slot itself: a reference to the slot would read as a
        # gradient kept by the user (see Arena.check_slots)
        slots = {id(p): (a, i) for a in arenas for i, p in enumerate(a.params)}
        self._packs[gi] = (tuple(params), arenas, loose, slots)
        return arenas, loose

    def _sync(self, arena, i, st, keys, bts, init=True):
        """Point ``st`` at arena ``i``'s state views, copying in any values held elsewhere.

        Returns the step number this update will make (step-counting optimizers) or whether
        a state array is created by the update itself."""
        info = False
        if self._counts_steps:
            t = arena.step_tensors()[i]
            cur = st.get("step")
            if cur is not t and (init or cur is not None):
                arena.steps[i] = 0 if cur is None else float(cur)
                st["step"] = t
            info = arena.steps.item(i) + 1
        for (key, fill), ts in zip(keys, bts):
            t = ts[i]
            cur = st.get(key)
            if cur is t:
                continue
            if cur is None:
                if not init:
                    continue
                if fill is None:
                    info = info or True
                    continue
                t._data.fill(fill)
            else:
                src = cur._data if isinstance(cur, Tensor) else cur
                if np.shape(src) != t._data.shape:
                    if not init:  # loading keeps a state of another shape, as PyTorch does
                        continue
                    raise RuntimeError(_state_shape_message(np.shape(src), t._data.shape))
                np.copyto(t._data, src, casting="unsafe")
            st[key] = t
        return info

    # ---- stepping -------------------------------------------------------------------
    @staticmethod
    def _closure_loss(closure):
        """The loss the closure returns, computed with grad mode on (None without one)."""
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    def _fused_step(self, closure=None):
        loss = self._closure_loss(closure)
        for gi, group in enumerate(self.param_groups):
            keys = self._state_keys(group)
            hyper = self._hyper(group)
            kernel = _core is not None and group.get("fused") is not False
            if group.get("fused") is False:
                loose = group["params"]
            else:
                arenas, loose = self._layout(gi, group)
                for a in arenas:
                    self._step_arena(a, keys, hyper, kernel)
            for p in loose:
                if p._grad is not None:
                    self._step_param(p, keys, hyper, kernel)
        return loss

    def _step_arena(self, arena, keys, hyper, kernel):
        if not self._counts_steps and self._arena_ready(arena, keys):
            # the steady state: one update over the whole arena is exactly the per-parameter
            # updates below, without their bookkeeping
            for p in arena.params:
                p._vc[0] += 1
            self._update(hyper, arena.data, arena.grad, [arena.bufs[k] for k, _ in keys],
                         False if keys else None, kernel)
            return
        state, params = self.state, arena.params
        views, gviews = arena.views, arena.gviews
        bts = [arena.buffer(k) for k, _ in keys]
        stateful = bool(keys) or self._counts_steps
        runs, singles, created = [], [], []
        for i, p in enumerate(params):
            g = p._grad
            if g is None:
                continue          # PyTorch skips parameters without a gradient
            info = self._sync(arena, i, state[p], keys, bts) if stateful else None
            if info is True:
                created.append(p)
            p._vc[0] += 1
            if p._data is views[i] and g._data is gviews[i]:
                if runs and runs[-1][1] == i and runs[-1][2] == info:
                    runs[-1][1] = i + 1
                else:
                    runs.append([i, i + 1, info])
            else:
                singles.append((i, info))
        for i0, i1, info in runs:
            bufs = [arena.span(arena.bufs[k], i0, i1) for k, _ in keys]
            self._update(hyper, arena.span(arena.data, i0, i1), arena.span(arena.grad, i0, i1),
                         bufs, info, kernel)
        for i, info in singles:
            p = params[i]
            self._apply(hyper, p._data, p._grad._data, [ts[i]._data for ts in bts], info, kernel)
        if self._counts_steps:
            for i0, i1, _ in runs:
                arena.steps[i0:i1] += 1
            for i, _ in singles:
                arena.steps[i] += 1
        for p in created:
            i, st = arena.index[id(p)], state[p]
            for (key, fill), ts in zip(keys, bts):
                if fill is None and st.get(key) is None:
                    st[key] = ts[i]

    def _arena_ready(self, arena, keys):
        """Every parameter's gradient is in its arena slot and its state already in the arena."""
        params = arena.params
        for p, view, gview in zip(params, arena.views, arena.gviews):
            g = p._grad
            if g is None or g._data is not gview or p._data is not view:
                return False
        if keys:
            state = self.state
            for key, _ in keys:
                ts = arena.buf_t.get(key)
                if ts is None:
                    return False
                for p, t in zip(params, ts):
                    st = state.get(p)
                    if st is None or st.get(key) is not t:
                        return False
        return True

    def _step_param(self, p, keys, hyper, kernel):
        """PyTorch's single-tensor update of one parameter (state in its own arrays)."""
        if p._data.dtype.kind not in "fc":  # the float update cannot be written back
            raise RuntimeError(self._integral_message(p))
        info = False
        st = self.state[p] if keys or self._counts_steps else None
        if self._counts_steps:
            cur = st.get("step")
            if not isinstance(cur, Tensor):
                cur = _wrap(np.array(0 if cur is None else float(cur), dtype=self._step_dtype()))
                st["step"] = cur
            cur._data += 1
            info = float(cur._data)
        bufs, created = [], []
        for key, fill in keys:
            cur = st.get(key)
            if cur is None:
                arr = np.zeros_like(p._data) if fill is None else np.full_like(p._data, fill)
                if fill is None:
                    created.append((key, arr))
                    info = info or True
                else:
                    st[key] = _wrap(arr)
            else:
                arr = cur._data
                if arr.shape != p._data.shape:
                    raise RuntimeError(_state_shape_message(arr.shape, p._data.shape))
            bufs.append(arr)
        p._vc[0] += 1
        self._apply(hyper, p._data, p._grad._data, bufs, info, kernel)
        for key, arr in created:
            st[key] = _wrap(arr)

    def _apply(self, hyper, p, g, bufs, info, kernel):
        """One parameter's arrays: the compiled kernel when they suit it, numpy otherwise."""
        on_host = type(p) is np.ndarray
        if kernel and (on_host or hasattr(p, "device_spec")) and p.dtype in _arena._PACKABLE \
                and p.flags.c_contiguous and p.flags.writeable and \
                all(b.dtype == p.dtype and b.flags.c_contiguous for b in bufs):
            if on_host and (g.dtype != p.dtype or not g.flags.c_contiguous or
                            g.shape != p.shape):  # the CUDA kernels convert g themselves
                g = np.ascontiguousarray(np.broadcast_to(g, p.shape), dtype=p.dtype)
            self._update(hyper, p, g, bufs, info, True)
        else:
            self._update(hyper, p, g, bufs, info, False)

    def step(self, closure=None):
        raise NotImplementedError

    def _integral_message(self, p):
        from .._dtype import scalar_type_name
        return (f"result type Float can't be cast to the desired output type "
                f"{scalar_type_name(p._data.dtype)}")

    def _state_keys(self, group):
        return ()

    def _hyper(self, group):
        return None

    def _update(self, hyper, p, g, bufs, info, kernel):
        raise NotImplementedError

    # ---- gradients ------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        for gi, group in enumerate(self.param_groups):
            pk = self._packs[gi] if gi < len(self._packs) else None
            slots = pk[3] if pk is not None and self._fusable else {}
            in_slots = {}  # arena -> gradients living in its slots, zeroed below
            for p in group["params"]:
                g = p._grad
                if g is None:
                    continue
                if set_to_none:
                    p._grad = None
                    # a tensor the caller kept (references beyond `g` and getrefcount's
                    # argument) gets its own copy: the next backward reuses the slot
                    if g._data is p._grad_slot and _getrefcount(g) > 2:
                        g._data = g._data.copy()
                    continue
                if g.grad_fn is not None or g._rg:
                    g.grad_fn = None
                    g._rg = False
                at = slots.get(id(p))
                if at is not None and g._data is at[0].gviews[at[1]]:
                    in_slots.setdefault(at[0], []).append(g)
                    continue
                g._data[...] = 0
                g._vc[0] += 1
            for a, grads in in_slots.items():
                if len(grads) == len(a.params) and _core is not None and \
                        type(a.grad) is np.ndarray:
                    _core.zero_(a.grad)  # one pass; the gaps between slots stay zero
                else:  # some slot may back a gradient that was cleared and kept
                    for g in grads:
                        g._data[...] = 0
                for g in grads:
                    g._vc[0] += 1

    # ---- hooks ----------------------------------------------------------------------
    def register_step_pre_hook(self, hook):
        return RemovableHandle(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        return RemovableHandle(self._optimizer_step_post_hooks, hook)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_hooks(cls.__dict__["step"])

    def _adopt_state(self):
        """Copy loaded state into the arenas so that stepping resumes exactly."""
        for gi, group in enumerate(self.param_groups):
            if group.get("fused") is False:
                continue
            keys = self._state_keys(group)
            arenas, _ = self._layout(gi, group)
            for a in arenas:
                bts = [a.buffer(k) for k, _ in keys]
                for i, p in enumerate(a.params):
                    st = self.state.get(p)
                    if st:
                        self._sync(a, i, st, keys, bts, init=False)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__.setdefault("_optimizer_step_pre_hooks", OrderedDict())
        self.__dict__.setdefault("_optimizer_step_post_hooks", OrderedDict())
        self._packs = []

    def __repr__(self):
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


def _with_hooks(step):
    import functools

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        # hooks see (and may replace) PyTorch's args, which start with the optimizer itself
        return run_step(step, self, (self,) + args, kwargs)
    return wrapper
