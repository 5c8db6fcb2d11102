"""Math, type promotion, comparisons and reductions, checked against PyTorch."""
import itertools
import operator

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

# nan/inf on purpose: the warnings fastnn silences for users are reset by pytest
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

NAMES = ["float32", "float64", "int64", "int32", "uint8", "bool"]


def as_np(x):
    if isinstance(x, (fastnn.Tensor, torch.Tensor)):
        return x.detach().numpy()
    return x


def check(fn, rtol=1e-5, atol=1e-6):
    """Run ``fn(lib)`` with fastnn and with torch; outputs must agree in dtype, shape and value."""
    a, b = fn(fastnn), fn(torch)
    compare(a, b, rtol, atol)
    return a


def compare(a, b, rtol=1e-5, atol=1e-6):
    if isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            compare(x, y, rtol, atol)
        return
    if isinstance(b, torch.Tensor):
        assert isinstance(a, fastnn.Tensor), type(a)
        assert a.dtype.name == str(b.dtype).split(".")[1], (a.dtype, b.dtype)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(as_np(a).astype(np.float64), as_np(b).astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)
        return
    assert type(a) is type(b) and a == pytest.approx(b, rel=rtol, abs=atol, nan_ok=True)


def data(shape, kind="float", seed=0, positive=False):
    rng = np.random.default_rng(seed)
    if kind == "float":
        x = rng.standard_normal(shape)
        return np.abs(x) + 0.5 if positive else x
    if kind == "int":
        return rng.integers(1 if positive else -5, 6, shape)
    return rng.integers(0, 2, shape).astype(bool)


def T(lib, arr, dtype=None):
    return lib.tensor(arr) if dtype is None else lib.tensor(arr, dtype=getattr(lib, dtype))


# ---- arithmetic with broadcasting ----------------------------------------------------
SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((4, 1, 3), (2, 1)), ((), (2, 3)),
          ((2, 3), ()), ((0, 3), (1, 3))]
BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
          "pow": operator.pow, "floordiv": operator.floordiv, "mod": operator.mod,
          "maximum": lambda a, b: a.maximum(b), "minimum": lambda a, b: a.minimum(b),
          "matmul_like_fn": lambda a, b: a.add(b, alpha=2)}


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("op", list(BINARY))
def test_binary_broadcasting(sa, sb, op):
    x, y = data(sa, positive=True, seed=1), data(sb, positive=True, seed=2)
    check(lambda lib: BINARY[op](T(lib, x), T(lib, y)))


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv,
                                operator.pow, operator.floordiv, operator.mod])
@pytest.mark.parametrize("scalar", [2, 0.5, -3, True])
def test_python_scalars_both_sides(op, scalar):
    if scalar is True and op is operator.sub:
        pytest.skip("torch forbids bool subtraction; tested among the errors")
    x = data((2, 3), positive=True)
    check(lambda lib: op(T(lib, x), scalar))
    check(lambda lib: op(scalar, T(lib, x)))
    xi = data((2, 3), "int", positive=True)
    if not (op is operator.pow and isinstance(scalar, int) and scalar < 0):
        check(lambda lib: op(T(lib, xi), scalar))
    check(lambda lib: op(scalar, T(lib, xi)) if op is not operator.pow or scalar != -3 else
          lib.tensor(0))


def test_functional_forms_and_array_names():
    x, y = data((2, 3)), data((3,), seed=3)
    for name in ("add", "sub", "mul", "div", "maximum", "minimum", "eq", "lt", "ge"):
        check(lambda lib: getattr(lib, name)(T(lib, x), T(lib, y)))
    check(lambda lib: lib.sub(T(lib, x), T(lib, y), alpha=3))
    check(lambda lib: lib.div(T(lib, x), T(lib, y), rounding_mode="floor"))
    check(lambda lib: lib.div(T(lib, x), T(lib, y), rounding_mode="trunc"))
    check(lambda lib: -T(lib, x))
    check(lambda lib: +T(lib, x))
    check(lambda lib: abs(T(lib, x)))


# ---- type promotion -----------------------------------------------------------------
def _make(lib, name, zero_dim):
    return lib.tensor(1 if zero_dim else [1, 2], dtype=getattr(lib, name))


