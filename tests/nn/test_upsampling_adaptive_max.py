"""AdaptiveMaxPool1d/2d, interpolate / Upsample / UpsamplingNearest2d / UpsamplingBilinear2d,
PixelShuffle / PixelUnshuffle: PyTorch parity of outputs, indices and gradients, gradcheck,
printed form and errors."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")


def _run(fname, x, dtype, *args, **kw):
    """Outputs and input gradients of fastnn's and PyTorch's F.<fname> on the same data."""
    rng = np.random.default_rng(7)
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = getattr(torch.nn.functional, fname)(tx, *args, **kw), getattr(F, fname)(fx, *args,
                                                                                     **kw)
    tyy, fyy = (ty[0], fy[0]) if isinstance(ty, tuple) else (ty, fy)
    g = rng.standard_normal(tuple(tyy.shape)).astype(dtype)
    tyy.backward(torch.tensor(g))
    fyy.backward(fastnn.tensor(g))
    assert fyy.dtype == fx.dtype and fx.grad.dtype == fx.dtype
    return ty, fy, tx.grad.numpy(), fx.grad.numpy()


def _close(a, b, dtype):
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _same_error(fcall, tcall):
    with pytest.raises(Exception) as te:
        tcall()
    with pytest.raises(type(te.value)) as fe:
        fcall()
    want = str(te.value).split("\n")[0].replace("torch.Size", "fastnn.Size")
    assert str(fe.value).split("\n")[0].startswith(want)


# ---- adaptive max pooling -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname,shape,out", [
    ("adaptive_max_pool2d", (2, 3, 7, 5), (3, 2)), ("adaptive_max_pool2d", (2, 3, 5, 5), 5),
    ("adaptive_max_pool2d", (3, 6, 4), (2, None)), ("adaptive_max_pool2d", (2, 3, 4, 4), (8, 3)),
    ("adaptive_max_pool2d", (1, 2, 5, 5), 1), ("adaptive_max_pool1d", (2, 3, 9), 4),
    ("adaptive_max_pool1d", (3, 7), 3), ("adaptive_max_pool1d", (2, 2, 3), 7)])
def test_adaptive_max_pool_matches_torch(dtype, fname, shape, out):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    (ty, ti), (fy, fi), tg, fg = _run(fname, x, dtype, out, return_indices=True)
    np.testing.assert_array_equal(fy.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    assert fi.dtype == fastnn.int64
    _close(fg, tg, dtype)
    if fname.endswith("2d") and len(shape) == 4:
        assert fy.grad_fn.name() == ty.grad_fn.name() == "AdaptiveMaxPool2DBackward0"
    np.testing.assert_array_equal(getattr(F, fname)(fastnn.tensor(x), out).numpy(),
                                  ty.detach().numpy())


def test_adaptive_max_pool_empty_output():
    y, i = F.adaptive_max_pool2d(fastnn.ones(1, 2, 5, 5), 0, return_indices=True)
    assert tuple(y.shape) == tuple(i.shape) == (1, 2, 0, 0)


def test_adaptive_max_pool_gradcheck():
    rng = np.random.default_rng(1)
    x = fastnn.tensor(rng.permutation(2 * 2 * 5 * 4).reshape(2, 2, 5, 4) / 7.0,
                      requires_grad=True)   # distinct values: no ties for finite differences
    assert gradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 3)), (x,))
    assert gradcheck(lambda a: F.adaptive_max_pool1d(a.reshape(4, 5, 4), 3), (x,))


@pytest.mark.parametrize("fname,shape,out", [
    ("adaptive_max_pool2d", (2, 3, 5, 5), (2,)), ("adaptive_max_pool2d", (2, 3, 5, 5), (2, 3, 4)),
    ("adaptive_max_pool2d", (2, 3, 5, 5), -1), ("adaptive_max_pool2d", (5, 5), 2),
    ("adaptive_max_pool2d", (2, 0, 5, 5), 2), ("adaptive_max_pool2d", (2, 3, 0, 5), 2),
    ("adaptive_max_pool1d", (2, 3, 5), (2, 3)), ("adaptive_max_pool1d", (5,), 2)])
def test_adaptive_max_pool_errors_match_torch(fname, shape, out):
    _same_error(lambda: getattr(F, fname)(fastnn.ones(*shape), out),
                lambda: getattr(torch.nn.functional, fname)(torch.ones(*shape), out))
    _same_error(lambda: F.adaptive_max_pool2d(fastnn.ones(3, 5, 4, dtype=fastnn.int64), 3),
                lambda: torch.nn.functional.adaptive_max_pool2d(
                    torch.ones(3, 5, 4, dtype=torch.long), 3))


@pytest.mark.parametrize("cls,args", [("AdaptiveMaxPool2d", ((2, None),)),
                                      ("AdaptiveMaxPool2d", (3, True)),
                                      ("AdaptiveMaxPool1d", (3,)),
                                      ("AdaptiveMaxPool1d", (2, True))])
def test_adaptive_max_pool_modules(cls, args):
    fm, tm = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
    assert repr(fm) == repr(tm) and fm.__constants__ == tm.__constants__
    shape = (2, 3, 5, 6) if cls.endswith("2d") else (2, 3, 7)
    x = np.random.default_rng(0).standard_normal(shape)
    fy, ty = fm(fastnn.tensor(x)), tm(torch.tensor(x))
    if isinstance(ty, tuple):
        np.testing.assert_array_equal(fy[1].numpy(), ty[1].numpy())
        fy, ty = fy[0], ty[0]
    np.testing.assert_array_equal(fy.numpy(), ty.numpy())


# ---- interpolate ----------------------------------------------------------------------------
SIZES = [dict(size=8), dict(size=3), dict(scale_factor=2), dict(scale_factor=1.7),
         dict(scale_factor=0.6), dict(scale_factor=2.5, recompute_scale_factor=True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5), (1, 2, 7, 3)])
@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None),
                                        ("area", None), ("linear", False), ("linear", True)])
@pytest.mark.parametrize("kw", SIZES)
def test_interpolate_matches_torch(dtype, shape, mode, align, kw):
    if mode == "linear" and len(shape) == 4:
        mode = "bilinear"
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    ty, fy, tg, fg = _run("interpolate", x, dtype, mode=mode, align_corners=align, **kw)
    assert tuple(fy.shape) == tuple(ty.shape)
    _close(fy.detach().numpy(), ty.detach().numpy(), dtype)
    _close(fg, tg, dtype)
    if mode != "area":
        assert fy.grad_fn.name() == ty.grad_fn.name()


@pytest.mark.parametrize("mode,align", [("nearest", None), ("bilinear", False),
                                        ("bilinear", True)])
def test_interpolate_per_axis_sizes_and_gradcheck(mode, align):
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 4))
    for kw in (dict(size=(5, 3)), dict(scale_factor=(2.0, 0.5))):
        ty, fy, tg, fg = _run("interpolate", x, np.float64, mode=mode, align_corners=align, **kw)
        _close(fy.detach().numpy(), ty.detach().numpy(), np.float64)
        _close(fg, tg, np.float64)
    fx = fastnn.tensor(x, requires_grad=True)
    assert gradcheck(lambda a: F.interpolate(a, size=(5, 3), mode=mode, align_corners=align),
                     (fx,))
    assert gradcheck(lambda a: F.interpolate(a[0], scale_factor=1.5,
                                             mode="nearest" if mode == "nearest" else "linear",
                                             align_corners=align), (fx,))


@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 4, 4), dict(size=3, scale_factor=2)), ((1, 2, 4, 4), {}),
    ((1, 2, 4, 4), dict(size=(3,))), ((1, 2, 4, 4), dict(scale_factor=(2, 2, 2))),
    ((1, 2, 4, 4), dict(size=3, mode="nearest", align_corners=True)),
    ((1, 2, 4), dict(size=3, mode="bilinear")), ((1, 2, 4, 4), dict(size=3, mode="linear")),
    ((1, 2, 4, 4), dict(size=3, recompute_scale_factor=True)),
    ((2, 4), dict(size=3)), ((1, 2, 4, 4), dict(size=3, mode="bogus")),
    ((1, 2, 4, 4), dict(size=0)), ((1, 2, 4), dict(size=0, mode="linear"))])
def test_interpolate_errors_match_torch(shape, kw):
    _same_error(lambda: F.interpolate(fastnn.ones(*shape), **kw),
                lambda: torch.nn.functional.interpolate(torch.ones(*shape), **kw))


@pytest.mark.parametrize("expr", ["Upsample(scale_factor=2)", "Upsample(size=(3, 4), "
                                  "mode='bilinear')", "Upsample(scale_factor=1.5, "
                                  "mode='bilinear', align_corners=True)",
                                  "UpsamplingNearest2d(scale_factor=(2, 3))",
                                  "UpsamplingNearest2d(size=7)", "UpsamplingBilinear2d(size=4)"])
def test_upsample_modules_match_torch(expr):
    fm, tm = eval("nn." + expr), eval("torch.nn." + expr)
    assert repr(fm) == repr(tm) and fm.__constants__ == tm.__constants__
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    fx, tx = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    fy, ty = fm(fx), tm(tx)
    _close(fy.detach().numpy(), ty.detach().numpy(), np.float64)
    fy.sum().backward()
    ty.sum().backward()
    _close(fx.grad.numpy(), tx.grad.numpy(), np.float64)


# ---- pixel shuffle --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fname,shape,r", [("pixel_shuffle", (2, 8, 3, 4), 2),
                                           ("pixel_shuffle", (9, 2, 2), 3),
                                           ("pixel_shuffle", (2, 1, 4, 3, 3), 2),
                                           ("pixel_unshuffle", (2, 2, 6, 4), 2),
                                           ("pixel_unshuffle", (3, 3, 3), 3),
                                           ("pixel_unshuffle", (2, 1, 4, 2, 2), 1)])
def test_pixel_shuffle_matches_torch(dtype, fname, shape, r):
    x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    ty, fy, tg, fg = _run(fname, x, dtype, r)
    np.testing.assert_array_equal(fy.detach().numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(fg, tg)
    inverse = F.pixel_unshuffle if fname == "pixel_shuffle" else F.pixel_shuffle
    np.testing.assert_array_equal(inverse(fy, r).detach().numpy(), x)
    assert gradcheck(lambda a: getattr(F, fname)(a, r),
                     (fastnn.tensor(x.astype(np.float64), requires_grad=True),))


@pytest.mark.parametrize("fname,shape,r", [("pixel_shuffle", (4, 4), 2),
                                           ("pixel_shuffle", (1, 5, 2, 2), 2),
                                           ("pixel_shuffle", (1, 4, 2, 2), 0),
                                           ("pixel_unshuffle", (1, 1, 5, 4), 2),
                                           ("pixel_unshuffle", (1, 1, 4, 5), 2),
                                           ("pixel_unshuffle", (4, 4), 2)])
def test_pixel_shuffle_errors_match_torch(fname, shape, r):
    _same_error(lambda: getattr(F, fname)(fastnn.ones(*shape), r),
                lambda: getattr(torch.nn.functional, fname)(torch.ones(*shape), r))


def test_pixel_shuffle_modules():
    for cls, r, shape in (("PixelShuffle", 2, (1, 8, 2, 3)), ("PixelUnshuffle", 3, (1, 2, 6, 3))):
        fm, tm = getattr(nn, cls)(r), getattr(torch.nn, cls)(r)
        assert repr(fm) == repr(tm) and fm.__constants__ == tm.__constants__
        x = np.random.default_rng(0).standard_normal(shape)
        np.testing.assert_array_equal(fm(fastnn.tensor(x)).numpy(), tm(torch.tensor(x)).numpy())
