"""Custom autograd.Function: the setup_context style, several outputs, non-differentiable
outputs, materialized gradients and the per-Function node type."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import Function, gradcheck


class Scale(Function):
    """forward without ctx; setup_context saves what backward needs (PyTorch's newer style)."""

    @staticmethod
    def forward(x, k):
        return x * k

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.k = inputs[1]

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None


class LinearFn(Function):
    @staticmethod
    def forward(input, weight, bias=None):
        out = input.mm(weight.t())
        return out if bias is None else out + bias.unsqueeze(0).expand_as(out)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, g):
        input, weight, bias = ctx.saved_tensors
        gi = g.mm(weight) if ctx.needs_input_grad[0] else None
        gw = g.t().mm(input) if ctx.needs_input_grad[1] else None
        gb = g.sum(0) if bias is not None and ctx.needs_input_grad[2] else None
        return gi, gw, gb


class SortFn(Function):
    @staticmethod
    def forward(ctx, x):
        v, idx = x.sort()
        ctx.save_for_backward(idx)
        ctx.mark_non_differentiable(idx)
        return v, idx

    @staticmethod
    def backward(ctx, gv, gidx):
        idx, = ctx.saved_tensors
        g = fastnn.zeros_like(gv)
        g[idx] = gv
        return g


class TwoOut(Function):
    calls = []

    @staticmethod
    def forward(ctx, x, materialize):
        ctx.set_materialize_grads(materialize)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2, _=None):
        TwoOut.calls.append((g1, g2))
        out = g1 * 2 if g1 is not None else 0
        return (out + g2 * 3 if g2 is not None else out), None


def test_setup_context_style():
    a = fastnn.ones(2, requires_grad=True)
    y = Scale.apply(a, 3.0)
    y.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]
    assert type(y.grad_fn).__name__ == "ScaleBackward" == y.grad_fn.name()


def test_setup_context_gradcheck():
    rng = np.random.default_rng(0)
    args = [fastnn.tensor(rng.standard_normal(s), requires_grad=True)
            for s in ((5, 4), (3, 4), (3,))]
    assert gradcheck(LinearFn.apply, tuple(args))


def test_non_differentiable_second_output():
    x = fastnn.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, i = SortFn.apply(x)
    assert v.requires_grad and not i.requires_grad and i.grad_fn is None
    assert v.grad_fn.name() == "SortFnBackward"
    (v * fastnn.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_every_output_gradient_reaches_backward():
    x = fastnn.ones(2, requires_grad=True)
    TwoOut.calls.clear()
    a, b = TwoOut.apply(x, True)
    (a.sum() + 5 * b.sum() + b.sum()).backward()  # two paths into b: their sum
    assert x.grad.tolist() == [20.0, 20.0]
    g1, g2 = TwoOut.calls[-1]
    assert g1.tolist() == [1.0, 1.0] and g2.tolist() == [6.0, 6.0]


@pytest.mark.parametrize("materialize", [True, False])
def test_output_without_gradient_is_zeros_or_none(materialize):
    x = fastnn.ones(2, requires_grad=True)
    TwoOut.calls.clear()
    a, b = TwoOut.apply(x, materialize)
    a.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    g1, g2 = TwoOut.calls[-1]
    if materialize:
        assert g2.tolist() == [0.0, 0.0] and g2.dtype == x.dtype
    else:
        assert g2 is None


def test_integer_outputs_are_not_differentiable():
    class Argmax(Function):
        @staticmethod
        def forward(ctx, x):
            return x.argmax()

    x = fastnn.ones(3, requires_grad=True)
    r = Argmax.apply(x)
    assert not r.requires_grad and r.grad_fn is None


def test_matches_torch_for_several_outputs():
    torch = pytest.importorskip("torch")
    out = {}
    for lib in (fastnn, torch):
        class Split(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.sin(), x.cos()

            @staticmethod
            def backward(ctx, ga, gb):
                x, = ctx.saved_tensors
                return ga * x.cos() - gb * x.sin()

        x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        s, c = Split.apply(x)
        (s * 2 + c * c).sum().backward()
        out[lib.__name__] = x.grad.tolist()
    np.testing.assert_allclose(out["fastnn"], out["torch"], rtol=1e-12)
