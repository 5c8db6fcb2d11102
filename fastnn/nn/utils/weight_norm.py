"""Weight normalisation (hook form): ``weight = g * v / ||v||``, recomputed before each forward.

``weight_norm(module)`` replaces the parameter ``weight`` with two parameters, the magnitude
``weight_g`` and the direction ``weight_v``; a forward pre-hook rebuilds ``weight`` from
them, so gradients flow to ``weight_g`` and ``weight_v``.
"""
import warnings

from ..modules._hooks import refresh_module
from ..parameter import Parameter

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` over every dimension but ``dim`` (kept, as size-1 dims).

    ``dim=-1`` means the norm of the whole tensor (a 0-d result), as in PyTorch.
    """
    if dim == -1:
        return v.norm(pow)
    d = dim % v.dim()
    others = tuple(i for i in range(v.dim()) if i != d)
    if not others:
        return v.abs()
    return v.norm(pow, dim=others, keepdim=True)


def _weight_norm(v, g, dim=0):
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    def __init__(self, name, dim):
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module, name, dim):
        # PyTorch deprecates this hook-based form for parametrizations.weight_norm, which
        # fastnn does not have yet: the warning says so rather than pointing nowhere
        warnings.warn("`fastnn.nn.utils.weight_norm` is deprecated in PyTorch in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm` (not yet in fastnn).",
                      FutureWarning,
                      stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same "
                                   f"parameter {name}")
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g",
                                  Parameter(norm_except_dim(weight, 2, dim).detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Split ``module.<name>`` into magnitude ``<name>_g`` and direction ``<name>_v``.

    ``dim`` is the dimension kept by the norm (0: one magnitude per output channel);
    ``None`` normalises over the whole tensor. Returns the module.
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo ``weight_norm``: ``<name>`` becomes a plain parameter again. Returns the module."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            refresh_module(module)
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
