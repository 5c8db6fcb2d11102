"""ConvTranspose1d/2d and F.conv_transpose1d/2d: PyTorch parity of outputs and gradients (both
the Cython-kernel and the numpy paths), gradcheck, module form, output_size, errors."""
import math

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck
from fastnn.nn._functional import misc

torch = pytest.importorskip("torch")

CASES = [  # (input shape, weight shape, bias?, kwargs)
    ((2, 4, 5, 6), (4, 3, 3, 2), True, dict(stride=2, padding=1, output_padding=1, groups=2,
                                           dilation=(1, 2))),
    ((2, 4, 5, 6), (4, 3, 3, 3), True, dict(output_padding=1, dilation=2)),
    ((2, 3, 4, 4), (3, 2, 2, 2), False, dict(stride=2)),
    ((4, 5, 6), (4, 3, 3, 3), True, {}),
    ((1, 2, 3, 3), (2, 5, 4, 1), True, dict(stride=(3, 1), padding=(1, 0),
                                           output_padding=(2, 0))),
    ((2, 4, 7), (4, 3, 3), True, dict(stride=3, padding=1, output_padding=2, groups=2)),
    ((4, 7), (4, 3, 3), False, dict(dilation=2, padding=2)),
]


@pytest.fixture(params=["kernels", "numpy"])
def path(request, monkeypatch):
    if request.param == "numpy":
        monkeypatch.setattr(misc, "_core_mod", [None])
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,has_b,kw", CASES)
def test_conv_transpose_matches_torch(path, dtype, xs, ws, has_b, kw):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (xs, ws)]
    if has_b:
        arrays.append(rng.standard_normal(ws[1] * kw.get("groups", 1)).astype(dtype))
    name = "conv_transpose2d" if len(ws) == 4 else "conv_transpose1d"
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    ft = [fastnn.tensor(a, requires_grad=True) for a in arrays]
    ty = getattr(torch.nn.functional, name)(*tt, **kw)
    fy = getattr(F, name)(*ft, **kw)
    assert fy.dtype == getattr(fastnn, np.dtype(dtype).name)
    tol = 2e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    for f, t in zip(ft, tt):
        assert f.grad.dtype == f.dtype
        np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("xs,ws,has_b,kw", CASES)
def test_conv_transpose_gradcheck(path, xs, ws, has_b, kw):
    rng = np.random.default_rng(1)
    shapes = [xs, ws] + ([(ws[1] * kw.get("groups", 1),)] if has_b else [])
    ins = tuple(fastnn.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)
    fn = F.conv_transpose2d if len(ws) == 4 else F.conv_transpose1d
    assert gradcheck(lambda *a: fn(*a, **kw), ins)


def test_conv_transpose_grad_fn_name_and_input_grad_only():
    x = fastnn.randn(1, 2, 3, 3, requires_grad=True)
    w = fastnn.randn(2, 3, 2, 2)
    y = F.conv_transpose2d(x, w)
    assert y.grad_fn.name() == "ConvolutionBackward0" and tuple(y.shape) == (1, 3, 4, 4)
    y.sum().backward()
    assert tuple(x.grad.shape) == (1, 2, 3, 3) and w.grad is None


