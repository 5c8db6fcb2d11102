"""One LeNet training step (zero_grad, forward, cross-entropy, backward, SGD momentum) in
fastnn, PyTorch and hand-written numpy, interleaved in one process.

    python bench/bench_conv.py [--batch 64] [--seconds 3] [--threads 2] [--json out.json]

LeNet as in the classic MNIST example: Conv2d(1, 20, 5) -> ReLU -> MaxPool 2 ->
Conv2d(20, 50, 5) -> ReLU -> MaxPool 2 -> Linear(800, 500) -> ReLU -> Linear(500, 10).
Prints the median step time of each implementation and the ratios torch/fastnn and
numpy/fastnn.
"""
import argparse
import json
import os
import platform
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (machine_info, measure_rounds, numpy_cross_entropy, ratio_fields,  # noqa: E402
                     ratio_text, sgd_training_step, summarize)

LR, MOMENTUM = 0.01, 0.9
SHAPES = {"conv1": (20, 1, 5, 5), "conv2": (50, 20, 5, 5), "fc1": (500, 800), "fc2": (10, 500)}


def init_weights(seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in SHAPES.items():
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        out[name] = (rng.uniform(-bound, bound, shape).astype(np.float32),
                     rng.uniform(-bound, bound, shape[0]).astype(np.float32))
    return out


def make_framework_step(lib, weights, x, y):
    """The same PyTorch-style code runs on fastnn and on torch."""
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 20, 5, 1)
            self.conv2 = nn.Conv2d(20, 50, 5, 1)
            self.fc1 = nn.Linear(4 * 4 * 50, 500)
            self.fc2 = nn.Linear(500, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.max_pool2d(x, 2, 2)
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2, 2)
            x = x.view(-1, 4 * 4 * 50)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    model = Net()
    with lib.no_grad():
        for name, (w, b) in weights.items():
            getattr(model, name).weight.copy_(lib.from_numpy(w.copy()))
            getattr(model, name).bias.copy_(lib.from_numpy(b.copy()))
    return sgd_training_step(lib, model, x, y, LR, MOMENTUM)


def make_numpy_step(weights, x, y):
    """A careful hand-written numpy LeNet: im2col by sliding windows, one matmul per layer."""
    params = {k: (w.copy(), b.copy()) for k, (w, b) in weights.items()}
    bufs = {k: (np.zeros_like(w), np.zeros_like(b)) for k, (w, b) in weights.items()}
    n = x.shape[0]
    onehot = np.zeros((n, 10), np.float32)
    rows = np.arange(n)
    onehot[rows, y] = 1

    def conv(a, name):
        w, b = params[name]
        o, c, k, _ = w.shape
        win = sliding_window_view(a, (k, k), axis=(2, 3))          # N C OH OW K K
        oh, ow = win.shape[2:4]
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k)
        out = cols @ w.reshape(o, -1).T + b
        return out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2), cols

    def conv_back(g, cols, a_shape, name, need_input):
        w, _ = params[name]
        o, c, k, _ = w.shape
        oh, ow = g.shape[2:]
        g2 = g.transpose(0, 2, 3, 1).reshape(-1, o)
        grads = (g2.T @ cols).reshape(w.shape), g2.sum(axis=0)
        if not need_input:
            return grads, None
        gcols = (g2 @ w.reshape(o, -1)).reshape(n, oh, ow, c, k, k)
        ga = np.zeros(a_shape, np.float32)
        for i in range(k):
            for j in range(k):
                ga[:, :, i:i + oh, j:j + ow] += gcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        return grads, ga

    def pool(a):
        nn_, c, h, w = a.shape
        blocks = a.reshape(nn_, c, h // 2, 2, w // 2, 2)
        out = blocks.max(axis=(3, 5))
        mask = blocks == out[:, :, :, None, :, None]
        return out, mask

    def pool_back(g, mask):
        gb = mask * g[:, :, :, None, :, None]
        nn_, c, h2, _, w2, _ = gb.shape
        return gb.reshape(nn_, c, h2 * 2, w2 * 2)

    def step():
        h1, cols1 = conv(x, "conv1")
        r1 = np.maximum(h1, 0)
        p1, m1 = pool(r1)
        h2, cols2 = conv(p1, "conv2")
        r2 = np.maximum(h2, 0)
        p2, m2 = pool(r2)
        f = p2.reshape(n, -1)
        w3, b3 = params["fc1"]
        h3 = np.maximum(f @ w3.T + b3, 0)
        w4, b4 = params["fc2"]
        loss, g = numpy_cross_entropy(h3 @ w4.T + b4, rows, y, onehot)
        grads = {"fc2": (g.T @ h3, g.sum(axis=0))}
        g = (g @ w4) * (h3 > 0)
        grads["fc1"] = (g.T @ f, g.sum(axis=0))
        g = (g @ w3).reshape(p2.shape)
        g = pool_back(g, m2) * (r2 > 0)
        grads["conv2"], g = conv_back(g, cols2, p1.shape, "conv2", True)
        g = pool_back(g, m1) * (r1 > 0)
        grads["conv1"], _ = conv_back(g, cols1, x.shape, "conv1", False)
        for name, (gw, gb) in grads.items():
            for p_, g_, buf in zip(params[name], (gw, gb), bufs[name]):
                buf *= MOMENTUM
                buf += g_
                p_ -= LR * buf
        return loss
    return step


def run(batch, seconds, threads):
    import fastnn
    fastnn.set_num_threads(threads)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    weights = init_weights()
    fns = {"fastnn": make_framework_step(fastnn, weights, x, y),
           "numpy": make_numpy_step(weights, x, y)}
    try:
        import torch
        torch.set_num_threads(threads)
        fns["torch"] = make_framework_step(torch, weights, x, y)
    except ImportError:
        pass
    med, paired = summarize(measure_rounds(fns, seconds))
    row = {"model": "lenet", "batch": batch, "threads": threads,
           "ms": {k: v * 1e3 for k, v in med.items()}}
    row.update(ratio_fields(med, paired))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    print(machine_info())
    row = run(args.batch, args.seconds, args.threads)
    ms = row["ms"]
    line = f"lenet batch {row['batch']}  fastnn {ms['fastnn']:8.3f} ms  numpy {ms['numpy']:8.3f} ms"
    if "torch" in ms:
        line += f"  torch {ms['torch']:8.3f} ms  {ratio_text(row, 'torch')}"
    line += f"  {ratio_text(row, 'numpy')}"
    print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "rows": [row]}, f, indent=1)
    return row


if __name__ == "__main__":
    main()
