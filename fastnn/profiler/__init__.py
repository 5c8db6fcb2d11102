"""``fastnn.profiler``: PyTorch's profiler API for fastnn's CPU work.

While a ``profile`` records, every graph op's forward (``fastnn::addmm``), every node's
backward (``AddmmBackward0``), custom Functions, optimizer steps
(``Optimizer.step#SGD.step``), ``record_function`` ranges and, with ``with_modules``, module
forwards (``nn.Module: Linear_0``) are timed. Recording swaps timing wrappers in for a few
fastnn entry points and puts the originals back when it stops, so code that is not being
profiled runs exactly as before.
"""
from .profiler import (ProfilerAction, ProfilerActivity, _RecordingProfile, profile,  # noqa: F401
                       record_function, schedule, supported_activities,
                       tensorboard_trace_handler)
from ._events import EventList, FunctionEvent, FunctionEventAvg  # noqa: F401

__all__ = ["profile", "record_function", "schedule", "supported_activities",
           "tensorboard_trace_handler", "ProfilerAction", "ProfilerActivity",
           "ExecutionTraceObserver"]


class ExecutionTraceObserver:
    def __init__(self):
        raise NotImplementedError("fastnn's profiler does not write execution traces: use "
                                  "export_chrome_trace for a timeline")
