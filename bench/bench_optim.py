"""Optimizer step speed: fastnn's fused arena step against PyTorch and plain numpy.

SGD with momentum and Adam over 100 parameters of 100,000 float32 each (40 MB per array),
timed interleaved in one process, medians reported.  The memory-bandwidth yardstick is
``np.copyto`` of the same 40 MB; every rate counts the bytes a step must read plus write
(SGD: param, grad, buffer read, param, buffer written; Adam: 4 read, 3 written).

    python bench/bench_optim.py [--reps 15] [--threads 2] [--passive]

On a machine shared with other busy processes, OpenMP's spinning idle threads (fastnn's and
PyTorch's runtimes both spin by default) can slow everything down many times over;
``--passive`` sets OMP_WAIT_POLICY=passive for both before they load.
"""
import argparse
import os
import sys
import statistics
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402,F401  (imports PyTorch before fastnn)

N_PARAMS, SIZE = 100, 100_000


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def fastnn_setup(kind, arrays, grads):
    import fastnn
    from fastnn import optim
    params = [fastnn.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = optim.SGD(params, lr=1e-3, momentum=0.9) if kind == "sgd" else \
        optim.Adam(params, lr=1e-3)
    # gradients arrive through autograd, so they sit in the arena's grad slots
    loss = sum((p * fastnn.tensor(g)).sum() for p, g in zip(params, grads))
    loss.backward()
    opt.step()  # the first step creates the state
    return opt.step


def torch_setup(torch, kind, arrays, grads, foreach):
    params = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, foreach=foreach) if kind == "sgd" \
        else torch.optim.Adam(params, lr=1e-3, foreach=foreach)
    opt.step()
    return opt.step


def numpy_setup(kind, arrays, grads):
    ps = [a.copy() for a in arrays]
    gs = [g.copy() for g in grads]
    tmp = np.empty(SIZE, dtype=np.float32)
    f = np.float32
    if kind == "sgd":
        bufs = [g.copy() for g in gs]

        def step():
            for p, g, b in zip(ps, gs, bufs):
                b *= f(0.9)
                b += g
                np.multiply(b, f(-1e-3), out=tmp)
                p += tmp
        return step
    ms = [np.zeros_like(p) for p in ps]
    vs = [np.zeros_like(p) for p in ps]
    state = {"t": 0}
    tmp2 = np.empty(SIZE, dtype=np.float32)

    def step():
        state["t"] += 1
        t = state["t"]
        step_size = f(-1e-3 / (1 - 0.9 ** t))
        bc2 = f((1 - 0.999 ** t) ** 0.5)
        for p, g, m, v in zip(ps, gs, ms, vs):
            np.subtract(g, m, out=tmp)
            np.multiply(tmp, f(0.1), out=tmp)
            m += tmp
            v *= f(0.999)
            np.multiply(g, f(0.001), out=tmp)
            np.multiply(tmp, g, out=tmp)
            v += tmp
            np.sqrt(v, out=tmp2)
            np.divide(tmp2, bc2, out=tmp2)
            np.add(tmp2, f(1e-8), out=tmp2)
            np.multiply(m, step_size, out=tmp)
            np.divide(tmp, tmp2, out=tmp)
            p += tmp
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--passive", action="store_true", help="OMP_WAIT_POLICY=passive")
    args = ap.parse_args()
    if args.passive:
        os.environ["OMP_WAIT_POLICY"] = "passive"
    import fastnn
    fastnn.set_num_threads(args.threads)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(SIZE, dtype=np.float32) for _ in range(N_PARAMS)]
    grads = [rng.standard_normal(SIZE, dtype=np.float32) for _ in range(N_PARAMS)]
    src = np.concatenate(arrays)
    dst = np.empty_like(src)
    nbytes = src.nbytes
    copy_t = []
    print(f"{N_PARAMS} parameters x {SIZE} float32, {args.threads} threads, "
          f"median of {args.reps} interleaved runs, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}")
    results = {}
    for kind, arrays_rw in (("sgd", 5), ("adam", 7)):
        runners = {"fastnn (fused)": fastnn_setup(kind, arrays, grads),
                   "numpy per-param": numpy_setup(kind, arrays, grads)}
        if torch is not None:
            runners["torch default"] = torch_setup(torch, kind, arrays, grads, None)
            runners["torch foreach"] = torch_setup(torch, kind, arrays, grads, True)
        times = {name: [] for name in runners}
        for _ in range(args.reps):
            copy_t.append(_timed(lambda: np.copyto(dst, src)))
            for name, fn in runners.items():
                times[name].append(_timed(fn))
        results[kind] = ({k: statistics.median(v) for k, v in times.items()}, arrays_rw)
    copy_gbs = 2 * nbytes / statistics.median(copy_t) / 1e9
    print(f"np.copyto of {nbytes / 1e6:.0f} MB: {statistics.median(copy_t) * 1e3:.2f} ms, "
          f"{copy_gbs:.1f} GB/s (read + write)")
    for kind, (med, rw) in results.items():
        step_bytes = rw * nbytes
        print(f"\n{kind.upper()} step ({rw} x {nbytes / 1e6:.0f} MB moved):")
        for name, t in med.items():
            gbs = step_bytes / t / 1e9
            print(f"  {name:18s} {t * 1e3:8.2f} ms  {gbs:6.1f} GB/s  "
                  f"({gbs / copy_gbs:.2f} of copy)")
        ours = med["fastnn (fused)"]
        for name in ("torch default", "torch foreach", "numpy per-param"):
            if name in med:
                print(f"  {name} / fastnn: {med[name] / ours:.2f}x")


if __name__ == "__main__":
    main()
