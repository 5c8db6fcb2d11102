"""Pruning: zero out entries of a module tensor through a mask applied before every forward.

Pruning ``module.weight`` moves the trained parameter to ``weight_orig``, stores the mask as
the buffer ``weight_mask`` and registers the pruning method as a forward pre-hook that sets
the plain attribute ``weight = weight_orig * weight_mask``. Pruning the same tensor again
combines the methods in a ``PruningContainer``, each new mask acting only on what survived.
"""
import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable

import numpy as np

from ... import _creation
from ...autograd.grad_mode import no_grad
from ...tensor import _wrap
from ..modules._hooks import refresh_module

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured",
           "L1Unstructured", "RandomStructured", "LnStructured", "CustomFromMask", "identity",
           "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
           "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


def _require(ok, message):
    """PyTorch's AssertionError for misuse, raised even under ``python -O``; ``message`` is
    a callable, so the happy path (every forward runs apply_mask) formats nothing."""
    if not ok:
        raise AssertionError(message())


def _host(t):
    return np.asarray(t.detach().numpy())


class BasePruningMethod(ABC):
    """Base of the pruning methods: subclasses define ``compute_mask(t, default_mask)``."""
    _tensor_name = None

    def __call__(self, module, inputs):
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The new mask for ``t``, given the mask ``default_mask`` already in place."""

    def apply_mask(self, module):
        """``<name>_orig * <name>_mask`` of ``module``, differentiable in ``<name>_orig``."""
        _require(self._tensor_name is not None, lambda: f"Module {module} has to be pruned")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``; returns the method."""
        method = _composite_method(cls, module, name, *args, **kwargs)
        orig = getattr(module, name)
        if importance_scores is not None:
            _require(importance_scores.shape == orig.shape,
                     lambda: "importance_scores should have the same shape as parameter "
                             f"{name} of {module}")
        else:
            importance_scores = orig
        first = not isinstance(method, PruningContainer)
        if first:
            # the same Parameter object is kept, only renamed: optimizers holding it still work
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = _creation.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first:
                orig = getattr(module, name + "_orig")
                _drop_attr(module, name)
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times its mask, without touching any module."""
        if importance_scores is not None:
            _require(importance_scores.shape == t.shape,
                     lambda: "importance_scores should have the same shape as tensor t")
        else:
            importance_scores = t
        if default_mask is None:
            default_mask = _creation.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruned values permanent: ``<name>`` becomes a parameter again."""
        _require(self._tensor_name is not None,
                 lambda: f"Module {module} has to be pruned before pruning can be removed")
        name = self._tensor_name
        weight = self.apply_mask(module)
        _drop_attr(module, name)
        orig = module._parameters[name + "_orig"]
        with no_grad():
            orig.copy_(weight)  # in place: the Parameter object (and its optimizer) survive
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _drop_attr(module, name):
    if name in module.__dict__:
        object.__delattr__(module, name)


def _pre_hooks_of(module, name):
    return [(k, h) for k, h in module._forward_pre_hooks.items()
            if isinstance(h, BasePruningMethod) and h._tensor_name == name]


def _composite_method(cls, module, name, *args, **kwargs):
    """The new method, merged with the one already pruning ``name`` into a container."""
    found = _pre_hooks_of(module, name)
    _require(len(found) <= 1, lambda: "Avoid adding multiple pruning hooks to the same tensor "
                                      f"{name} of module {module}. Use a PruningContainer.")
    for key, _ in found:
        del module._forward_pre_hooks[key]
    refresh_module(module)
    method = cls(*args, **kwargs)
    method._tensor_name = name
    if found:
        old = found[0][1]
        if isinstance(old, PruningContainer):
            old.add_pruning_method(method)
            return old
        container = PruningContainer(old)
        container.add_pruning_method(method)
        return container
    return method


