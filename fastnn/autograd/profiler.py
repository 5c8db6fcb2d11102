"""``fastnn.autograd.profiler``: the older profiler API, over ``fastnn.profiler``'s recorder."""
import warnings

from ..profiler import _record
from ..profiler._events import DeviceType, EventList, FunctionEvent, FunctionEventAvg  # noqa: F401
from ..profiler.profiler import record_function  # noqa: F401

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg",
           "DeviceType", "emit_nvtx", "emit_itt"]


class profile:
    """``with profile() as prof:`` records until the block ends; ``prof.table()`` and
    ``prof.key_averages()`` summarise, ``export_chrome_trace`` writes the timeline."""

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s=None,
                 activity_filters=None):
        self.enabled = enabled
        if use_cuda:
            warnings.warn("The attribute `use_cuda` will be deprecated soon, please use "
                          "``use_device = 'cuda'`` instead.", FutureWarning, stacklevel=2)
        self.use_device = "cuda" if use_cuda else use_device
        self.record_shapes = record_shapes
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.use_cpu = use_cpu
        self.entered = False
        self._collector = None
        self._function_events = None

    def __enter__(self):
        if not self.enabled:
            return self
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        self._function_events = None
        self._collector = _record.Collector(self.record_shapes, self.with_stack,
                                            self.profile_memory, self.with_flops,
                                            self.with_modules)
        if self.use_cpu:
            self._collector.start()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if not self.enabled:
            return False
        self._collector.stop()
        self._function_events = EventList(self._collector.events(),
                                          profile_memory=self.profile_memory,
                                          with_flops=self.with_flops)
        self.entered = False
        return False

    def __repr__(self):
        if self._function_events is None:
            return "<unfinished fastnn.autograd.profile>"
        return repr(self._function_events)

    def __str__(self):
        if self._function_events is None:
            return "<unfinished fastnn.autograd.profile>"
        return str(self._function_events)

    def _events(self):
        if self._function_events is None:
            raise AssertionError("Expected profiling results")
        return self._function_events

    @property
    def function_events(self):
        return self._function_events

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False):
        return self._events().table(sort_by=sort_by, row_limit=row_limit,
                                    max_src_column_width=max_src_column_width,
                                    max_name_column_width=max_name_column_width,
                                    max_shapes_column_width=max_shapes_column_width,
                                    header=header, top_level_events_only=top_level_events_only)

    def export_chrome_trace(self, path, metadata=None, use_python_export=False):
        return self._events().export_chrome_trace(path)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        return self._events().export_stacks(path, metric)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        return self._events().key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self):
        return self._events().total_average()

    @property
    def self_cpu_time_total(self):
        return self._events().self_cpu_time_total


class _NoAnnotations:
    """NVTX and ITT ranges belong to vendor tools fastnn does not drive."""

    def __init__(self, enabled=True, record_shapes=False):
        raise NotImplementedError(f"{type(self).__name__}: fastnn emits no NVTX/ITT ranges; "
                                  "use fastnn.profiler.profile")


class emit_nvtx(_NoAnnotations):
    pass


class emit_itt(_NoAnnotations):
    pass
