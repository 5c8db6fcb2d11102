"""The registries behind a Module's ``_parameters``, ``_buffers`` and ``_modules``."""
import weakref
from collections import OrderedDict

_setattr = object.__setattr__


class _Registry(dict):
    """An ordered name -> value dict whose writes are mirrored into the owner's attributes."""
    __slots__ = ("_owner", "_sharers")

    def __init__(self, owner, items=()):
        dict.__init__(self)
        self._owner = weakref.ref(owner)
        self._sharers = ()  # weakrefs of shallow copies (copy.copy) that share this registry
        for k, v in items:
            self[k] = v

    def share_with(self, module):
        self._sharers += (weakref.ref(module),)

    def _modules_to_mirror(self):
        owner = self._owner()
        if owner is not None:
            yield owner
        for ref in self._sharers:
            module = ref()
            if module is not None:
                yield module

    def _mirror_set(self, key, value):
        for owner in self._modules_to_mirror():
            if not _shadowed(type(owner), key):
                _setattr(owner, key, value)

    def _mirror_del(self, key):
        for owner in self._modules_to_mirror():
            if not _shadowed(type(owner), key):
                try:
                    object.__delattr__(owner, key)
                except AttributeError:
                    pass

    def __setitem__(self, key, value):
        dict.__setitem__(self, key, value)
        self._mirror_set(key, value)

    def __delitem__(self, key):
        dict.__delitem__(self, key)
        self._mirror_del(key)

    def pop(self, key, *default):
        if key in self:
            self._mirror_del(key)
        return dict.pop(self, key, *default)

    def popitem(self):
        key, value = dict.popitem(self)
        self._mirror_del(key)
        return key, value

    def clear(self):
        for key in self:
            self._mirror_del(key)
        dict.clear(self)

    def update(self, *args, **kwargs):
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def __ior__(self, other):
        self.update(other)
        return self

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def copy(self):
        return OrderedDict(self)

    def __reduce_ex__(self, proto):
        # copies and pickles are plain dicts; Module.__setstate__ wires them back up
        return (OrderedDict, (list(self.items()),))


def _shadowed(cls, key):
    # a data descriptor (property) on the class wins over instance attributes anyway
    attr = getattr(cls, key, None)
    return attr is not None and hasattr(type(attr), "__set__")


def _get(module, name):
    try:
        return getattr(module, name)
    except AttributeError:
        return None
