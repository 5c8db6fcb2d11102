"""kl_divergence against PyTorch: values and gradients for each registered pair, the
infinite cases, and register_kl dispatch."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

R = np.random.default_rng(11)
POS = lambda *s: R.uniform(0.5, 2.0, size=s)  # noqa: E731
PROB = lambda *s: R.uniform(0.1, 0.9, size=s)  # noqa: E731
REAL = lambda *s: R.normal(size=s)  # noqa: E731

# name, p's params, q's params (numpy), broadcast shapes between p and q
PAIRS = [
    ("Normal", [REAL(3, 1), POS(4)], [REAL(4), POS(3, 1)]),
    ("Laplace", [REAL(3, 1), POS(4)], [REAL(4), POS(3, 1)]),
    ("Exponential", [POS(3, 4)], [POS(4)]),
    ("Uniform", [R.uniform(-1, 0, (3, 4)), R.uniform(1, 2, (3, 4))],
     [R.uniform(-3, -1, (3, 4)), R.uniform(2, 3, (3, 4))]),
    ("Bernoulli", [PROB(3, 4)], [PROB(3, 4)]),  # torch needs equal shapes here
    ("BernoulliLogits", [REAL(3, 4)], [REAL(3, 4)]),
    ("Categorical", [REAL(3, 5)], [REAL(5)]),
    ("OneHotCategorical", [REAL(3, 5)], [REAL(2, 1, 5)]),
    ("Gamma", [POS(3, 1), POS(4)], [POS(4), POS(3, 1)]),
    ("Beta", [POS(3, 1), POS(4)], [POS(4), POS(3, 1)]),
    ("Independent", [REAL(3, 4), POS(3, 4)], [REAL(3, 4), POS(3, 4)]),
]


def _build(lib, name, arrays, dtype):
    D = lib.distributions
    ts = [lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True) for a in arrays]
    if name == "BernoulliLogits":
        return D.Bernoulli(logits=ts[0]), ts
    if name in ("Categorical", "OneHotCategorical"):
        return getattr(D, name)(logits=ts[0]), ts
    if name == "Independent":
        return D.Independent(D.Normal(*ts), 2), ts
    return getattr(D, name)(*ts), ts


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,pa,qa", PAIRS, ids=[p[0] for p in PAIRS])
def test_kl_matches_torch(name, pa, qa, dtype):
    fp, fpt = _build(fastnn, name, pa, dtype)
    fq, fqt = _build(fastnn, name, qa, dtype)
    tp, tpt = _build(torch, name, pa, dtype)
    tq, tqt = _build(torch, name, qa, dtype)
    f_kl = fastnn.distributions.kl_divergence(fp, fq)
    t_kl = torch.distributions.kl_divergence(tp, tq)
    assert f_kl.shape == tuple(t_kl.shape)
    tol = dict(rtol=2e-5, atol=2e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(f_kl.detach().numpy(), t_kl.detach().numpy(), **tol)
    w = R.normal(size=tuple(t_kl.shape))
    (t_kl * torch.tensor(w, dtype=t_kl.dtype)).sum().backward()
    (f_kl * fastnn.tensor(w, dtype=f_kl.dtype)).sum().backward()
    gtol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-8, atol=1e-9)
    for f, t in zip(fpt + fqt, tpt + tqt):
        np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), **gtol)


def test_kl_of_a_distribution_with_itself_is_zero():
    D = fastnn.distributions
    n = D.Normal(fastnn.tensor([0.3, 1.0]), fastnn.tensor([1.0, 2.0]))
    np.testing.assert_allclose(D.kl_divergence(n, n).numpy(), 0.0, atol=1e-7)


@pytest.mark.parametrize("case", ["uniform", "bernoulli", "categorical"])
def test_kl_infinite_and_zero_cases_match_torch(case):
    def run(lib):
        D = lib.distributions
        if case == "uniform":
            return D.kl_divergence(D.Uniform(lib.tensor([0.0, 0.0]), lib.tensor([1.0, 3.0])),
                                   D.Uniform(lib.tensor([-1.0, 0.5]), lib.tensor([2.0, 4.0])))
        if case == "bernoulli":
            return D.kl_divergence(D.Bernoulli(lib.tensor([0.0, 1.0, 0.3, 0.3])),
                                   D.Bernoulli(lib.tensor([0.5, 0.5, 0.0, 1.0])))
        return D.kl_divergence(D.Categorical(lib.tensor([[0.0, 0.5, 0.5], [0.2, 0.4, 0.4]])),
                               D.Categorical(lib.tensor([[0.5, 0.0, 0.5], [0.3, 0.3, 0.4]])))
    np.testing.assert_allclose(run(fastnn).numpy(), run(torch).numpy(), rtol=1e-5)


def test_register_kl_dispatches_to_the_most_specific_pair():
    D = fastnn.distributions

    class MyNormal(D.Normal):
        pass

    n = D.Normal(0.0, 1.0)
    m = MyNormal(1.0, 2.0)
    # a subclass falls back on the Normal-Normal closed form
    expected = D.kl_divergence(n, D.Normal(1.0, 2.0)).item()
    assert D.kl_divergence(n, m).item() == pytest.approx(expected)

    @D.register_kl(MyNormal, MyNormal)
    def _kl_mine(p, q):
        return fastnn.tensor(42.0)

    assert D.kl_divergence(m, m).item() == 42.0
    assert D.kl_divergence(n, m).item() == pytest.approx(expected)
