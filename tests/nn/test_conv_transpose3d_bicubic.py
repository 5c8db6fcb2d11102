"""ConvTranspose3d / F.conv_transpose3d and interpolate's bicubic and antialiased modes:
PyTorch parity of values and gradients, gradcheck (no PyTorch needed), modules, errors."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")


def _tol(dtype):
    return 3e-5 if np.dtype(dtype) == np.float32 else 1e-10


def _same_error(ours, theirs):
    with pytest.raises(Exception) as t:
        theirs()
    with pytest.raises(Exception) as f:
        ours()
    assert type(f.value).__name__ == type(t.value).__name__
    # fastnn prints its own Size type, and a module's error ends naming the module
    want = str(t.value).splitlines()[0].replace("torch.Size", "fastnn.Size")
    assert str(f.value).splitlines()[0].startswith(want)


def _parity(fn_f, fn_t, arrays, dtype, rng):
    """Run both libraries on the same arrays; compare the output and every input gradient."""
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    ft = [fastnn.tensor(a, requires_grad=True) for a in arrays]
    ty, fy = fn_t(*tt), fn_f(*ft)
    assert tuple(fy.shape) == tuple(ty.shape) and fy.dtype == getattr(fastnn, dtype.__name__)
    assert fy.grad_fn.name() == type(ty.grad_fn).__name__
    tol = _tol(dtype)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    for f, t in zip(ft, tt):
        assert f.grad.dtype == f.dtype
        np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


# ---- conv_transpose3d -----------------------------------------------------------------------
CASES = [  # (input shape, weight shape, bias?, kwargs)
    ((2, 4, 3, 4, 5), (4, 3, 2, 3, 2), True, dict(stride=(2, 1, 3), padding=(1, 0, 1),
                                                  output_padding=(1, 0, 2), groups=2,
                                                  dilation=(1, 2, 1))),
    ((1, 2, 3, 3, 3), (2, 2, 3, 3, 3), True, dict(dilation=2, output_padding=1)),
    ((2, 3, 2, 3, 2), (3, 2, 2, 2, 2), False, dict(stride=2)),
    ((3, 3, 4, 2), (3, 4, 1, 2, 3), True, dict(stride=(1, 2, 2), padding=(0, 1, 1))),
    ((1, 6, 2, 2, 3), (6, 1, 3, 1, 2), True, dict(groups=3, stride=3, padding=1,
                                                  output_padding=(2, 1, 0))),
]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,has_b,kw", CASES)
def test_conv_transpose3d_matches_torch(dtype, xs, ws, has_b, kw):
    rng = np.random.default_rng(0)
    shapes = [xs, ws] + ([(ws[1] * kw.get("groups", 1),)] if has_b else [])
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    _parity(lambda *a: F.conv_transpose3d(*a, **kw),
            lambda *a: torch.nn.functional.conv_transpose3d(*a, **kw), arrays, dtype, rng)


@pytest.mark.parametrize("xs,ws,has_b,kw", CASES[:3] + CASES[4:])
def test_conv_transpose3d_gradcheck(xs, ws, has_b, kw):
    rng = np.random.default_rng(1)
    xs = xs[:2] + tuple(min(s, 2) for s in xs[2:])
    shapes = [xs, ws] + ([(ws[1] * kw.get("groups", 1),)] if has_b else [])
    ins = tuple(fastnn.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)
    assert gradcheck(lambda *a: F.conv_transpose3d(*a, **kw), ins)


def test_conv_transpose3d_unbatched_and_input_grad_only():
    x = fastnn.randn(2, 2, 3, 2, requires_grad=True)
    w = fastnn.randn(2, 3, 2, 2, 2)
    y = F.conv_transpose3d(x, w, stride=2)
    assert tuple(y.shape) == (3, 4, 6, 4)
    y.sum().backward()
    assert tuple(x.grad.shape) == (2, 2, 3, 2) and w.grad is None


def _copy_state(fm, tm):
    fm.load_state_dict({k: fastnn.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})


MODULES = [
    ((2, 4, (2, 3, 1)), dict(stride=2, output_padding=1, groups=2, dilation=(1, 2, 1),
                             bias=False)),
    ((3, 2, 3), dict(padding=1)),
    ((2, 2, 2), dict(stride=(1, 2, 3), padding=(0, 1, 0))),
]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("args,kw", MODULES)
def test_conv_transpose3d_module_state_dict_and_repr(args, kw, dtype):
    fm, tm = nn.ConvTranspose3d(*args, **kw), torch.nn.ConvTranspose3d(*args, **kw)
    assert repr(fm) == repr(tm)
    assert fm.__constants__ == tm.__constants__ and fm.output_padding == tm.output_padding
    assert list(fm.state_dict()) == list(tm.state_dict())
    if dtype == np.float64:
        fm.double()
        tm.double()
    _copy_state(fm, tm)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, args[0], 3, 2, 3)).astype(dtype)
    ty, fy = tm(torch.tensor(x)), fm(fastnn.tensor(x))
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=_tol(dtype),
                               atol=_tol(dtype))


@needs_torch
@pytest.mark.parametrize("size", [[8, 6, 6], [1, 6, 7, 5, 6], (8, 5, 6)])
def test_conv_transpose3d_output_size(size):
    fm, tm = nn.ConvTranspose3d(4, 6, 3, stride=2), torch.nn.ConvTranspose3d(4, 6, 3, stride=2)
    _copy_state(fm, tm)
    x = np.random.default_rng(0).standard_normal((1, 4, 3, 2, 2)).astype(np.float32)
    fy, ty = fm(fastnn.tensor(x), output_size=size), tm(torch.tensor(x), output_size=size)
    assert tuple(fy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)


@needs_torch
def test_lazy_conv_transpose3d():
    fm = nn.LazyConvTranspose3d(4, 3, stride=2)
    assert repr(fm) == repr(torch.nn.LazyConvTranspose3d(4, 3, stride=2))
    y = fm(fastnn.randn(2, 5, 2, 3, 2))
    assert type(fm) is nn.ConvTranspose3d and tuple(fm.weight.shape) == (5, 4, 3, 3, 3)
    assert tuple(y.shape) == (2, 4, 5, 7, 5)


X, W = (1, 2, 3, 3, 3), (2, 2, 2, 2, 2)


@needs_torch
@pytest.mark.parametrize("xs,ws,bs,kw", [
    (X, W, None, dict(dilation=0)),
    (X, W, None, dict(output_padding=1)),
    (X, W, None, dict(padding=4)),
    (X, W, None, dict(stride=0)),
    (X, W, None, dict(padding=-1)),
    (X, W, None, dict(output_padding=-1)),
    (X, W, None, dict(groups=3)),
    (X, W, None, dict(groups=0)),
    ((1, 3, 3, 3, 3), W, None, {}),
    ((3, 3, 3), W, None, {}),
    (X, W, (3,), {}),
    (X, W, None, dict(stride=(1, 2))),
    (X, W, None, dict(padding="same")),
])
def test_conv_transpose3d_errors_match_torch(xs, ws, bs, kw):
    arrays = [np.ones(s, np.float32) for s in (xs, ws) + ((bs,) if bs else ())]
    _same_error(lambda: F.conv_transpose3d(*map(fastnn.tensor, arrays), **kw),
                lambda: torch.nn.functional.conv_transpose3d(*map(torch.tensor, arrays), **kw))


@needs_torch
def test_conv_transpose3d_dtype_error_matches_torch():
    x, w = np.ones(X), np.ones(W, np.float32)
    _same_error(lambda: F.conv_transpose3d(fastnn.tensor(x), fastnn.tensor(w)),
                lambda: torch.nn.functional.conv_transpose3d(torch.tensor(x), torch.tensor(w)))


@needs_torch
@pytest.mark.parametrize("kw,size", [({"padding_mode": "reflect"}, None),
                                     ({"stride": 2}, [100, 6, 6]), ({"stride": 2}, [6, 6]),
                                     ({"groups": 4}, None)])
def test_conv_transpose3d_module_errors_match_torch(kw, size):
    def make(lib, tensor):
        m = lib.nn.ConvTranspose3d(4, 6, 3, **kw)
        return m(tensor(np.ones((1, 4, 3, 2, 2), np.float32)), output_size=size)
    _same_error(lambda: make(fastnn, fastnn.tensor), lambda: make(torch, torch.tensor))


# ---- bicubic and antialiased interpolate ----------------------------------------------------
RESIZES = [dict(scale_factor=2), dict(scale_factor=(1.7, 0.6)), dict(size=(11, 3)),
           dict(size=(3, 2)), dict(scale_factor=0.4), dict(size=(1, 1)),
           dict(scale_factor=(2.3, 0.45), recompute_scale_factor=True), dict(size=(5, 7))]
MODES = [("bicubic", False), ("bicubic", True), ("bilinear", True)]


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode,aa", MODES)
@pytest.mark.parametrize("kw", RESIZES)
def test_interpolate_bicubic_antialias_matches_torch(kw, mode, aa, align_corners, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5, 7)).astype(dtype)
    opts = dict(kw, mode=mode, align_corners=align_corners, antialias=aa)
    _parity(lambda a: F.interpolate(a, **opts),
            lambda a: torch.nn.functional.interpolate(a, **opts), [x], dtype, rng)


@needs_torch
@pytest.mark.parametrize("mode,aa", MODES)
def test_interpolate_same_size_scale_values_match_torch(mode, aa):
    # scale_factor 1.1 keeps 5x7: the sampling still uses 1/1.1 (bicubic) or copies
    # (antialias) as PyTorch does; fastnn's gradient is the exact one of that forward
    x = np.random.default_rng(4).standard_normal((1, 2, 5, 7))
    opts = dict(scale_factor=1.1, mode=mode, antialias=aa)
    fy = F.interpolate(fastnn.tensor(x), **opts)
    ty = torch.nn.functional.interpolate(torch.tensor(x), **opts)
    np.testing.assert_allclose(fy.numpy(), ty.numpy(), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda a: F.interpolate(a, **opts),
                     (fastnn.tensor(x[:, :1], requires_grad=True),))


@pytest.mark.parametrize("mode,aa", MODES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("kw", [dict(scale_factor=1.5), dict(size=(2, 5)),
                                dict(scale_factor=(0.5, 0.4))])
def test_interpolate_bicubic_gradcheck(mode, aa, align_corners, kw):
    x = fastnn.tensor(np.random.default_rng(5).standard_normal((1, 2, 4, 5)),
                      requires_grad=True)
    assert gradcheck(lambda a: F.interpolate(a, mode=mode, align_corners=align_corners,
                                             antialias=aa, **kw), (x,))


def test_interpolate_bicubic_known_values():
    # a linear ramp is reproduced inside; the border taps clamp to the edge value
    x = fastnn.tensor(np.arange(4.0).reshape(1, 1, 1, 4))
    y = F.interpolate(x, size=(1, 7), mode="bicubic", align_corners=True).numpy()
    np.testing.assert_allclose(y[0, 0, 0, 2:5], [1.0, 1.5, 2.0], atol=1e-12)
    same = F.interpolate(x, size=(1, 4), mode="bicubic").numpy()
    np.testing.assert_array_equal(same, x.numpy())


@needs_torch
@pytest.mark.parametrize("args", [dict(scale_factor=2, mode="bicubic", align_corners=True),
                                  dict(size=(3, 4), mode="bicubic")])
def test_upsample_bicubic_module(args):
    fm, tm = nn.Upsample(**args), torch.nn.Upsample(**args)
    assert repr(fm) == repr(tm)
    x = np.random.default_rng(6).standard_normal((1, 2, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(fm(fastnn.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(),
                               rtol=3e-5, atol=3e-5)


@needs_torch
@pytest.mark.parametrize("shape,kw", [
    ((1, 2, 5), dict(size=3, mode="bicubic")),
    ((1, 2, 3, 3, 3), dict(size=2, mode="bicubic")),
    ((1, 2, 5, 6), dict(size=(3, 3), mode="nearest", antialias=True)),
    ((1, 2, 5), dict(size=3, mode="linear", antialias=True)),
    ((1, 2, 5, 6), dict(size=(0, 3), mode="bicubic")),
    ((1, 2, 5, 6), dict(size=(0, 3), mode="bicubic", antialias=True)),
    ((1, 1, 0, 3), dict(size=(2, 2), mode="bicubic")),
    ((1, 1, 0, 3), dict(size=(2, 2), mode="nearest")),
    ((1, 2, 5, 6), dict(size=(3, 3), scale_factor=2, mode="bicubic")),
    ((1, 2, 5, 6), dict(size=(3, 3, 3), mode="bicubic")),
])
def test_interpolate_bicubic_errors_match_torch(shape, kw):
    x = np.ones(shape, np.float32)
    _same_error(lambda: F.interpolate(fastnn.tensor(x), **kw),
                lambda: torch.nn.functional.interpolate(torch.tensor(x), **kw))
