"""fastnn.profiler: what a training step records, the summary table, record_function nesting,
and that every patched entry point is the original again once profiling stops."""
import re
import sys
import types

import pytest

import fastnn
from fastnn.autograd import engine, function
from fastnn.profiler import ProfilerActivity, profile, record_function

STEPS = 3


def _train(steps=STEPS, prof=None):
    fastnn.manual_seed(0)
    model = fastnn.nn.Sequential(fastnn.nn.Linear(8, 16), fastnn.nn.ReLU(),
                                 fastnn.nn.Linear(16, 4))
    opt = fastnn.optim.SGD(model.parameters(), lr=0.1)
    x = fastnn.randn(10, 8)
    y = fastnn.randint(0, 4, (10,))
    for _ in range(steps):
        loss = fastnn.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if prof is not None:
            prof.step()
    return model


def _originals():
    import fastnn.optim.optimizer as optimizer
    return (function.apply_node, engine._execute, function.Function.__dict__["apply"],
            optimizer.run_step, optimizer.Optimizer.__dict__["zero_grad"])


@pytest.fixture(scope="module")
def trained():
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        _train(prof=prof)
    return prof


def test_training_step_records_ops_backwards_and_optimizer(trained):
    counts = {e.key: e.count for e in trained.key_averages()}
    assert counts["fastnn::addmm"] == 2 * STEPS
    assert counts["fastnn::relu"] == STEPS
    assert counts["fastnn::cross_entropy_loss"] == STEPS
    assert counts["AddmmBackward0"] == 2 * STEPS
    assert counts["ReluBackward0"] == STEPS
    assert counts["NllLossBackward0"] == STEPS
    assert counts["Optimizer.step#SGD.step"] == STEPS
    assert counts["Optimizer.zero_grad#SGD.zero_grad"] == STEPS
    assert not any(k.startswith("ProfilerStep") for k in counts)  # only with a schedule


def test_self_time_is_total_minus_children(trained):
    for e in trained.events():
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total
        child = sum(c.cpu_time_total for c in e.cpu_children)
        assert e.self_cpu_time_total == pytest.approx(e.cpu_time_total - child)
        if e.cpu_parent is not None:
            assert e.cpu_parent.time_range.start <= e.time_range.start
            assert e.time_range.end <= e.cpu_parent.time_range.end
    for a in trained.key_averages():
        assert a.self_cpu_time_total <= a.cpu_time_total + 1e-9
        assert a.cpu_time == pytest.approx(a.cpu_time_total / a.count)


HEADER = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
          "# of Calls"]


def _rows(table):
    lines = table.splitlines()
    seps = [i for i, line in enumerate(lines) if line.startswith("---")]
    assert len(seps) == 3
    head = re.split(r"\s{2,}", lines[seps[0] + 1].strip())
    body = [re.split(r"\s{2,}", line.strip()) for line in lines[seps[1] + 1:seps[2]]]
    return head, body, lines


def test_table_header_and_footer(trained):
    head, body, lines = _rows(trained.key_averages().table(sort_by="cpu_time_total"))
    assert head == HEADER
    assert lines[-1].startswith("Self CPU time total: ")
    assert all(len(r) == len(HEADER) for r in body)
    assert all(r[1].endswith("%") and r[3].endswith("%") for r in body)


def test_table_header_matches_pytorch():
    torch = pytest.importorskip("torch")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as tp:
        torch.ones(3) * 2
    theads, _, _ = _rows(tp.key_averages().table(row_limit=3))
    with profile() as prof:
        fastnn.ones(3, requires_grad=True) * 2
    assert _rows(prof.key_averages().table(row_limit=3))[0] == theads


@pytest.mark.parametrize("sort_by", ["cpu_time_total", "self_cpu_time_total", "count",
                                     "cpu_time"])
def test_table_sort_order(trained, sort_by):
    avgs = trained.key_averages()
    expect = [a.key for a in sorted(avgs, key=lambda a: getattr(a, sort_by), reverse=True)]
    _, body, _ = _rows(avgs.table(sort_by=sort_by, row_limit=-1))
    assert [r[0] for r in body] == expect
    if sort_by == "count":
        counts = [int(r[-1]) for r in body]
        assert counts == sorted(counts, reverse=True)


def test_row_limit_and_unknown_sort_key(trained):
    _, body, _ = _rows(trained.key_averages().table(sort_by="count", row_limit=2))
    assert len(body) == 2
    with pytest.raises(AttributeError):
        trained.key_averages().table(sort_by="no_such_column")


def test_group_by_input_shape(trained):
    avgs = trained.key_averages(group_by_input_shape=True)
    addmm = [a for a in avgs if a.key == "fastnn::addmm"]
    assert sorted(map(str, (a.input_shapes for a in addmm))) == \
        ["[[10, 16], [4, 16], [4]]", "[[10, 8], [16, 8], [16]]"]
    assert all(a.count == STEPS for a in addmm)
    head, body, _ = _rows(avgs.table(sort_by="count"))
    assert head == HEADER + ["Input Shapes"]


