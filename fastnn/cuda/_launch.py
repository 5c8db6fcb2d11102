"""Kernel launches: numba picks the compiled overload, a plan made once per overload packs
the arguments.

numba-cuda turns every argument into driver parameters in Python on every launch, with a
chain of type tests per argument and a recursion per tuple: on the GPU hosts measured that
was most of the 80-100 us a launch cost, and a training step launches 20 kernels or more.
``launch`` keeps numba's own dispatch (typing, compilation, launch-configuration handling)
and replaces only that marshalling, with a function generated from the overload's argument
types. The first launch of each overload also runs numba's marshalling and compares the two
results; an argument type the plan does not cover, or any difference, keeps the overload on
numba's own path for good. ``FASTNN_CUDA_PLANNED_LAUNCH=0`` turns the plans off.

A plan holds the kernel handle of the device current at its first launch: like the rest of
fastnn's CUDA backend, it assumes the one device cuda:0.
"""
import ctypes
import os

from ._backend import SIMULATOR

_MISSING = object()
_plans = {}     # numba _Kernel (one compiled overload) -> _Plan, or None for numba's path
_packers = {}   # numba _Kernel -> its generated packer (None: a type it does not cover)
_configs = {}   # (griddim, blockdim, sharedmem, cooperative) -> cuda.core LaunchConfig


def _numba_internals():
    """The pieces of numba-cuda's launch path the plans stand in for, or None."""
    try:
        from numba.cuda import dispatcher as nd
        from numba.cuda import types
        # the launch-configuration hooks launch() mirrors, as numba-cuda 0.30 has them
        for cls, name in ((nd.CUDADispatcher, "_select_launch_config_dispatcher"),
                          (nd.CUDADispatcher, "_update_launch_config_sensitivity"),
                          (nd._LaunchConfiguration, "_push_args"),
                          (nd._LaunchConfiguration, "_pop_args"),
                          (nd._Kernel, "_prepare_args")):
            getattr(cls, name)
        return {"call": nd._dispatcher.Dispatcher._cuda_call, "kw": nd._LAUNCH_CONFIG_KW,
                "launch": nd.launch, "LaunchConfig": nd.LaunchConfig,
                "core_ge_1": nd.CUDA_CORE_GE_1_0, "types": types}
    except (ImportError, AttributeError):  # another numba-cuda layout: numba's path only
        return None


_nb = None if SIMULATOR or os.environ.get("FASTNN_CUDA_PLANNED_LAUNCH", "1") == "0" \
    else _numba_internals()
if _nb is not None:
    _cuda_call, _core_launch, _CONFIG_KW = _nb["call"], _nb["launch"], _nb["kw"]


def launch(kernel, config, *args):
    """``kernel[config](*args)``, with the arguments packed by the overload's plan.

    Step for step numba's ``Dispatcher.call``, but for the final marshalling; dispatchers and
    overloads that depend on their launch configuration go all the way through numba.
    """
    lc = kernel[config]
    if _nb is None or lc.pre_launch_callbacks or kernel._launch_config_sensitive or \
            kernel.specialized:
        lc(*args)
        return
    prev = lc._push_args(args)
    try:
        ov = _cuda_call(kernel, *args, **{_CONFIG_KW: lc})
        if lc.pre_launch_callbacks:  # registered while this call compiled the kernel
            kernel._update_launch_config_sensitivity(ov, lc)
            for callback in lc.pre_launch_callbacks:
                callback(ov, lc)
            ov.launch(args, lc.griddim, lc.blockdim, lc.stream, lc.sharedmem)
            return
        plan = _plans.get(ov, _MISSING)
        if plan is _MISSING:
            plan = _Plan.make(ov, args, lc.stream)
            if plan is not _MISSING:  # decided for good
                _plans[ov] = plan
        if plan is not None and plan is not _MISSING:
            try:
                packed = plan.pack(args)
            except AttributeError:  # a host array where the plan expects a device one
                packed = None
            if packed is not None:
                _core_launch(lc.stream, plan.config(lc), plan.cukernel, *packed)
                return
        kernel._update_launch_config_sensitivity(ov, lc)
        ov.launch(args, lc.griddim, lc.blockdim, lc.stream, lc.sharedmem)
    finally:
        lc._pop_args(prev)


