"""fastnn.jit: TorchScript's entry points run the Python code they are given."""
import pytest

import fastnn
from fastnn import nn


def test_script_and_trace_return_what_they_are_given():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    x = fastnn.randn(4, 3)
    with pytest.warns(DeprecationWarning, match=r"`torch.jit.script` is deprecated"):
        scripted = fastnn.jit.script(model)
    assert scripted is model
    with pytest.warns(DeprecationWarning, match=r"`torch.jit.trace` is deprecated"):
        traced = fastnn.jit.trace(model, x)
    assert traced is model
    assert fastnn.equal(traced(x), model(x))


def test_trace_runs_the_example_so_errors_surface():
    with pytest.warns(DeprecationWarning):
        with pytest.raises(RuntimeError, match="cannot be multiplied"):
            fastnn.jit.trace(nn.Linear(3, 2), fastnn.randn(4, 5))


def test_decorators_and_helpers():
    @fastnn.jit.ignore
    def f(x):
        return x + 1

    @fastnn.jit.ignore(drop=True)
    def g(x):
        return x + 2

    @fastnn.jit.unused
    def h(x):
        return x + 3

    assert (f(1), g(1), h(1)) == (2, 3, 4)
    assert not fastnn.jit.is_scripting() and not fastnn.jit.is_tracing()
    assert fastnn.jit.annotate(int, 5) == 5
    with pytest.warns(DeprecationWarning, match="fork"):
        fut = fastnn.jit.fork(lambda a, b: a * b, 3, b=4)
    with pytest.warns(DeprecationWarning, match="wait"):
        assert fastnn.jit.wait(fut) == 12
    model = nn.Linear(2, 2)
    assert fastnn.jit.freeze(model) is model


def test_save_and_load_point_to_state_dict(tmp_path):
    with pytest.raises(NotImplementedError, match="state_dict"):
        fastnn.jit.save(nn.Linear(2, 2), tmp_path / "m.pt")
    with pytest.raises(NotImplementedError, match="state_dict"):
        fastnn.jit.load(tmp_path / "m.pt")
