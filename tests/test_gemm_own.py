"""fastnn's own gemm (``_gemm_avx512.h``), the ``fastnn`` BLAS choice on AVX-512 CPUs.

It packs operands into register tiles of 16 rows by 16 floats or 8 doubles, so the edges
that matter are the tile edges (15, 16, 17 rows or columns), the K chunks (384 floats, 192
doubles, split evenly above that) and every transposition; each product is compared with
float64 numpy (float32) or with numpy's own product (float64).  Each element of C is
computed by one thread over the same K chunks, so the bits do not depend on the thread count.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn import _core

pytestmark = pytest.mark.skipif("fastnn" not in _core._blas_backends(),
                                reason="this CPU or compiler has no AVX-512 kernel")


@pytest.fixture
def own():
    previous = _core._select_blas("fastnn")
    assert _core._blas_info()["own_gemm"]
    yield
    _core._select_blas(previous)


@pytest.fixture
def threads():
    previous = fastnn.get_num_threads()
    yield fastnn.set_num_threads
    fastnn.set_num_threads(previous)


def _operands(m, k, n, orders, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    lay = {"C": np.ascontiguousarray, "F": np.asfortranarray}
    return lay[orders[0]](a), lay[orders[1]](b)


def _check(a, b, out, start=None):
    expected = a.astype(np.float64) @ b.astype(np.float64)
    if start is not None:
        expected += start
    eps = 2e-6 if a.dtype == np.float32 else 4e-15
    tol = eps * np.sqrt(a.shape[1]) * max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(out, expected, rtol=0, atol=tol)


# (m, k, n), each large enough for the kernel to take: K of 385 and 769 split into 2 and 3
# equal chunks, 1100 into 3 with a remainder
SHAPES = [(16, 512, 16), (17, 300, 33), (33, 257, 31), (64, 784, 128), (128, 64, 784),
          (40, 513, 70), (16, 2000, 48), (200, 40, 17), (31, 1100, 129), (47, 385, 47),
          (20, 769, 20)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("orders", ["CC", "CF", "FC", "FF"])
@pytest.mark.parametrize("mkn", SHAPES)
def test_products_match_float64(own, orders, mkn, dtype):
    a, b = _operands(*mkn, orders, dtype=dtype)
    out = np.full((mkn[0], mkn[2]), np.nan, dtype)
    _core.matmul_into(a, b, out)
    _check(a, b, out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_shapes_across_the_column_blocks(own, threads, dtype):
    # B is packed 512 columns at a time: widths just past that, ragged tiles, 1-3 threads
    rng = np.random.default_rng(9)
    shapes = [(20, 100, 530), (40, 64, 1100), (17, 385, 513), (300, 33, 527)]
    shapes += [tuple(int(v) for v in rng.integers(1, 700, 3)) for _ in range(30)]
    for i, (m, k, n) in enumerate(shapes):
        threads(1 + i % 3)
        orders = ("CC", "CF", "FC", "FF")[i % 4]
        a, b = _operands(m, k, n, orders, seed=i, dtype=dtype)
        out = np.full((m, n), np.nan, dtype)
        _core.matmul_into(a, b, out)
        _check(a, b, out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("orders", ["CC", "CF", "FC"])
def test_accumulate_adds_to_what_is_there(own, orders, dtype):
    a, b = _operands(45, 600, 50, orders, seed=1, dtype=dtype)
    start = np.random.default_rng(2).standard_normal((45, 50)).astype(dtype)
    out = start.copy()
    _core.matmul_into(a, b, out, True)
    _check(a, b, out, start)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mkn", [(130, 520, 300), (300, 100, 20), (20, 100, 300)])
def test_same_bits_on_any_thread_count(own, threads, mkn, dtype):
    a, b = _operands(*mkn, "CF", seed=3, dtype=dtype)
    outs = []
    for n in (1, 2, 3):
        threads(n)
        outs.append(_core.matmul_into(a, b, np.empty((mkn[0], mkn[2]), dtype)))
    assert all(np.array_equal(outs[0], o) for o in outs[1:])
    _check(a, b, outs[0])


@pytest.mark.parametrize("mkn", [(5, 7, 3), (10, 128, 512), (128, 10, 512), (64, 32, 60)])
def test_declined_products_go_to_numpys_blas_and_stay_right(own, mkn):
    # too little work, too few rows, a short inner dimension: C is left for the BLAS to write
    a, b = _operands(*mkn, "CF")
    out = np.full((mkn[0], mkn[2]), np.nan, np.float32)
    _core.matmul_into(a, b, out)
    _check(a, b, out)


def test_same_bits_whatever_the_alignment(own):
    a, b = _operands(70, 300, 90, "CC", seed=4, dtype=np.float64)
    shifted = np.empty(a.size + 1)[1:].reshape(a.shape)
    shifted[...] = a
    out = _core.matmul_into(a, b, np.empty((70, 90)))
    assert np.array_equal(out, _core.matmul_into(shifted, b, np.empty((70, 90))))


def test_linear_layer_trains_the_same_as_with_numpys_blas():
    def losses(name):
        previous = _core._select_blas(name)
        try:
            fastnn.manual_seed(0)
            model = fastnn.nn.Sequential(fastnn.nn.Linear(784, 64), fastnn.nn.ReLU(),
                                         fastnn.nn.Linear(64, 10))
            opt = fastnn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            x, y = fastnn.randn(128, 784), fastnn.randint(0, 10, (128,))
            out = []
            for _ in range(5):
                opt.zero_grad()
                loss = fastnn.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                out.append(loss.item())
            return out
        finally:
            _core._select_blas(previous)
    np.testing.assert_allclose(losses("fastnn"), losses("numpy"), rtol=1e-5)


def test_default_order_and_fastnn_blas_choice():
    code = "import fastnn._core as c; print(c._blas_info()['name'], *c._blas_backends())"
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env = {k: v for k, v in os.environ.items() if k != "FASTNN_BLAS"}
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=120, cwd=root)
    assert default.returncode == 0, default.stderr
    names = default.stdout.split()[1:]
    assert names.index("fastnn") < names.index("numpy")
    assert names[0] in ("mkl", "fastnn")
    chosen = subprocess.run([sys.executable, "-c", code], env=dict(env, FASTNN_BLAS="fastnn"),
                            capture_output=True, text=True, timeout=120, cwd=root)
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.split()[:2] == ["fastnn", "fastnn"]


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc")
def test_threads_that_end_leave_no_packing_space_behind(own):
    # each calling thread keeps its packing space (here about 2 MB) between products; a thread
    # that ends must free it, or a server answering each request on a new thread would grow
    import threading
    a, b = _operands(512, 768, 512, "CF", seed=5)

    def product():
        _core.matmul_into(a, b, np.empty((512, 512), np.float32))

    def resident_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    product()
    before = resident_mb()
    for _ in range(60):
        t = threading.Thread(target=product)
        t.start()
        t.join()
    assert resident_mb() - before < 40
