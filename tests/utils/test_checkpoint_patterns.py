"""Activation checkpointing as models use it (``x = checkpoint(self.block, x, ...)`` inside
``forward``), each pattern run on fastnn and on PyTorch with the same weights."""
import warnings

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")


def _build(lib, ure, drop=0.0):
    nn = lib.nn
    ck = lib.utils.checkpoint.checkpoint

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                       nn.Dropout(drop))
            self.head = nn.Linear(6, 2)

        def forward(self, x):
            x = ck(self.block, x, use_reentrant=ure)
            return self.head(x)

    lib.manual_seed(0)
    m = Net()
    rs = np.random.RandomState(1)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor((rs.randn(*p.shape) * 0.5).astype("float32")))
    return m


X = np.random.RandomState(0).randn(5, 6).astype("float32")


def _close(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    a = a.detach().numpy() if hasattr(a, "detach") else a
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ure", [False, True])
def test_batchnorm_in_training_mode_updates_stats_as_pytorch(ure):
    import torch.utils.checkpoint  # noqa: F401
    import fastnn.utils.checkpoint  # noqa: F401
    out = []
    for lib in (fastnn, torch):
        m = _build(lib, ure)
        x = lib.tensor(X, requires_grad=ure)
        m(x).sum().backward()
        bn = m.block[1]
        out.append((int(bn.num_batches_tracked), bn.running_mean, bn.running_var,
                    m.block[0].weight.grad))
    # the recomputation in backward runs BatchNorm again: PyTorch counts it, and so do we
    assert out[0][0] == out[1][0] == 2
    for a, b in zip(out[0][1:], out[1][1:]):
        _close(a, b)


@pytest.mark.parametrize("ure", [False, True])
def test_dropout_masks_replayed(ure):
    m = _build(fastnn, ure, drop=0.5)
    x = fastnn.tensor(X, requires_grad=True)
    fastnn.manual_seed(3)
    out = m(x)
    out.sum().backward()
    g = x.grad.clone()
    x.grad = None
    fastnn.manual_seed(3)
    out2 = m.head(m.block(x))
    out2.sum().backward()
    _close(out, out2)
    _close(g, x.grad)


def test_no_grad_eval_and_inference_mode_outside():
    for mode in (fastnn.no_grad, fastnn.inference_mode):
        m = _build(fastnn, False)
        t = _build(torch, False)
        m.eval()
        t.eval()
        with mode():
            a = m(fastnn.tensor(X))
        with getattr(torch, mode.__name__)():
            b = t(torch.tensor(X))
        _close(a, b)
        assert not a.requires_grad
    m = _build(fastnn, False)
    with fastnn.inference_mode():
        m(fastnn.tensor(X))
    assert int(m.block[1].num_batches_tracked) == 1


def _tuple_kwargs(lib):
    lin = lib.nn.Linear(4, 4)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(np.arange(16, dtype="float32").reshape(4, 4) / 10))
        lin.bias.fill_(0.1)

    def block(x, scale=1.0, *, shift=0.0):
        y = lin(x) * scale + shift
        return y, y.relu()

    x = lib.ones(2, 4, requires_grad=True)
    a, b = lib.utils.checkpoint.checkpoint(block, x, 2.0, use_reentrant=False, shift=-3.0)
    (a.sum() + b.pow(2).sum()).backward()
    return x.grad, lin.weight.grad


def test_tuple_output_and_kwargs():
    import torch.utils.checkpoint  # noqa: F401
    import fastnn.utils.checkpoint  # noqa: F401
    for a, b in zip(_tuple_kwargs(fastnn), _tuple_kwargs(torch)):
        _close(a, b)


def _sequential(lib):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 2))
    rs = np.random.RandomState(2)
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rs.randn(*p.shape).astype("float32")))
    x = lib.tensor(X[:3, :4], requires_grad=True)
    out = lib.utils.checkpoint.checkpoint_sequential(model, 2, x, use_reentrant=False)
    out.sum().backward()
    return out, x.grad, model[0].weight.grad, model[4].weight.grad


def test_checkpoint_sequential():
    import torch.utils.checkpoint  # noqa: F401
    import fastnn.utils.checkpoint  # noqa: F401
    for a, b in zip(_sequential(fastnn), _sequential(torch)):
        _close(a, b)


def test_accumulation_retain_graph_and_inputs_without_grad():
    from fastnn.utils.checkpoint import checkpoint
    lin = fastnn.nn.Linear(3, 3)
    x = fastnn.ones(2, 3)
    for _ in range(2):  # only the parameters require grad
        checkpoint(lin, x, use_reentrant=False).sum().backward()
    _close(lin.weight.grad, np.full((3, 3), 4.0))
    lin.weight.grad = None
    x = fastnn.ones(2, 3, requires_grad=True)
    y = checkpoint(lambda t: lin(t).tanh(), x, use_reentrant=False).sum()
    y.backward(retain_graph=True)
    g1 = lin.weight.grad.clone()
    y.backward()
    _close(lin.weight.grad, 2 * g1)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def _double(lib):
    ck = lib.utils.checkpoint.checkpoint
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([0.5, -1.5], requires_grad=True)
    y = ck(lambda t: ((t ** 3) * w).sum(), x, use_reentrant=False)
    g, = lib.autograd.grad(y, x, create_graph=True)
    g2x, g2w = lib.autograd.grad(g.sum(), (x, w))
    return g, g2x, g2w


def test_double_backward_through_non_reentrant_checkpoint():
    import torch.utils.checkpoint  # noqa: F401
    import fastnn.utils.checkpoint  # noqa: F401
    for a, b in zip(_double(fastnn), _double(torch)):
        _close(a, b)


def _penalty(lib):
    """A gradient penalty (WGAN-GP style) through a checkpointed critic."""
    nn = lib.nn
    ck = lib.utils.checkpoint.checkpoint
    critic = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    rs = np.random.RandomState(4)
    with lib.no_grad():
        for p in critic.parameters():
            p.copy_(lib.tensor(rs.randn(*p.shape).astype("float32")))
    x = lib.tensor(X[:3, :4], requires_grad=True)
    out = ck(critic, x, use_reentrant=False)
    g, = lib.autograd.grad(out.sum(), x, create_graph=True)
    ((g.norm(2, dim=1) - 1) ** 2).mean().backward()
    return [p.grad for p in critic.parameters()]


def test_gradient_penalty_through_checkpoint():
    import torch.utils.checkpoint  # noqa: F401
    import fastnn.utils.checkpoint  # noqa: F401
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for a, b in zip(_penalty(fastnn), _penalty(torch)):
            _close(a, b)
