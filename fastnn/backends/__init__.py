"""fastnn.backends: the ``torch.backends`` switches, so CUDA-minded scripts run unchanged.

fastnn has no cuDNN, MPS or MKL-DNN: the flags are plain attributes that scripts may set
(``torch.backends.cudnn.benchmark = True``) and that change nothing; the ``is_available``
queries say False. ``openmp.is_available()`` reports whether fastnn's compiled kernels were
built with OpenMP.
"""
import sys as _sys
import types as _types

__all__ = ["cudnn", "mps", "cuda", "openmp", "mkldnn", "mkl"]


class _Flags(_types.ModuleType):
    """A settable namespace printed like a module, one per backend."""

    def __init__(self, name, doc, **attrs):
        super().__init__(f"{__name__}.{name}", doc)
        self.__dict__.update(attrs)
        # `import torch.backends.cudnn as cudnn` is common: make the dotted import find it
        _sys.modules[self.__name__] = self


def _false():
    return False


cudnn = _Flags("cudnn", "cuDNN switches; fastnn runs on the CPU, so they have no effect.",
               enabled=True, benchmark=False, benchmark_limit=10, deterministic=False,
               allow_tf32=True, is_available=_false, version=lambda: None)
cudnn.is_acceptable = lambda tensor: False

mps = _Flags("mps", "Apple Metal: never available to fastnn.", is_available=_false,
             is_built=_false)

cuda = _Flags("cuda", "CUDA matmul and attention switches; accepted and ignored.",
              is_built=_false)
# attention-kernel switches: state only, see _sdp
from . import _sdp  # noqa: E402
for _name in ("flash_sdp_enabled", "enable_flash_sdp", "mem_efficient_sdp_enabled",
              "enable_mem_efficient_sdp", "math_sdp_enabled", "enable_math_sdp",
              "cudnn_sdp_enabled", "enable_cudnn_sdp", "is_flash_attention_available",
              "sdp_kernel"):
    setattr(cuda, _name, getattr(_sdp, _name))
del _name
cuda.matmul = _Flags("cuda.matmul", "TF32 and reduced-precision matmul switches.",
                     allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                     allow_bf16_reduced_precision_reduction=True)


def _openmp_available():
    try:
        from .. import _core
    except ImportError:  # a source checkout without the compiled extension
        return False
    return bool(getattr(_core, "HAVE_OPENMP", False))


openmp = _Flags("openmp", "Whether fastnn's compiled kernels run in parallel with OpenMP.",
                is_available=_openmp_available)

mkldnn = _Flags("mkldnn", "oneDNN: not used by fastnn.", enabled=False, is_available=_false)
def _mkl_in_use():
    try:
        from .. import _core
    except ImportError:  # a source checkout without the compiled extension
        return False
    return _core._blas_info()["name"] == "mkl"


mkl = _Flags("mkl", "Intel MKL: fastnn's gemm when the optional mkl wheel is installed "
             "(pip install fastnn[mkl]); otherwise fastnn's own kernel on AVX-512 CPUs, or "
             "numpy's BLAS (see fastnn.__config__.show()).", is_available=_mkl_in_use)
