"""Bitwise promotion and in-place shifts, histograms, chain_matmul, matrix powers, scaled
Bessel functions / erfcx / log_ndtr, ``out=`` on many functions, 0-d inputs and error types."""
import math
import warnings

import numpy as np
import pytest

import fastnn


def _pt():
    return pytest.importorskip("torch")


def _same(a, b, rtol=1e-6, atol=1e-8):
    """A fastnn result against a torch result (tensors, or tuples of them)."""
    if isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y, rtol, atol)
        return
    assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=rtol, atol=atol)


# ---- 1. bitwise ops keep the tensor's dtype against 0-d tensors and scalars ----------------
@pytest.mark.parametrize("dtype", ["int32", "int16", "int8", "uint8"])
@pytest.mark.parametrize("op", ["__and__", "__or__", "__xor__", "__lshift__", "__rshift__"])
def test_bitwise_with_0d_tensor_keeps_dtype(dtype, op):
    a = fastnn.tensor([1, 2, 3], dtype=getattr(fastnn, dtype))
    assert getattr(a, op)(fastnn.tensor(1)).dtype is a.dtype
    assert getattr(a, op)(1).dtype is a.dtype


def test_bitwise_values_and_errors():
    assert (fastnn.tensor([True, False]) << 1).tolist() == [2, 0]
    assert (fastnn.tensor([True, False]) << 1).dtype is fastnn.int64
    assert (fastnn.tensor([6, 5], dtype=fastnn.int32) & fastnn.tensor(3)).tolist() == [2, 1]
    assert (1 << fastnn.tensor([1, 2], dtype=fastnn.int8)).dtype is fastnn.int8
    assert (fastnn.tensor([1, 2]) << 64).tolist() == [0, 0]
    assert (fastnn.tensor([-8, 8]) >> 70).tolist() == [-1, 0]
    assert (fastnn.tensor([1, 2], dtype=fastnn.int8) << 9).tolist() == [0, 0]
    for bad in (lambda: fastnn.tensor([1.0]) & 1, lambda: fastnn.tensor([1]) << 1.5,
                lambda: fastnn.tensor([1]) << fastnn.tensor([1.0]), lambda: 1.5 << fastnn.tensor([1]),
                lambda: fastnn.tensor([True]) << fastnn.tensor([True])):
        with pytest.raises(NotImplementedError):
            bad()


@pytest.mark.parametrize("expr", [
    "t.tensor([1, 2, 3], dtype=t.int32) & t.tensor(2)",
    "t.tensor([1, 2, 3], dtype=t.int16) | t.tensor(1)",
    "t.tensor([1, 2, 3], dtype=t.uint8) >> t.tensor(1)",
    "t.tensor([1, 2, 3], dtype=t.int8) ^ t.tensor(1)",
    "t.tensor([1, 2, 3], dtype=t.int32) << t.tensor(1)",
    "t.tensor([1, 2, 3], dtype=t.int8) << t.tensor([1, 2, 3])",
    "t.tensor([True, False]) << 1",
    "t.tensor([True, False]) >> 1",
    "t.tensor([-8, 8]) >> -1",
    "t.tensor([1, 2]) << -1",
    "True << t.tensor([1, 2])",
    "t.tensor(3) << t.tensor([1, 2], dtype=t.int8)",
    "t.bitwise_left_shift(t.tensor([1, 2]), 1)",
    "t.bitwise_right_shift(t.tensor([4, 8]), t.tensor([1, 2]))",
    "t.bitwise_left_shift(3, t.tensor([1]))",
])
def test_bitwise_matches_torch(expr):
    torch = _pt()
    _same(eval(expr, {"t": fastnn}), eval(expr, {"t": torch}))


# ---- 2. in-place shifts ----------------------------------------------------------------------
def test_shift_assign_is_in_place():
    a = fastnn.tensor([1, 2, 3], dtype=fastnn.int32)
    view = a[1:]
    a <<= 1
    assert a.tolist() == [2, 4, 6] and view.tolist() == [4, 6] and a.dtype is fastnn.int32
    a >>= fastnn.tensor(1)
    assert a.tolist() == [1, 2, 3] and view.tolist() == [2, 3]
    b = fastnn.tensor([1, 4])
    assert b.bitwise_left_shift_(2) is b and b.tolist() == [4, 16]
    assert b.bitwise_right_shift_(1) is b and b.tolist() == [2, 8]


