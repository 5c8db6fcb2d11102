"""Check fastnn's planned kernel-argument packing against numba-cuda's own marshalling,
on a machine without a GPU (no driver call is made):

    python tests/cuda/launch_plan_check.py

For each argument signature fastnn's kernels use (and the awkward ones around them), the
generated packer must give exactly the parameters numba's ``_Kernel._prepare_args`` gives,
and the signatures numba converts or copies must get no packer. With numba's dispatch mocked
out, ``launch()`` must take numba's own path wherever numba's ``call`` would do more than
marshal (host arrays, callbacks registered by a compile, specialized dispatchers, uncovered
types). Exit status 0 when all hold.
"""
import ctypes
import math
import os
import sys

if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
    sys.exit("run without NUMBA_ENABLE_CUDASIM: the simulator has no marshalling to compare")
import numpy as np  # noqa: E402
from numba.cuda import types as T  # noqa: E402
from numba.cuda.cudadrv.devicearray import _StridedLayoutShim, _StridedMemoryViewShim  # noqa
from numba.cuda.dispatcher import _Kernel  # noqa: E402

from fastnn.cuda._launch import (_numba_internals, make_packer, numba_params,  # noqa: E402
                                 same_params)


class FakeDeviceArray:
    """What numba's marshalling reads from a device array, at a made-up address."""
    __cuda_memory__ = True

    def __init__(self, shape, dtype, ptr, strides=None):
        dtype = np.dtype(dtype)
        if strides is None:
            strides = tuple(int(s) for s in np.empty(shape, dtype).strides)
        self._strided_memory_view_shim = _StridedMemoryViewShim(
            ptr=ptr, shape=tuple(shape), dtype=dtype, size=int(np.prod(shape)),
            _layout=_StridedLayoutShim(strides_in_bytes=strides, is_contiguous_c=True,
                                       is_contiguous_f=len(shape) < 2,
                                       is_contiguous_any=True))


class FakeOverload:
    extensions = []
    _prepare_args = _Kernel._prepare_args

    def __init__(self, argument_types):
        self.argument_types = argument_types


f32, f64, i64, b1 = T.float32, T.float64, T.int64, T.boolean
A1 = T.Array(f32, 1, "C")
CASES = [
    ("gemm", (i64, i64, i64, i64, A1, i64, i64, i64, i64, f32, f32, b1),
     (3, 4, 5, 1, FakeDeviceArray((60,), np.float32, 0x7F0000001000), 0, 5, 1, 20,
      np.float32(1.5), np.float32(-0.0), True)),
    ("elementwise", (i64, T.UniTuple(i64, 2), A1, i64, T.UniTuple(i64, 2)),
     (6, (2, 3), FakeDeviceArray((6,), np.float32, 0x7F0000002000), 0, (3, 1))),
    ("mixed tuple, f64", (T.Tuple((i64, f64)), f64, T.Array(f64, 2, "A")),
     ((7, 0.25), float("nan"),
      FakeDeviceArray((3, 4), np.float64, 0x7F0000003000, strides=(64, 8)))),
    ("widths", (T.uint64, T.int32, T.uint8, b1),
     (2 ** 63 + 5, np.int32(-7), np.uint8(200), np.bool_(False))),
    ("no arguments", (), ()),
]
UNCOVERED = [("float16", (T.float16,)), ("complex64", (T.complex64,)),
             ("tuple holding float16", (T.UniTuple(T.float16, 2),))]


