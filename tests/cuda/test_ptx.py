"""The kernels compile for a real GPU: numba's CUDA compiler on a representative subset
(tests/cuda/ptx_check.py without --quick compiles all of them). Skipped without NVRTC/NVVM."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("numba", exc_type=ImportError)
pytestmark = [pytest.mark.cuda, pytest.mark.slow]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def test_kernels_compile_to_ptx():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, os.path.join(HERE, "ptx_check.py"), "--quick"],
                       capture_output=True, text=True, env=env, timeout=600)
    if r.returncode == 2:
        pytest.skip(r.stdout.strip() or "no CUDA compiler")
    assert r.returncode == 0, r.stdout + r.stderr
