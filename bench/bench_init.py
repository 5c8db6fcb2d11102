"""Initialising a 2048x2048 float32 layer: fastnn's Cython uniform_/normal_ beside PyTorch's
nn.init and numpy's Generator, interleaved in one process.

    python bench/bench_init.py [--seconds 3]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_info, measure  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    import fastnn
    print(machine_info())
    w = fastnn.empty(2048, 2048)
    arr = np.empty((2048, 2048), np.float32)
    gen = np.random.default_rng(0)
    for name, ours, numpy_fill, torch_fill in (
            ("uniform_", lambda: w.uniform_(-1, 1), lambda: gen.random(out=arr, dtype=np.float32), "uniform_"),
            ("normal_", lambda: w.normal_(0, 1), lambda: gen.standard_normal(out=arr, dtype=np.float32),
             "normal_")):
        fns = {"fastnn": ours, "numpy": numpy_fill}
        try:
            import torch
            t = torch.empty(2048, 2048)
            fns["torch"] = (lambda t=t, f=getattr(torch.nn.init, torch_fill): f(t))
        except ImportError:
            pass
        med = measure(fns, args.seconds, pause=0.05, block=0.1)
        line = f"{name:9s}" + "".join(f"  {k} {v * 1e3:7.2f} ms" for k, v in med.items())
        if "torch" in med:
            line += f"  torch/fastnn {med['torch'] / med['fastnn']:.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()
