"""``fastnn.cuda``: PyTorch's CUDA API over numba.cuda (optional: ``pip install fastnn[cuda]``).

Nothing here imports numba until a function needs the driver, so ``import fastnn`` stays
quick and works where numba is absent; then ``is_available()`` simply returns False.
"""
import sys as _sys

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize",
           "get_device_name", "get_device_capability", "get_device_properties", "manual_seed",
           "manual_seed_all", "seed", "initial_seed", "get_rng_state", "set_rng_state",
           "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
           "reset_peak_memory_stats", "is_initialized", "init", "device", "is_simulator"]


def _rt():
    from . import _backend as b
    return b


def _numba_cuda():
    """numba.cuda, or None when numba / numba-cuda is not installed."""
    try:
        from numba import cuda
    except ImportError:
        return None
    return cuda


def is_available():
    """True when numba finds a usable NVIDIA GPU (or runs its CUDA simulator)."""
    cuda = _numba_cuda()
    if cuda is None:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install means "not available", as in PyTorch
        return False


def is_simulator():
    """True when kernels run on numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1)."""
    return is_available() and _rt().SIMULATOR


def is_initialized():
    return "fastnn.cuda._backend" in _sys.modules


def init():
    _rt().require()


def is_bf16_supported(including_emulation=True):
    """fastnn has no bfloat16 dtype, so the usual "bf16 if supported else fp16" picks fp16."""
    return False


def device_count():
    if not is_available():
        return 0
    return len(_numba_cuda().gpus)


def current_device():
    _rt().require()
    return 0


def set_device(device):
    from .._dtype import device as _dev
    d = device if isinstance(device, _dev) else (_dev("cuda", device) if isinstance(device, int)
                                                 else _dev(device))
    _rt().require(d)


def synchronize(device=None):
    b = _rt()
    b.require()
    b.synchronize()


def get_device_name(device=None):
    b = _rt()
    b.require()
    if b.SIMULATOR:
        return "numba CUDA simulator"
    name = b.cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device=None):
    b = _rt()
    b.require()
    if b.SIMULATOR:
        return (0, 0)
    return tuple(b.cuda.get_current_device().compute_capability)


class _Properties:
    def __init__(self, name, major, minor, total_memory, multi_processor_count):
        self.name, self.major, self.minor = name, major, minor
        self.total_memory = total_memory
        self.multi_processor_count = multi_processor_count

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // 2 ** 20}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device=None):
    b = _rt()
    b.require()
    major, minor = get_device_capability(device)
    if b.SIMULATOR:
        return _Properties(get_device_name(), major, minor, 0, 1)
    dev = b.cuda.get_current_device()
    total = b.cuda.current_context().get_memory_info()[1]
    return _Properties(get_device_name(), major, minor, int(total),
                       int(getattr(dev, "MULTIPROCESSOR_COUNT", 0)))


def manual_seed(seed):
    """Seed the GPU's random stream (``fastnn.manual_seed`` seeds it too)."""
    _rt().manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    import random
    s = random.getrandbits(63)
    manual_seed(s)
    return s


def initial_seed():
    return _rt().rng.initial


def get_rng_state(device="cuda"):
    from .._creation import from_numpy
    return from_numpy(_rt().get_rng_state())


def set_rng_state(new_state, device="cuda"):
    data = new_state._data if hasattr(new_state, "_data") else new_state
    _rt().set_rng_state(data)


def empty_cache():
    if is_initialized():
        _rt().empty_cache()


def memory_allocated(device=None):
    return _rt().memory_allocated() if is_initialized() else 0


def max_memory_allocated(device=None):
    return _rt().max_memory_allocated() if is_initialized() else 0


def memory_reserved(device=None):
    return _rt().memory_reserved() if is_initialized() else 0


def reset_peak_memory_stats(device=None):
    if is_initialized():
        _rt().reset_peak_memory_stats()


class device:
    """Context manager selecting a GPU; fastnn uses cuda:0 only, so it checks the index."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        if self.device is not None and self.device != -1:
            set_device(self.device)
        return self

    def __exit__(self, *exc):
        return False


def __getattr__(name):
    # fastnn.cuda.amp loads on first use; it needs no numba, but keeps this module's import small
    if name == "amp":
        import importlib  # not "from . import amp": that would ask this hook again
        return importlib.import_module(".amp", __name__)
    raise AttributeError(f"module 'fastnn.cuda' has no attribute '{name}'")
