"""``fastnn.autocast``: PyTorch's autocast regions, without any precision lowering.

fastnn has no bfloat16 and never lowers precision: inside an enabled region every op runs in
its operands' own dtypes (float32 stays float32, nothing is cast), so results are at least as
accurate as PyTorch's mixed-precision ones and AMP code runs unchanged. A region still checks
its arguments as PyTorch does, reports itself through ``is_autocast_enabled`` and
``get_autocast_dtype``, nests, and works as a decorator (generator functions included).

Argument rules (PyTorch's): ``device_type`` must be a ``str`` naming 'cpu' or 'cuda' (an index
such as 'cuda:0' is allowed); CPU regions accept float16 only (PyTorch's other CPU dtype,
bfloat16, does not exist in fastnn, so float16 is also CPU's default); any other CPU dtype warns
and disables the region. A 'cuda' region warns and disables itself when ``fastnn.cuda`` has no
GPU, and accepts any floating dtype otherwise. ``cache_enabled`` is recorded but has no effect
since there are no casts to cache.
"""
import collections.abc
import functools
import threading
import warnings

import numpy as np

from .._dtype import dtype as _dtype, device as _device, float16, float64
from ..autograd.grad_mode import _decorate

__all__ = ["autocast", "is_autocast_enabled", "get_autocast_dtype", "is_autocast_available",
           "is_autocast_cache_enabled", "custom_fwd", "custom_bwd"]

_DEFAULT_DTYPE = {"cpu": float16, "cuda": float16}


class _State(threading.local):
    """Per-thread region state, one entry per device type, as in PyTorch."""

    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache_enabled = True


_state = _State()


def _device_type(device_type):
    """'cpu' or 'cuda' from a device string; anything else raises fastnn.device's error."""
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    return _device(device_type).type


def _cuda_available():
    from .. import cuda  # imports numba only now, when a cuda region is asked for
    return cuda.is_available()


def is_autocast_enabled(device_type=None):
    """Whether an enabled autocast region for ``device_type`` (default 'cuda') is active."""
    return _state.enabled[_device_type("cuda" if device_type is None else device_type)]


def get_autocast_dtype(device_type):
    """The dtype the innermost autocast region for ``device_type`` was given."""
    return _state.dtype[_device_type(device_type)]


def is_autocast_available(device_type):
    """True for 'cpu' and 'cuda', the device types fastnn's autocast knows."""
    return _device_type(device_type) in _DEFAULT_DTYPE


def is_autocast_cache_enabled():
    return _state.cache_enabled


class autocast:
    """Context manager / decorator marking an autocast region; tensors keep their dtypes."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        self.device = _device_type(device_type)
        self.fast_dtype = _DEFAULT_DTYPE[self.device] if dtype is None else dtype
        if not isinstance(self.fast_dtype, _dtype):
            raise TypeError(f"autocast dtype must be a fastnn.dtype, got {type(dtype).__name__}")
        self._cache_enabled = (_state.cache_enabled if cache_enabled is None
                               else bool(cache_enabled))
        self._enabled = bool(enabled)
        if self._enabled:
            self._enabled = self._check_supported()
        self._saved = []  # a stack, so one instance may be entered again while active

    def _check_supported(self):
        if self.device == "cpu":
            if self.fast_dtype is not float16:
                warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling "
                              "autocast.\nCPU Autocast only supports dtypes of fastnn.float16 "
                              "currently.", stacklevel=4)
                return False
            return True
        if not _cuda_available():
            warnings.warn("CUDA is not available. Disabling autocast.", stacklevel=4)
            return False
        if not self.fast_dtype.is_floating_point:
            warnings.warn("In CUDA autocast, but the target dtype is not supported. Disabling "
                          "autocast.\nCUDA Autocast only supports floating dtypes.", stacklevel=4)
            return False
        return True

    def __enter__(self):
        dev = self.device
        self._saved.append((_state.enabled[dev], _state.dtype[dev], _state.cache_enabled))
        _state.enabled[dev] = self._enabled
        _state.dtype[dev] = self.fast_dtype  # set even when disabled, as PyTorch does
        _state.cache_enabled = self._cache_enabled
        return self

    def __exit__(self, *exc):
        dev = self.device
        _state.enabled[dev], _state.dtype[dev], _state.cache_enabled = self._saved.pop()
        return False

    def _clone(self):
        # a copy without re-running __init__, so decorated calls do not repeat its warnings
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._saved = []
        return twin

    def __call__(self, fn):
        return _decorate(self._clone, fn)

    def __repr__(self):
        return (f"{type(self).__module__}.{type(self).__qualname__}(device_type="
                f"'{self.device}', dtype={self.fast_dtype}, enabled={self._enabled})")


def _check_device_type_str(device_type):
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")


def _cast(value, device_type, dtype):
    """``value`` with its floating tensors of ``device_type`` (float64 excepted) cast to
    ``dtype``, looking inside mappings and iterables; everything else passes through."""
    from ..tensor import Tensor
    if isinstance(value, Tensor):
        eligible = (value.is_floating_point() and value.device.type == device_type
                    and value.dtype is not float64)
        return value.to(dtype) if eligible else value
    if isinstance(value, (str, bytes, np.ndarray)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype)
                for k, v in value.items()}
    if isinstance(value, collections.abc.Iterable):
        cast_items = (_cast(v, device_type, dtype) for v in value)
        return type(value)(cast_items) if isinstance(value, (list, tuple)) else cast_items
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for the ``forward`` of a custom ``autograd.Function``.

    It records the autocast state of ``device_type`` on ``ctx`` for ``custom_bwd``. With
    ``cast_inputs`` set and autocast enabled for ``device_type``, the floating tensor inputs
    are cast to ``cast_inputs`` and ``forward`` runs with autocast disabled; outside an
    enabled region it changes nothing.
    """
    _check_device_type_str(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if not is_autocast_enabled(device_type):
            return fwd(*args, **kwargs)
        with autocast(device_type=device_type, enabled=False):
            return fwd(*_cast(args, device_type, cast_inputs),
                       **_cast(kwargs, device_type, cast_inputs))

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for the ``backward`` of a custom ``autograd.Function``: it runs with the
    autocast state (enabled flag and dtype) that ``custom_fwd`` saw in ``forward``."""
    _check_device_type_str(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type=device_type, enabled=ctx._fwd_used_autocast,
                      dtype=ctx._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
