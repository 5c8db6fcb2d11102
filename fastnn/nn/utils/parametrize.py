"""Parametrizations: a module tensor recomputed from trainable originals on every read.

``register_parametrization(module, "weight", p)`` moves ``module.weight`` into
``module.parametrizations.weight.original`` and gives the module a fresh subclass of its own
class with a ``weight`` property that returns ``p(original)``. Because the property is a data
descriptor on the class, fastnn's registries never mirror a stale ``weight`` onto the
instance, and ``self.weight`` inside ``forward`` keeps working unchanged.
"""
import copy
from collections.abc import Sequence
from contextlib import contextmanager

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

_cache_depth = 0
_cache = {}


@contextmanager
def cached():
    """Within this context each parametrized tensor is computed once and then reused."""
    global _cache_depth
    _cache_depth += 1
    try:
        yield
    finally:
        _cache_depth -= 1
        if not _cache_depth:
            _cache.clear()


def _set_values(dst, src):
    """Give ``dst`` the values of ``src`` while keeping ``dst`` the same tensor object.

    A same-shape, same-dtype copy stays in place, so optimizers (and their packed arenas)
    holding ``dst`` keep training it; otherwise ``dst`` is rebound to ``src``'s array.
    """
    with no_grad():
        if src is dst:
            return
        if src.shape == dst.shape and src.dtype == dst.dtype:
            dst.copy_(src)
        else:
            dst._data = src.detach()._data
            dst._vc[0] += 1


def _register_tensor(module, name, tensor):
    if isinstance(tensor, Parameter):
        module.register_parameter(name, tensor)
    else:
        module.register_buffer(name, tensor)


