"""Binomial, Poisson, Geometric, MultivariateNormal, LogNormal, StudentT, Dirichlet and Chi2:
values, gradients, errors and KL terms against PyTorch (float64); gradchecks and sampling
checks that need only fastnn."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

try:
    import torch
except ImportError:  # the fastnn-only checks still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the oracle here")
D = fastnn.distributions
F64 = fastnn.float64


def _spd(rng, *shape):
    """Symmetric positive-definite matrices A A^T + n I of ``shape`` (..., n, n)."""
    a = rng.normal(size=shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _tril(rng, *shape):
    return np.tril(rng.normal(size=shape), -1) + np.diag(rng.uniform(0.5, 2.0, shape[-1]))


def _params(rng):
    """name -> (builder(lib, **tensors), numpy parameters, numpy values, quantities)."""
    nonneg_int = lambda *s: rng.integers(0, 6, size=s).astype(np.float64)  # noqa: E731
    simplex = rng.dirichlet([1.5, 2.0, 3.0], size=(2, 4))
    q = ("log_prob", "mean", "variance", "stddev", "mode")
    return {
        "Binomial-probs": (lambda L, n, p: L.distributions.Binomial(n, probs=p),
                           dict(n=np.full((3, 1), 6.0), p=rng.uniform(0.1, 0.9, (4,))),
                           nonneg_int(2, 3, 4), q + ("entropy",)),
        "Binomial-logits": (lambda L, n, l: L.distributions.Binomial(n, logits=l),
                            dict(n=np.array([2.0, 5.0, 9.0]), l=rng.normal(size=(2, 3))),
                            np.array([[0.0, 4.0, 9.0]]), q),
        "Poisson": (lambda L, r: L.distributions.Poisson(r),
                    dict(r=rng.uniform(0.2, 5.0, (3, 4))), nonneg_int(2, 3, 4), q),
        "Geometric-probs": (lambda L, p: L.distributions.Geometric(probs=p),
                            dict(p=rng.uniform(0.1, 0.9, (3, 4))), nonneg_int(2, 3, 4),
                            q + ("entropy",)),
        "Geometric-logits": (lambda L, l: L.distributions.Geometric(logits=l),
                             dict(l=rng.normal(size=(3, 4))), nonneg_int(3, 4),
                             q + ("entropy",)),
        "LogNormal": (lambda L, m, s: L.distributions.LogNormal(m, s),
                      dict(m=rng.normal(size=(3, 1)), s=rng.uniform(0.3, 1.5, (4,))),
                      rng.uniform(0.05, 4.0, (2, 3, 4)), q + ("entropy", "cdf", "icdf")),
        "StudentT": (lambda L, df, m, s: L.distributions.StudentT(df, m, s),
                     dict(df=rng.uniform(2.5, 8.0, (3, 1)), m=rng.normal(size=(4,)),
                          s=rng.uniform(0.5, 2.0, (3, 4))),
                     rng.normal(size=(2, 3, 4)) * 2, q + ("entropy",)),
        "Dirichlet": (lambda L, a: L.distributions.Dirichlet(a),
                      dict(a=rng.uniform(0.5, 3.0, (4, 3))), simplex, q + ("entropy",)),
        "Chi2": (lambda L, df: L.distributions.Chi2(df), dict(df=rng.uniform(1.5, 6.0, (3,))),
                 rng.uniform(0.1, 5.0, (2, 3)), q + ("entropy",)),
        "MVN-cov": (lambda L, m, c: L.distributions.MultivariateNormal(m, c),
                    dict(m=rng.normal(size=(2, 3)), c=_spd(rng, 3, 3)),
                    rng.normal(size=(4, 2, 3)), q + ("entropy",)),
        "MVN-prec": (lambda L, m, p: L.distributions.MultivariateNormal(m, precision_matrix=p),
                     dict(m=rng.normal(size=(3,)), p=_spd(rng, 2, 3, 3)),
                     rng.normal(size=(4, 1, 3)), q + ("entropy",)),
        "MVN-tril": (lambda L, m, t: L.distributions.MultivariateNormal(m, scale_tril=t),
                     dict(m=rng.normal(size=(2, 3)), t=_tril(rng, 2, 3, 3)),
                     rng.normal(size=(5, 2, 3)), q + ("entropy",)),
    }


CASES = _params(np.random.default_rng(7))
_COMBOS = [(k, w) for k, v in CASES.items() for w in v[3]]


def _both(name, grad=True):
    build, params, value, _ = CASES[name]
    fp = {k: fastnn.tensor(v, dtype=F64, requires_grad=grad) for k, v in params.items()}
    tp = {k: torch.tensor(v, dtype=torch.float64, requires_grad=grad)
          for k, v in params.items()}
    return (build(fastnn, **fp), build(torch, **tp), fp, tp,
            fastnn.tensor(value, dtype=F64), torch.tensor(value, dtype=torch.float64))


def _quantity(dist, what, value, u):
    if what in ("log_prob", "cdf"):
        return getattr(dist, what)(value)
    if what == "icdf":
        return dist.icdf(u)
    return dist.entropy() if what == "entropy" else getattr(dist, what)


@needs_torch
@pytest.mark.parametrize("name,what", _COMBOS, ids=[f"{n}-{w}" for n, w in _COMBOS])
def test_values_and_grads_match_torch(name, what):
    fd, td, fp, tp, fv, tv = _both(name)
    u = np.random.default_rng(3).uniform(0.05, 0.95, tuple(td.batch_shape))
    f_out = _quantity(fd, what, fv, fastnn.tensor(u, dtype=F64))
    t_out = _quantity(td, what, tv, torch.tensor(u, dtype=torch.float64))
    assert tuple(f_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(f_out.detach().numpy(), t_out.detach().numpy(),
                               rtol=1e-9, atol=1e-10)
    if what == "mode" or not t_out.requires_grad:
        return
    w = np.random.default_rng(1).uniform(0.5, 1.5, tuple(t_out.shape))
    (f_out * fastnn.tensor(w, dtype=F64)).sum().backward()
    (t_out * torch.tensor(w, dtype=torch.float64)).sum().backward()
    for k in fp:
        tg = tp[k].grad
        if tg is None:  # e.g. the integer total_count
            continue
        np.testing.assert_allclose(fp[k].grad.numpy(), tg.numpy(), rtol=1e-7, atol=1e-9,
                                   err_msg=k)


@needs_torch
@pytest.mark.parametrize("name", list(CASES))
def test_shapes_repr_and_expand_match_torch(name):
    fd, td, *_ = _both(name, grad=False)
    assert tuple(fd.batch_shape) == tuple(td.batch_shape)
    assert tuple(fd.event_shape) == tuple(td.event_shape)
    assert repr(fd) == repr(td).replace("torch.", "fastnn.")
    big = (5,) + tuple(td.batch_shape)
    fe, te = fd.expand(big), td.expand(big)
    assert tuple(fe.batch_shape) == tuple(te.batch_shape)
    np.testing.assert_allclose(fe.mean.numpy(), te.mean.numpy(), rtol=1e-12)
    fastnn.manual_seed(0)
    assert tuple(fe.sample((2,)).shape) == (2,) + big + tuple(td.event_shape)


@needs_torch
def test_mvn_matrix_properties_match_torch():
    for name in ("MVN-cov", "MVN-prec", "MVN-tril"):
        fd, td, *_ = _both(name, grad=False)
        for attr in ("scale_tril", "covariance_matrix", "precision_matrix"):
            np.testing.assert_allclose(getattr(fd, attr).numpy(), getattr(td, attr).numpy(),
                                       rtol=1e-9, atol=1e-11, err_msg=f"{name}.{attr}")


@needs_torch
def test_binomial_enumerate_support_matches_torch():
    p = np.array([0.2, 0.7])
    f = D.Binomial(3, fastnn.tensor(p, dtype=F64))
    t = torch.distributions.Binomial(3, torch.tensor(p, dtype=torch.float64))
    for expand in (True, False):
        np.testing.assert_array_equal(f.enumerate_support(expand).numpy(),
                                      t.enumerate_support(expand).numpy())


# ---- gradients by finite differences (no torch needed) ----------------------------------
def _mvn(kind, loc, a):
    n = a.shape[-1]
    if kind == "scale_tril":  # strictly-lower part plus a positive diagonal
        eye = fastnn.eye(n, dtype=F64)
        tril = a.tril(-1) + eye * (a * eye).exp()
        return D.MultivariateNormal(loc, scale_tril=tril)
    spd = fastnn.matmul(a, a.mT) + n * fastnn.eye(n, dtype=F64)
    return D.MultivariateNormal(loc, **{kind: spd})


@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_mvn_log_prob_and_rsample_gradcheck(kind):
    rng = np.random.default_rng(11)
    loc = fastnn.tensor(rng.normal(size=(2, 3)), dtype=F64, requires_grad=True)
    a = fastnn.tensor(rng.normal(size=(3, 3)) * 0.5, dtype=F64, requires_grad=True)
    x = fastnn.tensor(rng.normal(size=(4, 2, 3)), dtype=F64)

    def rsample(loc, a):
        fastnn.manual_seed(123)  # the same noise on every call
        return _mvn(kind, loc, a).rsample((2,))
    assert gradcheck(lambda loc, a: _mvn(kind, loc, a).log_prob(x), (loc, a))
    assert gradcheck(lambda loc, a: _mvn(kind, loc, a).entropy(), (loc, a))
    assert gradcheck(rsample, (loc, a))


def test_scalar_families_gradcheck():
    rng = np.random.default_rng(5)
    t = lambda v: fastnn.tensor(v, dtype=F64, requires_grad=True)  # noqa: E731
    m, s, df = t(rng.normal(size=3)), t(rng.uniform(0.5, 1.5, 3)), t(rng.uniform(3.0, 6.0, 3))
    x = fastnn.tensor(rng.uniform(0.2, 3.0, (2, 3)), dtype=F64)
    p, rate = t(rng.uniform(0.2, 0.8, 3)), t(rng.uniform(0.5, 3.0, 3))
    k = fastnn.tensor([[0.0, 1.0, 4.0], [2.0, 5.0, 3.0]], dtype=F64)
    conc = t(rng.uniform(0.8, 3.0, (2, 3)))
    simplex = fastnn.tensor(rng.dirichlet([1.0, 2.0, 3.0], size=2), dtype=F64)

    def seeded(fn):
        def run(*args):
            fastnn.manual_seed(77)
            return fn(*args)
        return run
    checks = [
        (lambda m, s: D.LogNormal(m, s).log_prob(x), (m, s)),
        (lambda m, s: D.LogNormal(m, s).cdf(x), (m, s)),
        (seeded(lambda m, s: D.LogNormal(m, s).rsample((4,))), (m, s)),
        (lambda df, m, s: D.StudentT(df, m, s).log_prob(x), (df, m, s)),
        (lambda df, s: D.StudentT(df, 0.0, s).entropy(), (df, s)),
        (seeded(lambda m, s: D.StudentT(4.0, m, s).rsample((4,))), (m, s)),
        (lambda p: D.Binomial(5, probs=p).log_prob(k), (p,)),
        (lambda p: D.Geometric(probs=p).log_prob(k), (p,)),
        (lambda p: D.Geometric(probs=p).entropy(), (p,)),
        (lambda r: D.Poisson(r).log_prob(k), (rate,)),
        (lambda a: D.Dirichlet(a).log_prob(simplex), (conc,)),
        (lambda a: D.Dirichlet(a).entropy(), (conc,)),
    ]
    for fn, args in checks:
        assert gradcheck(fn, args)


def test_rsample_pathwise_values():
    loc = fastnn.tensor([0.5, -1.0], dtype=F64)
    tril = fastnn.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=F64)
    fastnn.manual_seed(4)
    x = D.MultivariateNormal(loc, scale_tril=tril).rsample((3,))
    fastnn.manual_seed(4)
    eps = fastnn.randn(3, 2, dtype=F64).numpy()
    np.testing.assert_allclose(x.numpy(), loc.numpy() + eps @ tril.numpy().T, rtol=1e-12)


# ---- validation -----------------------------------------------------------------------
def _mvn_err(kw):
    return lambda L: L.distributions.MultivariateNormal(L.zeros(2, dtype=L.float64), **kw(L))


ERRORS = {
    "binomial-count": lambda L: L.distributions.Binomial(2.5, L.tensor(0.3)),
    "binomial-negative": lambda L: L.distributions.Binomial(-1, L.tensor(0.3)),
    "binomial-probs": lambda L: L.distributions.Binomial(3, L.tensor(1.3)),
    "binomial-neither": lambda L: L.distributions.Binomial(3),
    "binomial-support": lambda L: L.distributions.Binomial(
        L.tensor([3.0, 4.0]), L.tensor([0.2, 0.3])).log_prob(L.tensor([4.0, 1.0])),
    "binomial-entropy": lambda L: L.distributions.Binomial(
        L.tensor([3.0, 4.0]), L.tensor([0.2, 0.3])).entropy(),
    "binomial-kl-count": lambda L: L.distributions.kl_divergence(
        L.distributions.Binomial(3, L.tensor(0.3)), L.distributions.Binomial(4, L.tensor(0.3))),
    "poisson-rate": lambda L: L.distributions.Poisson(L.tensor(-1.0)),
    "poisson-support": lambda L: L.distributions.Poisson(L.tensor(1.0)).log_prob(
        L.tensor(1.5)),
    "poisson-entropy": lambda L: L.distributions.Poisson(L.tensor(1.0)).entropy(),
    "geometric-zero": lambda L: L.distributions.Geometric(L.tensor([0.5, 0.0])),
    "geometric-above-one": lambda L: L.distributions.Geometric(L.tensor(1.5)),
    "geometric-support": lambda L: L.distributions.Geometric(L.tensor(0.3)).log_prob(
        L.tensor(-1.0)),
    "lognormal-scale": lambda L: L.distributions.LogNormal(0.0, -1.0),
    "lognormal-support": lambda L: L.distributions.LogNormal(0.0, 1.0).log_prob(
        L.tensor(0.0)),
    "studentt-df": lambda L: L.distributions.StudentT(L.tensor(-1.0)),
    "studentt-scale": lambda L: L.distributions.StudentT(2.0, 0.0, -1.0),
    "chi2-df": lambda L: L.distributions.Chi2(L.tensor([1.0, 0.0])),
    "dirichlet-0d": lambda L: L.distributions.Dirichlet(L.tensor(1.0)),
    "dirichlet-negative": lambda L: L.distributions.Dirichlet(L.tensor([1.0, -1.0])),
    "dirichlet-support": lambda L: L.distributions.Dirichlet(L.tensor([1.0, 2.0])).log_prob(
        L.tensor([0.5, 0.6])),
    "mvn-0d-loc": lambda L: L.distributions.MultivariateNormal(L.tensor(0.0), L.eye(2)),
    "mvn-none": lambda L: L.distributions.MultivariateNormal(L.zeros(2)),
    "mvn-two": _mvn_err(lambda L: dict(covariance_matrix=L.eye(2, dtype=L.float64),
                                       scale_tril=L.eye(2, dtype=L.float64))),
    "mvn-cov-1d": _mvn_err(lambda L: dict(covariance_matrix=L.ones(2, dtype=L.float64))),
    "mvn-prec-1d": _mvn_err(lambda L: dict(precision_matrix=L.ones(2, dtype=L.float64))),
    "mvn-tril-1d": _mvn_err(lambda L: dict(scale_tril=L.ones(2, dtype=L.float64))),
    "mvn-cov-indefinite": _mvn_err(lambda L: dict(
        covariance_matrix=L.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=L.float64))),
    "mvn-cov-asymmetric": _mvn_err(lambda L: dict(
        covariance_matrix=L.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=L.float64))),
    "mvn-prec-indefinite": _mvn_err(lambda L: dict(
        precision_matrix=L.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=L.float64))),
    "mvn-tril-upper": _mvn_err(lambda L: dict(
        scale_tril=L.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=L.float64))),
    "mvn-tril-negative": _mvn_err(lambda L: dict(
        scale_tril=L.tensor([[-1.0, 0.0], [0.0, 1.0]], dtype=L.float64))),
    "mvn-event-shape": lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.eye(2)).log_prob(L.zeros(3)),
    "mvn-nan-value": lambda L: L.distributions.MultivariateNormal(
        L.zeros(2), L.eye(2)).log_prob(L.tensor([float("nan"), 1.0])),
    "mvn-kl-event": lambda L: L.distributions.kl_divergence(
        L.distributions.MultivariateNormal(L.zeros(2), L.eye(2)),
        L.distributions.MultivariateNormal(L.zeros(3), L.eye(3))),
    "studentt-kl": lambda L: L.distributions.kl_divergence(
        L.distributions.StudentT(1.0), L.distributions.StudentT(2.0)),
}


def _error(fn, lib):
    with pytest.raises(Exception) as info:
        fn(lib)
    return info.value


@needs_torch
@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name):
    t_err, f_err = _error(ERRORS[name], torch), _error(ERRORS[name], fastnn)
    assert type(f_err) is type(t_err)
    t_line = (str(t_err).splitlines() or [""])[0].replace("torch.", "fastnn.")
    f_line = (str(f_err).splitlines() or [""])[0]
    assert " ".join(f_line.split()) == " ".join(t_line.split())


# ---- KL divergences ---------------------------------------------------------------------
def _kl_pairs(rng):
    u = lambda lo, hi, *s: rng.uniform(lo, hi, s)  # noqa: E731
    return {
        "Binomial": (lambda L, a, b: (L.distributions.Binomial(4, a),
                                      L.distributions.Binomial(4, b)),
                     u(0.1, 0.9, 3), u(0.1, 0.9, 2, 3)),
        "Binomial-larger-p-count": (lambda L, a, b: (
            L.distributions.Binomial(L.tensor([4.0, 6.0], dtype=L.float64), a),
            L.distributions.Binomial(4, b)), u(0.1, 0.9, 2), u(0.1, 0.9, 2)),
        "Poisson": (lambda L, a, b: (L.distributions.Poisson(a), L.distributions.Poisson(b)),
                    u(0.2, 4.0, 3), u(0.2, 4.0, 3)),
        "Geometric": (lambda L, a, b: (L.distributions.Geometric(a),
                                       L.distributions.Geometric(b)),
                      u(0.1, 0.9, 3), u(0.1, 0.9, 3)),
        "Bernoulli-Poisson": (lambda L, a, b: (L.distributions.Bernoulli(a),
                                               L.distributions.Poisson(b)),
                              u(0.1, 0.9, 3), u(0.2, 4.0, 3)),
        "Poisson-Bernoulli": (lambda L, a, b: (L.distributions.Poisson(a),
                                               L.distributions.Bernoulli(b)),
                              u(0.2, 4.0, 3), u(0.1, 0.9, 3)),
        "Poisson-Binomial": (lambda L, a, b: (L.distributions.Poisson(a),
                                              L.distributions.Binomial(3, b)),
                             u(0.2, 4.0, 3), u(0.1, 0.9, 3)),
        "Dirichlet": (lambda L, a, b: (L.distributions.Dirichlet(a),
                                       L.distributions.Dirichlet(b)),
                      u(0.5, 3.0, 2, 4), u(0.5, 3.0, 4)),
        "LogNormal": (lambda L, a, b: (L.distributions.LogNormal(a, b),
                                       L.distributions.LogNormal(b - 1, a.exp())),
                      rng.normal(size=3), u(0.5, 2.0, 3)),
        "MVN": (lambda L, a, b: (L.distributions.MultivariateNormal(a[..., :3], b),
                                 L.distributions.MultivariateNormal(
                                     a[0, 3:], scale_tril=L.linalg.cholesky(b[0] + b[1]))),
                rng.normal(size=(2, 6)), _spd(rng, 2, 3, 3)),
    }


KL_PAIRS = _kl_pairs(np.random.default_rng(21))


@needs_torch
@pytest.mark.parametrize("name", list(KL_PAIRS))
def test_kl_matches_torch(name):
    build, a, b = KL_PAIRS[name]
    fa, fb = (fastnn.tensor(v, dtype=F64, requires_grad=True) for v in (a, b))
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    f_kl = fastnn.distributions.kl_divergence(*build(fastnn, fa, fb))
    t_kl = torch.distributions.kl_divergence(*build(torch, ta, tb))
    assert tuple(f_kl.shape) == tuple(t_kl.shape)
    np.testing.assert_allclose(f_kl.detach().numpy(), t_kl.detach().numpy(), rtol=1e-9,
                               atol=1e-10)
    if not t_kl.requires_grad or not np.isfinite(t_kl.detach().numpy()).all():
        return
    t_kl.sum().backward()
    f_kl.sum().backward()
    for f, t in ((fa, ta), (fb, tb)):
        if t.grad is not None:
            np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), rtol=1e-7, atol=1e-9)


def test_kl_of_a_distribution_with_itself_is_zero():
    rng = np.random.default_rng(2)
    t = lambda v: fastnn.tensor(v, dtype=F64)  # noqa: E731
    for d in (D.Binomial(5, t(rng.uniform(0.1, 0.9, 3))), D.Poisson(t([0.5, 2.0])),
              D.Geometric(t([0.3, 0.8])), D.Dirichlet(t(rng.uniform(0.5, 2.0, (2, 3)))),
              D.LogNormal(t([0.0, 1.0]), t([1.0, 0.5])),
              D.MultivariateNormal(t(rng.normal(size=3)), t(_spd(rng, 3, 3)))):
        np.testing.assert_allclose(D.kl_divergence(d, d).numpy(), 0.0, atol=1e-12)


# ---- sampling ---------------------------------------------------------------------------
def _sampled():
    t = lambda v: fastnn.tensor(v, dtype=F64)  # noqa: E731
    cov = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    return [
        D.Binomial(t([[3.0], [10.0]]), t([0.2, 0.7])),
        D.Binomial(7, logits=t([-1.0, 0.5])),
        D.Poisson(t([0.3, 4.0])),
        D.Geometric(t([0.25, 0.9])),
        D.Geometric(logits=t([0.0, -1.0])),
        D.LogNormal(t([0.0, 0.5]), t([0.25, 0.5])),
        D.StudentT(t([5.0, 9.0]), t([1.0, -2.0]), t([0.5, 2.0])),
        D.Chi2(t([1.0, 4.0])),
        D.Dirichlet(t([[0.5, 1.0, 2.0], [3.0, 3.0, 1.0]])),
        D.MultivariateNormal(t([1.0, -1.0, 0.0]), t(cov)),
        D.MultivariateNormal(t([[1.0, -1.0, 0.0]]), precision_matrix=t(np.linalg.inv(cov))),
    ]


@pytest.mark.parametrize("dist", _sampled(), ids=lambda d: type(d).__name__)
def test_sample_moments_shapes_and_support(dist):
    fastnn.manual_seed(0)
    n = 40_000
    x = dist.sample((n,))
    assert tuple(x.shape) == (n,) + tuple(dist.batch_shape) + tuple(dist.event_shape)
    assert x.dtype == F64 and not x.requires_grad
    assert bool(dist.support.check(x).all())
    assert bool(fastnn.isfinite(dist.log_prob(x)).all())
    xs = x.numpy()
    mean, var = dist.mean.numpy(), dist.variance.numpy()
    sd = np.sqrt(var)
    np.testing.assert_allclose(xs.mean(0), mean, atol=5 * sd.max() / np.sqrt(n) + 1e-12)
    # a loose check on the spread: heavy tails (StudentT, LogNormal) converge slowly
    np.testing.assert_allclose(xs.var(0), var, rtol=0.1, atol=1e-3)
    if isinstance(dist, D.MultivariateNormal):
        emp = np.cov(xs.reshape(n, -1, 3)[:, 0].T)
        np.testing.assert_allclose(emp, dist.covariance_matrix.numpy().reshape(-1, 3, 3)[0],
                                   atol=0.05)
    fastnn.manual_seed(0)
    np.testing.assert_array_equal(dist.sample((n,)).numpy(), xs)  # the seed repeats draws
    shape = (2, 3) + tuple(dist.batch_shape) + tuple(dist.event_shape)
    assert tuple(dist.sample((2, 3)).shape) == shape
    assert tuple(dist.sample().shape) == shape[2:]
    if dist.has_rsample:
        assert tuple(dist.rsample((2, 3)).shape) == shape


def test_dirichlet_rsample_and_discrete_rsample_raise():
    assert D.Dirichlet(fastnn.ones(3)).rsample().shape == (3,)
    with pytest.raises(NotImplementedError):
        D.Poisson(fastnn.ones(3)).rsample()


def test_submodule_paths():
    import fastnn as torch_like
    assert torch_like.distributions.binomial.Binomial is D.Binomial
    assert torch_like.distributions.poisson.Poisson is D.Poisson
    assert torch_like.distributions.geometric.Geometric is D.Geometric
    assert torch_like.distributions.multivariate_normal.MultivariateNormal is \
        D.MultivariateNormal
    assert torch_like.distributions.log_normal.LogNormal is D.LogNormal
    assert torch_like.distributions.studentT.StudentT is D.StudentT
    assert torch_like.distributions.dirichlet.Dirichlet is D.Dirichlet
    assert torch_like.distributions.chi2.Chi2 is D.Chi2
    assert D.constraints.positive_definite.event_dim == 2
    assert repr(D.constraints.lower_cholesky) == "LowerCholesky()"
