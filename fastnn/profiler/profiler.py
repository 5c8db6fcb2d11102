"""``fastnn.profiler.profile``: PyTorch's profiler API over fastnn's CPU event recorder."""
import enum
import os
import socket
import time
import warnings

from . import _record
from ._events import EventList

__all__ = ["ProfilerActivity", "ProfilerAction", "supported_activities", "schedule",
           "tensorboard_trace_handler", "record_function", "profile", "_RecordingProfile"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities():
    """fastnn records host-side (CPU) activity only; CUDA launches show as the ops that made
    them."""
    return {ProfilerActivity.CPU}


class record_function:
    """A named range in the profile: ``with record_function("name"):`` or as a decorator.

    Costs one check when no profiler is recording.
    """

    def __init__(self, name, args=None):
        self.name = name
        self.args = args
        self._frame = None

    def __enter__(self):
        if _record._sessions:
            self._frame = _record.push(self.name, "user_annotation")
        return self

    def __exit__(self, *exc):
        fr, self._frame = self._frame, None
        if fr is not None:
            _record.pop(fr)
        return False

    def __call__(self, fn):
        import functools
        name, args = self.name, self.args

        @functools.wraps(fn)
        def ranged(*a, **kw):
            with record_function(name, args):
                return fn(*a, **kw)
        return ranged


def schedule(*, wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """Steps to skip, then cycles of ``wait`` idle, ``warmup`` and ``active`` recorded steps
    (``repeat`` cycles; 0 repeats until profiling ends)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results",
                      stacklevel=2)
    cycle = wait + warmup + active

    def schedule_fn(step):
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait:
            step += wait
        if repeat > 0 and step >= repeat * cycle:
            return ProfilerAction.NONE
        at = step % cycle
        if at < wait:
            return ProfilerAction.NONE
        if at < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if at < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def _default_schedule_fn(_):
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name, worker_name=None, use_gzip=False,
                              use_python_export=False):
    """An ``on_trace_ready`` that writes each cycle's Chrome trace into ``dir_name`` as
    ``<worker>.<ns>.pt.trace.json`` (``.gz`` with ``use_gzip``)."""
    def handler_fn(prof):
        nonlocal worker_name
        if not os.path.isdir(dir_name):
            try:
                os.makedirs(dir_name, exist_ok=True)
            except Exception as e:
                raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker_name}.{time.time_ns()}.pt.trace.json" + (".gz" if use_gzip else "")
        prof.export_chrome_trace(os.path.join(dir_name, name))
    return handler_fn


class _RecordingProfile:
    """Recording without a schedule: ``start``/``stop`` and the exports."""

    def __init__(self, *, activities=None, record_shapes=False, profile_memory=False,
                 with_stack=False, with_flops=False, with_modules=False,
                 experimental_config=None, execution_trace_observer=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None):
        self.activities = set(activities) if activities else supported_activities()
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.with_modules = with_modules
        self.experimental_config = experimental_config
        self.execution_trace_observer = execution_trace_observer
        self.acc_events = acc_events
        self.custom_trace_id_callback = custom_trace_id_callback
        self.profiler = None       # the current cycle's collector
        self._done = []            # finished collectors whose events are reported
        self._events = None
        self._metadata = {}
        self._recording = False

    def start(self):
        self.prepare_trace()
        self.start_trace()

    def stop(self):
        self.stop_trace()

    def prepare_trace(self):
        if self.profiler is not None and not self.acc_events:
            self._done = []
        self.profiler = _record.Collector(self.record_shapes, self.with_stack,
                                          self.profile_memory, self.with_flops,
                                          self.with_modules)
        self._events = None

    def start_trace(self):
        if self.profiler is None:
            self.prepare_trace()
        if not self._recording and ProfilerActivity.CPU in self.activities:
            self._recording = True
            self.profiler.start()

    def stop_trace(self):
        if self._recording:
            self._recording = False
            self.profiler.stop()
            self._done.append(self.profiler)
            self._events = None

    def events(self):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before accessing events")
        if self._events is None:
            evts = []
            for c in self._done:
                evts.extend(c.events())
            self._events = EventList(evts, profile_memory=self.profile_memory,
                                     with_flops=self.with_flops, trace_meta=self._metadata)
        return self._events

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before getting key averages")
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def export_chrome_trace(self, path, use_python_export=False):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting chrome trace")
        self.events().export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before exporting stacks")
        self.events().export_stacks(path, metric)

    def add_metadata(self, key, value):
        self._metadata[key] = str(value)

    def add_metadata_json(self, key, value):
        import json
        self._metadata[key] = json.loads(value)

    def export_memory_timeline(self, path, device=None):
        raise NotImplementedError("export_memory_timeline: fastnn's profiler does not track "
                                  "allocations over time (profile_memory reports the bytes "
                                  "each op's outputs take)")


_TRANSITIONS = None


def _transitions():
    A = ProfilerAction
    prep, start, stop, ready = "prepare", "start", "stop", "ready"
    return {
        (A.NONE, A.WARMUP): [prep], (A.NONE, A.RECORD): [prep, start],
        (A.NONE, A.RECORD_AND_SAVE): [prep, start],
        (A.WARMUP, A.NONE): ["Incorrect schedule: WARMUP followed by NONE", start, stop],
        (A.WARMUP, A.RECORD): [start], (A.WARMUP, A.RECORD_AND_SAVE): [start],
        (A.RECORD, A.NONE): ["Incorrect schedule: RECORD followed by NONE", stop],
        (A.RECORD, A.WARMUP): ["Incorrect schedule: RECORD followed by WARMUP", stop],
        (A.RECORD_AND_SAVE, A.NONE): [stop, ready],
        (A.RECORD_AND_SAVE, A.WARMUP): [stop, ready, prep],
        (A.RECORD_AND_SAVE, A.RECORD): [stop, ready, prep, start],
        (A.RECORD_AND_SAVE, A.RECORD_AND_SAVE): [stop, ready, prep, start],
        (A.WARMUP, None): [start, stop], (A.RECORD, None): [stop, ready],
        (A.RECORD_AND_SAVE, None): [stop, ready],
    }


class profile(_RecordingProfile):
    """``with profile(...) as prof:`` records fastnn's ops, backward nodes, optimizer steps
    and ``record_function`` ranges; ``prof.step()`` advances the ``schedule``."""

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, execution_trace_observer=None,
                 acc_events=False, use_cuda=None, custom_trace_id_callback=None,
                 post_processing_timeout_s=None):
        acts = set(activities) if activities is not None else supported_activities()
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead",
                          FutureWarning, stacklevel=2)
            if use_cuda:
                acts.add(ProfilerActivity.CUDA)
            else:
                acts.discard(ProfilerActivity.CUDA)
        if not acts:
            raise AssertionError("No valid profiler activities found")
        super().__init__(activities=acts, record_shapes=record_shapes,
                         profile_memory=profile_memory, with_stack=with_stack,
                         with_flops=with_flops, with_modules=with_modules,
                         experimental_config=experimental_config,
                         execution_trace_observer=execution_trace_observer,
                         acc_events=acc_events, custom_trace_id_callback=custom_trace_id_callback)
        self.schedule = schedule or _default_schedule_fn
        self.record_steps = schedule is not None  # ProfilerStep#N ranges, as in PyTorch
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.current_action = self.schedule(self.step_num)
        self.step_rec_fn = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.stop()
        return False

    def start(self):
        self._transit(ProfilerAction.NONE, self.current_action)
        self._enter_step()

    def stop(self):
        self._exit_step()
        try:
            self._transit(self.current_action, None)
        finally:
            super().stop_trace()  # whatever the callbacks did, recording ends here

    def step(self):
        self._exit_step()
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        self._enter_step()

    def _enter_step(self):
        if self.record_steps:
            self.step_rec_fn = record_function(f"ProfilerStep#{self.step_num}")
            self.step_rec_fn.__enter__()

    def _exit_step(self):
        if self.step_rec_fn is not None:
            rec, self.step_rec_fn = self.step_rec_fn, None
            rec.__exit__(None, None, None)

    def _transit(self, prev, now):
        global _TRANSITIONS
        if _TRANSITIONS is None:
            _TRANSITIONS = _transitions()
        for action in _TRANSITIONS.get((prev, now), ()):
            if action == "prepare":
                self.prepare_trace()
            elif action == "start":
                self.start_trace()
            elif action == "stop":
                self.stop_trace()
            elif action == "ready":
                if self.on_trace_ready:
                    self.on_trace_ready(self)
            else:
                warnings.warn(action, stacklevel=3)
