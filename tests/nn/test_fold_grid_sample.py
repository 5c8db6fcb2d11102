"""fold/unfold and affine_grid/grid_sample: values, gradients, errors and reprs against
PyTorch, and gradcheck."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)
DTYPES = [np.float64, np.float32]


def _parity(run, arrays, grads, dtype):
    tol = 1e-10 if dtype == np.float64 else 2e-5
    arrays = [a.astype(dtype) for a in arrays]
    ts = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    fs = [fastnn.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty, fy = run(torch, *ts), run(fastnn, *fs)
    assert tuple(fy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    for i in grads:
        np.testing.assert_allclose(fs[i].grad.numpy(), ts[i].grad.numpy(), rtol=tol, atol=tol)


def _errors(run, arrays):
    outs = []
    for lib in (torch, fastnn):
        ts = [lib.tensor(a) for a in arrays]
        with pytest.raises(Exception) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(lib, *ts)
        outs.append((type(info.value).__name__,
                     str(info.value).splitlines()[0].replace("torch.", "fastnn.")))
    assert outs[0] == outs[1]


CONFIGS = [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=(1, 2)),
           dict(kernel_size=3, dilation=2, padding=1), dict(kernel_size=(1, 2), padding=(2, 0),
                                                            stride=2, dilation=(1, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", CONFIGS)
@pytest.mark.parametrize("batched", [True, False])
def test_unfold_fold(dtype, cfg, batched):
    shape = (2, 3, 7, 8) if batched else (3, 7, 8)
    x = RNG.standard_normal(shape)

    def run(lib, a):
        return lib.nn.functional.unfold(a, **cfg)
    _parity(run, [x], (0,), dtype)
    cols = F.unfold(fastnn.tensor(x), **cfg)
    c = RNG.standard_normal(tuple(cols.shape))

    def run_fold(lib, a):
        return lib.nn.functional.fold(a, (7, 8), **cfg)
    _parity(run_fold, [c], (0,), dtype)

    def run_modules(lib, a):
        return lib.nn.Fold((7, 8), **cfg)(lib.nn.Unfold(**cfg)(a))
    _parity(run_modules, [x], (0,), dtype)


def test_fold_unfold_gradcheck_and_reprs():
    x = fastnn.tensor(RNG.standard_normal((1, 2, 4, 5)), requires_grad=True)
    assert gradcheck(lambda a: F.unfold(a, (2, 3), dilation=(1, 2), padding=1, stride=2), (x,))
    c = fastnn.tensor(RNG.standard_normal((2 * 4, 6)), requires_grad=True)
    assert gradcheck(lambda a: F.fold(a, (3, 4), 2, stride=1), (c,))
    assert F.unfold(x, 2).grad_fn.name() == "Im2ColBackward0"
    assert F.unfold(x[0], 2).grad_fn.name() == "Im2ColBackward0"
    assert gradcheck(lambda a: F.unfold(a, 2, padding=1), (x[0].detach().requires_grad_(),))
    assert F.fold(c, (3, 4), 2).grad_fn.name() == "Col2ImBackward0"
    for args, kw in [((2,), {}), (((2, 3),), dict(dilation=2, padding=1, stride=(1, 2)))]:
        assert repr(nn.Unfold(*args, **kw)) == repr(torch.nn.Unfold(*args, **kw))
        assert repr(nn.Fold((5, 5), *args, **kw)) == repr(torch.nn.Fold((5, 5), *args, **kw))


@pytest.mark.parametrize("case", range(16))
def test_fold_errors_match_torch(case):
    x4, x3 = RNG.standard_normal((2, 3, 5, 5)), RNG.standard_normal((2, 12, 16))
    u, f = (lambda *a, **k: lambda lib, t: lib.nn.functional.unfold(t, *a, **k),
            lambda *a, **k: lambda lib, t: lib.nn.functional.fold(t, *a, **k))
    cases = [(u(2), x4[0, 0]), (u(2), x4[None]), (u(6), x4), (u(0), x4), (u(2, stride=0), x4),
             (u(2, dilation=0), x4), (u(2, padding=-1), x4), (u(2), x4[:, :0]),
             (u(2), x4.astype(np.int32)), (u((2, 2, 2)), x4), (f((5, 5), 2), x3[..., :15]),
             (f((5, 5), 2), x3[:, :11]), (f((5, 5), 2), x3[..., None]), (f((1, 1), 2), x3),
             (f((0, 5), 2), x3), (f((5, 5), 2), x3.astype(np.int64))]
    _errors(cases[case][0], [cases[case][1]])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3)])
def test_affine_grid(dtype, align, size):
    theta = RNG.standard_normal((2, 2, 3))

    def run(lib, t):
        return lib.nn.functional.affine_grid(t, size, align_corners=align)
    _parity(run, [theta], (0,), dtype)

    theta3 = RNG.standard_normal((2, 3, 4))

    def run3(lib, t):
        return lib.nn.functional.affine_grid(t, (2, 1, 3, 4, 2), align_corners=align)
    _parity(run3, [theta3], (0,), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [False, True])
def test_grid_sample(dtype, mode, padding_mode, align):
    x = RNG.standard_normal((2, 3, 5, 6))
    grid = RNG.uniform(-2.5, 2.5, (2, 4, 7, 2))

    def run(lib, a, g):
        return lib.nn.functional.grid_sample(a, g, mode=mode, padding_mode=padding_mode,
                                             align_corners=align)
    _parity(run, [x, grid], (0, 1), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_spatial_transformer(dtype):
    x = RNG.standard_normal((2, 1, 8, 8))
    theta = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]]] * 2) + \
        RNG.standard_normal((2, 2, 3)) * 0.1

    def run(lib, a, t):
        grid = lib.nn.functional.affine_grid(t, a.size(), align_corners=False)
        return lib.nn.functional.grid_sample(a, grid, align_corners=False)
    _parity(run, [x, theta], (0, 1), dtype)


def test_grid_sample_gradcheck_and_warning():
    x = fastnn.tensor(RNG.standard_normal((1, 2, 3, 4)), requires_grad=True)
    g = fastnn.tensor(RNG.uniform(-1.2, 1.2, (1, 2, 3, 2)), requires_grad=True)
    for pm in ("zeros", "border", "reflection"):
        for align in (False, True):
            assert gradcheck(lambda a, b: F.grid_sample(a, b, padding_mode=pm,
                                                        align_corners=align), (x, g))
    assert gradcheck(lambda a: F.grid_sample(a, g.detach(), "nearest", align_corners=True), (x,))
    t = fastnn.tensor(RNG.standard_normal((1, 2, 3)), requires_grad=True)
    assert gradcheck(lambda a: F.affine_grid(a, (1, 1, 2, 3), align_corners=False), (t,))
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
        F.grid_sample(x, g)
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
        F.affine_grid(t, (1, 1, 2, 3))


@pytest.mark.parametrize("case", range(14))
def test_grid_errors_match_torch(case):
    x, g = RNG.standard_normal((2, 3, 4, 5)), RNG.random((2, 2, 2, 2))

    def gs(**kw):
        return lambda lib, a, b: lib.nn.functional.grid_sample(a, b, align_corners=False, **kw)

    def ag(size, **kw):
        return lambda lib, t: lib.nn.functional.affine_grid(t, size, align_corners=False)
    th = RNG.random((2, 2, 3))
    cases = [(gs(), [x, RNG.random((3, 2, 2, 2))]), (gs(), [x, RNG.random((2, 2, 2, 3))]),
             (gs(), [x.astype(np.float32), g]), (gs(), [x, g[0]]), (gs(), [x[:, :, :0], g]),
             (gs(mode="bad"), [x, g]), (gs(padding_mode="bad"), [x, g]),
             (gs(), [x.astype(np.int32), g.astype(np.int32)]),
             (ag([2, 3, 4, 5]), [th.astype(np.int32)]), (ag([2, 3, 4, 5]), [th[:, :1]]),
             (ag([2, 3, 5]), [th]), (ag([2, 3, 0, 5]), [th]), (ag([3, 3, 4, 5]), [th]),
             (ag([2, 3, 4, 5, 6]), [th])]
    _errors(*cases[case])
