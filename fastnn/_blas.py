"""Find the BLAS whose gemm fastnn calls directly: numpy's own, or MKL where installed.

On CPUs with AVX-512 a third choice, ``fastnn``, sends products to fastnn's own kernel
(``_gemm_avx512.h``) and only the smallest ones to numpy's BLAS.  The default order is MKL,
then fastnn, then numpy; ``FASTNN_BLAS=<name>`` puts one first (``numpy`` or ``openblas``
keeps to numpy's BLAS alone).

fastnn calls gemm directly (for ``beta=1`` accumulation without temporaries) and sets
its thread count.  By default that is the BLAS numpy itself is linked against, so
fastnn and numpy share one BLAS and one thread pool instead of loading a second copy;
with the optional ``mkl`` wheel installed fastnn prefers MKL (see ``_blas_mkl``).
Everything here fails soft: when no library is found fastnn falls back to numpy's own
matrix product.
"""
import ctypes
import glob
import os
import sys

import numpy as np

from . import _blas_mkl

# (sgemm, dgemm, uses 64-bit integers) in order of preference.  OpenBLAS builds
# with 64-bit integers mark every symbol with a "64_" suffix.
_GEMM_SYMBOLS = (
    ("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", True),
    ("cblas_sgemm64_", "cblas_dgemm64_", True),
    ("scipy_cblas_sgemm", "scipy_cblas_dgemm", False),
    ("cblas_sgemm", "cblas_dgemm", False),
)
_SET_THREADS = (
    "scipy_openblas_set_num_threads64_",
    "openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads",
)
_GET_THREADS = (
    "scipy_openblas_get_num_threads64_",
    "openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads",
)


class BlasInfo:
    """What was found: library path, gemm addresses (0 when missing), thread controls."""

    def __init__(self):
        self.name = "numpy"
        self.single_thread_after_fork = False
        self.path = None
        self.sgemm = 0
        self.dgemm = 0
        self.ilp64 = False
        self.own_gemm = False      # fastnn's kernel first, sgemm/dgemm for what it declines
        self._set = None
        self._get = None

    def set_num_threads(self, n):
        if self._set is not None:
            self._set(int(n))

    def get_num_threads(self):
        return int(self._get()) if self._get is not None else None

    def as_dict(self):
        return {
            "name": self.name,
            "path": self.path,
            "gemm": bool(self.sgemm and self.dgemm),
            "ilp64": self.ilp64,
            "own_gemm": self.own_gemm,
            "thread_control": self._set is not None,
        }


def _bundled_libraries():
    """BLAS libraries shipped inside the numpy wheel (Linux, macOS, Windows layouts)."""
    here = os.path.dirname(os.path.abspath(np.__file__))
    dirs = [
        os.path.join(here, os.pardir, "numpy.libs"),
        os.path.join(here, ".dylibs"),
        os.path.join(here, "_core"),
    ]
    found = []
    for d in dirs:
        for pattern in ("*openblas*", "*blas*"):
            for p in sorted(glob.glob(os.path.join(d, pattern))):
                if p not in found and os.path.isfile(p):
                    found.append(p)
    return found


def _mapped_libraries(word="blas"):
    """Libraries with ``word`` in their name already mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        path = parts[5].strip()
        name = os.path.basename(path).lower()
        if word in name and ".so" in name and path not in found:
            found.append(path)
    return found


def _open_loaded(path):
    """Open ``path`` only if it is already loaded, so numpy's copy is the one we bind to."""
    noload = getattr(os, "RTLD_NOLOAD", None)
    if noload is not None:
        try:
            return ctypes.CDLL(path, mode=noload | getattr(os, "RTLD_LAZY", 1))
        except OSError:
            pass
    if sys.platform == "win32":
        # Windows hands back the already-loaded module for the same file.
        try:
            return ctypes.CDLL(path)
        except OSError:
            return None
    return None


def _symbol(lib, name):
    try:
        return getattr(lib, name)
    except AttributeError:
        return None


def find_backends(own_gemm_ok=False):
    """{name: BlasInfo} of the usable BLAS libraries, the preferred one first.

    ``own_gemm_ok``: whether this CPU runs fastnn's own kernel.
    """
    asked = os.environ.get("FASTNN_BLAS", "").strip().lower()
    numpy_blas = find_blas()
    if asked in ("numpy", "openblas"):
        return {"numpy": numpy_blas}
    found = {}
    mkl = _blas_mkl.find_mkl(BlasInfo(), _mapped_libraries("gomp"))
    if mkl is not None:
        found[mkl.name] = mkl
    if own_gemm_ok and numpy_blas.sgemm:
        found["fastnn"] = _own_kernel(numpy_blas)
    found["numpy"] = numpy_blas
    if asked in found:
        found = {asked: found.pop(asked), **found}
    return found


def _own_kernel(numpy_blas):
    """fastnn's own kernel, with numpy's BLAS for the small products it declines."""
    info = BlasInfo()
    info.__dict__.update(numpy_blas.__dict__)
    info.name = "fastnn"
    info.own_gemm = True
    return info


def find_blas():
    """numpy's BLAS (an empty BlasInfo when it cannot be found)."""
    info = BlasInfo()
    for path in _bundled_libraries() + _mapped_libraries():
        lib = _open_loaded(path)
        if lib is None:
            continue
        for sname, dname, ilp64 in _GEMM_SYMBOLS:
            s, d = _symbol(lib, sname), _symbol(lib, dname)
            if s is not None and d is not None:
                info.sgemm = ctypes.cast(s, ctypes.c_void_p).value or 0
                info.dgemm = ctypes.cast(d, ctypes.c_void_p).value or 0
                info.ilp64 = ilp64
                break
        for name in _SET_THREADS:
            fn = _symbol(lib, name)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                info._set = fn
                break
        for name in _GET_THREADS:
            fn = _symbol(lib, name)
            if fn is not None:
                fn.argtypes = []
                fn.restype = ctypes.c_int
                info._get = fn
                break
        if info.sgemm or info._set is not None:
            info.path = path
            return info
    return info
