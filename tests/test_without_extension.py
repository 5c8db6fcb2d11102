"""fastnn without its compiled extension (a source checkout not built yet): the numpy
fallbacks must train, with the same dtypes and shapes as the compiled build."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import random as frandom

HOME = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strided", [False, True])
def test_random_fills_fall_back_to_numpy_in_the_array_dtype(monkeypatch, dtype, strided):
    monkeypatch.setattr(frandom, "_core", lambda: None)
    base = np.zeros((6, 8), dtype)
    arr = base[:, ::2] if strided else base
    frandom.fill_uniform(arr, -2.0, 3.0)
    assert arr.dtype == dtype and (arr >= -2).all() and (arr < 3).all() and arr.std() > 0.5
    frandom.fill_normal(arr, 10.0, 0.5)
    assert abs(arr.mean() - 10) < 0.5 and arr.std() > 0.1
    if strided:
        assert (base[:, 1::2] == 0).all()


_TRAIN = """
import sys
sys.modules["fastnn._core"] = None  # as in a checkout whose extension is not built
import fastnn
fastnn.manual_seed(0)
mlp = fastnn.nn.Sequential(fastnn.nn.Linear(6, 5), fastnn.nn.ReLU(), fastnn.nn.Linear(5, 3))
cnn = fastnn.nn.Sequential(fastnn.nn.Conv2d(1, 2, 3), fastnn.nn.ReLU(),
                           fastnn.nn.MaxPool2d(2), fastnn.nn.Flatten(), fastnn.nn.Linear(8, 3))
y = fastnn.tensor([0, 2, 1, 2])
for model, x in ((mlp, fastnn.randn(4, 6)), (cnn, fastnn.randn(4, 1, 6, 6))):
    opt = fastnn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = fastnn.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
    assert all(p.dtype == fastnn.float32 for p in model.parameters())
print("ok")
"""


def test_models_train_without_the_compiled_extension(tmp_path):
    env = dict(os.environ, PYTHONPATH=HOME + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _TRAIN], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
