"""interpolate on axes of unchanged size and on 5-D input, grid_sample on 5-D input and with
bicubic mode, fractional max-pooling, and the F.pdist / F.hardtanh_ / F.selu_ / F.celu_ /
F.native_channel_shuffle exports."""
import itertools

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck


def _arr(t):
    return t.detach().numpy()


# ---- interpolate: an axis whose size does not change ----------------------------------------
def test_linear_copies_an_axis_of_unchanged_size():
    x = fastnn.arange(5.).reshape(1, 1, 5)
    assert _arr(F.interpolate(x, scale_factor=1.1, mode="linear")).ravel().tolist() == \
        [0, 1, 2, 3, 4]
    y = F.interpolate(fastnn.arange(20.).reshape(1, 1, 4, 5), scale_factor=1.1,
                      mode="bilinear")
    assert _arr(y)[0, 0, 1].tolist() == [5, 6, 7, 8, 9]


def test_nearest_1d_resamples_an_axis_of_unchanged_size():
    x = fastnn.arange(5.).reshape(1, 1, 5)
    assert _arr(F.interpolate(x, scale_factor=1.1)).ravel().tolist() == [0, 0, 1, 2, 3]


def test_nearest_2d_copies_an_axis_of_unchanged_size():
    x = fastnn.arange(20.).reshape(1, 1, 4, 5)
    y = F.interpolate(x, scale_factor=(1.1, 1.5))
    assert _arr(y)[0, 0, :, 0].tolist() == [0, 5, 10, 15]


_MODES = {1: ["nearest", "nearest-exact", "linear", "area"],
          2: ["nearest", "nearest-exact", "bilinear", "bicubic", "area"],
          3: ["nearest", "nearest-exact", "trilinear", "area"]}


def _interp_cases():
    for dim, modes in _MODES.items():
        for mode in modes:
            sizes = (4, 5, 9) if dim < 3 else (4, 5)
            for n in sizes:
                shape = (1, 2) + tuple(n + (a == 1) for a in range(dim))
                acs = [None] if mode in ("nearest", "nearest-exact", "area") else [False, True]
                for sf, rsf, ac in itertools.product((1.1, 0.9, 1.5, 2.0, 0.5), (None, True),
                                                     acs):
                    yield shape, mode, dict(scale_factor=sf, recompute_scale_factor=rsf,
                                            align_corners=ac)
                if dim >= 2:
                    for sf in ((1.1, 1.5) + (1.1,) * (dim - 2), (2.0, 1.1) + (0.9,) * (dim - 2)):
                        for ac in acs:
                            yield shape, mode, dict(scale_factor=sf, align_corners=ac)
                if mode in ("bilinear", "bicubic"):
                    for sf in ((1.1, 1.5), (1.1, 0.5), 1.1, 0.5):
                        yield shape, mode, dict(scale_factor=sf, antialias=True)


@pytest.mark.parametrize("shape,mode,kw", list(_interp_cases()))
def test_interpolate_matches_torch_with_gradients(shape, mode, kw):
    torch = pytest.importorskip("torch")
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    yt = torch.nn.functional.interpolate(x, mode=mode, **kw)
    xf = fastnn.tensor(_arr(x), requires_grad=True)
    yf = F.interpolate(xf, mode=mode, **kw)
    g = torch.randn_like(yt)
    yf.backward(fastnn.tensor(g.numpy()))
    assert tuple(yf.shape) == tuple(yt.shape)
    np.testing.assert_allclose(_arr(yf), yt.detach().numpy(), rtol=0, atol=1e-12)
    # the exact gradient of PyTorch's forward (a linear map): input element i gets
    # <interpolate(e_i), g>. PyTorch's own backward departs from it on axes of unchanged size
    # for 1-D/3-D nearest, bicubic and antialias; elsewhere both agree.
    n = x.numel()
    basis = torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(shape[1:]))
    images = torch.nn.functional.interpolate(basis, mode=mode, **kw)
    exact = (images * g).reshape(n, -1).sum(1).reshape(shape)
    np.testing.assert_allclose(xf.grad.numpy(), exact.numpy(), rtol=0, atol=1e-12)
    if not (mode == "area" and len(shape) == 3):   # PyTorch pools 1-D as 2-D and squeezes
        assert yf.grad_fn.name() == type(yt.grad_fn).__name__


