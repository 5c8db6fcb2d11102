"""Reductions with special values: NaN/inf gradients, seed dtypes, norms, out= dtypes."""
import math

import numpy as np
import pytest

import fastnn

nan, inf = math.nan, math.inf


def _grad(fn, values, dtype=None):
    """d(sum(w * fn(x)))/dx for fastnn (weights 1, 2, ... tell the outputs apart)."""
    x = fastnn.tensor(values, dtype=dtype, requires_grad=True)
    y = fn(fastnn, x)
    w = fastnn.arange(1.0, y.numel() + 1).reshape(y.shape).to(y.dtype)
    (y * w).sum().backward()
    return x.grad.numpy()


def _torch_grad(torch, fn, values, dtype=None):
    x = torch.tensor(values, dtype=dtype, requires_grad=True)
    y = fn(torch, x)
    w = torch.arange(1.0, y.numel() + 1).reshape(y.shape).to(y.dtype)
    (y * w).sum().backward()
    return x.grad.numpy()


# ---- 1. max()/min() over all elements with NaN ------------------------------------------

@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("values, expect", [
    ([1.0, nan, 3.0], [0.0, 1.0, 0.0]),
    ([nan, 1.0, nan], [0.5, 0.0, 0.5]),
    ([2.0, 2.0, 2.0], [1 / 3, 1 / 3, 1 / 3]),
])
def test_max_min_all_gradient_goes_to_nans(name, values, expect):
    grad = _grad(lambda lib, x: getattr(x, name)(), values)
    np.testing.assert_allclose(grad, expect, rtol=1e-6)


def test_max_all_second_order_with_nan():
    x = fastnn.tensor([1.0, nan, 3.0], dtype=fastnn.float64, requires_grad=True)
    (g,) = fastnn.autograd.grad(x.max() * 2, x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [0.0, 2.0, 0.0])


@pytest.mark.parametrize("name", ["amax", "amin"])
def test_amax_all_with_nan_is_nan_and_empty_names_itself(name):
    # amax/amin (unlike max/min) give NaN gradients when the extreme is NaN
    grad = _grad(lambda lib, x: getattr(x, name)(), [1.0, nan, 3.0])
    assert np.isnan(grad).all()
    y = getattr(fastnn.tensor([[1.0, 5.0]], requires_grad=True), name)(keepdim=True)
    assert tuple(y.shape) == (1, 1) and y.grad_fn.name() == name.capitalize() + "Backward0"
    with pytest.raises(RuntimeError, match=rf"^{name}\(\): Expected reduction dim to be "):
        getattr(fastnn.zeros(2, 0), name)()


NAN_CASES = [
    lambda lib, x: x.max(),
    lambda lib, x: x.min(),
    lambda lib, x: x.amax(),
    lambda lib, x: x.amin(-1),
    lambda lib, x: x.max(0)[0],
    lambda lib, x: x.min(-1)[0],
    lambda lib, x: x.median(),
    lambda lib, x: x.nanmedian(),
    lambda lib, x: x.nanmedian(-1)[0],
]


@pytest.mark.parametrize("fn", NAN_CASES)
def test_extreme_gradients_with_nan_match_torch(fn):
    torch = pytest.importorskip("torch")
    values = [[1.0, nan, 3.0], [nan, 2.0, nan], [1.0, 2.0, 3.0]]
    np.testing.assert_allclose(_grad(fn, values), _torch_grad(torch, fn, values), rtol=1e-6)


# ---- 2. a seed gradient is cast to its output's dtype ------------------------------------

def _seeded(lib, seed_dtype, out_dtype, how):
    x = lib.tensor([1 / 3, 2 / 7, 1e-9], dtype=out_dtype, requires_grad=True)
    y = x * 1.0000001
    seed = lib.tensor([1 / 3, 1 / 7, 1 / 9], dtype=seed_dtype)
    if how == "backward":
        y.backward(seed)
        return x.grad
    if how == "backward_graph":
        y.backward(seed, create_graph=True)
        return x.grad
    return lib.autograd.grad(y, x, seed, create_graph=how == "grad_graph")[0]


@pytest.mark.filterwarnings(r"ignore:Using backward\(\) with create_graph")
@pytest.mark.parametrize("how", ["backward", "backward_graph", "grad", "grad_graph"])
@pytest.mark.parametrize("seed_dtype, out_dtype", [
    ("float32", "float64"), ("float64", "float32"), ("float16", "float64"),
    ("int64", "float32")])
