"""fastnn.compile: modules come back wrapped as PyTorch wraps them, functions unchanged."""
import copy

import numpy as np
import pytest

import fastnn


def test_module_is_wrapped_under_orig_mod():
    layer = fastnn.nn.Linear(3, 2)
    compiled = fastnn.compile(layer)
    assert type(compiled).__name__ == "OptimizedModule"
    assert compiled._orig_mod is layer
    assert compiled.weight is layer.weight and compiled.in_features == 3
    assert list(compiled.state_dict()) == ["_orig_mod.weight", "_orig_mod.bias"]
    x = fastnn.randn(4, 3)
    np.testing.assert_array_equal(compiled(x).detach().numpy(), layer(x).detach().numpy())
    compiled.eval()
    assert not layer.training
    assert len(list(compiled.parameters())) == 2
    twin = copy.deepcopy(compiled)
    assert twin._orig_mod is not layer and twin.weight is twin._orig_mod.weight


def test_stripping_the_prefix_loads_into_the_plain_module():
    compiled = fastnn.compile(fastnn.nn.Linear(3, 2))
    plain = fastnn.nn.Linear(3, 2)
    plain.load_state_dict({k.removeprefix("_orig_mod."): v
                           for k, v in compiled.state_dict().items()})
    np.testing.assert_array_equal(plain.weight.detach().numpy(),
                                  compiled.weight.detach().numpy())


def test_functions_decorators_and_disable():
    def f(x):
        return x * 2
    assert fastnn.compile(f) is f
    assert fastnn.compile(mode="reduce-overhead")(f) is f
    layer = fastnn.nn.Linear(2, 2)
    assert fastnn.compile(layer, disable=True) is layer
    assert fastnn.compile(backend="eager", fullgraph=True)(layer)._orig_mod is layer
    with pytest.raises(AttributeError):
        fastnn.compile(layer).no_such_attribute


def test_matches_pytorch_layout():
    torch = pytest.importorskip("torch")
    theirs = torch.compile(torch.nn.Linear(3, 2))
    ours = fastnn.compile(fastnn.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert type(ours).__name__ == type(theirs).__name__