def _copy_params(fm, tm):
    for (fname, fp), (tname, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        assert fname == tname and tuple(fp.shape) == tuple(tp.shape)
        with fastnn.no_grad():
            fp.copy_(fastnn.tensor(tp.detach().numpy()))


MODULES = [
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2,
                                        dilation=2, bias=False)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(stride=(2, 1))),
    ("ConvTranspose1d", (4, 6, 3), {}),
    ("ConvTranspose1d", (2, 4, 4), dict(stride=3, padding=2, output_padding=1, groups=2)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cls,args,kw", MODULES)
def test_conv_transpose_module_matches_torch(cls, args, kw, dtype):
    fm, tm = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(fm) == repr(tm)
    assert fm.__constants__ == tm.__constants__
    assert fm.transposed is True and fm.output_padding == tm.output_padding
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    getattr(fm, "double" if dtype == "float64" else "float")()
    getattr(tm, "double" if dtype == "float64" else "float")()
    _copy_params(fm, tm)
    nd = 2 if cls.endswith("2d") else 1
    x = np.random.default_rng(0).standard_normal((2, args[0]) + (5,) * nd).astype(dtype)
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = tm(tx), fm(fx)
    tol = 2e-5 if dtype == "float32" else 1e-10
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)
    for (_, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("size", [[11, 12], [1, 6, 12, 11], (12, 12)])
def test_conv_transpose_output_size(size):
    fm, tm = nn.ConvTranspose2d(4, 6, 3, stride=2), torch.nn.ConvTranspose2d(4, 6, 3, stride=2)
    _copy_params(fm, tm)
    x = np.random.default_rng(0).standard_normal((1, 4, 5, 5)).astype(np.float32)
    fy, ty = fm(fastnn.tensor(x), output_size=size), tm(torch.tensor(x), output_size=size)
    assert tuple(fy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert tuple(fm(fastnn.tensor(x[0]), output_size=[6, 12, 11]).shape) == (6, 12, 11)


def test_conv_transpose_init_bounds_and_unbatched():
    fastnn.manual_seed(0)
    m = nn.ConvTranspose2d(8, 6, 3, groups=2)
    assert tuple(m.weight.shape) == (8, 3, 3, 3) and m.weight.dtype == fastnn.float32
    bound = 1 / math.sqrt(3 * 9)  # fan_in is weight.size(1) * kernel area, as in PyTorch
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    m2 = nn.ConvTranspose1d(2, 3, 2, dtype=fastnn.float64)
    assert m2.weight.dtype == fastnn.float64 and tuple(m2(fastnn.randn(
        2, 4, dtype=fastnn.float64)).shape) == (3, 5)


def _same_error(fcall, tcall):
    with pytest.raises(Exception) as te:
        tcall()
    with pytest.raises(type(te.value)) as fe:
        fcall()
    # fastnn names its own Size type where PyTorch prints torch.Size
    want = str(te.value).split("\n")[0].replace("torch.Size", "fastnn.Size")
    assert str(fe.value).split("\n")[0].startswith(want)


X, W = (1, 4, 5, 5), (4, 2, 3, 3)


@pytest.mark.parametrize("xs,ws,bs,kw", [
    ((1, 3, 5, 5), W, None, {}),
    (X, W, None, dict(stride=2, output_padding=2)),
    (X, W, None, dict(stride=2, output_padding=(1, 2))),
    (X, W, None, dict(stride=0)),
    (X, W, None, dict(padding=-1)),
    (X, W, None, dict(output_padding=-1)),
    (X, W, None, dict(dilation=0)),
    (X, W, None, dict(groups=3)),
    (X, W, None, dict(groups=0)),
    ((1, 4, 5, 5), (2, 2, 2, 2), None, dict(groups=4)),
    ((5, 5), W, None, {}),
    (X, W, (3,), {}),
    (X, W, None, dict(padding=4)),
    (X, (4, 2, 2, 2), None, dict(padding=3)),
    (X, W, None, dict(stride=(1, 1, 1))),
    ((1, 4, 5), (4, 2, 3), None, dict(stride=2, output_padding=3)),
    ((1, 3, 5), (4, 2, 3), None, {}),
    ((1, 4, 5), (4, 2, 2), None, dict(padding=3)),
])
def test_conv_transpose_errors_match_torch(xs, ws, bs, kw):
    name = "conv_transpose2d" if len(ws) == 4 else "conv_transpose1d"
    arrays = [np.ones(s, np.float32) for s in (xs, ws) + ((bs,) if bs else ())]
    _same_error(lambda: getattr(F, name)(*map(fastnn.tensor, arrays), **kw),
                lambda: getattr(torch.nn.functional, name)(*map(torch.tensor, arrays), **kw))


def test_conv_transpose_dtype_errors_match_torch():
    x, w = np.ones(X), np.ones(W, np.float32)
    _same_error(lambda: F.conv_transpose2d(fastnn.tensor(x), fastnn.tensor(w)),
                lambda: torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(w)))
    with pytest.raises(TypeError, match="argument 'padding' must be tuple of ints, not str"):
        F.conv_transpose2d(fastnn.ones(*X), fastnn.ones(*W), padding="same")


@pytest.mark.parametrize("kw,size", [({"padding_mode": "reflect"}, None),
                                     ({"stride": 2}, [13, 12]), ({"stride": 2}, [12]),
                                     ({"groups": 4}, None)])
def test_conv_transpose_module_errors_match_torch(kw, size):
    def make(lib, tensor):
        m = lib.nn.ConvTranspose2d(4, 6, 3, **kw)
        return m(tensor(np.ones(X, np.float32)), output_size=size)
    _same_error(lambda: make(fastnn, fastnn.tensor), lambda: make(torch, torch.tensor))
