"""``fastnn.cuda.amp``: deprecated spellings of ``fastnn.amp.autocast``/``GradScaler`` for CUDA.

Importing it never imports numba; only a 'cuda' autocast or GradScaler asks for the GPU.
"""
from ..amp._deprecated import for_device

__all__ = ["autocast", "GradScaler"]

autocast, GradScaler = for_device("cuda", __name__)