# ---- interpolate on 5-D input ---------------------------------------------------------------
@pytest.mark.parametrize("mode,name", [("nearest", "UpsampleNearest3DBackward0"),
                                       ("nearest-exact", "UpsampleNearestExact3DBackward0"),
                                       ("area", "AdaptiveAvgPool3DBackward0"),
                                       ("trilinear", "UpsampleTrilinear3DBackward0")])
def test_interpolate_5d(mode, name):
    x = fastnn.ones(1, 1, 2, 2, 2, requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode=mode)
    assert tuple(y.shape) == (1, 1, 4, 4, 4) and y.grad_fn.name() == name
    assert np.allclose(_arr(y), 1)
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), 8)


def test_interpolate_5d_nearest_values_and_module():
    x = fastnn.arange(8.).reshape(1, 1, 2, 2, 2)
    y = fastnn.nn.Upsample(scale_factor=2)(x)
    assert np.array_equal(_arr(y), np.arange(8.).reshape(2, 2, 2).repeat(2, 0).repeat(2, 1)
                          .repeat(2, 2)[None, None])
    with pytest.raises(RuntimeError, match=r"input \(D: 2, H: 2, W: 2\) output \(D: 0, H: 2"):
        F.interpolate(x, size=(0, 2, 2))


def test_interpolate_5d_gradcheck():
    x = fastnn.randn(1, 2, 3, 2, 4, dtype=fastnn.float64, requires_grad=True)
    for mode in ("nearest", "nearest-exact", "area"):
        assert gradcheck(lambda t: F.interpolate(t, size=(4, 3, 2), mode=mode), (x,))


# ---- grid_sample on 5-D input and bicubic -----------------------------------------------------
def _grid(shape, scale, seed):
    rng = np.random.default_rng(seed)
    g = (rng.random(shape) * 2 - 1) * scale
    g.reshape(-1)[:3] = [0.0, 1.0, -1.0]          # exact pixel positions and the borders
    return g


_GS_CASES = [(mode, pm, ac, xs, gs)
             for mode in ("bilinear", "nearest") for pm in ("zeros", "border", "reflection")
             for ac in (False, True)
             for xs, gs in [((2, 3, 3, 4, 5), (2, 4, 2, 3, 3)), ((1, 2, 1, 1, 2), (1, 2, 2, 2, 3))]
             ] + [("bicubic", pm, ac, xs, gs)
                  for pm in ("zeros", "border", "reflection") for ac in (False, True)
                  for xs, gs in [((2, 3, 4, 5), (2, 4, 3, 2)), ((1, 1, 1, 3), (1, 5, 5, 2))]]


