"""Sampling: shapes and dtypes, empirical moments, fastnn.manual_seed reproducibility and
pathwise (reparameterized) gradients."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

D = fastnn.distributions


def _all_dists(dtype=fastnn.float64):
    t = lambda v: fastnn.tensor(v, dtype=dtype)  # noqa: E731
    return [
        D.Normal(t([0.5, -1.0]), t([1.5, 0.3])),
        D.Laplace(t([0.5, -1.0]), t([1.5, 0.3])),
        D.Uniform(t([0.0, -2.0]), t([1.0, 3.0])),
        D.Exponential(t([0.5, 3.0])),
        D.Bernoulli(probs=t([0.2, 0.7])),
        D.Bernoulli(logits=t([-1.0, 2.0])),
        D.Categorical(probs=t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
        D.OneHotCategorical(logits=t([[0.1, 0.2, 0.7], [1.5, -0.25, 0.25]])),
        D.Gamma(t([0.5, 3.0]), t([2.0, 1.0])),
        D.Beta(t([0.5, 3.0]), t([2.0, 1.0])),
        D.Independent(D.Normal(t([[0.0, 1.0]]), t([[1.0, 2.0]])), 1),
    ]


@pytest.mark.parametrize("dist", _all_dists(), ids=lambda d: type(d).__name__)
def test_empirical_moments(dist):
    fastnn.manual_seed(0)
    n = 200_000
    x = dist.sample((n,)).double().numpy()
    mean, var = dist.mean.detach().numpy(), dist.variance.detach().numpy()
    if type(dist).__name__ == "Categorical":
        probs = dist.probs.numpy()
        freq = np.stack([(x == k).mean(0) for k in range(probs.shape[-1])], -1)
        np.testing.assert_allclose(freq, probs, atol=0.01)
        return
    sd = np.sqrt(var)
    np.testing.assert_allclose(x.mean(0), mean, atol=5 * sd.max() / np.sqrt(n) + 1e-3)
    np.testing.assert_allclose(x.var(0), var, rtol=0.03, atol=1e-3)


@pytest.mark.parametrize("dist", _all_dists(), ids=lambda d: type(d).__name__)
def test_manual_seed_repeats_samples(dist):
    fastnn.manual_seed(123)
    a = dist.sample((4, 3)).numpy()
    b = dist.sample((4, 3)).numpy()
    fastnn.manual_seed(123)
    np.testing.assert_array_equal(dist.sample((4, 3)).numpy(), a)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [fastnn.float32, fastnn.float64])
def test_sample_shapes_and_dtypes(dtype):
    for dist in _all_dists(dtype):
        s = dist.sample((5, 2))
        assert s.shape == (5, 2) + tuple(dist.batch_shape) + tuple(dist.event_shape)
        expected = fastnn.int64 if type(dist).__name__ == "Categorical" else dtype
        assert s.dtype == expected
        if dist.has_rsample:
            r = dist.rsample((3,))
            assert r.dtype == dtype and r.shape == (3,) + tuple(dist.batch_shape) + tuple(
                dist.event_shape)


def test_samples_lie_in_support():
    fastnn.manual_seed(5)
    for dist in _all_dists():
        s = dist.sample((1000,))
        assert bool(dist.support.check(s).all()), type(dist).__name__
        assert fastnn.isfinite(dist.log_prob(s)).all()


def test_normal_rsample_pathwise_gradient():
    loc = fastnn.tensor([0.5, -1.0, 2.0], dtype=fastnn.float64, requires_grad=True)
    scale = fastnn.tensor([1.5, 0.3, 1.0], dtype=fastnn.float64, requires_grad=True)
    fastnn.manual_seed(9)
    z = D.Normal(loc, scale).rsample((4,))
    z.sum().backward()
    eps = ((z - loc) / scale).detach().numpy()
    np.testing.assert_allclose(loc.grad.numpy(), np.full(3, 4.0))
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-12)
    fastnn.manual_seed(9)
    np.testing.assert_allclose(fastnn.randn(4, 3, dtype=fastnn.float64).numpy(), eps,
                               rtol=1e-12)


@pytest.mark.parametrize("name", ["Normal", "Laplace", "Uniform", "Exponential",
                                  "Independent"])
def test_rsample_gradcheck_with_fixed_noise(name):
    a = fastnn.tensor([[0.3, -0.5], [1.2, 0.1]], dtype=fastnn.float64, requires_grad=True)
    b = fastnn.tensor([[1.5, 0.7], [2.0, 1.1]], dtype=fastnn.float64, requires_grad=True)

    def fn(a, b):
        fastnn.manual_seed(2024)  # the same noise on every call
        if name == "Exponential":
            return D.Exponential(b).rsample((3,))
        if name == "Independent":
            return D.Independent(D.Normal(a, b), 2).rsample((3,))
        if name == "Uniform":
            return D.Uniform(a - 2, a + b).rsample((3,))
        return getattr(D, name)(a, b).rsample((3,))
    assert gradcheck(fn, (a, b))


def test_sample_does_not_track_gradients():
    loc = fastnn.zeros(3, requires_grad=True)
    d = D.Normal(loc, 1.0)
    assert not d.sample().requires_grad and d.rsample().requires_grad
    logits = fastnn.zeros(4, requires_grad=True)
    assert not D.Categorical(logits=logits).sample().requires_grad


def test_policy_gradient_step():
    """The REINFORCE pattern: -log_prob(action) * reward backpropagates into the logits."""
    logits = fastnn.tensor([[0.1, 0.5, -0.3]], requires_grad=True)
    dist = D.Categorical(logits=logits)
    fastnn.manual_seed(0)
    action = dist.sample()
    loss = -(dist.log_prob(action) * 2.0).sum() - 0.01 * dist.entropy().sum()
    loss.backward()
    probs = fastnn.softmax(logits, -1).detach().numpy()[0]
    onehot = np.eye(3)[action.numpy()[0]]
    expected = -2.0 * (onehot - probs)
    # entropy gradient wrt logits: -p * (log p + H)
    h = -(probs * np.log(probs)).sum()
    ent_grad = -probs * (np.log(probs) + h)
    np.testing.assert_allclose(logits.grad.numpy()[0], expected - 0.01 * ent_grad, rtol=1e-5,
                               atol=1e-6)
