"""Recorded events, their averages by name, the summary table and the Chrome trace.

Times are microseconds (floats), as in PyTorch's ``FunctionEvent``.
"""
import enum
import gzip
import json
import os
import socket

__all__ = ["FunctionEvent", "FunctionEventAvg", "EventList", "DeviceType"]


class DeviceType(enum.Enum):
    """Where an event ran (``evt.device_type == DeviceType.CPU``): always the CPU here."""
    CPU = 0
    CUDA = 1


class Interval:
    def __init__(self, start, end):
        self.start = start
        self.end = end

    def elapsed_us(self):
        return self.end - self.start


class _DeviceTimes:
    """The device columns PyTorch's events carry; fastnn profiles the CPU only."""
    device_time_total = self_device_time_total = device_time = 0.0
    device_memory_usage = self_device_memory_usage = 0
    is_async = False
    is_legacy = False
    node_id = -1
    use_device = None
    overload_name = ""
    device_type = DeviceType.CPU

    @property
    def cuda_time_total(self):
        return self.device_time_total

    @property
    def self_cuda_time_total(self):
        return self.self_device_time_total

    @property
    def cuda_memory_usage(self):
        return self.device_memory_usage

    @property
    def self_cuda_memory_usage(self):
        return self.self_device_memory_usage

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0

    @property
    def cpu_time_str(self):
        return format_time(self.cpu_time)

    @property
    def cpu_time_total_str(self):
        return format_time(self.cpu_time_total)

    @property
    def self_cpu_time_total_str(self):
        return format_time(self.self_cpu_time_total)


class FunctionEvent(_DeviceTimes):
    """One timed range: an op's forward, a node's backward, a user or module range."""
    count = 1

    def __init__(self, id, name, cat, thread, start_us, end_us, input_shapes=None, stack=None,
                 self_memory=0, flops=0, trace_name=None):
        self.id = id
        self.name = name
        self.trace_name = trace_name or name
        self.cat = cat
        self.thread = thread
        self.time_range = Interval(start_us, end_us)
        self.input_shapes = input_shapes or []
        self.stack = stack or []
        self.flops = flops
        self.cpu_parent = None
        self.cpu_children = []
        self._self_memory = self_memory
        self.is_user_annotation = cat == "user_annotation"

    @property
    def key(self):
        return self.name

    @property
    def cpu_time_total(self):
        return self.time_range.elapsed_us()

    @property
    def self_cpu_time_total(self):
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self):
        return self._self_memory

    @property
    def cpu_memory_usage(self):
        return self._self_memory + sum(c.cpu_memory_usage for c in self.cpu_children)

    def __repr__(self):
        return (f"<FunctionEvent id={self.id} name={self.name} "
                f"cpu_time={format_time(self.cpu_time_total)} "
                f"start_us={self.time_range.start:.3f} end_us={self.time_range.end:.3f} "
                f"input_shapes={self.input_shapes}>")


class FunctionEventAvg(_DeviceTimes):
    """The events of one name (and shape or stack, when grouped by them), summed."""

    def __init__(self):
        self.key = None
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.flops = 0
        self.input_shapes = None
        self.stack = None
        self.cpu_parent = None
        self.is_user_annotation = False

    def add(self, evt):
        if self.key is None:
            self.key = evt.key
            self.input_shapes = evt.input_shapes
            self.stack = evt.stack
            self.cpu_parent = evt.cpu_parent
            self.is_user_annotation = evt.is_user_annotation
        self.count += evt.count
        self.cpu_time_total += evt.cpu_time_total
        self.self_cpu_time_total += evt.self_cpu_time_total
        self.cpu_memory_usage += evt.cpu_memory_usage
        self.self_cpu_memory_usage += evt.self_cpu_memory_usage
        self.flops += evt.flops
        return self

    def __iadd__(self, other):
        return self.add(other)

    def __repr__(self):
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str}  self_cuda_time=0.000us cuda_time=0.000us "
                f"input_shapes={self.input_shapes} cpu_memory_usage={self.cpu_memory_usage} "
                f"cuda_memory_usage=0>")


def format_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _format_share(part, whole):
    if whole == 0:
        return "NaN"
    return f"{part * 100.0 / whole:.2f}%"


def _format_memory(n):
    for size, unit in ((1024 ** 3, "GB"), (1024 ** 2, "MB"), (1024, "KB")):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def _in_unit(us, unit):
    if unit == "s":
        return f"{us / 1e6:.3f}s"
    if unit == "ms":
        return f"{us / 1e3:.3f}ms"
    if unit == "us":
        return f"{us:.3f}us"
    return format_time(us)