# ---- 3. new functions ------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    "t.histogram(t.tensor([1., 2, 1]), bins=4, range=(0., 3.))",
    "t.tensor([1., 2, 1]).histogram(bins=t.tensor([0., 1, 2, 3]))",
    "t.histogram(t.tensor([1., 2, 1]), bins=4, weight=t.tensor([1., 2, 4]), density=True)",
    "t.histogram(t.tensor([1., 1.]), bins=2)",
    "t.histogram(t.tensor([]), bins=2)",
    "t.histogram(t.tensor([1., 2., 5.]), bins=2, range=(0., 4.))",
    "t.histogram(t.tensor([[1., 2.], [3, 4]]), bins=3, density=True)",
    "t.histogram(t.tensor([1., 2.]), bins=t.tensor([2., 0.]))",
    "t.histogram(t.linspace(-3, 3, 101, dtype=t.float64) ** 3, bins=7)",
    "t.histogramdd(t.tensor([[0., 1.], [1., 0.], [2., 0.]]), bins=[3, 3])",
    "t.histogramdd(t.tensor([[0., 1.], [1., 0.], [2., 0.]]), bins=2, range=[0., 2., 0., 1.], "
    "density=True)",
    "t.histogramdd(t.tensor([[0., 1.], [1., 0.], [2., 0.]]), "
    "bins=[t.tensor([0., 1, 2]), t.tensor([0., 1])], weight=t.tensor([1., 2, 3]))",
])
def test_histogram_matches_torch(call):
    torch = _pt()
    got, want = eval(call, {"t": fastnn}), eval(call, {"t": torch})
    _same(got.hist, want.hist, rtol=1e-5)
    _same(got.bin_edges, want.bin_edges, rtol=1e-6)


def test_histogram_plain():
    hist, edges = fastnn.histogram(fastnn.tensor([1.0, 2.0, 1.0]), bins=4, range=(0.0, 3.0))
    assert hist.tolist() == [0.0, 2.0, 1.0, 0.0]
    assert edges.tolist() == [0.0, 0.75, 1.5, 2.25, 3.0]


@pytest.mark.parametrize("call, err", [
    ("t.histogram(t.tensor([1, 2]), bins=2)", NotImplementedError),
    ("t.histogram(t.tensor([1., 2.]), bins=0)", RuntimeError),
    ("t.histogram(t.tensor([1., 2.]), bins=2, range=(3., 1.))", RuntimeError),
    ("t.histogram(t.tensor([1., float('nan')]), bins=2)", RuntimeError),
    ("t.histogram(t.tensor([1., 2.], dtype=t.float64), bins=t.tensor([0., 1.5, 3.]))",
     RuntimeError),
    ("t.histogram(t.tensor([1., 2.]), bins=t.tensor([[0., 1.]]))", RuntimeError),
    ("t.histogram(t.tensor([1., 2.]), bins=t.tensor([0., 1.]), range=(0., 3.))", TypeError),
    ("t.histogramdd(t.tensor([0., 1., 2.]), bins=2)", RuntimeError),
])
def test_histogram_errors(call, err):
    with pytest.raises(err):
        eval(call, {"t": fastnn})


