"""fastnn: a PyTorch-compatible neural-network library for the CPU, with a Cython core.

``import fastnn as torch`` runs classic PyTorch teaching code unchanged.
"""
import importlib as _importlib

from . import _memory  # noqa: F401  (keeps freed memory for the next step; see _memory)
from . import _threads
# before the OpenMP runtime loads (with fastnn._core): see _threads.choose_wait_policy
_omp_spins = _threads.choose_wait_policy()
import warnings as _warnings

# PyTorch returns nan/inf quietly (log(-1), 0/0): ops switch numpy's floating-point warnings
# off while they run (_fp_quiet); this filter catches the rest when the filters are not reset.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"fastnn\.")

from ._version import __version__
from ._dtype import (dtype, device, Size, float32, float64, float16, int64, int32, int16,  # noqa
                     int8, uint8, bool_ as bool, get_default_dtype, set_default_dtype)
from ._dtype import uint16, uint32, uint64  # noqa
from ._dtype import promote_types as _promote_types
from ._dtype import finfo, iinfo  # noqa
from ._dtype import layout, strided, sparse_coo  # noqa
from .tensor import Tensor
from ._creation import (tensor, as_tensor, asarray, from_numpy, zeros, ones, empty, full,  # noqa
                        zeros_like, ones_like, empty_like, full_like, rand_like, randn_like,
                        randint_like, arange, linspace, logspace, eye, rand, randn, randint,
                        randperm, normal, bernoulli, multinomial, FloatTensor, DoubleTensor,
                        HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor,
                        BoolTensor)
from ._creation import set_default_device, get_default_device, scalar_tensor, empty_strided  # noqa
from ._creation_legacy import range, set_default_tensor_type, unsafe_chunk, unsafe_split  # noqa
from ._windows import (hann_window, hamming_window, blackman_window, bartlett_window,  # noqa
                       kaiser_window)
from ._tensor_layout import (as_strided, memory_format, preserve_format,  # noqa
                             contiguous_format, channels_last, channels_last_3d)
from ._functions import *  # noqa: F401,F403
from ._functions_more import *  # noqa
from ._functions_linalg import *  # noqa
from ._linalg_lu import *; from ._linalg_more import *  # noqa
from ._functions_select import *  # noqa
from ._functions_misc import *  # noqa
from ._foreach import *  # noqa: F401,F403  (PyTorch's _foreach_* list ops)
from ._functions_hist import *  # noqa
from ._functions_out import add_out_keyword as _add_out_keyword
_add_out_keyword(globals())  # out= for the functions above that PyTorch gives one
from ._functions import (cat, concat, concatenate, stack, hstack, vstack, where, nonzero,  # noqa
                         broadcast_tensors, broadcast_shapes, einsum, is_tensor, is_nonzero,
                         addmm, repeat_interleave, tril, triu, outer, multiply, subtract, divide)
from .random import (Generator, manual_seed, seed, initial_seed, get_rng_state,  # noqa
                     set_rng_state, default_generator)
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa
                                 is_grad_enabled, is_inference_mode_enabled)
from .autograd.anomaly_mode import is_anomaly_enabled, is_anomaly_check_nan_enabled  # noqa
from ._tensor_format import set_printoptions  # noqa
from ._threads import set_num_threads, get_num_threads  # noqa
_threads.adapt_to_openmp_runtime(_omp_spins)
from ._dlpack import from_dlpack  # noqa
from .serialization import save, load  # noqa
from . import autograd  # noqa
from . import return_types  # noqa  (PyTorch's module name for the named-tuple results)

float = float32
double = float64
half = float16
long = int64
int = int32
short = int16

# Submodules load on first use: `import fastnn` stays quick and never imports numba.
_LAZY = ("nn", "optim", "utils", "cuda", "datasets", "backends", "linalg", "testing",
         "special", "array_api", "accelerator", "distributions", "amp", "cpu", "func",
         "profiler", "jit", "_C", "__config__")

# PyTorch's top level also has these layer functions; their positional arguments agree with
# torch.nn.functional's (the loss functions and batch/instance norm, which take other
# arguments at the top level, are left out). They load nn on first use.
_FROM_FUNCTIONAL = frozenset((
    "conv1d conv2d conv3d conv_transpose1d conv_transpose2d avg_pool1d max_pool1d max_pool2d "
    "max_pool3d max_pool1d_with_indices adaptive_avg_pool1d adaptive_max_pool1d pixel_shuffle "
    "pixel_unshuffle channel_shuffle native_channel_shuffle prelu selu celu rrelu rrelu_ relu_ threshold threshold_ "
    "hardshrink bilinear dropout alpha_dropout feature_alpha_dropout group_norm layer_norm "
    "rms_norm").split())