class _Plan:
    __slots__ = ("pack", "cukernel", "cooperative")

    def __init__(self, pack, cukernel, cooperative):
        self.pack = pack
        self.cukernel = cukernel
        self.cooperative = cooperative

    @classmethod
    def make(cls, ov, args, stream):
        """The plan of overload ``ov``, checked against numba's marshalling of ``args``; None
        for numba's path for good; _MISSING to decide at a later launch (host arrays now)."""
        if ov.debug or getattr(ov, "extensions", None) or \
                getattr(ov, "launch_config_sensitive", False):
            return None
        pack = _packers.get(ov, _MISSING)
        if pack is _MISSING:
            pack = _packers[ov] = make_packer(ov.argument_types, _nb["types"])
        if pack is None:
            return None
        try:
            mine = pack(args)
        except AttributeError:  # a host array, which numba copies over: not a plan's case
            return _MISSING
        theirs = numba_params(ov, args, stream)
        if theirs is None:
            return _MISSING
        if not same_params(mine, theirs):
            return None
        return cls(pack, ov._codelibrary.get_cufunc().kernel, ov.cooperative)

    def config(self, lc):
        key = (lc.griddim, lc.blockdim, lc.sharedmem, self.cooperative)
        cfg = _configs.get(key)
        if cfg is None:
            coop = ("is_cooperative" if _nb["core_ge_1"] else "cooperative_launch")
            cfg = _configs[key] = _nb["LaunchConfig"](
                grid=lc.griddim, block=lc.blockdim, shmem_size=lc.sharedmem,
                **{coop: self.cooperative})
        return cfg


def numba_params(ov, args, stream=0):
    """The driver parameters numba's own marshalling makes of ``args`` (None if it copied a
    host array to the device: a plan never takes those)."""
    retr, params = [], []
    for ty, val in zip(ov.argument_types, args):
        ov._prepare_args(ty, val, stream, retr, params)
    return None if retr else params


def same_params(mine, theirs):
    """Equal parameter lists: same Python or ctypes type and the same bytes or value."""
    if theirs is None or len(mine) != len(theirs):
        return False
    for a, b in zip(mine, theirs):
        if type(a) is not type(b):
            return False
        if isinstance(a, ctypes._SimpleCData):
            if bytes(a) != bytes(b):
                return False
        elif a != b:
            return False
    return True


_SCALARS = {"float32": "c_float", "float64": "c_double"}


def make_packer(argument_types, types):
    """``pack(args) -> tuple`` of driver parameters for these numba types, generated as one
    function; None when a type is outside what numba marshals without copying or conversion.
    """
    lines, items, names = [], [], {}

    def ctype(name):
        names[name] = getattr(ctypes, name, None)
        return name if names[name] is not None else None

    def emit(ty, expr):
        if isinstance(ty, types.Array):
            s = f"s{len(lines)}"
            lines.append(f"    {s} = {expr}._strided_memory_view_shim")
            items.extend(["0", "0", f"{s}.size", f"{s}.dtype.itemsize", f"{s}.ptr"])
            items.extend(f"{s}.shape[{d}]" for d in range(ty.ndim))
            # numba derives strides from the shape when the view has none; plans never do
            lines.append(f"    st{s} = {s}._layout.strides_in_bytes")
            lines.append(f"    if st{s} is None or len(st{s}) != {ty.ndim}: raise AttributeError")
            items.extend(f"st{s}[{d}]" for d in range(ty.ndim))
        elif isinstance(ty, types.Boolean) or isinstance(ty, types.CPointer):
            items.append(expr)
        elif isinstance(ty, types.Integer):
            name = ctype(f"c_{ty}")
            if name is None:
                return False
            items.append(f"{name}({expr})")
        elif isinstance(ty, types.Float) and str(ty) in _SCALARS:
            items.append(f"{ctype(_SCALARS[str(ty)])}({expr})")
        elif isinstance(ty, types.BaseTuple):
            for i, t in enumerate(ty):
                if not emit(t, f"{expr}[{i}]"):
                    return False
        else:
            return False
        return True

    for i, ty in enumerate(argument_types):
        if not emit(ty, f"a[{i}]"):
            return None
    src = "def pack(a):\n" + "\n".join(lines) + ("\n" if lines else "") + \
        f"    return ({', '.join(items)}{',' if items else ''})\n"
    ns = dict(names)
    exec(compile(src, "<fastnn launch plan>", "exec"), ns)
    return ns["pack"]
