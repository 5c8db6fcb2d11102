"""fastnn.cuda's PyTorch API, moving tensors and modules, and the errors users meet."""
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba", exc_type=ImportError)

import fastnn  # noqa: E402
import fastnn.nn as nn  # noqa: E402

pytestmark = pytest.mark.cuda
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python(code, env_drop=()):
    env = {k: v for k, v in os.environ.items() if k not in env_drop}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=120)


def test_device_queries():
    assert fastnn.cuda.is_available()
    assert fastnn.cuda.device_count() >= 1
    assert fastnn.cuda.current_device() == 0
    assert isinstance(fastnn.cuda.get_device_name(), str)
    fastnn.cuda.synchronize()
    assert fastnn.cuda.is_initialized()
    with fastnn.cuda.device(0):
        pass


def test_import_does_not_load_numba():
    r = _python("import sys, fastnn; fastnn.zeros(2) + 1; print('numba' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_without_numba_is_unavailable_and_errors_name_the_install():
    code = ("import sys; sys.modules['numba'] = None\n"
            "import fastnn\n"
            "print(fastnn.cuda.is_available(), fastnn.cuda.device_count())\n"
            "try:\n"
            "    fastnn.ones(2).cuda()\n"
            "except RuntimeError as e:\n"
            "    print(type(e).__name__, isinstance(e, AssertionError), e)\n")
    r = _python(code)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.strip().splitlines()
    assert first == "False 0"
    assert second.startswith("CudaUnavailableError True")
    assert "pip install fastnn[cuda]" in second and "numba-cuda" in second


@pytest.mark.skipif(os.environ.get("NUMBA_ENABLE_CUDASIM") != "1",
                    reason="checks the no-GPU message; this machine has a GPU")
def test_without_gpu_the_error_says_so():
    code = ("import fastnn\n"
            "print(fastnn.cuda.is_available())\n"
            "try:\n"
            "    fastnn.ones(2).to('cuda')\n"
            "except RuntimeError as e:\n"
            "    print(e)\n")
    r = _python(code, env_drop=("NUMBA_ENABLE_CUDASIM",))
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.strip().splitlines()
    assert first == "False"
    assert "Found no NVIDIA driver" in second and "pip install fastnn[cuda]" in second


def test_moving_tensors():
    x = fastnn.arange(6.0).reshape(2, 3)
    c = x.cuda()
    assert c.device == fastnn.device("cuda:0") and c.is_cuda and str(c.device) == "cuda:0"
    assert c.to("cuda") is c and c.cuda() is c and c.to(fastnn.device("cuda", 0)) is c
    assert not x.is_cuda and x.device.type == "cpu"
    back = c.cpu()
    assert back.device.type == "cpu"
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    assert c.to("cpu", fastnn.float64).dtype == fastnn.float64
    assert c.to(fastnn.float64).device == c.device
    assert "device='cuda:0'" in repr(c)
    assert c.tolist() == x.tolist() and c[1, 2].item() == 5.0


def test_factories_take_device():
    for t in (fastnn.zeros(2, 3, device="cuda"), fastnn.ones(2, device="cuda:0"),
              fastnn.full((2,), 7.0, device=fastnn.device("cuda")),
              fastnn.arange(4, device="cuda"), fastnn.randn(3, device="cuda"),
              fastnn.rand(3, device="cuda"), fastnn.eye(2, device="cuda"),
              fastnn.tensor([1, 2], device="cuda"), fastnn.empty(2, device="cuda")):
        assert t.is_cuda
    base = fastnn.ones(2, device="cuda")
    assert fastnn.zeros_like(base).is_cuda and base.new_zeros(3).is_cuda
    assert fastnn.full((2,), 7.0, device="cuda").cpu().tolist() == [7.0, 7.0]


def test_random_factories_match_the_cpu_stream():
    fastnn.manual_seed(3)
    a = fastnn.randn(5)
    fastnn.manual_seed(3)
    b = fastnn.randn(5, device="cuda")
    np.testing.assert_array_equal(a.numpy(), b.cpu().numpy())


def test_numpy_on_cuda_tensor_is_a_type_error():
    c = fastnn.ones(2, device="cuda")
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy\. "
                                        r"Use Tensor.cpu\(\)"):
        c.numpy()
    with pytest.raises(TypeError, match="can't convert cuda:0"):
        np.asarray(c)


