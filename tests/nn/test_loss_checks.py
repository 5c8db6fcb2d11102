"""Input checks of the losses (BCE ranges, ignore_index with probability targets) and the
absence of numpy RuntimeWarnings where every target is ignored or logs meet zeros."""
import warnings

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception itself is what is compared
        return type(e).__name__, str(e).splitlines()[0]
    return None


NAN = float("nan")


@pytest.mark.parametrize("x,t", [
    ([0.2, 0.5, 0.9], [0.5, 1.5, 0.2]), ([0.2, 0.5, 0.9], [0.5, -0.5, 0.2]),
    ([0.2, 1.5, 0.9], [0.5, 1.5, 0.2]), ([0.2, NAN, 0.9], [0.5, 0.5, 0.2]),
    ([0.2, 0.5, 0.9], [0.5, NAN, 0.2]), ([0.0, 1.0, 0.9], [0.0, 1.0, 0.2])])
@pytest.mark.parametrize("how", ["functional", "module", "grad"])
def test_bce_range_checks_match_torch(x, t, how):
    def run(m):
        inp = m.tensor(x, requires_grad=how == "grad")
        if how == "module":
            return m.nn.BCELoss()(inp, m.tensor(t)).item()
        return m.nn.functional.binary_cross_entropy(inp, m.tensor(t)).item()
    got, want = _error(lambda: run(fastnn)), _error(lambda: run(torch))
    assert got == want
    if want is None:
        np.testing.assert_allclose(run(fastnn), run(torch), rtol=1e-6)


@pytest.mark.parametrize("ignore_index", [-100, -1, -101, 0, 3, 4, 10])
@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"label_smoothing": 0.1}])
def test_cross_entropy_probability_target_ignore_index(ignore_index, kw):
    rng = np.random.RandomState(0)
    logits, probs = rng.randn(3, 4), rng.dirichlet(np.ones(4), 3)

    def run(m, module):
        x, p = m.tensor(logits, dtype=m.float32), m.tensor(probs, dtype=m.float32)
        if module:
            return m.nn.CrossEntropyLoss(ignore_index=ignore_index, **kw)(x, p)
        return m.nn.functional.cross_entropy(x, p, ignore_index=ignore_index, **kw)
    for module in (False, True):
        got = _error(lambda: run(fastnn, module))
        assert got == _error(lambda: run(torch, module))
        if got is None:
            np.testing.assert_allclose(run(fastnn, module).detach().numpy(),
                                       run(torch, module).detach().numpy(), rtol=1e-5)


def _no_runtime_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []
    return out


@pytest.mark.parametrize("case", ["ce", "ce_double", "ce_3d", "nll", "ce_weight", "ce_smooth"])
def test_all_targets_ignored_is_nan_without_warnings(case):
    def run(m):
        x = m.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=m.float32,
                     requires_grad=True)
        t = m.full((3,), -100, dtype=m.int64)
        f = m.nn.functional
        if case == "ce_3d":
            x = m.tensor(np.linspace(-1, 1, 24).reshape(2, 4, 3), dtype=m.float32,
                         requires_grad=True)
            t = m.full((2, 3), -100, dtype=m.int64)
        inp = x.double() if case == "ce_double" else x
        loss = {"nll": lambda: f.nll_loss(inp, t),
                "ce_weight": lambda: f.cross_entropy(inp, t, weight=m.ones(4)),
                "ce_smooth": lambda: f.cross_entropy(inp, t, label_smoothing=0.1)}.get(
                    case, lambda: f.cross_entropy(inp, t))()
        loss.backward()
        return loss.item(), x.grad.numpy()
    (got, ggot), (want, gwant) = _no_runtime_warnings(lambda: run(fastnn)), run(torch)
    assert np.isnan(got) and np.isnan(want)
    np.testing.assert_array_equal(np.abs(ggot), np.abs(gwant))


@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [True, False])
def test_poisson_nll_without_warnings(log_input, full):
    def run(m, reduction):
        x = m.tensor([0.5, -1.0, 2.0, 0.0], requires_grad=True)
        y = m.tensor([0.0, 1.0, 3.0, 0.0])
        loss = m.nn.PoissonNLLLoss(log_input=log_input, full=full, reduction=reduction)(x, y)
        loss.sum().backward()
        return loss.detach().numpy(), x.grad.numpy()
    for reduction in ("mean", "none"):
        got = _no_runtime_warnings(lambda: run(fastnn, reduction))
        want = run(torch, reduction)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
