"""The BLAS libraries fastnn calls directly: numpy's own, and MKL where its wheel is installed.

Each one must give the float64 reference's answer, the same bits whatever the arrays'
alignment, and must keep working in a forked child (a DataLoader worker).
"""
import multiprocessing as mp
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _core

BACKENDS = _core._blas_backends()


@pytest.fixture(params=BACKENDS)
def backend(request):
    previous = _core._select_blas(request.param)
    if not _core._blas_info()["direct_gemm"]:
        _core._select_blas(previous)
        pytest.skip("no directly callable BLAS found")
    yield request.param
    _core._select_blas(previous)


def _linear_case(dtype, shift=0):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((67, 130)).astype(dtype)
    if shift:  # the same values at an address that is not 64-byte aligned
        buf = np.empty(x.size + shift, dtype)
        x2 = buf[shift:].reshape(x.shape)
        x2[...] = x
        x = x2
    w = rng.standard_normal((45, 130)).astype(dtype)
    b = rng.standard_normal(45).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_forward_and_backward_match_float64(backend, dtype):
    x, w, b = _linear_case(dtype)
    out = _core.linear_forward(x, w, b, np.empty((67, 45), dtype))
    ref = x.astype(np.float64) @ w.astype(np.float64).T + b
    tol = 1e-4 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)
    g = np.random.default_rng(4).standard_normal((67, 45)).astype(dtype)
    gx, gw, gb = (np.empty_like(x), np.empty_like(w), np.empty_like(b))
    _core.linear_backward(g, x, w, gx, gw, gb)
    g64 = g.astype(np.float64)
    np.testing.assert_allclose(gx, g64 @ w, rtol=tol, atol=tol)
    np.testing.assert_allclose(gw, g64.T @ x, rtol=tol, atol=tol)
    np.testing.assert_allclose(gb, g64.sum(0), rtol=tol, atol=tol)


@pytest.mark.parametrize("shift", [1, 3])
def test_same_bits_whatever_the_alignment(backend, shift):
    x, w, b = _linear_case(np.float32)
    xs, _, _ = _linear_case(np.float32, shift)
    a = _core.linear_forward(x, w, b, np.empty((67, 45), np.float32))
    c = _core.linear_forward(xs, w, b, np.empty((67, 45), np.float32))
    assert np.array_equal(a, c)


def test_a_training_step_is_reproducible(backend):
    def run():
        fastnn.manual_seed(0)
        model = fastnn.nn.Sequential(fastnn.nn.Linear(50, 40), fastnn.nn.ReLU(),
                                     fastnn.nn.Linear(40, 5))
        opt = fastnn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = fastnn.randn(33, 50), fastnn.randint(0, 5, (33,))
        for _ in range(3):
            opt.zero_grad()
            fastnn.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]
    for a, c in zip(run(), run()):
        assert np.array_equal(a, c)


def test_backends_agree():
    x, w, b = _linear_case(np.float32)
    outs = []
    previous = _core._blas_info()["name"]
    try:
        for name in BACKENDS:
            _core._select_blas(name)
            outs.append(_core.linear_forward(x, w, b, np.empty((67, 45), np.float32)))
    finally:
        _core._select_blas(previous)
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-5, atol=1e-5)


def test_select_unknown_blas_names_the_choices():
    with pytest.raises(ValueError, match=r"no BLAS named 'essl'.*available: .*numpy"):
        _core._select_blas("essl")


def test_info_names_the_library_in_use():
    info = _core._blas_info()
    assert info["name"] == BACKENDS[0]
    assert fastnn.backends.mkl.is_available() == (info["name"] == "mkl")


def _child_product(q):
    x = fastnn.randn(200, 300)
    w = fastnn.randn(100, 300)
    q.put(float(fastnn.nn.functional.linear(x, w).sum()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_runs_gemm_after_the_parent_did(backend):
    # the parent's threaded gemm starts the OpenMP pool, which a forked child cannot reuse
    fastnn.nn.functional.linear(fastnn.randn(256, 512), fastnn.randn(256, 512))
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_product, args=(q,))
    p.start()
    p.join(60)
    if p.is_alive():
        p.kill()
        pytest.fail("gemm in a forked child hung")
    assert p.exitcode == 0 and np.isfinite(q.get(timeout=5))


def test_fastnn_blas_numpy_keeps_numpys_blas():
    code = "import fastnn._core as c; print(c._blas_info()['name'], c._blas_backends())"
    env = dict(os.environ, FASTNN_BLAS="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, cwd=os.path.dirname(os.path.dirname(
                             os.path.abspath(fastnn.__file__))))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "numpy" and "mkl" not in out.stdout


