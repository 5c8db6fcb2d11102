"""Losses, round 4: hinge kinks of the multi-class margin losses, soft-target cross-entropy
(tracked weight, dtype promotion), negative label smoothing, nll under create_graph,
untracked weights, and linear_cross_entropy / LinearCrossEntropyLoss."""
import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F


def _grad_of(lib, fn, *arrays):
    leaves = [lib.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(lib, *leaves)
    out.sum().backward()
    return out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]


# ---- 1. a hinge term exactly at zero passes no gradient ------------------------------------
KINKS = {
    "multi_margin_p1": (lambda T, x: T.nn.functional.multi_margin_loss(x, T.tensor([0])),
                        [[[1., 0., 0., 2.]]]),
    "multi_margin_weight": (lambda T, x: T.nn.functional.multi_margin_loss(
        x, T.tensor([0]), weight=T.tensor([1., 2., 3., 4.], dtype=T.float64)),
        [[[1., 0., 0., 2.]]]),
    "multi_margin_margin": (lambda T, x: T.nn.functional.multi_margin_loss(
        x, T.tensor([0]), margin=0.5), [[[1., 0.5, 0., 2.]]]),
    "multi_margin_p2": (lambda T, x: T.nn.functional.multi_margin_loss(
        x, T.tensor([0]), p=2), [[[1., 0., 0., 2.]]]),
    "multilabel_margin": (lambda T, x: T.nn.functional.multilabel_margin_loss(
        x, T.tensor([[0, 3, -1, 0]])), [[[1., 0., 0., 2.]]]),
    "hinge_embedding": (lambda T, x: T.nn.functional.hinge_embedding_loss(
        x, T.tensor([-1., -1., -1., 1.], dtype=T.float64), reduction="none"),
        [[1., 0., 2., 1.]]),
    "margin_ranking": (lambda T, a, b: T.nn.functional.margin_ranking_loss(
        a, b, T.tensor([1., -1., 1.], dtype=T.float64), margin=1.0, reduction="none"),
        [[1., 0., 2.], [0., 0., 1.]]),
    "triplet": (lambda T, a, p, n: T.nn.functional.triplet_margin_loss(a, p, n),
                [[[0., 0.]], [[1., 0.]], [[2., 0.]]]),
}


def test_multi_margin_zero_term_has_no_gradient():
    _, (g,) = _grad_of(fastnn, KINKS["multi_margin_p1"][0], [[1., 0., 0., 2.]])
    np.testing.assert_allclose(g, [[-0.25, 0., 0., 0.25]])
    value, (g,) = _grad_of(fastnn, KINKS["multilabel_margin"][0], [[1., 0., 0., 2.]])
    assert value == 0
    np.testing.assert_array_equal(g, np.zeros((1, 4)))


@pytest.mark.parametrize("name", sorted(KINKS))
def test_hinge_kinks_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, arrays = KINKS[name]
    want, want_g = _grad_of(torch, fn, *arrays)
    got, got_g = _grad_of(fastnn, fn, *arrays)
    np.testing.assert_allclose(got, want)
    for a, b in zip(got_g, want_g):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_create_graph(p):
    data = np.array([[1., 0., 0.3, 2.], [0.2, 1.5, -1., 0.4]])
    target = [0, 1]

    def first(lib, values, create_graph):
        x = lib.tensor(values, requires_grad=True)
        loss = lib.nn.functional.multi_margin_loss(x, lib.tensor(target), p=p)
        (g,) = lib.autograd.grad(loss, x, create_graph=create_graph)
        return x, g
    x, g = first(fastnn, data, True)
    np.testing.assert_allclose(g.detach().numpy(), first(fastnn, data, False)[1].numpy())
    if p == 2:  # the second derivative agrees with finite differences of the first
        (gg,) = fastnn.autograd.grad(g.sum(), x)
        eps = 1e-6
        numeric = np.zeros_like(data)
        for i in np.ndindex(data.shape):
            step = np.zeros_like(data)
            step[i] = eps
            numeric[i] = (first(fastnn, data + step, False)[1].numpy().sum()
                          - first(fastnn, data - step, False)[1].numpy().sum()) / (2 * eps)
        np.testing.assert_allclose(gg.numpy(), numeric, atol=1e-6)
    torch = pytest.importorskip("torch")  # torch has the first derivative only
    np.testing.assert_allclose(g.detach().numpy(), first(torch, data, True)[1].detach().numpy())


