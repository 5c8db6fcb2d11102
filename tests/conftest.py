"""Fixtures shared by the tests: thread counts for the kernels, the matrix-product paths, and
the libraries a parity test runs its code on."""
import pytest

PARALLEL_MIN_IN_TESTS = 1024


@pytest.fixture(params=[1, 2])
def threads(request):
    """Run on 1 and 2 threads, with the parallel bound lowered to PARALLEL_MIN_IN_TESTS
    elements so modest test arrays take the chunked prange paths (in real use they start at
    1M elements, and higher when the OpenMP runtime spins)."""
    core = pytest.importorskip("fastnn._core")
    previous = core.get_num_threads()
    previous_min = core._set_parallel_min(PARALLEL_MIN_IN_TESTS)
    core.set_num_threads(request.param)
    yield request.param
    core.set_num_threads(previous)
    core._set_parallel_min(previous_min)


def _gemm_paths():
    try:
        from fastnn import _core
    except ImportError:
        return ["numpy-matmul"]
    return [f"direct-{name}" for name in _core._blas_backends()] + ["numpy-matmul"]


@pytest.fixture(params=_gemm_paths())
def gemm_path(request):
    """Each BLAS fastnn can call directly (numpy's, MKL where installed), then numpy's matmul."""
    core = pytest.importorskip("fastnn._core")
    direct = request.param.startswith("direct-")
    previous_blas = core._select_blas(request.param[len("direct-"):]) if direct else None
    if direct and not core._blas_info()["gemm"]:
        core._select_blas(previous_blas)
        pytest.skip("no directly callable BLAS found")
    previous = core._use_direct_blas(direct)
    yield request.param
    core._use_direct_blas(previous)
    if previous_blas is not None:
        core._select_blas(previous_blas)


def _parity_libs():
    import fastnn
    libs = [fastnn]
    try:
        import torch
        libs.append(torch)
    except ImportError:
        pass
    return libs


@pytest.fixture(params=_parity_libs(), ids=lambda m: m.__name__)
def lib(request):
    """fastnn, and PyTorch where it is installed: a test taking ``lib`` runs the same code on
    both, so PyTorch checks the expectations fastnn is held to."""
    return request.param