# ---------------------------------------------------------------- matmul_into

def _laid_out(a, order):
    return np.asfortranarray(a) if order == "F" else np.ascontiguousarray(a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("orders", ["CC", "CF", "FC", "FF"])
@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("mkn", [(5, 7, 3), (1, 1, 1), (33, 64, 17), (0, 4, 3), (4, 0, 3)])
def test_matmul_into(gemm_path, dtype, orders, accumulate, mkn):
    m, k, n = mkn
    rng = np.random.default_rng(7)
    a = _laid_out(rng.standard_normal((m, k)).astype(dtype), orders[0])
    b = _laid_out(rng.standard_normal((k, n)).astype(dtype), orders[1])
    start = rng.standard_normal((m, n)).astype(dtype)
    out = start.copy()
    assert _core.matmul_into(a, b, out, accumulate) is out
    expected = a.astype(np.float64) @ b.astype(np.float64) + (start if accumulate else 0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("case,exc,match", [
    ("shapes", RuntimeError, r"cannot be multiplied \(3x4 and 5x2\)"),
    ("dtype", TypeError, r"'b' to have the same dtype as 'a' \(float32\)"),
    ("strided", ValueError, r"'a' must be C-contiguous"),
    ("out shape", RuntimeError, r"'out' to have shape \(3, 2\)"),
    ("overlap", ValueError, r"output 'out' overlaps 'a'"),
])
def test_matmul_into_rejects(case, exc, match):
    a = np.ones((3, 4), np.float32)
    b = np.ones((4, 2), np.float32)
    out = np.empty((3, 2), np.float32)
    if case == "shapes":
        b = np.ones((5, 2), np.float32)
    elif case == "dtype":
        b = b.astype(np.float64)
    elif case == "strided":
        a = np.ones((3, 8), np.float32)[:, ::2]
    elif case == "out shape":
        out = np.empty((2, 3), np.float32)
    else:
        big = np.ones(12, np.float32)
        a, out = big.reshape(3, 4), big[:6].reshape(3, 2)
    with pytest.raises(exc, match=match):
        _core.matmul_into(a, b, out)


@pytest.mark.skipif("mkl" not in BACKENDS, reason="MKL is not installed")
def test_mkl_gives_the_same_bits_on_any_thread_count():
    # strict reproducibility mode: unlike OpenBLAS, MKL's gemm does not depend on the split
    rng = np.random.default_rng(5)
    a = rng.standard_normal((256, 520)).astype(np.float32)
    b = rng.standard_normal((520, 300)).astype(np.float32)
    previous, threads = _core._select_blas("mkl"), fastnn.get_num_threads()
    outs = []
    try:
        for n in (1, 2, 3):
            fastnn.set_num_threads(n)
            outs.append(_core.matmul_into(a, b, np.empty((256, 300), np.float32)))
    finally:
        fastnn.set_num_threads(threads)
        _core._select_blas(previous)
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


def test_an_incomplete_mkl_install_is_not_used(tmp_path, monkeypatch):
    # libmkl_rt alone would end the process on its first product, when it looks for the rest
    from fastnn import _blas, _blas_mkl
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "libmkl_rt.so.3").write_bytes(b"")
    monkeypatch.setattr(_blas_mkl, "_library_dirs", lambda: [str(tmp_path / "lib")])
    assert _blas_mkl.candidates() == []
    assert _blas_mkl.find_mkl(_blas.BlasInfo(), ["/usr/lib/libgomp.so.1"]) is None
    for part in ("libmkl_gnu_thread.so.3", "libmkl_core.so.3", "libmkl_intel_lp64.so.3"):
        (tmp_path / "lib" / part).write_bytes(b"")
    assert _blas_mkl.candidates() == [str(tmp_path / "lib" / "libmkl_rt.so.3")]