def test_record_function_nesting_and_decorator():
    @record_function("decorated")
    def work(t):
        return (t * 2).sum()

    with profile() as prof:
        with record_function("outer"):
            with record_function("inner"):
                work(fastnn.ones(4, requires_grad=True))
    ev = {e.name: e for e in prof.events()}
    assert ev["inner"].cpu_parent is ev["outer"]
    assert ev["decorated"].cpu_parent is ev["inner"]
    assert ev["fastnn::mul"].cpu_parent is ev["decorated"]
    outer = ev["outer"]
    assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total -
                                                      ev["inner"].cpu_time_total)
    assert outer.is_user_annotation
    # outside a profiler a range costs nothing and records nothing
    assert work(fastnn.ones(2)).item() == 4.0


def test_custom_function_and_modules_recorded():
    class Twice(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    lin = fastnn.nn.Linear(3, 2)
    with profile(with_modules=True) as prof:
        Twice.apply(lin(fastnn.randn(4, 3))).sum().backward()
    names = {e.name for e in prof.events()}
    assert {"Twice", "TwiceBackward", "nn.Module: Linear_0", "fastnn::addmm"} <= names
    from fastnn.nn.modules import _hooks
    assert not _hooks.state.on  # the global module hooks are gone again


def test_memory_and_flops_columns():
    lin = fastnn.nn.Linear(8, 4)
    with profile(profile_memory=True, with_flops=True) as prof:
        lin(fastnn.randn(5, 8))
    addmm = next(a for a in prof.key_averages() if a.key == "fastnn::addmm")
    assert addmm.self_cpu_memory_usage == 5 * 4 * 4
    assert addmm.flops == 2 * 5 * 4 * 8
    head, _, _ = _rows(prof.key_averages().table())
    assert head[6:8] == ["CPU Mem", "Self CPU Mem"] and head[-1] == "Total FLOPs"


def test_originals_restored_after_exit_and_exception():
    before = _originals()
    with profile():
        assert function.apply_node is not before[0]
        assert engine._execute is not before[1]
        assert fastnn.optim.optimizer.run_step is not before[3]
        _train(steps=1)
    assert _originals() == before
    with pytest.raises(ValueError):
        with profile(with_modules=True):
            _train(steps=1)
            raise ValueError("boom")
    assert _originals() == before
    from fastnn.nn.modules import _hooks
    assert not _hooks.state.on


def test_module_imported_while_profiling_gets_the_original_back():
    original = function.apply_node
    name = "fastnn._profiler_test_late_module"
    with profile():
        late = types.ModuleType(name)
        late.apply_node = function.apply_node  # what `from ...function import apply_node` binds
        sys.modules[name] = late
    try:
        assert late.apply_node is original
    finally:
        del sys.modules[name]


def test_nothing_recorded_outside_the_profile():
    with profile() as prof:
        pass
    _train(steps=1)
    assert len(prof.events()) == 0
    assert prof.key_averages().table() == ""


def test_autograd_profiler_alias():
    ap = fastnn.autograd.profiler
    assert ap.record_function is record_function
    with ap.profile(record_shapes=True) as prof:
        with ap.record_function("block"):
            (fastnn.randn(3, requires_grad=True) * 3).sum().backward()
    names = [e.key for e in prof.key_averages()]
    assert {"block", "fastnn::mul", "MulBackward0", "SumBackward0"} <= set(names)
    assert "Self CPU time total" in prof.table()
    assert prof.self_cpu_time_total > 0
    with pytest.raises(RuntimeError, match="not reentrant"):
        with prof:
            with prof:
                pass
    with ap.profile(enabled=False) as off:
        fastnn.ones(2) * 2
    assert str(off) == "<unfinished fastnn.autograd.profile>"


def test_with_stack_records_user_frames(tmp_path):
    def user_code():
        return (fastnn.ones(3, requires_grad=True) * 2).sum()

    with profile(with_stack=True) as prof:
        user_code()
    mul = next(e for e in prof.events() if e.key == "fastnn::mul")
    assert mul.stack[0].endswith(": user_code")
    assert all("/fastnn/" not in s.split("(")[0] for s in mul.stack)
    head, _, _ = _rows(prof.key_averages(group_by_stack_n=1).table())
    assert head[-1] == "Source Location"
    prof.export_stacks(str(tmp_path / "stacks.txt"))
    lines = (tmp_path / "stacks.txt").read_text().splitlines()
    assert any(line.split(" ")[-1].isdigit() and "user_code" in line for line in lines)


def test_optimizer_step_wrapped_by_an_lr_scheduler_is_recorded():
    p = fastnn.nn.Parameter(fastnn.ones(3))
    opt = fastnn.optim.Adam([p], lr=0.1)
    sched = fastnn.optim.lr_scheduler.StepLR(opt, step_size=1)
    with profile() as prof:
        for _ in range(2):
            p.grad = fastnn.ones(3)
            opt.step()
            sched.step()
    counts = {e.key: e.count for e in prof.key_averages()}
    assert counts["Optimizer.step#Adam.step"] == 2
