"""fastnn's CUDA GEMM kernels: TFLOP/s of each at square sizes beside PyTorch's cuBLAS, and
the training steps with the register-blocked kernel and the K-split turned off and on.

    python bench/bench_cuda_gemm.py [--sizes 512,2048,4096] [--json out.json]

Needs a GPU; each A/B runs in this one process, the choice patched between runs.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_cuda  # noqa: E402  (imports PyTorch before fastnn, through _common)


def timed_ms(fn, sync, n, reps=7):
    """Median ms per call over ``reps`` rounds of ``n`` calls (bench_cuda's timing)."""
    return bench_cuda.timed(fn, sync, 0.0, n, reps)[1] * 1e3


def gemm_rows(fastnn, sizes):
    from fastnn.cuda import kernels_gemm as KG
    from fastnn.cuda._array import from_host
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        a, b = (from_host(rng.standard_normal((1, n, n)).astype(np.float32)) for _ in range(2))
        out = from_host(np.zeros((1, n, n), np.float32))
        row = {"n": n}
        for name, kw in (("tiled", {"blocked": False}), ("blocked", {"blocked": True})):
            ms = timed_ms(lambda: KG.gemm(a, b, out, tiled=True, **kw),
                          fastnn.cuda.synchronize, 5 if n > 2048 else 20)
            row[name] = 2 * n ** 3 / ms / 1e9
        try:
            import torch
            ta, tb = (torch.tensor(x.copy_to_host()[0], device="cuda") for x in (a, b))
            ms = timed_ms(lambda: ta @ tb, torch.cuda.synchronize, 5 if n > 2048 else 20)
            row["torch"] = 2 * n ** 3 / ms / 1e9
        except (ImportError, RuntimeError, AssertionError):
            pass
        rows.append(row)
        print(f"gemm {n}^3  " + "  ".join(f"{k} {v:5.1f} TFLOP/s" for k, v in row.items()
                                          if k != "n"), flush=True)
    return rows


def step_rows(fastnn):
    from fastnn.cuda import kernels_gemm as KG
    switches = {"large": ("BLOCKED_TILES", 1 << 60), "lenet": ("SPLIT_BELOW_TILES", 0)}
    rows = []
    for model, (name, off) in switches.items():
        shapes = bench_cuda.REAL[model]
        x, y = bench_cuda.data(model, shapes)
        on = getattr(KG, name)
        row = {"model": model, "switch": name}
        for label, value in (("off", off), ("on", on), ("off again", off), ("on again", on)):
            setattr(KG, name, value)
            KG._splits.clear()
            step = bench_cuda.make_step(fastnn, model, shapes, "cuda", x, y)
            row[label] = timed_ms(step, fastnn.cuda.synchronize, 20)
        setattr(KG, name, on)
        rows.append(row)
        print(f"{model} step, {name} off / on / off / on: " +
              " / ".join(f"{row[k]:.3f}" for k in ("off", "on", "off again", "on again")) +
              " ms", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="512,2048,4096")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    import fastnn
    if not fastnn.cuda.is_available() or fastnn.cuda.is_simulator():
        sys.exit("needs a GPU: the simulator's timings mean nothing")
    result = {"gpu": fastnn.cuda.get_device_name(),
              "gemm": gemm_rows(fastnn, [int(s) for s in args.sizes.split(",")]),
              "steps": step_rows(fastnn)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