def launch_paths():
    """launch() with numba's dispatch mocked out: which path each kind of call takes."""
    import fastnn.cuda._launch as L
    calls = []

    class Config:  # a configured launch, as kernel[grid, block] returns it
        griddim, blockdim, sharedmem, stream = (1, 1, 1), (1, 1, 1), 0, 0

        def __init__(self):
            self.pre_launch_callbacks = []

        def __call__(self, *args):
            calls.append("numba call")

        def _push_args(self, args):
            return None

        def _pop_args(self, prev):
            pass

    class Overload(FakeOverload):
        debug, launch_config_sensitive, cooperative = False, False, False

        class _codelibrary:
            @staticmethod
            def get_cufunc():
                return type("cufunc", (), {"kernel": "handle"})

        def launch(self, *args):
            calls.append("numba launch")

    class Dispatcher:
        _launch_config_sensitive = specialized = False

        def __init__(self, ov, register=False):
            self.ov, self.register, self.lc = ov, register, Config()

        def __getitem__(self, config):
            return self.lc

        def _update_launch_config_sensitivity(self, ov, lc):
            pass

    def cuda_call(disp, *args, **kw):
        if disp.register and not disp.lc.pre_launch_callbacks:  # as a compile may do
            disp.lc.pre_launch_callbacks.append(lambda ov, lc: calls.append("callback"))
        return disp.ov

    L._cuda_call = cuda_call
    L._core_launch = lambda stream, cfg, kernel, *params: calls.append(("planned", params))
    L._nb = dict(L._nb, LaunchConfig=lambda **kw: kw)
    arr = FakeDeviceArray((4,), np.float32, 0x7F0000004000)
    out = {}
    plain = Dispatcher(Overload((T.int64, A1)))
    for _ in range(2):
        L.launch(plain, (1, 1), 5, arr)
    out["planned twice"] = calls[:]
    calls.clear()
    L.launch(plain, (1, 1), 5, np.zeros(4, np.float32))  # a host array: numba copies it
    out["host array"] = calls[:]
    calls.clear()
    L.launch(Dispatcher(Overload((T.int64,)), register=True), (1, 1), 5)
    out["callback from compile"] = calls[:]
    calls.clear()
    special = Dispatcher(Overload((T.int64,)))
    special.specialized = True
    L.launch(special, (1, 1), 5)
    out["specialized"] = calls[:]
    calls.clear()
    L.launch(Dispatcher(Overload((T.float16,))), (1, 1), 1.0)
    out["uncovered type"] = calls[:]
    return out


def main():
    failed = []
    params = (ctypes.c_int64(5), 0, 0, 4, 4, 0x7F0000004000, 4, 4)
    want = {"planned twice": [("planned", params)] * 2, "host array": ["numba launch"],
            "callback from compile": ["callback", "numba launch"],
            "specialized": ["numba call"], "uncovered type": ["numba launch"]}
    got = launch_paths()
    for case, calls in want.items():
        have = [c if isinstance(c, str) else (c[0], tuple(p.value if hasattr(p, "value")
                                                          else p for p in c[1]))
                for c in got[case]]
        calls = [c if isinstance(c, str) else (c[0], tuple(p.value if hasattr(p, "value")
                                                           else p for p in c[1]))
                 for c in calls]
        if have != calls:
            failed.append(f"launch path, {case}: {have} != {calls}")
    if _numba_internals() is None:
        failed.append("this numba-cuda lacks the launch hooks plans mirror: plans are off")
    for name, types, args in CASES:
        ov = FakeOverload(types)
        pack = make_packer(types, T)
        theirs = numba_params(ov, args)
        if pack is None or not same_params(list(pack(args)), theirs):
            failed.append(f"{name}: {pack and pack(args)} != {theirs}")
    for name, types in UNCOVERED:
        if make_packer(types, T) is not None:
            failed.append(f"{name}: expected no packer")
    pack = make_packer((A1,), T)
    try:
        pack((np.zeros(3, np.float32),))
        failed.append("a host array was packed as a device one")
    except AttributeError:
        pass
    # the comparison itself: type and bytes count, NaN equals NaN
    if same_params([ctypes.c_int32(1)], [ctypes.c_int64(1)]) or \
            same_params([ctypes.c_int64(1)], [ctypes.c_int64(2)]) or \
            same_params([1, 2], [1]) or same_params([1], None) or \
            not same_params([ctypes.c_double(math.nan), 3], [ctypes.c_double(math.nan), 3]):
        failed.append("same_params compares wrongly")
    for line in failed:
        print("FAIL", line)
    print(f"{len(CASES) + len(UNCOVERED) + 8 - len(failed)} checks passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
