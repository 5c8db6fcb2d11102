"""fastnn.compile: PyTorch's entry point, with nothing compiled behind it.

``compile(module)`` returns an ``OptimizedModule`` as PyTorch does, so code that reaches
for ``compiled._orig_mod`` or strips the ``_orig_mod.`` prefix from state-dict keys runs
unchanged; functions come back as they are.
"""
from .nn.modules.module import Module


class OptimizedModule(Module):
    """The compiled form of a module: the module itself under ``_orig_mod``, run as is."""

    def __init__(self, mod):
        super().__init__()
        self._orig_mod = mod

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "_orig_mod" or name.startswith("__"):
                raise
            return getattr(self._orig_mod, name)


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):
    """Accepted for compatibility; nothing is compiled (see the module docstring)."""
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if disable or not isinstance(model, Module):
        return model
    return OptimizedModule(model)
