"""Vision layers: grid_sample with non-finite grids and its double backward, empty batches,
uint8 interpolate, int64 average pooling, and PyTorch's TypeErrors for non-int arguments."""
import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

NAN, INF = float("nan"), float("inf")


def _np(t):
    return t.detach().numpy()


# ---- 1. grid_sample with NaN / inf coordinates --------------------------------------------
def test_grid_sample_nan_is_sampled_at_zero_with_border_padding():
    x = fastnn.arange(16.).view(1, 1, 4, 4)
    grid = fastnn.tensor([[[[NAN, 0.], [0., NAN], [.5, .5]]]])
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    assert _np(out).ravel().tolist() == [6.0, 1.5, 12.5]
    out = F.grid_sample(x, grid, mode="nearest", padding_mode="border", align_corners=False)
    assert _np(out).ravel().tolist() == [8.0, 2.0, 10.0]


@pytest.mark.parametrize("padding_mode", ["border", "reflection"])
@pytest.mark.parametrize("dim", [2, 3])
def test_grid_sample_non_finite_grid_stays_finite(padding_mode, dim):
    x = fastnn.randn(1, 2, *[4] * dim, dtype=fastnn.float64, requires_grad=True)
    pts = [[NAN] + [0.3] * (dim - 1), [0.3] * (dim - 1) + [NAN]]
    if padding_mode == "reflection":
        pts += [[INF] + [0.2] * (dim - 1), [-INF] * dim]
    grid = fastnn.tensor(np.array(pts).reshape((1,) * dim + (len(pts), dim)),
                         requires_grad=True)
    for mode in ("bilinear", "nearest"):
        out = F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode, align_corners=True)
        assert bool(fastnn.isfinite(out).all())
        gx, gg = fastnn.autograd.grad(out.sum(), [x, grid])
        assert bool(fastnn.isfinite(gx).all()) and bool(fastnn.isfinite(gg).all())


def _nan_grid_case(dim, value, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.randn(1, 2, *[4] * dim)
    pts = []
    for k in range(dim):
        p = list(rs.rand(dim) * 2 - 1)
        p[k] = value
        pts.append(p)
    return x, np.array(pts).reshape((1,) * dim + (dim, dim))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_grid_sample_non_finite_matches_torch(value, dim, mode, padding_mode, align_corners):
    torch = pytest.importorskip("torch")
    x, g = _nan_grid_case(dim, value)
    # PyTorch's own 2-D bilinear backward crashes on these grids: compare its forward only
    backward = not (dim == 2 and mode == "bilinear" and
                    (padding_mode == "reflection" or value != value))
    results = []
    for lib in (torch, fastnn):
        xt = lib.tensor(x, requires_grad=True)
        gt = lib.tensor(g, requires_grad=True)
        out = lib.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode=padding_mode,
                                            align_corners=align_corners)
        got = [out.detach().numpy()]
        if backward:
            weight = lib.tensor(np.arange(out.numel()).reshape(out.shape) + 1.)
            (out * weight).sum().backward()
            got += [xt.grad.numpy(), gt.grad.numpy()]
        results.append(got)
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, atol=1e-10)


# ---- 2. empty batches -----------------------------------------------------------------------
def _empty(*shape):
    return fastnn.randn(*shape, requires_grad=True)


