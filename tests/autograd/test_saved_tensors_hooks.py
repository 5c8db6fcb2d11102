"""autograd.graph.saved_tensors_hooks, save_on_cpu and disable_saved_tensors_hooks."""
import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.autograd.graph import (disable_saved_tensors_hooks, save_on_cpu,
                                   saved_tensors_hooks)


def _logging_hooks(log):
    def pack(t):
        log.append(("pack", tuple(t.shape), fastnn.is_grad_enabled()))
        return t

    def unpack(t):
        log.append(("unpack", tuple(t.shape), fastnn.is_grad_enabled()))
        return t
    return pack, unpack


def test_pack_at_record_time_unpack_at_backward_without_grad_mode():
    a = fastnn.randn(3, requires_grad=True)
    b = fastnn.randn(3, requires_grad=True)
    log = []
    with saved_tensors_hooks(*_logging_hooks(log)):
        z = (a * b).exp()
    assert [e[0] for e in log] == ["pack"] * 3  # a, b for mul; the result for exp
    assert not any(e[2] for e in log)           # pack runs without recording
    log.clear()
    z.sum().backward()
    assert [e[0] for e in log] == ["unpack"] * 3
    assert not any(e[2] for e in log)
    np.testing.assert_allclose(a.grad.numpy(), (b * z).detach().numpy(), rtol=1e-6)


def test_no_pack_without_a_graph():
    log = []
    a = fastnn.randn(3, requires_grad=True)
    with saved_tensors_hooks(*_logging_hooks(log)):
        with fastnn.no_grad():
            a * a
        fastnn.randn(3) * fastnn.randn(3)
    assert log == []


def test_compressing_hooks_change_what_backward_sees():
    x = fastnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with saved_tensors_hooks(lambda t: (t * 10).detach(), lambda p: p / 10):
        y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0], rtol=1e-6)
    x.grad = None
    with saved_tensors_hooks(lambda t: t.detach() * 2, lambda p: p):  # a wrong unpack
        y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0, 12.0], rtol=1e-6)  # as PyTorch


def test_innermost_pair_applies():
    seen = []
    a = fastnn.randn(2, requires_grad=True)
    with saved_tensors_hooks(lambda t: ("outer", t), lambda p: p[1]):
        with saved_tensors_hooks(lambda t: ("inner", t), lambda p: seen.append(p[0]) or p[1]):
            y = a * a
    y.sum().backward()
    assert seen == ["inner", "inner"]


def test_retained_graph_unpacks_on_every_pass_and_frees_after():
    log = []
    a = fastnn.randn(3, requires_grad=True)
    with saved_tensors_hooks(*_logging_hooks(log)):
        y = (a * a).sum()
    log.clear()
    y.backward(retain_graph=True)
    y.backward()
    assert [e[0] for e in log] == ["unpack"] * 4
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_hooked_values_are_not_version_checked():
    # PyTorch's rule: what unpack returns is what backward uses
    a = fastnn.randn(3, requires_grad=True)
    x = a.clone()
    with saved_tensors_hooks(lambda t: t, lambda p: p):
        y = (x * x).sum()
    x.add_(1)
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), (2 * x).detach().numpy(), rtol=1e-6)


def test_hook_errors():
    a = fastnn.randn(3, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda p: 3):
        y = a * a
    with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor but got result "
                                        "of type int"):
        y.sum().backward()
    x = a.clone()
    with pytest.raises(RuntimeError, match="pack hook is modifying its input in place"):
        with saved_tensors_hooks(lambda t: t.mul_(2), lambda p: p):
            x * x
    with pytest.raises(ZeroDivisionError):
        with saved_tensors_hooks(lambda t: 1 / 0, lambda p: p):
            a * a


def test_disable_saved_tensors_hooks():
    with pytest.raises(RuntimeError, match="^no hooks here$"):
        with disable_saved_tensors_hooks("no hooks here"):
            with saved_tensors_hooks(lambda t: t, lambda p: p):
                pass
    a = fastnn.randn(3, requires_grad=True)
    with saved_tensors_hooks(lambda t: t, lambda p: p):
        with pytest.raises(RuntimeError, match="^disabled$"):
            with disable_saved_tensors_hooks("disabled"):
                a * a
    with disable_saved_tensors_hooks("outer"):
        with disable_saved_tensors_hooks("inner"):
            pass
        with pytest.raises(RuntimeError, match="^outer$"):
            with saved_tensors_hooks(lambda t: t, lambda p: p):
                pass
    with saved_tensors_hooks(lambda t: t, lambda p: p):  # usable again afterwards
        a * a


