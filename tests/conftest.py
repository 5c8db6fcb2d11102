"""Fixtures shared by the kernel tests."""
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
