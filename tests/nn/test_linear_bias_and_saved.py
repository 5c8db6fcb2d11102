"""F.linear: broadcastable biases, what its node keeps, post-accumulate hooks on a reused
weight."""
import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.nn import functional as F

BIASES_2D = [(1,), (1, 4), (2, 4), (2, 1), (), (3,), (4, 1), (1, 1, 4)]
BIASES_3D = [(1,), (1, 4), (2, 4), (5, 2, 4), (3,), (1, 5, 2, 4), (2, 3)]


def _run(lib, x_shape, b_shape):
    F_ = lib.nn.functional
    x = lib.arange(float(int(__import__("math").prod(x_shape)))).reshape(x_shape) / 10
    w = lib.arange(12.0).reshape(4, 3) / 7
    b = (lib.arange(float(max(1, int(__import__("math").prod(b_shape))))) + 1).reshape(b_shape)
    b.requires_grad_(True)
    try:
        y = F_.linear(x, w, b)
    except RuntimeError as e:
        return "error", str(e).replace("fastnn", "torch")
    y.sum().backward()
    return y.tolist(), b.grad.tolist()


@pytest.mark.parametrize("x_shape, b_shape", [((2, 3), b) for b in BIASES_2D] +
                         [((5, 2, 3), b) for b in BIASES_3D])
def test_bias_shapes_as_pytorch(x_shape, b_shape):
    torch = pytest.importorskip("torch")
    got, want = _run(fastnn, x_shape, b_shape), _run(torch, x_shape, b_shape)
    if want[0] == "error":
        assert got == want
    else:
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-6)


def test_broadcast_bias_without_torch():
    y = F.linear(fastnn.ones(2, 3), fastnn.ones(4, 3), fastnn.ones(1))
    assert tuple(y.shape) == (2, 4) and y.tolist() == [[4.0] * 4] * 2
    with pytest.raises(RuntimeError, match=r"Target sizes: \[2, 4\].  Tensor sizes: \[3\]"):
        F.linear(fastnn.ones(2, 3), fastnn.ones(4, 3), fastnn.ones(3))
    fused = nn.utils.fusion.fuse_linear_bn_eval(nn.Linear(3, 4, bias=False).eval(),
                                                nn.BatchNorm1d(1).eval())
    assert tuple(fused(fastnn.ones(2, 3)).shape) == (2, 4)


def test_weight_stepped_between_retained_backward_passes():
    # the input needs no gradient, so the weight's values are not needed in backward
    m = nn.Linear(2, 2)
    opt = fastnn.optim.SGD(m.parameters(), lr=0.1)
    y = m(fastnn.ones(1, 2)).sum()
    y.backward(retain_graph=True)
    opt.step()
    y.backward()
    assert m.weight.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    w = fastnn.ones(2, 2, requires_grad=True)
    y = (fastnn.ones(1, 2) @ w).sum()
    with fastnn.no_grad():
        w.add_(1)
    y.backward()
    assert w.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_changed_weight_still_caught_when_the_input_needs_it():
    x = fastnn.ones(1, 2, requires_grad=True)
    m = nn.Linear(2, 2)
    y = m(x).sum()
    with fastnn.no_grad():
        m.weight.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_post_accumulate_hook_runs_once_for_a_reused_weight():
    W = fastnn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = fastnn.zeros(2, requires_grad=True)
    seen = []
    W.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.clone()))
    x = fastnn.tensor([[1.0, -1.0]])
    F.linear(F.linear(x, W, b), W, b).sum().backward()
    assert len(seen) == 1
    assert seen[0].tolist() == W.grad.tolist() == [[3.0, -5.0], [5.0, -7.0]]


def test_optimizer_in_backward_with_a_reused_layer():
    fastnn.manual_seed(0)
    cell = nn.Linear(3, 3)
    opts = {p: fastnn.optim.SGD([p], lr=0.01) for p in cell.parameters()}

    def step_now(p):
        opts[p].step()
        opts[p].zero_grad()

    for p in cell.parameters():
        p.register_post_accumulate_grad_hook(step_now)
    before = cell.weight.detach().clone()
    h = fastnn.ones(2, 3)
    for _ in range(3):
        h = fastnn.tanh(cell(h))
    h.sum().backward()
    assert not fastnn.equal(before, cell.weight.detach())
