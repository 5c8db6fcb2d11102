"""Module, the containers and the layers of fastnn.nn."""
import importlib as _importlib
import pkgutil as _pkgutil
import warnings as _warnings

from .module import Module  # noqa: F401
from .container import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: F401
                        ParameterDict)

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
           "ParameterDict"]


def _public_layers(mod):
    """A layer file's ``__all__``, or else the Module subclasses it defines."""
    names = getattr(mod, "__all__", None)
    if names is not None:
        return list(names)
    return [n for n, v in vars(mod).items()
            if not n.startswith("_") and isinstance(v, type) and issubclass(v, Module)
            and v.__module__ == mod.__name__]


# every public layer file (linear, conv, pooling, ...) is exported; one that cannot be
# imported is reported and skipped, so the rest of fastnn.nn stays usable
_mod = _name = None
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name.startswith("_") or _info.name in ("module", "container"):
        continue
    try:
        _mod = _importlib.import_module(f".{_info.name}", __name__)
    except ImportError as _e:
        _warnings.warn(f"fastnn.nn: the layers of {_info.name}.py are unavailable: {_e}",
                       RuntimeWarning, stacklevel=2)
        continue
    for _name in _public_layers(_mod):
        if _name not in globals():
            globals()[_name] = getattr(_mod, _name)
            __all__.append(_name)
del _info, _mod, _name