def test_mixing_devices_is_a_runtime_error():
    c, h = fastnn.ones(2, device="cuda"), fastnn.ones(2)
    msg = ("Expected all tensors to be on the same device, but found at least two devices, "
           "cuda:0 and cpu!")
    with pytest.raises(RuntimeError, match=msg):
        c + h
    with pytest.raises(RuntimeError, match="found at least two devices, cpu and cuda:0!"):
        h * c
    with pytest.raises(RuntimeError, match="same device"):
        c.reshape(1, 2) @ h.reshape(2, 1)
    lin = nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match="same device"):
        lin(c.reshape(1, 2))
    # a 0-d CPU tensor acts as a scalar, as in PyTorch
    assert (c + fastnn.tensor(1.0)).is_cuda


def test_bad_device_index():
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        fastnn.ones(1).to("cuda:7")


def test_gradient_flows_back_across_devices():
    x = fastnn.randn(3, requires_grad=True)
    y = x.cuda()
    assert y.grad_fn.name() == "ToCopyBackward0"
    (y * y).sum().backward()
    assert not x.grad.is_cuda
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy(), rtol=1e-6)


def test_module_to_moves_parameters_in_place():
    torch_like = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    params = list(torch_like.parameters())
    assert torch_like.cuda() is torch_like
    assert [id(p) for p in torch_like.parameters()] == [id(p) for p in params]
    assert all(p.is_cuda and p.is_leaf and p.requires_grad for p in params)
    out = torch_like(fastnn.randn(4, 3, device="cuda"))
    out.sum().backward()
    assert all(p.grad.is_cuda for p in params)
    torch_like.to("cpu")
    assert all(not p.is_cuda and not p.grad.is_cuda for p in params)


def test_rng_state_and_seeding():
    fastnn.manual_seed(5)
    s = fastnn.cuda.get_rng_state()
    m1 = fastnn.nn.functional.dropout(fastnn.ones(64, device="cuda"), 0.5)
    fastnn.cuda.set_rng_state(s)
    m2 = fastnn.nn.functional.dropout(fastnn.ones(64, device="cuda"), 0.5)
    fastnn.manual_seed(5)
    m3 = fastnn.nn.functional.dropout(fastnn.ones(64, device="cuda"), 0.5)
    m4 = fastnn.nn.functional.dropout(fastnn.ones(64, device="cuda"), 0.5)
    assert m1.tolist() == m2.tolist() == m3.tolist() != m4.tolist()
    fastnn.cuda.manual_seed(9)
    assert fastnn.cuda.initial_seed() == 9


def test_memory_stats():
    before = fastnn.cuda.memory_allocated()
    x = fastnn.zeros(256, device="cuda")
    assert fastnn.cuda.memory_allocated() >= before + 1024
    assert fastnn.cuda.max_memory_allocated() >= fastnn.cuda.memory_allocated()
    del x
    assert fastnn.cuda.memory_allocated() == before
    fastnn.cuda.empty_cache()


def test_unsupported_numpy_function_names_the_way_out():
    c = fastnn.ones(3, device="cuda")
    with pytest.raises(NotImplementedError, match=r"numpy\.cumsum is not implemented for CUDA "
                                                  r"tensors in fastnn; .* \.cpu\(\)"):
        c.cumsum(0)


def test_a_buffer_freed_in_a_garbage_cycle_is_reused_safely():
    """The collector runs numba's weakref finalizers before Storage.__del__; the pool must
    still get a live buffer (on a GPU a dangling one raised ReferenceError at its next use)."""
    import gc
    from fastnn.cuda import _backend
    gc.collect()
    for _ in range(3):
        t = fastnn.arange(1000, dtype=fastnn.float32, device="cuda")
        holder = {"t": t}
        holder["self"] = holder  # t dies with this cycle, only in the collector
        del t, holder
        gc.collect()
        again = fastnn.arange(1000, dtype=fastnn.float32, device="cuda") * 2
        assert again.sum().item() == 999_000
    live = [st for st in gc.get_objects() if type(st) is _backend.Storage]  # no getattr
    assert len(_backend._owned) == sum(st.key is not None for st in live)


@pytest.mark.parametrize("error, says", [
    (OSError("libnvvm.so: cannot open shared object file"), "CUDA compiler libraries"),
    (AttributeError("module 'numpy' has no attribute 'row_stack'"), "may not support numpy"),
])
def test_a_failing_kernel_compiler_is_named_for_what_it_is(monkeypatch, error, says):
    """A missing NVVM and a numba-cuda too old for the installed numpy need different fixes."""
    from fastnn.cuda import _backend

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(_backend.cuda, "compile_ptx_for_current_device", fail, raising=False)
    with pytest.raises(_backend.CudaUnavailableError, match=says) as info:
        _backend._probe_compiler()
    assert str(error) in str(info.value)
