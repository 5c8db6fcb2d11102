"""``fastnn.amp``: PyTorch's automatic-mixed-precision API for fastnn.

fastnn has no bfloat16 and never lowers precision: an enabled ``autocast`` region runs every op
in its operands' own dtypes (float32 stays float32), so AMP code runs unchanged and its results
are at least as accurate as PyTorch's. ``GradScaler`` runs PyTorch's real dynamic loss-scaling
algorithm. See ``autocast_mode`` and ``grad_scaler`` for the details.
"""
from .autocast_mode import (autocast, is_autocast_enabled, get_autocast_dtype,  # noqa: F401
                            is_autocast_available, is_autocast_cache_enabled, custom_fwd,
                            custom_bwd)
from .grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "GradScaler", "is_autocast_available", "is_autocast_enabled",
           "get_autocast_dtype", "custom_fwd", "custom_bwd"]
