"""The few ``torch._C`` entry points that Python code outside PyTorch commonly calls.

fastnn has no C++ core module; these answer as PyTorch's do for a CPU build without JIT
tracing.
"""
from .autograd.grad_mode import is_grad_enabled, set_grad_enabled  # noqa: F401


def _set_grad_enabled(enabled):
    """Turn graph recording on or off now (no context to restore)."""
    set_grad_enabled(enabled)


def _get_tracing_state():
    """None: fastnn never traces (``torch.jit.trace`` runs the function eagerly)."""
    return None
