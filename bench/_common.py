"""Shared helpers for the benchmarks: machine description and the sgemm yardstick."""
import glob
import os
import platform
import statistics
import sys
import time

import numpy as np

# Run from a source checkout: its fastnn when built in place (setup.py build_ext --inplace),
# else the installed one; never the checkout's uncompiled fallback ahead of a compiled install.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if glob.glob(os.path.join(_ROOT, "fastnn", "_core.*.so")) or \
        glob.glob(os.path.join(_ROOT, "fastnn", "_core.*.pyd")):
    sys.path.insert(1, _ROOT)
else:
    sys.path.append(_ROOT)

# PyTorch loads before fastnn so that its OpenMP runtime keeps the wait policy it would have
# on its own (beside numpy's BLAS fastnn asks for OMP_WAIT_POLICY=PASSIVE unless the user
# chose a policy; with MKL it keeps the runtime's default, as PyTorch does).
try:
    import torch  # noqa: F401
except ImportError:
    pass


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    parts = [f"cpu: {cpu} ({os.cpu_count()} logical cores)",
             f"python {platform.python_version()}", f"numpy {np.__version__}"]
    try:
        import torch
        parts.append(f"torch {torch.__version__}")
    except ImportError:
        parts.append("torch not installed")
    import fastnn
    parts.append(f"fastnn {fastnn.__version__} (gemm: {fastnn_blas_name()})")
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS") if k in os.environ}
    if env:
        parts.append(f"env {env}")
    return "; ".join(parts)


def fastnn_blas_name():
    from fastnn import _core
    info = _core._blas_info()
    return info["name"] if info["direct_gemm"] else "numpy matmul"


def square_product(n=2048, through_fastnn=False):
    """A zero-argument float32 n x n x n product, through numpy's BLAS or fastnn's gemm, to
    time in the same rounds as the training steps it is the yardstick for."""
    from fastnn import _core
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    out = np.empty_like(a)
    product = _core.matmul_into if through_fastnn else np.matmul

    def run():
        product(a, b, out=out)
        return out
    return run


def peak_fields(times, step_flops, n=2048):
    """fastnn's step throughput against the n^3 products timed in the same rounds.

    ``times`` holds per-round seconds of "fastnn" (a step of ``step_flops``), "sgemm"
    (numpy's product) and optionally "gemm" (fastnn's own). The per-round fraction compares
    the step with the product measured within a second of it, so the VM's drift cancels; the
    best round's product rate is the peak, which one lucky second sets.
    """
    gflop = 2 * n ** 3 / 1e9
    step = [step_flops / 1e9 / t for t in times["fastnn"]]
    sgemm = [gflop / t for t in times["sgemm"]]
    fractions = [s / p for s, p in zip(step, sgemm)]
    row = {"sgemm_peak_gflops": max(sgemm), "sgemm_median_gflops": statistics.median(sgemm),
           "fraction_of_peak": statistics.median(step) / max(sgemm),
           "fraction_of_sgemm_per_round": statistics.median(fractions),
           "rounds_above_90pct_of_sgemm": [sum(f > 0.9 for f in fractions), len(fractions)]}
    if "gemm" in times:
        gemm = [gflop / t for t in times["gemm"]]
        row["fastnn_gemm_peak_gflops"] = max(gemm)
        row["fastnn_gemm_median_gflops"] = statistics.median(gemm)
    return row


def measure(fns, seconds, pause=0.2, block=0.2, min_rounds=11):
    """Median seconds per call of each function, over the rounds of ``measure_rounds``."""
    return {k: statistics.median(v) for k, v in
            measure_rounds(fns, seconds, pause, block, min_rounds).items()}


