"""Training steps (zero_grad, forward, cross-entropy, backward, SGD momentum) of the MNIST MLP
and LeNet-5 on the GPU through fastnn's numba.cuda backend, beside PyTorch's CUDA build when it
is installed, else beside the CPU (fastnn's and PyTorch's).

    python bench/bench_cuda.py [--models mlp,lenet,large] [--seconds 3] [--json out.json]
    python bench/bench_cuda.py --sim        # tiny shapes on numba's CUDA simulator (no GPU)

Each timing is the median over rounds of several back-to-back steps, synchronising the GPU
once per round; the first step (kernel compilation) is reported on its own.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import sgd_training_step  # noqa: E402

# shapes: (MLP layer sizes, LeNet (channels, side, conv widths, fc widths), batch)
# "large" is the CPU benchmark's large MLP, where the GEMM kernels rather than launches dominate
REAL = {"mlp": ([784, 512, 512, 10], None, 128),
        "lenet": (None, (1, 28, (6, 16), (120, 84, 10)), 128),
        "large": ([784, 2048, 2048, 10], None, 512)}
SIM = {"mlp": ([16, 12, 4], None, 4),
       "lenet": (None, (1, 12, (2, 3), (6, 5, 3)), 2),
       "large": ([16, 20, 20, 4], None, 8)}
LR, MOMENTUM = 0.01, 0.9


def build(lib, model, shapes):
    nn, F = lib.nn, lib.nn.functional
    sizes, lenet, _ = shapes
    if sizes is not None:
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    cin, side, (c1, c2), (f1, f2, f3) = lenet
    flat = c2 * ((side // 2 - 4) // 2) ** 2

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, c1, 5, padding=2)
            self.conv2 = nn.Conv2d(c1, c2, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(flat, f1), nn.Linear(f1, f2), \
                nn.Linear(f2, f3)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.flatten(1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
    return LeNet()


def data(model, shapes):
    sizes, lenet, batch = shapes
    rng = np.random.default_rng(0)
    shape = (batch, sizes[0]) if sizes is not None else (batch, lenet[0], lenet[1], lenet[1])
    classes = sizes[-1] if sizes is not None else lenet[3][-1]
    return rng.standard_normal(shape).astype(np.float32), \
        rng.integers(0, classes, batch).astype(np.int64)


def make_step(lib, model, shapes, device, x, y):
    """The same PyTorch-style code on fastnn and on torch; weights copied from one init."""
    lib.manual_seed(0)
    net = build(lib, model, shapes).to(device)
    return sgd_training_step(lib, net, x, y, LR, MOMENTUM, device)


def timed(step, sync, seconds, steps_per_round, min_rounds):
    t0 = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - t0
    for _ in range(2 if min_rounds > 1 else 0):
        step()
    sync()
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < min_rounds:
        t0 = time.perf_counter()
        for _ in range(steps_per_round):
            step()
        sync()
        times.append((time.perf_counter() - t0) / steps_per_round)
    return first, statistics.median(times)


def implementations(model, shapes, x, y, fastnn):
    impls = {"fastnn cuda": (make_step(fastnn, model, shapes, "cuda", x, y),
                             fastnn.cuda.synchronize)}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        impls["torch cuda"] = (make_step(torch, model, shapes, "cuda", x, y),
                               torch.cuda.synchronize)
    else:
        impls["fastnn cpu"] = (make_step(fastnn, model, shapes, "cpu", x, y), lambda: None)
        if torch is not None:
            impls["torch cpu"] = (make_step(torch, model, shapes, "cpu", x, y), lambda: None)
    return impls


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mlp,lenet,large")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--sim", action="store_true",
                    help="tiny shapes on numba's CUDA simulator (for machines without a GPU)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.sim:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"  # before numba is first imported
    import fastnn
    from _common import machine_info
    if not fastnn.cuda.is_available():
        sys.exit("no CUDA device: install fastnn[cuda] on a GPU machine, or pass --sim")
    card = fastnn.cuda.get_device_name()
    print(machine_info())
    print(f"gpu: {card}" + ("  (simulated: timings mean nothing)" if args.sim else ""))
    table = SIM if args.sim else REAL
    rows = []
    for model in args.models.split(","):
        shapes = table[model]
        x, y = data(model, shapes)
        losses = {}
        row = {"model": model, "batch": shapes[2], "gpu": card, "first_step_s": {}, "ms": {}}
        for name, (step, sync) in implementations(model, shapes, x, y, fastnn).items():
            first, med = timed(step, sync, 0.0 if args.sim else args.seconds,
                               1 if args.sim else 10, 1 if args.sim else 3)
            row["first_step_s"][name] = first
            row["ms"][name] = med * 1e3
            losses[name] = float(step().item())
        row["loss_after"] = losses
        rows.append(row)
        base = row["ms"]["fastnn cuda"]
        parts = [f"{k} {v:9.3f} ms ({v / base:5.2f}x)" for k, v in row["ms"].items()]
        print(f"{model:6s} batch {row['batch']:4d}  " + "  ".join(parts) +
              f"  first fastnn cuda step {row['first_step_s']['fastnn cuda']:.1f} s", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine_info(), "gpu": card, "simulated": args.sim,
                       "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
