"""The Cython im2col / col2im kernels against their numpy reference."""
import numpy as np
import pytest

from fastnn import _reference as ref

core = pytest.importorskip("fastnn._core")

# (N, C, H, W), kernel, stride, padding, dilation
GEOMETRIES = [
    ((2, 3, 7, 6), (3, 2), (1, 1), (0, 0), (1, 1)),
    ((2, 3, 7, 6), (3, 2), (2, 3), (1, 2), (2, 1)),
    ((1, 1, 5, 5), (5, 5), (1, 1), (2, 2), (1, 1)),    # padding wider than some windows
    ((3, 2, 9, 8), (2, 3), (3, 2), (1, 1), (3, 2)),
    ((4, 5, 12, 12), (5, 5), (1, 1), (0, 0), (1, 1)),  # LeNet's second layer, smaller
    ((0, 2, 4, 4), (3, 3), (1, 1), (1, 1), (1, 1)),    # empty batch
]


def out_hw(shape, k, s, p, d):
    return tuple((n + 2 * pp - dd * (kk - 1) - 1) // ss + 1
                 for n, kk, ss, pp, dd in zip(shape[2:], k, s, p, d))


def window_args(k, s, p, d):
    return (k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["fresh", "offset"])
@pytest.mark.parametrize("shape,k,s,p,d", GEOMETRIES)
def test_im2col_col2im_match_reference(dtype, layout, shape, k, s, p, d, threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    if layout == "offset":  # a contiguous view that does not start vector-aligned
        x = np.concatenate([np.zeros(3, dtype), x.ravel()])[3:].reshape(shape)
    oh, ow = out_hw(shape, k, s, p, d)
    cshape = (shape[1] * k[0] * k[1], shape[0], oh, ow)
    args = window_args(k, s, p, d)
    cols = np.full(cshape, 7, dtype)  # every element must be written, padding included
    assert core.im2col2d(x, cols, *args) is cols
    np.testing.assert_array_equal(cols, ref.im2col2d(x, np.empty(cshape, dtype), *args))
    g = rng.standard_normal(cshape).astype(dtype)
    gx = np.full(shape, 7, dtype)
    assert core.col2im2d(g, gx, *args) is gx
    np.testing.assert_allclose(gx, ref.col2im2d(g, np.empty(shape, dtype), *args),
                               rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


def test_col2im_is_im2col_adjoint():
    # <im2col(x), c> == <x, col2im(c)>: the backward pass is exactly the forward's transpose
    rng = np.random.default_rng(1)
    shape, k, s, p, d = GEOMETRIES[1]
    args = window_args(k, s, p, d)
    cshape = (shape[1] * k[0] * k[1], shape[0]) + out_hw(shape, k, s, p, d)
    x, c = rng.standard_normal(shape), rng.standard_normal(cshape)
    lhs = np.vdot(core.im2col2d(x, np.empty(cshape), *args), c)
    rhs = np.vdot(x, core.col2im2d(c, np.empty(shape), *args))
    assert abs(lhs - rhs) < 1e-10 * max(1.0, abs(lhs))


def test_bad_arguments():
    x = np.zeros((2, 3, 6, 6), np.float32)
    cols = np.zeros((27, 2, 4, 4), np.float32)
    with pytest.raises(RuntimeError, match=r"im2col2d: expected 'cols' of shape \(27, 2, 4, 4\) "
                                           r"for 'x' \(2, 3, 6, 6\), but got \(27, 2, 4, 3\)"):
        core.im2col2d(x, cols[..., :3].copy(), 3, 3)
    with pytest.raises(TypeError, match="expected 'cols' to have the same dtype as 'x'"):
        core.im2col2d(x, cols.astype(np.float64), 3, 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        core.im2col2d(x.astype(np.int32), cols, 3, 3)
    with pytest.raises(RuntimeError, match="expected 'x' to be a 4-D array"):
        core.im2col2d(x[0], cols, 3, 3)
    with pytest.raises(ValueError, match="'x' must be C-contiguous"):
        core.im2col2d(np.zeros((2, 3, 6, 12), np.float32)[..., ::2], cols, 3, 3)
    with pytest.raises(ValueError, match="must be positive and padding non-negative"):
        core.im2col2d(x, cols, 3, 3, 0, 1)
    with pytest.raises(ValueError, match="must be positive and padding non-negative"):
        core.col2im2d(cols, x, 3, 3, 1, 1, -1, 0)
    with pytest.raises(RuntimeError, match=r"kernel extent \(7, 3\) exceeds the padded input"):
        core.im2col2d(x, cols, 7, 3)
    with pytest.raises(ValueError, match="output 'cols' is read-only"):
        ro = cols.copy()
        ro.flags.writeable = False
        core.im2col2d(x, ro, 3, 3)
    buf = np.zeros(2000, np.float32)
    with pytest.raises(ValueError, match="output 'gx' overlaps 'cols' in memory"):
        core.col2im2d(buf[:864].reshape(27, 2, 4, 4), buf[100:316].reshape(2, 3, 6, 6), 3, 3)
