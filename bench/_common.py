"""Shared helpers for the benchmarks: machine description and the sgemm yardstick."""
import os
import platform
import time

import numpy as np


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
    parts.append(f"fastnn {fastnn.__version__}")
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS") if k in os.environ}
    if env:
        parts.append(f"env {env}")
    return "; ".join(parts)


def sgemm_peak(n=2048, threads=2, seconds=1.0):
    """Best float32 matmul throughput numpy's BLAS reaches at n x n x n (GFLOP/s)."""
    import fastnn
    fastnn.set_num_threads(threads)
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = float("inf")
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9
