"""nn.init edge cases: trunc_normal_ on intervals with little or no probability mass (it
must finish in one pass and stay a truncated normal), integer tensors, and the private
``_no_grad_*`` helpers PyTorch code calls directly."""
import inspect
import math
import threading
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.nn import _trunc_normal
from fastnn.nn import init

FLOAT_DTYPES = [fastnn.float16, fastnn.float32, fastnn.float64]


def _finishes(fn, timeout=60.0):
    """Run ``fn`` in a daemon thread: a sampler that spins fails the test instead of
    hanging the run."""
    box = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as e:  # handed back to the test below
            box["error"] = e
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), "trunc_normal_ did not finish"
    if "error" in box:
        raise box["error"]
    return box["value"]


def _quiet_trunc_normal(t, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return init.trunc_normal_(t, *args, **kwargs)


def _phi(x):
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi) if math.isfinite(x) else 0.0


def _cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2))


def _truncated_moments(mean, std, a, b):
    alpha, beta = (a - mean) / std, (b - mean) / std
    mass = _cdf(beta) - _cdf(alpha)
    shift = (_phi(alpha) - _phi(beta)) / mass
    spread = ((alpha * _phi(alpha) if math.isfinite(alpha) else 0.0)
              - (beta * _phi(beta) if math.isfinite(beta) else 0.0)) / mass
    return mean + std * shift, std * math.sqrt(1 + spread - shift * shift)


