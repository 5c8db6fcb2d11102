"""How fastnn was built and what runs its work, as ``torch.__config__`` reports PyTorch's.

``fastnn.__config__.show()`` names the compiled core, OpenMP and the gemm in use (fastnn's
own AVX-512 kernel, MKL or numpy's BLAS) with the other choices this machine offers;
``parallel_info()`` gives the thread counts and the OpenMP wait policy.
"""
import os
import platform

import numpy as np

from ._threads import _core, get_num_threads
from ._version import __version__

_GEMM_WORDS = {
    "fastnn": "fastnn's own AVX-512 kernel (numpy's BLAS for products under 64^3)",
    "mkl": "Intel MKL",
    "numpy": "numpy's BLAS",
}


def _gemm_line(core):
    if core is None:
        return "numpy's matmul (no compiled core)"
    info = core._blas_info()
    where = os.path.basename(info["path"]) if info["path"] else "not found"
    how = "called directly" if info["direct_gemm"] else "through numpy's matmul"
    return f"{_GEMM_WORDS.get(info['name'], info['name'])} [{where}], {how}"


def show():
    """A description of fastnn's build and of the libraries it uses here (a str)."""
    core = _core()
    lines = [f"fastnn {__version__} built with:",
             f"  - Python {platform.python_version()}, numpy {np.__version__}",
             "  - Cython core: " + ("yes" if core is not None else "no (pure numpy fallback)")]
    if core is not None:
        lines.append("  - OpenMP: " + ("yes" if core.HAVE_OPENMP else "no (serial kernels)"))
    lines.append("  - gemm: " + _gemm_line(core))
    if core is not None:
        lines.append("  - gemm choices here (FASTNN_BLAS picks): " +
                     ", ".join(core._blas_backends()))
    return "\n".join(lines) + "\n"


def parallel_info():
    """Thread counts and how the threads wait between parallel regions (a str)."""
    core = _core()
    lines = ["fastnn/Parallel:", f"\tfastnn.get_num_threads() : {get_num_threads()}"]
    if core is not None and core.HAVE_OPENMP:
        policy = os.environ.get("OMP_WAIT_POLICY", "the runtime's default (spin, then sleep)")
        lines += ["OpenMP", f"\twait policy : {policy}"]
    else:
        lines.append("OpenMP not in use")
    if core is not None:
        info = core._blas_info()
        lines += [f"gemm: {_GEMM_WORDS.get(info['name'], info['name'])}",
                  f"\tBLAS threads : {info['blas_threads']}"]
    return "\n".join(lines) + "\n"
