"""``fastnn.utils``: ``data`` (datasets and the DataLoader) and ``hooks``, loaded on first use."""
import importlib as _importlib

_LAZY = ("data", "hooks", "checkpoint")


def __getattr__(name):
    if name in _LAZY:
        mod = _importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'fastnn.utils' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
