"""create_graph=True through recurrent layers (their steps join gates with cat and stack):
double backward against PyTorch."""
import numpy as np
import pytest

import fastnn


def _double_backward(lib, kind, weights, x, w_out):
    nn = lib.nn
    if kind.endswith("Cell"):
        m = getattr(nn, kind)(3, 4).double()
    else:
        m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=kind == "GRU").double()
    with lib.no_grad():
        for p, w in zip(m.parameters(), weights):
            p.copy_(lib.tensor(w))
    x = lib.tensor(x, requires_grad=True)
    if kind == "LSTMCell":
        h, c = m(x)
        out = h * lib.tensor(w_out) + c.tanh()
    elif kind.endswith("Cell"):
        out = m(x) * lib.tensor(w_out)
    else:
        o, _ = m(x)
        out = o * lib.tensor(w_out)
    (gx,) = lib.autograd.grad(out.sum(), x, create_graph=True)
    ((gx * gx).sum() + gx.sin().sum()).backward()
    return [gx.detach().numpy(), x.grad.numpy()] + [
        p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape))
        for p in m.parameters()]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"])
def test_recurrent_double_backward_matches_torch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    ref = getattr(torch.nn, kind)(3, 4) if kind.endswith("Cell") else \
        getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=kind == "GRU")
    weights = [rng.standard_normal(tuple(p.shape)) * 0.5 for p in ref.parameters()]
    if kind.endswith("Cell"):
        x = rng.standard_normal((2, 3))
        w_out = rng.standard_normal((2, 4))
    else:
        x = rng.standard_normal((5, 2, 3))
        w_out = rng.standard_normal((5, 2, 8 if kind == "GRU" else 4))
    ours = _double_backward(fastnn, kind, weights, x, w_out)
    want = _double_backward(torch, kind, weights, x, w_out)
    assert len(ours) == len(want)
    for a, b in zip(ours, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_lstm_composite_step_double_backward():
    """The issue's example: the gradient of an LSTM's output sum, differentiated again."""
    m = fastnn.nn.LSTM(3, 4)
    x = fastnn.randn(6, 2, 3, requires_grad=True)
    o, _ = m(x)
    (g,) = fastnn.autograd.grad(o.sum(), x, create_graph=True)
    g.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert all(p.grad is not None for p in m.parameters())
