"""Intel MKL as fastnn's gemm, when the optional ``mkl`` wheel is installed.

``pip install "fastnn[mkl]"`` brings Intel's own wheel; fastnn then calls MKL's sgemm and
dgemm instead of the OpenBLAS inside numpy (``FASTNN_BLAS=numpy`` keeps numpy's).  On an Intel
Xeon with AVX-512 that made the MNIST-sized training step about 30 % faster (bench/RESULTS.md).

Three settings make it behave like the rest of fastnn:

- MKL runs on GNU OpenMP, the runtime fastnn's parallel loops already use, so one thread
  pool serves both rather than two pools spinning against each other on a few cores.  Its
  GNU layer finds the runtime's symbols in the global namespace, so the loaded ``libgomp`` is
  promoted there first; without it (a build with no OpenMP) MKL is not used.
- Results are bitwise reproducible from run to run: no dynamic thread adjustment, and
  MKL's strict reproducibility mode for gemm, which holds whatever the arrays' alignment.
- In a forked child MKL drops to one thread, as fastnn's loops do (see ``_core``).
"""
import ctypes
import os
import site
import sys

MKL_THREADING_GNU = 3
MKL_CBWR_AUTO = 2
MKL_CBWR_STRICT = 0x10000
MKL_CBWR_SUCCESS = 0
_NAMES = ("libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so")


def wanted():
    """False when the user asked for numpy's BLAS with FASTNN_BLAS."""
    return os.environ.get("FASTNN_BLAS", "").strip().lower() not in ("numpy", "openblas")


def _library_dirs():
    # the wheel installs its libraries under <prefix>/lib (or the user base's lib)
    prefixes = [sys.prefix, sys.exec_prefix, sys.base_prefix, getattr(site, "USER_BASE", None)]
    dirs = []
    for p in prefixes:
        d = os.path.join(p, "lib") if p else None
        if d and d not in dirs and os.path.isdir(d):
            dirs.append(d)
    return dirs


def _complete(d):
    # libmkl_rt loads its threading and core layers on the first call and ends the process
    # when one is missing, so a partial install must be refused here
    names = os.listdir(d)
    return all(any(n.startswith(part) for n in names)
               for part in ("libmkl_gnu_thread.so", "libmkl_core.so", "libmkl_intel_lp64.so"))


def candidates():
    return [os.path.join(d, n) for d in _library_dirs() for n in _NAMES
            if os.path.isfile(os.path.join(d, n)) and _complete(d)]


def _openmp_made_global(mapped):
    """Re-open the already-loaded GNU OpenMP runtime with RTLD_GLOBAL; False if none is loaded."""
    noload = getattr(os, "RTLD_NOLOAD", None)
    if noload is None:
        return False
    for path in mapped:
        if os.path.basename(path).startswith("libgomp"):
            try:
                ctypes.CDLL(path, mode=noload | os.RTLD_GLOBAL | os.RTLD_LAZY)
                return True
            except OSError:
                continue
    return False


def _fn(lib, name, argtypes, restype):
    f = getattr(lib, name)
    f.argtypes, f.restype = argtypes, restype
    return f


def find_mkl(info, mapped):
    """Fill ``info`` (a ``_blas.BlasInfo``) from MKL and return it, or return None."""
    if not sys.platform.startswith("linux") or not wanted():
        return None
    paths = candidates()
    if not paths or not _openmp_made_global(mapped):
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            layer = _fn(lib, "MKL_Set_Threading_Layer", [ctypes.c_int], ctypes.c_int)
            if layer(MKL_THREADING_GNU) != MKL_THREADING_GNU:
                continue  # loaded earlier with another threading layer: leave it alone
            _fn(lib, "MKL_Set_Dynamic", [ctypes.c_int], None)(0)
            cbwr = _fn(lib, "MKL_CBWR_Set", [ctypes.c_int], ctypes.c_int)
            if cbwr(MKL_CBWR_AUTO | MKL_CBWR_STRICT) != MKL_CBWR_SUCCESS:
                continue
            info.sgemm = ctypes.cast(lib.cblas_sgemm, ctypes.c_void_p).value or 0
            info.dgemm = ctypes.cast(lib.cblas_dgemm, ctypes.c_void_p).value or 0
            info._set = _fn(lib, "MKL_Set_Num_Threads", [ctypes.c_int], None)
            info._get = _fn(lib, "MKL_Get_Max_Threads", [], ctypes.c_int)
        except (OSError, AttributeError):
            continue
        info.name, info.path, info.ilp64 = "mkl", path, False
        info.single_thread_after_fork = True
        return info
    return None