class EventList(list):
    """A list of events with PyTorch's summaries: ``table``, ``key_averages``, traces."""

    def __init__(self, *args, profile_memory=False, with_flops=False, trace_meta=None,
                 **kwargs):
        super().__init__(*args)
        self._profile_memory = profile_memory
        self._with_flops = with_flops
        self._trace_meta = trace_meta or {}

    def _like(self, items):
        return EventList(items, profile_memory=self._profile_memory, with_flops=self._with_flops,
                         trace_meta=self._trace_meta)

    @property
    def self_cpu_time_total(self):
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False):
        groups = {}
        for evt in self:
            key = [evt.key]
            if group_by_input_shape:
                key.append(str(evt.input_shapes))
            if group_by_stack_n > 0:
                key.append(tuple(evt.stack[:group_by_stack_n]))
            avg = groups.get(tuple(key))
            if avg is None:
                avg = groups[tuple(key)] = FunctionEventAvg()
            avg.add(evt)
        if not group_by_input_shape:
            for avg in groups.values():
                avg.input_shapes = None
        if group_by_stack_n <= 0:
            for avg in groups.values():
                avg.stack = None
        return self._like(groups.values())

    def total_average(self):
        total = FunctionEventAvg()
        for evt in self:
            total.add(evt)
        total.key = "Total"
        return total

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75,
              max_name_column_width=55, max_shapes_column_width=80, header=None,
              top_level_events_only=False, time_unit=None):
        return _table(self, sort_by, row_limit, max_src_column_width, max_name_column_width,
                      max_shapes_column_width, header, top_level_events_only, time_unit,
                      self._profile_memory, self._with_flops)

    def __str__(self):
        return self.table()

    def export_chrome_trace(self, path):
        write_chrome_trace(self, path, self._trace_meta)

    def export_stacks(self, path, metric="self_cpu_time_total"):
        metric = metric.replace("cuda", "device")
        lines = []
        for evt in self:
            if evt.stack:
                value = int(getattr(evt, metric))
                lines.append(";".join(reversed(evt.stack)) + f" {value}\n")
        _atomic_write(path, "".join(lines).encode())


def _table(events, sort_by, row_limit, src_width, name_width, shapes_width, header,
           top_level_only, time_unit, profile_memory, with_flops):
    if len(events) == 0:
        return ""
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device")
        events = sorted(events, key=lambda e: getattr(e, attr), reverse=True)
    shapes = any(e.input_shapes for e in events)
    stacks = any(e.stack for e in events)
    flops = with_flops and any(e.flops > 0 for e in events)
    width = max(len(e.key) for e in events) + 4
    if name_width is not None:
        width = min(width, name_width)
    cols = [("Name", width, ">")]
    cols += [(h, 12, ">") for h in ("Self CPU %", "Self CPU", "CPU total %", "CPU total",
                                    "CPU time avg")]
    if profile_memory:
        cols += [("CPU Mem", 12, ">"), ("Self CPU Mem", 12, ">")]
    cols.append(("# of Calls", 12, ">"))
    if shapes:
        w = max(len(str(e.input_shapes)) for e in events) + 4
        cols.append(("Input Shapes", min(w, shapes_width) if shapes_width else w, ">"))
    if stacks:
        w = max(len(s) for e in events for s in (e.stack or [""])) + 4
        cols.append(("Source Location", min(w, src_width) if src_width else w, "<"))
    scale = 1.0
    if flops:
        smallest = min(e.flops for e in events if e.flops > 0)
        power = min(max(0, (len(str(int(smallest))) - 1) // 3), 5)
        scale = 10.0 ** (-3 * power)
        cols.append((f"Total {['', 'K', 'M', 'G', 'T', 'P'][power]}FLOPs", 12, ">"))
    fmt = "".join("{:" + d + str(w) + "}  " for _, w, d in cols)
    sep = "".join("-" * w + "  " for _, w, _ in cols)
    total = sum(e.self_cpu_time_total for e in events)
    out = []
    if header is not None:
        out += ["=" * (len(sep) - 2), header]
    if top_level_only:
        out += ["=" * (len(sep) - 2), "This report only display top-level ops statistics"]
    out += [sep, fmt.format(*[c[0] for c in cols]), sep]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key
        if name_width is not None and len(name) >= name_width - 3:
            name = name[:name_width - 3] + "..."
        row = [name, _format_share(e.self_cpu_time_total, total),
               _in_unit(e.self_cpu_time_total, time_unit),
               _format_share(e.cpu_time_total, total), _in_unit(e.cpu_time_total, time_unit),
               _in_unit(e.cpu_time, time_unit)]
        if profile_memory:
            row += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
        row.append(e.count)
        if shapes:
            row.append(str(e.input_shapes)[:cols[len(row)][1]])
        if stacks:
            row.append(_trim(e.stack[0], cols[len(row)][1]) if e.stack else "")
        if flops:
            row.append("--" if e.flops <= 0 else f"{e.flops * scale:8.3f}")
        out.append(fmt.format(*row))
        if stacks:
            blank = [""] * (len(cols) - 1)
            for entry in (e.stack or [])[1:]:
                out.append(fmt.format(*blank, _trim(entry, cols[-1][1])))
    out += [sep, f"Self CPU time total: {_in_unit(total, time_unit)}"]
    return "\n".join(out) + "\n"


def _trim(path, width):
    if len(path) > width:
        path = "..." + path[len(path) - width + 3:]
    return path


def _atomic_write(path, data):
    """Write to a temporary name beside ``path``, then rename: readers never see half a file."""
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_chrome_trace(events, path, meta):
    pid = os.getpid()
    trace = []
    for e in events:
        args = {"External id": e.id}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.stack:
            args["Call stack"] = ";".join(e.stack)
        if e.self_cpu_memory_usage:
            args["Self Memory (bytes)"] = e.self_cpu_memory_usage
        if e.flops:
            args["flops"] = e.flops
        trace.append({"ph": "X", "cat": e.cat, "name": e.trace_name, "pid": pid,
                      "tid": e.thread, "ts": round(e.time_range.start, 3),
                      "dur": round(e.cpu_time_total, 3), "args": args})
    doc = {"schemaVersion": 1, "deviceProperties": [], "host_name": socket.gethostname(),
           "displayTimeUnit": "ms", "traceEvents": trace, "traceName": os.fspath(path)}
    doc.update(meta)
    data = json.dumps(doc).encode()
    if os.fspath(path).endswith(".gz"):
        data = gzip.compress(data)
    _atomic_write(path, data)
