"""nn.init: gains, fans, distributions, reproducibility from manual_seed, errors."""
import math
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn.nn import init


@pytest.mark.parametrize("name,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv_transpose2d", None),
])
def test_calculate_gain_matches_torch(name, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope slope not a valid number"):
        init.calculate_gain("leaky_relu", "slope")


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 2), (6, 2, 3, 5)])
def test_fan_in_and_fan_out(shape):
    torch = pytest.importorskip("torch")
    assert init._calculate_fan_in_and_fan_out(fastnn.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor "
                       "with fewer than 2 dimensions"):
        init.xavier_uniform_(fastnn.empty(5))


def _param(*shape):
    return nn.Parameter(fastnn.empty(*shape))


@pytest.mark.parametrize("fn,kw,bound", [
    (init.uniform_, {"a": -0.5, "b": 2.0}, (-0.5, 2.0)),
    (init.xavier_uniform_, {"gain": 2.0}, 2.0 * math.sqrt(6 / (300 + 200))),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(300)),
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"},
     math.sqrt(2) * math.sqrt(3 / 200)),
])
def test_uniform_schemes_stay_in_bounds_and_fill(fn, kw, bound):
    p = _param(200, 300)
    out = fn(p, **kw)
    assert out is p and p.requires_grad and p.grad_fn is None
    lo, hi = bound if isinstance(bound, tuple) else (-bound, bound)
    v = p.detach().numpy()
    assert v.min() >= lo and v.max() <= hi
    assert v.min() < lo + 0.01 * (hi - lo) and v.max() > hi - 0.01 * (hi - lo)


@pytest.mark.parametrize("fn,kw,std", [
    (init.normal_, {"mean": 1.0, "std": 0.5}, 0.5),
    (init.xavier_normal_, {}, math.sqrt(2 / 500)),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, math.sqrt(2 / 300)),
    (init.kaiming_normal_, {"a": 0.1, "mode": "fan_out"},
     math.sqrt(2 / (1 + 0.01)) / math.sqrt(200)),
])
def test_normal_schemes_have_the_right_spread(fn, kw, std):
    p = fn(_param(200, 300), **kw)
    assert p.detach().numpy().std() == pytest.approx(std, rel=0.03)


def test_trunc_normal_stays_in_range():
    p = init.trunc_normal_(_param(100, 100), mean=0.5, std=1.0, a=-1.0, b=1.5)
    v = p.detach().numpy()
    assert v.min() >= -1.0 and v.max() <= 1.5 and v.min() < -0.95 and v.max() > 1.45


def test_constant_ones_zeros_eye_dirac():
    p = _param(3, 4)
    np.testing.assert_array_equal(init.constant_(p, 2.5).detach().numpy(), 2.5)
    np.testing.assert_array_equal(init.ones_(p).detach().numpy(), 1)
    np.testing.assert_array_equal(init.zeros_(p).detach().numpy(), 0)
    np.testing.assert_array_equal(init.eye_(p).detach().numpy(), np.eye(3, 4))
    torch = pytest.importorskip("torch")
    for shape, groups in [((4, 2, 3, 3), 2), ((3, 5, 3), 1), ((2, 2, 1, 3, 3), 1)]:
        ref = torch.nn.init.dirac_(torch.empty(*shape), groups)
        np.testing.assert_array_equal(init.dirac_(_param(*shape), groups).detach().numpy(),
                                      ref.numpy())


def test_orthogonal_gives_orthonormal_rows():
    p = init.orthogonal_(_param(4, 6), gain=2.0)
    v = p.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(v @ v.T, 4 * np.eye(4), atol=1e-5)
    q = init.orthogonal_(_param(6, 2, 2)).detach().numpy().reshape(6, 4).astype(np.float64)
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.xavier_uniform_,
                                init.kaiming_normal_, init.trunc_normal_, init.orthogonal_])
def test_reproducible_from_manual_seed(fn):
    fastnn.manual_seed(7)
    a = fn(_param(5, 4)).detach().numpy().copy()
    fastnn.manual_seed(7)
    np.testing.assert_array_equal(a, fn(_param(5, 4)).detach().numpy())


def test_explicit_generator():
    g = fastnn.Generator().manual_seed(3)
    a = init.uniform_(_param(4), generator=g).detach().numpy().copy()
    g.manual_seed(3)
    np.testing.assert_array_equal(a, init.uniform_(_param(4), generator=g).detach().numpy())


def test_errors_and_zero_element_warning():
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of "
                       r"\['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(_param(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(_param(2, 2, 2))
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are "
                       "supported"):
        init.dirac_(_param(2, 2))
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        init.kaiming_uniform_(_param(0, 3))


def test_init_under_no_grad_does_not_record():
    p = _param(3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.normal_(p)
    assert p.grad_fn is None and p.is_leaf
    assert p._version > 0


def test_apply_with_isinstance_dispatch():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2))

    def init_fn(m):
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            init.xavier_uniform_(m.weight)
            init.constant_(m.bias, 0.1)
    net.apply(init_fn)
    assert (net[0].bias.detach().numpy() == 0).all()
    np.testing.assert_allclose(net[3].bias.detach().numpy(), 0.1, rtol=1e-6)
    assert net[0].weight.requires_grad and net[0].weight.is_leaf
