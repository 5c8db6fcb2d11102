"""The named-tuple classes of fastnn's multi-result ops (``x.max(0)``, ``linalg.qr``, ...),
under PyTorch's module name: ``type(x.max(0))`` is ``fastnn.return_types.max``.

The classes are made next to their ops with ``__module__`` set to this module; a name is
looked up here on first use (pickle does so when loading one), loading fastnn.linalg first
so that the lazily loaded ops' classes are found too.
"""
import sys as _sys

from ._tensor_select import aminmax_type as _aminmax
from ._functions_select_calc import frexp_type as _frexp

# these two are written as classes, so they take this module's names here
for _cls, _name in ((_aminmax, "aminmax"), (_frexp, "frexp")):
    _cls.__module__, _cls.__name__, _cls.__qualname__ = __name__, _name, _name
aminmax, frexp = _aminmax, _frexp
del _cls, _name


def _find(name):
    for mod_name, mod in list(_sys.modules.items()):
        if mod is None or not mod_name.startswith("fastnn.") or mod_name == __name__:
            continue
        for value in list(vars(mod).values()):
            if isinstance(value, type) and value.__module__ == __name__ and \
                    value.__qualname__ == name:
                return value
    return None


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    found = _find(name)
    if found is None:
        from . import linalg  # noqa: F401  (its ops' classes are made when it loads)
        found = _find(name)
    if found is None:
        raise AttributeError(f"module '{__name__}' has no attribute '{name}'")
    globals()[name] = found
    return found
