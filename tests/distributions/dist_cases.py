"""Shared helpers of the distribution tests: build the same distribution in fastnn and in
PyTorch from one set of numpy parameters."""
import numpy as np

RNG = np.random.default_rng(1234)


def draw(shape, kind, rng=RNG):
    if kind == "real":
        return rng.normal(size=shape)
    if kind == "pos":
        return rng.uniform(0.5, 2.0, size=shape)
    if kind == "prob":
        return rng.uniform(0.1, 0.9, size=shape)
    if kind == "low":
        return rng.uniform(-2.0, -1.0, size=shape)
    if kind == "high":
        return rng.uniform(1.0, 2.0, size=shape)
    if kind == "simplex":
        p = rng.uniform(0.1, 1.0, size=shape)
        return p / p.sum(-1, keepdims=True)
    raise ValueError(kind)


def values(kind, shape, rng=RNG):
    """Points at which to evaluate log_prob/cdf; ``shape`` broadcasts with the batch."""
    if kind == "real":
        return rng.normal(size=shape) * 1.5
    if kind == "pos":
        return rng.uniform(0.05, 3.0, size=shape)
    if kind == "unit":
        return rng.uniform(0.05, 0.95, size=shape)
    if kind == "sym":  # inside every Uniform(low, high) of the cases
        return rng.uniform(-0.9, 0.9, size=shape)
    if kind == "binary":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    if kind.startswith("index"):
        return rng.integers(0, int(kind[5:]), size=shape)
    if kind.startswith("onehot"):
        k = int(kind[6:])
        return np.eye(k)[rng.integers(0, k, size=shape[:-1])]
    raise ValueError(kind)


def make(lib, name, params):
    """The distribution ``name`` of the library ``lib`` (fastnn or torch) from ``params``."""
    D = lib.distributions
    if name == "Independent":
        return D.Independent(D.Normal(params["loc"], params["scale"]), 1)
    if name in ("Bernoulli", "Categorical", "OneHotCategorical"):
        return getattr(D, name)(**params)
    return getattr(D, name)(*params.values())


# name, {param: (shape, kind)}, value kind, value shape, methods beyond log_prob
CASES = [
    ("Normal", {"loc": ((3, 1), "real"), "scale": ((4,), "pos")}, "real", (2, 3, 4),
     ("cdf", "icdf")),
    ("Laplace", {"loc": ((3, 1), "real"), "scale": ((4,), "pos")}, "real", (2, 3, 4),
     ("cdf", "icdf")),
    ("Uniform", {"low": ((3, 1), "low"), "high": ((4,), "high")}, "sym", (2, 3, 4),
     ("cdf", "icdf")),
    ("Exponential", {"rate": ((3, 4), "pos")}, "pos", (2, 1, 4), ("cdf", "icdf")),
    ("Bernoulli", {"probs": ((3, 4), "prob")}, "binary", (2, 3, 4), ()),
    ("Bernoulli", {"logits": ((3, 4), "real")}, "binary", (2, 3, 4), ()),
    ("Categorical", {"probs": ((3, 5), "simplex")}, "index5", (2, 3), ()),
    ("Categorical", {"logits": ((3, 5), "real")}, "index5", (2, 3), ()),
    ("OneHotCategorical", {"logits": ((3, 5), "real")}, "onehot5", (2, 3, 5), ()),
    ("Gamma", {"concentration": ((3, 1), "pos"), "rate": ((4,), "pos")}, "pos", (2, 3, 4),
     ()),
    ("Beta", {"concentration1": ((3, 1), "pos"), "concentration0": ((4,), "pos")}, "unit",
     (2, 3, 4), ()),
    ("Independent", {"loc": ((3, 4), "real"), "scale": ((3, 4), "pos")}, "real", (2, 3, 4),
     ()),
]


def case_id(case):
    return case[0] + "-" + "-".join(case[1])
