"""Argument validation: the same error type and first message line as PyTorch."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

CASES = {
    "normal-scalar-scale": lambda L: L.distributions.Normal(0.0, -1.0),
    "normal-tensor-scale": lambda L: L.distributions.Normal(L.zeros(2), -L.ones(2)),
    "normal-nan-loc": lambda L: L.distributions.Normal(L.tensor([float("nan")]), 1.0),
    "laplace-scale": lambda L: L.distributions.Laplace(0.0, 0.0),
    "uniform-order": lambda L: L.distributions.Uniform(1.0, 0.0),
    "exponential-rate": lambda L: L.distributions.Exponential(L.tensor([1.0, -1.0])),
    "bernoulli-probs": lambda L: L.distributions.Bernoulli(probs=L.tensor([1.5])),
    "bernoulli-neither": lambda L: L.distributions.Bernoulli(),
    "bernoulli-both": lambda L: L.distributions.Bernoulli(0.5, 0.0),
    "categorical-0d": lambda L: L.distributions.Categorical(probs=L.tensor(0.5)),
    "categorical-logits-0d": lambda L: L.distributions.Categorical(logits=L.tensor(0.5)),
    "categorical-negative": lambda L: L.distributions.Categorical(
        probs=L.tensor([-0.1, 1.1])),
    "categorical-neither": lambda L: L.distributions.Categorical(),
    "gamma-rate": lambda L: L.distributions.Gamma(L.ones(2), -L.ones(2)),
    "independent-ndims": lambda L: L.distributions.Independent(
        L.distributions.Normal(L.zeros(3), L.ones(3)), 2),
    "normal-log_prob-shape": lambda L: L.distributions.Normal(L.zeros(3), 1.0).log_prob(
        L.zeros(4)),
    "normal-log_prob-number": lambda L: L.distributions.Normal(0.0, 1.0).log_prob(1.0),
    "exponential-support": lambda L: L.distributions.Exponential(1.0).log_prob(
        L.tensor(-1.0)),
    "categorical-support": lambda L: L.distributions.Categorical(
        logits=L.zeros(3)).log_prob(L.tensor(7)),
    "bernoulli-support": lambda L: L.distributions.Bernoulli(0.3).log_prob(L.tensor(0.5)),
    "onehot-event-shape": lambda L: L.distributions.OneHotCategorical(
        logits=L.zeros(3)).log_prob(L.zeros(4)),
    "uniform-support": lambda L: L.distributions.Uniform(0.0, 1.0).log_prob(L.tensor(2.0)),
    "kl-unknown-pair": lambda L: L.distributions.kl_divergence(
        L.distributions.Normal(0.0, 1.0), L.distributions.Categorical(logits=L.zeros(2))),
    "kl-cross-family": lambda L: L.distributions.kl_divergence(
        L.distributions.Normal(0.0, 1.0), L.distributions.Bernoulli(0.5)),
    "kl-independent-ndims": lambda L: L.distributions.kl_divergence(
        L.distributions.Independent(L.distributions.Normal(L.zeros(2, 2), 1.0), 1),
        L.distributions.Independent(L.distributions.Normal(L.zeros(2, 2), 1.0), 2)),
}


def _error(fn, lib):
    with pytest.raises(Exception) as info:
        fn(lib)
    return info.value


@pytest.mark.parametrize("name", list(CASES))
def test_errors_match_torch(name):
    t_err = _error(CASES[name], torch)
    f_err = _error(CASES[name], fastnn)
    assert type(f_err) is type(t_err)
    t_line = (str(t_err).splitlines() or [""])[0].replace("torch.", "fastnn.")
    f_line = (str(f_err).splitlines() or [""])[0]
    assert " ".join(f_line.split()) == " ".join(t_line.split())


def test_validate_args_false_skips_checks():
    D = fastnn.distributions
    d = D.Normal(0.0, -1.0, validate_args=False)
    with np.errstate(invalid="ignore"):
        assert np.isnan(d.log_prob(fastnn.tensor(0.0)).item())
    assert D.Exponential(1.0, validate_args=False).log_prob(fastnn.tensor(-1.0)).item() > 0


def test_set_default_validate_args():
    D = fastnn.distributions
    try:
        D.Distribution.set_default_validate_args(False)
        D.Normal(0.0, -1.0)
        with pytest.raises(ValueError):
            D.Normal(0.0, -1.0, validate_args=True)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_constraint_reprs_match_torch():
    fc, tc = fastnn.distributions.constraints, torch.distributions.constraints
    for name in ["real", "positive", "nonnegative", "unit_interval", "simplex", "boolean",
                 "one_hot", "real_vector", "nonnegative_integer"]:
        assert repr(getattr(fc, name)) == repr(getattr(tc, name))
    assert repr(fc.integer_interval(0, 4)) == repr(tc.integer_interval(0, 4))
