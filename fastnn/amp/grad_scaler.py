"""``fastnn.amp.GradScaler``: PyTorch's dynamic loss scaling, step for step.

Loss scaling stays meaningful in float32 (it guards against underflowing gradients and skips
steps whose gradients overflowed), so the real algorithm runs: the scale is a float32 value
updated with PyTorch's rules, gradients are unscaled in place by the float32 reciprocal of the
scale, and inf/nan gradients make ``step`` skip the optimizer and ``update`` back the scale off.
A scaler made for device 'cuda' where ``fastnn.cuda`` has no GPU warns and disables itself.
"""
import warnings
from collections import abc

import numpy as np

from .._dtype import float16
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

__all__ = ["GradScaler"]

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _fresh_state():
    return {"stage": _READY, "found_inf": None}


def _unscale_grad(grad, inv_scale):
    """Multiply ``grad`` in place by ``inv_scale``; True when it held an inf or nan."""
    data = getattr(grad, "_data", None)
    if isinstance(data, np.ndarray):
        bad = not np.isfinite(data).all()
    else:  # a GPU tensor: let fastnn's own ops reduce it on the device
        bad = not bool(grad.isfinite().all())
    grad.mul_(inv_scale)
    return bad


class GradScaler:
    """Scale losses, unscale gradients, skip overflowing steps and adapt the scale."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = enabled
        if enabled and device == "cuda":
            from .. import cuda  # deferred: it imports numba
            if not cuda.is_available():
                warnings.warn("fastnn.cuda.amp.GradScaler is enabled, but CUDA is not available."
                              "  Disabling.", stacklevel=2)
                self._enabled = False
        if self._enabled:
            # raised explicitly rather than asserted, so the checks survive ``python -O``
            if not growth_factor > 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if not backoff_factor < 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
        self._init_scale = init_scale
        self._scale = None  # float32, made by the first scale() call
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._init_growth_tracker = 0
        self._growth_tracker = None
        self._per_optimizer_states = {}

    def _lazy_init(self):
        if self._scale is None:
            self._scale = np.float32(self._init_scale)
            self._growth_tracker = int(self._init_growth_tracker)

    def _require_scale(self, funcname):
        if self._scale is None:
            raise AssertionError(
                f"Attempted {funcname} but _scale is None.  This may indicate your script did "
                "not use scaler.scale(loss or outputs) earlier in the iteration.")

    def _state_of(self, optimizer):
        return self._per_optimizer_states.setdefault(id(optimizer), _fresh_state())

    def scale(self, outputs):
        """``outputs`` (a tensor or nested lists/tuples/iterables of them) times the scale."""
        if not self._enabled:
            return outputs
        self._lazy_init()
        factor = float(self._scale)

        def apply(value):
            if isinstance(value, Tensor):
                return value * factor
            if isinstance(value, abc.Iterable):
                scaled = map(apply, value)
                return type(value)(scaled) if isinstance(value, (list, tuple)) else scaled
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")

        return apply(outputs)

    def unscale_(self, optimizer):
        """Divide ``optimizer``'s gradients by the scale and note whether any is inf/nan."""
        if not self._enabled:
            return
        self._require_scale("unscale_")
        state = self._state_of(optimizer)
        if state["stage"] is _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] is _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        # reciprocal taken in double, then rounded to float32: the value every grad is scaled by
        inv_scale = float(np.float32(1.0 / np.float64(self._scale)))
        found_inf = False
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    grad = param.grad
                    if grad is None:
                        continue
                    if grad.dtype is float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    found_inf |= _unscale_grad(grad, inv_scale)
        state["found_inf"] = found_inf
        state["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """Unscale if needed, then ``optimizer.step()`` unless a gradient was inf/nan."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._require_scale("step")
        state = self._state_of(optimizer)
        if state["stage"] is _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """Back off the scale after an overflow, grow it after enough clean steps."""
        if not self._enabled:
            return
        self._require_scale("update")
        if new_scale is not None:
            self._scale = np.float32(self._scale_value(new_scale))
        else:
            found = [s["found_inf"] for s in self._per_optimizer_states.values()
                     if s["found_inf"] is not None]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            self._advance(any(found))
        self._per_optimizer_states = {}

    @staticmethod
    def _scale_value(new_scale):
        if isinstance(new_scale, (float, int)) and not isinstance(new_scale, bool):
            return float(new_scale)
        if (isinstance(new_scale, Tensor) and new_scale.numel() == 1
                and not new_scale.requires_grad):
            return float(new_scale.item())
        raise AssertionError("new_scale should be a float or a 1-element fastnn.FloatTensor "
                             "with requires_grad=False.")

    def _advance(self, found_inf):
        # factors are doubles applied to the float32 scale, the product rounded back to float32
        if found_inf:
            self._scale = np.float32(float(self._scale) * self._backoff_factor)
            self._growth_tracker = 0
            return
        successful = self._growth_tracker + 1
        if successful == self._growth_interval:
            with np.errstate(over="ignore"):
                grown = np.float32(float(self._scale) * self._growth_factor)
            if np.isfinite(grown):  # a scale that would overflow is simply not grown
                self._scale = grown
            successful = 0
        self._growth_tracker = successful

    def get_scale(self):
        if not self._enabled:
            return 1.0
        return float(self._init_scale) if self._scale is None else float(self._scale)

    def get_growth_factor(self):
        return self._growth_factor

    def set_growth_factor(self, new_factor):
        self._growth_factor = new_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def set_backoff_factor(self, new_factor):
        self._backoff_factor = new_factor

    def get_growth_interval(self):
        return self._growth_interval

    def set_growth_interval(self, new_interval):
        self._growth_interval = new_interval

    def _get_growth_tracker(self):
        if not self._enabled:
            return 0
        return self._init_growth_tracker if self._growth_tracker is None else self._growth_tracker

    def is_enabled(self):
        return self._enabled

    def state_dict(self):
        """PyTorch's keys; empty for a disabled scaler."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._get_growth_tracker()}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale = np.float32(self._init_scale)
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker = self._init_growth_tracker

    def __getstate__(self):
        # per-optimizer states are keyed by id(), meaningless in another process
        if self._enabled and self._per_optimizer_states:
            raise AssertionError("A GradScaler instance may only be pickled at the beginning of "
                                 "an iteration, or at the end after scaler.update().")
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)
