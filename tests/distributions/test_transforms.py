"""Transforms, TransformedDistribution and the biject_to/transform_to registries against
PyTorch (float64): values, log-determinants, gradients, shapes and sampling statistics."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")
D = fastnn.distributions
T = fastnn.distributions.transforms
RNG = np.random.default_rng(7)


def _pair(arr, grad=False):
    a = fastnn.tensor(arr, dtype=fastnn.float64, requires_grad=grad)
    b = torch.tensor(arr, dtype=torch.float64, requires_grad=grad)
    return a, b


def _close(a, b, tol=1e-7):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _maps(lib, x_shape):
    M = lib.distributions.transforms
    loc = lib.tensor(np.linspace(-1, 1, x_shape[-1]), dtype=lib.float64)
    return {
        "exp": (M.ExpTransform(), "real"),
        "affine": (M.AffineTransform(0.5, -2.0), "real"),
        "affine_t": (M.AffineTransform(loc, loc.abs() + 0.5), "real"),
        "affine_ev1": (M.AffineTransform(loc, loc.abs() + 0.5, event_dim=1), "real"),
        "sigmoid": (M.SigmoidTransform(), "real"),
        "tanh": (M.TanhTransform(), "real"),
        "power": (M.PowerTransform(2.5), "pos"),
        "stick": (M.StickBreakingTransform(), "real"),
        "compose": (M.ComposeTransform([M.AffineTransform(1.0, 2.0), M.TanhTransform(),
                                        M.AffineTransform(0.0, 3.0)]), "real"),
        "exp_inv": (M.ExpTransform().inv, "pos"),
        "indep": (M.IndependentTransform(M.SigmoidTransform(), 1), "real"),
        "reshape": (M.ReshapeTransform((x_shape[-1],), (1, x_shape[-1])), "real"),
        "compose_mixed": (M.ComposeTransform([M.ExpTransform(), M.StickBreakingTransform()]),
                          "real"),
    }


@pytest.mark.parametrize("name", list(_maps(fastnn, (3, 4))))
def test_transform_values_and_logdet(name):
    shape = (3, 4)
    ours, kind = _maps(fastnn, shape)[name]
    ref, _ = _maps(torch, shape)[name]
    raw = RNG.normal(size=shape) if kind == "real" else RNG.uniform(0.2, 3.0, shape)
    xa, xb = _pair(raw, grad=True)
    ya, yb = ours(xa), ref(xb)
    _close(ya, yb)
    _close(ours.inv(ya.detach()), ref.inv(yb.detach()), 1e-6)
    la, lb = ours.log_abs_det_jacobian(xa, ya), ref.log_abs_det_jacobian(xb, yb)
    assert tuple(la.shape) == tuple(lb.shape)
    _close(la, lb)
    (la.sum() + ya.sum()).backward()
    (lb.sum() + yb.sum()).backward()
    _close(xa.grad, xb.grad, 1e-6)
    assert ours.domain.event_dim == ref.domain.event_dim
    assert ours.codomain.event_dim == ref.codomain.event_dim
    assert tuple(ours.forward_shape(shape)) == tuple(ref.forward_shape(shape))


def test_transform_misc():
    assert T.ExpTransform() == T.ExpTransform()
    assert T.ExpTransform() != T.SigmoidTransform()
    assert T.ExpTransform().sign == 1 and T.AffineTransform(0.0, -2.0).sign == -1
    assert T.TanhTransform().event_dim == 0 and T.SoftmaxTransform().event_dim == 1
    assert repr(T.ExpTransform().inv) == "_InverseTransform(ExpTransform())"
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    with pytest.raises(ValueError, match="different numbers of elements"):
        T.ReshapeTransform((2, 3), (5,))
    t = T.ExpTransform()
    assert t.inv.inv is t
    x = fastnn.tensor([0.0, 1.0])
    assert bool((T.identity_transform(x) == x).all())
    y = T.SoftmaxTransform()(fastnn.tensor([[1.0, 2.0, 3.0]]))
    _close(y, torch.softmax(torch.tensor([[1.0, 2.0, 3.0]]), -1), 1e-6)
    assert bool((T.AbsTransform()(fastnn.tensor([-2.0])) == 2).all())


def test_cache_returns_the_same_object():
    t = T.TanhTransform(cache_size=1)
    x = fastnn.tensor([30.0, -0.5])
    y = t(x)
    assert t.inv(y) is x  # atanh(1.0) would be inf
    assert T.TanhTransform(cache_size=0).inv(y) is not x
    assert T.ExpTransform().with_cache(1)._cache_size == 1


def test_tanh_logdet_is_finite_far_out():
    x = fastnn.tensor([-50.0, 0.0, 50.0], dtype=fastnn.float64)
    got = T.TanhTransform().log_abs_det_jacobian(x, x.tanh())
    ref = torch.distributions.transforms.TanhTransform().log_abs_det_jacobian(
        torch.tensor([-50.0, 0.0, 50.0], dtype=torch.float64),
        torch.tensor([-50.0, 0.0, 50.0], dtype=torch.float64).tanh())
    _close(got, ref)
    assert bool(fastnn.isfinite(got).all())


def _sac(lib, mu, log_std, noise):
    """A tanh-squashed Gaussian policy: rsample, then log_prob of the action."""
    base = lib.distributions.Normal(mu, log_std.exp())
    tanh = lib.distributions.transforms.TanhTransform(cache_size=1)
    dist = lib.distributions.TransformedDistribution(base, [tanh])
    x = mu + log_std.exp() * noise  # the same pre-squash draw in both libraries
    action = tanh(x)
    return dist, action, dist.log_prob(action).sum(-1)


def test_sac_tanh_gaussian_matches_torch():
    mu_np, ls_np = RNG.normal(size=(5, 2)) * 2, RNG.normal(size=(5, 2)) * 0.3
    noise = RNG.normal(size=(5, 2))
    mua, mub = _pair(mu_np, True)
    lsa, lsb = _pair(ls_np, True)
    na, nb = _pair(noise)
    da, aa, lpa = _sac(fastnn, mua, lsa, na)
    db, ab, lpb = _sac(torch, mub, lsb, nb)
    _close(aa, ab)
    _close(lpa, lpb)
    loss_a = (lpa * 0.2 - aa.pow(2).sum(-1)).sum()
    loss_b = (lpb * 0.2 - ab.pow(2).sum(-1)).sum()
    loss_a.backward()
    loss_b.backward()
    _close(mua.grad, mub.grad, 1e-6)
    _close(lsa.grad, lsb.grad, 1e-6)
    assert da.has_rsample and tuple(da.batch_shape) == (5, 2)


def test_sac_rsample_then_log_prob_gradients_flow():
    fastnn.manual_seed(0)
    mu = fastnn.zeros(4, 2, requires_grad=True)
    std = fastnn.ones(4, 2, requires_grad=True)
    dist = D.TransformedDistribution(D.Normal(mu, std), [T.TanhTransform(cache_size=1)])
    a = dist.rsample()
    lp = dist.log_prob(a)
    assert bool(fastnn.isfinite(lp).all())
    (lp.sum() + a.sum()).backward()
    assert mu.grad is not None and std.grad is not None


def _td_cases(lib):
    Dl = lib.distributions
    M = Dl.transforms
    loc = lib.tensor(RNG_FIXED[0], dtype=lib.float64)
    scale = lib.tensor(RNG_FIXED[1], dtype=lib.float64)
    return {
        "lognormal": Dl.TransformedDistribution(Dl.Normal(loc, scale), [M.ExpTransform()]),
        "neg_affine": Dl.TransformedDistribution(Dl.Normal(loc, scale),
                                                 [M.AffineTransform(1.0, -2.0)]),
        "sigmoid": Dl.TransformedDistribution(Dl.Normal(loc, scale), M.SigmoidTransform()),
        "stick": Dl.TransformedDistribution(Dl.Normal(loc, scale),
                                            [M.StickBreakingTransform()]),
    }


RNG_FIXED = (RNG.normal(size=(2, 3)), RNG.uniform(0.5, 1.5, (2, 3)))


@pytest.mark.parametrize("name", ["lognormal", "neg_affine", "sigmoid", "stick"])
def test_transformed_distribution_matches_torch(name):
    ours, ref = _td_cases(fastnn)[name], _td_cases(torch)[name]
    assert tuple(ours.batch_shape) == tuple(ref.batch_shape)
    assert tuple(ours.event_shape) == tuple(ref.event_shape)
    yb = ref.sample((4,))
    ya = fastnn.tensor(yb.numpy(), dtype=fastnn.float64)
    _close(ours.log_prob(ya), ref.log_prob(yb), 1e-6)
    assert tuple(ours.sample((3,)).shape) == tuple(ref.sample((3,)).shape)
    if name != "stick":
        _close(ours.cdf(ya), ref.cdf(yb), 1e-6)
        u = RNG.uniform(0.05, 0.95, (2, 3))
        _close(ours.icdf(fastnn.tensor(u)), ref.icdf(torch.tensor(u)), 1e-6)
    assert repr(ours.support) == repr(ref.support)
    big = (5,) + tuple(ref.batch_shape)
    assert tuple(ours.expand(big).batch_shape) == tuple(ref.expand(big).batch_shape)


def test_transformed_distribution_errors_and_stats():
    with pytest.raises(ValueError, match="transforms must be a Transform or list"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), 3)
    with pytest.raises(ValueError, match="a list of Transforms"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [3])
    with pytest.raises(ValueError, match="size at least 1"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [T.StickBreakingTransform()])
    fastnn.manual_seed(3)
    d = D.TransformedDistribution(D.Normal(fastnn.tensor([0.2, -0.1]), fastnn.tensor(0.5)),
                                  [T.ExpTransform()])
    s = d.sample((100000,))
    assert tuple(s.shape) == (100000, 2)
    want = np.exp(np.array([0.2, -0.1]) + 0.125)
    np.testing.assert_allclose(s.mean(0).numpy(), want, rtol=0.02)


@pytest.mark.parametrize("build", [
    lambda C: C.real, lambda C: C.positive, lambda C: C.nonnegative,
    lambda C: C.unit_interval, lambda C: C.interval(-2.0, 3.0), lambda C: C.greater_than(1.5),
    lambda C: C.less_than(-1.0), lambda C: C.simplex, lambda C: C.real_vector])
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registries(build, registry):
    ours = getattr(D, registry)(build(D.constraints))
    ref = getattr(torch.distributions, registry)(build(torch.distributions.constraints))
    raw = RNG.normal(size=(3, 4))
    ya, yb = ours(fastnn.tensor(raw)), ref(torch.tensor(raw))
    _close(ya, yb)
    assert bool(build(D.constraints).check(ya).all())
    if ours.bijective:
        _close(ours.log_abs_det_jacobian(fastnn.tensor(raw), ya),
               ref.log_abs_det_jacobian(torch.tensor(raw), yb))


def test_registry_unknown_constraint():
    with pytest.raises(NotImplementedError, match="Cannot transform"):
        D.biject_to(D.constraints.boolean)