def test_seed_gradient_cast_to_output_dtype(how, seed_dtype, out_dtype):
    got = _seeded(fastnn, getattr(fastnn, seed_dtype), getattr(fastnn, out_dtype), how)
    assert got.dtype == getattr(fastnn, out_dtype)
    # the seed rounded to the seed dtype, then carried in the output's precision
    seed = np.array([1 / 3, 1 / 7, 1 / 9]).astype(seed_dtype).astype(out_dtype)
    expect = seed * np.asarray(1.0000001, out_dtype)
    np.testing.assert_allclose(got.detach().numpy(), expect, rtol=1e-15 if
                               out_dtype == "float64" else 1e-7)
    torch = pytest.importorskip("torch")
    ref = _seeded(torch, getattr(torch, seed_dtype), getattr(torch, out_dtype), how)
    np.testing.assert_array_equal(got.detach().numpy(), ref.detach().numpy())


def test_seed_of_wrong_shape_message():
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^Mismatch in shape: grad_output\[0\] has a shape "
                       r"of \w+\.Size\(\[2\]\) and output\[0\] has a shape of "
                       r"\w+\.Size\(\[3\]\)\.$"):
        (x * 2).backward(fastnn.ones(2, dtype=fastnn.float64))


# ---- 3 and 6. vector norms: counts, and gradients at zeros and NaNs ----------------------

@pytest.mark.parametrize("values, count", [([1.0, inf, 0.0], 2.0), ([1.0, nan, 0.0], 2.0),
                                           ([-inf, nan, 0.0], 2.0), ([0.0, 0.0], 0.0)])
@pytest.mark.parametrize("fn", [lambda x: fastnn.linalg.vector_norm(x, 0),
                                lambda x: fastnn.linalg.norm(x, 0),
                                lambda x: fastnn.norm(x, 0)])
def test_zero_norm_counts_inf_and_nan(values, count, fn):
    x = fastnn.tensor(values, requires_grad=True)
    y = fn(x)
    assert y.item() == count
    assert y.grad_fn.name() == "LinalgVectorNormBackward0"


NORM_INPUT = [[1.0, 0.0, -2.0], [0.0, 0.0, 0.0], [3.0, nan, -1.0], [inf, 2.0, -inf]]


@pytest.mark.parametrize("ord_, dim, expect", [
    (1, -1, [1, 0, -1, 0, 0, 0, 1, 0, -1, 1, 1, -1]),
    (inf, -1, [0, 0, -1, 0, 0, 0, 0, 0, 0, 0.5, 0, -0.5]),
    (-inf, -1, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
    (inf, None, [0] * 12),
])
def test_norm_gradient_special_values(ord_, dim, expect):
    x = fastnn.tensor(NORM_INPUT, requires_grad=True)
    fastnn.linalg.vector_norm(x, ord_, dim=dim).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), expect)


def test_half_norm_gradient_is_zero_at_zero_entries():
    x = fastnn.tensor([[1.0, -2.0, -2.0], [0.5, 0.0, 3.0]], requires_grad=True)
    fastnn.linalg.vector_norm(x, 0.5, dim=-1).sum().backward()
    assert x.grad[1, 1].item() == 0.0 and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("ord_", [0, 0.5, 1, 2, 3, -1, -2, -0.5, inf, -inf])
@pytest.mark.parametrize("dim", [None, -1, (0, 1)])
@pytest.mark.parametrize("values", [NORM_INPUT, [[1.0, -2.0, -2.0], [0.5, 0.0, 3.0]]])
def test_vector_norm_values_and_gradients_match_torch(ord_, dim, values):
    torch = pytest.importorskip("torch")
    outs = []
    for lib in (fastnn, torch):
        x = lib.tensor(values, requires_grad=True)
        y = lib.linalg.vector_norm(x, ord_, dim=dim)
        (g,) = lib.autograd.grad(y.sum(), x, allow_unused=True, materialize_grads=True)
        outs.append((y.detach().numpy(), g.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0], rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-5, equal_nan=True)


@pytest.mark.parametrize("ord_, dim, message", [
    (-1, None, "cannot compute the -1 norm on an empty tensor because"),
    (-0.5, -1, "cannot compute the -0.5 norm on the dimension -1because this dimension"),
    (-inf, (0, 1), "cannot compute the -inf norm on the dimension 1because"),
    (inf, 1, "cannot compute the inf norm on the dimension 1because"),
])
def test_negative_and_inf_norms_of_empty_raise(ord_, dim, message):
    with pytest.raises(RuntimeError, match=message):
        fastnn.linalg.vector_norm(fastnn.zeros(2, 0), ord_, dim=dim)
    # reducing only non-empty dims is fine
    assert tuple(fastnn.linalg.vector_norm(fastnn.zeros(2, 0), ord_, dim=0).shape) == (0,)


