"""Keep freed memory for reuse, so that large temporaries stop page-faulting every step.

A training step allocates and frees the same few-megabyte arrays (im2col columns, layer
outputs, their gradients) over and over. With glibc's default settings the heap's top is
handed back to the kernel after such a step, and every new array then faults its pages in
again: on a 2-core virtual machine that was a fifth of a LeNet step (about 2,700 faults,
2 us each). Raising the trim and mmap thresholds keeps up to TRIM_THRESHOLD bytes of freed
memory mapped for the next step, at the cost of a larger resident size.
"""
import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 256 << 20   # freed memory kept mapped at the top of the heap
MMAP_THRESHOLD = 32 << 20    # glibc's largest allowed value: bigger arrays still use mmap
_GLIBC_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")


def tune_malloc(environ=os.environ):
    """Apply the thresholds unless the user opted out or chose glibc settings; True if done.

    Opt out with FASTNN_MALLOC_TUNING=0. Only glibc on Linux is touched.
    """
    if environ.get("FASTNN_MALLOC_TUNING", "1") == "0" or \
            any(k in environ for k in _GLIBC_SETTINGS) or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
        gnu = ctypes.CDLL(None).gnu_get_libc_version  # noqa: F841  (glibc, not musl)
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


MALLOC_TUNED = tune_malloc()
