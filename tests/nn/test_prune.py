"""nn.utils.prune: masks, layout, hooks, iterative and global pruning vs PyTorch."""
import copy

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.utils.prune as FPr

torch = pytest.importorskip("torch")
import torch.nn.utils.prune as TPr  # noqa: E402


def _np(t):
    return t.detach().numpy()


def _pair(make):
    t, f = make(torch.nn), make(nn)
    for name, p in t.named_parameters():
        f.get_parameter(name)._data[...] = _np(p)
    return f, t


def _conv(m):
    return m.Conv2d(3, 6, 3)


def _same_state(f, t):
    sf, st = f.state_dict(), t.state_dict()
    assert list(sf) == list(st)
    for k in st:
        np.testing.assert_array_equal(_np(sf[k]), _np(st[k]), err_msg=k)


def _both(f, t, fn):
    fn(FPr, f)
    fn(TPr, t)


def test_l1_unstructured_layout_and_hook():
    f, t = _pair(_conv)
    orig = f.weight
    _both(f, t, lambda pr, m: pr.l1_unstructured(m, "weight", amount=0.3))
    _same_state(f, t)
    assert [n for n, _ in f.named_parameters()] == ["bias", "weight_orig"]
    assert [n for n, _ in f.named_buffers()] == ["weight_mask"]
    assert f.weight_orig is orig and "weight" not in f._parameters
    assert FPr.is_pruned(f) and not FPr.is_pruned(nn.Linear(2, 2))
    np.testing.assert_array_equal(_np(f.weight), _np(t.weight))
    assert repr(f) == repr(t)
    # the pre-hook recomputes weight from weight_orig after an in-place update
    with fastnn.no_grad():
        f.weight_orig.add_(1.0)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    f(fastnn.tensor(x))
    np.testing.assert_allclose(_np(f.weight), _np(f.weight_orig * f.weight_mask))


