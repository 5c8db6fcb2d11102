"""Per-op overhead on small tensors: fastnn beside PyTorch and numpy, interleaved.

    python bench/bench_ops.py [--seconds 3]

Each case runs an elementwise op (or a tiny forward + backward) on 10x10 float32 tensors,
with gradient tracking where the library has it, and prints microseconds per call.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_info, measure  # noqa: E402


def cases(lib, requires_grad):
    a = lib.randn(10, 10, requires_grad=requires_grad)
    b = lib.randn(10, 10, requires_grad=requires_grad)

    def backward():
        (a * b).sum().backward()
    return {"a + b": lambda: a + b, "a * 2.0": lambda: a * 2.0, "a.relu()": lambda: a.relu(),
            "a.sum()": lambda: a.sum(), "a.mean()": lambda: a.mean(),
            "(a * b).sum().backward()": backward}


def numpy_cases():
    a = np.random.default_rng(0).standard_normal((10, 10)).astype(np.float32)
    b = a.copy()
    return {"a + b": lambda: a + b, "a * 2.0": lambda: a * 2.0,
            "a.relu()": lambda: np.maximum(a, 0), "a.sum()": lambda: a.sum(),
            "a.mean()": lambda: a.mean()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args(argv)
    import fastnn
    print(machine_info())
    libs = {"fastnn": cases(fastnn, True)}
    try:
        import torch
        torch.set_num_threads(1)
        libs["torch"] = cases(torch, True)
    except ImportError:
        pass
    libs["numpy"] = numpy_cases()
    print(f"{'op (10x10 float32, requires_grad)':34s}" + "".join(f"{k:>12s}" for k in libs)
          + "   torch/fastnn")
    for name in libs["fastnn"]:
        fns = {k: v[name] for k, v in libs.items() if name in v}
        med = measure(fns, args.seconds, pause=0.05, block=0.05)
        row = f"{name:34s}" + "".join(f"{med[k] * 1e6:10.2f}us" if k in med else f"{'':12s}"
                                      for k in libs)
        if "torch" in med:
            row += f"   {med['torch'] / med['fastnn']:.2f}x"
        print(row, flush=True)


if __name__ == "__main__":
    main()
