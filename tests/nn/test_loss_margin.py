"""Margin, embedding, triplet and likelihood losses: values, gradients, errors and reprs
against PyTorch, and gradcheck."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float64, np.float32]


def _parity(run, arrays, grads, dtype=np.float64, consts=()):
    """run(lib, *tensors) in torch and fastnn: equal values and equal gradients."""
    tol = 1e-10 if dtype == np.float64 else 2e-5
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    ts = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    fs = [fastnn.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty, fy = run(torch, *ts), run(fastnn, *fs)
    assert tuple(fy.shape) == tuple(ty.shape)
    assert str(fy.dtype).split(".")[-1] == str(ty.dtype).split(".")[-1]
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    if grads:
        g = np.random.default_rng(1).standard_normal(tuple(ty.shape)).astype(
            ty.detach().numpy().dtype)
        ty.backward(torch.tensor(g))
        fy.backward(fastnn.tensor(g))
        for i in grads:
            np.testing.assert_allclose(fs[i].grad.numpy(), ts[i].grad.numpy(), rtol=tol,
                                       atol=tol)


def _errors(run, arrays):
    """Both libraries raise the same exception type with the same first message line."""
    outs = []
    for lib in (torch, fastnn):
        ts = [lib.tensor(a) for a in arrays]
        with pytest.raises(Exception) as info, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run(lib, *ts)
        outs.append((type(info.value).__name__,
                     str(info.value).splitlines()[0].replace("torch.", "fastnn.")))
    assert outs[0] == outs[1]


def _sign(shape):
    return np.where(RNG.random(shape) < 0.5, -1.0, 1.0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", [((5,), (5,), (5,)), ((4, 3), (4, 3), (4, 3)),
                                    ((4, 3), (1, 3), (4, 1))])
def test_margin_ranking_loss(reduction, dtype, shapes):
    arrays = [RNG.standard_normal(shapes[0]), RNG.standard_normal(shapes[1]), _sign(shapes[2])]

    def run(lib, a, b, t):
        return lib.nn.functional.margin_ranking_loss(a, b, t, margin=0.3, reduction=reduction)
    _parity(run, arrays, (0, 1, 2), dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_hinge_soft_margin(reduction, dtype):
    x, t = RNG.standard_normal((4, 5)), _sign((4, 5))
    t[0, 0] = 0.5  # neither 1 nor -1

    def hinge(lib, a, b):
        return lib.nn.functional.hinge_embedding_loss(a, b, margin=0.7, reduction=reduction)

    def soft(lib, a, b):
        return lib.nn.functional.soft_margin_loss(a, b, reduction=reduction)
    _parity(hinge, [x, t], (0,), dtype)
    _parity(soft, [x, t], (0,), dtype)
    _parity(soft, [x, t[0]], (0,), dtype)          # a broadcast target
    _parity(soft, [x.astype(dtype), t.astype(np.float64)], (0,), dtype)  # input's dtype kept


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batched", [True, False])
def test_cosine_embedding_loss(reduction, dtype, batched):
    shape = (6, 4) if batched else (4,)
    a, b = RNG.standard_normal(shape), RNG.standard_normal(shape)
    t = _sign(shape[:-1]) if batched else np.array(-1.0)

    def run(lib, x1, x2, y):
        return lib.nn.functional.cosine_embedding_loss(x1, x2, y, margin=-0.2,
                                                       reduction=reduction)
    _parity(run, [a, b, t], (0, 1), dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_soft_margin_loss(reduction, dtype, weighted):
    x, t, w = RNG.standard_normal((4, 5)), (RNG.random((4, 5)) < 0.5) * 1.0, RNG.random(5)

    def run(lib, a, b, c):
        return lib.nn.functional.multilabel_soft_margin_loss(
            a, b, weight=c if weighted else None, reduction=reduction)
    _parity(run, [x, t, w], (0, 1), dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin_loss(reduction, dtype, p, weighted):
    x, t, w = RNG.standard_normal((6, 5)), RNG.integers(0, 5, 6), RNG.random(5) + 0.5

    def run(lib, a, b, c):
        return lib.nn.functional.multi_margin_loss(a, b, p=p, margin=0.8,
                                                   weight=c if weighted else None,
                                                   reduction=reduction)
    _parity(run, [x, t, w], (0,), dtype)
    _parity(run, [x[0], t[:1], w], (0,), dtype)       # unbatched, 1-D target
    _parity(run, [x[0], t[0], w], (0,), dtype)        # unbatched, 0-D target


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_margin_loss(reduction, dtype):
    x = RNG.standard_normal((3, 5))
    t = np.array([[3, 0, -1, 1, 2], [1, 2, 3, 4, 0], [-1, 1, 2, 3, 4]])

    def run(lib, a, b):
        return lib.nn.functional.multilabel_margin_loss(a, b, reduction=reduction)
    _parity(run, [x, t], (0,), dtype)
    _parity(run, [x[0], t[0]], (0,), dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p,swap", [(2, False), (1, True), (3, True)])
def test_triplet_margin_loss(reduction, dtype, p, swap):
    a, b, c = (RNG.standard_normal((5, 4)) for _ in range(3))

    def run(lib, x, y, z):
        return lib.nn.functional.triplet_margin_loss(x, y, z, margin=1.5, p=p, swap=swap,
                                                     reduction=reduction)
    _parity(run, [a, b, c], (0, 1, 2), dtype)

    def run2(lib, x, y, z):
        def dist(u, v):
            return 1 - lib.nn.functional.cosine_similarity(u, v)
        return lib.nn.functional.triplet_margin_with_distance_loss(
            x, y, z, distance_function=dist, margin=0.5, swap=swap, reduction=reduction)
    _parity(run2, [a, b, c], (0, 1, 2), dtype)

    def run3(lib, x, y, z):
        return lib.nn.TripletMarginWithDistanceLoss(swap=swap, reduction=reduction)(x, y, z)
    _parity(run3, [a, b, c], (0, 1, 2), dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_input,full", [(True, False), (False, True), (True, True)])
def test_poisson_nll_loss(reduction, dtype, log_input, full):
    x = RNG.standard_normal((4, 5)) if log_input else RNG.random((4, 5)) + 0.1
    t = RNG.integers(0, 6, (4, 5)).astype(np.float64)
    t[0, 0] = 1.0

    def run(lib, a, b):
        return lib.nn.functional.poisson_nll_loss(a, b, log_input=log_input, full=full,
                                                  reduction=reduction)
    _parity(run, [x, t], (0,), dtype)
    _parity(run, [x, t + 0.5], (0, 1), dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("var_shape", [(4, 3, 2), (4, 3), (4, 3, 1), (4, 1, 2)])
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss(reduction, dtype, var_shape, full):
    x, t = RNG.standard_normal((4, 3, 2)), RNG.standard_normal((4, 3, 2))
    v = RNG.random(var_shape) + 0.05
    v.reshape(-1)[0] = 1e-9  # clamped at eps, the gradient still reaches it

    def run(lib, a, b, c):
        return lib.nn.functional.gaussian_nll_loss(a, b, c, full=full, reduction=reduction)
    _parity(run, [x, t, v], (0, 1, 2), dtype)

    def run_float(lib, a, b):
        return lib.nn.GaussianNLLLoss(reduction=reduction)(a, b, 0.7)
    _parity(run_float, [x, t], (0, 1), dtype)


def test_gradcheck():
    d = fastnn.float64
    x = fastnn.tensor(RNG.standard_normal((3, 4)), dtype=d, requires_grad=True)
    y = fastnn.tensor(RNG.standard_normal((3, 4)), dtype=d, requires_grad=True)
    z = fastnn.tensor(RNG.standard_normal((3, 4)), dtype=d, requires_grad=True)
    s = fastnn.tensor(_sign((3, 4)))
    v = fastnn.tensor(RNG.random((3, 4)) + 0.5, requires_grad=True)
    t = fastnn.tensor(np.array([0, 3, 1]))
    tl = fastnn.tensor(np.array([[1, 2, -1, 0], [3, -1, 0, 0], [0, 1, 2, 3]]))
    assert gradcheck(lambda a, b: F.margin_ranking_loss(a, b, s, margin=0.1), (x, y))
    assert gradcheck(lambda a: F.hinge_embedding_loss(a, s, reduction="sum"), (x,))
    assert gradcheck(lambda a: F.soft_margin_loss(a, s), (x,))
    assert gradcheck(lambda a, b: F.cosine_embedding_loss(a, b, s[:, 0]), (x, y))
    assert gradcheck(lambda a, b: F.multilabel_soft_margin_loss(a, b.sigmoid()), (x, y))
    assert gradcheck(lambda a: F.multi_margin_loss(a, t, p=2), (x,))
    assert gradcheck(lambda a: F.multilabel_margin_loss(a, tl), (x,))
    assert gradcheck(lambda a, b, c: F.triplet_margin_loss(a, b, c, swap=True), (x, y, z))
    assert gradcheck(lambda a, b: F.poisson_nll_loss(a, b.abs(), full=True), (x, y))
    assert gradcheck(lambda a, b, c: F.gaussian_nll_loss(a, b, c), (x, y, v))


@pytest.mark.parametrize("case", range(23))
def test_errors_match_torch(case):
    x, x3 = RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4, 3))
    lt = np.array([1, 2])
    cases = [
        (lambda lib, a, b, c: lib.nn.functional.margin_ranking_loss(a, b, c), [x, x, lt * 1.]),
        (lambda lib, a, b, c: lib.nn.functional.margin_ranking_loss(a[0], b[0], c),
         [x, x, np.ones(3)]),
        (lambda lib, a, b: lib.nn.functional.hinge_embedding_loss(a[0], b), [x, np.ones(3)]),
        (lambda lib, a, b: lib.nn.functional.soft_margin_loss(a, b), [x[:, :1], np.ones(3)]),
        (lambda lib, a, b: lib.nn.functional.soft_margin_loss(a, b, reduction="x"), [x, x]),
        (lambda lib, a, b: lib.nn.functional.soft_margin_loss(a, b.requires_grad_()), [x, x]),
        (lambda lib, a, b, c: lib.nn.functional.cosine_embedding_loss(a, b, c),
         [x, x, np.ones((2, 1))]),
        (lambda lib, a, b, c: lib.nn.functional.cosine_embedding_loss(a, b, c),
         [x, x, np.array(1.0)]),
        (lambda lib, a, b, c: lib.nn.functional.cosine_embedding_loss(a[0], b[0], c),
         [x, x, np.ones(2)]),
        (lambda lib, a, b: lib.nn.functional.multilabel_soft_margin_loss(a, b, reduction="x"),
         [x, x]),
        (lambda lib, a, b: lib.nn.functional.multi_margin_loss(a, b, p=3), [x, lt]),
        (lambda lib, a, b: lib.nn.functional.multi_margin_loss(a, b), [x, lt.astype(np.int32)]),
        (lambda lib, a, b: lib.nn.functional.multi_margin_loss(a, b), [x, np.array([1, 4])]),
        (lambda lib, a, b: lib.nn.functional.multi_margin_loss(a, b), [x, np.array([1, 2, 3])]),
        (lambda lib, a, b: lib.nn.functional.multi_margin_loss(a, b), [x3, lt]),
        (lambda lib, a, b, w: lib.nn.functional.multi_margin_loss(a, b, weight=w),
         [x, lt, np.ones(3)]),
        (lambda lib, a, b: lib.nn.functional.multilabel_margin_loss(a, b),
         [x, np.array([[1, 4, 0, 0], [0, 0, 0, 0]])]),
        (lambda lib, a, b: lib.nn.functional.multilabel_margin_loss(a, b), [x, lt]),
        (lambda lib, a, b, c: lib.nn.functional.triplet_margin_loss(a, b, c[0]), [x, x, x]),
        (lambda lib, a, b, c: lib.nn.functional.triplet_margin_loss(a, b, c, margin=0),
         [x, x, x]),
        (lambda lib, a, b, c: lib.nn.functional.gaussian_nll_loss(a, b, c), [x, x, -x * x]),
        (lambda lib, a, b, c: lib.nn.functional.gaussian_nll_loss(a, b, c),
         [x3, x3, np.ones((1, 4, 1))]),
        (lambda lib, a, b, c: lib.nn.functional.gaussian_nll_loss(a, b, c, reduction="x"),
         [x, x, x * x]),
    ]
    _errors(*cases[case])


def test_module_errors_and_reprs():
    for lib in (torch, fastnn):
        with pytest.raises(ValueError, match="TripletMarginLoss: expected margin"):
            lib.nn.TripletMarginLoss(margin=0)
        with pytest.raises(ValueError, match="TripletMarginWithDistanceLoss: expected margin"):
            lib.nn.TripletMarginWithDistanceLoss(margin=-1)
        with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
            lib.nn.MultiMarginLoss(p=3)
        with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D"):
            lib.nn.MultiMarginLoss(weight=lib.ones(2, 2))
    for name in ["MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss",
                 "CosineEmbeddingLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
                 "MultiLabelMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss",
                 "PoissonNLLLoss", "GaussianNLLLoss"]:
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        m = nn.MarginRankingLoss(size_average=False)
    assert m.reduction == "sum"
    assert nn.MultiLabelSoftMarginLoss(weight=fastnn.ones(3)).weight is not None


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_module_forms(reduction):
    x, y = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
    s, t = _sign((4, 5)), RNG.integers(0, 5, 4)
    pairs = [
        (lambda lib: lib.nn.MarginRankingLoss(0.2, reduction=reduction), [x, y, s]),
        (lambda lib: lib.nn.HingeEmbeddingLoss(0.5, reduction=reduction), [x, s]),
        (lambda lib: lib.nn.SoftMarginLoss(reduction=reduction), [x, s]),
        (lambda lib: lib.nn.CosineEmbeddingLoss(0.1, reduction=reduction), [x, y, s[:, 0]]),
        (lambda lib: lib.nn.MultiLabelSoftMarginLoss(reduction=reduction), [x, (s > 0) * 1.0]),
        (lambda lib: lib.nn.MultiMarginLoss(p=2, margin=0.5, reduction=reduction), [x, t]),
        (lambda lib: lib.nn.MultiLabelMarginLoss(reduction=reduction),
         [x, np.tile(np.array([2, 0, -1, 1, 1]), (4, 1))]),
        (lambda lib: lib.nn.TripletMarginLoss(p=1, reduction=reduction), [x, y, s]),
        (lambda lib: lib.nn.PoissonNLLLoss(full=True, reduction=reduction), [x, np.abs(y) * 3]),
        (lambda lib: lib.nn.GaussianNLLLoss(full=True, reduction=reduction), [x, y, x * x]),
    ]
    for make, arrays in pairs:
        _parity(lambda lib, *ts: make(lib)(*ts), arrays, (0,))