# ---- 2. soft-target cross-entropy: tracked weight, promotion ---------------------------------
def _soft_case(lib, xdt, tdt, shape, reduction, smoothing, weight_grad):
    rs = np.random.RandomState(0)
    x = lib.tensor(rs.randn(*shape), dtype=getattr(lib, xdt), requires_grad=True)
    t = lib.tensor(rs.rand(*shape), dtype=getattr(lib, tdt), requires_grad=True)
    n_classes = shape[1] if len(shape) > 1 else shape[0]
    w = lib.tensor(rs.rand(n_classes), dtype=getattr(lib, xdt), requires_grad=weight_grad)
    loss = lib.nn.functional.cross_entropy(x, t, weight=w, reduction=reduction,
                                           label_smoothing=smoothing)
    loss.sum().backward()
    return loss, x, t, w


def test_soft_target_weight_gets_gradient_and_dtype_promotes():
    loss, x, t, w = _soft_case(fastnn, "float32", "float64", (3, 4), "mean", 0.0, True)
    assert loss.requires_grad and loss.dtype == fastnn.float64
    assert w.grad is not None and w.grad.shape == (4,)
    assert x.grad.dtype == fastnn.float32 and t.grad.dtype == fastnn.float64


@pytest.mark.parametrize("shape", [(3, 4), (4,), (2, 3, 5)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float64"),
                                    ("float64", "float32")])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weight_grad", [True, False])
def test_soft_target_matches_torch(shape, reduction, dtypes, smoothing, weight_grad):
    torch = pytest.importorskip("torch")
    got = _soft_case(fastnn, *dtypes, shape, reduction, smoothing, weight_grad)
    want = _soft_case(torch, *dtypes, shape, reduction, smoothing, weight_grad)
    assert str(got[0].dtype).split(".")[-1] == str(want[0].dtype).split(".")[-1]
    np.testing.assert_allclose(got[0].detach().numpy(), want[0].detach().numpy(), rtol=1e-5)
    for a, b in zip(got[1:], want[1:]):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-7)


# ---- 4. negative label smoothing is accepted and smooths nothing ---------------------------
@pytest.mark.parametrize("smoothing", [-0.1, -1.0])
def test_negative_label_smoothing(smoothing):
    rs = np.random.RandomState(1)
    x = fastnn.tensor(rs.randn(3, 4))
    y = fastnn.tensor([0, 1, 3])
    q = fastnn.tensor(rs.rand(3, 4))
    for target in (y, q):
        np.testing.assert_allclose(F.cross_entropy(x, target, label_smoothing=smoothing).item(),
                                   F.cross_entropy(x, target).item())
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, y, label_smoothing=1.1)


# ---- 5. nll's gradient under create_graph stays linked to a leaf input ---------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_create_graph_gradient_requires_grad(reduction):
    x = fastnn.tensor(np.random.RandomState(0).randn(3, 4), requires_grad=True)
    loss = F.nll_loss(x, fastnn.tensor([0, 1, 3]), reduction=reduction).sum()
    (g,) = fastnn.autograd.grad(loss, x, create_graph=True)
    assert g.requires_grad
    (gg,) = fastnn.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), np.zeros((3, 4)))


# ---- 6. weights without a derivative refuse requires_grad ----------------------------------
UNTRACKED = {
    "nll_loss_forward": lambda w, x: F.nll_loss(x, fastnn.tensor([0, 1, 3]), weight=w),
    "nll_loss_forward ": lambda w, x: F.cross_entropy(x, fastnn.tensor([0, 1, 3]), weight=w),
    "binary_cross_entropy": lambda w, x: F.binary_cross_entropy(
        x.sigmoid(), fastnn.zeros(3, 4, dtype=fastnn.float64), weight=w),
    "binary_cross_entropy_with_logits": lambda w, x: F.binary_cross_entropy_with_logits(
        x, fastnn.zeros(3, 4, dtype=fastnn.float64), weight=w),
    "binary_cross_entropy_with_logits ": lambda w, x: F.binary_cross_entropy_with_logits(
        x, fastnn.zeros(3, 4, dtype=fastnn.float64), pos_weight=w),
    "multi_margin_loss": lambda w, x: F.multi_margin_loss(x, fastnn.tensor([0, 1, 3]),
                                                          weight=w),
}


