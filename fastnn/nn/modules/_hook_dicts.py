"""The per-module hook dicts (``_forward_hooks`` and friends), created on first use.

A module starts with none of them: reading one creates an empty dict on the instance, so a
module that never sees a hook costs nothing. The four dicts the call path consults are
``HookDict``s: every change re-evaluates the owner's ``_hooked`` flag, which keeps the
``Module.__call__`` fast path correct however a hook is added (``register_*``, item
assignment, ``update``...) or removed (``handle.remove()``, ``pop``, ``clear``...).
"""
import weakref
from collections import OrderedDict

_setattr = object.__setattr__

# the dicts Module.__call__ must look at; their emptiness decides the ``_hooked`` flag
CALL_HOOK_NAMES = ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks",
                   "_backward_pre_hooks")


def refresh_module(module):
    """Recompute ``module._hooked``: on while any call hook dict is non-empty.

    A dict put on the module that is not a HookDict (e.g. ``m._forward_hooks = {}``) cannot
    report its changes, so it keeps the flag on for as long as it is there.
    """
    hooked = False
    for name in CALL_HOOK_NAMES:
        d = getattr(module, name)
        if d or type(d) is not HookDict:
            hooked = True
            break
    _setattr(module, "_hooked", hooked)


class HookDict(OrderedDict):
    """An OrderedDict of hooks that re-arms or disarms its modules' call fast path on change."""

    def __init__(self, *args, **kwargs):
        self._owners = []  # weakrefs of the modules holding this dict (several after copy.copy)
        super().__init__(*args, **kwargs)

    def bind(self, module):
        if not any(ref() is module for ref in self._owners):
            self._owners.append(weakref.ref(module))
        refresh_module(module)

    def _changed(self):
        for ref in self._owners:
            module = ref()
            if module is not None:
                refresh_module(module)

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._changed()

    def __delitem__(self, key):
        super().__delitem__(key)
        self._changed()

    def pop(self, *args):
        r = super().pop(*args)
        self._changed()
        return r

    def popitem(self, last=True):
        r = super().popitem(last)
        self._changed()
        return r

    def clear(self):
        super().clear()
        self._changed()

    def update(self, *args, **kwargs):
        super().update(*args, **kwargs)
        self._changed()

    def setdefault(self, key, default=None):
        r = super().setdefault(key, default)
        self._changed()
        return r

    def __ior__(self, other):
        self.update(other)
        return self

    def __reduce__(self):
        # owners are re-bound by Module.__setstate__; weakrefs themselves cannot be pickled
        return type(self), (list(self.items()),)


class HookFlags(OrderedDict):
    """Hook ids with an option (with_kwargs, always_call...), as ``{id: True}``."""

    def add(self, hook_id):
        self[hook_id] = True

    def discard(self, hook_id):
        self.pop(hook_id, None)


class LazyHookDict:
    """Class attribute standing in for a hook dict until the instance first reads it."""

    def __init__(self, factory):
        self.factory = factory

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, module, cls=None):
        if module is None:
            return self
        d = self.factory()
        _setattr(module, self.name, d)  # from now on a plain instance attribute
        if type(d) is HookDict:
            d._owners.append(weakref.ref(module))
        return d


def assign(module, name, value):
    """``module.<name> = value`` for a call hook dict: keeps the ``_hooked`` flag right."""
    _setattr(module, name, value)
    if type(value) is HookDict:
        value.bind(module)
    else:
        refresh_module(module)


def bind_all(module):
    """Register ``module`` as an owner of the HookDicts it holds (after unpickling/copying)."""
    for name in CALL_HOOK_NAMES:
        d = getattr(module, name)
        if type(d) is HookDict:
            d.bind(module)
    refresh_module(module)


def materialize_all(module):
    """Create every hook dict ``module`` does not hold yet (so that a copy can share them)."""
    for cls in type(module).__mro__:
        for name, attr in vars(cls).items():
            if isinstance(attr, LazyHookDict):
                getattr(module, name)


def shallow_copy(module, registries):
    """``copy.copy(module)``: a new module sharing every container of ``module``."""
    materialize_all(module)  # so that the hook dicts, too, are shared
    new = type(module).__new__(type(module))
    for k, v in module.__dict__.items():
        _setattr(new, k, v)
    for reg in registries:
        r = getattr(new, reg, None)
        if r is not None and hasattr(r, "share_with"):
            r.share_with(new)  # writes through the copy are mirrored into its attributes too
    bind_all(new)
    return new