def test_chain_matmul_and_matrix_power():
    a = fastnn.tensor([[2.0, 0.0], [0.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fastnn.chain_matmul(a, a, fastnn.eye(2)).tolist() == [[4.0, 0.0], [0.0, 16.0]]
        assert fastnn.chain_matmul(a).tolist() == a.tolist()
        with pytest.raises(RuntimeError):
            fastnn.chain_matmul(fastnn.ones(2), a)
    assert fastnn.matrix_power(a, -1).tolist() == [[0.5, 0.0], [0.0, 0.25]]
    assert fastnn.linalg.matrix_power(a, -2).tolist() == [[0.25, 0.0], [0.0, 0.0625]]
    assert fastnn.linalg.matrix_power(a, 0).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    x = fastnn.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=fastnn.float64, requires_grad=True)
    fastnn.linalg.matrix_power(x, -2).sum().backward()
    torch = pytest.importorskip("torch")
    y = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64, requires_grad=True)
    torch.linalg.matrix_power(y, -2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-10)


def test_addmm_in_place():
    c = fastnn.ones(2, 2)
    assert c.addmm_(fastnn.ones(2, 2), fastnn.ones(2, 2), beta=2, alpha=0.5) is c
    assert c.tolist() == [[3.0, 3.0], [3.0, 3.0]]


_SPECIAL_POINTS = [-800.0, -40.0, -26.0, -5.5, -1.0001, -0.3, 0.0, 1e-12, 0.999, 1.001, 3.0,
                   5.99, 6.01, 12.0, 29.99, 30.01, 100.0, 700.0, 1e4]


@pytest.mark.parametrize("name", ["i0e", "i1", "i1e", "erfcx", "log_ndtr"])
def test_special_functions_match_torch(name):
    torch = _pt()
    x = np.array(_SPECIAL_POINTS)
    got = getattr(fastnn.special, name)(fastnn.tensor(x)).numpy()
    want = getattr(torch.special, name)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    got32 = getattr(fastnn.special, name)(fastnn.tensor(x.astype(np.float32)))
    want32 = getattr(torch.special, name)(torch.tensor(x.astype(np.float32)))
    _same(got32, want32, rtol=2e-5, atol=0)
    xs = [-3.0, -0.5, 0.0, 0.7, 2.0, 8.0]
    a = fastnn.tensor(xs, dtype=fastnn.float64, requires_grad=True)
    out = getattr(fastnn.special, name)(a)
    out.sum().backward()
    b = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    ref = getattr(torch.special, name)(b)
    ref.sum().backward()
    assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)


def test_special_functions_plain_values():
    x = fastnn.tensor([0.0, 1.0], dtype=fastnn.float64)
    assert fastnn.special.i0e(x).tolist()[0] == 1.0
    assert abs(fastnn.special.i1(x).tolist()[1] - 0.5651591039924851) < 1e-15
    assert abs(fastnn.special.erfcx(x).tolist()[1] - math.exp(1) * math.erfc(1)) < 1e-15
    assert abs(fastnn.special.log_ndtr(x).tolist()[0] - math.log(0.5)) < 1e-15
    assert fastnn.special.i1(fastnn.tensor([1, 2])).dtype is fastnn.float32


# ---- 4. keywords -----------------------------------------------------------------------------
def test_div_rounding_mode_in_place_and_tile_dims():
    x = fastnn.arange(1.0, 4.0)
    assert x.div_(2, rounding_mode="floor") is x and x.tolist() == [0.0, 1.0, 1.0]
    y = fastnn.tensor([-3.0, 3.0])
    assert y.div_(fastnn.tensor(2.0), rounding_mode="trunc").tolist() == [-1.0, 1.0]
    assert fastnn.tile(fastnn.arange(3), dims=(2,)).tolist() == [0, 1, 2, 0, 1, 2]
    assert fastnn.arange(3).tile(dims=(2,)).tolist() == [0, 1, 2, 0, 1, 2]


# ---- 5. out= ---------------------------------------------------------------------------------
def _out_args(t, name):
    f = t.tensor([0.5, 1.5, -2.0])
    i = t.tensor([1, 2, 3])
    m, v, b3 = t.ones(2, 2), t.ones(2), t.ones(2, 2, 2)
    table = {
        "logaddexp": (f, f), "logaddexp2": (f, f), "hypot": (f, f), "copysign": (f, f),
        "nextafter": (f, f), "heaviside": (f, f), "ldexp": (f, i), "float_power": (f, f),
        "fmax": (f, f), "fmin": (f, f), "erf": (f,), "erfc": (f,), "erfinv": (f * 0.1,),
        "lgamma": (f,), "digamma": (f,), "polygamma": (1, f), "i0": (f,), "sinc": (f,),
        "logit": (f * 0.1,), "exp2": (f,), "asinh": (f,), "acosh": (f + 3,),
        "atanh": (f * 0.1,), "frac": (f,), "fix": (f,), "sgn": (f,), "signbit": (f,),
        "nan_to_num": (f,), "isposinf": (f,), "isneginf": (f,), "bitwise_and": (i, i),
        "bitwise_or": (i, i), "bitwise_xor": (i, i), "bitwise_not": (i,), "gcd": (i, i),
        "logcumsumexp": (f, 0), "diff": (f,), "kron": (m, m), "addmv": (v, m, v),
        "addbmm": (m, b3, b3), "baddbmm": (b3, b3, b3), "addr": (m, v, v), "tril": (m,),
        "triu": (m,), "take": (f, t.tensor([0, 2])), "searchsorted": (t.tensor([1.0, 2.0]), f),
        "bucketize": (f, t.tensor([1.0, 2.0])), "histc": (f,), "nansum": (f,),
        "matrix_power": (m, 3), "bitwise_left_shift": (i, i), "bitwise_right_shift": (i, i),
    }
    return table[name]


