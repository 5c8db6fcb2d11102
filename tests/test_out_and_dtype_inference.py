"""PyTorch's ``out=`` keyword on module-level functions, and dtype inference from data."""
import warnings

import numpy as np
import pytest

import fastnn


def test_out_writes_into_the_given_tensor_and_returns_it():
    t = fastnn.tensor([[1.0, 2.0], [3.0, 4.0]])
    arr = np.zeros((2, 2), np.float32)
    out = fastnn.from_numpy(arr)
    r = fastnn.matmul(t, t.T, out=out)
    assert r is out
    np.testing.assert_array_equal(arr, (t.numpy() @ t.numpy().T))  # same memory, numpy sees it
    z = fastnn.empty(2, 2)
    assert fastnn.mul(t, t, out=z) is z and z.tolist() == [[1, 4], [9, 16]]
    c = fastnn.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty out is resized without a warning
        fastnn.cat([t, t], out=c)
    assert tuple(c.shape) == (4, 2)


def test_out_of_another_shape_is_resized_with_a_warning():
    t = fastnn.ones(2, 3)
    y = fastnn.empty(5)
    with pytest.warns(UserWarning, match=r"resized since it had shape \[5\]"):
        fastnn.matmul(t, t.T, out=y)
    assert tuple(y.shape) == (2, 2) and y.tolist() == [[3, 3], [3, 3]]


def test_out_casts_within_a_kind_and_refuses_across():
    t = fastnn.ones(2, 3)
    d = fastnn.empty(2, 3, dtype=fastnn.float64)
    fastnn.add(t, t, out=d)
    assert d.dtype == fastnn.float64 and d.sum().item() == 12
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        fastnn.add(t, t, out=fastnn.empty(2, 3, dtype=fastnn.int64))


def test_out_refuses_inputs_that_need_grad():
    t = fastnn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        fastnn.exp(t, out=fastnn.empty(2))
    with fastnn.no_grad():
        fastnn.exp(t, out=fastnn.empty(2))


def test_out_tuple_for_values_and_indices():
    v = fastnn.tensor([[3.0, 1.0], [0.0, 5.0]])
    vals, idx = fastnn.empty(2), fastnn.empty(2, dtype=fastnn.int64)
    r = fastnn.max(v, 1, out=(vals, idx))
    assert vals.tolist() == [3, 5] and idx.tolist() == [0, 1]
    assert r.values is vals and r.indices is idx


INFERENCE = [
    ([np.float64(1), 2.0], "float64"),
    ([np.float32(1), np.float64(2)], "float64"),
    ([np.int32(1), 2], "int64"),
    ([np.int32(1), 2.5], "float32"),
    ([np.int8(1), np.int16(2)], "int16"),
    ([np.float16(1), 2], "float16"),
    ([np.uint8(1)], "uint8"),
    (np.float64(1), "float64"),
    ([1, np.float64(2)], "float64"),
    ([1.5, 2], "float32"),
    ([[1, 2], [3, 4]], "int64"),
    ([True, False], "bool"),
    ([True, 1], "int64"),
    ([], "float32"),
]


@pytest.mark.parametrize("data,name", INFERENCE)
def test_dtype_inference_follows_pytorch(data, name):
    assert fastnn.tensor(data).dtype.name == name


def test_dtype_inference_mixing_tensors_and_arrays():
    assert fastnn.tensor([fastnn.tensor(1.0, dtype=fastnn.float64), 2.0]).dtype == fastnn.float64
    assert fastnn.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])]).dtype == fastnn.float64
    assert fastnn.tensor([np.array([1, 2], np.float32), [3.0, 4.0]]).dtype == fastnn.float32


def test_python_types_as_dtypes():
    # PyTorch maps float to float64 whatever the default dtype, int to int64, bool to bool
    assert fastnn.zeros(2, dtype=float).dtype == fastnn.float64
    assert fastnn.zeros(2, dtype=int).dtype == fastnn.int64
    assert fastnn.zeros(2, dtype=bool).dtype == fastnn.bool
    assert fastnn.ones(2).to(float).dtype == fastnn.float64


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_method_of_integers_raises(name):
    t = fastnn.tensor([[1, 2]])
    with pytest.raises(NotImplementedError, match=f'"{name}_lastdim_kernel_impl" not '
                                                  "implemented for 'Long'"):
        getattr(t, name)(1)
    with pytest.raises(NotImplementedError, match=f'"{name}_kernel_impl"'):
        getattr(t, name)(0)
    assert getattr(t, name)(1, dtype=fastnn.float32).dtype == fastnn.float32


@pytest.mark.parametrize("data,name", INFERENCE)
def test_dtype_inference_matches_torch(data, name):
    torch = pytest.importorskip("torch")
    assert str(torch.tensor(data).dtype) == "torch." + name