@pytest.mark.parametrize("function", sorted(UNTRACKED))
def test_weight_requiring_grad_is_refused(function):
    w = fastnn.ones(4, dtype=fastnn.float64, requires_grad=True)
    x = fastnn.tensor(np.random.RandomState(0).randn(3, 4), requires_grad=True)
    argument = "pos_weight" if function.endswith(" ") and "logits" in function else "weight"
    message = (f"The function '{function.strip()}' is not differentiable with respect to "
               f"argument '{argument}'. This input cannot have requires_grad True.")
    with pytest.raises(RuntimeError) as info:
        UNTRACKED[function](w, x)
    assert str(info.value) == message
    with fastnn.no_grad():  # no graph, nothing to refuse
        UNTRACKED[function](w, x)


# ---- 3. linear_cross_entropy and LinearCrossEntropyLoss ------------------------------------
LCE_CASES = [
    # (input shape, weight shape, target kind, keyword arguments)
    ((5, 3), (4, 3), "index", {}),
    ((5, 3), (4, 3), "index", {"bias": True, "reduction": "sum", "label_smoothing": 0.1}),
    ((5, 3), (4, 3), "index", {"class_weight": True, "ignore_index": 2, "reduction": "none"}),
    ((3,), (4, 3), "index", {"bias": True}),
    ((5, 3), (4, 3), "prob", {"bias": True, "class_weight": True}),
    ((2, 3), (4, 2, 5, 3), "index", {"bias": True}),
    ((2, 3), (4, 2, 5, 3), "prob", {"reduction": "none"}),
]


def _lce(lib, in_shape, w_shape, kind, kwargs):
    rs = np.random.RandomState(3)
    kwargs = dict(kwargs)
    x = lib.tensor(rs.randn(*in_shape), requires_grad=True)
    w = lib.tensor(rs.randn(*w_shape), requires_grad=True)
    b = lib.tensor(rs.randn(*w_shape[:-1]), requires_grad=True) if kwargs.pop("bias", 0) \
        else None
    if kwargs.pop("class_weight", False):
        kwargs["weight"] = lib.tensor(rs.rand(w_shape[0]))
    logits_shape = tuple(in_shape[:-1]) + tuple(w_shape[:-1])
    if kind == "index":
        target = lib.tensor(rs.randint(0, w_shape[0], (in_shape[:-1]) + w_shape[1:-1]))
    else:
        target = lib.tensor(rs.rand(*logits_shape))
    loss = lib.nn.functional.linear_cross_entropy(x, w, target, linear_bias=b, **kwargs)
    loss.sum().backward()
    return [loss.detach()] + [t.grad for t in (x, w, b) if t is not None]


