"""fastnn._memory: glibc malloc thresholds applied at import, unless the user chose."""
import sys

import pytest

from fastnn import _memory


@pytest.mark.parametrize("env", [{"FASTNN_MALLOC_TUNING": "0"},
                                 {"MALLOC_TRIM_THRESHOLD_": "1000"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000"}])
def test_user_choice_is_respected(env):
    assert _memory.tune_malloc(env) is False


def test_applied_on_glibc_linux():
    if not sys.platform.startswith("linux"):
        assert _memory.tune_malloc({}) is False
        return
    import ctypes
    try:
        ctypes.CDLL(None).gnu_get_libc_version
    except AttributeError:
        pytest.skip("not glibc")
    assert _memory.tune_malloc({}) is True
    assert _memory.MALLOC_TUNED in (True, False)  # False only when the test env opted out


def test_large_temporaries_stop_faulting():
    resource = pytest.importorskip("resource")
    np = pytest.importorskip("numpy")
    if not _memory.MALLOC_TUNED:
        pytest.skip("malloc tuning not applied in this environment")

    def step():  # allocate and free a few megabytes, as a training step does
        a = np.ones(1 << 20, np.float32)
        b = a * 2
        return float(b[-1])

    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        step()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 20 * 256  # untuned, each step faults about 1,000 pages back in
