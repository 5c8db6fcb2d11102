"""``fastnn.cpu.amp``: deprecated spellings of ``fastnn.amp.autocast``/``GradScaler`` for CPU
(float16 by default: fastnn has no bfloat16)."""
from ..amp._deprecated import for_device

__all__ = ["autocast", "GradScaler"]

autocast, GradScaler = for_device("cpu", __name__)
