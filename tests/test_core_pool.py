"""The Cython max-pooling kernels against their numpy reference."""
import numpy as np
import pytest

from fastnn import _reference as ref

core = pytest.importorskip("fastnn._core")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,k,s", [((2, 3, 8, 8), (2, 2), (2, 2)),
                                       ((1, 2, 7, 9), (3, 2), (2, 1)),   # overlapping windows
                                       ((3, 1, 5, 5), (5, 5), (1, 1)),   # one window
                                       ((2, 3, 9, 7), (2, 2), (2, 2)),   # rows/cols left over
                                       ((4, 8, 24, 24), (2, 2), (2, 2)),  # LeNet-like
                                       ((2, 3, 10, 10), (3, 3), (3, 3)),
                                       ((1, 1, 1, 1), (1, 1), (1, 1))])
def test_max_pool2d_matches_reference(dtype, shape, k, s, threads):
    rng = np.random.default_rng(0)
    x = rng.integers(-3, 3, shape).astype(dtype)       # many ties: first maximum must win
    x.reshape(-1)[::7] = np.nan                        # NaN windows report their last NaN
    y, a = core.max_pool2d_forward(x, k[0], k[1], s[0], s[1])
    y_ref, a_ref = ref.max_pool2d_forward(x, k[0], k[1], s[0], s[1])
    np.testing.assert_array_equal(a, a_ref)
    np.testing.assert_array_equal(y, y_ref)
    g = rng.standard_normal(y.shape).astype(dtype)
    gx = core.max_pool2d_backward(g, a, np.full(x.shape, 7, dtype))
    gx_ref = ref.max_pool2d_backward(g, a_ref, np.empty(x.shape, dtype))
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-6)


def test_max_pool2d_bad_input():
    x = np.zeros((1, 1, 4, 4), np.float32)
    with pytest.raises(TypeError, match="float32 or float64"):
        core.max_pool2d_forward(x.astype(np.int64), 2, 2, 2, 2)
    with pytest.raises(RuntimeError, match="4-D"):
        core.max_pool2d_forward(x[0], 2, 2, 2, 2)
    with pytest.raises(ValueError, match="C-contiguous"):
        core.max_pool2d_forward(x.transpose(0, 1, 3, 2)[:, :, ::2], 1, 1, 1, 1)
    with pytest.raises(RuntimeError, match="larger than the input plane"):
        core.max_pool2d_forward(x, 5, 2, 1, 1)
    with pytest.raises(ValueError, match="must be positive"):
        core.max_pool2d_forward(x, 2, 2, 0, 2)
    y, a = core.max_pool2d_forward(x, 2, 2, 2, 2)
    with pytest.raises(TypeError, match="int32"):
        core.max_pool2d_backward(y, a.astype(np.int64), np.empty_like(x))
    bad = a.copy()
    bad[0, 0, 0, 0] = 99
    with pytest.raises(IndexError, match="outside a plane of 16"):
        core.max_pool2d_backward(y, bad, np.empty_like(x))
    with pytest.raises(TypeError, match="same dtype"):
        core.max_pool2d_backward(y, a, np.empty(x.shape, np.float64))
