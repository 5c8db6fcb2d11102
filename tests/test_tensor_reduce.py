"""Tensor.mean: the reduction fastnn computes itself gives exactly numpy's ndarray.mean."""
import numpy as np
import pytest

import fastnn

AXES = [None, 0, -1, (0, 2)]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(7, 13, 5), (1000, 3, 37), (1, 1, 1)])
@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdim", [False, True])
def test_mean_is_ndarray_mean_or_closer(dtype, shape, axis, keepdim):
    # the same bits as numpy's mean, except along long strided float32 axes, where numpy adds
    # term by term in float32 and fastnn accumulates in float64 (closer to the true mean)
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    got = fastnn.tensor(a).mean(dim=axis, keepdim=keepdim).numpy()
    want = a.mean(axis=axis, keepdims=keepdim)
    assert got.dtype == want.dtype and got.shape == np.shape(want)
    ref = a.astype(np.float64).mean(axis=axis, keepdims=keepdim)
    # a few roundings of the terms' size: numpy's own serial float32 error is far larger
    scale = 4 * np.finfo(dtype).eps * np.abs(a.astype(np.float64)).mean(axis=axis,
                                                                          keepdims=keepdim)
    assert np.all((got == want) | (np.abs(got - ref) <= np.maximum(np.abs(want - ref), scale)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_mean_of_an_empty_tensor_is_nan_and_its_gradient_empty():
    x = fastnn.zeros(0, 3, requires_grad=True)
    y = x.mean()
    assert np.isnan(y.item())
    y.backward()
    assert x.grad.shape == (0, 3)