class PruningContainer(BasePruningMethod):
    """A sequence of pruning methods applied one after another to the same tensor."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and not isinstance(args[0], Iterable):
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        elif len(args) == 1:
            for method in args[0]:
                if self._tensor_name is None:
                    self._tensor_name = method._tensor_name
                self.add_pruning_method(method)
        else:
            for method in args:
                if self._tensor_name is None:
                    self._tensor_name = method._tensor_name
                self.add_pruning_method(method)

    def add_pruning_method(self, method):
        """Append ``method``, which must prune the same tensor as the container."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found "
                             f"'{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        """The last method's mask, computed only on entries/channels still unpruned."""
        method = self._pruning_methods[-1]
        mask = default_mask.to(dtype=t.dtype).clone()
        kind = getattr(method, "PRUNING_TYPE", None)
        m = _host(default_mask)
        if kind == "unstructured":
            sel = m == 1
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to '
                                     "have the attribute `dim` defined.")
            nd = t.dim()
            dim = method.dim + nd if method.dim < 0 else method.dim
            if dim < 0:
                raise IndexError(f"Index is out of bounds for tensor with dimensions {nd}")
            # channels with any nonzero mask entry are the ones still alive
            alive = m.sum(axis=tuple(d for d in range(nd) if d != dim)) != 0
            sel = tuple(alive if d == dim else slice(None) for d in range(nd))
        elif kind == "global":
            sel = (slice(None),) * t.dim()
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        sub_t = _wrap(np.ascontiguousarray(_host(t)[sel]))
        sub_mask = _wrap(np.ascontiguousarray(m[sel]))
        part = method.compute_mask(sub_t, default_mask=sub_mask)
        out = _host(mask).copy()
        out[sel] = _host(part).astype(out.dtype)
        return _wrap(out)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask is all ones (useful to give a tensor the pruned layout)."""
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


def _check_amount(amount):
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or \
            (not isinstance(amount, numbers.Integral) and not 0.0 <= float(amount) <= 1.0):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a "
                         "non-negative integer")


def _count(amount, size, picker=None):
    """How many of ``size`` entries (or channels) ``amount`` prunes. ``amount=True`` passes
    the checks as the integer 1, but PyTorch hands it on as a bool to the ``picker`` op
    (topk, kthvalue) that selects the entries, which rejects it."""
    if amount is True and picker is not None:
        raise TypeError(f"{picker}(): argument 'k' must be int, not bool")
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters "
                             f"to prune={size}")
        return amount
    return round(amount * size)


def _zero_flat(default_mask, idx):
    mask = _host(default_mask).copy()
    mask.reshape(-1)[idx] = 0
    return _wrap(mask)


class _Unstructured(BasePruningMethod):
    """Prunes the ``amount`` entries (a fraction or a count) of lowest ``_scores(t)``."""
    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _count(self.amount, t.numel(), "topk")
        if k == 0:
            return default_mask.clone()
        return _zero_flat(default_mask, np.argsort(self._scores(t), kind="stable")[:k])


class RandomUnstructured(_Unstructured):
    """Prunes ``amount`` entries (a fraction or a count) chosen uniformly at random."""

    def _scores(self, t):
        return _host(_creation.rand(t.numel()))

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class L1Unstructured(_Unstructured):
    """Prunes the ``amount`` entries of smallest absolute value."""

    def _scores(self, t):
        return np.abs(_host(t)).reshape(-1)

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


def _check_structured(t, dim):
    if t.dim() <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {t.shape} with {t.dim()} dims")
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _channel_mask(t, dim, keep, default_mask):
    """Ones on the kept channels of ``dim`` (a boolean or index array), times default_mask."""
    mask = np.zeros(t.shape, dtype=_host(default_mask).dtype)
    sel = [slice(None)] * t.dim()
    sel[dim] = keep
    mask[tuple(sel)] = 1
    return _wrap(mask * _host(default_mask))


class _Structured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of lowest ``_scores(t)``."""
    PRUNING_TYPE = "structured"
    _PICKER = None  # LnStructured counts the kept channels: a bool amount becomes an int

    def __init__(self, amount, dim=-1):
        _check_amount(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        _check_structured(t, self.dim)
        size = t.shape[self.dim]
        k = _count(self.amount, size, self._PICKER)
        if k == 0:
            return default_mask
        keep = np.ones(size, bool)
        keep[np.argsort(self._scores(t), kind="stable")[:k]] = False
        return _channel_mask(t, self.dim % t.dim(), keep, default_mask)


class RandomStructured(_Structured):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random."""
    _PICKER = "kthvalue"

    def _scores(self, t):
        return _host(_creation.rand(t.shape[self.dim]))

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(_Structured):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm."""

    def __init__(self, amount, n, dim=-1):
        super().__init__(amount, dim)
        self.n = n

    def _scores(self, t):
        dim = self.dim % t.dim()
        return _host(t.norm(p=self.n, dim=tuple(d for d in range(t.dim()) if d != dim)))

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim,
                             importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is zero."""
    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        _require(default_mask.shape == self.mask.shape,
                 lambda: f"mask of shape {tuple(self.mask.shape)} does not match the tensor's "
                         f"{tuple(default_mask.shape)}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


# ---- functional interface ----------------------------------------------------------------
def identity(module, name):
    """Give ``module.<name>`` the pruned layout with an all-ones mask; returns module."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` random entries of ``module.<name>``; returns module."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` smallest in magnitude; returns module."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``; returns module."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of smallest ``n``-norm; returns module."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` is zero; returns module."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune (module, name) pairs together, ranking all their entries as one tensor."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = np.concatenate([
        _host(importance_scores.get((m, n), getattr(m, n))).reshape(-1) for m, n in parameters])
    masks = [getattr(m, n + "_mask", None) for m, n in parameters]
    default = np.concatenate([
        (_host(mk) if mk is not None else np.ones(getattr(m, n).shape, scores.dtype))
        .reshape(-1).astype(scores.dtype) for mk, (m, n) in zip(masks, parameters)])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    container = PruningContainer()
    container._tensor_name = "temp"
    container.add_pruning_method(method)
    final = _host(container.compute_mask(_wrap(scores), _wrap(default)))
    start = 0
    for m, n in parameters:
        p = getattr(m, n)
        size = p.numel()
        mask = _wrap(np.ascontiguousarray(final[start:start + size].reshape(tuple(p.shape))))
        custom_from_mask(m, n, mask=mask.to(dtype=p.dtype))
        start += size


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent and drop its hook; returns module."""
    for key, hook in _pre_hooks_of(module, name):
        hook.remove(module)
        del module._forward_pre_hooks[key]
        refresh_module(module)
        return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning "
                     "can be removed")


def is_pruned(module):
    """Whether ``module`` or any of its submodules carries a pruning hook."""
    return any(isinstance(hook, BasePruningMethod)
               for _, sub in module.named_modules()
               for hook in sub._forward_pre_hooks.values())
