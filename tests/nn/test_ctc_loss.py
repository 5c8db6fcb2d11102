"""CTC loss (F.ctc_loss and nn.CTCLoss): PyTorch parity of values and gradients for every
option, finite-difference gradients, the compiled kernel against the numpy reference,
argument errors and long-sequence stability."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck
from fastnn.nn._functional import loss_ctc

T_, N_, C_, S_ = 12, 4, 6, 5
IL = np.array([12, 9, 7, 3])
TL = np.array([5, 3, 0, 5])   # the last sample cannot fit 5 labels in 3 frames: inf


def _log_probs(rng, shape, dt):
    x = rng.standard_normal(shape)
    x = x - np.log(np.exp(x).sum(-1, keepdims=True))
    return x.astype(dt)


def _case(dt=np.float64, blank=0, seed=0):
    rng = np.random.default_rng(seed)
    x = _log_probs(rng, (T_, N_, C_), dt)
    labels = [k for k in range(C_) if k != blank]
    tg = rng.choice(labels, size=(N_, S_))
    tg[0, 2] = tg[0, 1]       # a repeated label needs a blank between the two
    return x, tg


def _concat(tg, tl):
    return np.concatenate([tg[i, :tl[i]] for i in range(len(tl))]).astype(np.int64)


def _run(lib, x, tg, il, tl, w=None, **kw):
    """(loss, grad) of lib's ctc_loss; w weighs a per-sample loss before backward."""
    a = lib.tensor(x, requires_grad=True)
    loss = lib.nn.functional.ctc_loss(a, lib.tensor(tg), lib.tensor(il), lib.tensor(tl), **kw)
    (loss * lib.tensor(w) if w is not None else loss).sum().backward()
    return loss.detach().numpy(), a.grad.numpy()


@pytest.fixture(params=["compiled", "numpy"])
def path(request, monkeypatch):
    """Run a test on the compiled kernel (when built) and on the numpy reference path."""
    if request.param == "numpy":
        monkeypatch.setattr(loss_ctc, "_fast", lambda x: None)
    elif loss_ctc._fast(None) is None:
        pytest.skip("compiled kernels not built")
    return request.param


def _tol(dt):
    return dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-12)


