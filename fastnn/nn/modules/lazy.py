"""Lazy modules: layers whose input size is inferred from the first batch they see.

Until the first call their parameters (and running statistics) are
``UninitializedParameter``/``UninitializedBuffer`` placeholders. A forward pre-hook reads
the input's size, materializes the placeholders in place, runs ``reset_parameters()`` and
turns the module into its ordinary class (``LazyLinear`` becomes ``Linear``), so
``type(m) is nn.Linear`` holds afterwards and optimizers built before the call keep
holding the very same Parameter objects.
"""
from ...autograd.grad_mode import no_grad
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from ._hooks import refresh_module
from .conv import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
                   ConvTranspose3d)
from .instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d, BatchNorm3d

__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


def _infer_parameters(module, args, kwargs):
    """The forward pre-hook: materialize from the first input, then drop the hook."""
    with no_grad():
        module.initialize_parameters(*args, **kwargs)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
    # found by value (not through a stored handle) so that copies and pickles work too
    hooks = module._forward_pre_hooks
    for hid in [h for h, fn in hooks.items() if fn is _infer_parameters]:
        del hooks[hid]
        module._forward_pre_hooks_with_kwargs.discard(hid)
    refresh_module(module)
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


class LazyModuleMixin:
    """Mixed in before a layer class; subclasses define ``initialize_parameters(*inputs)``."""
    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_forward_pre_hook(_infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self):
        """Whether any of this module's own parameters or buffers is still a placeholder."""
        return any(is_lazy(t) for reg in (self._parameters, self._buffers)
                   for t in reg.values())

    def initialize_parameters(self, *args, **kwargs):
        """Materialize the placeholders from the first call's inputs."""
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def _lazy_names(self):
        return [(reg, name) for reg in (self._parameters, self._buffers)
                for name, t in reg.items() if is_lazy(t)]

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # placeholders go in as they are: loading them into another lazy module keeps it lazy
        lazy = self._lazy_names()
        super()._save_to_state_dict(destination, prefix, keep_vars)
        for reg, name in lazy:
            if name in reg and (reg is self._parameters or
                                name not in self._non_persistent_buffers_set):
                destination[prefix + name] = reg[name]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        skipped = set()
        for reg, name in self._lazy_names():
            key = prefix + name
            if key not in state_dict:
                continue
            src = state_dict[key]
            if is_lazy(src):
                skipped.add(key)  # both still lazy: nothing to copy
            elif hasattr(src, "shape"):
                with no_grad():
                    reg[name].materialize(src.shape)
        if skipped:
            state_dict = {k: v for k, v in state_dict.items() if k not in skipped}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
        if skipped:
            missing_keys[:] = [k for k in missing_keys if k not in skipped]


# ---- Linear -------------------------------------------------------------------------------
class LazyLinear(LazyModuleMixin, Linear):
    """Linear whose ``in_features`` is the last dimension of the first input."""
    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        super().__init__(0, 0, False, device, dtype)
        self.out_features = out_features
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            self.in_features = self.weight.shape[1]  # loaded from a state dict
            return
        self.in_features = input.shape[-1]
        self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None:
            self.bias.materialize((self.out_features,))
        self.reset_parameters()


# ---- convolutions -------------------------------------------------------------------------
class _LazyConvMixin(LazyModuleMixin):
    """``in_channels`` comes from dim 1 of a batched input (dim 0 of an unbatched one)."""

    def _lazy_init(self, bias, device, dtype):
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _in_channels_of(self, input):
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input "
                               f"to {self._get_name()}, but got input of size: {input.shape}")
        return input.shape[1] if input.dim() == nd + 2 else input.shape[0]

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            w = self.weight.shape
            self.in_channels = w[0] if self._transposed else w[1] * self.groups
            return
        self.in_channels = self._in_channels_of(input)
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        g = self.groups
        lead = (self.in_channels, self.out_channels // g) if self._transposed else \
            (self.out_channels, self.in_channels // g)
        self.weight.materialize(lead + tuple(self.kernel_size))
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()


def _lazy_conv(base):
    """The lazy variant of a (transposed) convolution class."""
    if base._transposed:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                     groups=1, bias=True, dilation=1, padding_mode="zeros", device=None,
                     dtype=None):
            LazyModuleMixin.__init__(self, 0, out_channels, kernel_size, stride, padding,
                                     output_padding, groups, False, dilation, padding_mode,
                                     device, dtype)
            self._lazy_init(bias, device, dtype)
    else:
        def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                     groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
            LazyModuleMixin.__init__(self, 0, out_channels, kernel_size, stride, padding,
                                     dilation, groups, False, padding_mode, device, dtype)
            self._lazy_init(bias, device, dtype)
    name = "Lazy" + base.__name__
    __init__.__qualname__ = name + ".__init__"
    return type(name, (_LazyConvMixin, base), {
        "__init__": __init__, "cls_to_become": base, "__module__": __name__,
        "__doc__": f"{base.__name__} whose ``in_channels`` is inferred from the first input."})


LazyConv1d = _lazy_conv(Conv1d)
LazyConv2d = _lazy_conv(Conv2d)
LazyConv3d = _lazy_conv(Conv3d)
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d)
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d)
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d)


# ---- batch and instance normalization ----------------------------------------------------
class _LazyNormMixin(LazyModuleMixin):
    """``num_features`` comes from the input's channel dimension."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__(0, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        if self.weight is not None:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
        if self.bias is not None:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _feature_dim(self, input):
        return 1

    def initialize_parameters(self, input, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        self.num_features = input.shape[self._feature_dim(input)]
        for reg, name in self._lazy_names():
            reg[name].materialize((self.num_features,))
        self.reset_parameters()


class _LazyInstanceNormMixin(_LazyNormMixin):
    def _feature_dim(self, input):
        return input.dim() - self._no_batch_dim


def _lazy_norm(base, mixin):
    name = "Lazy" + base.__name__
    return type(name, (mixin, base), {
        "cls_to_become": base, "__module__": __name__,
        "__doc__": f"{base.__name__} whose ``num_features`` is inferred from the first input."})


LazyBatchNorm1d = _lazy_norm(BatchNorm1d, _LazyNormMixin)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, _LazyNormMixin)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, _LazyNormMixin)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, _LazyInstanceNormMixin)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, _LazyInstanceNormMixin)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, _LazyInstanceNormMixin)
