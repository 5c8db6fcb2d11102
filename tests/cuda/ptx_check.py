"""Compile fastnn's CUDA kernels to PTX for a real GPU (sm_90) on a machine without one.

The simulator runs kernels as Python, so it cannot catch what only numba's CUDA compiler
rejects (typing, unsupported calls). This does, given NVRTC/NVVM (``numba-cuda[cu12]`` or
``[cu13]``, or a CUDA toolkit):

    python tests/cuda/ptx_check.py [--quick]

Exit status 0: all compiled; 1: some failed (printed); 2: the compiler is not installed.
"""
import os
import sys
import time

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    sys.exit("run without NUMBA_ENABLE_CUDASIM: the simulator has no compiler")
from numba import cuda, types as T  # noqa: E402
import numba.cuda.dispatcher as _disp  # noqa: E402


class _Device:  # compiling a device function asks for the current GPU's compute capability
    compute_capability = (9, 0)


_disp.get_current_device = _Device
from numba.core.types import UniTuple  # noqa: E402
from fastnn.cuda import kernels_elementwise as E, kernels_index as KI  # noqa: E402
from fastnn.cuda import kernels_reduce as KR, kernels_gemm as KG  # noqa: E402
from fastnn.cuda import kernels_conv as KC, kernels_loss as KL, kernels_optim as KO  # noqa: E402

QUICK = "--quick" in sys.argv

f32, f64, i64, b1 = T.float32, T.float64, T.int64, T.boolean
A = lambda t: T.Array(t, 1, "C")  # noqa
U = lambda n: UniTuple(i64, n)  # noqa
jobs = []
for name in (("floor",) if QUICK else E.UNARY):
    for dt in ((f32,) if name not in ("invert", "logical_not") else (i64, b1)):
        jobs.append((f"unary {name}", E._unary_kernel(E._device_fn(E.UNARY, name)),
                     (i64, U(2), A(dt), i64, U(2), A(dt), i64, U(2))))
for name in (("less",) if QUICK else E.BINARY):
    dt = i64 if name.startswith("bitwise") else f32
    out = b1 if name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal",
                         "logical_and", "logical_or", "logical_xor") else dt
    fn = E._device_fn(E.BINARY, name)
    jobs.append((f"binary {name}", E._binary_kernel(fn),
                 (i64, U(2), A(out), i64, U(2), A(dt), i64, U(2), A(dt), i64, U(2))))
    for first in (False, True):
        op = E._scalar_first(fn) if first else fn
        jobs.append((f"scalar {name} {first}", E._scalar_kernel(op),
                     (i64, U(1), A(out), i64, U(1), A(dt), i64, U(1), dt)))
