#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: the GPU benchmarks, then the CUDA tests on the device.
#   bash bench/run_cuda.sh [output dir]      (logs and cuda.json land there)
# Uses the python3 on PATH, which needs numpy, numba and numba-cuda with NVIDIA's compiler
# libraries (pip install ".[test,cuda]"); PyTorch's CUDA build, when present, is the baseline.
set -uo pipefail
out=$(mkdir -p "${1:-cuda-results}" && cd "${1:-cuda-results}" && pwd)
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
python3 -c "import fastnn._core" 2>/dev/null || python3 setup.py -q build_ext --inplace
nvidia-smi -L
python3 -c "import sys, numpy, numba, numba.cuda as c; print(sys.version.split()[0], 'numpy',
numpy.__version__, 'numba', numba.__version__, 'gpu', c.get_current_device().name)"
per_test=()
python3 -c "import pytest_timeout" 2>/dev/null && per_test=(--timeout 120)
timeout "${BENCH_TIMEOUT:-200}" python3 bench/bench_cuda.py --seconds "${BENCH_SECONDS:-2}" \
    --json "$out/cuda.json" 2>&1 | tee "$out/bench.log"
timeout "${BENCH_TIMEOUT:-200}" python3 bench/bench_cuda_gemm.py --json "$out/cuda_gemm.json" \
    2>&1 | tee "$out/bench_gemm.log"
timeout "${TEST_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider -rfE "${per_test[@]}" \
    tests/cuda --deselect tests/cuda/test_ptx.py 2>&1 | tee "$out/pytest.log"
