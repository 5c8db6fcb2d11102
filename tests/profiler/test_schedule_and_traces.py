"""fastnn.profiler schedules (wait/warmup/active/repeat/skip_first), on_trace_ready, and the
Chrome traces written by export_chrome_trace and tensorboard_trace_handler."""
import gzip
import json
import os

import pytest

import fastnn
from fastnn.profiler import (ProfilerAction, profile, record_function, schedule,
                             tensorboard_trace_handler)

A = ProfilerAction


def _work():
    with record_function("work"):
        (fastnn.ones(3, requires_grad=True) * 2).sum()


def test_schedule_actions_match_pytorch():
    torch = pytest.importorskip("torch")
    for kw in [dict(wait=1, warmup=1, active=2, repeat=2),
               dict(wait=0, warmup=2, active=1, repeat=0, skip_first=3),
               dict(wait=2, warmup=1, active=3, repeat=1, skip_first=1, skip_first_wait=1)]:
        ours = schedule(**kw)
        theirs = torch.profiler.schedule(**kw)
        assert [ours(s).name for s in range(25)] == [theirs(s).name for s in range(25)]


def test_schedule_sequence():
    s = schedule(wait=1, warmup=1, active=2, repeat=1)
    assert [s(i) for i in range(6)] == [A.NONE, A.WARMUP, A.RECORD, A.RECORD_AND_SAVE,
                                       A.NONE, A.NONE]


def test_schedule_argument_checks():
    with pytest.raises(AssertionError, match=r"Invalid profiler schedule arguments\. Got "
                                             r"wait=1 \(need >= 0\), warmup=1 \(need >= 0\), "
                                             r"active=0 \(need > 0\)"):
        schedule(wait=1, warmup=1, active=0)
    with pytest.warns(UserWarning, match="Profiler won't be using warmup"):
        schedule(wait=1, warmup=0, active=1)


@pytest.mark.parametrize("wait, warmup, active, repeat, skip_first, steps", [
    (1, 1, 2, 2, 0, 12),
    (0, 1, 1, 3, 0, 10),
    (2, 1, 3, 0, 1, 20),
])
def test_cycles_and_on_trace_ready(wait, warmup, active, repeat, skip_first, steps):
    seen = []

    def ready(p):
        keys = [e.key for e in p.events()]
        seen.append((p.step_num, keys.count("ProfilerStep*"), keys.count("work")))

    with profile(schedule=schedule(wait=wait, warmup=warmup, active=active, repeat=repeat,
                                   skip_first=skip_first), on_trace_ready=ready) as p:
        for _ in range(steps):
            _work()
            p.step()
    cycle = wait + warmup + active
    full = (steps - skip_first) // cycle
    expect = min(full, repeat) if repeat else full
    assert len(seen) == expect
    for k, (step, n_steps, n_work) in enumerate(seen):
        assert step == skip_first + (k + 1) * cycle  # called as the cycle's last step ends
        assert n_steps == active and n_work == active


def test_partial_active_cycle_is_reported_on_exit():
    seen = []
    with profile(schedule=schedule(wait=0, warmup=1, active=3),
                 on_trace_ready=lambda p: seen.append(len(p.events()))) as p:
        for _ in range(3):  # warmup, then two of the three active steps
            _work()
            p.step()
    assert len(seen) == 1 and seen[0] > 0


def test_nothing_recorded_during_wait_and_warmup():
    with profile(schedule=schedule(wait=2, warmup=2, active=1, repeat=1)) as p:
        for i in range(5):
            with record_function(f"step{i}"):
                pass
            p.step()
    assert [e.key for e in p.events() if e.key.startswith("step")] == ["step4"]


def test_export_chrome_trace(tmp_path):
    path = tmp_path / "trace.json"
    with profile(record_shapes=True) as p:
        with record_function("outer"):
            fastnn.nn.Linear(3, 2)(fastnn.randn(4, 3)).sum().backward()
    p.export_chrome_trace(str(path))
    assert os.listdir(tmp_path) == ["trace.json"]  # the temporary name was renamed away
    doc = json.loads(path.read_text())
    events = doc["traceEvents"]
    by_name = {e["name"]: e for e in events}
    assert {"outer", "fastnn::addmm", "AddmmBackward0"} <= set(by_name)
    for e in events:
        assert e["ph"] == "X" and e["dur"] >= 0 and isinstance(e["ts"], float)
    assert by_name["outer"]["cat"] == "user_annotation"
    assert by_name["fastnn::addmm"]["args"]["Input Dims"] == [[4, 3], [2, 3], [2]]
    outer, op = by_name["outer"], by_name["fastnn::addmm"]
    assert outer["ts"] <= op["ts"] and op["ts"] + op["dur"] <= outer["ts"] + outer["dur"] + 1e-3


def test_export_chrome_trace_gzip(tmp_path):
    with profile() as p:
        fastnn.ones(2, requires_grad=True) * 2
    p.export_chrome_trace(str(tmp_path / "t.json.gz"))
    with gzip.open(tmp_path / "t.json.gz") as f:
        assert "traceEvents" in json.load(f)


def test_tensorboard_trace_handler_writes_one_file_per_cycle(tmp_path):
    out = tmp_path / "logs"
    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2),
                 on_trace_ready=tensorboard_trace_handler(str(out), worker_name="w0")) as p:
        for _ in range(10):
            _work()
            p.step()
    files = sorted(os.listdir(out))
    assert len(files) == 2
    for f in files:
        assert f.startswith("w0.") and f.endswith(".pt.trace.json")
        names = [e["name"] for e in json.loads((out / f).read_text())["traceEvents"]]
        assert names.count("work") == 2
        assert any(n.startswith("ProfilerStep#") for n in names)


def test_start_stop_without_context_manager():
    p = profile()
    p.start()
    _work()
    p.stop()
    assert [e.key for e in p.key_averages()].count("work") == 1
    from fastnn.autograd import function
    assert not hasattr(function.apply_node, "__wrapped__")


def test_acc_events_keeps_every_cycle():
    with profile(schedule=schedule(wait=0, warmup=1, active=1), acc_events=True) as p:
        for _ in range(6):
            _work()
            p.step()
    assert [e.key for e in p.events()].count("work") == 3
