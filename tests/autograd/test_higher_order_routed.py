"""Gradients that piecewise-linear ops route by a mask or an argmax (relu, abs, leaky relu,
hardtanh, threshold, max pooling) stay in their input's graph under create_graph, as in
PyTorch: differentiating them again gives zeros instead of raising. (PyTorch's clamp keeps
its gradient out of the graph, and so does fastnn's.)"""
import numpy as np
import pytest

import fastnn

OPS = {
    "abs": lambda lib, x: x.abs(),
    "relu": lambda lib, x: lib.relu(x),
    "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x),
    "hardtanh": lambda lib, x: lib.nn.functional.hardtanh(x),
    "relu6": lambda lib, x: lib.nn.functional.relu6(x),
    "threshold": lambda lib, x: lib.nn.functional.threshold(x, 0.1, 0.0),
    "hardsigmoid": lambda lib, x: lib.nn.functional.hardsigmoid(x),
    "max_pool1d": lambda lib, x: lib.nn.functional.max_pool1d(x[None, None], 2).reshape(-1),
    "adaptive_max_pool1d":
        lambda lib, x: lib.nn.functional.adaptive_max_pool1d(x[None, None], 2).reshape(-1),
}


def _second(lib, name):
    x = lib.tensor([0.5, -1.0, 2.0, 0.3], requires_grad=True)
    (g,) = lib.autograd.grad(OPS[name](lib, x).sum(), x, create_graph=True)
    assert g.requires_grad
    (gg,) = lib.autograd.grad(g.sum(), x)
    # PyTorch answers some of these with a zero tensor, which converts only with force=True
    return g.detach().numpy(), gg.numpy(force=True)


@pytest.mark.parametrize("name", sorted(OPS))
def test_routed_gradient_differentiates_to_zero(name):
    g, gg = _second(fastnn, name)
    np.testing.assert_array_equal(gg, np.zeros(4))


@pytest.mark.parametrize("name", sorted(set(OPS) - {"hardsigmoid"}))  # PyTorch raises there
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = _second(fastnn, name), _second(torch, name)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    np.testing.assert_array_equal(ours[1], theirs[1])


def test_routed_gradient_through_a_product_reaches_the_input():
    # the gradient w.r.t. x of relu(x @ w) depends on x only through the mask
    w = fastnn.tensor([[1.0], [2.0], [-1.0]], requires_grad=True)
    x = fastnn.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    (g,) = fastnn.autograd.grad(fastnn.relu(x @ w).sum(), x, create_graph=True)
    (gx,) = fastnn.autograd.grad(g.sum(), x, retain_graph=True)
    assert gx.tolist() == [[0.0, 0.0, 0.0]]
    (gw,) = fastnn.autograd.grad(g.sum(), w, allow_unused=True)
    assert gw is not None


def _penalty_grads(lib):
    # a penalty-only backward: which parameters get a gradient (zeros where only a relu
    # mask links them) decides which ones an optimizer updates
    w1 = lib.tensor([[0.5, -0.2, 0.1], [0.3, 0.8, -0.5], [-0.7, 0.2, 0.4], [0.1, 0.1, 0.9]],
                    requires_grad=True)
    b1 = lib.tensor([0.1, -0.2, 0.3, 0.0], requires_grad=True)
    w2 = lib.tensor([[1.0, -2.0, 0.5, 0.7]], requires_grad=True)
    b2 = lib.tensor([0.2], requires_grad=True)
    x = lib.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 0.2]], requires_grad=True)
    out = lib.nn.functional.linear(lib.relu(lib.nn.functional.linear(x, w1, b1)), w2, b2)
    (g,) = lib.autograd.grad(out.sum(), x, create_graph=True)
    ((g.norm(2, dim=1) - 1) ** 2).mean().backward()
    return [None if p.grad is None else np.array(p.grad.tolist()) for p in (w1, b1, w2, b2)]


def test_gradient_penalty_grads_match_pytorch():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_penalty_grads(fastnn), _penalty_grads(torch)):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)


def test_embedding_scaled_by_frequency_double_backward_matches_pytorch():
    torch = pytest.importorskip("torch")
    got = []
    for lib in (fastnn, torch):
        w = lib.tensor([[0.5, -1.0], [2.0, 0.3], [-0.4, 0.8]], dtype=lib.float64,
                       requires_grad=True)
        idx = lib.tensor([0, 2, 2, 1])
        out = (lib.nn.functional.embedding(idx, w, scale_grad_by_freq=True) ** 2).sum()
        (g,) = lib.autograd.grad(out, w, create_graph=True)
        (gg,) = lib.autograd.grad((g ** 2).sum(), w)
        got.append(np.array(gg.tolist()))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12)