# ---- 4. maximum/minimum gradients at NaN ---------------------------------------------------

@pytest.mark.parametrize("name, expect_x, expect_z", [
    ("maximum", [0, 1, 1, 0.5, 1, 0.5, 1], [1, 1, 0, 0.5, 1, 0.5, 1]),
    ("minimum", [1, 1, 0, 0.5, 1, 0.5, 1], [0, 1, 1, 0.5, 1, 0.5, 1]),
    ("max", [0, 1, 1, 0.5, 1, 0.5, 1], [1, 1, 0, 0.5, 1, 0.5, 1]),
    ("min", [1, 1, 0, 0.5, 1, 0.5, 1], [0, 1, 1, 0.5, 1, 0.5, 1]),
])
def test_maximum_minimum_gradient_at_nan_goes_to_both(name, expect_x, expect_z):
    x = fastnn.tensor([1.0, nan, 3.0, 2.0, nan, inf, 2.0], requires_grad=True)
    z = fastnn.tensor([2.0, 2.0, 2.0, 2.0, nan, inf, nan], requires_grad=True)
    getattr(fastnn, name)(x, z).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), expect_x)
    np.testing.assert_array_equal(z.grad.numpy(), expect_z)


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_maximum_family_second_order_matches_torch(name):
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (fastnn, torch):
        x = lib.tensor([[1.0, nan, 3.0]], requires_grad=True)
        z = lib.tensor([[2.0], [nan]], requires_grad=True)
        y = getattr(lib, name)(x, z)
        g = lib.autograd.grad((y * y).sum(), (x, z), create_graph=True)
        grads.append([t.detach().numpy() for t in g] + [t.numpy() for t in lib.autograd.grad(
            sum((t * t).sum() for t in g), (x, z))])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, equal_nan=True)


# ---- 5 and 11. argmax/argmin/topk ---------------------------------------------------------

@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("shape", [(2, 2), (1, 2, 2), (4,)])
def test_argmax_keepdim_without_dim_keeps_every_dim(name, shape):
    x = fastnn.arange(float(np.prod(shape))).reshape(shape)
    out = getattr(fastnn, name)(x, keepdim=True)
    assert tuple(out.shape) == (1,) * len(shape) and out.dtype == fastnn.int64
    assert out.item() == (x.numel() - 1 if name == "argmax" else 0)
    assert tuple(getattr(x, name)().shape) == ()


@pytest.mark.parametrize("fn, message", [
    (lambda b: b.argmax(), "argmax(): does not support bool input"),
    (lambda b: fastnn.argmin(b, 0), "argmin(): does not support bool input"),
    (lambda b: b.topk(1), "topk does not support bool dtypes on CPU"),
])
def test_bool_input_rejected(fn, message):
    with pytest.raises(RuntimeError, match=f"^{message}$".replace("(", r"\(").replace(")", r"\)")):
        fn(fastnn.tensor([True, False]))


# ---- 7. std/var accumulate wide -----------------------------------------------------------

@pytest.mark.parametrize("fn", [lambda x: x.std(), lambda x: fastnn.std_mean(x)[0],
                                lambda x: x.std(0, keepdim=True).sum(),
                                lambda x: fastnn.std_mean(x, dim=-1)[0]])
def test_std_of_large_float32_does_not_overflow(fn):
    x = fastnn.tensor([1e20, 1.0], requires_grad=True)
    y = fn(x)  # the variance (5e39) itself is beyond float32, its square root is not
    assert y.dtype == fastnn.float32
    np.testing.assert_allclose(y.item(), 1e20 / math.sqrt(2), rtol=1e-6)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.70710677, -0.70710677], rtol=1e-5)


def test_var_float16_and_ordinary_values_match_torch():
    torch = pytest.importorskip("torch")
    data = np.random.RandomState(0).randn(7, 300).astype(np.float32) * 3 + 100
    for dt in ("float32", "float16"):
        for dim in (None, 0, 1):
            a = fastnn.tensor(data).to(getattr(fastnn, dt)).var(dim)
            b = torch.tensor(data).to(getattr(torch, dt)).var(dim)
            np.testing.assert_allclose(a.float().numpy(), b.float().numpy(),
                                       rtol=1e-6 if dt == "float32" else 1e-3)


# ---- 8. searchsorted/bucketize with NaN boundaries ----------------------------------------

VALUES = [nan, inf, -inf, 0.0, 1.0, 2.0, 2.5, 3.0, 10.0]


