"""Losses (functional and module forms): PyTorch parity for every option, gradcheck, errors."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 5))
T = np.array([0, 1, 4, 2, -100, 3])
W = RNG.random(5) + 0.5
Q = RNG.random((6, 5))
Q /= Q.sum(1, keepdims=True)
Y = RNG.standard_normal((6, 5))
P = 1 / (1 + np.exp(-X))
TT = RNG.random((6, 5))


def _parity(tfn, ffn, arrays, grads=(0,), tol=1e-12):
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    fs = [fastnn.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty, fy = tfn(torch, *ts), ffn(fastnn, *fs)
    assert tuple(fy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    for i in grads:
        np.testing.assert_allclose(fs[i].grad.numpy(), ts[i].grad.numpy(), rtol=tol, atol=tol)
    return fy, ty


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_class_targets(reduction, smoothing, weighted, dtype):
    def run(lib, x, w):
        return lib.nn.functional.cross_entropy(x, lib.tensor(T), weight=w if weighted else None,
                                               reduction=reduction, label_smoothing=smoothing)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    fy, ty = _parity(run, run, [X.astype(dtype), W.astype(dtype)], tol=tol)
    assert fy.grad_fn.name() == type(ty.grad_fn).__name__  # one fused node, PyTorch's name


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial_targets(reduction):
    x = RNG.standard_normal((2, 5, 3, 4))
    t = RNG.integers(0, 5, (2, 3, 4))
    t[0, 0, 0] = -100

    def run(lib, a):
        return lib.nn.functional.cross_entropy(a, lib.tensor(t), reduction=reduction,
                                               label_smoothing=0.1)
    _parity(run, run, [x])


def test_cross_entropy_unbatched_and_custom_ignore_index():
    def run(lib, a):
        return lib.nn.functional.cross_entropy(a, lib.tensor(2))
    _parity(run, run, [X[0]])

    def run2(lib, a):
        return lib.nn.functional.cross_entropy(a, lib.tensor([1, 3, 3, 0, 2, 4]), ignore_index=3)
    _parity(run2, run2, [X])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the mean's 0/0, as in PyTorch
@pytest.mark.parametrize("options", [{}, {"weight": W}, {"label_smoothing": 0.1},
                                     {"ignore_index": 1}, {"nll": True}])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_target_ignored_gives_nan_loss_and_zero_grad(options, dtype):
    # an all-padding batch: the mean divides by zero, but no row may pass a gradient (a NaN
    # gradient would poison every parameter at the next optimizer step), as in PyTorch
    options = dict(options)
    x = fastnn.tensor(X.astype(dtype), requires_grad=True)
    ignore = options.get("ignore_index", -100)
    t = fastnn.full((6,), ignore, dtype=fastnn.int64)
    if "weight" in options:
        options["weight"] = fastnn.tensor(options["weight"].astype(dtype))
    fn = F.nll_loss if options.pop("nll", False) else F.cross_entropy
    loss = fn(x, t, **options)
    assert np.isnan(loss.item())
    loss.backward()
    assert x.grad.dtype == x.dtype
    np.testing.assert_array_equal(x.grad.numpy(), 0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_probability_targets(reduction, smoothing):
    def run(lib, x, q, w):
        return lib.nn.functional.cross_entropy(x, q, weight=w, reduction=reduction,
                                               label_smoothing=smoothing)
    _parity(run, run, [X, Q, W], grads=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    x4 = RNG.standard_normal((2, 5, 3))
    t4 = RNG.integers(0, 5, (2, 3))

    def run(lib, a, w):
        return lib.nn.functional.nll_loss(a, lib.tensor(t4), weight=w, reduction=reduction)
    _parity(run, run, [x4, W])

    def run2(lib, a):
        return lib.nn.functional.nll_loss(lib.log_softmax(a, 1), lib.tensor(T),
                                          reduction=reduction)
    _parity(run2, run2, [X])


ELEMENTWISE = [
    ("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.7}),
    ("smooth_l1_loss", {"beta": 0.0}), ("huber_loss", {"delta": 0.7}),
]


@pytest.mark.parametrize("name,kw", ELEMENTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses(name, kw, reduction):
    def run(lib, a, b):
        return getattr(lib.nn.functional, name)(a, b, reduction=reduction, **kw)
    _parity(run, run, [X, Y], grads=(0, 1))


def test_mse_loss_broadcast_warns_and_matches():
    with pytest.warns(UserWarning, match=r"Using a target size \(fastnn.Size\(\[6, 1\]\)\) that "
                      r"is different to the input size \(fastnn.Size\(\[6, 5\]\)\)"):
        F.mse_loss(fastnn.tensor(X), fastnn.tensor(Y[:, :1]))

    def run(lib, a, b):
        return lib.nn.functional.mse_loss(a, b)
    _parity(run, run, [X, Y[:, :1]], grads=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    def run(lib, p, t, w):
        return lib.nn.functional.binary_cross_entropy(p, t, weight=w if weighted else None,
                                                      reduction=reduction)
    _parity(run, run, [P, TT, TT[::-1].copy()], grads=(0, 1))


def test_binary_cross_entropy_clamps_log_at_minus_100():
    torch = pytest.importorskip("torch")
    p, t = np.array([0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.5])
    f = F.binary_cross_entropy(fastnn.tensor(p), fastnn.tensor(t), reduction="none")
    tr = torch.nn.functional.binary_cross_entropy(torch.tensor(p), torch.tensor(t),
                                                  reduction="none")
    np.testing.assert_allclose(f.numpy(), tr.numpy())
    assert f.numpy()[0] == 100


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", [(False, False), (True, False), (True, True),
                                     (False, True)])
def test_binary_cross_entropy_with_logits(reduction, weights):
    def run(lib, x, t, w, pw):
        return lib.nn.functional.binary_cross_entropy_with_logits(
            x, t, weight=w if weights[0] else None, pos_weight=pw if weights[1] else None,
            reduction=reduction)
    _parity(run, run, [X * 30, TT, TT[::-1].copy(), W], grads=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    q = np.log(Q) if log_target else Q

    def run(lib, x, t):
        return lib.nn.functional.kl_div(x, t, reduction=reduction, log_target=log_target)
    _parity(run, run, [np.log(Q[::-1].copy()), q], grads=(0, 1))


# ---- gradcheck ---------------------------------------------------------------------------------
def _t(a):
    return fastnn.tensor(np.array(a, dtype=np.float64)[:3, :4].copy(), requires_grad=True)


@pytest.mark.parametrize("fn", [
    lambda x, y: F.cross_entropy(x, fastnn.tensor([0, 3, 1])),  # the fused training-loop node
    lambda x, y: F.cross_entropy(x, fastnn.tensor([0, 3, -100]), weight=fastnn.tensor(W[:4]),
                                 label_smoothing=0.2),
    lambda x, y: F.cross_entropy(x, y.softmax(1), label_smoothing=0.1, reduction="sum"),
    lambda x, y: F.nll_loss(x, fastnn.tensor([1, 2, 0]), reduction="none"),
    lambda x, y: F.mse_loss(x, y),
    lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
    lambda x, y: F.huber_loss(x, y, delta=0.5),
    lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
    lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid(),
                                                    pos_weight=fastnn.tensor(W[:4])),
    lambda x, y: F.kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean"),
])
def test_loss_gradcheck(fn):
    assert gradcheck(fn, (_t(X), _t(Y)))


# ---- modules ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kw,args", [
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, "class"),
    ("CrossEntropyLoss", {"ignore_index": 3, "reduction": "sum"}, "class"),
    ("NLLLoss", {"reduction": "none"}, "class"),
    ("MSELoss", {}, "pair"), ("L1Loss", {"reduction": "sum"}, "pair"),
    ("SmoothL1Loss", {"beta": 0.5}, "pair"), ("HuberLoss", {"delta": 2.0}, "pair"),
    ("BCELoss", {}, "prob"), ("BCEWithLogitsLoss", {}, "prob"),
    ("KLDivLoss", {"reduction": "batchmean"}, "pair"),
])
def test_loss_modules_match_torch(name, kw, args):
    torch = pytest.importorskip("torch")
    fm, tm = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(fm) == repr(tm)
    assert getattr(fm, "__constants__", None) == getattr(tm, "__constants__", None)
    a = P if args == "prob" else X
    b = {"class": np.array([1, 3, 3, 0, 2, 4]), "pair": Y, "prob": TT}[args]
    fy, ty = fm(fastnn.tensor(a), fastnn.tensor(b)), tm(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(fy.numpy(), ty.numpy(), rtol=1e-12)


def test_weighted_loss_modules_hold_weight_buffers():
    torch = pytest.importorskip("torch")
    w = fastnn.tensor(W)
    m = nn.CrossEntropyLoss(weight=w)
    assert m.weight is w and "weight" in dict(m.named_buffers())
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor(W))(torch.tensor(X),
                                                            torch.tensor([1, 3, 3, 0, 2, 4]))
    np.testing.assert_allclose(m(fastnn.tensor(X), fastnn.tensor([1, 3, 3, 0, 2, 4])).item(),
                               ref.item(), rtol=1e-12)
    bm = nn.BCEWithLogitsLoss(pos_weight=fastnn.tensor(W))
    assert set(dict(bm.named_buffers())) == {"pos_weight"}


def test_legacy_size_average_and_reduce():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, "
                      "please use reduction='sum' instead."):
        m = nn.MSELoss(size_average=False)
    assert m.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"


# ---- bad input ---------------------------------------------------------------------------------
def _f(a):
    return fastnn.tensor(np.asarray(a, dtype=np.float32))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: F.cross_entropy(_f(X), fastnn.tensor([0, 1, 2, 3])), ValueError,
     r"^Expected input batch_size \(6\) to match target batch_size \(4\).$"),
    (lambda: F.cross_entropy(_f(X), fastnn.tensor([0, 1, 12, 0, 0, 0])), IndexError,
     r"^Target 12 is out of bounds.$"),
    (lambda: F.cross_entropy(_f(X), fastnn.tensor([0, 1, -5, 0, 0, 0])), IndexError,
     r"Target -5 is out of bounds."),
    (lambda: F.nll_loss(_f(X), fastnn.tensor([0, 1, 2, 3])), ValueError,
     r"Expected input batch_size \(6\) to match target batch_size \(4\)."),
    (lambda: F.nll_loss(_f(X), fastnn.tensor([0, 9, 0, 0, 0, 0])), IndexError,
     r"Target 9 is out of bounds."),
    (lambda: F.cross_entropy(_f(X), _f([0, 1, 2, 3, 4, 0])), RuntimeError,
     r"expected target dtype to be Long or Byte, but got Float"),
    (lambda: F.cross_entropy(_f(X), fastnn.tensor([0, 1, 2, 3, 4, 0], dtype=fastnn.int32)),
     RuntimeError, r"expected target dtype to be Long or Byte, but got Int"),
    (lambda: F.cross_entropy(_f(X), _f(Y[:, :4])), RuntimeError,
     r"0D or 1D target tensor expected, multi-target not supported"),
    (lambda: F.cross_entropy(_f(X), fastnn.tensor(T), reduction="avg"), ValueError,
     r"avg is not a valid value for reduction"),
    (lambda: F.cross_entropy(_f(X), fastnn.tensor(T), weight=_f(W[:4])), RuntimeError,
     r"weight tensor should be defined either for all 5 classes or no classes but got weight "
     r"tensor of shape: \[4\]"),
    (lambda: F.cross_entropy(_f(X), fastnn.tensor(T), label_smoothing=1.5), RuntimeError,
     r"label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda: F.cross_entropy(_f(np.zeros((3, 5, 4))), fastnn.tensor([0, 1, 2])), RuntimeError,
     r"Expected target size \[3, 4\], got \[3\]"),
    (lambda: F.cross_entropy(fastnn.tensor([[1, 2]]), fastnn.tensor([0])), NotImplementedError,
     r"\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda: F.cross_entropy(_f(X), [0, 1]), TypeError,
     r"cross_entropy\(\): argument 'target' must be Tensor, not list"),
    (lambda: F.mse_loss(_f(X), _f(Y[:, :4])), RuntimeError,
     r"The size of tensor a \(5\) must match the size of tensor b \(4\) at non-singleton "
     r"dimension 1"),
    (lambda: F.binary_cross_entropy(_f(P), _f(TT[:, :1])), ValueError,
     r"Using a target size \(fastnn.Size\(\[6, 1\]\)\) that is different to the input size "
     r"\(fastnn.Size\(\[6, 5\]\)\) is deprecated. Please ensure they have the same size."),
    (lambda: F.binary_cross_entropy(_f(X * 3), _f(TT)), RuntimeError,
     r"all elements of input should be between 0 and 1"),
    (lambda: F.binary_cross_entropy(_f(P), fastnn.tensor(TT)), RuntimeError,
     r"Found dtype Double but expected Float"),
    (lambda: F.binary_cross_entropy_with_logits(_f(X), _f(TT[:, :1])), ValueError,
     r"Target size \(fastnn.Size\(\[6, 1\]\)\) must be the same as input size "
     r"\(fastnn.Size\(\[6, 5\]\)\)"),
    (lambda: F.smooth_l1_loss(_f(X), _f(Y), beta=-1), RuntimeError,
     r"smooth_l1_loss does not support negative values for beta."),
])
def test_loss_bad_input(call, exc, msg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=msg):
            call()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_numpy_fallback_matches_the_compiled_kernels(monkeypatch, dtype):
    from fastnn.nn._functional import misc
    if misc.core() is None:
        pytest.skip("the compiled kernels are not built")
    x, t = X.astype(dtype), fastnn.tensor([0, 1, 4, 2, 3, 3])

    def run():
        a = fastnn.tensor(x, requires_grad=True)
        loss = F.cross_entropy(a, t, weight=fastnn.tensor(W.astype(dtype)))
        loss.backward()
        return loss.item(), a.grad.numpy()
    fast = run()
    monkeypatch.setattr(misc, "_core_mod", [None])
    slow = run()
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fast[0], slow[0], rtol=tol)
    np.testing.assert_allclose(fast[1], slow[1], rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_training_case_matches_the_numpy_path(monkeypatch, dtype):
    """The fused mean node (softmax kept, mean from the kernel) against the general path."""
    from fastnn.nn._functional import misc
    if misc.core() is None:
        pytest.skip("the compiled kernels are not built")
    x = np.random.default_rng(5).standard_normal((33, 7)).astype(dtype) * 4
    t = fastnn.tensor(np.random.default_rng(6).integers(0, 7, 33))

    def run():
        a = fastnn.tensor(x, requires_grad=True)
        loss = F.cross_entropy(a, t)
        loss.backward()
        return loss, a.grad.numpy()
    fast = run()
    assert fast[0].grad_fn.name() == "NllLossBackward0" and fast[0].dtype == fastnn.tensor(x).dtype
    monkeypatch.setattr(misc, "_core_mod", [None])
    slow = run()
    tol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(fast[0].item(), slow[0].item(), rtol=tol)
    np.testing.assert_allclose(fast[1], slow[1], rtol=tol, atol=tol)


@pytest.mark.parametrize("row", [[np.inf, 0, 0], [-np.inf] * 3, [np.nan, 0, 1], [0, np.nan, 1],
                                 [1e30, -1e30, 0], [-np.inf, 0, 1]])
@pytest.mark.parametrize("target", [0, 1])
def test_cross_entropy_non_finite_logits_match_torch(row, target):
    torch = pytest.importorskip("torch")
    x, y = np.array([row, [0.5, -1, 2]], np.float32), np.array([target, 2])
    a, ta = fastnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    loss = F.cross_entropy(a, fastnn.tensor(y))
    tloss = torch.nn.functional.cross_entropy(ta, torch.tensor(y))
    loss.backward()
    tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6, atol=1e-7,
                               equal_nan=True)


@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}),
                                     ("huber_loss", {"delta": 0.5})])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_elementwise_losses_with_weight(name, kw, reduction):
    def run(lib, a, b, w):
        return getattr(lib.nn.functional, name)(a, b, reduction=reduction, weight=w, **kw)
    _parity(run, run, [X, Y, TT], grads=(0, 1))
    with pytest.raises(ValueError, match="Weights and input must have the same size."):
        getattr(F, name)(fastnn.tensor(X), fastnn.tensor(Y), weight=fastnn.tensor(W))


def test_kl_div_broadcasts_and_bce_weight_broadcasts():
    def run(lib, x, t):
        return lib.nn.functional.kl_div(x, t, reduction="sum")
    _parity(run, run, [np.log(Q), Q[:1].copy()], grads=(0, 1))

    def run2(lib, p, t, w):
        return lib.nn.functional.binary_cross_entropy(p, t, weight=w)
    _parity(run2, run2, [P, TT, W], grads=(0, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_ignored", [False, True])
def test_cross_entropy_fast_path_equals_general_path(dtype, with_ignored):
    # the fused training-loop node must agree with the general node it short-cuts
    import fastnn
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 5)).astype(dtype)
    t = rng.integers(0, 5, 7)
    if with_ignored:
        t[2] = -100
    fast = fastnn.tensor(x, requires_grad=True)
    slow_base = fastnn.tensor(np.asfortranarray(x), requires_grad=True)   # not C-contiguous
    lf = fastnn.nn.functional.cross_entropy(fast, fastnn.tensor(t))
    ls = fastnn.nn.functional.cross_entropy(slow_base, fastnn.tensor(t))
    lf.backward()
    ls.backward()
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(lf.item(), ls.item(), rtol=tol)
    np.testing.assert_allclose(fast.grad.numpy(), slow_base.grad.numpy(), rtol=tol, atol=tol)


def test_cross_entropy_fast_path_gradcheck():
    import fastnn
    rng = np.random.default_rng(4)
    x = fastnn.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = fastnn.tensor(rng.integers(0, 3, 4))
    assert fastnn.autograd.gradcheck(lambda a: fastnn.nn.functional.cross_entropy(a, t), (x,))