def test_forward_gradients_match_torch():
    f, t = _pair(_conv)
    _both(f, t, lambda pr, m: pr.ln_structured(m, "weight", amount=0.5, n=2, dim=0))
    x = np.random.default_rng(1).standard_normal((2, 3, 6, 6)).astype(np.float32)
    yf, yt = f(fastnn.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(_np(yf), _np(yt), rtol=1e-5, atol=1e-5)
    yf.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(_np(f.weight_orig.grad), _np(t.weight_orig.grad),
                               rtol=1e-5, atol=1e-4)
    assert np.all(_np(f.weight_orig.grad)[_np(f.weight_mask) == 0] == 0)


@pytest.mark.parametrize("n,dim,amount", [(1, 0, 2), (2, 1, 0.34), (float("inf"), -1, 1),
                                          (1, 0, 0), (2, 0, 6)])
def test_ln_structured_masks(n, dim, amount):
    f, t = _pair(_conv)
    _both(f, t, lambda pr, m: pr.ln_structured(m, "weight", amount=amount, n=n, dim=dim))
    _same_state(f, t)


def test_iterative_pruning_container():
    f, t = _pair(_conv)

    def steps(pr, m):
        pr.l1_unstructured(m, "weight", amount=0.3)
        pr.ln_structured(m, "weight", amount=2, n=2, dim=0)
        pr.l1_unstructured(m, "weight", amount=5)
        pr.ln_structured(m, "weight", amount=0.5, n=1, dim=1)
        pr.identity(m, "weight")
        pr.l1_unstructured(m, "bias", amount=2)
    _both(f, t, steps)
    _same_state(f, t)
    hooks = [h for h in f._forward_pre_hooks.values() if h._tensor_name == "weight"]
    assert len(hooks) == 1 and isinstance(hooks[0], FPr.PruningContainer)
    assert [type(h).__name__ for h in hooks[0]] == \
        ["L1Unstructured", "LnStructured", "L1Unstructured", "LnStructured", "Identity"]
    _both(f, t, lambda pr, m: pr.remove(m, "weight"))
    _same_state(f, t)
    assert isinstance(f.weight, nn.Parameter) and FPr.is_pruned(f)
    _both(f, t, lambda pr, m: pr.remove(m, "bias"))
    assert not FPr.is_pruned(f) and not f._hooked
    _same_state(f, t)


def test_global_unstructured_and_importance_scores():
    def make(m):
        return m.Sequential(m.Linear(4, 5), m.ReLU(), m.Linear(5, 3))
    f, t = _pair(make)

    def run(pr, m):
        params = [(m[0], "weight"), (m[2], "weight"), (m[2], "bias")]
        pr.global_unstructured(params, pruning_method=pr.L1Unstructured, amount=0.4)
        pr.global_unstructured(params[:2], pruning_method=pr.L1Unstructured, amount=3)
    _both(f, t, run)
    _same_state(f, t)
    scores = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    g, u = _pair(make)
    FPr.l1_unstructured(g[0], "weight", 7, importance_scores=fastnn.tensor(scores))
    TPr.l1_unstructured(u[0], "weight", 7, importance_scores=torch.tensor(scores))
    _same_state(g, u)


def test_random_methods_counts():
    m = nn.Linear(10, 8)
    FPr.random_unstructured(m, "weight", amount=0.25)
    assert int((_np(m.weight_mask) == 0).sum()) == 20
    FPr.random_unstructured(m, "weight", amount=10)  # ten more among the survivors
    assert int((_np(m.weight_mask) == 0).sum()) == 30
    c = nn.Conv2d(2, 6, 3)
    FPr.random_structured(c, "weight", amount=2, dim=0)
    mask = _np(c.weight_mask)
    dead = [i for i in range(6) if not mask[i].any()]
    assert len(dead) == 2 and all(mask[i].all() for i in range(6) if i not in dead)
    FPr.random_structured(c, "weight", amount=0.5, dim=0)  # 2 of the 4 live channels
    assert sum(not _np(c.weight_mask)[i].any() for i in range(6)) == 4


def test_custom_from_mask_and_prune_method():
    f, t = _pair(lambda m: m.Linear(3, 2))
    mask = np.array([[1, 0, 1], [0, 1, 1]], np.float32)
    FPr.custom_from_mask(f, "weight", fastnn.tensor(mask))
    TPr.custom_from_mask(t, "weight", torch.tensor(mask))
    _same_state(f, t)
    w = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    out = FPr.L1Unstructured(amount=2).prune(fastnn.tensor(w))
    ref = TPr.L1Unstructured(amount=2).prune(torch.tensor(w))
    np.testing.assert_array_equal(_np(out), _np(ref))


def test_training_with_optimizer_and_deepcopy():
    f, t = _pair(lambda m: m.Linear(6, 4))
    _both(f, t, lambda pr, m: pr.l1_unstructured(m, "weight", amount=0.5))
    of = fastnn.optim.SGD(f.parameters(), lr=0.1, momentum=0.9)
    ot = torch.optim.SGD(t.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = rng.standard_normal((5, 6)).astype(np.float32)
        for opt, m, mod in ((of, f, fastnn), (ot, t, torch)):
            opt.zero_grad()
            (m(mod.tensor(x)) ** 2).mean().backward()
            opt.step()
    for k in ("weight_orig", "bias", "weight_mask"):
        np.testing.assert_allclose(_np(f.state_dict()[k]), _np(t.state_dict()[k]), atol=1e-6)
    # like PyTorch, the graph-built `weight` attribute refuses deepcopy after a forward
    for m in (f, t):
        with pytest.raises(RuntimeError, match="graph leaves"):
            copy.deepcopy(m)
    g = nn.Linear(6, 4)
    FPr.l1_unstructured(g, "weight", amount=3)
    with fastnn.no_grad():
        g.weight = g.weight.detach()
    h = copy.deepcopy(g)
    assert FPr.is_pruned(h) and h.weight_orig is not g.weight_orig
    x = fastnn.tensor(rng.standard_normal((2, 6)).astype(np.float32))
    np.testing.assert_array_equal(_np(h(x)), _np(g(x)))
    f.double()
    assert f(x.double()).dtype == fastnn.float64 and f.weight.dtype == fastnn.float64
    # remove keeps the Parameter the optimizer holds
    w = f.weight_orig
    FPr.remove(f, "weight")
    assert f.weight is w


def _check_error(call, f, t):
    with pytest.raises(Exception) as et:
        call(TPr, t)
    with pytest.raises(type(et.value)) as ef:
        call(FPr, f)
    assert str(ef.value).splitlines()[0].split(" of module")[0] == \
        str(et.value).splitlines()[0].split(" of module")[0].replace("torch.", "fastnn.")


@pytest.mark.parametrize("call", [
    lambda pr, m: pr.l1_unstructured(m, "weight", amount=1.5),
    lambda pr, m: pr.l1_unstructured(m, "weight", amount=-1),
    lambda pr, m: pr.l1_unstructured(m, "weight", amount="a"),
    lambda pr, m: pr.l1_unstructured(m, "weight", amount=100),
    lambda pr, m: pr.ln_structured(m, "bias", amount=1, n=2, dim=0),
    lambda pr, m: pr.ln_structured(m, "weight", amount=1, n=2, dim=3),
    lambda pr, m: pr.remove(m, "weight"),
    lambda pr, m: pr.global_unstructured([(m, "weight")], pruning_method=pr.LnStructured,
                                         amount=1, n=2, dim=0),
    lambda pr, m: pr.global_unstructured(3, pruning_method=pr.L1Unstructured, amount=1),
])
def test_errors_match_torch(call):
    f, t = _pair(lambda m: m.Linear(5, 4))
    _check_error(call, f, t)
    # a failed first pruning leaves the module as it was
    assert "weight" in f._parameters and "weight_orig" not in f._parameters
    assert [n for n, _ in f.named_parameters()] == [n for n, _ in t.named_parameters()]


def test_container_rejects_other_tensor():
    a = FPr.L1Unstructured(amount=1)
    a._tensor_name = "weight"
    b = FPr.L1Unstructured(amount=1)
    b._tensor_name = "bias"
    ta = TPr.L1Unstructured(amount=1)
    ta._tensor_name = "weight"
    tb = TPr.L1Unstructured(amount=1)
    tb._tensor_name = "bias"
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter"):
        FPr.PruningContainer(a).add_pruning_method(b)
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter"):
        TPr.PruningContainer(ta).add_pruning_method(tb)
    with pytest.raises(TypeError):
        FPr.PruningContainer(a).add_pruning_method(3)


def test_misuse_raises_assertion_error_even_under_optimize():
    # raised explicitly (not with assert), so python -O keeps the checks
    m = fastnn.nn.Linear(3, 2)
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        fastnn.nn.utils.prune.l1_unstructured(m, "weight", 1, importance_scores=fastnn.ones(5))
    with pytest.raises(AssertionError, match=r"mask of shape \(3,\) does not match"):
        fastnn.nn.utils.prune.custom_from_mask(m, "bias", fastnn.ones(3))
    assert not fastnn.nn.utils.prune.is_pruned(m)
