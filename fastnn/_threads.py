"""Thread count for fastnn's own kernels and the BLAS they call."""
import os

_fallback = [max(1, int(os.environ.get("OMP_NUM_THREADS", 0) or os.cpu_count() or 1))]


def _core():
    try:
        from . import _core as core
        return core
    except ImportError:
        return None


def set_num_threads(n):
    """Threads used by OpenMP kernels and numpy's BLAS (like ``torch.set_num_threads``)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"Number of threads must be positive, got {n!r}")
    core = _core()
    if core is not None:
        core.set_num_threads(n)
    _fallback[0] = n


def get_num_threads():
    core = _core()
    return core.get_num_threads() if core is not None else _fallback[0]
