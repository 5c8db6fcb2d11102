"""The CUDA backend's runtime: numba.cuda access, launch sizes, the buffer pool and the RNG.

Imported only when a tensor goes to a GPU (or ``fastnn.cuda`` needs the driver), so that
``import fastnn`` never pays for numba.  Under ``NUMBA_ENABLE_CUDASIM=1`` numba's simulator runs
every kernel thread in Python; launch sizes then shrink so tests stay quick (the kernels use
grid-stride loops and are correct for any launch size).
"""
import numpy as np

from .. import _dtype as D
from ._errors import INSTALL_HINT as _INSTALL
from ._errors import CudaUnavailableError


def _import_cuda():
    try:
        from numba import cuda
    except ImportError as e:
        raise CudaUnavailableError(
            f"fastnn's CUDA backend needs numba and numba-cuda, which are not installed ({e}). "
            + _INSTALL) from None
    return cuda


cuda = _import_cuda()
_nconfig = getattr(cuda, "config", None)
SIMULATOR = bool(getattr(_nconfig, "ENABLE_CUDASIM", False))
if _nconfig is not None:
    # small launches are normal here (bias vectors, losses): no warning for each one
    _nconfig.CUDA_LOW_OCCUPANCY_WARNINGS = 0


def require(device=None):
    """Raise a clear error unless a GPU (or the simulator) is usable; return the device index."""
    index = 0 if device is None or device.index is None else device.index
    if not _count:
        try:
            ok = cuda.is_available()
        except Exception:  # a broken driver install: report it as "no GPU"
            ok = False
        if not ok:
            raise CudaUnavailableError(
                "Found no NVIDIA driver on your system (numba.cuda sees no usable GPU). Please "
                "check that you have an NVIDIA GPU and installed a driver. " + _INSTALL +
                " To try the CUDA code path without a GPU, set NUMBA_ENABLE_CUDASIM=1 before "
                "fastnn.cuda is first used.")
        if not SIMULATOR:
            _probe_compiler()
        _count.append(len(cuda.gpus))
    if index >= _count[0]:
        raise RuntimeError("CUDA error: invalid device ordinal")
    if index != 0:
        raise NotImplementedError("fastnn's CUDA backend runs on one GPU, cuda:0; "
                                  f"cuda:{index} is not supported")
    return index


_count = []  # the number of GPUs, once the driver has been checked


def _probe_compiler():
    """numba compiles kernels with NVRTC/NVVM, which a driver alone does not provide."""
    def probe(out):
        out[0] = 1
    try:
        cuda.compile_ptx_for_current_device(probe, "void(int64[:])")
    except Exception as e:
        cause = f"{type(e).__name__}: {e}"
        if isinstance(e, (OSError, ImportError)) or any(
                word in cause.lower() for word in ("nvvm", "nvrtc", "cuda_home", "toolkit")):
            raise CudaUnavailableError(
                "numba found the GPU but not the CUDA compiler libraries (NVRTC / NVVM) it "
                "builds kernels with. Install them with `pip install \"numba-cuda[cu12]\"` (or "
                f"[cu13] for a CUDA 13 driver), or install a CUDA toolkit. ({cause})") from None
        # e.g. a numba-cuda older than the installed numpy (numpy 2.5 removed names it uses)
        raise CudaUnavailableError(
            f"numba's CUDA compiler failed on a one-line kernel ({cause}). Its version may not "
            f"support numpy {np.__version__}: install versions that go together, e.g. "
            "`pip install -U numba numba-cuda`, or a numpy release numba-cuda supports.") from None


DEVICE = D.device("cuda", 0)

