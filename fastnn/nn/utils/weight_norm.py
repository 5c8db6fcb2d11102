"""Weight normalisation in hook form: ``weight = g * v / ||v||``.

``weight_norm(module)`` swaps the parameter ``weight`` for a magnitude ``weight_g`` and a
direction ``weight_v``. A forward pre-hook rebuilds ``weight`` from the two before every call,
so the optimiser trains length and direction separately while the layer's own code keeps
reading ``self.weight``.
"""
import warnings

from ..modules._hooks import refresh_module
from ..parameter import Parameter

__all__ = ["WeightNorm",
           "weight_norm",
           "remove_weight_norm"]


def norm_except_dim(v, pow=2, dim=0):
    """The ``pow``-norm of ``v`` taken over all dimensions except ``dim``, which is kept (the
    reduced ones stay as size 1, so the result broadcasts against ``v``).

    ``dim=-1`` is the whole-tensor norm, a 0-d result, matching PyTorch's convention.
    """
    if dim == -1:
        return v.norm(pow)
    ndim = v.dim()
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    kept = dim % ndim
    reduced = tuple(axis for axis in range(ndim) if axis != kept)
    # a 1-D tensor has nothing to reduce: each entry's norm is its magnitude
    return v.norm(pow, dim=reduced, keepdim=True) if reduced else v.abs()


def _weight_norm(v, g, dim=0):
    # the grouping g / ||v|| first is PyTorch's, and decides the rounding
    scale = g / norm_except_dim(v, 2, dim)
    return v * scale


def _find_hook(module, name):
    """The key of the WeightNorm pre-hook that manages ``name`` on ``module``, or None."""
    owned = [key for key, hook in module._forward_pre_hooks.items()
             if isinstance(hook, WeightNorm) and hook.name == name]
    return owned[0] if owned else None


class WeightNorm:
    """The forward pre-hook: recomputes ``module.<name>`` from ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        magnitude = getattr(module, f"{self.name}_g")
        direction = getattr(module, f"{self.name}_v")
        return _weight_norm(direction, magnitude, self.dim)

    @staticmethod
    def apply(module, name, dim):
        # PyTorch deprecates this hook-based form for parametrizations.weight_norm
        warnings.warn("`fastnn.nn.utils.weight_norm` is deprecated in favor of "
                      "`fastnn.nn.utils.parametrizations.weight_norm`.",
                      FutureWarning,
                      stacklevel=3)
        if _find_hook(module, name) is not None:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same "
                               f"parameter {name}")
        hook = WeightNorm(name, dim)
        original = getattr(module, name)
        # the parameter goes; its two factors take its place in the parameter list
        module._parameters.pop(name)
        start_norm = norm_except_dim(original, 2, hook.dim).detach()
        module.register_parameter(f"{name}_g", Parameter(start_norm))
        module.register_parameter(f"{name}_v", Parameter(original.detach()))
        setattr(module, name, hook.compute_weight(module))
        module.register_forward_pre_hook(hook)
        return hook

    def remove(self, module):
        """Turn the current weight back into a plain parameter and drop the two factors."""
        final = self.compute_weight(module).detach()
        delattr(module, self.name)
        for suffix in ("_g", "_v"):
            module._parameters.pop(self.name + suffix)
        setattr(module, self.name, Parameter(final))

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
    key = _find_hook(module, name)
    if key is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    module._forward_pre_hooks[key].remove(module)
    del module._forward_pre_hooks[key]
    refresh_module(module)
    return module
