# cython: language_level=3
"""Compiled kernels behind fastnn's layers, losses, initializers and optimizers.

Every public function takes numpy arrays, validates them while holding the GIL
and then runs a raw-pointer kernel without it.  Float arrays must be
native-endian, aligned, C-contiguous float32 or float64, one dtype per call.
Outputs are preallocated by the caller, writeable, and must not overlap the
inputs (elementwise kernels document where ``out`` may be the input itself).

Errors follow PyTorch where it has an equivalent:

* ``TypeError``: not an ndarray, ``None`` where an array is required, wrong or mixed dtype.
* ``RuntimeError``: wrong number of dimensions or mismatched shapes.
* ``ValueError``: non-contiguous / misaligned / byte-swapped arrays, read-only or
  overlapping outputs, invalid hyper-parameters.
* ``IndexError``: class targets out of range.
"""
from cython cimport floating
from cython.parallel cimport prange
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.math cimport exp, expf, log, sqrt, sqrtf
from libc.stdint cimport int32_t, int64_t, uintptr_t
from libc.string cimport memset

cimport numpy as cnp
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport random_standard_normal, random_standard_normal_f

import operator
import os

import numpy as np

from fastnn._blas import find_backends

cnp.import_array()

cdef extern from "numpy/arrayobject.h":
    object PyArray_MatrixProduct2(object a, object b, cnp.ndarray out)

cdef extern from *:
    """
    #ifdef _OPENMP
    #define FASTNN_OPENMP 1
    #else
    #define FASTNN_OPENMP 0
    #endif
    """
    int FASTNN_OPENMP

HAVE_OPENMP = bool(FASTNN_OPENMP)

# ---------------------------------------------------------------- threads

# Below this many elements a parallel region costs more than it saves: these loops are
# memory-bound, and on a 2-core machine OpenMP's threads then only compete with the BLAS
# threads for cores. fastnn._threads lowers it when the BLAS is MKL on the same runtime.
cdef Py_ssize_t _PAR_MIN = 1 << 20
cdef int _nthreads = 1          # what the parallel loops use
cdef int _requested = 1         # what set_num_threads was given
cdef bint _fork_child = False


def _default_num_threads():
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    try:
        n = int(env)
    except ValueError:
        n = 0
    return n if n > 0 else (os.cpu_count() or 1)


def set_num_threads(n):
    """Use ``n`` threads in fastnn's parallel loops and in numpy's BLAS.

    In a process forked from a fastnn process (a data-loading worker, say) the
    parallel loops stay serial whatever ``n`` is: GNU OpenMP cannot start
    threads again after fork().  The BLAS still follows ``n``.
    """
    global _nthreads, _requested
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, but got {n}")
    _requested = n
    _nthreads = 1 if _fork_child else n
    for info in _BLAS_ALL.values():
        info.set_num_threads(1 if _fork_child and info.single_thread_after_fork else n)


def get_num_threads():
    """Number of threads last given to set_num_threads (by default: OMP_NUM_THREADS or all CPUs)."""
    return _requested


def _set_parallel_min(Py_ssize_t n):
    """Loops over fewer than ``n`` elements run on one thread; returns the previous bound."""
    global _PAR_MIN
    if n < 1:
        raise ValueError(f"_set_parallel_min: expected a positive element count, but got {n}")
    previous = _PAR_MIN
    _PAR_MIN = n
    return previous


cdef inline Py_ssize_t _chunk_count(Py_ssize_t n) noexcept nogil:
    if _nthreads <= 1 or n < _PAR_MIN:
        return 1
    return _nthreads


