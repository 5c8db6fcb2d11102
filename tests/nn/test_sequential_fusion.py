"""Sequential runs a plain Linear followed by a plain ReLU as one fused pass.

The fused pass must be invisible: the same graph (AddmmBackward0 feeding ReluBackward0), the
same values and gradients as the two module calls, and no fusion wherever a hook, a subclass
or an unusual input could tell the difference.
"""
import numpy as np
import pytest

import fastnn
from fastnn import nn
import fastnn.nn.modules.container as container

DTYPES = [fastnn.float32, fastnn.float64]


def mlp(dtype, seed=0, inplace=False):
    fastnn.manual_seed(seed)
    return nn.Sequential(nn.Linear(7, 5), nn.ReLU(inplace=inplace), nn.Linear(5, 3),
                         nn.ReLU(), nn.Linear(3, 2)).to(dtype)


def run_unfused(model, x):
    out = x
    for m in model:
        out = m(out)
    return out


@pytest.fixture
def fused_calls(monkeypatch):
    calls = []
    real = container.linear_relu

    def spy(*args):
        out = real(*args)
        calls.append(out is not None)
        return out
    monkeypatch.setattr(container, "linear_relu", spy)
    return calls


def grads(model, x, forward):
    model.zero_grad()
    x = x.detach().requires_grad_()
    out = forward(model, x)
    (out * fastnn.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    return out.detach().numpy(), [x.grad.numpy()] + [p.grad.numpy() for p in model.parameters()]


def assert_fused_equals_unfused(model, x, fused_calls, pairs=2):
    out_f, g_f = grads(model, x, lambda m, x: m(x))
    assert fused_calls == [True] * pairs
    out_u, g_u = grads(model, x, run_unfused)
    np.testing.assert_array_equal(out_f, out_u)
    for a, b in zip(g_f, g_u):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("inplace", [False, True])
def test_values_and_grads_match_the_two_calls(dtype, inplace, fused_calls):
    assert_fused_equals_unfused(mlp(dtype, inplace=inplace), fastnn.randn(4, 7, dtype=dtype),
                                fused_calls)


def test_graph_is_the_one_pytorch_records(fused_calls):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    w = model[0].weight
    y = model(fastnn.randn(2, 4))
    assert fused_calls == [True]
    assert y.grad_fn.name() == "ReluBackward0"
    ((addmm, _),) = y.grad_fn.next_functions
    assert addmm.name() == "AddmmBackward0"
    names = [n.name() if n is not None else None for n, _ in addmm.next_functions]
    assert names == ["AccumulateGrad", None, "TBackward0"]  # bias, input, weight.T
    ((acc, _),) = addmm.next_functions[2][0].next_functions
    assert acc.variable is w and acc.name() == "AccumulateGrad"
    assert y.requires_grad and not y.is_leaf


def test_gradcheck_through_the_fused_pair():
    model = mlp(fastnn.float64)
    x = fastnn.randn(3, 7, dtype=fastnn.float64, requires_grad=True)
    assert fastnn.autograd.gradcheck(lambda x: model(x), (x,))


def test_no_grad_gives_a_plain_tensor(fused_calls):
    model = mlp(fastnn.float32)
    x = fastnn.randn(2, 7)
    with fastnn.no_grad():
        y = model(x)
        assert fused_calls == [True, True]
        np.testing.assert_array_equal(y.numpy(), run_unfused(model, x).numpy())
    assert y.grad_fn is None and not y.requires_grad


def test_in_place_change_of_the_output_is_caught():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    y = model(fastnn.randn(2, 4))
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_hooks_see_every_module(fused_calls):
    model = mlp(fastnn.float32)
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(o.grad_fn.name()))
    model(fastnn.randn(2, 7))
    assert seen == ["ReluBackward0"]
    assert fused_calls == [True]  # the second pair has no hook and still fuses
    fused_calls.clear()
    model[2].register_forward_pre_hook(lambda m, i: None)
    model(fastnn.randn(2, 7))
    assert fused_calls == [] and seen == ["ReluBackward0"] * 2

    handle = nn.modules.module.register_module_forward_hook(lambda m, i, o: None)
    try:
        fused_calls.clear()
        model(fastnn.randn(2, 7))
        assert fused_calls == []
    finally:
        handle.remove()


class MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


def test_subclasses_bias_free_and_odd_inputs_are_not_fused(fused_calls):
    fastnn.manual_seed(0)
    sub = nn.Sequential(MyLinear(4, 3), nn.ReLU())
    x = fastnn.randn(2, 4)
    np.testing.assert_array_equal(sub(x).detach().numpy(), run_unfused(sub, x).detach().numpy())
    nobias = nn.Sequential(nn.Linear(4, 3, bias=False), nn.ReLU())
    nobias(fastnn.randn(2, 4))
    assert fused_calls == [False]  # the subclass is never offered; the bias-free pair declines
    plain = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    for x in (fastnn.randn(4, 2).t(), fastnn.randn(5, 2, 4), fastnn.randn(4)):
        fused_calls.clear()
        ours, ref = plain(x).detach().numpy(), run_unfused(plain, x).detach().numpy()
        np.testing.assert_allclose(ours, ref, rtol=1e-6)
        assert fused_calls == [False]
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(2x5 and 4x3\)") as err:
        plain(fastnn.randn(2, 5))
    assert err.value.__notes__[0].startswith("in module '0'")


@pytest.mark.parametrize("shape", [(0, 7), (1, 7)])
def test_empty_and_single_row_batches(shape, fused_calls):
    assert_fused_equals_unfused(mlp(fastnn.float32), fastnn.randn(*shape), fused_calls)