EMPTY_CASES = {
    "conv_transpose1d": lambda: fastnn.nn.ConvTranspose1d(3, 4, 3)(_empty(0, 3, 6)),
    "conv_transpose2d": lambda: fastnn.nn.ConvTranspose2d(3, 4, 2, stride=2)(_empty(0, 3, 6, 6)),
    "conv_transpose2d_groups": lambda: fastnn.nn.ConvTranspose2d(4, 4, 3, groups=2)(
        _empty(0, 4, 5, 5)),
    "conv_transpose3d": lambda: fastnn.nn.ConvTranspose3d(3, 4, 2)(_empty(0, 3, 2, 2, 2)),
    "group_norm": lambda: fastnn.nn.GroupNorm(1, 3)(_empty(0, 3, 6, 6)),
    "group_norm_affine": lambda: fastnn.nn.GroupNorm(3, 3)(_empty(0, 3, 6, 6)),
    "instance_norm1d": lambda: fastnn.nn.InstanceNorm1d(3)(_empty(0, 3, 6)),
    "instance_norm2d": lambda: fastnn.nn.InstanceNorm2d(3)(_empty(0, 3, 6, 6)),
    "unfold": lambda: F.unfold(_empty(0, 3, 6, 6), 2),
    "fold": lambda: F.fold(_empty(0, 12, 25), (6, 6), 2),
    "grid_sample": lambda: F.grid_sample(_empty(0, 3, 6, 6), fastnn.zeros(0, 4, 4, 2),
                                         align_corners=False),
    "grid_sample_3d": lambda: F.grid_sample(_empty(0, 3, 4, 4, 4), fastnn.zeros(0, 2, 2, 2, 3),
                                            align_corners=False),
    "grid_sample_bicubic": lambda: F.grid_sample(_empty(0, 3, 4, 4), fastnn.zeros(0, 2, 2, 2),
                                                 mode="bicubic", align_corners=False),
    "max_unpool1d": lambda: F.max_unpool1d(*F.max_pool1d(_empty(0, 3, 6), 2,
                                                         return_indices=True), 2),
    "max_unpool2d": lambda: F.max_unpool2d(*F.max_pool2d(_empty(0, 3, 6, 6), 2,
                                                         return_indices=True), 2),
    "max_unpool3d": lambda: F.max_unpool3d(*F.max_pool3d(_empty(0, 3, 4, 4, 4), 2,
                                                         return_indices=True), 2),
    "avg_pool2d": lambda: F.avg_pool2d(_empty(0, 3, 6, 6), 2),
    "adaptive_max_pool2d": lambda: F.adaptive_max_pool2d(_empty(0, 3, 6, 6), (7, 7)),
    "interpolate_bicubic": lambda: F.interpolate(_empty(0, 3, 6, 6), size=(14, 14),
                                                 mode="bicubic"),
    "pad_reflect": lambda: F.pad(_empty(0, 3, 6, 6), (1, 1, 1, 1), mode="reflect"),
    "layer_norm": lambda: fastnn.nn.LayerNorm(6)(_empty(0, 3, 6, 6)),
    "batch_norm_eval": lambda: fastnn.nn.BatchNorm2d(3).eval()(_empty(0, 3, 6, 6)),
}
EMPTY_SHAPES = {
    "conv_transpose1d": (0, 4, 8), "conv_transpose2d": (0, 4, 12, 12),
    "conv_transpose2d_groups": (0, 4, 7, 7), "conv_transpose3d": (0, 4, 3, 3, 3),
    "group_norm": (0, 3, 6, 6), "group_norm_affine": (0, 3, 6, 6),
    "instance_norm1d": (0, 3, 6), "instance_norm2d": (0, 3, 6, 6), "unfold": (0, 12, 25),
    "fold": (0, 3, 6, 6), "grid_sample": (0, 3, 4, 4), "grid_sample_3d": (0, 3, 2, 2, 2),
    "grid_sample_bicubic": (0, 3, 2, 2), "max_unpool1d": (0, 3, 6),
    "max_unpool2d": (0, 3, 6, 6), "max_unpool3d": (0, 3, 4, 4, 4), "avg_pool2d": (0, 3, 3, 3),
    "adaptive_max_pool2d": (0, 3, 7, 7), "interpolate_bicubic": (0, 3, 14, 14),
    "pad_reflect": (0, 3, 8, 8), "layer_norm": (0, 3, 6, 6), "batch_norm_eval": (0, 3, 6, 6),
}


@pytest.mark.parametrize("name", sorted(EMPTY_CASES))
def test_empty_batch_forward_and_backward(name):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)     # no numpy empty-mean warnings
        out = EMPTY_CASES[name]()
        assert tuple(out.shape) == EMPTY_SHAPES[name]
        out.sum().backward()


def test_empty_batch_parameter_grads_are_zero():
    conv = fastnn.nn.ConvTranspose2d(3, 4, 2)
    norm = fastnn.nn.GroupNorm(1, 4)
    x = _empty(0, 3, 5, 5)
    norm(conv(x)).sum().backward()
    assert tuple(x.grad.shape) == (0, 3, 5, 5)
    for p in list(conv.parameters()) + list(norm.parameters()):
        assert p.grad is not None and not _np(p.grad).any()