# ---- launch sizes ---------------------------------------------------------------------
# The simulator starts a Python thread per CUDA thread and each barrier costs milliseconds,
# so there one block of few threads runs each grid-stride loop, and the barrier-based kernels
# (tiled GEMM, tree reduction) are kept for the sizes where they pay (tests force them).
# REG_TILE (threads per side, outputs per thread per side) is the register-blocked GEMM's:
# 16 x 16 threads computing a 64 x 64 tile; it takes products of BLOCKED_TILES such tiles or
# more, enough to fill the GPU once, and the 16 x 16 tile kernel takes the smaller ones.
# Products with fewer than SPLIT_BELOW_TILES 16 x 16 tiles split K into slices of at least
# SPLIT_MIN_K terms, up to about SPLIT_BLOCKS blocks in all.
if SIMULATOR:
    THREADS, MAX_BLOCKS, RED_THREADS, TILE = 2, 1, 4, 4
    SMALL_GEMM, SMALL_REDUCE = 1 << 18, 1 << 12
    REG_TILE, BLOCKED_TILES = (2, 2), 1 << 30
    SPLIT_BELOW_TILES, SPLIT_BLOCKS, SPLIT_MIN_K = 0, 1, 1 << 30
else:
    THREADS, MAX_BLOCKS, RED_THREADS, TILE = 256, 4096, 256, 16
    SMALL_GEMM, SMALL_REDUCE = 1 << 15, 1024
    REG_TILE, BLOCKED_TILES = (16, 4), 128
    SPLIT_BELOW_TILES, SPLIT_BLOCKS, SPLIT_MIN_K = 64, 256, 256


@cuda.jit(device=True)
def unravel(r, shape, strides, base):
    """Offset of flat index r of a strided view: base + sum of its coordinates x strides."""
    for d in range(len(shape) - 1, -1, -1):
        base += (r % shape[d]) * strides[d]
        r //= shape[d]
    return base


def buffer_from(a):
    """a's flat device buffer from a's first element. Slicing a numba device array builds a
    new view object (with a CUDA context check), and numba then types that new object at the
    launch: together more than the rest of a launch costs. So an array that starts its buffer
    passes the buffer itself, and the views at other offsets are kept on the Storage: the
    optimizer arena's gradient slots are written at the same offsets every step."""
    off = a.off
    if off == 0:
        return a.st.dev
    st = a.st
    views = st.views
    if views is None:
        views = st.views = {}
    view = views.get(off)
    if view is None:
        view = st.dev[off:]
        if len(views) < _VIEWS_PER_STORAGE:
            views[off] = view
    return view


_VIEWS_PER_STORAGE = 64  # slicing at many offsets (x[i] in a loop) keeps only the first ones


