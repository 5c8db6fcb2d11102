"""``nn.modules.batchnorm``, where PyTorch code looks for the batch-norm base classes
(``isinstance(m, nn.modules.batchnorm._BatchNorm)``); the layers live in normalization.py."""
from .normalization import _BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d  # noqa: F401

# fastnn keeps the shared state (affine parameters, running statistics) in _BatchNorm itself
_NormBase = _BatchNorm

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"]
