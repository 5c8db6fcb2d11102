"""Collecting timed ranges while a profiler records, with nothing on the hot path otherwise.

Recording swaps timing wrappers in for a few module globals and class attributes that every
op already goes through, and puts the originals back when the last recording session stops:

* ``autograd.function.apply_node`` (also where a module imported it by name): each graph
  op's forward, named ``fastnn::<op>`` after its node (``AddmmBackward0`` -> ``fastnn::addmm``);
* ``autograd.engine._execute``: each node's backward, named as the node (``AddmmBackward0``);
* ``autograd.Function.apply``: custom Functions' forwards, named as the Function class;
* ``optim.optimizer.run_step`` (every ``step()`` passes through it) and each optimizer
  class's ``zero_grad``: ``Optimizer.step#SGD.step``, ``Optimizer.zero_grad#SGD.zero_grad``;
* with ``with_modules``, global module forward hooks: ``nn.Module: Linear_0``.

A per-thread stack of open ranges gives each event its parent, so self time is the event's
time less its children's.
"""
import functools
import importlib
import itertools
import os
import re
import sys
import threading
import time
import traceback

from ._events import FunctionEvent

_clock = time.perf_counter_ns
_ids = itertools.count(1)
_sessions = []      # the collectors recording now
_local = threading.local()
_installed = []     # (owner, attribute, original) to put back on stop
_lock = threading.RLock()


class _Want:
    shapes = False
    stack = False
    memory = False
    flops = False
    modules = False


want = _Want()


class _Frame:
    __slots__ = ("id", "name", "cat", "start", "up", "shapes", "stack", "mem", "flops", "tid")

    def __init__(self, name, cat, up, tid):
        self.id = next(_ids)
        self.tid = tid
        self.name = name
        self.cat = cat
        self.up = up
        self.shapes = self.stack = None
        self.mem = self.flops = 0
        self.start = _clock()


def _frames():
    s = getattr(_local, "frames", None)
    if s is None:
        s = _local.frames = []
        _local.tid = threading.get_native_id()
    return s


def push(name, cat):
    frames = _frames()
    fr = _Frame(name, cat, frames[-1] if frames else None, _local.tid)
    if want.stack:
        fr.stack = _user_stack()
    frames.append(fr)
    return fr


def pop(fr, name=None):
    end = _clock()
    frames = _frames()
    if frames and frames[-1] is fr:
        frames.pop()
    elif fr in frames:
        frames.remove(fr)
    else:
        return
    if name is not None:
        fr.name = name
    for s in list(_sessions):
        if fr.start >= s.start_ns:
            s.add(fr, end)


class Collector:
    """One recording session's events (a profiler cycle)."""

    def __init__(self, shapes=False, stack=False, memory=False, flops=False, modules=False):
        self.want = (shapes, stack, memory, flops, modules)
        self.frames = []
        self.start_ns = 0
        self.wall_ns = 0

    def add(self, fr, end):
        if fr.cat == "python_function" and not self.want[4]:
            return
        self.frames.append((fr, end))

    def start(self):
        with _lock:
            self.start_ns = _clock()
            self.wall_ns = time.time_ns()
            _sessions.append(self)
            _refresh()

    def stop(self):
        with _lock:
            if self in _sessions:
                _sessions.remove(self)
                _refresh()

    def events(self):
        """FunctionEvents with parents and children linked; times in us since the epoch."""
        shapes, stack, memory, flops, _ = self.want
        base = self.wall_ns / 1e3 - self.start_ns / 1e3
        by_id = {}
        out = []
        frames = sorted(self.frames, key=lambda p: (p[0].start, -p[1]))
        for fr, end in frames:
            name = fr.name
            trace = name
            if name.startswith("ProfilerStep#"):
                name = "ProfilerStep*"
            e = FunctionEvent(fr.id, name, fr.cat, fr.tid, base + fr.start / 1e3, base + end / 1e3,
                              fr.shapes if shapes else None, fr.stack if stack else None,
                              fr.mem if memory else 0, fr.flops if flops else 0, trace)
            by_id[fr.id] = e
            out.append(e)
        for (fr, _), e in zip(frames, out):
            up = fr.up
            while up is not None and up.id not in by_id:
                up = up.up
            if up is not None:
                e.cpu_parent = by_id[up.id]
                e.cpu_parent.cpu_children.append(e)
        return out


def _refresh():
    """Install the wrappers while any session records; remove them when none does."""
    on = bool(_sessions)
    want.shapes = any(s.want[0] for s in _sessions)
    want.stack = any(s.want[1] for s in _sessions)
    want.memory = any(s.want[2] for s in _sessions)
    want.flops = any(s.want[3] for s in _sessions)
    modules = any(s.want[4] for s in _sessions)
    if on and not _installed:
        try:
            _install()
        except BaseException:
            _uninstall()
            raise
    elif not on and _installed:
        _uninstall()
    if on:
        from . import _hooks
        _hooks.modules(modules)


