"""set_default_device / get_default_device: factories without device= use the default."""
import threading

import numpy as np
import pytest

import fastnn


@pytest.fixture(autouse=True)
def _reset():
    yield
    fastnn.set_default_device(None)


def _cuda_error():
    try:
        fastnn.zeros(2, device="cuda")
    except Exception as e:  # noqa: BLE001 - whichever error this machine gives
        return type(e), str(e)
    return None


def test_default_is_cpu():
    assert repr(fastnn.get_default_device()) == "device(type='cpu')"
    assert fastnn.zeros(2).device == fastnn.device("cpu")


@pytest.mark.parametrize("spec", ["cpu", fastnn.device("cpu"), None])
def test_cpu_and_none(spec):
    fastnn.set_default_device(spec)
    assert fastnn.get_default_device() == fastnn.device("cpu")
    for t in (fastnn.zeros(2), fastnn.ones(1), fastnn.randn(2), fastnn.arange(3),
              fastnn.tensor([1.0]), fastnn.full((2,), 1.0), fastnn.eye(2)):
        assert t.device.type == "cpu"


def test_indexed_cpu_is_kept_as_given():
    fastnn.set_default_device("cpu:0")
    assert repr(fastnn.get_default_device()) == "device(type='cpu', index=0)"
    assert fastnn.zeros(1).device.type == "cpu"


def test_bad_device_string():
    with pytest.raises(RuntimeError, match="device type at start of device string: foo"):
        fastnn.set_default_device("foo")


def test_cuda_default_raises_as_an_explicit_cuda_device_does():
    expected = _cuda_error()
    if expected is None:
        pytest.skip("a GPU is available")
    fastnn.set_default_device("cuda")  # accepted, as in PyTorch; using it raises
    for make in (lambda: fastnn.zeros(2), lambda: fastnn.tensor([1.0]), lambda: fastnn.randn(2),
                 lambda: fastnn.as_tensor(np.ones(2)), fastnn.get_default_device):
        with pytest.raises(expected[0]) as info:
            make()
        assert str(info.value) == expected[1]
    # from_numpy shares memory and stays on the CPU; *_like follow their input
    assert fastnn.from_numpy(np.ones(2)).device.type == "cpu"
    fastnn.set_default_device(None)
    x = fastnn.ones(2)
    fastnn.set_default_device("cuda")
    assert fastnn.zeros_like(x).device.type == "cpu"


def test_default_is_per_thread():
    fastnn.set_default_device("cpu:0")
    seen = []
    th = threading.Thread(target=lambda: seen.append(fastnn.get_default_device()))
    th.start()
    th.join()
    assert seen == [fastnn.device("cpu")]
    assert fastnn.get_default_device() == fastnn.device("cpu:0")


def test_matches_torch():
    torch = pytest.importorskip("torch")
    for spec in ("cpu", "cpu:0", None):
        fastnn.set_default_device(spec)
        torch.set_default_device(spec)
        try:
            assert repr(fastnn.get_default_device()) == repr(torch.get_default_device())
        finally:
            torch.set_default_device(None)


def _context_trace(lib):
    seen = [repr(lib.get_default_device())]
    with lib.device("cpu:0") as d:
        seen.append(repr(d))
        seen.append(repr(lib.get_default_device()))
        seen.append([p.device.type for p in lib.nn.Linear(2, 2).parameters()])
        seen.append(lib.arange(3).tolist())
        with lib.device("cpu"):
            seen.append(repr(lib.get_default_device()))
        seen.append(repr(lib.get_default_device()))
    seen.append(repr(lib.get_default_device()))
    try:
        with lib.device("cpu:0"):
            raise KeyError("inside")
    except KeyError:
        pass
    seen.append(repr(lib.get_default_device()))
    lib.set_default_device("cpu")
    with lib.device("cpu:0"):
        seen.append(lib.tensor([1.0, 2.0]).device.type)
    seen.append(repr(lib.get_default_device()))
    lib.set_default_device(None)
    return seen


def test_device_as_context_manager_matches_torch():
    torch = pytest.importorskip("torch")
    try:
        expected = _context_trace(torch)
    finally:
        torch.set_default_device(None)
    assert _context_trace(fastnn) == expected


def test_device_context_is_per_thread():
    seen = []
    with fastnn.device("cpu:0"):
        th = threading.Thread(target=lambda: seen.append(fastnn.get_default_device()))
        th.start()
        th.join()
    assert seen == [fastnn.device("cpu")]


def test_cuda_unavailable_error_is_one_class_across_attempts():
    # the backend module fails to import without numba; its error class must not be redefined
    from fastnn.cuda._errors import CudaUnavailableError
    for _ in range(2):
        try:
            fastnn.zeros(2, device="cuda")
        except Exception as e:  # noqa: BLE001 - a GPU machine raises nothing here
            if "numba" in str(e):
                assert type(e) is CudaUnavailableError
                assert isinstance(e, RuntimeError) and isinstance(e, AssertionError)