@pytest.mark.parametrize("case", range(len(LCE_CASES)))
def test_linear_cross_entropy_is_the_composition(case):
    in_shape, w_shape, kind, kwargs = LCE_CASES[case]
    got = _lce(fastnn, in_shape, w_shape, kind, kwargs)
    unreduced = tuple(in_shape[:-1]) + tuple(w_shape[1:-1])
    assert tuple(got[0].shape) == (unreduced if kwargs.get("reduction") == "none" else ())
    # the same draws as _lce, through linear and cross_entropy by hand
    rs = np.random.RandomState(3)
    x, w = fastnn.tensor(rs.randn(*in_shape)), fastnn.tensor(rs.randn(*w_shape))
    b = fastnn.tensor(rs.randn(*w_shape[:-1])) if kwargs.get("bias") else None
    options = {k: v for k, v in kwargs.items() if k not in ("bias", "class_weight")}
    if kwargs.get("class_weight"):
        options["weight"] = fastnn.tensor(rs.rand(w_shape[0]))
    logits_shape = tuple(in_shape[:-1]) + tuple(w_shape[:-1])
    target = fastnn.tensor(rs.randint(0, w_shape[0], unreduced) if kind == "index"
                           else rs.rand(*logits_shape))
    flat = int(np.prod(w_shape[:-1]))
    logits = F.linear(x, w.reshape(flat, w_shape[-1]), None if b is None else b.reshape(flat))
    options.setdefault("ignore_index", -100)
    want = F.cross_entropy(logits.reshape(logits_shape), target, **options)
    np.testing.assert_allclose(got[0].numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("case", range(len(LCE_CASES)))
def test_linear_cross_entropy_matches_torch(case):
    torch = pytest.importorskip("torch")
    got = _lce(fastnn, *LCE_CASES[case])
    want = _lce(torch, *LCE_CASES[case])
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_cross_entropy_errors():
    x = fastnn.randn(2, 3)
    with pytest.raises(RuntimeError, match="expected input with dimensionality 1 or 2, got 3"):
        F.linear_cross_entropy(fastnn.randn(1, 2, 3), fastnn.randn(4, 3), fastnn.tensor([0]))
    with pytest.raises(RuntimeError, match="expected equal input and linear_weight last"):
        F.linear_cross_entropy(x, fastnn.randn(4, 2), fastnn.tensor([0, 1]))
    with pytest.raises(RuntimeError, match=r"expected linear_bias shape \(4,\), got \(3,\)"):
        F.linear_cross_entropy(x, fastnn.randn(4, 3), fastnn.tensor([0, 1]),
                               linear_bias=fastnn.randn(3))
    with pytest.raises(RuntimeError, match="ignore_index cannot be specified"):
        F.linear_cross_entropy(x, fastnn.randn(4, 3), fastnn.rand(2, 4), ignore_index=1)
    with pytest.raises(RuntimeError, match="requires batched input"):
        F.linear_cross_entropy(fastnn.randn(3), fastnn.randn(4, 2, 3), fastnn.tensor([0, 1]))


def test_linear_cross_entropy_module():
    fastnn.manual_seed(0)
    m = fastnn.nn.LinearCrossEntropyLoss(3, 4, out_features=(2,), bias=True,
                                         options=fastnn.nn.LinearCrossEntropyOptions())
    assert list(m.state_dict()) == ["linear.weight", "linear.bias"]
    assert tuple(m.linear.weight.shape) == (8, 3) and tuple(m.linear.bias.shape) == (8,)
    bound = 1 / np.sqrt(3)  # Linear's initialisation
    assert np.abs(m.linear.weight.detach().numpy()).max() <= bound
    x = fastnn.randn(5, 3, requires_grad=True)
    y = fastnn.randint(0, 4, (5, 2))
    loss = m(x, y)
    want = F.cross_entropy(m.linear(x).reshape(5, 4, 2), y)
    np.testing.assert_allclose(loss.item(), want.item())
    loss.backward()
    assert m.linear.weight.grad is not None and x.grad is not None
    assert "in_features=3, num_classes=4, out_features=(2,), bias=True" in repr(m)
    with pytest.raises(RuntimeError, match=r"expected label_smoothing to be in range"):
        fastnn.nn.LinearCrossEntropyLoss(3, 4, label_smoothing=-0.1)
    with pytest.raises(RuntimeError, match=r"expected weight shape to be \(4,\), got \(3,\)"):
        fastnn.nn.LinearCrossEntropyLoss(3, 4, weight=fastnn.ones(3))
    with pytest.raises(ValueError, match="invalid acc_policy"):
        fastnn.nn.LinearCrossEntropyOptions(acc_policy="fast")


def test_linear_cross_entropy_module_matches_torch():
    torch = pytest.importorskip("torch")
    state = {"linear.weight": np.random.RandomState(0).randn(8, 3),
             "linear.bias": np.random.RandomState(1).randn(8)}
    x = np.random.RandomState(2).randn(5, 3)
    y = np.random.RandomState(3).randint(0, 4, (5, 2))
    results = []
    for lib in (fastnn, torch):
        m = lib.nn.LinearCrossEntropyLoss(3, 4, out_features=(2,), bias=True,
                                          dtype=lib.float64, label_smoothing=0.1)
        m.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        loss = m(lib.tensor(x), lib.tensor(y))
        loss.backward()
        results.append((loss.item(), m.linear.weight.grad.numpy(), m.linear.bias.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10)
