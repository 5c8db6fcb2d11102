"""The same parameters through fastnn.distributions and torch.distributions: log_prob,
entropy, moments, cdf/icdf, shapes and reprs agree, and so do their gradients."""
import importlib.util
import math
import pathlib

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

_spec = importlib.util.spec_from_file_location(
    "distributions_cases", pathlib.Path(__file__).with_name("dist_cases.py"))
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
CASES, case_id, make, draw, values = (_cases.CASES, _cases.case_id, _cases.make, _cases.draw,
                                      _cases.values)

TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-10)}
QUANTITIES = ("log_prob", "entropy", "mean", "variance", "stddev", "mode", "cdf", "icdf",
              "perplexity")


def _pair(case, dtype, seed=0):
    name, spec, vkind, vshape, _ = case
    rng = np.random.default_rng(seed)
    arrays = {k: draw(shape, kind, rng) for k, (shape, kind) in spec.items()}
    fp = {k: fastnn.tensor(a, dtype=getattr(fastnn, dtype), requires_grad=True)
          for k, a in arrays.items()}
    tp = {k: torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True)
          for k, a in arrays.items()}
    v = values(vkind, vshape, rng)
    is_index = vkind.startswith("index")
    fv = fastnn.tensor(v) if is_index else fastnn.tensor(v, dtype=getattr(fastnn, dtype))
    tv = torch.tensor(v) if is_index else torch.tensor(v, dtype=getattr(torch, dtype))
    return make(fastnn, name, fp), make(torch, name, tp), fp, tp, fv, tv, rng


def _eval(dist, what, value, rng_u):
    if what == "log_prob":
        return dist.log_prob(value)
    if what == "cdf":
        return dist.cdf(value)
    if what == "icdf":
        return dist.icdf(rng_u)
    if what in ("entropy", "perplexity"):
        return getattr(dist, what)()
    return getattr(dist, what)