def test_custom_function_saved_tensors_unpack_on_each_access():
    log = []

    class Double(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x, None)
            return x * scale

        @staticmethod
        def backward(ctx, g):
            x, none = ctx.saved_tensors
            again, _ = ctx.saved_tensors
            assert none is None and again is x
            return g * 2, None

    a = fastnn.randn(3, requires_grad=True)
    with saved_tensors_hooks(*_logging_hooks(log)):
        y = Double.apply(a, 2.0)
        Double.apply(fastnn.randn(3), 2.0)  # no graph: nothing packed
    assert [e[0] for e in log] == ["pack"]
    log.clear()
    y.sum().backward()
    assert [e[0] for e in log] == ["unpack", "unpack"]
    np.testing.assert_allclose(a.grad.numpy(), [2.0, 2.0, 2.0])


def _train_grads(model, x, y, hooks=None):
    model.zero_grad()
    if hooks is None:
        loss = nn.functional.cross_entropy(model(x), y)
    else:
        with hooks:
            loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("make_model", [
    lambda: nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 5)),
    lambda: nn.Sequential(nn.Unflatten(1, (3, 2, 2)), nn.Conv2d(3, 4, 2, padding=1),
                          nn.BatchNorm2d(4), nn.Tanh(), nn.Flatten(), nn.Linear(36, 5)),
], ids=["mlp", "conv"])
def test_models_train_the_same_under_save_on_cpu(make_model):
    fastnn.manual_seed(0)
    model = make_model()
    x, y = fastnn.randn(6, 12), fastnn.randint(0, 5, (6,))
    plain = _train_grads(model, x, y)
    on_cpu = _train_grads(model, x, y, save_on_cpu())
    for g0, g1 in zip(plain, on_cpu):
        np.testing.assert_allclose(g1, g0, rtol=1e-5, atol=1e-7)


def test_half_precision_packing_gives_close_gradients_for_an_lstm():
    fastnn.manual_seed(0)
    lstm = nn.LSTM(4, 6)
    x = fastnn.randn(5, 2, 4)
    lstm.zero_grad()
    lstm(x)[0].sum().backward()
    plain = [p.grad.numpy().copy() for p in lstm.parameters()]
    lstm.zero_grad()
    kinds = []

    def pack(t):
        kinds.append(t.dtype)
        return t.to(fastnn.float16), t.dtype

    with saved_tensors_hooks(pack, lambda p: p[0].to(p[1])):
        out = lstm(x)[0].sum()
    assert kinds, "the recurrent node packs what it saved"
    out.backward()
    for g0, p in zip(plain, lstm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), g0, rtol=2e-2, atol=2e-3)


def test_double_backward_under_hooks():
    x = fastnn.tensor([0.5, 1.5], dtype=fastnn.float64, requires_grad=True)
    log = []
    with saved_tensors_hooks(*_logging_hooks(log)):
        y = (x.sin() * x).sum()
    (g,) = fastnn.autograd.grad(y, x, create_graph=True)
    g.sum().backward()
    xs = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(xs) - xs * np.sin(xs), rtol=1e-12)
    assert any(e[0] == "unpack" for e in log)


def test_saved_result_attribute_goes_through_unpack():
    a = fastnn.randn(3, requires_grad=True)
    seen = []
    with saved_tensors_hooks(lambda t: t, lambda p: seen.append(1) or p):
        z = a.exp()
    r = z.grad_fn._saved_result
    assert seen == [1]
    np.testing.assert_allclose(r.numpy(), z.detach().numpy())


def test_matches_pytorch_pack_counts_and_grads():
    torch = pytest.importorskip("torch")

    def run(lib):
        counts = []
        a = lib.tensor([0.3, -1.2, 2.0], requires_grad=True)
        b = lib.tensor([1.5, 0.5, -0.7], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(
                lambda t: counts.append(tuple(t.shape)) or (t * 4).detach(),
                lambda p: p / 4):
            y = ((a * b).exp() + a.sin()).sum()
        y.backward()
        return len(counts), a.grad.numpy(), b.grad.numpy()

    n_f, ga_f, gb_f = run(fastnn)
    n_t, ga_t, gb_t = run(torch)
    assert n_f == n_t
    np.testing.assert_allclose(ga_f, ga_t, rtol=1e-6)
    np.testing.assert_allclose(gb_f, gb_t, rtol=1e-6)


def test_python_scalar_operands_are_not_packed():
    x = fastnn.ones(3, requires_grad=True)
    seen = []
    with saved_tensors_hooks(lambda t: seen.append(type(t)) or t.detach(), lambda p: p):
        y = (x * 2 + x * fastnn.tensor(3.0)).sum()
    y.backward()
    assert seen == [fastnn.Tensor]  # only tensor(3.0), for the gradient of x (as PyTorch)
    assert x.grad.tolist() == [5.0, 5.0, 5.0]
