"""PyTorch's warnings from anomaly detection and backward(create_graph=True)."""
import warnings

import pytest

import fastnn
import fastnn.autograd as autograd


def test_detect_anomaly_warns_each_time_it_is_made():
    for check_nan in (True, False):
        with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
            with autograd.detect_anomaly(check_nan=check_nan):
                pass
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        autograd.set_detect_anomaly(True)  # the switch itself is quiet, as in PyTorch
        autograd.set_detect_anomaly(False)


def test_create_graph_backward_warns_once_per_process():
    autograd._CYCLE_WARNED.clear()
    x = fastnn.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="create a reference cycle"):
        (x * x).sum().backward(create_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * x).sum().backward(create_graph=True)
        fastnn.autograd.grad((x * x).sum(), x, create_graph=True)  # grad never warns


def test_transpose_property_of_a_vector_warns():
    with pytest.warns(UserWarning, match="dimension other than 2"):
        fastnn.ones(3).T


def test_multi_grad_hook_survives_a_backward_inside_a_hook():
    a = fastnn.ones(2, requires_grad=True)
    b = fastnn.ones(2, requires_grad=True)
    calls = []
    fastnn.autograd.graph.register_multi_grad_hook(
        (a, b), lambda grads: calls.append([g is not None for g in grads]))
    inner = fastnn.ones(1, requires_grad=True)

    def hook(g):
        with fastnn.enable_grad():
            (inner * 2).sum().backward()  # a pass of its own, nested in the outer one
        return g

    y = a * 3
    y.register_hook(hook)
    (y.sum() + (b * 2).sum()).backward()
    assert calls == [[True, True]]
    assert inner.grad.item() == 2.0


def test_mark_dirty_moves_retain_grad_to_the_new_history():
    class Double(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.mark_dirty(a)
            return a.mul_(2)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = fastnn.ones(2, requires_grad=True)
    y = x * 1
    y.retain_grad()
    (Double.apply(y) * 3).sum().backward()
    assert y.grad.tolist() == [3.0, 3.0] and x.grad.tolist() == [6.0, 6.0]
