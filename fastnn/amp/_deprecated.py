"""The deprecated per-device spellings ``fastnn.cpu.amp`` / ``fastnn.cuda.amp``: the same
autocast and GradScaler with the device fixed, warning as PyTorch does."""
import warnings

from .._dtype import float16
from . import autocast_mode as _autocast_mode, grad_scaler as _grad_scaler


def _warn(device, name):
    warnings.warn(f"`fastnn.{device}.amp.{name}(args...)` is deprecated. Please use "
                  f"`fastnn.amp.{name}('{device}', args...)` instead.", FutureWarning,
                  stacklevel=3)


def for_device(device, module):
    """(autocast, GradScaler) classes bound to ``device``, named as in ``module``."""

    class autocast(_autocast_mode.autocast):
        def __init__(self, enabled=True, dtype=float16, cache_enabled=True):
            _warn(device, "autocast")
            super().__init__(device, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(_grad_scaler.GradScaler):
        def __init__(self, init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                     growth_interval=2000, enabled=True):
            _warn(device, "GradScaler")
            super().__init__(device, init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval,
                             enabled=enabled)

    for cls in (autocast, GradScaler):
        cls.__module__ = module
        cls.__qualname__ = cls.__name__
        cls.__doc__ = f"``fastnn.amp.{cls.__name__}('{device}', ...)``."
    return autocast, GradScaler


def _warn_custom(name):
    warnings.warn(f"`fastnn.cuda.amp.{name}(args...)` is deprecated. Please use "
                  f"`fastnn.amp.{name}(args..., device_type='cuda')` instead.", FutureWarning,
                  stacklevel=3)


def cuda_custom_fwd(fwd=None, *, cast_inputs=None):
    """``fastnn.cuda.amp.custom_fwd``: ``fastnn.amp.custom_fwd`` for 'cuda', warning."""
    _warn_custom("custom_fwd")
    return _autocast_mode.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def cuda_custom_bwd(bwd):
    """``fastnn.cuda.amp.custom_bwd``: ``fastnn.amp.custom_bwd`` for 'cuda', warning."""
    _warn_custom("custom_bwd")
    return _autocast_mode.custom_bwd(bwd, device_type="cuda")