def measure_rounds(fns, seconds, pause=0.2, block=0.2, min_rounds=11):
    """Seconds per call of each function in each of a series of interleaved rounds.

    At least ``min_rounds`` rounds run however short ``seconds`` is: this machine's speed
    drifts from second to second, and medians over five rounds moved a small step's ratio
    by 10 % from run to run where eleven keep it within a few percent.

    Each round runs every implementation in turn, starting with a different one each time.
    Before each block it pauses long enough for the other libraries' idle thread pools to stop
    spinning (OpenBLAS's workers spin for about 0.1 s after a call, PyTorch's OpenMP ones
    too), then makes one untimed call to wake its own: on 2 cores a spinning pool otherwise
    slows whoever runs next by several times, which measures the order, not the library.
    """
    names = list(fns)
    for f in fns.values():
        for _ in range(3):
            f()
    reps = {}
    for k, f in fns.items():
        t0 = time.perf_counter()
        f()
        reps[k] = max(1, int(block / max(time.perf_counter() - t0, 1e-6)))
    times = {k: [] for k in names}
    deadline = time.perf_counter() + seconds
    rnd = 0
    while time.perf_counter() < deadline or len(times[names[0]]) < min_rounds:
        order = names[rnd % len(names):] + names[:rnd % len(names)]
        rnd += 1
        for k in order:
            f = fns[k]
            time.sleep(pause)
            f()
            t0 = time.perf_counter()
            for _ in range(reps[k]):
                f()
            times[k].append((time.perf_counter() - t0) / reps[k])
    return times


def paired_ratio(times, slow, fast):
    """(median over rounds of times[slow] / times[fast], rounds where ``fast`` won, rounds).

    Both sides of a ratio ran within a second of each other in each round, so the per-round
    ratio cancels the machine's drift from one round to the next, which a ratio of the two
    overall medians does not: it is the steadier figure when two libraries are close.
    """
    ratios = [s / f for s, f in zip(times[slow], times[fast])]
    return statistics.median(ratios), sum(r > 1 for r in ratios), len(ratios)


def numpy_cross_entropy(logits, rows, y, onehot):
    """(mean softmax cross-entropy, its gradient wrt logits), as a careful numpy user writes it:
    the loss through log-sum-exp, the gradient as (softmax - onehot) / batch. ``rows`` is
    ``np.arange(batch)``, made once like ``onehot``. Sums, not ``.mean()``: at batch 64 the
    mean's Python wrapper alone costs more than the rest of the loss."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    s = p.sum(axis=1, keepdims=True)
    loss = (np.log(s).sum() - z[rows, y].sum()) / len(y)
    p /= s
    return loss, (p - onehot) / len(y)


def sgd_training_step(lib, model, x, y, lr, momentum, device=None):
    """One PyTorch-style training step (the same code runs on fastnn and on torch)."""
    F = lib.nn.functional
    opt = lib.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    xt, yt = lib.from_numpy(x), lib.from_numpy(y)
    if device is not None:
        xt, yt = xt.to(device), yt.to(device)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step


def summarize(times, ours="fastnn"):
    """Medians per implementation, and each other's per-round ratio against ``ours``."""
    med = {k: statistics.median(v) for k, v in times.items()}
    paired = {k: paired_ratio(times, k, ours) for k in times if k != ours}
    return med, paired


def ratio_fields(med, paired, ours="fastnn"):
    """The row fields for each ratio other/ours: ratio of medians, per-round median, wins."""
    row = {}
    for other, (ratio, wins, rounds) in paired.items():
        key = f"{other}_over_{ours}"
        row[key] = med[other] / med[ours]
        row[key + "_per_round"] = ratio
        row[key + "_rounds_won"] = [wins, rounds]
    return row


def ratio_text(row, other, ours="fastnn"):
    """``torch/fastnn 1.21x (per round 1.22x, ahead in 11 of 11)``."""
    key = f"{other}_over_{ours}"
    wins, rounds = row[key + "_rounds_won"]
    return (f"{other}/{ours} {row[key]:.2f}x (per round {row[key + '_per_round']:.2f}x, "
            f"ahead in {wins} of {rounds})")