def _outcome(fn, lib):
    try:
        r = fn(lib)
        return str(r.dtype).split(".")[1]
    except Exception as e:  # noqa: BLE001 - the type is the outcome
        return type(e).__name__


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promotion_table_matches_torch(a, b):
    ops = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
           "div": operator.truediv, "floordiv": operator.floordiv, "mod": operator.mod,
           "pow": operator.pow, "maximum": lambda x, y: x.maximum(y), "eq": operator.eq,
           "lt": operator.lt}
    bad = []
    for za, zb in itertools.product((False, True), repeat=2):
        for name, op in ops.items():
            def fn(lib):
                return op(_make(lib, a, za), _make(lib, b, zb))

            def fw(lib):
                return lib.where(lib.tensor(True), _make(lib, a, za), _make(lib, b, zb))
            for f in (fn, fw):
                got, want = _outcome(f, fastnn), _outcome(f, torch)
                if got != want:
                    bad.append((name, za, zb, got, want))
    assert not bad


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("scalar", [True, 3, 2.5, -1])
def test_scalar_promotion_matches_torch(a, scalar):
    ops = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow,
           operator.floordiv, operator.mod, lambda x, s: s + x, lambda x, s: s - x,
           lambda x, s: s * x, lambda x, s: s / x, lambda x, s: x.maximum(lib_scalar(x, s))]
    bad = []
    for zero in (False, True):
        for i, op in enumerate(ops):
            got = _outcome(lambda lib: op(_make(lib, a, zero), scalar), fastnn)
            want = _outcome(lambda lib: op(_make(lib, a, zero), scalar), torch)
            if got != want:
                bad.append((i, zero, got, want))
    assert not bad


def lib_scalar(x, s):
    return (fastnn if isinstance(x, fastnn.Tensor) else torch).tensor(s)


def test_scalar_wraps_into_small_integer_dtypes():
    check(lambda lib: lib.tensor([1, 200], dtype=lib.uint8) + 300)
    check(lambda lib: lib.tensor([1], dtype=lib.uint8) * -1)
    check(lambda lib: lib.tensor([1], dtype=lib.uint8) + lib.tensor(300))
    check(lambda lib: lib.tensor([1, 2], dtype=lib.int32) + 2 ** 40)


def test_result_type_and_promote_types():
    assert fastnn.promote_types(fastnn.int32, fastnn.float32) is fastnn.float32
    assert fastnn.promote_types(fastnn.uint8, fastnn.int32) is fastnn.int32
    assert fastnn.promote_types(fastnn.bool, fastnn.uint8) is fastnn.uint8
    assert fastnn.result_type(fastnn.tensor([1]), 1.0) is fastnn.float32
    assert fastnn.result_type(fastnn.tensor([1.0], dtype=fastnn.float64), 1) is fastnn.float64


# ---- comparisons ---------------------------------------------------------------------
@pytest.mark.parametrize("op", [operator.eq, operator.ne, operator.lt, operator.le, operator.gt,
                                operator.ge])
def test_comparisons(op):
    x, y = data((2, 3), "int"), data((3,), "int", seed=4)
    check(lambda lib: op(T(lib, x), T(lib, y)))
    check(lambda lib: op(T(lib, x), 1))
    check(lambda lib: op(T(lib, x, "float32"), 0.5))
    check(lambda lib: op(1, T(lib, x)))


def test_equality_with_non_tensors_and_membership():
    t = fastnn.tensor([1, 2])
    assert (t == None) is False and (t != None) is True  # noqa: E711
    assert t in [None, t] and None not in [t]
    assert fastnn.equal(t, fastnn.tensor([1, 2])) and not fastnn.equal(t, fastnn.tensor([1]))
    assert fastnn.allclose(fastnn.tensor([1.0]), fastnn.tensor([1.0 + 1e-7]))
    assert not fastnn.tensor([1.0, 2]).allclose(fastnn.tensor([1.0, 2.1]))
    check(lambda lib: lib.isclose(lib.tensor([1.0, 2]), lib.tensor([1.0, 2.001]), atol=1e-2))


def test_logical_and_bitwise():
    a, b = data((4,), "bool"), data((4,), "bool", seed=5)
    for name in ("logical_and", "logical_or", "logical_xor"):
        check(lambda lib: getattr(lib, name)(T(lib, a), T(lib, b)))
    check(lambda lib: ~T(lib, a))
    check(lambda lib: T(lib, a) & T(lib, b))
    check(lambda lib: T(lib, a) | True)
    check(lambda lib: T(lib, a).logical_not())
    check(lambda lib: T(lib, [1, 6]) ^ T(lib, [3, 3]))