# ---- 3. interpolate on uint8 images ---------------------------------------------------------
def test_interpolate_uint8_nearest_and_saturation():
    x = fastnn.tensor([[[[0, 255], [255, 0]]]], dtype=fastnn.uint8)
    out = F.interpolate(x, scale_factor=2)
    assert out.dtype == fastnn.uint8
    assert _np(out)[0, 0].tolist() == [[0, 0, 255, 255]] * 2 + [[255, 255, 0, 0]] * 2
    cubic = F.interpolate(x, size=(5, 5), mode="bicubic", align_corners=True)
    assert cubic.dtype == fastnn.uint8          # overshoot saturates instead of wrapping
    assert _np(cubic).min() == 0 and _np(cubic).max() == 255
    lin = F.interpolate(fastnn.tensor([[[[10, 20]]]], dtype=fastnn.uint8), size=(1, 3),
                        mode="bilinear", align_corners=True)
    assert _np(lin).ravel().tolist() == [10, 15, 20]
    up = fastnn.nn.Upsample(scale_factor=2, mode="bilinear")(x)
    assert up.dtype == fastnn.uint8 and tuple(up.shape) == (1, 1, 4, 4)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8"])
@pytest.mark.parametrize("mode,dim,antialias,kernel", [
    ("nearest", 2, False, "upsample_nearest2d_channels_last"),
    ("nearest", 1, False, "compute_indices_weights_nearest"),
    ("bilinear", 2, False, "upsample_bilinear2d_channels_last"),
    ("bilinear", 2, True, "compute_index_ranges_weights"),
    ("bicubic", 2, False, "compute_indices_weights_cubic"),
    ("linear", 1, False, "compute_indices_weights_linear"),
])
def test_interpolate_other_integers_raise(dtype, mode, dim, antialias, kernel):
    x = fastnn.zeros((1, 1) + (4,) * dim, dtype=getattr(fastnn, dtype))
    title = {"int64": "Long", "int32": "Int", "int8": "Char"}[dtype]
    with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for '
                                                  f"'{title}'"):
        F.interpolate(x, scale_factor=2, mode=mode, antialias=antialias)


def test_interpolate_uint8_linear_raises():
    with pytest.raises(NotImplementedError, match="compute_indices_weights_linear"):
        F.interpolate(fastnn.zeros(1, 1, 4, dtype=fastnn.uint8), scale_factor=2, mode="linear")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic"])
def test_interpolate_uint8_matches_torch(mode, seed):
    torch = pytest.importorskip("torch")
    rs = np.random.RandomState(seed)
    for trial in range(8):
        dim = int(rs.choice([1, 2, 3])) if mode.startswith("nearest") else 2
        antialias = mode in ("bilinear", "bicubic") and bool(rs.randint(2))
        kw = dict(mode=mode, antialias=antialias)
        if not mode.startswith("nearest"):
            kw["align_corners"] = not antialias and bool(rs.randint(2))
        if trial % 2:
            kw["size"] = tuple(int(v) for v in rs.randint(1, 20, dim))
        else:
            kw["scale_factor"] = tuple(float(v) for v in rs.choice([0.5, 0.7, 1.5, 3.3], dim))
        x = rs.randint(0, 256, (2, int(rs.choice([1, 3, 4]))) +
                       tuple(int(v) for v in rs.randint(2, 14, dim))).astype(np.uint8)
        want = torch.nn.functional.interpolate(torch.tensor(x), **kw).numpy()
        got = F.interpolate(fastnn.tensor(x), **kw)
        assert got.dtype == fastnn.uint8
        np.testing.assert_array_equal(_np(got), want)


# ---- 4. int64 average pooling ---------------------------------------------------------------
def test_avg_pool_int64_truncates_toward_zero():
    x = fastnn.tensor([[[-7, 5, 3, -2, 9, 1, -4, 8]]])
    out = F.avg_pool1d(x, 2, padding=1)
    assert out.dtype == fastnn.int64
    assert _np(out).ravel().tolist() == [-3, 4, 3, -1, 4]
    assert _np(F.avg_pool1d(x, 2, padding=1, count_include_pad=False)).ravel().tolist() == \
        [-7, 4, 3, -1, 8]
    assert _np(F.avg_pool2d(x.view(1, 1, 2, 4), 2, divisor_override=3)).ravel().tolist() == [2, 1]
    assert _np(fastnn.nn.AvgPool2d(2)(fastnn.arange(16).view(1, 1, 4, 4))).tolist() == \
        [[[[2, 4], [10, 12]]]]


