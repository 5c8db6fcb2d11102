"""``fastnn.cuda.amp``: deprecated spellings of ``fastnn.amp.autocast``/``GradScaler`` for CUDA.

Importing it never imports numba; only a 'cuda' autocast or GradScaler asks for the GPU.
"""
from ..amp._deprecated import for_device, cuda_custom_fwd, cuda_custom_bwd

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd"]

autocast, GradScaler = for_device("cuda", __name__)
custom_fwd, custom_bwd = cuda_custom_fwd, cuda_custom_bwd
for _fn, _name in ((custom_fwd, "custom_fwd"), (custom_bwd, "custom_bwd")):
    _fn.__name__ = _fn.__qualname__ = _name
    _fn.__module__ = __name__