# ---- unary math ----------------------------------------------------------------------
UNARY = ["abs", "exp", "log", "sqrt", "rsqrt", "sign", "sin", "cos", "tanh", "sigmoid", "relu",
         "neg", "expm1", "log1p", "square", "reciprocal", "floor", "ceil", "round", "trunc"]


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("kind", ["float32", "float64", "int64"])
def test_unary(name, kind):
    positive = name in ("log", "sqrt", "rsqrt", "log1p", "reciprocal")
    x = data((3, 4), "float" if kind != "int64" else "int", positive=positive)
    check(lambda lib: getattr(lib, name)(T(lib, x, kind)))
    check(lambda lib: getattr(T(lib, x, kind), name)())


@pytest.mark.parametrize("lo,hi", [(-0.5, 0.5), (None, 0.0), (0.0, None), (1, 2)])
def test_clamp(lo, hi):
    x = data((3, 4))
    check(lambda lib: T(lib, x).clamp(lo, hi))
    check(lambda lib: lib.clamp(T(lib, x), min=lo, max=hi))
    check(lambda lib: T(lib, x).clip(lo, hi))
    check(lambda lib: T(lib, data((3,), "int")).clamp(lo, hi) if lo != -0.5 else lib.tensor(0))


def test_clamp_with_tensor_bounds_and_pow_forms():
    x, lo = data((3, 4)), data((4,), seed=8) - 1
    check(lambda lib: T(lib, x).clamp(min=T(lib, lo)))
    check(lambda lib: T(lib, x).clamp(T(lib, lo), T(lib, lo) + 1))
    check(lambda lib: lib.pow(T(lib, np.abs(x)), 1.5))
    check(lambda lib: lib.pow(T(lib, np.abs(x)), T(lib, lo)))
    check(lambda lib: 2 ** T(lib, x))
    check(lambda lib: T(lib, x) ** 2)


# ---- matrix products -----------------------------------------------------------------
@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                   ((5, 2, 3), (3, 4)), ((5, 2, 3), (5, 3, 4)),
                                   ((2, 1, 2, 3), (5, 3, 2)), ((0, 3), (3, 2))])
def test_matmul(sa, sb):
    x, y = data(sa), data(sb, seed=6)
    check(lambda lib: T(lib, x) @ T(lib, y))
    check(lambda lib: lib.matmul(T(lib, x), T(lib, y)))


def test_mm_bmm_addmm_dot():
    a, b = data((2, 3)), data((3, 4), seed=1)
    check(lambda lib: lib.mm(T(lib, a), T(lib, b)))
    check(lambda lib: lib.bmm(T(lib, data((2, 2, 3))), T(lib, data((2, 3, 4), seed=2))))
    check(lambda lib: lib.addmm(T(lib, data((4,), seed=3)), T(lib, a), T(lib, b)))
    check(lambda lib: lib.addmm(T(lib, data((2, 4))), T(lib, a), T(lib, b), beta=0.5, alpha=2))
    check(lambda lib: lib.dot(T(lib, data((3,))), T(lib, data((3,), seed=1))))


# ---- reductions ----------------------------------------------------------------------
DIMS = [{}, {"dim": 0}, {"dim": -1}, {"dim": 1, "keepdim": True}, {"dim": (0, 2)},
        {"dim": (-1, 0), "keepdim": True}, {"dim": []}]


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "logsumexp", "amax", "amin"])
@pytest.mark.parametrize("kw", DIMS)
def test_reductions_over_dims(name, kw):
    if name == "logsumexp" and "dim" not in kw:
        kw = {"dim": (0, 1, 2)}
    if name in ("amax", "amin", "logsumexp") and kw.get("dim") == []:
        return  # torch rejects an empty dim list for these
    x = data((3, 4, 5))
    check(lambda lib: getattr(T(lib, x), name)(**kw))
    check(lambda lib: getattr(lib, name)(T(lib, x, "float64"), **kw))