class ParametrizationList(ModuleList):
    """The chain of parametrizations of one tensor, holding its ``original`` tensor(s)."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        # the checks below compare with the tensor as it was, before right_inverse rewrites it
        before = _Like(original.shape, original.dtype)
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, Sequence)) or isinstance(new, str):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                             f"(list, tuple...). Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original.dtype:
                raise ValueError("When `right_inverse` outputs one tensor, it may not change "
                                 f"the dtype.\noriginal.dtype: {original.dtype}\n"
                                 f"right_inverse(original).dtype: {new.dtype}")
            # the user's tensor object itself becomes `original`: optimizers holding it stay valid
            _set_values(original, new)
            _register_tensor(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of "
                                     f"tensors (list, tuple...). Got element {i} of the "
                                     f"sequence with type {type(part).__name__}.")
                part = part.detach()
                if isinstance(original, Parameter):
                    part = Parameter(part.clone(), original.requires_grad)
                _register_tensor(self, f"original{i}", part)
        if not self.unsafe:
            value = self()
            _check_output(value, before, "unparametrized", "parametrized")

    def right_inverse(self, value):
        """Store ``value`` by running it back through the chain's ``right_inverse`` methods."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not "
                                       "implement right_inverse.")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got "
                                     f"{type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype "
                                     f"{value.dtype} while `original` has dtype "
                                     f"{self.original.dtype}")
                _set_values(self.original, value)
                return
            if not isinstance(value, Sequence):
                raise ValueError("'right_inverse' must return a sequence of tensors. Got "
                                 f"{type(value).__name__}.")
            if len(value) != self.ntensors:
                raise ValueError("'right_inverse' must return a sequence of tensors of length "
                                 f"{self.ntensors}. Got a sequence of length {len(value)}.")
            for i, part in enumerate(value):
                dst = getattr(self, f"original{i}")
                if not isinstance(part, Tensor):
                    raise ValueError(f"`right_inverse` must return a sequence of tensors. "
                                     f"Got element {i} of type {type(part).__name__}")
                if part.dtype != dst.dtype:
                    raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype "
                                     f"{part.dtype} while `original{i}` has dtype {dst.dtype}")
                _set_values(dst, part)

    def forward(self):
        chain = iter(self)
        first = next(chain)
        if self.is_tensor:
            x = first(self.original)
        else:
            x = first(*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in chain:
            x = module(x)
        return x


class _Like:
    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, dtype


def _check_output(value, before, old, new):
    if not isinstance(value, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(value).__name__}.")
    if value.dtype != before.dtype:
        raise ValueError("Registering a parametrization may not change the dtype of the tensor, "
                         f"unless `unsafe` flag is enabled.\n{old} dtype: {before.dtype}\n"
                         f"{new} dtype: {value.dtype}")
    if value.shape != before.shape:
        raise ValueError("Registering a parametrization may not change the shape of the tensor, "
                         f"unless `unsafe` flag is enabled.\n{old} shape: {before.shape}\n"
                         f"{new} shape: {value.shape}")


# ---- the per-instance subclass --------------------------------------------------------
def _no_pickle(self):
    raise RuntimeError("Serialization of parametrized modules is only supported through "
                       "state_dict(). See:\nhttps://pytorch.org/tutorials/beginner/"
                       "saving_loading_models.html#saving-loading-a-general-checkpoint-for-"
                       "inference-and-or-resuming-training")


def _deepcopy(self, memo):
    hit = memo.get(id(self))
    if hit is not None:
        return hit
    # the copy gets a class of its own: removing a parametrization from one of the two
    # modules must not take the property away from the other
    base = type_before_parametrizations(self)
    replica = object.__new__(_new_class(base))
    for name in _property_names(type(self)):
        _add_property(type(replica), name)
    memo[id(self)] = replica
    replica.__setstate__(copy.deepcopy(Module.__getstate__(self), memo))
    return replica


def _new_class(base):
    return type(f"Parametrized{base.__name__}", (base,), {
        "__getstate__": _no_pickle, "__deepcopy__": _deepcopy,
        "_fastnn_parametrized_base": base, "__module__": __name__})


def _property_names(cls):
    return [k for k, v in vars(cls).items() if isinstance(v, property)]


def _add_property(cls, name):
    def get(self):
        plist = self.parametrizations[name]
        if not _cache_depth:
            return plist()
        key = (id(self), name)
        value = _cache.get(key)
        if value is None:
            value = _cache[key] = plist()
        return value

    def set_(self, value):
        self.parametrizations[name].right_inverse(value)

    setattr(cls, name, property(get, set_))


def _is_injected(module):
    return "_fastnn_parametrized_base" in vars(type(module))


def type_before_parametrizations(module):
    """The module's class as it was before any parametrization was registered."""
    cls = type(module)
    return cls._fastnn_parametrized_base if _is_injected(module) else cls


# ---- public API ----------------------------------------------------------------------
def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` equal to ``parametrization(original)``; returns module.

    A second registration on the same tensor chains: the new parametrization is applied to
    the output of the earlier ones. ``unsafe=True`` skips the shape and dtype checks.
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            _check_appended(module, tensor_name, parametrization)
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    original = getattr(module, tensor_name)
    if original is None:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    # drop the registry entry first, so its mirrored instance attribute goes with it
    delattr(module, tensor_name)
    if not is_parametrized(module):
        module.__class__ = _new_class(type(module))
        module.parametrizations = ModuleDict()
    _add_property(type(module), tensor_name)
    module.parametrizations[tensor_name] = plist
    return module


def _check_appended(module, name, parametrization):
    y = getattr(module, name)
    x = parametrization(y)
    if not isinstance(x, Tensor):
        raise ValueError(f"A parametrization must return a tensor. Got {type(x).__name__}.")
    for what in ("dtype", "shape"):
        if getattr(x, what) != getattr(y, what):
            raise ValueError(f"Registering a parametrization may not change the {what} of the "
                             "tensor, unless the `unsafe` flag is enabled.\n"
                             f"module.{name}.{what}: {getattr(y, what)}\n"
                             f"parametrization(module.{name}).{what}: {getattr(x, what)}")
    if not hasattr(parametrization, "right_inverse"):
        return
    try:
        z = parametrization.right_inverse(x)
    except NotImplementedError:
        return
    if not isinstance(z, Tensor):
        raise ValueError("parametrization.right_inverse must return a tensor. Got: "
                         f"{type(z).__name__}")
    for what in ("dtype", "shape"):
        if getattr(z, what) != getattr(y, what):
            raise ValueError(f"The tensor returned by parametrization.right_inverse must have "
                             f"the same {what} as module.{name}, unless the `unsafe` flag is "
                             f"enabled.\nmodule.{name}.{what}: {getattr(y, what)}\n"
                             f"returned {what}: {getattr(z, what)}")


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` has any parametrization, or one on ``tensor_name`` if given."""
    plists = getattr(module, "parametrizations", None)
    if plists is None or not isinstance(plists, ModuleDict):
        return False
    if tensor_name is None:
        return len(plists) > 0
    return tensor_name in plists


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Turn ``module.<tensor_name>`` back into a plain parameter or buffer; returns module.

    With ``leave_parametrized`` it keeps the current parametrized value, otherwise the
    stored ``original``.
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                value = getattr(module, tensor_name)
            _set_values(original, value)
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        with no_grad():
            value = getattr(module, tensor_name).detach()
        if isinstance(plist.original0, Parameter):
            original = Parameter(value, plist.original0.requires_grad)
        else:
            original = value
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    _register_tensor(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type_before_parametrizations(module)
    return module


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Copy the parametrizations (and their originals' values) of ``from_module`` onto
    ``to_module``, all of them or only those of ``tensor_name``; returns ``to_module``."""
    if not is_parametrized(from_module):
        raise ValueError("from_module must be parametrized")
    names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
    for name in names:
        src = from_module.parametrizations[name]
        if not is_parametrized(to_module, name):
            if not hasattr(to_module, name):
                to_module.register_parameter(name, Parameter(getattr(from_module, name)
                                                             .detach().clone()))
            for p in src:
                register_parametrization(to_module, name, p, unsafe=src.unsafe)
        dst = to_module.parametrizations[name]
        keys = ["original"] if src.is_tensor else [f"original{i}" for i in range(src.ntensors)]
        with no_grad():
            for key in keys:
                _set_values(getattr(dst, key), getattr(src, key))
    return to_module
