"""fastnn.accelerator: PyTorch's device-agnostic queries, answered by fastnn's CUDA path.

``device = fastnn.accelerator.current_accelerator().type if fastnn.accelerator.is_available()
else "cpu"`` picks CUDA when numba finds a GPU and the CPU otherwise, as in PyTorch.
"""
from . import cuda as _cuda
from ._dtype import device as _device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index",
           "set_device_index", "synchronize"]


def is_available():
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """``device('cuda')`` when fastnn's CUDA path can run here; None otherwise (the CPU is not
    an accelerator). ``check_available`` is accepted for PyTorch's signature: availability is
    always checked."""
    return _device("cuda") if _cuda.is_available() else None


def device_count():
    return _cuda.device_count()


def current_device_index():
    return _cuda.current_device()


def set_device_index(device):
    _cuda.set_device(device)


def synchronize(device=None):
    _cuda.synchronize(device)
