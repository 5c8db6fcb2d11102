"""fastnn.nn: Parameter, Module, containers, layers, losses, ``functional`` and ``init``."""
import importlib as _importlib

from .parameter import (Parameter, Buffer, UninitializedParameter,  # noqa: F401
                        UninitializedBuffer)
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _module_names
from .modules.module import (register_module_forward_pre_hook,  # noqa: F401
                             register_module_forward_hook, register_module_full_backward_hook,
                             register_module_full_backward_pre_hook)
from . import utils  # noqa: F401
from .parallel import DataParallel  # noqa: F401

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "utils",
           *_module_names]

# written alongside the module system; absent pieces are skipped until they land
for _name in ("functional", "init", "attention"):
    try:
        globals()[_name] = _importlib.import_module(f".{_name}", __name__)
        __all__.append(_name)
    except ImportError as _e:
        if _e.name != f"{__name__}.{_name}":
            raise
del _name