cdef inline Py_ssize_t _chunk_len(Py_ssize_t n, Py_ssize_t chunks) noexcept nogil:
    # Multiples of 16 elements keep every chunk start aligned for vector loads.
    return (((n + chunks - 1) // chunks) + 15) & ~(<Py_ssize_t>15)

# ---------------------------------------------------------------- argument checks


cdef inline object _shape(cnp.ndarray a):
    return (<object>a).shape


cdef cnp.ndarray _arg(object a, str fn, str name, int ndim, cnp.ndarray ref, str ref_name,
                      bint out):
    """Check one float array argument; ``ref`` fixes the dtype, ``ndim < 0`` allows any rank."""
    cdef cnp.ndarray arr
    cdef int t
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{fn}: argument '{name}' must be a numpy.ndarray, not {type(a).__name__}")
    arr = <cnp.ndarray>a
    t = cnp.PyArray_TYPE(arr)
    if ref is None:
        if t != cnp.NPY_FLOAT and t != cnp.NPY_DOUBLE:
            raise TypeError(f"{fn}: expected '{name}' to have dtype float32 or float64, "
                            f"but got {arr.dtype}")
    elif t != cnp.PyArray_TYPE(ref):
        raise TypeError(f"{fn}: expected '{name}' to have the same dtype as '{ref_name}' "
                        f"({ref.dtype}), but got {arr.dtype}")
    if ndim >= 0 and cnp.PyArray_NDIM(arr) != ndim:
        raise RuntimeError(f"{fn}: expected '{name}' to be a {ndim}-D array, but got "
                           f"{arr.ndim}-D with shape {_shape(arr)}")
    _layout(arr, fn, name, out)
    return arr


cdef int _layout(cnp.ndarray arr, str fn, str name, bint out) except -1:
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{fn}: '{name}' must be C-contiguous, but got strides {(<object>arr).strides} "
                         f"for shape {_shape(arr)}")
    if not cnp.PyArray_ISALIGNED(arr) or not cnp.PyArray_ISNOTSWAPPED(arr):
        raise ValueError(f"{fn}: '{name}' must be aligned and in native byte order")
    if out and not cnp.PyArray_ISWRITEABLE(arr):
        raise ValueError(f"{fn}: output '{name}' is read-only")
    return 0


cdef int _dims1(cnp.ndarray a, str fn, str name, Py_ssize_t d0) except -1:
    if cnp.PyArray_DIM(a, 0) != d0:
        raise RuntimeError(f"{fn}: expected '{name}' to have shape ({d0},), but got {_shape(a)}")
    return 0


cdef int _dims2(cnp.ndarray a, str fn, str name, Py_ssize_t d0, Py_ssize_t d1) except -1:
    if cnp.PyArray_DIM(a, 0) != d0 or cnp.PyArray_DIM(a, 1) != d1:
        raise RuntimeError(f"{fn}: expected '{name}' to have shape ({d0}, {d1}), "
                           f"but got {_shape(a)}")
    return 0


cdef int _same_shape(cnp.ndarray a, str fn, str name, cnp.ndarray ref, str ref_name) except -1:
    cdef int nd = cnp.PyArray_NDIM(ref)
    cdef int i
    if cnp.PyArray_NDIM(a) == nd:
        for i in range(nd):
            if cnp.PyArray_DIM(a, i) != cnp.PyArray_DIM(ref, i):
                break
        else:
            return 0
    raise RuntimeError(f"{fn}: expected '{name}' to have the same shape as '{ref_name}' "
                       f"{_shape(ref)}, but got {_shape(a)}")


cdef int _disjoint(cnp.ndarray out, str fn, str name, cnp.ndarray other, str other_name,
                   bint same_ok) except -1:
    """Reject outputs sharing memory with ``other``; ``same_ok`` allows exact in-place use."""
    cdef char* po
    cdef char* pt
    cdef Py_ssize_t no, nt
    if out is None or other is None:
        return 0
    po, pt = cnp.PyArray_BYTES(out), cnp.PyArray_BYTES(other)
    no, nt = cnp.PyArray_NBYTES(out), cnp.PyArray_NBYTES(other)
    if no == 0 or nt == 0 or po >= pt + nt or pt >= po + no:
        return 0
    if same_ok and po == pt and no == nt:
        return 0
    raise ValueError(f"{fn}: output '{name}' overlaps '{other_name}' in memory; "
                     f"pass a separate output array")

# ---------------------------------------------------------------- BLAS

ctypedef void (*sgemm64_t)(int, int, int, int64_t, int64_t, int64_t, float, const float*,
                           int64_t, const float*, int64_t, float, float*, int64_t) noexcept nogil
ctypedef void (*dgemm64_t)(int, int, int, int64_t, int64_t, int64_t, double, const double*,
                           int64_t, const double*, int64_t, double, double*, int64_t) noexcept nogil
ctypedef void (*sgemm32_t)(int, int, int, int, int, int, float, const float*, int,
                           const float*, int, float, float*, int) noexcept nogil
ctypedef void (*dgemm32_t)(int, int, int, int, int, int, double, const double*, int,
                           const double*, int, double, double*, int) noexcept nogil

cdef enum:
    CBLAS_ROW_MAJOR = 101
    CBLAS_NO_TRANS = 111
    CBLAS_TRANS = 112

cdef extern from "_gemm_avx512.h":
    int fastnn_gemm_avx512_ok() noexcept nogil
    int fastnn_sgemm_avx512(int ta, int tb, int64_t m, int64_t n, int64_t k, const float* a,
                            const float* b, float beta, float* c, int nthreads) noexcept nogil
    int fastnn_dgemm_avx512(int ta, int tb, int64_t m, int64_t n, int64_t k, const double* a,
                            const double* b, double beta, double* c, int nthreads) noexcept nogil

cdef sgemm64_t _sgemm64 = NULL
cdef dgemm64_t _dgemm64 = NULL
cdef sgemm32_t _sgemm32 = NULL
cdef dgemm32_t _dgemm32 = NULL
cdef bint _gemm_found = False
cdef bint _gemm_enabled = False
cdef bint _own_gemm = False      # products through fastnn's own AVX-512 kernel


cdef void _gemm(bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                const floating* a, const floating* b, floating beta, floating* c) noexcept nogil:
    """c = op(a) @ op(b) + beta * c, row-major, contiguous operands, m, n, k >= 1."""
    cdef int opa = CBLAS_TRANS if ta else CBLAS_NO_TRANS
    cdef int opb = CBLAS_TRANS if tb else CBLAS_NO_TRANS
    cdef Py_ssize_t lda = m if ta else k
    cdef Py_ssize_t ldb = k if tb else n
    if floating is float:
        if _own_gemm and fastnn_sgemm_avx512(ta, tb, m, n, k, a, b, beta, c, _nthreads) == 0:
            return
        if _sgemm64 != NULL:
            _sgemm64(CBLAS_ROW_MAJOR, opa, opb, m, n, k, 1.0, a, lda, b, ldb, beta, c, n)
        else:
            _sgemm32(CBLAS_ROW_MAJOR, opa, opb, <int>m, <int>n, <int>k, 1.0, a, <int>lda,
                     b, <int>ldb, beta, c, <int>n)
    else:
        if _own_gemm and fastnn_dgemm_avx512(ta, tb, m, n, k, a, b, beta, c, _nthreads) == 0:
            return
        if _dgemm64 != NULL:
            _dgemm64(CBLAS_ROW_MAJOR, opa, opb, m, n, k, 1.0, a, lda, b, ldb, beta, c, n)
        else:
            _dgemm32(CBLAS_ROW_MAJOR, opa, opb, <int>m, <int>n, <int>k, 1.0, a, <int>lda,
                     b, <int>ldb, beta, c, <int>n)


cdef bint _gemm_ready(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k):
    """Whether the direct BLAS call can take these sizes (32-bit BLAS caps each one)."""
    if not _gemm_enabled:
        return False
    if _sgemm64 != NULL:
        return True
    return m < 2147483647 and n < 2147483647 and k < 2147483647


cdef void _mm_into(bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                   const floating* a, const floating* b, floating* c, bint acc,
                   bint use_gemm) noexcept nogil:
    """c (+)= op(a) @ op(b); empty inner dimension gives zeros, as the math says."""
    if m == 0 or n == 0:
        return
    if k == 0:
        if not acc:
            memset(c, 0, <size_t>(m * n) * sizeof(floating))
        return
    if use_gemm:
        _gemm(ta, tb, m, n, k, a, b, <floating>(1 if acc else 0), c)


cdef object _np_mm_into(object a, object b, cnp.ndarray c, bint acc):
    """numpy fallback of ``_mm_into`` for when no direct BLAS entry point was found."""
    if acc:
        np.add(c, np.dot(a, b), out=c)
    else:
        PyArray_MatrixProduct2(a, b, c)


def _gemm_selftest():
    """Tiny product through the direct pointers, to catch a mis-detected integer width."""
    cdef float sa[6]
    cdef float sc[4]
    cdef double da[6]
    cdef double dc[4]
    cdef int i
    for i in range(6):
        sa[i] = i + 1
        da[i] = i + 1
    _gemm(False, True, 2, 2, 3, <const float*>sa, <const float*>sa, <float>0, <float*>sc)
    _gemm(False, True, 2, 2, 3, <const double*>da, <const double*>da, <double>0, <double*>dc)
    expected = (14.0, 32.0, 32.0, 77.0)
    return all(sc[i] == expected[i] and dc[i] == expected[i] for i in range(4))


def _install_blas(info):
    """Point the direct gemm calls at ``info``'s library (after a self-test); returns info."""
    global _sgemm64, _dgemm64, _sgemm32, _dgemm32, _gemm_found, _gemm_enabled, _own_gemm
    _sgemm64, _dgemm64, _sgemm32, _dgemm32 = NULL, NULL, NULL, NULL
    _own_gemm = False
    _gemm_found = False
    if info.sgemm and info.dgemm:
        if info.ilp64:
            _sgemm64 = <sgemm64_t><uintptr_t>info.sgemm
            _dgemm64 = <dgemm64_t><uintptr_t>info.dgemm
        else:
            _sgemm32 = <sgemm32_t><uintptr_t>info.sgemm
            _dgemm32 = <dgemm32_t><uintptr_t>info.dgemm
        _gemm_found = _gemm_selftest()
        if not _gemm_found:
            _sgemm64, _dgemm64, _sgemm32, _dgemm32 = NULL, NULL, NULL, NULL
    _gemm_enabled = _gemm_found and os.environ.get("FASTNN_NO_DIRECT_BLAS", "") != "1"
    _own_gemm = _gemm_found and info.own_gemm and fastnn_gemm_avx512_ok() != 0
    return info


def _select_blas(name):
    """Send fastnn's gemm calls to the BLAS called ``name`` (see ``_blas_backends``).

    Returns the previous name.  For tests and benchmarks: the choice is process-wide.
    """
    global _BLAS
    if name not in _BLAS_ALL:
        raise ValueError(f"_select_blas: no BLAS named {name!r} here; "
                         f"available: {', '.join(_BLAS_ALL)}")
    previous = _BLAS.name
    _BLAS = _install_blas(_BLAS_ALL[name])
    return previous


def _blas_backends():
    """Names of the BLAS libraries fastnn can call, the default first."""
    return list(_BLAS_ALL)


def _use_direct_blas(enabled):
    """Switch between direct BLAS calls and numpy's matmul; returns the previous setting."""
    global _gemm_enabled
    previous = _gemm_enabled
    _gemm_enabled = bool(enabled) and _gemm_found
    return previous


def _blas_info():
    """Which BLAS fastnn found and whether it is calling it directly."""
    d = _BLAS.as_dict()
    d["direct_gemm"] = bool(_gemm_enabled)
    d["blas_threads"] = _BLAS.get_num_threads()
    return d


def _serial_after_fork():
    # GNU OpenMP's thread pool does not survive fork(): a parallel region in the child
    # waits forever on threads that no longer exist.
    # MKL threads on the same runtime, so it goes serial too; OpenBLAS restarts its own pool.
    global _nthreads, _fork_child
    _fork_child = True
    _nthreads = 1
    for info in _BLAS_ALL.values():
        if info.single_thread_after_fork:
            info.set_num_threads(1)


def _install_first_working():
    """Install the preferred BLAS that passes the self-test; others that fail are forgotten."""
    for name in [n for n in _BLAS_ALL if n != "numpy"]:
        _install_blas(_BLAS_ALL[name])
        if _gemm_found:
            return _BLAS_ALL[name]
        del _BLAS_ALL[name]
    return _install_blas(_BLAS_ALL["numpy"])


_BLAS_ALL = find_backends(fastnn_gemm_avx512_ok() != 0)
_BLAS = _install_first_working()
_requested = _nthreads = _default_num_threads()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_serial_after_fork)

# ---------------------------------------------------------------- misc


def zero_(arr):
    """arr[...] = 0 for a C-contiguous writeable array of any dtype."""
    cdef cnp.ndarray a
    cdef char* p
    cdef size_t nbytes
    if not cnp.PyArray_Check(arr):
        raise TypeError(f"zero_: argument 'arr' must be a numpy.ndarray, not {type(arr).__name__}")
    a = <cnp.ndarray>arr
    # Byte order and alignment do not matter for writing zero bytes.
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"zero_: 'arr' must be C-contiguous, but got strides {(<object>a).strides} "
                         f"for shape {_shape(a)}")
    if not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError("zero_: output 'arr' is read-only")
    p = cnp.PyArray_BYTES(a)
    nbytes = <size_t>cnp.PyArray_NBYTES(a)
    if nbytes >= (1 << 20):
        with nogil:
            memset(p, 0, nbytes)
    else:
        memset(p, 0, nbytes)
    return arr


include "_core_linear.pxi"
include "_core_act.pxi"
include "_core_optim.pxi"
include "_core_random.pxi"
include "_core_loss.pxi"
include "_core_pool.pxi"
include "_core_conv.pxi"
include "_core_rnn.pxi"
include "_core_ctc.pxi"
