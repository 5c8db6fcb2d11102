"""CUDA tests: on a machine without an NVIDIA GPU they run on numba's CUDA simulator.

numba reads NUMBA_ENABLE_CUDASIM once, when it is first imported, so it is set here, at
collection time, before any test imports numba. Without numba the whole folder is skipped.
"""
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest


def _has_gpu():
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


if "NUMBA_ENABLE_CUDASIM" not in os.environ and "numba" not in sys.modules and not _has_gpu():
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

HAVE_NUMBA = importlib.util.find_spec("numba") is not None
collect_ignore_glob = [] if HAVE_NUMBA else ["test_*.py"]


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    mine = [item for item in items if str(item.fspath).startswith(here)]
    if not mine:
        return
    import fastnn.cuda
    skip = None
    if not fastnn.cuda.is_available():
        skip = pytest.mark.skip(reason="no GPU, and numba was imported before the CUDA "
                                       "simulator could be enabled")
    for item in mine:
        item.add_marker(pytest.mark.cuda)
        if skip is not None:
            item.add_marker(skip)
