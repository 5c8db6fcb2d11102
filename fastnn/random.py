"""fastnn's random number generator: one seed governs every random number fastnn draws."""
import contextlib
import weakref

import numpy as np

# PyTorch's default generator starts from a fixed seed too, so runs are repeatable by default
_DEFAULT_SEED = 67280421310721
_live_generators = set()  # weak references to every Generator not yet collected


def live_generators():
    """The Generators that exist now (the default one included)."""
    return [g for g in (ref() for ref in list(_live_generators)) if g is not None]


class Generator:
    """A PCG64 stream; ``manual_seed`` resets it, ``get_state``/``set_state`` snapshot it."""

    def __new__(cls, *args, **kwargs):
        # every generator is listed (weakly), so vmap can watch and replay any of them
        self = super().__new__(cls)
        _live_generators.add(weakref.ref(self, _live_generators.discard))
        return self

    def __init__(self, device="cpu"):
        self.device = _generator_device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        if type(seed) is not int:  # PyTorch's generator takes only a Python int
            if isinstance(seed, np.integer):
                raise TypeError("an integer is required")
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        seed = _seed_bits(seed)
        self._seed = seed
        self.bitgen = np.random.PCG64(seed)
        self.np = np.random.Generator(self.bitgen)
        return self

    def seed(self):
        s = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from ._creation import from_numpy
        st = self.bitgen.state
        words = [st["state"]["state"], st["state"]["inc"]]
        raw = b"".join(w.to_bytes(16, "little") for w in words)
        raw += bytes([st["has_uint32"]]) + int(st["uinteger"]).to_bytes(4, "little")
        raw += self._seed.to_bytes(8, "little")
        return from_numpy(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state):
        if not hasattr(new_state, "_data"):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state._data.dtype != np.uint8:
            raise TypeError(f"expected a torch.ByteTensor, but got {new_state.type()}")
        raw = bytes(np.asarray(new_state._data if hasattr(new_state, "_data") else new_state,
                               np.uint8))
        if len(raw) != 45:
            raise RuntimeError(f"Expected RNG state of 45 bytes, got {len(raw)}")
        st = self.bitgen.state
        st["state"]["state"] = int.from_bytes(raw[0:16], "little")
        st["state"]["inc"] = int.from_bytes(raw[16:32], "little")
        st["has_uint32"] = raw[32]
        st["uinteger"] = int.from_bytes(raw[33:37], "little")
        self.bitgen.state = st
        self._seed = int.from_bytes(raw[37:45], "little")
        return self


def _generator_device(device):
    from ._dtype import device as Device
    if isinstance(device, int) and not isinstance(device, bool):
        device = Device("cuda", device)
    if isinstance(device, str) and device.split(":")[0] == "meta":
        raise RuntimeError("META device type not an accelerator.")
    dev = device if isinstance(device, Device) else Device(device)
    if dev.type == "meta":
        raise RuntimeError("META device type not an accelerator.")
    if dev.type == "cuda":
        from . import cuda
        if not cuda.is_available():
            raise RuntimeError("Cannot get CUDA generator: fastnn found no CUDA device." if
                               not isinstance(device, int) else
                               "Cannot access accelerator device when none is available.")
    return dev


def _seed_bits(seed):
    """A seed as the 64 bits it sets: negative seeds wrap around as in PyTorch; seeds past
    what 64 bits hold are refused."""
    if not -(1 << 63) <= seed < (1 << 64):
        raise ValueError("Overflow when unpacking long long")
    return seed & ((1 << 64) - 1)


default_generator = Generator()


def get_generator(generator=None):
    return default_generator if generator is None else generator


def manual_seed(seed):
    """Seed every random stream fastnn uses (CPU, and the CUDA one once it is in use)."""
    seed = int(seed)
    default_generator.manual_seed(seed)
    import sys
    cuda = sys.modules.get("fastnn.cuda._backend")
    if cuda is not None:
        cuda.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


def _core():
    try:
        from . import _core as core
        return core
    except ImportError:
        return None


def _host_fill(arr, fill):
    if type(arr) is np.ndarray:
        if arr.flags.c_contiguous and arr.dtype.kind == "f" and arr.dtype.itemsize >= 4:
            fill(arr)
            return
        tmp = np.empty(arr.shape, arr.dtype if arr.dtype.kind == "f" and arr.dtype.itemsize >= 4
                       else np.float64)
        fill(tmp)
        arr[...] = tmp
        return
    tmp = np.empty(arr.shape, arr.dtype)
    fill(tmp)
    arr.copy_from_host(tmp)


def fill_uniform(arr, low, high, generator=None):
    """arr[...] = U(low, high) drawn from the generator (Cython kernel for float buffers)."""
    gen = get_generator(generator)
    core = _core()

    def fill(out):
        if core is not None:
            core.uniform_(out, float(low), float(high), gen.bitgen)
        else:
            gen.np.random(out=out, dtype=out.dtype)
            out *= high - low
            out += low
    _host_fill(arr, fill)
    if type(arr) is np.ndarray and arr.dtype.kind == "f" and arr.dtype.itemsize < 4 and \
            low < high:
        # a float64 draw just below ``high`` rounds up to it in float16: keep [low, high)
        top = np.nextafter(arr.dtype.type(high), arr.dtype.type(low))
        np.minimum(arr, top, out=arr)


def fill_normal(arr, mean, std, generator=None):
    gen = get_generator(generator)
    core = _core()

    def fill(out):
        if core is not None:
            core.normal_(out, float(mean), float(std), gen.bitgen)
        else:
            gen.np.standard_normal(out=out, dtype=out.dtype)
            out *= std
            out += mean
    _host_fill(arr, fill)


def draw_uniform(shape, dtype, generator=None):
    out = np.empty(shape, dtype if np.dtype(dtype).kind == "f" else np.float32)
    fill_uniform(out, 0.0, 1.0, generator)
    return out


def draw_normal(shape, dtype, generator=None):
    out = np.empty(shape, dtype)
    fill_normal(out, 0.0, 1.0, generator)
    return out


def _initialized_cuda():
    """fastnn.cuda when its random stream is in use (forking it otherwise would start it)."""
    import sys
    if sys.modules.get("fastnn.cuda._backend") is None:
        return None
    from . import cuda
    return cuda if cuda.is_initialized() else None


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Random draws inside the ``with`` block leave the random streams as they were before
    it: the CPU generator always, the GPU one too when it is in use and ``devices`` is not
    empty."""
    if not enabled or device_type == "meta":
        yield
        return
    cuda = _initialized_cuda() if device_type == "cuda" else None
    if cuda is not None and devices is not None and not list(devices):
        cuda = None
    cpu_state = default_generator.get_state()
    gpu_state = cuda.get_rng_state() if cuda is not None else None
    try:
        yield
    finally:
        default_generator.set_state(cpu_state)
        if cuda is not None:
            cuda.set_rng_state(gpu_state)
