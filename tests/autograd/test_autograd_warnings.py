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