@pytest.mark.parametrize("right, expect", [
    (False, [5, 5, 0, 0, 0, 1, 5, 5, 5]),
    (True, [5, 5, 0, 0, 1, 5, 5, 5, 5]),
])
def test_searchsorted_with_nan_boundary(right, expect):
    seq = fastnn.tensor([1.0, 2.0, 2.0, 3.0, nan])
    v = fastnn.tensor(VALUES)
    assert fastnn.searchsorted(seq, v, right=right).tolist() == expect
    assert fastnn.searchsorted(seq, v, side="right" if right else "left").tolist() == expect
    assert fastnn.bucketize(v, seq, right=right).tolist() == expect
    out32 = fastnn.bucketize(v, seq, right=right, out_int32=True)
    assert out32.dtype == fastnn.int32 and out32.tolist() == expect
    sorter = fastnn.arange(5).flip(0)
    assert fastnn.searchsorted(seq.flip(0), v, right=right, sorter=sorter).tolist() == expect


@pytest.mark.parametrize("seq", [[1, 2, 2, 3, nan, nan], [nan], [1, nan, nan, nan],
                                 [1, 2, 3, 4, 5, 6, 7, nan], [-inf, 1, inf, nan], [1, 2, 3]])
@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_nan_boundaries_match_torch(seq, right):
    torch = pytest.importorskip("torch")
    got, ref = [], []
    for lib, into in ((fastnn, got), (torch, ref)):
        s = lib.tensor(seq, dtype=lib.float32)
        v = lib.tensor(VALUES)
        into.append(lib.searchsorted(s, v, right=right).tolist())
        into.append(lib.searchsorted(s, 2.5, right=right).tolist())
        rows = lib.stack([s, s.flip(0)])
        into.append(lib.searchsorted(rows, v[:6].reshape(2, 3), right=right).tolist())
    assert got == ref


# ---- 9. prod of nothing -------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)])
def test_prod_of_empty_backward(shape):
    x = fastnn.zeros(shape, requires_grad=True)
    y = x.prod()
    assert y.item() == 1.0
    y.backward()
    assert tuple(x.grad.shape) == shape and x.grad.dtype == fastnn.float32


@pytest.mark.parametrize("values", [
    [[1.0, nan, 3.0, 4.0], [-inf, 2.0, 1.0, 2.0], [inf, 1.0, -inf, 4.0]],
    [[1.0, 0.0, 3.0, 4.0], [-inf, 2.0, 1.0, 2.0], [inf, 1.0, -inf, 4.0]],
    [[1.5, 0.0, 3.0, 4.0], [0.1, 2.0, 0.0, 2.0]],
    [[1.5, -2.0, 3.0, 4.0], [0.1, 2.0, 1.0, 2.0]],
])
@pytest.mark.parametrize("fn", [lambda x: x.prod(), lambda x: x.prod(-1),
                                lambda x: x.prod(0, keepdim=True)])
def test_prod_gradient_with_special_values_matches_torch(values, fn):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(_grad(lambda lib, x: fn(x), values),
                               _torch_grad(torch, lambda lib, x: fn(x), values),
                               rtol=1e-6, equal_nan=True)


def test_prod_of_0d_over_a_dim():
    x = fastnn.tensor(3.0, requires_grad=True)
    x.prod(-1).backward()
    assert x.grad.item() == 1.0


# ---- 10. out= dtypes of reductions --------------------------------------------------------

X = [[1.5, 2.7], [3.2, -4.9]]


@pytest.mark.parametrize("name, out_dtype, expect", [
    ("sum", "int32", [3, -1]),
    ("sum", "int64", [3, -1]),
    ("sum", "bool", [True, True]),
    ("prod", "int32", [2, -12]),
    ("cumsum", "int64", [[1, 3], [3, -1]]),
    ("cumprod", "int32", [[1, 2], [3, -12]]),
])
def test_out_dtype_is_the_computation_dtype(name, out_dtype, expect):
    out = fastnn.empty(0, dtype=getattr(fastnn, out_dtype))
    r = getattr(fastnn, name)(fastnn.tensor(X), 1, out=out)
    assert r is out and out.dtype == getattr(fastnn, out_dtype) and out.tolist() == expect


