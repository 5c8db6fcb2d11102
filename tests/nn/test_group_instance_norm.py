"""GroupNorm / F.group_norm and InstanceNorm1d/2d/3d / F.instance_norm: PyTorch parity of
outputs, gradients and running statistics, gradcheck, printed form and errors."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")


def _pair(rng, shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    return fastnn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _compare(fy, ty, fts, tts, dtype, rng):
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    for f, t in zip(fts, tts):
        assert f.grad.dtype == f.dtype
        np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,groups,affine", [((2, 6, 5), 3, True), ((3, 4, 3, 2), 2, True),
                                                 ((2, 4, 3, 3), 4, False), ((4, 6), 1, True),
                                                 ((2, 2, 2, 2, 2), 1, True)])
def test_group_norm_matches_torch(dtype, shape, groups, affine):
    rng = np.random.default_rng(0)
    fx, tx = _pair(rng, shape, dtype)
    fts, tts = [fx], [tx]
    if affine:
        for _ in range(2):
            f, t = _pair(rng, (shape[1],), dtype)
            fts.append(f)
            tts.append(t)
    fy = F.group_norm(fx, groups, *fts[1:], eps=1e-4)
    ty = torch.nn.functional.group_norm(tx, groups, *tts[1:], eps=1e-4)
    _compare(fy, ty, fts, tts, dtype, rng)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_group_norm_module_matches_torch(dtype):
    fm, tm = nn.GroupNorm(2, 6), torch.nn.GroupNorm(2, 6)
    assert repr(fm) == repr(tm) == "GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)"
    assert fm.__constants__ == tm.__constants__
    assert repr(nn.GroupNorm(3, 6, affine=False)) == repr(torch.nn.GroupNorm(3, 6, affine=False))
    assert repr(nn.GroupNorm(3, 6, bias=False)) == repr(torch.nn.GroupNorm(3, 6, bias=False))
    rng = np.random.default_rng(3)
    getattr(fm, "double" if dtype == "float64" else "float")()
    getattr(tm, "double" if dtype == "float64" else "float")()
    with fastnn.no_grad():
        for (n, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
            v = rng.standard_normal(tuple(tp.shape)).astype(dtype)
            fp.copy_(fastnn.tensor(v))
            tp.data.copy_(torch.tensor(v))
    fx, tx = _pair(rng, (3, 6, 4, 2), np.dtype(dtype))
    _compare(fm(fx), tm(tx), [fx, fm.weight, fm.bias], [tx, tm.weight, tm.bias],
             np.dtype(dtype), rng)


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_gradcheck(affine):
    rng = np.random.default_rng(1)
    ins = [fastnn.tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)]
    if affine:
        ins += [fastnn.tensor(rng.standard_normal(4), requires_grad=True) for _ in range(2)]
    assert gradcheck(lambda *a: F.group_norm(a[0], 2, *a[1:]), tuple(ins))
    assert gradcheck(lambda *a: F.instance_norm(a[0], None, None, *a[1:]), tuple(ins))


def _same_error(fcall, tcall):
    with pytest.raises(Exception) as te:
        tcall()
    with pytest.raises(type(te.value)) as fe:
        fcall()
    want = str(te.value).split("\n")[0].replace("torch.Size", "fastnn.Size")
    assert str(fe.value).split("\n")[0].startswith(want)


@pytest.mark.parametrize("shape,groups,wshape", [((2, 6, 4), 4, None), ((5,), 1, None),
                                                 ((1, 2, 1), 2, None), ((2, 6, 4), 3, (5,))])
def test_group_norm_errors_match_torch(shape, groups, wshape):
    def call(lib, F_):
        w = lib.ones(*wshape) if wshape else None
        return F_.group_norm(lib.ones(*shape), groups, w)
    _same_error(lambda: call(fastnn, F), lambda: call(torch, torch.nn.functional))
    _same_error(lambda: nn.GroupNorm(4, 6), lambda: torch.nn.GroupNorm(4, 6))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,affine", [((2, 3, 5), True), ((2, 3, 4, 3), False),
                                          ((1, 2, 2, 2, 3), True)])
def test_instance_norm_matches_torch(dtype, shape, affine):
    rng = np.random.default_rng(0)
    fx, tx = _pair(rng, shape, dtype)
    fts, tts = [fx], [tx]
    kw = {}
    if affine:
        fw, tw = _pair(rng, (shape[1],), dtype)
        fb, tb = _pair(rng, (shape[1],), dtype)
        fts += [fw, fb]
        tts += [tw, tb]
    frm, fv = fastnn.zeros(shape[1], dtype=fx.dtype), fastnn.ones(shape[1], dtype=fx.dtype)
    trm, tv = torch.zeros(shape[1], dtype=tx.dtype), torch.ones(shape[1], dtype=tx.dtype)
    fy = F.instance_norm(fx, frm, fv, *fts[1:], momentum=0.3, **kw)
    ty = torch.nn.functional.instance_norm(tx, trm, tv, *tts[1:], momentum=0.3, **kw)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(frm.numpy(), trm.numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(fv.numpy(), tv.numpy(), rtol=tol, atol=tol)
    _compare(fy, ty, fts, tts, dtype, rng)


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 5)),
                                       ("InstanceNorm2d", (2, 3, 4, 4)),
                                       ("InstanceNorm2d", (3, 4, 4)),
                                       ("InstanceNorm3d", (2, 3, 2, 2, 3))])
@pytest.mark.parametrize("kw", [{}, {"affine": True}, {"track_running_stats": True},
                                {"affine": True, "track_running_stats": True, "momentum": None}])
def test_instance_norm_module_matches_torch(cls, shape, kw):
    fm, tm = getattr(nn, cls)(3, **kw), getattr(torch.nn, cls)(3, **kw)
    assert repr(fm) == repr(tm)
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in fm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    fm.double()
    tm.double()
    rng = np.random.default_rng(2)
    with fastnn.no_grad():
        for (_, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
            v = rng.standard_normal(tuple(tp.shape))
            fp.copy_(fastnn.tensor(v))
            tp.data.copy_(torch.tensor(v))
    for mode in ("train", "eval"):
        getattr(fm, mode)()
        getattr(tm, mode)()
        fx, tx = _pair(rng, shape, np.float64)
        fts = [fx] + [p for _, p in fm.named_parameters()]
        tts = [tx] + [p for _, p in tm.named_parameters()]
        for p in fts[1:] + tts[1:]:
            p.grad = None
        _compare(fm(fx), tm(tx), fts, tts, np.float64, rng)
        for (n, fb), (_, tb) in zip(fm.named_buffers(), tm.named_buffers()):
            np.testing.assert_allclose(fb.numpy(), tb.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls,shape,kw", [("InstanceNorm1d", (2, 3, 4, 4), {}),
                                          ("InstanceNorm2d", (3, 4), {}),
                                          ("InstanceNorm2d", (2, 4, 3, 3), {"affine": True}),
                                          ("InstanceNorm1d", (2, 3, 1), {})])
def test_instance_norm_errors_match_torch(cls, shape, kw):
    _same_error(lambda: getattr(nn, cls)(3, **kw)(fastnn.ones(*shape)),
                lambda: getattr(torch.nn, cls)(3, **kw)(torch.ones(*shape)))


def test_instance_norm_warns_on_channel_mismatch_and_needs_running_stats_in_eval():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(fastnn.ones(2, 4, 5))
    _same_error(lambda: F.instance_norm(fastnn.ones(2, 3, 4), use_input_stats=False),
                lambda: torch.nn.functional.instance_norm(torch.ones(2, 3, 4),
                                                          use_input_stats=False))