# ---- parity with PyTorch -------------------------------------------------------------------
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("fmt", ["padded", "concat"])
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("blank", [0, C_ - 1])
def test_parity(dt, reduction, fmt, zero_infinity, blank, path):
    torch = pytest.importorskip("torch")
    x, tg = _case(dt, blank)
    tg = _concat(tg, TL) if fmt == "concat" else tg
    w = np.random.default_rng(1).standard_normal(N_) if reduction == "none" else None
    kw = dict(blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    fl, fg = _run(fastnn, x, tg, IL, TL, w, **kw)
    tl_, tg_ = _run(torch, x, tg, IL, TL, w, **kw)
    assert fl.dtype == tl_.dtype and fl.shape == tl_.shape
    np.testing.assert_allclose(fl, tl_, **_tol(dt))
    # an infinite loss without zero_infinity: NaN gradients on its frames, as in PyTorch
    np.testing.assert_allclose(fg, tg_, equal_nan=True, **_tol(dt))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("lengths", ["tensor0d", "tensor1d", "list"])
def test_parity_unbatched(dt, reduction, lengths, path):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = _log_probs(rng, (9, 5), dt)
    tg = np.array([1, 3, 3, 2])
    out = []
    for lib in (fastnn, torch):
        il, tl = {"tensor0d": (lib.tensor(8), lib.tensor(4)),
                  "tensor1d": (lib.tensor([8]), lib.tensor([4])),
                  "list": ([8], [4])}[lengths]
        a = lib.tensor(x, requires_grad=True)
        loss = lib.nn.functional.ctc_loss(a, lib.tensor(tg), il, tl, reduction=reduction)
        loss.backward()
        out.append((loss.detach().numpy(), a.grad.numpy()))
    (fl, fg), (tl_, tg_) = out
    assert fl.shape == tl_.shape == ()
    np.testing.assert_allclose(fl, tl_, **_tol(dt))
    np.testing.assert_allclose(fg, tg_, **_tol(dt))
    assert (fg[8:] == 0).all()


def test_parity_edge_lengths(path):
    """Empty targets, empty inputs and a padded target wider than needed."""
    torch = pytest.importorskip("torch")
    x = _log_probs(np.random.default_rng(4), (6, 4, 5), np.float64)
    tg = np.array([[1, 2, 9, 9], [3, 3, 1, 0], [1, 0, 0, 0], [2, 2, 2, 2]])
    il, tl = np.array([6, 0, 0, 5]), np.array([2, 0, 1, 0])
    for red in ("none", "mean", "sum"):
        w = np.arange(1.0, 5.0) if red == "none" else None
        fl, fg = _run(fastnn, x, tg, il, tl, w, reduction=red)
        t_l, t_g = _run(torch, x, tg, il, tl, w, reduction=red)
        np.testing.assert_allclose(fl, t_l, rtol=1e-12)
        np.testing.assert_allclose(fg, t_g, rtol=1e-10, atol=1e-12)


def test_parity_unnormalized_inputs():
    """The gradient is PyTorch's exp(log_probs) - occupancy even when rows do not sum to 1."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(5).standard_normal((7, 2, 4))
    tg, il, tl = np.array([[1, 2], [3, 0]]), np.array([7, 6]), np.array([2, 1])
    fl, fg = _run(fastnn, x, tg, il, tl, reduction="sum")
    t_l, t_g = _run(torch, x, tg, il, tl, reduction="sum")
    np.testing.assert_allclose(fl, t_l, rtol=1e-12)
    np.testing.assert_allclose(fg, t_g, rtol=1e-10, atol=1e-12)


# ---- semantics without PyTorch -------------------------------------------------------------
def test_reductions_and_length_forms(path):
    x, tg = _case()
    lp = fastnn.tensor(x)
    per = F.ctc_loss(lp, fastnn.tensor(tg), IL.tolist(), TL.tolist(), reduction="none",
                     zero_infinity=True).numpy()
    assert per.shape == (N_,) and per[3] == 0
    mean = F.ctc_loss(lp, fastnn.tensor(tg), tuple(IL), tuple(TL), zero_infinity=True)
    with pytest.raises(TypeError, match="invalid combination"):   # as PyTorch: no ndarray
        F.ctc_loss(lp, fastnn.tensor(tg), IL, TL)
    np.testing.assert_allclose(mean.numpy(), (per / np.maximum(TL, 1)).mean(), rtol=1e-12)
    total = F.ctc_loss(lp, fastnn.tensor(_concat(tg, TL)), fastnn.tensor(IL),
                       fastnn.tensor(TL), reduction="sum", zero_infinity=True)
    np.testing.assert_allclose(total.numpy(), per.sum(), rtol=1e-12)
    raw = F.ctc_loss(lp, fastnn.tensor(tg), list(IL), list(TL), reduction="none").numpy()
    assert np.isinf(raw[3]) and np.isfinite(raw[:3]).all()


def test_module():
    x, tg = _case(blank=2)
    mod = nn.CTCLoss(blank=2, reduction="sum", zero_infinity=True)
    assert (mod.blank, mod.reduction, mod.zero_infinity) == (2, "sum", True)
    assert (nn.CTCLoss().blank, nn.CTCLoss().reduction, nn.CTCLoss().zero_infinity) == \
        (0, "mean", False)
    lp = fastnn.tensor(x)
    args = (lp, fastnn.tensor(tg), fastnn.tensor(IL), fastnn.tensor(TL))
    np.testing.assert_allclose(
        mod(*args).numpy(),
        F.ctc_loss(*args, blank=2, reduction="sum", zero_infinity=True).numpy())
    assert "CTCLoss" in nn.__all__


def test_exact_gradient_by_finite_differences():
    """The true derivative of the loss in log_probs is -occupancy: PyTorch's gradient minus
    exp(log_probs) on each sample's frames."""
    rng = np.random.default_rng(6)
    x = _log_probs(rng, (5, 2, 4), np.float64)
    tg, il, tl = np.array([[1, 1], [2, 3]]), np.array([5, 4]), np.array([2, 2])
    _, g = _run(fastnn, x, tg, il, tl, reduction="sum")
    live = (np.arange(5)[:, None] < il)[:, :, None]
    exact = g - np.where(live, np.exp(x), 0)
    eps = 1e-6
    num = np.zeros_like(x)

    def loss(z):
        return F.ctc_loss(fastnn.tensor(z), fastnn.tensor(tg), il.tolist(), tl.tolist(),
                          reduction="sum").item()
    for idx in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        num[idx] = (loss(x + d) - loss(x - d)) / (2 * eps)
    np.testing.assert_allclose(exact, num, atol=1e-7)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("fmt", ["padded", "concat"])
def test_gradcheck_through_log_softmax(reduction, fmt):
    rng = np.random.default_rng(7)
    z = fastnn.tensor(rng.standard_normal((6, 3, 4)), requires_grad=True)
    tg, il, tl = np.array([[1, 2, 2], [3, 1, 0], [2, 0, 0]]), [6, 5, 4], [3, 2, 1]
    tgt = fastnn.tensor(_concat(tg, tl) if fmt == "concat" else tg)

    def fn(v):
        return F.ctc_loss(F.log_softmax(v, 2), tgt, il, tl, reduction=reduction, blank=0)
    assert gradcheck(fn, (z,), eps=1e-6, atol=1e-6)


def test_zero_infinity_and_frames_past_input(path):
    x, tg = _case()
    a = fastnn.tensor(x, requires_grad=True)
    loss = F.ctc_loss(a, fastnn.tensor(tg), IL.tolist(), TL.tolist(), reduction="sum",
                      zero_infinity=True)
    loss.backward()
    g = a.grad.numpy()
    assert np.isfinite(loss.item())
    assert (g[:, 3] == 0).all()                    # the impossible sample
    for n in range(N_):
        assert (g[IL[n]:, n] == 0).all()           # frames past each input's length
        assert np.abs(g[:IL[n], n]).sum() > 0 or n == 3


def test_double_backward_raises_only_when_differentiated_twice():
    z = fastnn.tensor(np.random.default_rng(8).standard_normal((5, 2, 4)), requires_grad=True)
    loss = F.ctc_loss(F.log_softmax(z, 2), fastnn.tensor([[1, 2], [3, 3]]), [5, 5], [2, 2])
    assert loss.grad_fn.name() == "CtcLossBackward0"
    g, = fastnn.autograd.grad(loss, z, create_graph=True)   # the first order still works
    with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not"):
        fastnn.autograd.grad(g.sum(), z)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_long_sequence_stable(dt, path):
    rng = np.random.default_rng(9)
    t_len, n, c, s = 500, 3, 30, 60
    x = _log_probs(rng, (t_len, n, c), dt)
    tg = rng.integers(1, c, (n, s))
    il, tl = np.array([500, 400, 250]), np.array([60, 45, 30])
    loss, g = _run(fastnn, x, tg, il, tl, reduction="none")
    assert np.isfinite(loss).all() and (loss > 100).all()   # probabilities far below 1e-300
    assert np.isfinite(g).all()
    # each live frame's occupancy sums to one, so the gradient of normalized rows sums to 0
    np.testing.assert_allclose(g.sum(-1), 0, atol=1e-3 if dt == np.float32 else 1e-9)
    torch = pytest.importorskip("torch")
    t_l, t_g = _run(torch, x, tg, il, tl, reduction="none")
    # float32 over 500 frames: log-space sums of size ~1e3 leave ~1e-4 absolute error in
    # both libraries (each about as far from the float64 result as from the other)
    np.testing.assert_allclose(loss, t_l, rtol=1e-4 if dt == np.float32 else 1e-10)
    np.testing.assert_allclose(g, t_g, atol=1e-3 if dt == np.float32 else 1e-10)
    if dt == np.float32:
        exact_l, exact_g = _run(torch, x.astype(np.float64), tg, il, tl, reduction="none")
        np.testing.assert_allclose(loss, exact_l, rtol=1e-5)
        np.testing.assert_allclose(g, exact_g, atol=1e-3)


# ---- the compiled kernel against the numpy reference ----------------------------------------
@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_kernel_matches_numpy_reference(dt, zero_infinity):
    k = loss_ctc.core()
    if k is None or not hasattr(k, "ctc_loss_forward"):
        pytest.skip("compiled kernels not built")
    rng = np.random.default_rng(10)
    t_len, n, c = 40, 7, 9
    x = _log_probs(rng, (t_len, n, c), dt)
    il = np.array([40, 33, 1, 0, 0, 20, 5], np.int64)
    tl = np.array([12, 7, 1, 0, 2, 0, 4], np.int64)
    tg = fastnn.tensor(rng.integers(0, c, (n, 12)))
    ext, _ = loss_ctc._check(fastnn.tensor(x), tg, il, tl, 3)
    alpha = np.empty((t_len, n, ext.shape[1]), dt)
    nll = np.empty(n, dt)
    k.ctc_loss_forward(x, ext, il, tl, alpha, nll)
    ref_alpha, ref_nll = loss_ctc.ctc_alpha_numpy(x, ext, il, tl)
    tol = _tol(dt)
    np.testing.assert_allclose(nll, ref_nll, **tol)
    assert np.isinf(nll[4]) and nll[3] == 0
    scale = rng.standard_normal(n).astype(dt)
    out = np.empty_like(x)
    k.ctc_loss_backward(x, ext, il, tl, nll, alpha, scale, zero_infinity, out)
    ref = loss_ctc.ctc_grad_numpy(x, ext, il, tl, ref_nll, ref_alpha, scale, zero_infinity)
    np.testing.assert_allclose(out, ref, equal_nan=True, **tol)


def test_kernel_rejects_bad_arrays():
    k = loss_ctc.core()
    if k is None or not hasattr(k, "ctc_loss_forward"):
        pytest.skip("compiled kernels not built")
    x = np.zeros((4, 2, 3))
    ext = np.zeros((2, 3), np.int64)
    il, tl = np.array([4, 4]), np.array([1, 1])
    alpha, nll = np.empty((4, 2, 3)), np.empty(2)
    with pytest.raises(ValueError, match="C-contiguous"):
        k.ctc_loss_forward(np.asfortranarray(x), ext, il, tl, alpha, nll)
    with pytest.raises(ValueError, match="input length"):
        k.ctc_loss_forward(x, ext, np.array([5, 4]), tl, alpha, nll)
    with pytest.raises(ValueError, match="target length"):
        k.ctc_loss_forward(x, ext, il, np.array([2, 1]), alpha, nll)
    with pytest.raises(IndexError):
        k.ctc_loss_forward(x, ext + 3, il, tl, alpha, nll)
    with pytest.raises(TypeError, match="int64"):
        k.ctc_loss_forward(x, ext.astype(np.int32), il, tl, alpha, nll)
    with pytest.raises(TypeError, match="dtype"):
        k.ctc_loss_forward(x, ext, il, tl, alpha.astype(np.float32), nll)


# ---- argument errors -------------------------------------------------------------------------
def _errs():
    lp = np.zeros((6, 2, 5))
    tg = np.array([[1, 2, 3], [1, 1, 0]])
    P = "tensor"   # (P, values): the lengths as a tensor
    return [
        # (name, log_probs, targets, input_lengths, target_lengths, kwargs, type, phrase)
        ("4-d", lp[None], tg, [6, 6], [3, 2], {}, RuntimeError,
         "Expected 3-dimensional tensor, but got 5-dimensional tensor for argument #1 "
         "'log_probs'"),
        ("1-d", lp[:, 0, 0], tg, [6], [3], {}, RuntimeError,
         "Expected 3-dimensional tensor, but got 2-dimensional"),
        ("targets 3-d", lp, tg[None], [6, 6], [3, 2], {}, RuntimeError,
         "Expected 1 to 2 dimensions, but got 3-dimensional tensor for argument #2"),
        ("blank high", lp, tg, [6, 6], [3, 2], dict(blank=5), RuntimeError,
         "blank must be in label range"),
        ("blank negative", lp, tg, [6, 6], [3, 2], dict(blank=-1), RuntimeError,
         "blank must be in label range"),
        ("input_lengths size", lp, tg, [6, 6, 6], [3, 2], {}, RuntimeError,
         "input_lengths must be of size batch_size"),
        ("target_lengths size", lp, tg, (6, 6), (3,), {}, RuntimeError,
         "target_lengths must be of size batch_size"),
        ("targets batch", lp, tg[:1], [6, 6], [3, 2], {}, RuntimeError,
         "Expected tensor to have size 2 at dimension 0, but got size 1"),
        ("target too long", lp, tg, [6, 6], [4, 2], {}, RuntimeError,
         "Expected tensor to have size at least 4 at dimension 1, but got size 3"),
        ("concat size", lp, np.array([1, 2, 3, 1]), [6, 6], [3, 2], {}, RuntimeError,
         "Expected tensor to have size 5 at dimension 0, but got size 4"),
        ("input too long", lp, tg, [7, 6], [3, 2], {}, RuntimeError,
         "Expected input_lengths to have value at most 6, but got value 7"),
        ("input negative", lp, tg, [-1, 6], [3, 2], {}, RuntimeError,
         "Expected input_lengths to have value at least 0, but got value -1"),
        ("target negative", lp, tg, [6, 6], [-1, 2], {}, RuntimeError,
         "Expected target_lengths to have value at least 0, but got value -1"),
        ("reduction", lp, tg, [6, 6], [3, 2], dict(reduction="bad"), ValueError,
         "bad is not a valid value for reduction"),
        ("empty", lp[:, :0], tg[:0], [], [], {}, RuntimeError,
         "log_probs tensor must not be empty"),
        ("integer log_probs", lp.astype(np.int64), tg, [6, 6], [3, 2], {},
         NotImplementedError, "not implemented for 'Long'"),
        ("float length tensors", lp, tg, (P, [6.0, 6.0]), (P, [3.0, 2.0]), {}, RuntimeError,
         "input_lengths must be integral"),
        ("bool length tensors", lp, tg, (P, [True, True]), (P, [True, True]), {},
         RuntimeError, "input_lengths must be integral"),
        ("mixed length kinds", lp, tg, (P, [6, 6]), [3, 2], {}, TypeError,
         "invalid combination of arguments"),
        ("int lengths", lp[:, 0], tg[0], 6, 3, {}, TypeError,
         "invalid combination of arguments"),
        ("float list lengths", lp, tg, [6.0, 6.0], [3, 2], {}, TypeError,
         "invalid combination of arguments"),
    ]


@pytest.mark.parametrize("case", _errs(), ids=lambda c: c[0])
def test_errors(case):
    name, lp, tg, il, tl, kw, exc, phrase = case

    def call(lib):
        def length(v):
            return lib.tensor(v[1]) if isinstance(v, tuple) and v and v[0] == "tensor" else v
        return lib.nn.functional.ctc_loss(lib.tensor(lp), lib.tensor(tg), length(il),
                                          length(tl), **kw)
    with pytest.raises(exc) as got:
        call(fastnn)
    assert phrase in str(got.value)
    try:
        import torch
    except ImportError:
        return
    with pytest.raises(exc) as want:
        call(torch)
    assert phrase in str(want.value)


def test_target_value_out_of_range_raises():
    """PyTorch reads out of bounds here; fastnn refuses the label."""
    with pytest.raises(IndexError, match="out of bounds"):
        F.ctc_loss(fastnn.zeros(6, 2, 5), fastnn.tensor([[1, 7], [1, 1]]), [6, 6], [2, 2])
    # labels past a target's length are padding and never read
    out = F.ctc_loss(fastnn.zeros(6, 2, 5), fastnn.tensor([[1, -1], [1, 1]]), [6, 6], [1, 2])
    assert np.isfinite(out.item())
