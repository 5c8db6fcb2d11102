"""Thread count for fastnn's own kernels and the BLAS they call."""
import os

_fallback = [max(1, int(os.environ.get("OMP_NUM_THREADS", 0) or os.cpu_count() or 1))]


def _core():
    try:
        from . import _core as core
        return core
    except ImportError:
        return None


# Parallel loops over fewer elements than this stay serial when the OpenMP runtime spins
# (see spinning_openmp_runtime): 64 MB of float32, where a second core's saving outweighs
# the oversubscription its spin costs the next BLAS call.
SPINNING_PARALLEL_MIN = 1 << 24


def spinning_openmp_runtime():
    """True when an OpenMP runtime was loaded before fastnn with no wait policy chosen.

    fastnn asks for OMP_WAIT_POLICY=PASSIVE, but the runtime reads it once, when it loads:
    if another library (PyTorch, for one) loaded the same libgomp first, fastnn's parallel
    loops share that runtime's threads, which keep spinning after each loop and take the
    cores from the BLAS threads that run next. On 2 cores that made a large MLP step about
    15 % slower. Call before fastnn._core loads.
    """
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return False  # the user chose; respect it
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return False
    return any(name in maps for name in ("/libgomp", "/libomp", "/libiomp"))


def adapt_to_openmp_runtime(spinning):
    """Keep parallel loops to very large arrays when the shared runtime spins.

    Not with MKL as the BLAS: its threads are that same runtime's, so nothing is left
    spinning against them (the large MLP step was 5 % faster with the loops parallel).
    """
    core = _core()
    if spinning and core is not None and core._blas_info()["name"] != "mkl":
        core._set_parallel_min(SPINNING_PARALLEL_MIN)


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