def _replace(owner, attr, new):
    if isinstance(owner, type):
        old = owner.__dict__[attr]
    else:
        old = getattr(owner, attr)
    _installed.append((owner, attr, old))
    setattr(owner, attr, new)


def _fastnn_modules():
    pkg = __name__.split(".")[0]
    return [m for n, m in list(sys.modules.items())
            if m is not None and (n == pkg or n.startswith(pkg + "."))]


def _install():
    from ..autograd import engine, function
    from . import _hooks
    apply_node = function.apply_node
    timed_apply = _hooks.timed_apply_node(apply_node)
    execute = engine._execute
    timed_execute = _hooks.timed_execute(execute)
    for mod in _fastnn_modules():  # modules that did `from ...function import apply_node`
        d = mod.__dict__
        if d.get("apply_node") is apply_node:
            _replace(mod, "apply_node", timed_apply)
        if d.get("_execute") is execute:
            _replace(mod, "_execute", timed_execute)
    Function = function.Function
    _replace(Function, "apply", _hooks.timed_function_apply(Function.__dict__["apply"]))
    # imported now if need be, so optimizers first used inside the profile are timed too
    optim = importlib.import_module(__name__.split(".")[0] + ".optim.optimizer")
    # every step() runs through run_step, even one an LR scheduler wrapped on the instance
    _replace(optim, "run_step", _hooks.timed_run_step(optim.run_step))
    for cls in _subclasses(optim.Optimizer):
        if "zero_grad" in cls.__dict__:
            _replace(cls, "zero_grad", _hooks.timed_zero_grad(cls.__dict__["zero_grad"]))


def _uninstall():
    swapped = []
    while _installed:
        owner, attr, old = _installed.pop()
        swapped.append((owner.__dict__.get(attr), old))
        setattr(owner, attr, old)
    # modules first imported while recording bound a wrapper by name: give them the original
    for mod in _fastnn_modules():
        d = mod.__dict__
        for attr in ("apply_node", "_execute"):
            for wrapper, old in swapped:
                if d.get(attr) is wrapper:
                    setattr(mod, attr, old)
    from . import _hooks
    _hooks.modules(False)


def _subclasses(cls):
    seen, todo = [], [cls]
    while todo:
        c = todo.pop()
        if c not in seen:
            seen.append(c)
            todo.extend(c.__subclasses__())
    return seen


_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _user_stack():
    """The caller's frames outside fastnn, innermost first, as ``file(line): function``."""
    out = []
    for f in reversed(traceback.extract_stack()[:-3]):
        if not os.path.abspath(f.filename).startswith(_PKG_DIR):
            out.append(f"{f.filename}({f.lineno}): {f.name}")
    return out


# ---- names -----------------------------------------------------------------------------

_FORWARD_NAMES = {}


def _nll_name(node):
    """cross_entropy runs as one NllLoss node: its fused form (the fast path sets
    ``general``, the general path ``meta[4]``) is named as PyTorch names the op."""
    meta = getattr(node, "meta", None)
    fused = "general" in node.__dict__ or (isinstance(meta, tuple) and len(meta) > 4 and
                                            meta[4] is True)
    return "cross_entropy_loss" if fused else None


_ALIASES = {"NllLossBackward0": _nll_name}


def snake(name):
    name = re.sub(r"(\d)D", r"\1d", name)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def node_name(node):
    try:
        return node.name()
    except Exception:  # a name() that needs state the op never set
        return type(node).__name__


def forward_name(node):
    """``fastnn::`` and the snake_case of the node's name without ``Backward<N>``."""
    raw = node_name(node)
    alias = _ALIASES.get(type(node).__name__)
    if alias is not None:
        try:
            alias = alias(node)
        except Exception:
            alias = None
    key = (type(node), raw, alias)
    name = _FORWARD_NAMES.get(key)
    if name is None:
        op = alias or snake(re.sub(r"Backward\d*(_copy)?$", "", raw)) or snake(raw)
        name = _FORWARD_NAMES[key] = "fastnn::" + op
    return name


def record(name, cat="user_annotation"):
    """A decorator timing each call of a function as one range (no-op while not recording)."""
    def wrap(fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            if not _sessions:
                return fn(*args, **kwargs)
            fr = push(name, cat)
            try:
                return fn(*args, **kwargs)
            finally:
                pop(fr)
        return timed
    return wrap
