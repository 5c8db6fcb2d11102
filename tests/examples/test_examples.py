"""The MNIST examples run end to end on a few hundred images and leave loadable outputs."""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastnn
from fastnn.datasets import mnist

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TINY = ["--epochs", "1", "--limit", "128", "--batch-size", "64", "--test-batch-size", "128",
        "--seed", "0"]


@pytest.fixture(scope="module", autouse=True)
def shipped():
    if mnist.find_mnist() is None:
        pytest.skip("MNIST t10k files not found; set FASTNN_DATA to their directory")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_outputs(out, module, model_cls):
    ckpt = fastnn.load(out / "checkpoint.pt")
    assert ckpt["epoch"] == 1 and set(ckpt) == {"model", "optimizer", "epoch"}
    model = getattr(module, model_cls)()
    model.load_state_dict(ckpt["model"])
    opt = module.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.load_state_dict(ckpt["optimizer"])
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backend"] == "fastnn" and len(metrics["history"]) == 1
    return metrics


@pytest.mark.parametrize("name, model_cls", [("mnist_mlp", "MLP"), ("mnist_lenet", "LeNet")])
def test_example_runs_and_writes_outputs(name, model_cls, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    module = _load(name)
    out = tmp_path / "run"
    history = module.main(TINY + ["--out-dir", str(out)])
    assert len(history) == 1 and 0.0 <= history[0]["test_acc"] <= 1.0
    assert history[0]["train_loss"] > 0 and history[0]["samples_per_s"] > 0
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _check_outputs(out, module, model_cls)
    printed = capsys.readouterr().out
    assert "held-out: loss" in printed and "checkpoint:" in printed


def test_example_without_tqdm_or_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # importing either now fails
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    module = _load("mnist_mlp")
    out = tmp_path / "run"
    module.main(TINY + ["--out-dir", str(out)])
    printed = capsys.readouterr().out
    assert "epoch 1/1: train loss" in printed and "samples/s" in printed
    assert "matplotlib is not installed; skipping the plot" in printed
    assert not (out / "curves.png").exists()
    _check_outputs(out, module, "MLP")


def test_example_argument_errors(tmp_path):
    module = _load("mnist_mlp")
    quick = ["--epochs", "0", "--limit", "10", "--no-plot", "--out-dir", str(tmp_path)]
    with pytest.raises(SystemExit, match="--batch-size must be positive, got 0"):
        module.main(["--batch-size", "0"] + quick)
    with pytest.raises(SystemExit, match="--backend is read when the script starts"):
        module.main(["--backend", "torch"] + quick)
    with pytest.raises(SystemExit, match="--device must be cpu or cuda, got 'gpu'"):
        module.main(["--device", "gpu"] + quick)


def test_example_under_pytorch(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(EXAMPLES.parent)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_mlp.py"), "--backend", "torch", "--no-plot",
         "--no-progress", "--out-dir", str(out)] + TINY,
        capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "torch: training on 128 images" in proc.stdout
    assert (out / "checkpoint.pt").is_file()
    assert json.loads((out / "metrics.json").read_text())["backend"] == "torch"


@pytest.mark.parametrize("name, model_cls", [("mnist_mlp", "MLP"), ("mnist_lenet", "LeNet")])
def test_example_models_train_as_pytorch_does_on_the_same_batches(name, model_cls, monkeypatch):
    # The two backends draw different initial weights and shuffles, so a seed gives
    # different runs; from the same weights and batches, in float64, every step's loss and
    # the trained weights must agree: the examples compute what PyTorch computes.
    torch = pytest.importorskip("torch")
    ours = _load(name)
    monkeypatch.setattr(sys, "argv", [name, "--backend", "torch"])
    theirs = _load(name)
    assert theirs.torch is torch and ours.torch is fastnn
    args = ours.make_parser("", name=name, epochs=1, batch_size=32, lr=0.05, momentum=0.9)
    args = args.parse_args(["--limit", "512", "--seed", "0"])
    x, y, _ = ours.mnist_arrays(args, "train")
    fastnn.manual_seed(0)
    model_a = getattr(ours, model_cls)().double()
    model_b = getattr(theirs, model_cls)().double()
    model_b.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                             for k, v in model_a.state_dict().items()})
    runs = []
    for mod, model in ((ours, model_a), (theirs, model_b)):
        opt = mod.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = mod.StepLR(opt, step_size=1, gamma=0.7)
        losses = []
        order = np.random.default_rng(0).permutation(len(y))
        for epoch in range(2):
            for i in range(0, len(y), 32):
                idx = order[i:i + 32]
                data = mod.torch.from_numpy(x[idx].astype(np.float64))
                target = mod.torch.from_numpy(y[idx])
                opt.zero_grad()
                loss = mod.F.cross_entropy(model(data), target)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            sched.step()
        runs.append((losses, {k: v.detach().numpy() for k, v in model.state_dict().items()}))
    (loss_a, w_a), (loss_b, w_b) = runs
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-12, atol=1e-14)
    assert np.mean(loss_a[-4:]) < 0.9 * np.mean(loss_a[:4])  # it did learn
    for k in w_a:
        np.testing.assert_allclose(w_a[k], w_b[k], rtol=1e-10, atol=1e-12, err_msg=k)
