"""Tensor.mean: the reduction fastnn computes itself gives exactly numpy's ndarray.mean."""
import numpy as np
import pytest

import fastnn

AXES = [None, 0, -1, (0, 2)]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 13, 5), (1000, 3, 37), (1, 1, 1)])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_is_bit_identical_to_ndarray_mean(dtype, shape, axis, keepdim):
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got = fastnn.tensor(a).mean(dim=axis, keepdim=keepdim).numpy()
    want = a.mean(axis=axis, keepdims=keepdim)
    assert got.dtype == want.dtype and got.shape == np.shape(want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mean_of_an_empty_tensor_is_nan_and_its_gradient_empty():
    x = fastnn.zeros(0, 3, requires_grad=True)
    y = x.mean()
    assert np.isnan(y.item())
    y.backward()
    assert x.grad.shape == (0, 3)
