"""Training on 'cuda' matches the CPU run step by step (same seed), with the fused kernels and
the optimizer's device arena, and never copies to the host inside a step but for item().
"""
import numpy as np
import pytest

pytest.importorskip("numba", exc_type=ImportError)

import fastnn  # noqa: E402
import fastnn.nn as nn  # noqa: E402
import fastnn.nn.functional as F  # noqa: E402
from fastnn.cuda import _array  # noqa: E402

pytestmark = pytest.mark.cuda


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 10), nn.ReLU(), nn.Linear(10, 4))


class LeNet(nn.Module):
    """LeNet-5's layout (conv, pool, conv, pool, three linears) on an 8x8 input."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3, padding=1)
        self.conv2 = nn.Conv2d(3, 4, 3)
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 5)
        self.fc3 = nn.Linear(5, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


OPTIMIZERS = {
    "sgd": lambda ps: fastnn.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "adam": lambda ps: fastnn.optim.Adam(ps, lr=0.01),
}


def train(make, x, y, device, opt_name="sgd", steps=3, move_first=True):
    fastnn.manual_seed(0)
    model = make()
    if move_first:
        model.to(device)
        opt = OPTIMIZERS[opt_name](model.parameters())
    else:  # an optimizer built before the move keeps working
        opt = OPTIMIZERS[opt_name](model.parameters())
        model.to(device)
    x, y = x.to(device), y.to(device)
    losses, snaps = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        snaps.append([p.detach().cpu().numpy().copy() for p in model.parameters()])
    return losses, snaps


def assert_same_run(a, b, rtol=2e-5, atol=2e-6):
    (la, sa), (lb, sb) = a, b
    np.testing.assert_allclose(lb, la, rtol=rtol, atol=atol)
    for step_a, step_b in zip(sa, sb):
        for pa, pb in zip(step_a, step_b):
            np.testing.assert_allclose(pb, pa, rtol=rtol, atol=atol)


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
@pytest.mark.parametrize("move_first", [True, False])
def test_mlp_matches_cpu_step_by_step(opt_name, move_first):
    fastnn.manual_seed(1)
    x, y = fastnn.randn(6, 3, 4), fastnn.tensor([0, 1, 2, 3, 1, 0])
    cpu = train(mlp, x, y, "cpu", opt_name)
    gpu = train(mlp, x, y, "cuda", opt_name, move_first=move_first)
    assert_same_run(cpu, gpu)
    assert gpu[0][-1] < gpu[0][0]


def test_lenet_matches_cpu_step_by_step():
    fastnn.manual_seed(2)
    x, y = fastnn.randn(2, 1, 8, 8), fastnn.tensor([2, 0])
    assert_same_run(train(LeNet, x, y, "cpu", steps=2), train(LeNet, x, y, "cuda", steps=2),
                    rtol=1e-4, atol=1e-5)


def test_a_training_step_stays_on_the_device(monkeypatch):
    fastnn.manual_seed(0)
    model = nn.Sequential(mlp(), nn.Dropout(0.2)).cuda()
    opt = fastnn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = fastnn.randn(6, 3, 4, device="cuda")
    y = fastnn.tensor([0, 1, 2, 3, 1, 0], device="cuda")

    def step():
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    step()
    arenas = opt._packs[0][1]
    assert arenas and all(isinstance(a.data, _array.CudaArray) for a in arenas)
    copies = []
    real = _array.CudaArray.copy_to_host
    monkeypatch.setattr(_array.CudaArray, "copy_to_host",
                        lambda self: copies.append(self.shape) or real(self))
    uploads = []
    real_up = _array.from_host
    for mod in ("fastnn.cuda._array", "fastnn.cuda._dispatch", "fastnn.cuda._index"):
        monkeypatch.setattr(f"{mod}.from_host", lambda a: uploads.append(a.shape) or real_up(a))
    loss = step()
    assert copies == [] and uploads == []
    loss.item()
    assert copies == [()]


def test_eval_accuracy_on_device():
    fastnn.manual_seed(3)
    model = mlp().cuda().eval()
    x = fastnn.randn(5, 3, 4, device="cuda")
    with fastnn.no_grad():
        pred = model(x).argmax(dim=1)
    assert pred.is_cuda and pred.dtype == fastnn.int64
    correct = (pred == fastnn.tensor([0, 1, 2, 3, 0], device="cuda")).sum().item()
    assert 0 <= correct <= 5


def test_steady_state_is_one_fused_update_with_grads_in_the_arena(monkeypatch):
    """Every gradient, biases included, lands in the optimizer's device arena, so a step is
    one fused SGD launch over all parameters (not a numpy-style pass per bias)."""
    from fastnn.cuda import kernels_optim
    fastnn.manual_seed(0)
    model = mlp().cuda()
    opt = fastnn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = fastnn.randn(6, 3, 4, device="cuda")
    y = fastnn.tensor([0, 1, 2, 3, 1, 0], device="cuda")
    calls = []
    real = kernels_optim.sgd_step
    monkeypatch.setattr(kernels_optim, "sgd_step",
                        lambda p, *a: calls.append(p.size) or real(p, *a))
    for _ in range(3):
        calls.clear()
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        arena = opt._packs[0][1][0]
        for p, slot in zip(arena.params, arena.gviews):
            assert p.grad._data is slot
        opt.step()
        assert calls == [arena.data.size]


def test_kept_gradient_keeps_its_values_on_the_device():
    # the device arena reuses its gradient slots like the host one: a gradient kept across
    # zero_grad() and the next backward must not be overwritten
    m = nn.Linear(2, 2).to("cuda")
    opt = fastnn.optim.SGD(m.parameters(), lr=0.1)
    assert opt._packs[0][1]  # packed into a device arena
    x = fastnn.ones(1, 2, device="cuda")
    m(x).sum().backward()
    g = m.weight.grad
    opt.zero_grad()
    (3 * m(x)).sum().backward()
    assert g.cpu().tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert m.weight.grad.cpu().tolist() == [[3.0, 3.0], [3.0, 3.0]]
