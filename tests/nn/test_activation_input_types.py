"""Activation entry points refuse a non-Tensor input with PyTorch's TypeError (not an
AttributeError from inside fastnn). Tests taking ``lib`` also run on PyTorch."""
import pytest

import fastnn

# (name in the message, call on the functional module F and nn)
CASES = [
    ("relu", lambda F, nn, x: F.relu(x)),
    ("relu_", lambda F, nn, x: F.relu(x, inplace=True)),
    ("relu_", lambda F, nn, x: F.relu_(x)),
    ("relu", lambda F, nn, x: nn.ReLU()(x)),
    ("leaky_relu", lambda F, nn, x: F.leaky_relu(x)),
    ("leaky_relu_", lambda F, nn, x: F.leaky_relu_(x)),
    ("elu", lambda F, nn, x: F.elu(x)),
    ("elu_", lambda F, nn, x: F.elu(x, inplace=True)),
    ("gelu", lambda F, nn, x: F.gelu(x)),
    ("gelu", lambda F, nn, x: F.gelu(x, approximate="bad")),
    ("gelu", lambda F, nn, x: nn.GELU()(x)),
    ("silu", lambda F, nn, x: F.silu(x)),
    ("silu_", lambda F, nn, x: F.silu(x, inplace=True)),
    ("softplus", lambda F, nn, x: F.softplus(x)),
    ("hardtanh", lambda F, nn, x: F.hardtanh(x)),
    ("hardtanh_", lambda F, nn, x: F.hardtanh_(x)),
    ("relu6", lambda F, nn, x: F.relu6(x)),
    ("relu6_", lambda F, nn, x: F.relu6(x, inplace=True)),
    ("selu", lambda F, nn, x: F.selu(x)),
    ("celu", lambda F, nn, x: F.celu(x)),
    ("celu", lambda F, nn, x: F.celu(x, alpha=0)),
    ("mish", lambda F, nn, x: F.mish(x)),
    ("hardswish", lambda F, nn, x: F.hardswish(x)),
    ("hardsigmoid_", lambda F, nn, x: F.hardsigmoid(x, inplace=True)),
    ("threshold", lambda F, nn, x: F.threshold(x, 0.0, 0.0)),
    ("threshold_", lambda F, nn, x: F.threshold_(x, 0.0, 0.0)),
    ("log_sigmoid", lambda F, nn, x: F.logsigmoid(x)),
    ("sigmoid", lambda F, nn, x: nn.Sigmoid()(x)),
    ("tanh", lambda F, nn, x: nn.Tanh()(x)),
]


@pytest.mark.parametrize("value", [[1.0, -2.0], None, 3.0], ids=["list", "None", "float"])
@pytest.mark.parametrize("name,call", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_non_tensor_input_type_error(lib, name, call, value):
    msg = (f"{name}(): argument 'input' (position 1) must be Tensor, not "
           f"{type(value).__name__}")
    with pytest.raises(TypeError) as info:
        call(lib.nn.functional, lib.nn, value)
    assert str(info.value) == msg


def test_hardtanh_bounds_checked_first(lib):
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        lib.nn.functional.hardtanh([1.0], 2.0, 1.0)


@pytest.mark.parametrize("name,call", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_tensor_input_still_works(name, call):
    x = fastnn.tensor([1.0, -2.0])
    try:
        out = call(fastnn.nn.functional, fastnn.nn, x)
    except RuntimeError as e:  # celu(alpha=0), gelu(approximate="bad"): argument errors
        assert "alpha" in str(e) or "approximate" in str(e)
        return
    assert out.shape == (2,)
