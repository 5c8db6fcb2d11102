"""Fully connected layer, forward and backward, at the kernel level:

    out = x @ W.T + b,   gx = g @ W,   gW = g.T @ x,   gb = g.sum(0)

in fastnn's compiled kernels (fastnn._core), PyTorch ops writing into preallocated
outputs, and plain numpy, interleaved in one process so that all three see the same
machine state.

    python bench/bench_linear.py [--threads 2] [--seconds 3] [--shapes 64x784x128,...]

Prints the median time of one forward+backward for
each, the ratios torch/fastnn and numpy/fastnn (above 1 means fastnn is faster), and
GFLOP/s for the largest shape.
Columns for PyTorch are left out when it is not installed.
"""
import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (imports PyTorch before fastnn)

from fastnn import _core  # noqa: E402
from fastnn._version import __version__

SHAPES = [(64, 784, 128), (128, 784, 512), (512, 2048, 2048)]


def parse_shapes(text):
    return [tuple(int(v) for v in s.split("x")) for s in text.split(",") if s]


def make_data(batch, n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    f = np.float32
    return (rng.standard_normal((batch, n_in)).astype(f),
            (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(f),
            rng.standard_normal(n_out).astype(f),
            rng.standard_normal((batch, n_out)).astype(f))


def fastnn_step(x, w, b, g):
    out = np.empty((x.shape[0], w.shape[0]), np.float32)
    gx, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)

    def step():
        _core.linear_forward(x, w, b, out)
        _core.linear_backward(g, x, w, gx, gw, gb, False, False)
        return out, gx, gw, gb
    return step


def numpy_step(x, w, b, g):
    out = np.empty((x.shape[0], w.shape[0]), np.float32)
    gx, gw, gb = np.empty_like(x), np.empty_like(w), np.empty_like(b)

    def step():
        np.matmul(x, w.T, out=out)
        np.add(out, b, out=out)
        np.matmul(g, w, out=gx)
        np.matmul(g.T, x, out=gw)
        np.sum(g, axis=0, out=gb)
        return out, gx, gw, gb
    return step


def torch_step(torch, x, w, b, g):
    tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))
    out = torch.empty(x.shape[0], w.shape[0])
    gx, gw, gb = torch.empty_like(tx), torch.empty_like(tw), torch.empty_like(tb)

    def step():
        torch.addmm(tb, tx, tw.t(), out=out)
        torch.mm(tg, tw, out=gx)
        torch.mm(tg.t(), tx, out=gw)
        torch.sum(tg, 0, out=gb)
        return out, gx, gw, gb
    return step


def check_agreement(steps):
    results = {name: [np.asarray(a) for a in fn()] for name, fn in steps.items()}
    base = results["fastnn"]
    for name, res in results.items():
        for a, b in zip(base, res):
            np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3, err_msg=name)


def fmt_time(seconds):
    return f"{seconds * 1e6:9.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:9.2f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0, help="timing budget per shape")
    ap.add_argument("--shapes", type=parse_shapes, default=SHAPES,
                    help="comma-separated BATCHxINxOUT list")
    args = ap.parse_args()

    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    _core.set_num_threads(args.threads)

    blas = _core._blas_info()
    print(f"fastnn {__version__} (OpenMP: {_core.HAVE_OPENMP}, gemm: {blas['name']}, "
          f"{os.path.basename(blas['path'] or 'numpy fallback')}), "
          f"numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, "
          f"python {platform.python_version()}, {os.cpu_count()} cpus, "
          f"{args.threads} threads")
    if hasattr(os, "getloadavg"):
        print("load average before the run: %.2f (other work on the machine skews timings)"
              % os.getloadavg()[0])
    print("one linear forward + backward, float32, median per call\n")
    names = ["fastnn", "numpy"] + (["torch"] if torch else [])
    header = f"{'batch x in x out':>18} " + " ".join(f"{n:>12}" for n in names)
    header += f" {'numpy/fastnn':>13}" + (f" {'torch/fastnn':>13}" if torch else "")
    print(header)
    rows = []
    for shape in args.shapes:
        x, w, b, g = make_data(*shape)
        steps = {"fastnn": fastnn_step(x, w, b, g), "numpy": numpy_step(x, w, b, g)}
        if torch:
            steps["torch"] = torch_step(torch, x, w, b, g)
        check_agreement(steps)
        med = _common.measure(steps, args.seconds, pause=0.2, block=0.3)
        rows.append((shape, med))
        line = f"{'x'.join(map(str, shape)):>18} " + " ".join(fmt_time(med[n]) + " "
                                                              for n in names)
        line += f" {med['numpy'] / med['fastnn']:13.2f}"
        if torch:
            line += f" {med['torch'] / med['fastnn']:13.2f}"
        print(line)

    shape, med = max(rows, key=lambda r: r[0][0] * r[0][1] * r[0][2])
    flops = 3 * 2 * shape[0] * shape[1] * shape[2]
    print(f"\nGFLOP/s at {'x'.join(map(str, shape))} (3 matrix products): "
          + ", ".join(f"{n} {flops / med[n] / 1e9:.1f}" for n in names))


if __name__ == "__main__":
    sys.exit(main())
