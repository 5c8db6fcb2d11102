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


def own_gemm_expected():
    """Whether fastnn's own AVX-512 gemm will be its BLAS choice (read before fastnn._core
    loads; the kernel itself checks the CPU again)."""
    if os.environ.get("FASTNN_BLAS", "").strip().lower() in ("numpy", "openblas"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return "avx512f" in line.split()
    except OSError:
        pass
    return False


def choose_wait_policy():
    """Ask for the OpenMP wait policy that suits the BLAS; True when the threads will spin.

    Call before fastnn._core loads the runtime. With numpy's BLAS (its own pthreads) fastnn
    asks for OMP_WAIT_POLICY=PASSIVE: OpenMP threads spinning after a loop take the cores
    those BLAS threads need next. With MKL, or fastnn's own AVX-512 gemm, the products run
    on the runtime's own threads, so the policy stays the runtime's default (a short spin,
    then sleep): sleeping at once made each of the many products of a step wake its threads
    again, and the MNIST-sized step and the LSTM took 10-14 % longer.
    """
    if spinning_openmp_runtime():
        return True
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return False  # the user chose; respect it
    from . import _blas_mkl
    if (_blas_mkl.wanted() and _blas_mkl.candidates()) or own_gemm_expected():
        return True
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return False


# With MKL (or fastnn's own gemm) as the BLAS its threads are the OpenMP runtime's own,
# already awake after each product, so parallel loops pay from 64 KB of float32: the
# MNIST-sized MLP step took 10 % less, the tiny one 9-25 % less, than with the default
# bound of 1M elements.
MKL_PARALLEL_MIN = 1 << 14


def adapt_to_openmp_runtime(spinning):
    """Set how large a loop must be to run in parallel, given the BLAS and the runtime.

    With MKL or fastnn's own gemm nothing spins against the loops (their threads are the
    runtime's), so they start at MKL_PARALLEL_MIN. With another BLAS and a spinning runtime
    they keep to very large arrays.
    """
    core = _core()
    if core is None:
        return
    if core._blas_info()["name"] in ("mkl", "fastnn"):
        core._set_parallel_min(MKL_PARALLEL_MIN)
    elif spinning:
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
