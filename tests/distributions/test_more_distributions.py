"""The newer families (HalfNormal, HalfCauchy, Cauchy, Gumbel, Weibull, Pareto,
Kumaraswamy, LogisticNormal, Relaxed*, MixtureSameFamily, LowRankMultivariateNormal,
VonMises, FisherSnedecor) against PyTorch in float64: values, gradients, shapes, errors
and sampling statistics."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(11)
POS = RNG.uniform(0.6, 2.5, (3, 4))
POS2 = RNG.uniform(0.6, 2.5, (4,))
REAL = RNG.normal(size=(3, 1))
LOGITS = RNG.normal(size=(3, 4))
W = RNG.normal(size=(2, 4, 2))
SIMPLEX_BASE = RNG.normal(size=(2, 3)) * 0.5


def _cases():
    """name -> (builder(D, t), params, value(shape) in the support, quantities)."""
    q = ("mean", "variance", "entropy", "mode")
    return {
        "Cauchy": (lambda D, t: D.Cauchy(t(REAL), t(POS)), RNG.normal(size=(2, 3, 4)),
                   ("mode", "entropy", "cdf", "icdf")),
        "HalfNormal": (lambda D, t: D.HalfNormal(t(POS)), RNG.uniform(0.01, 3, (2, 3, 4)),
                       q + ("cdf", "icdf")),
        "HalfCauchy": (lambda D, t: D.HalfCauchy(t(POS)), RNG.uniform(0.01, 3, (2, 3, 4)),
                       ("entropy", "mode", "cdf", "icdf")),
        "Gumbel": (lambda D, t: D.Gumbel(t(REAL), t(POS)), RNG.normal(size=(2, 3, 4)),
                   q + ("cdf", "icdf")),
        "Weibull": (lambda D, t: D.Weibull(t(POS), t(POS2)), RNG.uniform(0.05, 3, (2, 3, 4)),
                    q + ("cdf", "icdf")),
        "Pareto": (lambda D, t: D.Pareto(t(POS * 0.2), t(POS2 + 1.5)),
                   RNG.uniform(0.6, 4, (2, 3, 4)), q + ("cdf", "icdf")),
        "Kumaraswamy": (lambda D, t: D.Kumaraswamy(t(POS), t(POS2)),
                        RNG.uniform(0.05, 0.95, (2, 3, 4)), q),
        "LogisticNormal": (lambda D, t: D.LogisticNormal(t(SIMPLEX_BASE), t(POS[:2, :3])),
                           RNG.dirichlet([1.0, 2.0, 1.5, 1.0], (2,)), ()),
        "RelaxedBernoulli": (lambda D, t: D.RelaxedBernoulli(t(POS2[:1]), logits=t(LOGITS)),
                             RNG.uniform(0.05, 0.95, (2, 3, 4)), ()),
        "RelaxedOneHotCategorical": (
            lambda D, t: D.RelaxedOneHotCategorical(t(POS2[:1]), logits=t(LOGITS)),
            RNG.dirichlet([1.0, 2.0, 1.5, 1.0], (2, 3)), ()),
        "MixtureSameFamily": (
            lambda D, t: D.MixtureSameFamily(D.Categorical(logits=t(LOGITS)),
                                             D.Normal(t(REAL), t(POS))),
            RNG.normal(size=(2, 3)), ("mean", "variance", "cdf")),
        "MixtureMVN": (
            lambda D, t: D.MixtureSameFamily(
                D.Categorical(logits=t(LOGITS[0, :2])),
                D.Independent(D.Normal(t(RNG_MIX_LOC), t(RNG_MIX_SCALE)), 1)),
            RNG.normal(size=(5, 3)), ("mean", "variance")),
        "LowRankMultivariateNormal": (
            lambda D, t: D.LowRankMultivariateNormal(t(REAL[:2, :1].repeat(4, 1)), t(W),
                                                     t(POS[:2])),
            RNG.normal(size=(3, 2, 4)),
            ("mean", "variance", "entropy", "mode", "scale_tril", "covariance_matrix",
             "precision_matrix")),
        "VonMises": (lambda D, t: D.VonMises(t(REAL), t(POS)), RNG.uniform(-3, 3, (2, 3, 4)),
                     ("mean", "mode", "variance")),
        "FisherSnedecor": (lambda D, t: D.FisherSnedecor(t(POS * 3), t(POS2 * 4)),
                           RNG.uniform(0.1, 4, (2, 3, 4)), ("mean", "mode", "variance")),
    }


RNG_MIX_LOC = RNG.normal(size=(2, 3))
RNG_MIX_SCALE = RNG.uniform(0.5, 1.5, (2, 3))
CASES = _cases()


def _t(lib, grad_list):
    def make(arr):
        x = lib.tensor(np.asarray(arr, dtype=np.float64), requires_grad=True)
        grad_list.append(x)
        return x
    return make


def _np(x):
    return x.detach().numpy()


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_torch(name):
    build, value, quantities = CASES[name]
    ga, gb = [], []
    da, db = build(fastnn.distributions, _t(fastnn, ga)), build(torch.distributions,
                                                                _t(torch, gb))
    assert tuple(da.batch_shape) == tuple(db.batch_shape)
    assert tuple(da.event_shape) == tuple(db.event_shape)
    va, vb = fastnn.tensor(value), torch.tensor(value)
    la, lb = da.log_prob(va), db.log_prob(vb)
    np.testing.assert_allclose(_np(la), _np(lb), rtol=1e-6, atol=1e-6)
    la.sum().backward()
    lb.sum().backward()
    for a, b in zip(ga, gb):
        if b.grad is not None:
            np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-5, atol=1e-6)
    for what in quantities:
        if what in ("cdf", "icdf"):
            arg = value if what == "cdf" else RNG.uniform(0.05, 0.95, value.shape)
            got = getattr(da, what)(fastnn.tensor(arg))
            want = getattr(db, what)(torch.tensor(arg))
        else:
            got, want = getattr(da, what), getattr(db, what)
            if callable(got):
                got, want = got(), want()
        np.testing.assert_allclose(_np(got), _np(want), rtol=1e-6, atol=1e-6,
                                   err_msg=what)
    assert da.has_rsample == db.has_rsample
    for shape in ((), (3,), (2, 1)):
        assert tuple(da.sample(shape).shape) == tuple(db.sample(shape).shape)
    big = (2,) + tuple(db.batch_shape)
    assert tuple(da.expand(big).batch_shape) == tuple(db.expand(big).batch_shape)


@pytest.mark.parametrize("name", ["Cauchy", "HalfNormal", "Gumbel", "Weibull", "Pareto",
                                  "Kumaraswamy", "RelaxedBernoulli",
                                  "RelaxedOneHotCategorical", "LowRankMultivariateNormal",
                                  "LogisticNormal"])
def test_rsample_is_differentiable(name):
    build = CASES[name][0]
    params = []
    d = build(fastnn.distributions, _t(fastnn, params))
    fastnn.manual_seed(1)
    d.rsample((5,)).sum().backward()
    assert all(p.grad is not None for p in params)


SAMPLED = {
    "HalfNormal": lambda D: D.HalfNormal(fastnn.tensor([0.5, 2.0])),
    "Gumbel": lambda D: D.Gumbel(fastnn.tensor([0.5, -1.0]), fastnn.tensor([1.0, 2.0])),
    "Weibull": lambda D: D.Weibull(fastnn.tensor([1.0, 2.0]), fastnn.tensor([1.5, 3.0])),
    "Pareto": lambda D: D.Pareto(fastnn.tensor([1.0, 2.0]), fastnn.tensor([5.0, 6.0])),
    "Kumaraswamy": lambda D: D.Kumaraswamy(fastnn.tensor([2.0, 0.7]),
                                           fastnn.tensor([3.0, 1.5])),
    "VonMises": lambda D: D.VonMises(fastnn.tensor([0.5, -2.0]), fastnn.tensor([4.0, 8.0])),
    "FisherSnedecor": lambda D: D.FisherSnedecor(fastnn.tensor([5.0, 8.0]),
                                                 fastnn.tensor([10.0, 12.0])),
    "LowRank": lambda D: D.LowRankMultivariateNormal(
        fastnn.tensor([1.0, -1.0]), fastnn.tensor([[1.0], [0.5]]), fastnn.tensor([0.5, 1.0])),
    "Mixture": lambda D: D.MixtureSameFamily(
        D.Categorical(probs=fastnn.tensor([0.3, 0.7])),
        D.Normal(fastnn.tensor([-2.0, 3.0]), fastnn.tensor([0.5, 1.0]))),
}


@pytest.mark.parametrize("name", list(SAMPLED))
def test_sampling_statistics(name):
    fastnn.manual_seed(0)
    d = SAMPLED[name](fastnn.distributions)
    s = d.sample((100000,)).double()
    if name == "VonMises":  # circular mean and circular variance
        c, n = s.cos().mean(0), s.sin().mean(0)
        s_mean, s_var = fastnn.atan2(n, c), 1 - (c * c + n * n).sqrt()
        np.testing.assert_allclose(_np(s_mean), _np(d.mean.double()), atol=0.02)
        np.testing.assert_allclose(_np(s_var), _np(d.variance.double()), atol=0.01)
        return
    np.testing.assert_allclose(_np(s.mean(0)), _np(d.mean.double()), rtol=0.03, atol=0.02)
    np.testing.assert_allclose(_np(s.var(0)), _np(d.variance.double()), rtol=0.06, atol=0.02)
    assert bool(d.support.check(d.sample((100,))).all())


def test_validation_messages_match_torch():
    for build in (lambda D, x: D.HalfNormal(x), lambda D, x: D.Cauchy(0.0, x),
                  lambda D, x: D.Gumbel(0.0, x), lambda D, x: D.Weibull(x, 1.0),
                  lambda D, x: D.Pareto(1.0, x), lambda D, x: D.VonMises(0.0, x),
                  lambda D, x: D.Kumaraswamy(x, 1.0), lambda D, x: D.FisherSnedecor(x, 1.0)):
        with pytest.raises(ValueError) as ours:
            build(fastnn.distributions, fastnn.tensor([-1.0]))
        with pytest.raises(ValueError) as ref:
            build(torch.distributions, torch.tensor([-1.0]))
        assert str(ours.value).split(" of distribution")[0] == \
            str(ref.value).split(" of distribution")[0]


@pytest.mark.parametrize("args", [
    lambda D: (D.Normal(0.0, 1.0), D.Normal(fastnn.zeros(3), 1.0)),
    lambda D: (D.Categorical(fastnn.ones(3)), 3),
    lambda D: (D.Categorical(fastnn.ones(2, 3)), D.Normal(fastnn.zeros(4, 3), 1.0)),
    lambda D: (D.Categorical(fastnn.ones(3)), D.Normal(fastnn.zeros(4), 1.0))])
def test_mixture_errors(args):
    def swap(D):
        # the same arguments in torch
        return args(_TorchShim(D))
    with pytest.raises(ValueError) as ours:
        fastnn.distributions.MixtureSameFamily(*args(fastnn.distributions))
    with pytest.raises(ValueError) as ref:
        torch.distributions.MixtureSameFamily(*swap(torch.distributions))
    assert str(ours.value).replace("fastnn", "torch") == str(ref.value).replace(
        "torch.Size", "Size").replace("Size", "torch.Size") or \
        str(ours.value).split("(")[0] == str(ref.value).split("(")[0]


class _TorchShim:
    """Lets the fastnn-written argument builders create torch objects."""

    def __init__(self, D):
        self._D = D

    def __getattr__(self, name):
        cls = getattr(self._D, name)

        def make(*a, **k):
            a = [torch.tensor(x.numpy()) if isinstance(x, fastnn.Tensor) else x for x in a]
            return cls(*a, **k)
        return make


def test_lowrank_errors():
    D = fastnn.distributions
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.LowRankMultivariateNormal(fastnn.tensor(0.0), fastnn.ones(1, 1), fastnn.ones(1))
    with pytest.raises(ValueError, match="cov_factor must be a batch of matrices"):
        D.LowRankMultivariateNormal(fastnn.zeros(3), fastnn.ones(2, 1), fastnn.ones(3))
    with pytest.raises(ValueError, match="cov_diag must be a batch of vectors"):
        D.LowRankMultivariateNormal(fastnn.zeros(3), fastnn.ones(3, 1), fastnn.ones(2))
