"""The timing wrappers that stand in for fastnn's op, backward and optimizer entry points
while a profiler records (see ``_record``), and the module forward hooks."""
import functools
import math

from . import _record as R

_sessions = R._sessions
want = R.want


def _shape(x):
    s = getattr(x, "shape", None)
    return list(s) if s is not None and hasattr(x, "_data") else []


def _nbytes(x):
    arr = getattr(x, "_data", x)
    return int(getattr(arr, "nbytes", 0) or 0)


def _flops(name, inputs, out):
    """Multiply-adds count twice, as in PyTorch; elementwise arithmetic once per element."""
    arr = getattr(out, "_data", None)
    if arr is None:
        return 0
    op = name[len("fastnn::"):]
    size = int(arr.size)
    if op in ("addmm", "mm", "bmm", "matmul", "baddbmm"):
        mats = [t.shape for t in inputs if len(t.shape) >= 2]
        if not mats or arr.ndim < 2:
            return 0
        # the operand that shares the output's rows (the bias has the output's whole shape)
        rows = [s for s in mats if s[-2] == arr.shape[-2] and tuple(s) != tuple(arr.shape)]
        k = (rows or mats)[0][-1]
        return 2 * size * int(k)
    if op == "convolution":
        w = [t.shape for t in inputs if len(t.shape) == arr.ndim and len(t.shape) > 2 and
             t.shape[0] == arr.shape[1]]
        return 2 * size * int(math.prod(w[-1][1:])) if w else 0
    if op in ("add", "sub", "mul", "div"):
        return size
    return 0


def timed_apply_node(original):
    def apply_node(cls, inputs, *args):
        if not _sessions:
            return original(cls, inputs, *args)
        fr = R.push(None, "cpu_op")
        if want.shapes:
            fr.shapes = [_shape(t) for t in inputs]
        out = node = None
        try:
            out, node = original(cls, inputs, *args)
        finally:
            name = R.forward_name(node) if node is not None else \
                "fastnn::" + R.snake(cls.__name__.split("Backward")[0])
            if out is not None:
                if want.memory:
                    fr.mem = _nbytes(out)
                if want.flops:
                    fr.flops = _flops(name, inputs, out)
            R.pop(fr, name)
        return out, node
    apply_node.__wrapped__ = original
    return apply_node


def timed_execute(original):
    def _execute(node, g, retain_graph):
        if not _sessions:
            return original(node, g, retain_graph)
        fr = R.push(R.node_name(node), "cpu_op")
        if want.shapes:
            fr.shapes = [list(getattr(g, "shape", ()))]
        grads = None
        try:
            grads = original(node, g, retain_graph)
            return grads
        finally:
            if want.memory and grads:
                fr.mem = sum(_nbytes(x) for x in grads if x is not None)
            R.pop(fr)
    _execute.__wrapped__ = original
    return _execute


def timed_function_apply(original):
    fn = original.__func__

    def apply(cls, *args, **kwargs):
        if not _sessions:
            return fn(cls, *args, **kwargs)
        fr = R.push(cls.__name__, "cpu_op")
        if want.shapes:
            fr.shapes = [_shape(a) for a in args]
        try:
            return fn(cls, *args, **kwargs)
        finally:
            R.pop(fr)
    apply.__wrapped__ = fn
    return classmethod(apply)


def timed_run_step(original):
    def run_step(step, self, args, kwargs):
        if not _sessions:
            return original(step, self, args, kwargs)
        cls = type(self).__name__
        fr = R.push(f"Optimizer.step#{cls}.step", "user_annotation")
        try:
            return original(step, self, args, kwargs)
        finally:
            R.pop(fr)
    run_step.__wrapped__ = original
    return run_step


def timed_zero_grad(original):
    @functools.wraps(original)
    def zero_grad(self, *args, **kwargs):
        if not _sessions:
            return original(self, *args, **kwargs)
        fr = R.push(f"Optimizer.zero_grad#{type(self).__name__}.zero_grad", "user_annotation")
        try:
            return original(self, *args, **kwargs)
        finally:
            R.pop(fr)
    return zero_grad


# ---- module forwards -------------------------------------------------------------------

_handles = []
_names = {}   # id(module) -> "nn.Module: Linear_0" while recording with modules


def _module_frames():
    s = getattr(R._local, "modules", None)
    if s is None:
        s = R._local.modules = []
    return s


def _pre(module, args):
    if _sessions:
        name = _names.get(id(module))
        if name is None:
            kind = type(module).__name__
            n = sum(1 for v in _names.values() if v.rsplit("_", 1)[0] == "nn.Module: " + kind)
            name = _names[id(module)] = f"nn.Module: {kind}_{n}"
        _module_frames().append((module, R.push(name, "python_function")))


def _post(module, args, output):
    frames = _module_frames()
    for i in range(len(frames) - 1, -1, -1):
        if frames[i][0] is module:
            R.pop(frames.pop(i)[1])
            break


def modules(on):
    """Register (or remove) the global forward hooks that time module forwards."""
    if on and not _handles:
        from ..nn.modules.module import (register_module_forward_hook,
                                         register_module_forward_pre_hook)
        _handles.append(register_module_forward_pre_hook(_pre))
        _handles.append(register_module_forward_hook(_post, always_call=True))
    elif not on and _handles:
        while _handles:
            _handles.pop().remove()
        _names.clear()
        _module_frames().clear()