@pytest.mark.parametrize("dtype,title", [("int32", "Int"), ("uint8", "Byte"), ("int8", "Char")])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_other_integers_raise(dtype, title, nd):
    x = fastnn.zeros((1, 1) + (4,) * nd, dtype=getattr(fastnn, dtype))
    kernel = "avg_pool3d_out_frame" if nd == 3 else "avg_pool2d"
    with pytest.raises(NotImplementedError, match=f'"{kernel}" not implemented for '
                                                  f"'{title}'"):
        getattr(F, f"avg_pool{nd}d")(x, 2)


@pytest.mark.parametrize("seed", range(4))
def test_avg_pool_int64_matches_torch(seed):
    torch = pytest.importorskip("torch")
    rs = np.random.RandomState(seed)
    for _ in range(20):
        nd, k, s = int(rs.randint(1, 4)), int(rs.randint(1, 4)), int(rs.randint(1, 3))
        kw = dict(kernel_size=k, stride=s, padding=int(rs.randint(0, k // 2 + 1)),
                  ceil_mode=bool(rs.randint(2)), count_include_pad=bool(rs.randint(2)))
        if nd > 1 and rs.randint(2):
            kw["divisor_override"] = int(rs.randint(1, 5))
        x = rs.randint(-50, 50, (2, 2) + tuple(int(v) for v in rs.randint(k, 7, nd)))
        want = getattr(torch.nn.functional, f"avg_pool{nd}d")(torch.tensor(x), **kw)
        got = getattr(F, f"avg_pool{nd}d")(fastnn.tensor(x), **kw)
        assert got.dtype == fastnn.int64
        np.testing.assert_array_equal(_np(got), want.numpy())


# ---- 5. double backward through grid_sample -------------------------------------------------
def _double_backward(lib, x, grid, mode, padding_mode, align_corners, wrt):
    xt = lib.tensor(x, requires_grad=True)
    gt = lib.tensor(grid, requires_grad=True)
    out = lib.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode=padding_mode,
                                        align_corners=align_corners)
    weight = lib.tensor(np.arange(out.numel()).reshape(out.shape) % 7 - 3.)
    ins = {"x": [xt], "grid": [gt], "both": [xt, gt]}[wrt]
    first = lib.autograd.grad((out * out * weight).sum(), ins, create_graph=True)
    total = sum((g * g).sum() for g in first)
    second = lib.autograd.grad(total, [xt, gt], allow_unused=True)
    return [f.detach().numpy() for f in first], \
        [None if s is None else s.numpy() for s in second]


def test_grid_sample_double_backward_is_consistent():
    rs = np.random.RandomState(0)
    x, grid = rs.randn(1, 2, 4, 4), rs.rand(1, 3, 3, 2) * 2 - 1
    xt = fastnn.tensor(x, requires_grad=True)
    gt = fastnn.tensor(grid, requires_grad=True)
    out = F.grid_sample(xt, gt, align_corners=False)
    gx, gg = fastnn.autograd.grad((out * out).sum(), [xt, gt], create_graph=True)
    plain = fastnn.autograd.grad((F.grid_sample(xt, gt, align_corners=False) ** 2).sum(),
                                 [xt, gt])
    np.testing.assert_allclose(_np(gx), _np(plain[0]), atol=1e-12)
    np.testing.assert_allclose(_np(gg), _np(plain[1]), atol=1e-12)
    # sum(out) is linear in x: its x-gradient does not depend on x
    gx = fastnn.autograd.grad(out.sum(), xt, create_graph=True)[0]
    assert fastnn.autograd.grad(gx.sum(), xt, allow_unused=True)[0] is None or \
        not _np(fastnn.autograd.grad(gx.sum(), xt, allow_unused=True)[0]).any()


@pytest.mark.parametrize("wrt", ["x", "grid", "both"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode,dim", [("bilinear", 2), ("nearest", 2), ("bicubic", 2),
                                      ("bilinear", 3), ("nearest", 3)])
def test_grid_sample_double_backward_matches_torch(mode, dim, padding_mode, wrt):
    torch = pytest.importorskip("torch")
    rs = np.random.RandomState(1)
    x = rs.randn(2, 2, *[4] * dim)
    grid = rs.rand(2, *[3] * dim, dim) * 2.4 - 1.2
    for align_corners in (False, True):
        want = _double_backward(torch, x, grid, mode, padding_mode, align_corners, wrt)
        got = _double_backward(fastnn, x, grid, mode, padding_mode, align_corners, wrt)
        for a, b in zip(want[0] + want[1], got[0] + got[1]):
            if a is None or b is None:      # an unused input: zeros on the other side
                assert not np.any(a if b is None else b)
                continue
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-8)


