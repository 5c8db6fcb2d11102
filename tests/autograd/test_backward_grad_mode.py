"""Backward runs with grad mode off (unless create_graph), and custom Functions are held to
PyTorch's contract on what backward returns and what ctx may save."""
import pytest

import fastnn
from fastnn.autograd import Function


class Seen(Function):
    modes = []

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        Seen.modes.append(fastnn.is_grad_enabled())
        out = g * 2 * x / x
        Seen.modes.append(out.requires_grad)
        return out


def test_custom_backward_runs_without_grad_mode():
    Seen.modes.clear()
    x = fastnn.ones(3, requires_grad=True)
    Seen.apply(x).sum().backward()
    assert Seen.modes == [False, False]
    assert fastnn.is_grad_enabled()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_tensor_hook_runs_without_grad_mode_and_mode_is_restored():
    seen = []
    x = fastnn.ones(2, requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: seen.append((fastnn.is_grad_enabled(), (g * x).requires_grad)))
    y.sum().backward()
    assert seen == [(False, False)]
    assert fastnn.is_grad_enabled()


def test_mode_restored_after_a_failing_backward():
    x = fastnn.ones(2, requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        y.sum().backward()
    assert fastnn.is_grad_enabled()
    with fastnn.no_grad():
        z = (x * 2).sum()
    assert not fastnn.is_grad_enabled() or z.grad_fn is None


def test_create_graph_keeps_grad_mode_for_double_backward():
    Seen.modes.clear()
    x = fastnn.ones(3, requires_grad=True)
    (g,) = fastnn.autograd.grad(Seen.apply(x).sum(), x, create_graph=True)
    assert Seen.modes[0] is True


class TooFew(Function):
    @staticmethod
    def forward(ctx, x, k):
        return x * k

    @staticmethod
    def backward(ctx, g):
        return g


def test_backward_returning_too_few_gradients_raises():
    x = fastnn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"incorrect number of gradients \(expected 2, got 1\)"):
        TooFew.apply(x, 2.0).sum().backward()


class SavesInt(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x, 3)
        return x

    @staticmethod
    def backward(ctx, g):
        return g


def test_save_for_backward_refuses_non_tensors():
    with pytest.raises(TypeError, match="save_for_backward can only save variables, but "
                                        "argument 1 is of type int"):
        SavesInt.apply(fastnn.ones(2, requires_grad=True))


def test_matches_pytorch_on_grad_mode_in_backward():
    torch = pytest.importorskip("torch")
    for lib in (fastnn, torch):
        seen = []
        x = lib.ones(2, requires_grad=True)
        y = x * 3
        y.register_hook(lambda g: seen.append(lib.is_grad_enabled()))
        y.sum().backward()
        assert seen == [False]