@pytest.mark.parametrize("mode,pm,ac,xs,gs", _GS_CASES)
def test_grid_sample_matches_torch(mode, pm, ac, xs, gs):
    torch = pytest.importorskip("torch")
    x = torch.randn(*xs, dtype=torch.float64, requires_grad=True)
    g = torch.tensor(_grid(gs, 1.5, 0), requires_grad=True)
    yt = torch.nn.functional.grid_sample(x, g, mode=mode, padding_mode=pm, align_corners=ac)
    xf = fastnn.tensor(_arr(x), requires_grad=True)
    gf = fastnn.tensor(_arr(g), requires_grad=True)
    yf = F.grid_sample(xf, gf, mode=mode, padding_mode=pm, align_corners=ac)
    go = torch.randn_like(yt)
    yt.backward(go)
    yf.backward(fastnn.tensor(go.numpy()))
    np.testing.assert_allclose(_arr(yf), yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xf.grad.numpy(), x.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(gf.grad.numpy(), g.grad.numpy(), atol=1e-10)
    assert yf.grad_fn.name() == type(yt.grad_fn).__name__


@pytest.mark.parametrize("mode,pm,ac", [("bilinear", "zeros", False), ("bilinear", "border", True),
                                        ("bilinear", "reflection", False),
                                        ("bicubic", "zeros", False), ("bicubic", "border", True),
                                        ("bicubic", "reflection", False)])
def test_grid_sample_gradcheck(mode, pm, ac):
    nd = 3 if mode == "bilinear" else 2
    x = fastnn.randn(*(1, 2) + (3,) * nd, dtype=fastnn.float64, requires_grad=True)
    # keep grid points off the pixel lattice, where the weights are not differentiable
    g = fastnn.tensor(_grid((1,) + (2,) * nd + (nd,), 0.9, 1) + 0.013, requires_grad=True)
    assert gradcheck(lambda a, b: F.grid_sample(a, b, mode=mode, padding_mode=pm,
                                                align_corners=ac), (x, g))


def test_grid_sample_5d_identity_and_errors():
    x = fastnn.randn(1, 2, 3, 4, 5)
    theta = fastnn.tensor([[[1., 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]])
    grid = F.affine_grid(theta, (1, 2, 3, 4, 5), align_corners=False)
    for mode in ("bilinear", "nearest"):
        y = F.grid_sample(x, grid, mode=mode, align_corners=False)
        np.testing.assert_allclose(_arr(y), _arr(x), atol=1e-5)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D input"):
        F.grid_sample(x, grid, mode="bicubic", align_corners=False)
    with pytest.raises(RuntimeError, match="expected 5D input and grid with same number"):
        F.grid_sample(x, fastnn.zeros(1, 2, 2, 3), align_corners=False)


# ---- fractional max-pooling -------------------------------------------------------------------
def test_fractional_max_pool2d_windows_without_torch():
    # samples [w, h] = [0, 0]: alpha = (9 - 2) / 3, starts 0, 2, 4 and then 9 - 2 = 7
    x = fastnn.arange(81.).reshape(1, 1, 9, 9)
    y, idx = F.fractional_max_pool2d(x, 2, output_size=4, return_indices=True,
                                     _random_samples=fastnn.zeros(1, 1, 2))
    rows = cols = np.array([1, 3, 5, 8])
    assert np.array_equal(_arr(y)[0, 0], (rows[:, None] * 9 + cols[None, :]).astype(float))
    assert np.array_equal(idx.numpy()[0, 0], rows[:, None] * 9 + cols[None, :])


_FMP_CASES = [(2, (2, 3, 7, 9), 2, (3, 4), None), (2, (1, 2, 10, 10), (2, 3), (5, 7), None),
              (2, (3, 10, 11), 2, (9, 10), None), (2, (2, 1, 6, 5), 2, (1, 1), None),
              (2, (2, 3, 9, 8), 2, None, (0.5, 0.6)), (3, (2, 3, 7, 9, 6), 2, (3, 4, 2), None),
              (3, (2, 2, 7, 9, 8), (2, 3, 1), (4, 5, 6), None),
              (3, (3, 5, 6, 7), 2, (3, 3, 3), None), (3, (2, 3, 9, 8, 7), 2, None, (0.5, 0.6, 0.7))]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("nd,shape,k,out,ratio", _FMP_CASES)
def test_fractional_max_pool_matches_torch(nd, shape, k, out, ratio, dtype):
    torch = pytest.importorskip("torch")
    dt = getattr(torch, dtype)
    x = torch.randn(*shape, dtype=dt)
    x.view(-1)[::11] = x.view(-1)[5]           # ties: the first maximum wins
    x.requires_grad_()
    batched = len(shape) == nd + 2
    s = torch.rand(shape[0] if batched else 1, shape[-nd - 1], nd, dtype=dt)
    tf = getattr(torch.nn.functional, f"fractional_max_pool{nd}d")
    ff = getattr(F, f"fractional_max_pool{nd}d")
    yt, it = tf(x, k, output_size=out, output_ratio=ratio, return_indices=True,
                _random_samples=s)
    xf = fastnn.tensor(_arr(x), requires_grad=True)
    yf, i_f = ff(xf, k, output_size=out, output_ratio=ratio, return_indices=True,
                 _random_samples=fastnn.tensor(s.numpy()))
    assert np.array_equal(_arr(yf), yt.detach().numpy())
    assert np.array_equal(i_f.numpy(), it.numpy()) and i_f.dtype == fastnn.int64
    g = torch.randn_like(yt)
    yt.backward(g)
    yf.backward(fastnn.tensor(g.numpy()))
    np.testing.assert_allclose(xf.grad.numpy(), x.grad.numpy(), rtol=1e-6)
    assert yf.grad_fn.name() == type(yt.grad_fn).__name__
    module = getattr(torch.nn, f"FractionalMaxPool{nd}d")(k, out, ratio, True, s)
    fmodule = getattr(fastnn.nn, f"FractionalMaxPool{nd}d")(k, out, ratio, True,
                                                            fastnn.tensor(s.numpy()))
    assert np.array_equal(_arr(fmodule(xf)[0]), module(x)[0].detach().numpy())


def test_fractional_max_pool_gradcheck_and_random_samples():
    x = fastnn.randn(2, 3, 8, 7, dtype=fastnn.float64, requires_grad=True)
    s = fastnn.rand(2, 3, 2, dtype=fastnn.float64)
    assert gradcheck(lambda t: F.fractional_max_pool2d(t, 2, output_size=(4, 3),
                                                       _random_samples=s), (x,))
    y = fastnn.nn.FractionalMaxPool3d(2, output_ratio=0.5)(fastnn.randn(2, 3, 8, 8, 8))
    assert tuple(y.shape) == (2, 3, 4, 4, 4)
    y, idx = F.fractional_max_pool2d_with_indices(fastnn.randn(3, 9, 9), 3, output_size=3)
    assert tuple(y.shape) == tuple(idx.shape) == (3, 3, 3)


def test_fractional_max_pool_errors():
    x = fastnn.randn(2, 3, 7, 9)
    with pytest.raises(RuntimeError, match="pool height 3 too large relative to input height 7"):
        F.fractional_max_pool2d(x, 3, output_size=(6, 4))
    with pytest.raises(ValueError, match="requires specifying either an output_size"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(RuntimeError, match=r"_random_samples.size\(2\) equals to 2; got 3"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=fastnn.rand(2, 3, 3))
    with pytest.raises(RuntimeError, match="same dtype as input"):
        F.fractional_max_pool2d(x, 2, output_size=3,
                                _random_samples=fastnn.rand(2, 3, 2, dtype=fastnn.float64))
    with pytest.raises(RuntimeError, match=r"Expected 4D or 5D tensor, but got: \[1, 2, 3"):
        F.fractional_max_pool3d(fastnn.randn(1, 2, 3, 7, 9, 4), 2, output_size=(1, 3, 2))
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        fastnn.nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        fastnn.nn.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5)


# ---- small exports ----------------------------------------------------------------------------
def test_small_functional_exports():
    x = fastnn.tensor([-3.0, -0.2, 0.4, 2.0])
    assert F.hardtanh_(x, -0.5, 0.5) is x
    np.testing.assert_allclose(_arr(x), [-0.5, -0.2, 0.4, 0.5], rtol=1e-6)
    y = fastnn.tensor([-1.0, 1.0])
    assert F.selu_(y) is y and np.allclose(_arr(y), [1.0507 * 1.67326 * (np.exp(-1) - 1),
                                                     1.0507], atol=1e-4)
    z = fastnn.tensor([-1.0, 1.0])
    assert F.celu_(z, 2.0) is z and np.allclose(_arr(z), [2 * (np.exp(-0.5) - 1), 1.0])
    c = F.native_channel_shuffle(fastnn.arange(6.).reshape(1, 6, 1), 2)
    assert _arr(c).ravel().tolist() == [0, 3, 1, 4, 2, 5]
    d = F.pdist(fastnn.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))
    np.testing.assert_allclose(_arr(d), [5.0, 1.0, np.sqrt(18.0)], rtol=1e-6)