# ---- 6. TypeErrors for non-int sizes --------------------------------------------------------
TYPE_ERRORS = [
    (lambda: F.pad(fastnn.randn(1, 2, 4), (1.0, 1.0)),
     "pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
     "float at pos 0"),
    (lambda: F.pad(fastnn.randn(1, 2, 4), (1, 1.5), mode="reflect"), "must be tuple of ints"),
    (lambda: F.pad(fastnn.randn(4), (1, 1), value="a"),
     "pad(): argument 'value' (position 4) must be float, not str"),
    (lambda: F.max_pool2d(fastnn.randn(1, 1, 4, 4), 2.0),
     "max_pool2d(): argument 'kernel_size' (position 2) must be tuple of ints, not float"),
    (lambda: F.max_pool2d(fastnn.randn(1, 1, 4, 4), 2, 1.0),
     "max_pool2d(): argument 'stride' (position 3) must be tuple of ints, not float"),
    (lambda: F.max_pool1d(fastnn.randn(1, 1, 4), True), "must be tuple of ints, not bool"),
    (lambda: fastnn.nn.AvgPool2d(2.0)(fastnn.randn(1, 1, 4, 4)),
     "avg_pool2d(): argument 'kernel_size' (position 2) must be tuple of ints, not float"),
    (lambda: F.avg_pool3d(fastnn.randn(1, 1, 4, 4, 4), (2.0, 2, 2)),
     "found element of type float at pos 0"),
    (lambda: F.interpolate(fastnn.randn(1, 1, 4, 4), size=4.0),
     "upsample_nearest2d\\(\\) received an invalid combination of arguments"),
    (lambda: F.interpolate(fastnn.randn(1, 1, 4, 4), size=(4.0, 4), mode="bilinear"),
     "expected size to be one of int or Tuple\\[int\\]"),
    (lambda: F.unfold(fastnn.randn(1, 1, 4, 4), 2.0),
     "im2col(): argument 'kernel_size' (position 2) must be tuple of ints"),
    (lambda: F.fold(fastnn.randn(1, 4, 9), (4, 4), 2, stride=1.0),
     "col2im(): argument 'stride' (position 6) must be tuple of ints"),
]


@pytest.mark.parametrize("case", range(len(TYPE_ERRORS)))
def test_non_int_arguments_raise_type_error(case):
    fn, message = TYPE_ERRORS[case]
    with pytest.raises(TypeError) as info:
        fn()
    assert message in str(info.value) or __import__("re").search(message, str(info.value))


def test_int_like_arguments_are_accepted():
    x = fastnn.randn(1, 1, 4, 4)
    assert tuple(F.max_pool2d(x, np.int64(2)).shape) == (1, 1, 2, 2)
    assert tuple(F.pad(x, (1, True)).shape) == (1, 1, 4, 6)
    assert tuple(F.interpolate(x, size=np.int64(8)).shape) == (1, 1, 8, 8)
    assert tuple(F.pad(x, (1, 1), value=fastnn.tensor(2.)).shape) == (1, 1, 4, 6)


@pytest.mark.parametrize("nd,weight,message", [
    (1, (1, 1, 0), "kernel_height: 1 kernel_width: 0"),
    (2, (1, 1, 0, 2), "kernel_height: 0 kernel_width: 2"),
    (3, (1, 1, 2, 0, 2), "non-empty 5D"),
])
def test_conv_transpose_zero_kernel_is_runtime_error(nd, weight, message):
    x = fastnn.randn((1, 1) + (4,) * nd)
    with pytest.raises(RuntimeError, match=message):
        getattr(F, f"conv_transpose{nd}d")(x, fastnn.randn(*weight))
