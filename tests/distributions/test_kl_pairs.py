"""Cross-family KL divergences (and those of the newer families) against PyTorch's values
on batched float64 parameters, including the pairs that are infinite."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(5)


def _p(lo, hi, shape=(3, 2)):
    return RNG.uniform(lo, hi, shape)


PARAMS = {
    "Normal": lambda: (_p(-1, 1), _p(0.5, 2)),
    "Laplace": lambda: (_p(-1, 1), _p(0.5, 2)),
    "Gumbel": lambda: (_p(-1, 1), _p(0.5, 2)),
    "Cauchy": lambda: (_p(-1, 1), _p(0.5, 2)),
    "Exponential": lambda: (_p(0.5, 3),),
    "Gamma": lambda: (_p(0.5, 3), _p(0.5, 3)),
    "Beta": lambda: (_p(0.5, 3), _p(0.5, 3)),
    "Pareto": lambda: (_p(0.5, 2, (2,)), _p(0.5, 4)),  # some alpha <= 1 or 2: inf there
    "Uniform": lambda: (_p(0.1, 0.4), _p(0.6, 0.9)),
    "UniformWide": lambda: (_p(-2, -1), _p(1, 2)),
    "HalfNormal": lambda: (_p(0.5, 2),),
}
CLASS = {"UniformWide": "Uniform"}

PAIRS = [
    ("Beta", "Exponential"), ("Beta", "Gamma"), ("Beta", "Normal"), ("Beta", "Uniform"),
    ("Beta", "UniformWide"), ("Beta", "Pareto"),
    ("Exponential", "Beta"), ("Exponential", "Gamma"), ("Exponential", "Gumbel"),
    ("Exponential", "Normal"), ("Exponential", "Pareto"), ("Exponential", "Uniform"),
    ("Gamma", "Beta"), ("Gamma", "Exponential"), ("Gamma", "Gumbel"), ("Gamma", "Normal"),
    ("Gamma", "Pareto"), ("Gamma", "Uniform"),
    ("Gumbel", "Beta"), ("Gumbel", "Exponential"), ("Gumbel", "Gamma"), ("Gumbel", "Gumbel"),
    ("Gumbel", "Normal"), ("Gumbel", "Pareto"), ("Gumbel", "Uniform"),
    ("Laplace", "Beta"), ("Laplace", "Exponential"), ("Laplace", "Gamma"),
    ("Laplace", "Normal"), ("Laplace", "Pareto"), ("Laplace", "Uniform"),
    ("Normal", "Beta"), ("Normal", "Exponential"), ("Normal", "Gamma"), ("Normal", "Gumbel"),
    ("Normal", "Laplace"), ("Normal", "Pareto"), ("Normal", "Uniform"),
    ("Pareto", "Beta"), ("Pareto", "Exponential"), ("Pareto", "Gamma"), ("Pareto", "Normal"),
    ("Pareto", "Pareto"), ("Pareto", "Uniform"),
    ("Uniform", "Beta"), ("UniformWide", "Beta"), ("Uniform", "Exponential"),
    ("UniformWide", "Exponential"), ("Uniform", "Gamma"), ("UniformWide", "Gamma"),
    ("Uniform", "Gumbel"), ("Uniform", "Normal"), ("UniformWide", "Normal"),
    ("Uniform", "Pareto"),
    ("Cauchy", "Cauchy"), ("HalfNormal", "HalfNormal"),
]


def _build(lib, name, arrays, grad=False):
    ts = [lib.tensor(a, dtype=lib.float64, requires_grad=grad) for a in arrays]
    return getattr(lib.distributions, CLASS.get(name, name))(*ts), ts


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("pair", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_cross_kl_matches_torch(pair, seed):
    global RNG
    RNG = np.random.default_rng(seed * 100 + len(pair[0]) * 7 + len(pair[1]))
    pa, qa = PARAMS[pair[0]](), PARAMS[pair[1]]()
    ours = fastnn.distributions.kl_divergence(_build(fastnn, pair[0], pa)[0],
                                              _build(fastnn, pair[1], qa)[0])
    ref = torch.distributions.kl_divergence(_build(torch, pair[0], pa)[0],
                                            _build(torch, pair[1], qa)[0])
    assert tuple(ours.shape) == tuple(ref.shape)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(),
                               rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("pair", [("Normal", "Laplace"), ("Gamma", "Normal"),
                                  ("Uniform", "Beta"), ("Gumbel", "Gumbel"),
                                  ("Exponential", "Gumbel")])
def test_cross_kl_gradients(pair):
    pa, qa = PARAMS[pair[0]](), PARAMS[pair[1]]()
    grads = []
    for lib in (fastnn, torch):
        p, pt = _build(lib, pair[0], pa, grad=True)
        q, qt = _build(lib, pair[1], qa, grad=True)
        lib.distributions.kl_divergence(p, q).sum().backward()
        grads.append([t.grad.numpy() for t in pt + qt])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)


def _lowrank(lib, rng_seed):
    rng = np.random.default_rng(rng_seed)
    t = lambda a: lib.tensor(a, dtype=lib.float64)  # noqa: E731
    return lib.distributions.LowRankMultivariateNormal(
        t(rng.normal(size=(2, 3))), t(rng.normal(size=(2, 3, 2))),
        t(rng.uniform(0.5, 1.5, (2, 3))))


def _mvn(lib, rng_seed):
    rng = np.random.default_rng(rng_seed)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 3 * np.eye(3)
    return lib.distributions.MultivariateNormal(lib.tensor(rng.normal(size=(3,))),
                                                lib.tensor(cov))


@pytest.mark.parametrize("kinds", [("lr", "lr"), ("lr", "mvn"), ("mvn", "lr")])
def test_lowrank_kl(kinds):
    make = {"lr": _lowrank, "mvn": _mvn}
    vals = [lib.distributions.kl_divergence(make[kinds[0]](lib, 1), make[kinds[1]](lib, 2))
            for lib in (fastnn, torch)]
    np.testing.assert_allclose(vals[0].numpy(), vals[1].numpy(), rtol=1e-6)


def test_transformed_pairs():
    for lib in (fastnn, torch):
        D = lib.distributions
        w1 = D.Weibull(lib.tensor([1.0, 2.0]), lib.tensor([1.5, 2.5]))
        assert float(D.kl_divergence(w1, w1).abs().sum()) == 0.0
        w2 = D.Weibull(lib.tensor([1.0, 3.0]), lib.tensor([1.5, 2.5]))
        with pytest.raises(NotImplementedError):
            D.kl_divergence(w1, w2)