# PyTorch's low-level spellings (weight-first embedding, integer ctc reduction, cells)
_FROM_ATEN_SEQUENCE = frozenset((
    "embedding embedding_renorm_ ctc_loss lstm_cell gru_cell rnn_tanh_cell rnn_relu_cell"
).split())


def __getattr__(name):
    if name in _LAZY:
        mod = _importlib.import_module(f".{name}", __name__)
        globals()[name] = mod
        return mod
    if name == "vmap":  # PyTorch exposes func.vmap at the top level too
        from .func import vmap
        return vmap
    if name == "summary":
        from .utils.summary import summary
        return summary
    if name in ("autocast", "is_autocast_enabled", "get_autocast_dtype"):
        from .amp import autocast_mode
        value = getattr(autocast_mode, name)
        globals()[name] = value
        return value
    if name in _FROM_FUNCTIONAL:
        from .nn import functional
        fn = getattr(functional, name)
        globals()[name] = fn
        return fn
    if name in ("norm_except_dim", "_weight_norm"):  # PyTorch's weight-norm primitives
        # (nn.utils.weight_norm is also a function: ask for the module by its full name)
        fn = getattr(_importlib.import_module(".nn.utils.weight_norm", __name__), name)
        globals()[name] = fn
        return fn
    if name in _FROM_ATEN_SEQUENCE:
        from .nn._functional import aten_sequence
        fn = getattr(aten_sequence, name)
        globals()[name] = fn
        return fn
    raise AttributeError(f"module 'fastnn' has no attribute '{name}'")


def is_floating_point(input):
    return input.is_floating_point()


def is_inference(input):
    return input.is_inference()


def numel(input):
    return input.numel()


def rsub(input, other, alpha=1):
    """``other - alpha * input`` (subtraction with the operands swapped), differentiable."""
    from .autograd.ops_math import relabel
    out = sub(other, input, alpha=alpha)
    if out.grad_fn is not None:
        relabel(out, "RsubBackward0" if isinstance(other, Tensor) else "RsubBackward1")
    return out


def result_type(a, b):
    from ._tensor_math import operands
    if not isinstance(a, Tensor):
        a = tensor(a)
    x, y, dt = operands(a, b)
    return a.dtype if dt is None else _dtype_of(dt)


def _dtype_of(npd):
    from ._dtype import _FROM_NP
    return _FROM_NP[npd]


def promote_types(a, b):
    return _promote_types(a, b)


def can_cast(from_, to):
    return from_.category <= to.category


def typename(obj):
    return obj.type() if isinstance(obj, Tensor) else type(obj).__name__


_deterministic = [False, False]  # (mode, warn_only) as last set, for the getters


def use_deterministic_algorithms(mode=True, *, warn_only=False):
    """fastnn's kernels are deterministic already (reductions run in a fixed order); the
    setting is only remembered for the getters."""
    _deterministic[:] = [not not mode, not not warn_only]  # (bool is the dtype here)


def are_deterministic_algorithms_enabled():
    return _deterministic[0]


def is_deterministic_algorithms_warn_only_enabled():
    return _deterministic[1]


_interop_threads = [1]


def get_num_interop_threads():
    """fastnn runs no inter-op thread pool: one op at a time."""
    return _interop_threads[0]


def set_num_interop_threads(n):
    if not isinstance(n, int) or n < 1:
        raise RuntimeError("Number of interop threads must be positive")
    _interop_threads[0] = n


def poisson(input, generator=None):
    """A Poisson draw per element, with ``input`` as the rate."""
    from .random import get_generator
    rates = input._host()
    if rates.dtype.kind not in "fc":
        from ._dtype import scalar_type_name
        raise NotImplementedError("\"poisson_cpu\" not implemented for "
                                  f"'{scalar_type_name(rates.dtype)}'")
    if rates.size and (rates < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    draws = get_generator(generator).np.poisson(rates)
    from .tensor import _wrap
    return _wrap(draws.astype(rates.dtype, copy=False))


def compile(model=None, **kwargs):
    """Accepted for compatibility: a module comes back wrapped as PyTorch wraps it
    (``_orig_mod``), run unchanged; functions come back as they are."""
    from ._compile import compile as _compile
    return _compile(model, **kwargs)
