"""fastnn.nn.attention: choosing the scaled-dot-product-attention kernel.

fastnn has a single attention kernel on the CPU. ``sdpa_kernel`` records which backends the
caller allows; :func:`fastnn.nn.functional.scaled_dot_product_attention` runs its one kernel
while ``MATH`` or ``FLASH_ATTENTION`` is allowed (the two kernels PyTorch has on the CPU)
and raises RuntimeError when neither is, so results never depend on the choice.
"""
import contextlib
import enum

from ...backends import _sdp

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

# PyTorch prints why a fused kernel was skipped when this is set; fastnn has none to skip
WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.Enum):
    """The attention kernels a caller may allow; on the CPU all run fastnn's one kernel."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __int__(self):
        return self.value

    __index__ = __int__

    def __str__(self):
        return f"SDPBackend.{self.name}"


# which switch in backends._sdp.flags each backend turns on
_FLAG_OF = {SDPBackend.MATH: "math", SDPBackend.FLASH_ATTENTION: "flash",
            SDPBackend.EFFICIENT_ATTENTION: "mem_efficient",
            SDPBackend.CUDNN_ATTENTION: "cudnn", SDPBackend.OVERRIDEABLE: "overrideable"}
_DEFAULT_PRIORITY = (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
                     SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH, SDPBackend.OVERRIDEABLE)


def _allow_only(backends, set_priority):
    for backend, attr in _FLAG_OF.items():
        setattr(_sdp.flags, attr, backend in backends)
    if set_priority:
        rest = [b for b in _DEFAULT_PRIORITY if b not in backends]
        _sdp.flags.priority = tuple(b for b in backends if b in _FLAG_OF) + tuple(rest)


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Allow only ``backends`` (one SDPBackend or a list) inside the ``with`` block.

    The previous switches come back on exit. ``set_priority`` records the list's order as
    the preference order; fastnn has one kernel, so the order changes no result.
    """
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of "
                             f"SDPBackend instances, got {type(backends).__name__}")
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    saved = _sdp.snapshot()
    try:
        _allow_only(backends, set_priority)
        yield {}
    finally:
        _sdp.restore(saved)