@pytest.mark.parametrize("name", ["sum", "mean", "std", "var", "prod", "logsumexp"])
def test_float64_out_computes_in_float64(name):
    out = fastnn.empty(0, dtype=fastnn.float64)
    getattr(fastnn, name)(fastnn.tensor(X), 1, out=out)
    ref = getattr(fastnn.tensor(X).double(), name)(1)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda o: fastnn.amax(fastnn.tensor(X), 1, out=o), RuntimeError,
     "Expected the dtype for input and out to match, but got Float for input's dtype and Int "
     "for out's dtype."),
    (lambda o: fastnn.argmax(fastnn.tensor(X), 1, out=o), RuntimeError,
     "Expected out tensor to have dtype long int, but got int instead"),
    (lambda o: fastnn.all(fastnn.tensor(X), 1, out=o), RuntimeError,
     "all only supports bool tensor for result, got: Int"),
    (lambda o: fastnn.logsumexp(fastnn.tensor(X), 1, out=o), RuntimeError,
     "logsumexp(): Expected floating point type for result tensor, but got: Int"),
    (lambda o: fastnn.norm(fastnn.tensor(X), out=o), RuntimeError,
     "Expected out tensor to have dtype float, but got int instead"),
    (lambda o: fastnn.mean(fastnn.tensor(X), 1, out=o), RuntimeError,
     "result type Float can't be cast to the desired output type Int"),
])
def test_out_dtype_errors(call, error, message):
    with pytest.raises(error) as info:
        call(fastnn.empty(0, dtype=fastnn.int32))
    assert str(info.value) == message


def test_out_rules_match_torch():
    torch = pytest.importorskip("torch")
    names = ["sum", "prod", "mean", "amax", "amin", "logsumexp", "std", "var",
             "cumsum", "cumprod", "all", "any", "argmax"]

    def run(lib):
        rows = []
        for name in names:
            for src in (lib.tensor(X), lib.tensor([[1, 2], [3, 4]])):
                for od in ("int32", "int64", "float64", "bool"):
                    try:
                        r = getattr(lib, name)(src, 1, out=lib.empty(0, dtype=getattr(lib, od)))
                        rows.append((str(r.dtype).split(".")[1], r.tolist()))
                    except Exception as e:  # noqa: BLE001 - comparing error types and texts
                        rows.append((type(e).__name__, str(e)))
        return rows

    for a, b in zip(run(fastnn), run(torch)):
        if a[0] == "float64" and b[0] == "float64":
            np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
        else:
            assert a == b


# ---- 11. exception types -----------------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: fastnn.nanmean(fastnn.tensor([1, 2]), dtype=fastnn.float64),
     "nanmean(): expected input to have floating point or complex dtype but got Long"),
    (lambda: fastnn.isclose(fastnn.tensor([1.0]), fastnn.tensor([1])),
     "Float did not match Long"),
    (lambda: fastnn.allclose(fastnn.tensor([1]), fastnn.tensor([1.0], dtype=fastnn.float64)),
     "Long did not match Double"),
    (lambda: fastnn.logsumexp(fastnn.ones(1, 2), dim=()),
     "output with shape [] doesn't match the broadcast shape [1, 1]"),
])
def test_rejected_inputs(call, message):
    with pytest.raises(RuntimeError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize("dtype, title", [("uint8", "Byte"), ("int16", "Short"),
                                          ("int64", "Long"), ("bool", "Bool")])
def test_mean_dtype_messages(dtype, title):
    with pytest.raises(RuntimeError, match=f"Optional dtype must be either a floating point or "
                       f"complex dtype. Got: {title}$"):
        fastnn.ones(2).mean(dtype=getattr(fastnn, dtype))
    with pytest.raises(RuntimeError, match=f"Input dtype must be either a floating point or "
                       f"complex dtype. Got: {title}$"):
        fastnn.ones(2, dtype=getattr(fastnn, dtype)).mean()


def test_logsumexp_empty_dims_allowed_cases():
    assert tuple(fastnn.logsumexp(fastnn.ones(1, 2), dim=(), keepdim=True).shape) == (1, 1)
    assert tuple(fastnn.logsumexp(fastnn.tensor(1.0), dim=()).shape) == ()
    assert fastnn.isclose(fastnn.tensor([1.0]), fastnn.tensor([1.0])).tolist() == [True]


def test_clamp_mixes_0d_tensor_and_number_bounds():
    # a 0-d tensor bound passes as a number beside a number bound
    x = fastnn.tensor([1.0, 3.0])
    assert fastnn.clamp(x, min=fastnn.tensor(2.0), max=2).tolist() == [2.0, 2.0]
    assert fastnn.clamp(x, min=1, max=fastnn.tensor(2.0)).tolist() == [1.0, 2.0]
    assert x.clamp(fastnn.tensor([0.0, 2.0]), None).tolist() == [1.0, 3.0]

