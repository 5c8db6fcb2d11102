"""Zero-copy exchange with numpy and PyTorch: DLPack both ways, __array__, device, mT."""
import numpy as np
import pytest

import fastnn

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]


def _sample(dtype, shape=(2, 3)):
    return np.asarray((np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (2, 3)])
def test_numpy_from_dlpack_shares_memory(dtype, shape):
    t = fastnn.from_numpy(_sample(dtype, shape))
    a = np.from_dlpack(t)
    assert a.dtype == np.dtype(dtype) and a.shape == shape
    assert a.size == 0 or np.shares_memory(a, t._data)
    if a.size:
        a[(0,) * len(shape)] = 1 if dtype != "bool" else True
        assert t[(0,) * len(shape)].item() == 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_fastnn_from_dlpack_shares_memory(dtype):
    a = _sample(dtype)
    t = fastnn.from_dlpack(a)
    assert t.dtype is getattr(fastnn, dtype)
    assert np.shares_memory(t._data, a)
    a[1, 2] = 1
    assert t[1, 2].item() == 1
    t[0, 0] = 1
    assert a[0, 0] == 1


def test_from_dlpack_of_a_tensor_is_itself_and_bad_dtypes_fail():
    t = fastnn.ones(2)
    assert fastnn.from_dlpack(t) is t
    with pytest.raises(TypeError, match="can't convert np.ndarray of type complex64"):
        fastnn.from_dlpack(np.zeros(2, np.complex64))
    ro = np.arange(3.0)
    ro.flags.writeable = False
    assert fastnn.from_dlpack(ro).tolist() == [0.0, 1.0, 2.0]


def test_views_export_their_strides_without_copying():
    t = fastnn.arange(12.0).reshape(3, 4)
    for view in (t.T, t[:, ::2], t[1:], t.transpose(0, 1)[1:, ::2]):
        a = np.from_dlpack(view)
        np.testing.assert_array_equal(a, view.tolist())
        assert np.shares_memory(a, t._data)
    e = fastnn.ones(3).expand(2, 3)          # stride 0 and read-only in numpy: a copy goes out
    np.testing.assert_array_equal(np.from_dlpack(e), np.ones((2, 3)))


def test_dlpack_protocol_details():
    t = fastnn.ones(2, 2)
    assert t.__dlpack_device__() == (1, 0)
    assert "dltensor_versioned" in repr(t.__dlpack__(max_version=(1, 0)))
    assert "dltensor" in repr(t.__dlpack__())
    assert np.from_dlpack(t, copy=True) is not None


def test_tensor_requiring_grad_refuses_export():
    t = fastnn.ones(3, requires_grad=True)
    msg = "Can't export tensors that require gradient, use tensor.detach\\(\\)"
    with pytest.raises(RuntimeError, match=msg):
        t.__dlpack__()
    with pytest.raises(BufferError, match=msg):     # the DLPack protocol's error type
        np.from_dlpack(t)
    a = np.from_dlpack(t.detach())
    assert np.shares_memory(a, t._data)
    with pytest.raises(RuntimeError, match="Can't call numpy\\(\\) on Tensor that requires "
                                           "grad. Use tensor.detach\\(\\).numpy\\(\\)"):
        np.asarray(t)


def test_torch_refuses_the_same_way():
    torch = pytest.importorskip("torch")
    with pytest.raises(BufferError) as theirs:
        torch.ones(3, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError) as ours:
        fastnn.ones(3, requires_grad=True).__dlpack__()
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError) as theirs:
        np.asarray(torch.ones(3, requires_grad=True))
    with pytest.raises(RuntimeError) as ours:
        np.asarray(fastnn.ones(3, requires_grad=True))
    assert str(ours.value).replace("fastnn", "torch") == str(theirs.value)


def test_exchange_with_torch_is_zero_copy_both_ways():
    torch = pytest.importorskip("torch")
    t = fastnn.arange(6.0).reshape(2, 3)
    tt = torch.from_dlpack(t)
    tt[0, 1] = 42.0
    assert t[0, 1].item() == 42.0
    src = torch.arange(6, dtype=torch.int32).reshape(3, 2)
    f = fastnn.from_dlpack(src)
    assert f.dtype is fastnn.int32 and f.shape == (3, 2)
    src[2, 1] = -7
    assert f[2, 1].item() == -7
    f[0, 0] = 9
    assert src[0, 0].item() == 9
    m = torch.from_dlpack(t.T)                   # strided views keep their layout
    assert m.stride() == (1, 3) and m.tolist() == t.T.tolist()


def test_array_protocol_is_zero_copy_on_cpu():
    t = fastnn.arange(4.0)
    a = np.asarray(t)
    assert np.shares_memory(a, t._data)
    a[0] = 5.0
    assert t[0].item() == 5.0                    # writes through numpy show in the tensor
    assert not np.shares_memory(np.array(t), t._data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.shares_memory(np.asarray(t, copy=False), t._data)
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        np.asarray(t, dtype=np.float64, copy=False)
    assert np.asarray(fastnn.tensor(3)).shape == ()


def test_device_to_device_and_mT():
    t = fastnn.arange(24.0).reshape(2, 3, 4)
    assert t.device == fastnn.device("cpu") and str(t.device) == "cpu"
    assert t.to_device("cpu") is t and t.to_device(fastnn.device("cpu")) is t
    assert t.mT.shape == (2, 4, 3)
    np.testing.assert_array_equal(np.asarray(t.mT), np.swapaxes(np.asarray(t), -1, -2))
    assert np.shares_memory(np.asarray(t.mT), t._data)
    with pytest.raises(RuntimeError, match="tensor.mT is only supported on matrices or batches "
                                           "of matrices. Got 1-D tensor."):
        fastnn.ones(3).mT
    x = fastnn.ones(2, 3, dtype=fastnn.float64, requires_grad=True)
    x.mT.sum().backward()
    assert x.grad.shape == (2, 3)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as theirs:
        torch.ones(3).mT
    with pytest.raises(RuntimeError) as ours:
        fastnn.ones(3).mT
    assert str(ours.value) == str(theirs.value)


def test_array_api_copy_and_sharing_rules():
    xf = fastnn.array_api
    a = np.arange(6.0).reshape(2, 3)
    t = xf.asarray(a)
    a[0, 0] = 9.0
    assert float(t[0, 0]) == 9.0                       # shares the numpy buffer
    assert xf.asarray(t) is t and xf.asarray(t, copy=True) is not t
    c = xf.asarray(a, copy=True)
    a[0, 1] = 7.0
    assert float(c[0, 1]) == 1.0
    v = xf.reshape(t, (3, 2), copy=False)
    assert np.shares_memory(np.asarray(v), a)
    assert not np.shares_memory(np.asarray(xf.reshape(t, (3, 2), copy=True)), a)
    assert xf.astype(t, xf.float64, copy=False) is t
    torch = pytest.importorskip("torch")
    src = torch.arange(4.0)
    shared = xf.asarray(src)                           # DLPack producer: zero copy
    src[1] = 10.0
    assert float(shared[1]) == 10.0
    assert float(xf.from_dlpack(src, copy=True)[1]) == 10.0
    copied = xf.from_dlpack(src, copy=True)
    src[2] = -1.0
    assert float(copied[2]) == 2.0