_OUT_NAMES = ("logaddexp logaddexp2 hypot copysign nextafter heaviside ldexp float_power fmax "
              "fmin erf erfc erfinv lgamma digamma polygamma i0 sinc logit exp2 asinh acosh atanh "
              "frac fix sgn signbit nan_to_num isposinf isneginf bitwise_and bitwise_or "
              "bitwise_xor bitwise_not gcd logcumsumexp diff kron addmv addbmm baddbmm addr tril "
              "triu take searchsorted bucketize histc nansum matrix_power bitwise_left_shift "
              "bitwise_right_shift").split()


@pytest.mark.parametrize("name", _OUT_NAMES)
def test_out_keyword(name):
    args = _out_args(fastnn, name)
    expected = getattr(fastnn, name)(*args)
    out = fastnn.empty(0, dtype=expected.dtype)
    assert getattr(fastnn, name)(*args, out=out) is out
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    if expected.is_floating_point():
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type Long"):
            getattr(fastnn, name)(*args, out=fastnn.empty(0, dtype=fastnn.int64))


def test_out_keyword_more():
    a, b = fastnn.ones(2, 3), fastnn.ones(2, 3)
    out = fastnn.empty(2, 3)
    assert fastnn.linalg.cross(a, b, out=out) is out and out.tolist() == [[0.0] * 3] * 2
    m = fastnn.tensor([[2.0, 0.0], [0.0, 4.0]])
    out = fastnn.empty(2, 2)
    assert fastnn.linalg.matrix_power(m, 2, out=out) is out and out.tolist()[1][1] == 16.0
    mant, expo = fastnn.empty(0), fastnn.empty(0, dtype=fastnn.int32)
    res = fastnn.frexp(fastnn.tensor([8.0]), out=(mant, expo))
    assert res[0] is mant and mant.tolist() == [0.5] and expo.tolist() == [4]
    out = fastnn.empty(0)
    assert fastnn.special.erfcx(fastnn.tensor([0.0]), out=out) is out and out.tolist() == [1.0]


def test_out_tuple_dtypes_must_match():
    x = fastnn.ones(3, dtype=fastnn.float64)
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype double"):
        fastnn.sort(x, out=(fastnn.empty(3), fastnn.empty(3, dtype=fastnn.long)))
    values, indices = fastnn.empty(3, dtype=fastnn.float64), fastnn.empty(3, dtype=fastnn.long)
    fastnn.sort(x, out=(values, indices))
    assert values.tolist() == [1.0, 1.0, 1.0]


# ---- 6. 0-d and empty inputs -----------------------------------------------------------------
def test_zero_dim_inputs():
    assert fastnn.flip(fastnn.tensor(3.0), [0]).item() == 3.0
    assert fastnn.flip(fastnn.tensor(3.0), [-1]).shape == ()
    (idx,) = fastnn.where(fastnn.tensor(3.0))
    assert idx.tolist() == [0] and idx.dtype is fastnn.int64
    assert fastnn.where(fastnn.tensor(0.0))[0].tolist() == []
    assert fastnn.take(fastnn.tensor(3.0), fastnn.tensor([0])).tolist() == [3.0]
    assert fastnn.take(fastnn.tensor(3.0), fastnn.tensor(0)).shape == ()
    values, inverse, counts = fastnn.unique_consecutive(fastnn.zeros(0, 3), dim=0,
                                                        return_inverse=True, return_counts=True)
    assert tuple(values.shape) == (0, 3) and inverse.tolist() == [] and counts.tolist() == []
    assert tuple(fastnn.unique_consecutive(fastnn.zeros(0, 3), dim=0).shape) == (0, 3)
    with pytest.raises(RuntimeError):
        fastnn.unique_consecutive(fastnn.zeros(0, 3), dim=1)


