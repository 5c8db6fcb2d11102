"""Recurrent layers: forward + backward of LSTM and GRU in fastnn (fused loop and the composite
per-step path) and PyTorch, interleaved in one process.

    python bench/bench_rnn.py [--configs lstm,gru] [--seconds 3] [--threads 2] [--json out.json]

Each step is zero_grad, forward on a (steps, batch, features) float32 input, the sum of the
outputs and backward. Prints the median step time of each and the ratios against fastnn.
"""
import argparse
import json
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (machine_info, measure_rounds, ratio_fields, ratio_text,  # noqa: E402
                     summarize)

# name: (layer, input_size, hidden_size, num_layers, (steps, batch))
CONFIGS = {
    "lstm": ("LSTM", 64, 128, 2, (50, 32)),
    "gru": ("GRU", 64, 128, 2, (50, 32)),
    "lstm-bi": ("LSTM", 64, 128, 2, (50, 32)),
}


def make_step(lib, layer, sizes, x, state, fused=None, bidirectional=False):
    """The same PyTorch-style code on fastnn and torch; ``fused`` picks fastnn's path."""
    in_f, hidden, layers = sizes
    model = getattr(lib.nn, layer)(in_f, hidden, layers, bidirectional=bidirectional)
    model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in state.items()})
    xt = lib.from_numpy(x).requires_grad_()
    toggle = None
    if fused is not None:
        from fastnn.nn._functional import rnn_fused
        toggle = rnn_fused.set_enabled

    def step():
        previous = toggle(fused) if toggle else None
        try:
            model.zero_grad()
            xt.grad = None
            out, _ = model(xt)
            out.sum().backward()
        finally:
            if toggle:
                toggle(previous)
    return step


def initial_state(layer, sizes, bidirectional, seed=0):
    import fastnn
    fastnn.manual_seed(seed)
    in_f, hidden, layers = sizes
    m = getattr(fastnn.nn, layer)(in_f, hidden, layers, bidirectional=bidirectional)
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def run(config, seconds, threads, composite=True):
    import fastnn
    fastnn.set_num_threads(threads)
    layer, in_f, hidden, layers, shape = CONFIGS[config]
    bidirectional = config.endswith("-bi")
    sizes = (in_f, hidden, layers)
    x = np.random.default_rng(1).standard_normal(shape + (in_f,)).astype(np.float32)
    state = initial_state(layer, sizes, bidirectional)
    fns = {"fastnn": make_step(fastnn, layer, sizes, x, state, True, bidirectional)}
    if composite:
        fns["composite"] = make_step(fastnn, layer, sizes, x, state, False, bidirectional)
    try:
        import torch
        torch.set_num_threads(threads)
        fns["torch"] = make_step(torch, layer, sizes, x, state, None, bidirectional)
    except ImportError:
        pass
    med, paired = summarize(measure_rounds(fns, seconds))
    row = {"config": config, "layer": layer, "sizes": sizes, "shape": shape,
           "bidirectional": bidirectional, "ms": {k: v * 1e3 for k, v in med.items()}}
    row.update(ratio_fields(med, paired))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="lstm,gru")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-composite", action="store_true",
                    help="skip fastnn's per-step composite path")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    print(machine_info())
    rows = []
    for config in args.configs.split(","):
        row = run(config, args.seconds, args.threads, not args.no_composite)
        rows.append(row)
        ms = row["ms"]
        layer, in_f, hidden, layers, shape = CONFIGS[config]
        line = (f"{config:8s} {layer}({in_f}, {hidden}, {layers}) on {shape + (in_f,)}  "
                f"fastnn {ms['fastnn']:7.2f} ms")
        for other in ("composite", "torch"):
            if other in ms:
                line += f"  {other} {ms[other]:7.2f} ms"
        for other in ("torch", "composite"):
            if other in ms:
                line += f"  {ratio_text(row, other)}"
        print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