_COMBOS = [(c, w) for c in CASES for w in QUANTITIES if w not in ("cdf", "icdf") or w in c[4]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case,what", _COMBOS, ids=[f"{case_id(c)}-{w}" for c, w in _COMBOS])
def test_values_and_grads_match_torch(case, dtype, what):
    fd, td, fp, tp, fv, tv, rng = _pair(case, dtype)
    u = rng.uniform(0.02, 0.98, size=(2,) + tuple(td.batch_shape))
    fu = fastnn.tensor(u, dtype=getattr(fastnn, dtype))
    tu = torch.tensor(u, dtype=getattr(torch, dtype))
    t_out = _eval(td, what, tv, tu)
    f_out = _eval(fd, what, fv, fu)
    assert tuple(f_out.shape) == tuple(t_out.shape)
    assert str(f_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
    expected = t_out.detach().numpy()
    np.testing.assert_allclose(f_out.detach().numpy(), expected, equal_nan=True,
                               **TOL[dtype])
    if not t_out.requires_grad or not np.isfinite(expected).all():
        return
    w = np.random.default_rng(7).normal(size=expected.shape)
    (t_out * torch.tensor(w, dtype=t_out.dtype)).sum().backward()
    (f_out * fastnn.tensor(w, dtype=f_out.dtype)).sum().backward()
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-8, atol=1e-9)
    for k in tp:
        tg = tp[k].grad
        fg = fp[k].grad
        if tg is None:
            assert fg is None or not fg.numpy().any()
            continue
        np.testing.assert_allclose(fg.numpy(), tg.numpy(), err_msg=k, **tol)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_shapes_repr_and_constraints_match_torch(case):
    fd, td, *_ = _pair(case, "float32")
    assert fd.batch_shape == tuple(td.batch_shape)
    assert fd.event_shape == tuple(td.event_shape)
    assert isinstance(fd.batch_shape, fastnn.Size)
    assert repr(fd) == repr(td).replace("torch.", "fastnn.")
    assert fd.has_rsample == td.has_rsample or case[0] in ("Gamma", "Beta")
    assert fd.has_enumerate_support == td.has_enumerate_support
    assert sorted(fd.arg_constraints) == sorted(td.arg_constraints)
    assert repr(fd.support).split("(")[0] == repr(td.support).split("(")[0]
    for shape in [(), (5,), (2, 3)]:
        sample = fd.sample(shape)
        assert sample.shape == tuple(td.sample(shape).shape)
        assert str(sample.dtype).split(".")[-1] == str(td.sample(shape).dtype).split(".")[-1]
        assert not sample.requires_grad


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_expand_matches_torch(case):
    fd, td, _, _, fv, tv, _ = _pair(case, "float64")
    new_batch = (2,) + tuple(td.batch_shape)
    fe, te = fd.expand(new_batch), td.expand(new_batch)
    assert type(fe) is type(fd) and fe.batch_shape == tuple(te.batch_shape)
    assert fe.event_shape == tuple(te.event_shape)
    np.testing.assert_allclose(fe.log_prob(fv).detach().numpy(),
                               te.log_prob(tv).detach().numpy(), rtol=1e-9, atol=1e-10)
    assert fe.sample((3,)).shape == tuple(te.sample((3,)).shape)


@pytest.mark.parametrize("name", ["Bernoulli", "Categorical", "OneHotCategorical"])
def test_enumerate_support_matches_torch(name):
    logits = np.random.default_rng(3).normal(size=(2, 3))
    fd = getattr(fastnn.distributions, name)(logits=fastnn.tensor(logits))
    td = getattr(torch.distributions, name)(logits=torch.tensor(logits))
    for expand in (True, False):
        f, t = fd.enumerate_support(expand), td.enumerate_support(expand)
        assert f.shape == tuple(t.shape)
        np.testing.assert_array_equal(f.numpy(), t.numpy())


def test_scalar_parameters_give_default_dtype_and_empty_batch():
    D = fastnn.distributions
    n = D.Normal(0.0, 1.0)
    assert n.batch_shape == () and n.loc.dtype == fastnn.float32
    assert n.sample().shape == () and n.rsample((4,)).shape == (4,)
    assert repr(n) == repr(torch.distributions.Normal(0.0, 1.0))
    n64 = D.Normal(fastnn.tensor([0.0, 1.0], dtype=fastnn.float64), 2.0)
    assert n64.scale.dtype == fastnn.float64 and n64.batch_shape == (2,)


def test_normal_icdf_inverts_cdf_and_extremes():
    n = fastnn.distributions.Normal(fastnn.tensor(0.5, dtype=fastnn.float64), 2.0)
    x = fastnn.tensor(np.linspace(-8, 8, 33), dtype=fastnn.float64)
    np.testing.assert_allclose(n.icdf(n.cdf(x)).numpy(), x.numpy(), rtol=1e-8, atol=1e-8)
    ends = n.icdf(fastnn.tensor([0.0, 1.0], dtype=fastnn.float64)).numpy()
    assert ends[0] == -math.inf and ends[1] == math.inf


def test_bernoulli_mode_and_param_shape():
    p = [0.2, 0.5, 0.9]
    f = fastnn.distributions.Bernoulli(probs=fastnn.tensor(p))
    t = torch.distributions.Bernoulli(probs=torch.tensor(p))
    np.testing.assert_array_equal(f.mode.numpy(), t.mode.numpy())
    assert f.param_shape == tuple(t.param_shape)


def test_beta_mode_matches_torch():
    a = np.array([0.5, 2.0, 3.0, 0.7, 0.5])
    b = np.array([0.5, 0.5, 4.0, 0.3, 0.9])
    f = fastnn.distributions.Beta(fastnn.tensor(a), fastnn.tensor(b)).mode
    t = torch.distributions.Beta(torch.tensor(a), torch.tensor(b)).mode
    np.testing.assert_allclose(f.numpy(), t.numpy(), equal_nan=True)


def test_gamma_beta_rsample_has_support_shape():
    D = fastnn.distributions
    for d in (D.Gamma(2.0, 1.0), D.Beta(2.0, 3.0)):
        assert d.has_rsample and d.support.check(d.rsample((4,))).all()
