"""Multinomial: parity with torch.distributions, validation, sampling statistics, gradients."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck
from fastnn.distributions import Multinomial
from fastnn.distributions.multinomial import Multinomial as FromSubmodule

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
PROBS = RNG.uniform(0.1, 1.0, size=(2, 4))
LOGITS = RNG.normal(size=(3, 5))


def _pair(n, kind, arr, dtype="float64"):
    kw_f = {kind: fastnn.tensor(arr, dtype=getattr(fastnn, dtype))}
    kw_t = {kind: torch.tensor(arr, dtype=getattr(torch, dtype))}
    return Multinomial(n, **kw_f), torch.distributions.Multinomial(n, **kw_t)


def _close(a, b, dtype="float64"):
    tol = 1e-10 if dtype == "float64" else 2e-5
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_submodule_path():
    assert FromSubmodule is Multinomial
    assert fastnn.distributions.multinomial.Multinomial is Multinomial


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n,kind,arr", [(1, "probs", PROBS), (10, "probs", PROBS[0]),
                                        (7, "logits", LOGITS)])
def test_parity(n, kind, arr, dtype):
    f, t = _pair(n, kind, arr, dtype)
    assert f.batch_shape == t.batch_shape and f.event_shape == t.event_shape
    assert f.param_shape == t.param_shape and repr(f) == repr(t)
    for q in ("mean", "variance", "stddev", "probs", "logits"):
        _close(getattr(f, q), getattr(t, q), dtype)
    # torch's entropy is off by ~1e-7 (clamped binomial logits); see test_entropy_exact
    np.testing.assert_allclose(f.entropy().numpy(), t.entropy().numpy(), rtol=1e-6)
    ts = t.sample((6,))
    _close(f.log_prob(fastnn.tensor(ts.numpy())), t.log_prob(ts), dtype)


def test_log_prob_broadcasts_and_handles_impossible_classes():
    f, t = _pair(4, "probs", PROBS)
    v = np.array([[[4.0, 0, 0, 0]], [[1, 1, 1, 1]]])  # (2, 1, 4) against batch (2,)
    _close(f.log_prob(fastnn.tensor(v)), t.log_prob(torch.tensor(v)))
    p = np.array([0.0, 0.4, 0.6])
    f, t = _pair(10, "probs", p)
    v = np.array([0.0, 4.0, 6.0])
    _close(f.log_prob(fastnn.tensor(v)), t.log_prob(torch.tensor(v)))


def test_entropy_exact():
    """Against -sum p log p over every count vector."""
    import itertools
    import math
    p = np.array([0.0, 0.1, 0.3, 0.6])
    n = 6
    h = 0.0
    for c in itertools.product(range(n + 1), repeat=len(p)):
        if sum(c) == n and all(x == 0 for x, q in zip(c, p) if q == 0):
            lp = math.lgamma(n + 1) - sum(math.lgamma(x + 1) for x in c) + \
                sum(x * math.log(q) for x, q in zip(c, p) if x)
            h -= math.exp(lp) * lp
    got = Multinomial(n, fastnn.tensor(p, dtype=fastnn.float64)).entropy().item()
    assert got == pytest.approx(h, rel=1e-13, abs=1e-13)


def test_expand():
    f, t = _pair(5, "logits", LOGITS[0])
    fe, te = f.expand((2, 3)), t.expand((2, 3))
    assert fe.batch_shape == te.batch_shape == (2, 3) and fe.total_count == 5
    assert tuple(fe.sample((4,)).shape) == (4, 2, 3, 5)
    _close(fe.mean, te.mean)
    np.testing.assert_allclose(fe.entropy().numpy(), np.full((2, 3), float(f.entropy())),
                               rtol=1e-12)


def test_validation():
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        Multinomial(2.5, fastnn.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="Simplex"):
        Multinomial(3, fastnn.tensor([0.1, -0.2, 1.1]))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        Multinomial(3)
    m = Multinomial(3, fastnn.tensor([0.2, 0.8]))
    with pytest.raises(ValueError, match="within the support"):
        m.log_prob(fastnn.tensor([2.0, 2.0]))
    with pytest.raises(ValueError, match="within the support"):
        m.log_prob(fastnn.tensor([-1.0, 2.0]))
    Multinomial(3, fastnn.tensor([0.2, 0.8]), validate_args=False).log_prob(
        fastnn.tensor([2.0, 2.0]))
    with pytest.raises(RuntimeError, match="cannot sample"):
        Multinomial(0, fastnn.tensor([0.2, 0.8])).sample()


def test_d2l_sampling_shapes_and_dtype():
    fair = fastnn.ones(6) / 6
    one = Multinomial(1, fair).sample()
    assert one.shape == (6,) and one.dtype == fastnn.float32 and float(one.sum()) == 1
    assert set(one.tolist()) <= {0.0, 1.0}
    s = Multinomial(10, fair).sample((3,))
    assert s.shape == (3, 6) and s.sum(-1).tolist() == [10.0] * 3
    b = Multinomial(4, logits=fastnn.zeros(2, 3, dtype=fastnn.float64)).sample((5, 2))
    assert b.shape == (5, 2, 2, 3) and b.dtype == fastnn.float64


def test_sampling_statistics_and_seed():
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    m = Multinomial(20, fastnn.tensor(p))
    fastnn.manual_seed(0)
    a = m.sample((4000,))
    fastnn.manual_seed(0)
    assert fastnn.equal(a, m.sample((4000,)))
    x = a.numpy()
    assert (x.sum(-1) == 20).all() and (x >= 0).all()
    mean, var = 20 * p, 20 * p * (1 - p)
    # means within 5 standard errors, variances within 10%
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(var / 4000))
    np.testing.assert_allclose(x.var(0), var, rtol=0.1)
    # covariance of two classes: -n p_i p_j
    cov = np.mean((x[:, 0, 0] - mean[0, 0]) * (x[:, 0, 2] - mean[0, 2]))
    assert abs(cov - (-20 * 0.1 * 0.7)) < 0.2


def test_gradients():
    v = fastnn.tensor([[1.0, 0.0, 2.0, 3.0], [0.0, 0.0, 6.0, 0.0]], dtype=fastnn.float64)

    def by_probs(p):
        return Multinomial(6, probs=p).log_prob(v)

    def by_logits(lg):
        return Multinomial(6, logits=lg).log_prob(v)

    def entropy(lg):
        return Multinomial(3, logits=lg).entropy()
    probs = fastnn.tensor(PROBS, dtype=fastnn.float64, requires_grad=True)
    logits = fastnn.tensor(LOGITS[:2, :4], dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(by_probs, (probs,))
    assert gradcheck(by_logits, (logits,))
    assert gradcheck(entropy, (logits,))
    # and the values of the gradient match torch's
    tl = torch.tensor(LOGITS[:2, :4], requires_grad=True)
    torch.distributions.Multinomial(6, logits=tl).log_prob(torch.tensor(v.numpy())).sum() \
        .backward()
    by_logits(logits).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), tl.grad.numpy(), rtol=1e-10, atol=1e-12)