jobs += [
    ("where", E._where_kernel, (i64, U(2), A(f32), i64, U(2), A(b1), i64, U(2), A(f32), i64,
                                U(2), A(f32), i64, U(2))),
    ("fill", E._fill_kernel, (i64, U(1), A(f32), i64, U(1), f32)),
    ("arange", E._arange_kernel, (i64, A(i64), i64, i64)),
    ("gather", KI._gather, (i64, A(f32), A(f32), A(i64))),
    ("scatter", KI._scatter, (i64, A(f32), A(i64), A(f32))),
    ("scatter_add", KI._scatter_add, (i64, A(f32), A(i64), A(f32))),
    ("argmax", KR._arg_kernel, (i64, U(1), U(1), i64, i64, A(f32), i64, A(i64), b1)),
    ("gemm simple", KG._simple_kernel, (i64,) * 4 + (A(f32),) + (i64,) * 4 + (A(f32),) +
     (i64,) * 4 + (A(f32),) + (i64,) * 4 + (f32, A(f32)) + (i64,) * 4 + (f32, f32, b1)),
    ("gemm tiled", KG._blocked_kernel(f32, 16, 1), (i64,) * 4 + (A(f32),) + (i64,) * 4 + (A(f32),) +
     (i64,) * 4 + (A(f32),) + (i64,) * 4 + (f32, A(f32)) + (i64,) * 4 + (f32, f32, b1)),
    ("gemm blocked", KG._blocked_kernel(f32, 16, 4), (i64,) * 4 + (A(f32),) + (i64,) * 4 +
     (A(f32),) + (i64,) * 4 + (A(f32),) + (i64,) * 4 + (f32, A(f32)) + (i64,) * 4 +
     (f32, f32, b1)),
    ("im2col", KC._im2col_k, (i64, i64, A(f32)) + (i64,) * 17 + (A(f32), f32)),
    ("col2im", KC._col2im_k, (i64, i64, A(f32), A(f32)) + (i64,) * 13 + (f32,)),
    ("maxpool", KC._maxpool_k, (i64, A(f32)) + (i64,) * 18 + (A(f32), A(i64))),
    ("maxpool back", KC._maxpool_back_k, (i64, A(f32), A(i64), A(f32), i64, i64)),
    ("avgpool", KC._avgpool_k, (i64, A(f32)) + (i64,) * 16 + (b1, i64, A(f32), f32)),
    ("avgpool back", KC._avgpool_back_k, (i64, A(f32), U(5)) + (i64,) * 11 + (b1, i64,
                                                                              A(f32))),
    ("softmax", KL._softmax_k, (i64, U(1), U(1), U(1), i64, i64, i64, A(f32), i64, A(f32),
                                b1)),
    ("softmax back", KL._softmax_back_k, (i64, U(1), U(1), U(1), U(1), i64, i64, i64, i64,
                                          A(f32), i64, A(f32), i64, A(f32), b1)),
    ("ce forward", KL._ce_forward_k, (i64, i64, A(f32), i64, i64, i64, A(i64), i64, i64,
                                      A(f32), b1, i64, f64, b1, A(f32), A(f32), A(f32),
                                      A(i64))),
    ("ce backward", KL._ce_backward_k, (i64, i64, A(f32), i64, i64, i64, A(i64), i64, i64,
                                        A(f32), b1, i64, f64, b1, A(f32), A(f32), i64, A(f32),
                                        A(f32), A(f32))),
    ("dropout", KL._dropout_k, (i64, A(f32), i64, i64, f64, f32, f32)),
    ("sgd", KO._sgd_k, (i64, A(f32), A(f32), i64, A(f32), f32, f32, f32, f32, f32, b1, b1, b1,
                        b1)),
    ("adam", KO._adam_k, (i64, A(f32), A(f32), i64, A(f32), A(f32), A(f32)) + (f32,) * 10 +
     (b1, b1, b1)),
]
for kind in (("mean",) if QUICK else ("sum", "mean", "prod", "max", "min")):
    for dt in ((f32,) if QUICK else (f32, f64, i64)):
        if kind == "mean" and dt is i64:
            continue
        sig = (i64, i64, U(1), U(1), U(1), U(1), A(dt), i64, A(dt), dt, dt)
        jobs.append((f"reduce tree {kind} {dt}", KR._reduce_kernel(kind, dt), sig))
        jobs.append((f"reduce serial {kind} {dt}", KR._serial_kernel(kind), sig))
try:
    cuda.compile_ptx(E._arange_kernel.py_func, (i64, A(i64), i64, i64), cc=(9, 0))
except Exception as e:  # NVRTC / NVVM missing
    print(f"no CUDA compiler: {type(e).__name__}: {str(e)[:300]}")
    sys.exit(2)
bad = 0
t0 = time.time()
for name, kernel, sig in jobs:
    try:
        cuda.compile_ptx(kernel.py_func, sig, cc=(9, 0))
    except Exception as e:
        bad += 1
        print(f"FAIL {name}: {type(e).__name__}: {str(e)[:600]}")
print(f"{len(jobs) - bad}/{len(jobs)} kernels compiled for sm_90 in {time.time() - t0:.0f}s")
sys.exit(1 if bad else 0)