def _ks_distance(samples, mean, std, a, b):
    """Largest gap between the empirical CDF and the truncated normal's CDF."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    low, mass = _cdf(alpha), _cdf(beta) - _cdf(alpha)
    xs = np.sort(samples)
    cdf_of = np.frompyfunc(lambda x: (_cdf((x - mean) / std) - low) / mass, 1, 1)
    model = cdf_of(xs).astype(np.float64)
    n = xs.size
    above = np.arange(1, n + 1) / n - model
    below = model - np.arange(n) / n
    return max(above.max(), below.max())


# ---- termination and range in the far tails ------------------------------------------------
TAIL_CASES = [
    (0.0, 1.0, 2.0, 2.0),            # an empty-width interval: every value is the bound
    (10.0, 1.0, -2.0, 2.0),          # mean far above b
    (0.0, 0.02, 0.5, 1.0),           # a 25 std away
    (0.0, 1.0, 30.0, 31.0),
    (0.0, 1.0, -40.0, -39.0),        # mirrored: far in the lower tail
    (0.0, 1.0, -1e9, -1e9 + 1),
    (0.0, 1.0, 1e4, math.inf),
    (-3.0, 0.5, 4.0, 4.5),
]


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
@pytest.mark.parametrize("mean,std,a,b", TAIL_CASES)
def test_trunc_normal_far_tails_finish_within_bounds(mean, std, a, b, dtype):
    t = _finishes(lambda: _quiet_trunc_normal(fastnn.empty(64, dtype=dtype), mean, std, a, b))
    arr = t.numpy()
    with np.errstate(over="ignore"):
        low, high = arr.dtype.type(a), arr.dtype.type(b)  # the bounds as the dtype holds them
    if np.isfinite(low):  # (float16 has no -1e9)
        assert np.isfinite(arr).all()
    assert (arr >= low).all() and (arr <= high).all()


def test_trunc_normal_zero_width_interval_gives_the_bound():
    t = _finishes(lambda: init.trunc_normal_(fastnn.empty(3), mean=0.0, std=1.0, a=2.0, b=2.0))
    assert t.tolist() == [2.0, 2.0, 2.0]


def test_trunc_normal_mean_far_above_piles_up_below_b():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        t = _finishes(lambda: init.trunc_normal_(fastnn.empty(20000), mean=10.0, std=1.0))
    arr = t.numpy().astype(np.float64)
    # N(10, 1) on [-2, 2] is close to 2 - Exponential(rate 8): mean about 1.875
    expected_mean, expected_std = _truncated_moments(10.0, 1.0, -2.0, 2.0)
    assert abs(arr.mean() - expected_mean) < 0.01
    assert abs(arr.std() - expected_std) < 0.01
    assert arr.max() <= 2.0


# ---- it is still the truncated normal -------------------------------------------------------
MOMENT_CASES = [
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 1.0, 0.0, 1e9),
    (0.0, 1.0, 3.0, 5.0),
    (0.0, 1.0, -5.0, -3.0),
    (2.0, 0.5, -1.0, 2.2),
    (0.0, 1.0, -3.0, 10.0),
]


@pytest.mark.parametrize("dtype", [fastnn.float32, fastnn.float64], ids=str)
@pytest.mark.parametrize("mean,std,a,b", MOMENT_CASES)
def test_trunc_normal_matches_the_truncated_normal_law(mean, std, a, b, dtype):
    gen = fastnn.Generator().manual_seed(1234)
    t = _quiet_trunc_normal(fastnn.empty(200_000, dtype=dtype), mean, std, a, b, generator=gen)
    samples = t.numpy().astype(np.float64)
    expected_mean, expected_std = _truncated_moments(mean, std, a, b)
    # sampling error of the mean is std / sqrt(n), about 0.0022 std here
    assert abs(samples.mean() - expected_mean) < 0.01 * std
    assert abs(samples.std() - expected_std) < 0.01 * std
    # 0.0062 is the KS critical distance at level 1e-6 for 200k draws
    assert _ks_distance(samples, mean, std, a, b) < 0.0062


def test_trunc_normal_inverse_cdf_path_alone_is_the_truncated_normal(monkeypatch):
    # no rejection rounds: every value of a wide interval comes from the inverse CDF
    monkeypatch.setattr(_trunc_normal, "_REJECTION_ROUNDS", 0)
    gen = fastnn.Generator().manual_seed(7)
    t = init.trunc_normal_(fastnn.empty(200_000, dtype=fastnn.float64), generator=gen)
    samples = t.numpy()
    assert _ks_distance(samples, 0.0, 1.0, -2.0, 2.0) < 0.0062


def test_standard_quantile_is_accurate_in_the_bulk_and_far_tail():
    sample = _trunc_normal.standard_truncated_normal
    u = np.array([0.975, 0.5, 0.025, 1e-10])
    # over the whole line the sampler is the normal quantile of u
    expected = [1.959963984540054, 0.0, -1.959963984540054, -6.361340902404056]
    for exact, tol in ((True, 1e-12), (False, 5e-9)):  # the fit alone: ~1.2e-9
        np.testing.assert_allclose(sample(u, -math.inf, math.inf, exact), expected, rtol=tol,
                                   atol=tol)
    # beyond 40 std: half and a tenth of the remaining tail mass (from 40-digit arithmetic)
    far = [40.01731412676465, 40.05748745803602]
    np.testing.assert_allclose(sample(np.array([0.5, 0.9]), 40.0, math.inf, False), far,
                               rtol=1e-13)
    np.testing.assert_allclose(sample(np.array([0.5, 0.9]), -math.inf, -40.0, False),
                               [-v for v in far], rtol=1e-13)


def test_trunc_normal_generator_makes_it_reproducible():
    def draw(seed):
        gen = fastnn.Generator().manual_seed(seed)
        return init.trunc_normal_(fastnn.empty(50), a=0.5, b=3.0, generator=gen).tolist()
    assert draw(3) == draw(3)
    assert draw(3) != draw(4)
    fastnn.manual_seed(11)
    first = init.trunc_normal_(fastnn.empty(10), std=0.02).tolist()
    fastnn.manual_seed(11)
    assert init.trunc_normal_(fastnn.empty(10), std=0.02).tolist() == first


def test_trunc_normal_keeps_dtype_records_no_graph_and_returns_the_tensor():
    w = fastnn.empty(4, 5, dtype=fastnn.float16, requires_grad=True)
    out = init.trunc_normal_(w, std=0.02)
    assert out is w and w.dtype == fastnn.float16 and w.grad_fn is None
    assert init.trunc_normal_(fastnn.empty(0, 3)).shape == (0, 3)


def test_trunc_normal_errors():
    with pytest.raises(RuntimeError, match=r"found from=2 > to=1$"):
        init.trunc_normal_(fastnn.empty(3), a=2.0, b=1.0)
    with pytest.raises(ZeroDivisionError):
        init.trunc_normal_(fastnn.empty(3), std=0.0)


# ---- integer tensors ------------------------------------------------------------------------
INT_CASES = [
    # (dtype name, call, expected type, message)
    ("int64", lambda T, t: T.nn.init.trunc_normal_(t), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    ("int32", lambda T, t: T.nn.init.trunc_normal_(t, a=5.0, b=6.0), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Int'"),
    ("uint8", lambda T, t: T.nn.init.trunc_normal_(t), RuntimeError,
     "value cannot be converted to type uint8 without overflow"),
    ("int8", lambda T, t: T.nn.init.trunc_normal_(t, a=-1000.0, b=1000.0), RuntimeError,
     "value cannot be converted to type int8 without overflow"),
    ("bool", lambda T, t: T.nn.init.trunc_normal_(t), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Bool'"),
    ("int64", lambda T, t: T.nn.init.orthogonal_(t), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    ("uint8", lambda T, t: T.nn.init.orthogonal_(t), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Byte'"),
    ("int16", lambda T, t: T.nn.init.sparse_(t, 0.5), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Short'"),
]


@pytest.mark.filterwarnings("ignore:mean is more than 2 std")
@pytest.mark.parametrize("dtype,call,error,message", INT_CASES)
def test_random_inits_reject_integer_tensors(lib, dtype, call, error, message):
    t = lib.zeros(3, 3, dtype=getattr(lib, dtype))
    with pytest.raises(error) as info:
        call(lib, t)
    assert str(info.value) == message
    assert t.tolist() == [[0] * 3] * 3  # untouched


def test_orthogonal_of_empty_integer_tensor_is_a_no_op(lib):
    t = lib.empty(0, 3, dtype=lib.int64)
    assert lib.nn.init.orthogonal_(t) is t


# ---- the _no_grad_* helpers -----------------------------------------------------------------
def test_no_grad_helpers_fill_in_place_without_a_graph():
    w = fastnn.nn.Parameter(fastnn.empty(200, 50))
    assert init._no_grad_fill_(w, 0.5) is w and (w == 0.5).all()
    assert init._no_grad_zero_(w) is w and (w == 0).all()
    init._no_grad_uniform_(w, -0.1, 0.1)
    assert w.min() >= -0.1 and w.max() <= 0.1 and w.grad_fn is None
    init._no_grad_normal_(w, 3.0, 0.01)
    assert abs(w.mean().item() - 3.0) < 0.01
    init._no_grad_trunc_normal_(w, 0.0, 1.0, -0.5, 0.5)
    assert w.min() >= -0.5 and w.max() <= 0.5 and w.grad_fn is None
    gen = fastnn.Generator().manual_seed(5)
    first = init._no_grad_uniform_(fastnn.empty(4), 0.0, 1.0, generator=gen).tolist()
    gen.manual_seed(5)
    assert init._no_grad_uniform_(fastnn.empty(4), 0.0, 1.0, gen).tolist() == first


@pytest.mark.parametrize("name", ["_no_grad_trunc_normal_", "_no_grad_uniform_",
                                  "_no_grad_normal_", "_no_grad_fill_", "_no_grad_zero_",
                                  "trunc_normal_"])
def test_no_grad_helper_signatures_match_pytorch(name):
    torch = pytest.importorskip("torch")

    def shape_of(fn):
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]
    assert shape_of(getattr(init, name)) == shape_of(getattr(torch.nn.init, name))


def test_trunc_normal_warning_matches_pytorch(lib):
    with pytest.warns(UserWarning, match=r"mean is more than 2 std from \[a, b\] in "
                                         r"nn.init.trunc_normal_"):
        lib.nn.init.trunc_normal_(lib.empty(5), mean=0.0, std=0.02, a=0.5, b=1.0)