@pytest.mark.parametrize("kw", [{}, {"dim": 1}, {"dim": -1, "keepdim": True}])
def test_prod_and_integer_sums(kw):
    x = data((3, 4), "int")
    check(lambda lib: T(lib, x).prod(**kw))
    check(lambda lib: T(lib, x).sum(**kw))
    check(lambda lib: T(lib, x, "int32").sum(**kw))
    check(lambda lib: T(lib, x, "bool").sum(**kw))
    check(lambda lib: T(lib, x, "float64").prod(**kw))
    check(lambda lib: T(lib, x).sum(dtype=lib.float64))


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std", "prod", "max", "min", "amax",
                                  "amin", "argmax", "argmin", "all", "any", "logsumexp"])
def test_numpy_style_axis_keepdims(name):
    """The array API's axis/keepdims spell PyTorch's dim/keepdim everywhere."""
    x = data((3, 4))

    def run(t, **kw):
        out = getattr(t, name)(**kw)
        return out[0] if isinstance(out, tuple) else out
    a = run(fastnn.tensor(x, dtype=fastnn.float32), axis=1, keepdims=True)
    compare(a, run(torch.tensor(x, dtype=torch.float32), dim=1, keepdim=True))
    a = run(fastnn.tensor(x, dtype=fastnn.float32), axis=0)
    compare(a, run(torch.tensor(x, dtype=torch.float32), dim=0))


def test_axis_alias_for_dim_only_methods():
    x = data((3, 4))
    for name in ("softmax", "log_softmax", "cumsum", "unsqueeze", "squeeze"):
        a = getattr(fastnn.tensor(x, dtype=fastnn.float32), name)(axis=0)
        compare(a, getattr(torch.tensor(x, dtype=torch.float32), name)(dim=0))


@pytest.mark.parametrize("kw", [{}, {"correction": 0}, {"correction": 2}, {"unbiased": False},
                                {"dim": 0, "correction": 0}, {"dim": 1, "unbiased": True}])
def test_var_std_correction(kw):
    x = data((4, 5))
    check(lambda lib: T(lib, x).var(**kw))
    check(lambda lib: T(lib, x).std(**kw))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_namedtuples(name):
    x = np.array([[1.0, 5, 5], [3, 2, -1]])
    out = check(lambda lib: getattr(T(lib, x), name)(1))
    assert out.values is out[0] and out.indices is out[1]
    assert type(out).__name__ == name
    check(lambda lib: tuple(getattr(T(lib, x), name)(dim=0, keepdim=True)))
    check(lambda lib: getattr(T(lib, x), name)())
    check(lambda lib: getattr(lib, name)(T(lib, x), -1)[1])
    check(lambda lib: getattr(T(lib, x), name)(T(lib, x[::-1].copy())))
    check(lambda lib: getattr(T(lib, x, "int64"), name)(0).values)
    check(lambda lib: getattr(T(lib, 2.5), name)(0).values)
    vals, idx = getattr(fastnn.tensor(x), name)(1)
    assert idx.dtype == fastnn.int64 and vals.dtype == fastnn.float64


def test_argmax_argmin_all_any():
    x = data((3, 4))
    for name in ("argmax", "argmin"):
        check(lambda lib: getattr(T(lib, x), name)())
        check(lambda lib: getattr(T(lib, x), name)(1))
        check(lambda lib: getattr(lib, name)(T(lib, x), dim=0, keepdim=True))
    b = data((3, 4), "bool")
    for name in ("all", "any"):
        check(lambda lib: getattr(T(lib, b), name)())
        check(lambda lib: getattr(T(lib, b), name)(1))
        check(lambda lib: getattr(T(lib, x), name)(0, keepdim=True))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(name, dim):
    x = data((3, 4, 2)) * 30  # large values: must stay finite
    check(lambda lib: getattr(T(lib, x), name)(dim))
    check(lambda lib: getattr(T(lib, x), name)(dim=dim, dtype=lib.float64))
    check(lambda lib: getattr(lib, name)(T(lib, x, "float64"), dim))


def test_logsumexp_is_stable():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, 0.0]])
    check(lambda lib: T(lib, x).logsumexp(1))
    check(lambda lib: T(lib, x).logsumexp(1, keepdim=True))


def test_reductions_of_zero_dim_tensors():
    check(lambda lib: T(lib, 3.0).sum(0))
    check(lambda lib: T(lib, 3.0).mean(-1))
    check(lambda lib: T(lib, 3.0).max(0).indices)
    check(lambda lib: T(lib, 3.0).softmax(0))


