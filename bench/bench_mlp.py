"""One full MLP training step (zero_grad, forward, cross-entropy, backward, SGD momentum) in
fastnn, PyTorch and hand-written numpy, interleaved in one process.

    python bench/bench_mlp.py [--configs tiny,mnist,large] [--seconds 2] [--json out.json]

Prints the median step time of each implementation, the ratios torch/fastnn and numpy/fastnn,
and for the large config fastnn's GFLOP/s against numpy's 2048^3 sgemm timed in the same
rounds (the median per-round fraction, and against the best round: the peak).
"""
import argparse
import json
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (machine_info, measure_rounds, numpy_cross_entropy,  # noqa: E402
                     peak_fields, ratio_fields, ratio_text, sgd_training_step,
                     square_product, summarize)

CONFIGS = {
    "tiny": ([784, 128, 10], 64),
    "mnist": ([784, 512, 512, 10], 128),
    "large": ([784, 2048, 2048, 10], 512),
}
LR, MOMENTUM = 0.01, 0.9


def init_weights(sizes, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        out.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                    rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return out


def make_framework_step(lib, sizes, batch, weights, x, y):
    """The same PyTorch-style code runs on fastnn and on torch."""
    nn = lib.nn
    layers = []
    for i, (w, b) in enumerate(weights):
        lin = nn.Linear(w.shape[1], w.shape[0])
        with lib.no_grad():
            lin.weight.copy_(lib.from_numpy(w.copy()))
            lin.bias.copy_(lib.from_numpy(b.copy()))
        layers.append(lin)
        if i < len(weights) - 1:
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    return sgd_training_step(lib, model, x, y, LR, MOMENTUM)


def make_numpy_step(sizes, batch, weights, x, y):
    """A straightforward hand-written numpy MLP: what a careful user would write."""
    params = [(w.copy(), b.copy()) for w, b in weights]
    bufs = [(np.zeros_like(w), np.zeros_like(b)) for w, b in weights]
    onehot = np.zeros((batch, sizes[-1]), np.float32)
    rows = np.arange(batch)
    onehot[rows, y] = 1

    def step():
        acts = [x]
        for i, (w, b) in enumerate(params):
            h = acts[-1] @ w.T + b
            if i < len(params) - 1:
                np.maximum(h, 0, out=h)
            acts.append(h)
        loss, g = numpy_cross_entropy(acts[-1], rows, y, onehot)
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            gw = g.T @ acts[i]
            gb = g.sum(axis=0)
            if i:
                g = g @ w
                g *= acts[i] > 0
            for p_, g_, buf in ((w, gw, bufs[i][0]), (b, gb, bufs[i][1])):
                buf *= MOMENTUM
                buf += g_
                p_ -= LR * buf
        return loss
    return step


def run(config, seconds, threads):
    import fastnn
    fastnn.set_num_threads(threads)
    sizes, batch = CONFIGS[config]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    weights = init_weights(sizes)
    fns = {"fastnn": make_framework_step(fastnn, sizes, batch, weights, x, y),
           "numpy": make_numpy_step(sizes, batch, weights, x, y)}
    try:
        import torch
        torch.set_num_threads(threads)
        fns["torch"] = make_framework_step(torch, sizes, batch, weights, x, y)
    except ImportError:
        pass
    if config == "large":
        # the yardsticks run in the same rounds as the steps, so each round compares the
        # step with the products the machine managed within the same second
        fns["sgemm"] = square_product()
        fns["gemm"] = square_product(through_fastnn=True)
    times = measure_rounds(fns, seconds)
    products = {k: times.pop(k) for k in ("sgemm", "gemm") if k in times}
    med, paired = summarize(times)
    flops = 6 * batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    row = {"config": config, "sizes": sizes, "batch": batch,
           "ms": {k: v * 1e3 for k, v in med.items()},
           "gflops_fastnn": flops / med["fastnn"] / 1e9}
    row.update(ratio_fields(med, paired))
    if products:
        row.update(peak_fields({"fastnn": times["fastnn"], **products}, flops))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="tiny,mnist,large")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    print(machine_info())
    rows = []
    for config in args.configs.split(","):
        row = run(config, args.seconds, args.threads)
        rows.append(row)
        ms = row["ms"]
        line = (f"{config:6s} batch {row['batch']:4d}  fastnn {ms['fastnn']:8.3f} ms  "
                f"numpy {ms['numpy']:8.3f} ms")
        if "torch" in ms:
            line += f"  torch {ms['torch']:8.3f} ms  {ratio_text(row, 'torch')}"
        line += f"  {ratio_text(row, 'numpy')}"
        if config == "large":
            above, rounds = row["rounds_above_90pct_of_sgemm"]
            line += (f"  fastnn {row['gflops_fastnn']:.0f} GFLOP/s = "
                     f"{100 * row['fraction_of_sgemm_per_round']:.0f}% of numpy's 2048^3 "
                     f"sgemm in the same rounds (above 90% in {above} of {rounds}), "
                     f"{100 * row['fraction_of_peak']:.0f}% of its best round "
                     f"{row['sgemm_peak_gflops']:.0f} (median "
                     f"{row['sgemm_median_gflops']:.0f}; fastnn's gemm: best "
                     f"{row['fastnn_gemm_peak_gflops']:.0f}, median "
                     f"{row['fastnn_gemm_median_gflops']:.0f})")
        print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
