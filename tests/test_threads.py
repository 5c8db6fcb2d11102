"""fastnn's thread count, OpenMP wait policy and parallel-loop bound, and fork safety."""
import os
import signal
import sys
import time

import numpy as np
import pytest

from fastnn import _core

BIG = 70_001  # above the element count where kernels go parallel in these tests


def test_num_threads_round_trip():
    previous = _core.get_num_threads()
    try:
        for n in (1, 3, 2):
            _core.set_num_threads(n)
            assert _core.get_num_threads() == n
            info = _core._blas_info()
            if info["thread_control"]:
                assert info["blas_threads"] == n
    finally:
        _core.set_num_threads(previous)
    assert isinstance(_core.HAVE_OPENMP, bool)


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-2, ValueError), (1.5, TypeError),
                                     ("2", TypeError)])
def test_set_num_threads_rejects(bad, exc):
    with pytest.raises(exc):
        _core.set_num_threads(bad)


def test_parallel_min_round_trip():
    previous = _core._set_parallel_min(123)
    try:
        assert _core._set_parallel_min(456) == 123
        with pytest.raises(ValueError, match="expected a positive element count, but got 0"):
            _core._set_parallel_min(0)
    finally:
        _core._set_parallel_min(previous)


def test_spinning_runtime_detection(monkeypatch):
    from fastnn import _threads
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's choice is kept
    assert not _threads.spinning_openmp_runtime()
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    # fastnn._core is loaded by now, and with it the OpenMP runtime when built with one
    # (a serial build may still find one that PyTorch loaded)
    if _core.HAVE_OPENMP and sys.platform.startswith("linux"):
        assert _threads.spinning_openmp_runtime()
    previous = _core._set_parallel_min(1 << 20)
    previous_blas = _core._blas_info()["name"]
    try:
        for blas in _core._blas_backends():
            _core._select_blas(blas)
            _threads.adapt_to_openmp_runtime(True)
            # MKL's threads and fastnn's own gemm's are the runtime's: nothing spins against them
            mkl = blas in ("mkl", "fastnn")
            expected = _threads.MKL_PARALLEL_MIN if mkl else _threads.SPINNING_PARALLEL_MIN
            assert _core._set_parallel_min(1 << 20) == expected
            _threads.adapt_to_openmp_runtime(False)
            assert _core._set_parallel_min(1 << 20) == (_threads.MKL_PARALLEL_MIN if mkl
                                                        else 1 << 20)
    finally:
        _core._set_parallel_min(previous)
        _core._select_blas(previous_blas)


@pytest.mark.parametrize("mkl_installed", [False, True])
def test_wait_policy_passive_only_beside_another_blas(monkeypatch, mkl_installed):
    from fastnn import _blas_mkl, _threads
    monkeypatch.setattr(_threads, "spinning_openmp_runtime", lambda: False)
    monkeypatch.setattr(_threads, "own_gemm_expected", lambda: False)
    monkeypatch.setattr(_blas_mkl, "candidates", lambda: ["libmkl_rt.so.2"] * mkl_installed)
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "FASTNN_BLAS"):
        monkeypatch.delenv(name, raising=False)
    # MKL's threads are the runtime's: the default short spin serves the next product
    assert _threads.choose_wait_policy() is mkl_installed
    assert os.environ.get("OMP_WAIT_POLICY") == (None if mkl_installed else "PASSIVE")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setenv("FASTNN_BLAS", "numpy")  # MKL present but not wanted
    assert _threads.choose_wait_policy() is False
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's choice is kept
    monkeypatch.delenv("FASTNN_BLAS")
    assert _threads.choose_wait_policy() is False
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.setattr(_threads, "spinning_openmp_runtime", lambda: True)
    assert _threads.choose_wait_policy() is True


def test_wait_policy_spins_for_the_own_gemm(monkeypatch):
    from fastnn import _blas_mkl, _threads
    monkeypatch.setattr(_threads, "spinning_openmp_runtime", lambda: False)
    monkeypatch.setattr(_blas_mkl, "candidates", lambda: [])
    for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "FASTNN_BLAS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_threads, "own_gemm_expected", lambda: True)
    assert _threads.choose_wait_policy() is True
    assert "OMP_WAIT_POLICY" not in os.environ
    monkeypatch.undo()
    monkeypatch.setenv("FASTNN_BLAS", "numpy")
    assert _threads.own_gemm_expected() is False
    monkeypatch.delenv("FASTNN_BLAS")
    # on Linux the answer follows the CPU's flags, which the kernel's own check agrees with
    if os.path.exists("/proc/cpuinfo") and "fastnn" in _core._blas_backends():
        assert _threads.own_gemm_expected()


def test_default_threads_follow_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert _core._default_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "nonsense")
    assert _core._default_num_threads() >= 1



@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_forked_child_does_not_hang():
    p, g = np.zeros(BIG, np.float32), np.ones(BIG, np.float32)
    previous = _core.get_num_threads()
    _core.set_num_threads(2)
    try:
        _core.sgd_step(p, g, None, 0.5, 0, 0, 0, False, False, True)
        pid = os.fork()
        if pid == 0:  # child: must finish its parallel-sized step and exit
            code = 1
            try:
                _core.set_num_threads(2)
                _core.sgd_step(p, g, None, 0.5, 0, 0, 0, False, False, True)
                code = 0 if p[0] == -1.0 and _core.get_num_threads() == 2 else 1
            finally:
                os._exit(code)
        deadline = time.monotonic() + 30
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("kernel hung in a forked child")
            time.sleep(0.01)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        _core.set_num_threads(previous)