# ---- bad input -----------------------------------------------------------------------
def _err(call):
    with pytest.raises(Exception) as info:
        call()
    return info


@pytest.mark.parametrize("call,exc,msg", [
    (lambda lib: lib.ones(2, 3) + lib.ones(4), RuntimeError,
     r"The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton "
     r"dimension 1"),
    (lambda lib: lib.ones(2, 3) * lib.ones(2, 1, 4), RuntimeError, "must match the size"),
    (lambda lib: lib.ones(2) + None, TypeError, "unsupported operand type"),
    (lambda lib: lib.ones(2) + "a", TypeError, "unsupported operand type"),
    (lambda lib: lib.ones(2, 3) @ lib.ones(2, 3), RuntimeError,
     r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"),
    (lambda lib: lib.ones(3) @ lib.ones(4), RuntimeError, "inconsistent tensor size"),
    (lambda lib: lib.ones(2, 3) @ lib.ones(2, 3, dtype=lib.float64), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda lib: lib.tensor(1.0) @ lib.ones(2), RuntimeError,
     "both arguments to matmul need to be at least 1D"),
    (lambda lib: lib.mm(lib.ones(3), lib.ones(3, 2)), RuntimeError, "self must be a matrix"),
    (lambda lib: lib.bmm(lib.ones(2, 3), lib.ones(2, 3, 4)), RuntimeError,
     "batch1 must be a 3D tensor"),
    (lambda lib: lib.tensor([True]) - lib.tensor([True]), RuntimeError,
     "Subtraction, the `-` operator, with two bool tensors is not supported"),
    (lambda lib: lib.tensor([1]) - lib.tensor([True]), RuntimeError,
     "Subtraction, the `-` operator, with a bool tensor is not supported"),
    (lambda lib: lib.tensor([1.0]) - True, RuntimeError,
     "Subtraction, the `-` operator, with a bool tensor is not supported"),
    (lambda lib: -lib.tensor([True]), RuntimeError,
     "Negation, the `-` operator, on a bool tensor is not supported"),
    (lambda lib: lib.tensor([1, 2]) ** -1, RuntimeError,
     "Integers to negative integer powers are not allowed"),
    (lambda lib: lib.tensor([1, 2]).mean(), RuntimeError,
     "mean\\(\\): could not infer output dtype. Input dtype must be either a floating point or "
     "complex dtype. Got: Long"),
    (lambda lib: lib.tensor([1, 2]).var(), RuntimeError,
     "std and var only support floating point and complex dtypes"),
    (lambda lib: lib.ones(2).sum(dim=2), IndexError,
     r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 2\)"),
    (lambda lib: lib.ones(2, 3).max(dim=-3), IndexError, "Dimension out of range"),
    (lambda lib: lib.ones(0).max(), RuntimeError,
     "Expected reduction dim to be specified for input.numel\\(\\) == 0"),
    (lambda lib: lib.ones(2, 0).max(1), IndexError,
     "Expected reduction dim 1 to have non-zero size"),
    (lambda lib: lib.ones(2).clamp(), RuntimeError, "At least one of 'min' or 'max' must not be "
                                                    "None"),
    (lambda lib: lib.ones(2, 3).softmax(2), IndexError, "Dimension out of range"),
    (lambda lib: lib.ones(2).div(lib.ones(2), rounding_mode="x"), RuntimeError,
     "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found 'x'"),
    (lambda lib: lib.tensor([True]) // lib.tensor([True]), NotImplementedError,
     "not implemented for 'Bool'"),
])
def test_math_errors_match_torch(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(fastnn)
    ref = _err(lambda: call(torch))
    assert isinstance(ref.value, exc), ref.value


def test_nan_and_inf_results_are_quiet():
    """PyTorch returns nan/inf without numpy's RuntimeWarnings; so does fastnn."""
    import os
    import subprocess
    import sys
    code = ("import fastnn; x = fastnn.tensor([-1.0, 0.0]); x.log(); x.sqrt(); x.rsqrt(); "
            "fastnn.tensor([1.0, 0.0]) / 0; fastnn.tensor([0.0]).pow(-1); "
            "(fastnn.tensor([0.0, 1.0], requires_grad=True).sqrt() * 1).sum().backward()")
    root = os.path.dirname(os.path.dirname(fastnn.__file__))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr, run.stderr
