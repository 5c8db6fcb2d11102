"""fastnn.nn.parallel: ``DataParallel`` (a single-device pass-through in fastnn)."""
from .data_parallel import DataParallel

__all__ = ["DataParallel"]