# ---- 7. exception types ----------------------------------------------------------------------
@pytest.mark.parametrize("call, err", [
    ("t.narrow(t.arange(3), 0, 4, 1)", IndexError),
    ("t.narrow(t.arange(3), 0, -4, 1)", IndexError),
    ("t.narrow(t.arange(3), 0, 1, -1)", RuntimeError),
    ("t.narrow(t.arange(3), 0, 1, 3)", RuntimeError),
    ("t.flip(t.arange(3), [0, 0])", RuntimeError),
    ("t.flip(t.ones(2, 2), [0, -2])", RuntimeError),
    ("t.flip(t.tensor(3.), [1])", IndexError),
    ("t.linalg.cross(t.ones(2, 3), t.ones(3, 3))", RuntimeError),
    ("t.heaviside(t.ones(2), 2.5)", TypeError),
])
def test_error_types(call, err):
    with pytest.raises(err):
        eval(call, {"t": fastnn})
    torch = pytest.importorskip("torch")
    with pytest.raises(err):
        eval(call, {"t": torch})


def test_narrow_negative_start_still_works():
    assert fastnn.narrow(fastnn.arange(3), 0, -1, 1).tolist() == [2]
    assert fastnn.narrow(fastnn.arange(3), 0, 3, 0).tolist() == []


@pytest.mark.parametrize("equation, n", [("ij->j", 1), ("ij->", 1), ("ii", 1), ("ij->ji", 1),
                                         ("ii->i", 1), ("ij,ij->ij", 2)])
def test_einsum_bool_sums_to_int64(equation, n):
    ops = [fastnn.ones(2, 2, dtype=fastnn.bool)] * n
    got = fastnn.einsum(equation, *ops)
    torch = pytest.importorskip("torch")
    want = torch.einsum(equation, *[torch.ones(2, 2, dtype=torch.bool)] * n)
    _same(got, want)


def test_zeta_values_and_gradient():
    x = [2.0, 3.0, 1.0, 0.5, 2.0, 2.0, -1.0, 2.5, 4.0, 1.5, 15.2, 30.0]
    q = [1.0, 2.0, 1.0, 1.0, -1.0, -1.5, 0.5, -1.5, 0.0, 1e10, 97.5, 0.3]
    got = fastnn.special.zeta(fastnn.tensor(x, dtype=fastnn.float64),
                              fastnn.tensor(q, dtype=fastnn.float64))
    assert abs(got.tolist()[0] - math.pi ** 2 / 6) < 1e-15
    assert math.isinf(got.tolist()[2]) and math.isnan(got.tolist()[3])
    qq = fastnn.tensor([1.0, 2.0], requires_grad=True)
    out = fastnn.special.zeta(fastnn.tensor([2.0, 3.0]), qq)
    out.sum().backward()
    xx = fastnn.tensor([2.0], requires_grad=True)
    with pytest.raises(NotImplementedError):
        fastnn.special.zeta(xx, fastnn.tensor([1.0])).sum().backward()
    torch = _pt()
    want = torch.special.zeta(torch.tensor(x, dtype=torch.float64),
                              torch.tensor(q, dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-13, equal_nan=True)
    tq = torch.tensor([1.0, 2.0], requires_grad=True)
    ref = torch.special.zeta(torch.tensor([2.0, 3.0]), tq)
    ref.sum().backward()
    assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__
    np.testing.assert_allclose(qq.grad.numpy(), tq.grad.numpy(), rtol=1e-6)
    _same(fastnn.special.zeta(2.0, fastnn.tensor([1.0, 2.0])),
          torch.special.zeta(2.0, torch.tensor([1.0, 2.0])))
    _same(fastnn.special.zeta(fastnn.tensor([2, 3]), 1), torch.special.zeta(torch.tensor([2, 3]), 1))
