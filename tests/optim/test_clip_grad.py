"""nn.utils.clip_grad_norm_ / clip_grad_value_ against PyTorch."""
import math

import numpy as np
import pytest

import fastnn
from fastnn.nn.utils.clip_grad import (clip_grad_norm_, clip_grad_value_, get_total_norm,
                                       clip_grads_with_norm_)

SHAPES = [(4, 3), (5,), (2, 2, 2)]


def grads(dtype=np.float32, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * scale).astype(dtype) for s in SHAPES]


def with_grads(mod, gs, missing=()):
    ps = []
    for i, g in enumerate(gs):
        p = mod.zeros(g.shape, dtype=mod.float64 if g.dtype == np.float64 else mod.float32,
                      requires_grad=True)
        if i not in missing:
            p.grad = mod.tensor(g.copy())
        ps.append(p)
    return ps


def _grad_arrays(ps):
    return [p.grad.numpy() if p.grad is not None else None for p in ps]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    torch = pytest.importorskip("torch")
    gs = grads(dtype)
    f, t = with_grads(fastnn, gs, missing=(1,)), with_grads(torch, gs, missing=(1,))
    nt = float(norm_type)
    fn_ = clip_grad_norm_(f, max_norm, norm_type=nt)
    tn = torch.nn.utils.clip_grad_norm_(t, max_norm, norm_type=nt)
    assert isinstance(fn_, fastnn.Tensor) and fn_.dim() == 0 and fn_.dtype == f[0].dtype
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(fn_.item(), tn.item(), rtol=tol)
    for a, b in zip(_grad_arrays(f), [p.grad.numpy() if p.grad is not None else None
                                      for p in t]):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_clip_grad_norm_scales_arena_grads_in_place():
    ps = [fastnn.randn(3, 4, requires_grad=True), fastnn.randn(4, requires_grad=True)]
    opt = fastnn.optim.SGD(ps, lr=0.1)
    (ps[0] * fastnn.full((3, 4), 10.0)).sum().backward()
    (ps[1] * fastnn.full((4,), 10.0)).sum().backward()
    slots = [p.grad._data for p in ps]
    total = clip_grad_norm_(ps, 1.0)
    assert [p.grad._data for p in ps] == slots  # still the arena's slots: the fused step applies
    np.testing.assert_allclose(total.item(), 40.0, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(sum((p.grad.numpy() ** 2).sum() for p in ps)), 1.0,
                               rtol=1e-5)
    assert opt._packs[0][1][0].grad.any()


def test_error_if_nonfinite():
    gs = grads()
    gs[0][0, 0] = np.inf
    ps = with_grads(fastnn, gs)
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite, so it cannot be clipped"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    gs[0][0, 0] = np.nan
    ps = with_grads(fastnn, gs)
    total = clip_grad_norm_(ps, 1.0)
    assert math.isnan(total.item())


def test_empty_and_single_tensor():
    assert clip_grad_norm_([], 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)
    p = with_grads(fastnn, grads())[0]
    total = clip_grad_norm_(p, 0.1)
    np.testing.assert_allclose(np.linalg.norm(p.grad.numpy()), 0.1, rtol=1e-4)
    assert total.item() > 0.1
    assert get_total_norm([p.grad]).item() == pytest.approx(0.1, rel=1e-4)
    clip_grads_with_norm_([p], 0.05, get_total_norm([p.grad]))
    np.testing.assert_allclose(np.linalg.norm(p.grad.numpy()), 0.05, rtol=1e-4)


@pytest.mark.parametrize("clip", [0.3, 2])
def test_clip_grad_value_matches_torch(clip):
    torch = pytest.importorskip("torch")
    gs = grads(scale=2.0)
    gs[2][0, 0, 0] = np.nan
    f, t = with_grads(fastnn, gs, missing=(0,)), with_grads(torch, gs, missing=(0,))
    assert clip_grad_value_(f, clip) is None
    torch.nn.utils.clip_grad_value_(t, clip)
    for a, b in zip(f[1:], t[1:]):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert f[0].grad is None
