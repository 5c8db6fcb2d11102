"""``fastnn.cpu``: PyTorch's ``torch.cpu`` helpers; fastnn always has exactly one CPU device."""
from . import amp  # noqa: F401

__all__ = ["is_available", "device_count", "current_device", "synchronize", "set_device",
           "is_initialized", "amp"]


def is_available():
    return True


def device_count():
    return 1


def current_device():
    return "cpu"


def synchronize(device=None):
    """CPU work is already finished when a fastnn call returns, so there is nothing to wait for."""


def set_device(device):
    """There is only one CPU device, so selecting it changes nothing."""


def is_initialized():
    return True
