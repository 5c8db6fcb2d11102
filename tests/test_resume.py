"""Saving mid-training and resuming in fresh objects continues bit-identically."""
import numpy as np
import pytest

import fastnn as torch
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.drop = nn.Dropout(0.3)
        self.bn = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 5)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.bn(self.fc1(x)))))


def _data():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((96, 20)).astype(np.float32))
    y = torch.from_numpy(rng.integers(0, 5, 96))
    return TensorDataset(x, y)


def _build(opt_name):
    model = Net()
    if opt_name == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                              weight_decay=1e-4)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-2, amsgrad=True)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    return model, opt, sched


def _epoch(model, opt, sched, loader):
    losses = []
    model.train()
    for x, y in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    sched.step()
    return losses


@pytest.mark.parametrize("opt_name", ["sgd", "adamw"])
def test_resume_is_bit_identical(tmp_path, opt_name):
    ds = _data()
    torch.manual_seed(1)
    model, opt, sched = _build(opt_name)
    loader = DataLoader(ds, batch_size=16, shuffle=True)
    straight = [_epoch(model, opt, sched, loader) for _ in range(4)]

    torch.manual_seed(1)
    model, opt, sched = _build(opt_name)
    loader = DataLoader(ds, batch_size=16, shuffle=True)
    first = [_epoch(model, opt, sched, loader) for _ in range(2)]
    path = tmp_path / "ckpt.safetensors"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(), "rng": torch.get_rng_state(), "epoch": 2},
               path)
    del model, opt, sched

    torch.manual_seed(12345)          # whatever state the new process is in
    model, opt, sched = _build(opt_name)
    ckpt = torch.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    torch.set_rng_state(ckpt["rng"])
    assert ckpt["epoch"] == 2
    loader = DataLoader(ds, batch_size=16, shuffle=True)
    rest = [_epoch(model, opt, sched, loader) for _ in range(2)]
    assert first + rest == straight  # exact float equality, dropout and shuffling included


def test_same_seed_same_run_whatever_the_thread_count():
    """fastnn's own kernels do not depend on the thread count. The layers here are small
    enough that OpenBLAS computes their products on one thread either way: its larger
    products round differently on 1 and 2 threads (see the README)."""
    ds = _data()
    runs = []
    for threads in (1, 2):
        prev = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            torch.manual_seed(7)
            model, opt, sched = _build("sgd")
            loader = DataLoader(ds, batch_size=32, shuffle=True)
            runs.append([_epoch(model, opt, sched, loader) for _ in range(2)])
        finally:
            torch.set_num_threads(prev)
    assert runs[0] == runs[1]