def grid(n, threads=None):
    """(blocks, threads) covering n work items with a grid-stride loop."""
    t = THREADS if threads is None else threads
    return max(1, min(MAX_BLOCKS, -(-n // t))), t


def red_threads(n):
    """Threads per block for a block reduction over n items: a power of two."""
    if SIMULATOR:
        return RED_THREADS
    t = 32
    while t < n and t < RED_THREADS:
        t *= 2
    return t


# ---- buffers --------------------------------------------------------------------------
class Storage:
    """Owns one flat device buffer; back to the pool when the last array using it dies.

    Freed buffers are reused for the next request of the same dtype and length, as PyTorch's
    caching allocator does: kernels run in stream order, so reuse needs no synchronisation.

    ``_owned`` holds each pooled buffer strongly while its Storage lives. When a Storage dies
    inside a garbage cycle, the collector runs weak-reference callbacks before ``__del__``,
    and numba frees device memory from such a callback; without the outside reference the
    buffer would be freed first and then handed to the pool, dangling.
    """
    __slots__ = ("dev", "key", "views", "__weakref__")

    def __init__(self, dev, key):
        self.dev = dev
        self.key = key
        self.views = None  # offset -> view of dev from there, see buffer_from
        if key is not None:
            _owned[id(self)] = dev

    def __del__(self):
        if self.key is None:  # borrowed from another library: theirs to free
            return
        try:
            _pool_give(self.key, _owned.pop(id(self)))
        except Exception:  # interpreter shutdown: the module may be half torn down
            pass


_owned = {}  # id(Storage) -> its device buffer, see Storage
_pool = {}
_pool_bytes = [0]
_POOL_LIMIT = 1 << 30
_stats = {"allocated": 0, "peak": 0}


def _pool_give(key, dev):
    nbytes = key[1] * np.dtype(key[0]).itemsize
    _stats["allocated"] -= nbytes
    if _pool_bytes[0] + nbytes <= _POOL_LIMIT:
        _pool.setdefault(key, []).append(dev)
        _pool_bytes[0] += nbytes


def alloc(n, dtype):
    """A Storage of n elements of dtype (contents undefined)."""
    dtype = np.dtype(dtype)
    key = (dtype.str, int(n))
    free = _pool.get(key)
    if free:
        dev = free.pop()
        _pool_bytes[0] -= n * dtype.itemsize
    else:
        dev = cuda.device_array(max(int(n), 1), dtype)
    _stats["allocated"] += n * dtype.itemsize
    _stats["peak"] = max(_stats["peak"], _stats["allocated"])
    return Storage(dev, key)


def empty_cache():
    _pool.clear()
    _pool_bytes[0] = 0


def memory_allocated():
    return _stats["allocated"]


def max_memory_allocated():
    return _stats["peak"]


def memory_reserved():
    return _stats["allocated"] + _pool_bytes[0]


def reset_peak_memory_stats():
    _stats["peak"] = _stats["allocated"]


def synchronize():
    cuda.synchronize()
    check_errors()


# ---- device-side checks ---------------------------------------------------------------------
# Kernels that validate data (class targets) record the first bad value in a small device
# array instead of stopping; like PyTorch's device asserts, it is reported at the next call
# that waits for the GPU (a copy to the host, synchronize()).
_err = []
_pending = [False]


def error_flags():
    if not _err:
        _err.append(cuda.to_device(np.zeros(2, np.int64)))
    return _err[0]


def expect_errors():
    _pending[0] = True


def check_errors():
    if not _pending[0]:
        return
    _pending[0] = False
    flags = _err[0].copy_to_host()
    if flags[0]:
        _err[0].copy_to_device(np.zeros(2, np.int64))
        raise RuntimeError("CUDA error: device-side assert triggered: Target "
                           f"{int(flags[1])} is out of bounds.")


# ---- moving data ----------------------------------------------------------------------
def to_device(arr, device):
    """A CudaArray holding ``arr`` (a numpy array, or already a CudaArray)."""
    from ._array import CudaArray, from_host
    require(device)
    if isinstance(arr, CudaArray):
        return arr
    return from_host(np.asarray(arr))


def from_cuda_array(obj):
    """Wrap an object exposing ``__cuda_array_interface__`` (CuPy, numba, ...) without copying."""
    from ._array import CudaArray
    require()
    dev = cuda.as_cuda_array(obj)
    if not dev.is_c_contiguous():  # rare: take a compact copy through the host
        from ._array import from_host
        return from_host(dev.copy_to_host())
    return CudaArray(Storage(dev.reshape(-1), None), 0, tuple(dev.shape), None,
                     np.dtype(dev.dtype))


def from_dlpack(ext):
    if hasattr(ext, "__cuda_array_interface__"):
        return from_cuda_array(ext)
    raise NotImplementedError("fastnn's CUDA backend imports GPU arrays through "
                              "__cuda_array_interface__; this object offers only DLPack")


# ---- random numbers -------------------------------------------------------------------
class _Rng:
    """Counter-based stream: draw k of a call uses counter ``offset + k`` (Philox-style), so
    seeding resets it exactly and no state lives on the device."""

    def __init__(self, seed):
        self.seed(seed)

    def seed(self, seed):
        self.initial = int(seed) & ((1 << 64) - 1)
        self.offset = 0

    def take(self, n):
        off = self.offset
        self.offset += int(n)
        return self.initial, off


def _default_seed():
    from ..random import default_generator
    return default_generator.initial_seed()


rng = _Rng(_default_seed())


def manual_seed(seed):
    rng.seed(seed)


def get_rng_state():
    return np.array([rng.initial, rng.offset], dtype=np.uint64).view(np.uint8).copy()


def set_rng_state(state):
    vals = np.ascontiguousarray(state, dtype=np.uint8).view(np.uint64)
    if vals.size != 2:
        raise RuntimeError(f"Expected a CUDA RNG state of 16 bytes, got {vals.size * 8}")
    rng.initial, rng.offset = int(vals[0]), int(vals[1])

