"""fastnn.array_api against array-api-strict (the standard's reference) on the same inputs.

Each call runs in both namespaces: where the reference computes a result, fastnn must give the
same dtype, shape and values; where the reference rejects the input with TypeError (a dtype
the standard does not define there), fastnn may follow PyTorch instead; any other error of
the reference must be an error in fastnn too.
"""
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

xps = pytest.importorskip("array_api_strict")
xf = fastnn.array_api

FLOAT = ["float32", "float64"]
INT = ["int8", "int16", "int32", "int64", "uint8"]
ALL = INT + FLOAT + ["bool"]
SHAPES = [(), (0,), (5,), (2, 3)]
PAIRS = [((), ()), ((4,), ()), ((), (4,)), ((2, 3), (3,)), ((0,), (1,)), ((2, 1), (1, 4))]


@pytest.fixture(scope="module", autouse=True)
def strict_2023():
    xps.set_array_api_strict_flags(api_version="2023.12")
    yield
    xps.reset_array_api_strict_flags()


class DT(str):
    """A dtype name in kwargs, resolved in each namespace."""


def values(shape, dtype, domain="real", seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if np.dtype(dtype).kind in "iu":
        lo = 0 if np.dtype(dtype).kind == "u" or domain in ("pos", "ge1", "shift") else -5
        v = rng.integers(lo, 5 if domain == "shift" else 6, shape)
        if domain == "nz":
            v[v == 0] = 1
        return np.asarray(v.astype(dtype))
    lo, hi = {"real": (-3, 3), "unit": (-0.95, 0.95), "pos": (0.1, 4), "ge1": (1.05, 4),
              "nz": (0.5, 3), "shift": (0, 3)}[domain]
    v = rng.uniform(lo, hi, shape)
    if domain == "nz":
        v *= np.where(rng.random(shape) < 0.5, -1, 1)
    return np.asarray(v.astype(dtype))


def _convert(xp, a):
    if isinstance(a, np.ndarray):
        return xp.asarray(a.copy())
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        return [xp.asarray(v.copy()) for v in a]
    if isinstance(a, DT):
        return getattr(xp, a)
    return a


def call(xp, name, args, kwargs):
    return getattr(xp, name)(*[_convert(xp, a) for a in args],
                             **{k: _convert(xp, v) for k, v in kwargs.items()})


def to_numpy(r):
    return np.asarray(r.detach()) if isinstance(r, fastnn.Tensor) else np.from_dlpack(r)


def assert_same(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        if hasattr(want, "_fields"):
            assert got._fields == want._fields
        for g, w in zip(got, want):
            assert_same(g, w)
        return
    g, w = to_numpy(got), to_numpy(want)
    assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, g.shape, w.dtype, w.shape)
    tol = dict(rtol=1e-5, atol=1e-6) if g.dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, w, equal_nan=True, **tol)


def parity(name, *args, **kwargs):
    try:
        with warnings.catch_warnings():  # numpy's warnings about empty slices, nan, ...
            warnings.simplefilter("ignore", RuntimeWarning)
            want = call(xps, name, args, kwargs)
    except TypeError:
        return "skipped"
    except Exception:
        with pytest.raises(Exception):
            call(xf, name, args, kwargs)
        return "error"
    assert_same(call(xf, name, args, kwargs), want)
    return "ok"


# the dtypes the standard defines each function for (fastnn also accepts more, as PyTorch does)
NUM, BITS = INT + FLOAT, INT + ["bool"]
UNARY = {"abs": NUM, "ceil": NUM, "floor": NUM, "round": NUM, "trunc": NUM, "sign": NUM,
         "negative": NUM, "positive": NUM, "square": NUM, "isfinite": NUM, "isinf": NUM,
         "isnan": NUM, "signbit": FLOAT, "logical_not": ["bool"], "bitwise_invert": BITS}
UNARY.update((n, FLOAT) for n in "acos acosh asin asinh atan atanh cos cosh exp expm1 log "
             "log1p log2 log10 sin sinh sqrt tan tanh".split())
DOMAIN = {"acos": "unit", "asin": "unit", "atanh": "unit", "tan": "unit", "acosh": "ge1",
          "log": "pos", "log1p": "pos", "log2": "pos", "log10": "pos", "sqrt": "pos",
          "divide": ("real", "nz"), "floor_divide": ("real", "nz"), "remainder": ("real", "nz"),
          "pow": ("pos", "shift"), "bitwise_left_shift": ("shift", "shift"),
          "bitwise_right_shift": ("real", "shift")}
BINARY = {"equal": ALL, "not_equal": ALL, "logical_and": ["bool"], "logical_or": ["bool"],
          "logical_xor": ["bool"], "bitwise_and": BITS, "bitwise_or": BITS, "bitwise_xor": BITS,
          "bitwise_left_shift": INT, "bitwise_right_shift": INT}
BINARY.update((n, NUM) for n in "add subtract multiply pow maximum minimum floor_divide "
              "remainder less less_equal greater greater_equal".split())
BINARY.update((n, FLOAT) for n in "divide atan2 hypot logaddexp copysign".split())


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_reference(name):
    dom = DOMAIN.get(name, "real")
    outcomes = [parity(name, values(s, dt, dom)) for dt in UNARY[name] for s in SHAPES]
    assert set(outcomes) == {"ok"}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_reference(name):
    d1, d2 = DOMAIN.get(name, ("real", "real"))
    outcomes = [parity(name, values(s1, dt, d1, 1), values(s2, dt, d2, 2))
                for dt in BINARY[name] for s1, s2 in PAIRS]
    assert set(outcomes) == {"ok"}


@pytest.mark.parametrize("pair", [("int8", "uint8"), ("int16", "int32"), ("uint8", "int64"),
                                  ("float32", "float64"), ("int8", "int64")])
@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "equal", "subtract"])
def test_mixed_dtypes_promote_like_the_standard_even_for_0d(pair, name):
    for s1, s2 in [((4,), ()), ((), (4,)), ((2, 3), (3,))]:
        assert parity(name, values(s1, pair[0], seed=1), values(s2, pair[1], seed=2)) == "ok"
        assert parity(name, values(s1, pair[1], seed=3), values(s2, pair[0], seed=4)) == "ok"


def test_round_halves_to_even_and_special_values():
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, np.nan, np.inf, -np.inf, -0.0])
    for name in ("round", "floor", "ceil", "trunc", "sign", "isnan", "isinf", "signbit",
                 "sqrt", "exp", "tanh"):
        assert parity(name, x) == "ok"
    for name in ("maximum", "minimum", "atan2", "copysign", "hypot", "logaddexp"):
        assert parity(name, x, x[::-1].copy()) == "ok"


REDUCE_KW = [{}, {"axis": 0}, {"axis": -1}, {"axis": (0, 1)}, {"axis": ()},
             {"keepdims": True}, {"axis": 1, "keepdims": True}, {"axis": (0,), "keepdims": True}]
REDUCE_SHAPES = [(), (0,), (5,), (2, 3), (2, 0, 3), (2, 3, 4)]


@pytest.mark.parametrize("name,dtypes,extra", [
    ("sum", INT[:-1] + FLOAT, [{}, {"dtype": DT("float64")}, {"dtype": DT("int32")}]),
    ("prod", INT[:-1] + FLOAT, [{}, {"dtype": DT("float64")}]),
    ("mean", FLOAT, [{}]),
    ("var", FLOAT, [{}, {"correction": 1}, {"correction": 0.5}]),
    ("std", FLOAT, [{}, {"correction": 1}]),
    ("max", INT + FLOAT, [{}]), ("min", INT + FLOAT, [{}]),
    ("all", ALL, [{}]), ("any", ALL, [{}]),
])
def test_reductions_match_reference(name, dtypes, extra):
    # an int axis of a 0-d array is out of the standard's range (numpy errs only sometimes)
    outcomes = [parity(name, values(s, dt, seed=5), **kw, **ex)
                for dt in dtypes for s in REDUCE_SHAPES for kw in REDUCE_KW for ex in extra
                if s or kw.get("axis", ()) == ()]
    assert outcomes.count("ok") > len(outcomes) // 2
    with pytest.raises(IndexError, match=f"{name}\\(\\): axis 0 is out of bounds for an array "
                       "of 0 dimensions"):
        getattr(xf, name)(xf.asarray(values((), dtypes[0])), axis=0)


def test_unsigned_sums_widen_to_int64():
    x = xf.asarray(np.array([200, 100], np.uint8))
    assert xf.sum(x).dtype is xf.int64 and int(xf.sum(x)) == 300
    assert xf.prod(x).dtype is xf.int64 and int(xf.prod(x)) == 20000
    assert xf.cumulative_sum(x).tolist() == [200, 300]


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions_match_reference(name):
    x = np.array([[3, 1, 3], [0, 7, 7]], np.float32)
    for kw in ({}, {"axis": 0}, {"axis": -1}, {"keepdims": True}, {"axis": 1, "keepdims": True}):
        for dt in ("float64", "int16", "uint8"):
            assert parity(name, x.astype(dt), **kw) == "ok"
    assert parity(name, np.full((), 2.0)) == "ok"


def test_cumulative_sum_matches_reference():
    for dt in ("int8", "int64", "float32", "float64"):
        for shape, kw in [((5,), {}), ((0,), {}), ((2, 3), {"axis": 1}), ((2, 3), {"axis": 0}),
                          ((5,), {"include_initial": True}), ((0,), {"include_initial": True}),
                          ((2, 3), {"axis": -1, "include_initial": True}),
                          ((4,), {"dtype": DT("float64")})]:
            assert parity("cumulative_sum", values(shape, dt, seed=3), **kw) == "ok"


def test_creation_matches_reference():
    f64, i16 = DT("float64"), DT("int16")
    calls = [("arange", (5,), {}), ("arange", (1, 10, 3), {}), ("arange", (5, 0, -1), {}),
             ("arange", (0, 5, -1), {}), ("arange", (0.0, 1.0, 0.25), {"dtype": f64}),
             ("arange", (-2, 3), {"dtype": i16}),
             ("linspace", (0, 1, 5), {"dtype": f64}), ("linspace", (2, 3), {"num": 4,
                                                                             "dtype": f64}),
             ("linspace", (0, 1, 4), {"endpoint": False, "dtype": f64}),
             ("linspace", (0, 1, 0), {"dtype": f64}),
             ("eye", (3,), {"dtype": f64}), ("eye", (3, 4), {"k": 1, "dtype": i16}),
             ("eye", (4, 2), {"k": -1, "dtype": DT("bool")}),
             ("zeros", ((2, 3),), {"dtype": DT("int32")}), ("zeros", (0,), {"dtype": f64}),
             ("ones", (4,), {"dtype": DT("uint8")}), ("ones", ((),), {"dtype": f64}),
             ("full", ((2,), 7), {"dtype": i16}), ("full", ((2, 2), True), {}),
             ("full", (3, 7), {}), ("full", ((1, 2), 1.5), {"dtype": f64}),
             ("asarray", ([1, 2, 3],), {}), ("asarray", ([[True], [False]],), {}),
             ("asarray", ([1, 2],), {"dtype": f64}), ("asarray", (3,), {"dtype": DT("int8")})]
    for name, args, kw in calls:
        assert parity(name, *args, **kw) == "ok", (name, args, kw)
    for name in ("zeros_like", "ones_like"):
        for dt in ("int8", "float64", "bool"):
            assert parity(name, values((2, 3), dt)) == "ok"
            assert parity(name, values((2,), dt), dtype=f64) == "ok"
    assert parity("full_like", values((2, 3), "int32"), 4) == "ok"
    assert parity("full_like", values((3,), "float64"), 0.5, dtype=DT("float32")) == "ok"
    x = values((3, 4), "float64")
    x[0, 3] = np.inf
    for name in ("tril", "triu"):
        for k in (-1, 0, 2):
            assert parity(name, x, k=k) == "ok"
            assert parity(name, values((2, 3, 3), "int16"), k=k) == "ok"
    for ind in ("xy", "ij"):
        a, b, c = values((3,), "float64"), values((2,), "float64"), values((4,), "float64")
        assert parity("meshgrid", a, b, indexing=ind) == "ok"
        assert parity("meshgrid", a, b, c, indexing=ind) == "ok"
        assert parity("meshgrid", a, indexing=ind) == "ok"


def test_empty_shapes_and_dtypes():
    e = xf.empty((2, 0, 3), dtype=xf.int32)
    assert e.shape == (2, 0, 3) and e.dtype is xf.int32
    assert xf.empty_like(e, dtype=xf.float64).dtype is xf.float64
    assert xf.asarray(1.5).dtype is fastnn.get_default_dtype()
    assert xf.asarray([1, 2]).dtype is xf.int64


def _m(shape, dt="float64", domain="real", seed=0):
    return values(shape, dt, domain, seed)


MANIPULATION = [
    ("broadcast_arrays", (_m((2, 1)), _m((1, 3))), {}),
    ("broadcast_to", (_m((3,)),), {"shape": (2, 3)}),
    ("broadcast_to", (_m(()),), {"shape": (2, 0)}),
    ("concat", ([_m((2, 3)), _m((1, 3))],), {}),
    ("concat", ([_m((2, 3)), _m((2, 1))],), {"axis": -1}),
    ("concat", ([_m((2, 3)), _m((4,))],), {"axis": None}),
    ("concat", ([_m((2,), "int8"), _m((3,), "int16"), _m((1,), "uint8")],), {}),
    ("stack", ([_m((2, 3)), _m((2, 3))],), {"axis": 1}),
    ("stack", ([_m(()), _m((), "float32")],), {}),
    ("expand_dims", (_m((2, 3)),), {"axis": -1}), ("expand_dims", (_m(()),), {"axis": 0}),
    ("flip", (_m((2, 3)),), {}), ("flip", (_m((2, 3)),), {"axis": 0}),
    ("flip", (_m((2, 3, 2)),), {"axis": (0, 2)}),
    ("moveaxis", (_m((2, 3, 4)), 0, -1), {}), ("moveaxis", (_m((2, 3, 4)), (0, 1), (2, 0)), {}),
    ("permute_dims", (_m((2, 3, 4)),), {"axes": (2, 0, 1)}),
    ("repeat", (_m((2, 3)), 2), {}), ("repeat", (_m((2, 3)), np.array([1, 0, 2])), {"axis": 1}),
    ("repeat", (_m((2, 3)), 3), {"axis": 0}), ("repeat", (_m(()), 3), {}),
    ("reshape", (_m((2, 3)), (3, 2)), {}), ("reshape", (_m((2, 3)), (-1,)), {}),
    ("reshape", (_m((2, 0)), (0, 5)), {}), ("reshape", (_m((1,)), ()), {}),
    ("roll", (_m((2, 3)), 1), {}), ("roll", (_m((2, 3)), -4), {"axis": 1}),
    ("roll", (_m((2, 3)), (1, -2)), {"axis": (0, 1)}), ("roll", (_m((0,)), 2), {}),
    ("squeeze", (_m((2, 1, 3)),), {"axis": 1}), ("squeeze", (_m((1, 3, 1)),), {"axis": (0, -1)}),
    ("squeeze", (_m((2, 3)),), {"axis": 0}),
    ("tile", (_m((2, 3)), (2, 1)), {}), ("tile", (_m((2, 3)), (2,)), {}),
    ("tile", (_m((3,)), (2, 2)), {}),
    ("unstack", (_m((2, 3)),), {"axis": 1}), ("unstack", (_m((2, 3)),), {}),
    ("take", (_m((2, 3)), np.array([2, 0, 2])), {"axis": 1}),
    ("take", (_m((4,)), np.array([3, 1])), {}),
    ("matmul", (_m((3, 4)), _m((4, 2))), {}), ("matmul", (_m((2, 3, 4)), _m((4,))), {}),
    ("matmul", (_m((4,)), _m((4,))), {}), ("matmul", (_m((3, 4), "int16"), _m((4,), "int8")), {}),
    ("matmul", (_m((2, 1, 3, 4)), _m((3, 4, 2), "float32")), {}),
    ("matrix_transpose", (_m((2, 3, 4)),), {}),
    ("tensordot", (_m((2, 3, 4)), _m((3, 4, 5))), {}),
    ("tensordot", (_m((2, 3)), _m((3, 2))), {"axes": 1}),
    ("tensordot", (_m((2, 3)), _m((3, 2))), {"axes": 0}),
    ("tensordot", (_m((2, 3, 4)), _m((4, 3))), {"axes": ((1, 2), (1, 0))}),
    ("vecdot", (_m((2, 3)), _m((3,))), {}), ("vecdot", (_m((2, 3)), _m((2, 1))), {"axis": -2}),
    ("vecdot", (_m((2, 3), "int16"), _m((2, 3), "int8")), {}),
    ("where", (_m((2, 3), "bool"), _m((2, 3)), _m((3,), "float32")), {}),
    ("where", (_m((3,), "bool"), _m((), "int8"), _m((3,), "int16")), {}),
    ("clip", (_m((2, 3)),), {"min": -1.0, "max": 1.5}),
    ("clip", (_m((2, 3)), _m((3,))), {}), ("clip", (_m((5,), "int16"),), {"max": 2}),
    ("clip", (_m((2, 3)),), {"min": _m((2, 1)), "max": 2.0}),
    ("nonzero", (_m((2, 3), "bool"),), {}), ("nonzero", (_m((5,), "int8"),), {}),
    ("nonzero", (_m((0, 2)),), {}), ("nonzero", (_m(()),), {}),
    ("searchsorted", (np.arange(5.0), np.array([[-1.0, 2.0], [2.5, 9.0]])), {}),
    ("searchsorted", (np.array([1, 2, 2, 3]), np.array([2])), {"side": "right"}),
    ("searchsorted", (np.array([3, 1, 2]), np.array([2, 0])), {"sorter": np.array([1, 2, 0])}),
    ("unique_values", (np.array([3.0, np.nan, 1.0, 3.0, np.nan]),), {}),
    ("unique_counts", (np.array([[2, 1], [2, 2]], np.int8),), {}),
    ("unique_inverse", (np.array([[2, 1], [2, 5]], np.int32),), {}),
    ("unique_all", (np.array([4.0, 1.0, 4.0, 0.5]),), {}),
    ("unique_values", (np.zeros(0),), {}),
]


@pytest.mark.parametrize("name,args,kw", MANIPULATION,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(MANIPULATION)])
def test_manipulation_linalg_search_match_reference(name, args, kw):
    assert parity(name, *args, **kw) in ("ok", "error")


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dt", ["float64", "float32", "int8", "uint8"])
def test_sort_and_argsort_are_stable_like_reference(dt, descending):
    x = np.array([[3, 1, 2, 1, 3, 0], [1, 1, 0, 0, 2, 2]]).astype(dt)
    for name in ("sort", "argsort"):
        for axis in (-1, 0):
            assert parity(name, x, axis=axis, descending=descending) == "ok"
    y = np.array([2.0, np.nan, -1.0, np.nan, 5.0])
    assert parity("sort", y, descending=descending) == "ok"


def test_dtype_functions_match_reference():
    names = ALL
    for a in names:
        for b in names:
            try:
                want = xps.result_type(getattr(xps, a), getattr(xps, b))
            except TypeError:  # cross-kind: fastnn follows PyTorch (see below)
                continue
            assert xf.result_type(getattr(xf, a), getattr(xf, b)).name == str(want).split(".")[-1]
            da, db = getattr(xf, a), getattr(xf, b)
            assert xf.can_cast(da, db) == xps.can_cast(getattr(xps, a), getattr(xps, b))
        for kind in ("bool", "signed integer", "unsigned integer", "integral", "real floating",
                     "complex floating", "numeric", ("bool", "real floating"), getattr(xf, a)):
            want_kind = getattr(xps, kind.name) if isinstance(kind, fastnn.dtype) else kind
            assert xf.isdtype(getattr(xf, a), kind) == xps.isdtype(getattr(xps, a), want_kind)
    for name in FLOAT:
        got, want = xf.finfo(getattr(xf, name)), xps.finfo(getattr(xps, name))
        assert (got.bits, got.eps, got.max, got.min, got.smallest_normal) == \
            (want.bits, want.eps, want.max, want.min, want.smallest_normal)
        assert got.dtype is getattr(xf, name)
    for name in INT:
        got, want = xf.iinfo(getattr(xf, name)), xps.iinfo(getattr(xps, name))
        assert (got.bits, got.max, got.min) == (want.bits, want.max, want.min)
    x = xf.asarray(np.zeros(3, np.int16))
    assert xf.finfo(xf.asarray(np.zeros(2))).bits == 64 and xf.iinfo(x).max == 32767
    assert xf.result_type(x, xf.int8, xf.asarray(np.zeros((), np.int32))) is xf.int32


def test_cross_kind_promotion_follows_pytorch():
    torch = pytest.importorskip("torch")
    for a in ALL:
        for b in ALL:
            da, db = getattr(xf, a), getattr(xf, b)
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert xf.result_type(da, db).name == str(want).split(".")[-1]
            assert xf.can_cast(da, db) == (xf.result_type(da, db) is db)
    i = xf.asarray([1, 2])
    assert xf.add(i, 0.5).dtype is fastnn.get_default_dtype()
    f, half = xf.ones(2, dtype=xf.float32), xf.asarray(0.5, dtype=xf.float64)
    assert xf.add(f, half).dtype is xf.float64         # the standard: 0-d is not weaker
    assert (f + half).dtype is xf.float32              # operators follow PyTorch
    assert str(torch.result_type(torch.ones(2), torch.tensor(0.5).double())) == "torch.float32"


def test_astype_matches_reference_and_copies():
    for src in ALL:
        for dst in ALL:
            assert parity("astype", values((2, 3), src), DT(dst)) == "ok"
    x = xf.asarray(np.arange(3.0))
    assert xf.astype(x, xf.float64, copy=False) is x
    y = xf.astype(x, xf.float64)
    assert y is not x and not np.shares_memory(np.asarray(y), np.asarray(x))


def test_inspection_info():
    info = x_info = xf.__array_namespace_info__()
    assert info.capabilities() == {"boolean indexing": True, "data-dependent shapes": True}
    assert info.default_device() == fastnn.device("cpu") and fastnn.device("cpu") in \
        info.devices()
    d = info.default_dtypes()
    assert d["real floating"] is fastnn.get_default_dtype() and d["indexing"] is xf.int64
    ref = xps.__array_namespace_info__()
    for kind in (None, "bool", "integral", "real floating", "numeric", ("bool", "integral")):
        ours, theirs = x_info.dtypes(kind=kind), ref.dtypes(kind=kind)
        assert set(ours) == set(theirs) - {"uint16", "uint32", "uint64", "complex64",
                                           "complex128"}
        assert all(v is getattr(xf, k) for k, v in ours.items())


def test_namespace_and_version():
    x = fastnn.ones(2)
    assert x.__array_namespace__() is xf and xf.__array_api_version__ == "2023.12"
    assert x.__array_namespace__(api_version="2022.12") is xf
    with pytest.raises(ValueError, match="supports array API versions .*'2099.12'"):
        x.__array_namespace__(api_version="2099.12")
    for name in ("uint16", "uint64", "complex128"):
        with pytest.raises(AttributeError, match=f"does not implement '{name}' .*no {name} dtype"):
            getattr(xf, name)
    with pytest.raises(AttributeError, match=r"does not implement 'fft' \(array API 2023.12\)"):
        xf.fft
    assert not hasattr(xf, "linalg")
    with pytest.raises(AttributeError, match="has no attribute 'frobnicate'"):
        xf.frobnicate
    assert (xf.e, xf.pi, xf.newaxis) == (np.e, np.pi, None) and np.isnan(xf.nan)
    missing = [n for n in dir(xps) if not n.startswith("_") and n[0].islower()
               and not hasattr(xf, n)]
    allowed = {"uint16", "uint32", "uint64", "complex64", "complex128", "linalg", "fft",
               # newer than 2023.12 or specific to array-api-strict
               "get_array_api_strict_flags", "set_array_api_strict_flags",
               "reset_array_api_strict_flags", "broadcast_shapes", "count_nonzero",
               "cumulative_prod", "diff", "isin", "nextafter", "reciprocal",
               "take_along_axis"}
    assert set(missing) <= allowed, set(missing) - allowed


def test_generic_code_runs_on_both_namespaces():
    def softmax(x):
        xp = x.__array_namespace__()
        z = x - xp.max(x, axis=-1, keepdims=True)
        e = xp.exp(z)
        return e / xp.sum(e, axis=-1, keepdims=True)
    a = values((3, 4), "float64")
    np.testing.assert_allclose(to_numpy(softmax(xf.asarray(a))),
                               to_numpy(softmax(xps.asarray(a))), rtol=1e-12)



# ---- gradients: finite differences, and PyTorch's gradients where it is installed ------
def _weights(shape):
    n = int(np.prod(shape))
    return np.linspace(-1.0, 1.5, n).reshape(shape)


def _fastnn_grads(fn, arrays):
    leaves = [fastnn.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    loss = sum((o * fastnn.tensor(_weights(tuple(o.shape)))).sum() for o in outs)
    loss.backward()
    return [np.asarray(t.grad) for t in leaves]


def _torch_grads(torch, fn, arrays):
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(torch, *leaves)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    loss = sum((o * torch.tensor(_weights(tuple(o.shape)))).sum() for o in outs)
    loss.backward()
    return [t.grad.numpy() for t in leaves]


IDX = np.array([2, 0, 2])
GRADS = [(n, (lambda n: lambda x: getattr(xf, n)(x))(n), [((2, 3), DOMAIN.get(n, "real"))],
          (lambda n: lambda t, x: getattr(t, n)(x))(n))
         for n in "acos asin atan acosh asinh atanh cosh sinh tan log2 log10 floor ceil "
                  "trunc round".split()]
GRADS += [(n, (lambda n: lambda a, b: getattr(xf, n)(a, b))(n),
           [((2, 3), "real"), ((3,), "nz" if n == "remainder" else "real")],
           (lambda n: lambda t, a, b: getattr(t, n)(a, b))(n))
          for n in ("atan2", "hypot", "logaddexp", "copysign", "remainder")]
GRADS += [
    ("sort", lambda x: xf.sort(x, axis=0, descending=True), [((3, 2), "real")],
     lambda t, x: t.sort(x, dim=0, descending=True, stable=True).values),
    ("take", lambda x: xf.take(x, xf.asarray(IDX), axis=1), [((2, 3), "real")],
     lambda t, x: t.index_select(x, 1, t.tensor(IDX))),
    ("roll", lambda x: xf.roll(x, (1, -2), axis=(0, 1)), [((2, 3), "real")],
     lambda t, x: t.roll(x, (1, -2), (0, 1))),
    ("repeat", lambda x: xf.repeat(x, 2, axis=0), [((2, 3), "real")],
     lambda t, x: t.repeat_interleave(x, 2, dim=0)),
    ("tensordot", lambda a, b: xf.tensordot(a, b, axes=((1, 2), (1, 0))),
     [((2, 3, 4), "real"), ((4, 3), "real")],
     lambda t, a, b: t.tensordot(a, b, dims=([1, 2], [1, 0]))),
    ("vecdot", lambda a, b: xf.vecdot(a, b, axis=-1), [((2, 3), "real"), ((3,), "real")],
     lambda t, a, b: t.linalg.vecdot(a, b, dim=-1)),
    ("matmul", lambda a, b: xf.matmul(a, b), [((2, 3, 4), "real"), ((4,), "real")],
     lambda t, a, b: t.matmul(a, b)),
    ("tril", lambda x: xf.tril(x, k=-1), [((3, 4), "real")], lambda t, x: t.tril(x, -1)),
    ("prod", lambda x: xf.prod(x, axis=(0, 2)), [((2, 3, 2), "real")],
     lambda t, x: x.prod(2).prod(0)),
    ("cumulative_sum", lambda x: xf.cumulative_sum(x, axis=1, include_initial=True),
     [((2, 3), "real")],
     lambda t, x: t.cat([t.zeros(2, 1, dtype=x.dtype), x.cumsum(1)], 1)),
    ("std", lambda x: xf.std(x, axis=(0, 2), correction=1), [((2, 3, 2), "real")],
     lambda t, x: t.std(x, dim=(0, 2), correction=1)),
    ("max", lambda x: xf.max(x, axis=(0, 1)), [((2, 3, 2), "real")],
     lambda t, x: t.amax(x, dim=(0, 1))),
    ("sum-empty-axes", lambda x: xf.sum(x, axis=()), [((2, 3), "real")], lambda t, x: x * 1),
    ("clip", lambda x, lo: xf.clip(x, lo, 1.0), [((2, 3), "real"), ((3,), "real")],
     lambda t, x, lo: t.clamp(x, lo, t.tensor(1.0, dtype=x.dtype))),
    ("where", lambda a, b: xf.where(a > b, a, b), [((2, 3), "real"), ((3,), "real")],
     lambda t, a, b: t.where(a > b, a, b)),
    ("moveaxis", lambda x: xf.moveaxis(x, (0, 1), (2, 0)), [((2, 3, 4), "real")],
     lambda t, x: t.movedim(x, (0, 1), (2, 0))),
    ("meshgrid", lambda a, b: xf.meshgrid(a, b), [((3,), "real"), ((2,), "real")],
     lambda t, a, b: t.meshgrid(a, b, indexing="xy")),
    ("concat", lambda a, b: xf.concat([a, b], axis=None), [((2, 3), "real"), ((4,), "real")],
     lambda t, a, b: t.cat([a.flatten(), b])),
    ("tile-unstack", lambda x: xf.unstack(xf.tile(x, (2, 1)), axis=1), [((2, 3), "real")],
     lambda t, x: t.unbind(t.tile(x, (2, 1)), 1)),
    ("squeeze-flip", lambda x: xf.flip(xf.squeeze(x, axis=1), axis=0), [((2, 1, 3), "real")],
     lambda t, x: t.flip(x.squeeze(1), (0,))),
    ("astype-add", lambda a, b: xf.add(a, xf.astype(b, xf.float32)),
     [((3,), "real"), ((), "real")], lambda t, a, b: a + b.float()),
]


@pytest.mark.parametrize("name,fn,specs,tfn", GRADS, ids=[g[0] for g in GRADS])
def test_gradients(name, fn, specs, tfn):
    arrays = [values(shape, "float64", dom, seed=i + 1) for i, (shape, dom) in enumerate(specs)]
    if name != "astype-add":   # float32 on the way: finite differences are too coarse
        assert gradcheck(fn, tuple(fastnn.tensor(a, requires_grad=True) for a in arrays))
    torch = pytest.importorskip("torch")
    for got, want in zip(_fastnn_grads(fn, arrays), _torch_grads(torch, tfn, arrays)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_grad_fn_names_follow_pytorch():
    x = fastnn.tensor([0.5], dtype=fastnn.float64, requires_grad=True)
    assert xf.acos(x).grad_fn.name() == "AcosBackward0"
    assert xf.atan2(x, x).grad_fn.name() == "Atan2Backward0"
    assert xf.floor(x).grad_fn.name() == "FloorBackward0"
    assert xf.sin(x).grad_fn.name() == "SinBackward0"


# ---- bad input -------------------------------------------------------------------------
def test_errors_name_the_problem():
    m, v, z = xf.ones((2, 3)), xf.ones(3), np.zeros(2)
    cases = [
        (ValueError, r"squeeze\(\): cannot remove axis 1 of size 3", xf.squeeze, m, 1),
        (ValueError, r"take\(\): axis must be given", xf.take, m, xf.asarray([0])),
        (TypeError, r"take\(\): indices must be a 1-d integer", xf.take, v, xf.asarray([.5])),
        (TypeError, r"finfo\(\) requires a floating-point dtype, got fastnn.int64", xf.finfo,
         xf.int64),
        (TypeError, r"iinfo\(\) requires an integer dtype, got fastnn.float32", xf.iinfo,
         xf.float32),
        (ValueError, r"isdtype\(\): unknown dtype kind 'floaty'", xf.isdtype, xf.int8, "floaty"),
        (TypeError, r"isdtype\(\) expects a dtype", xf.isdtype, "float32", "bool"),
        (ValueError, r"result_type\(\) requires at least one array", xf.result_type, 1, 2.0),
        (TypeError, "can't convert np.ndarray of type complex128", xf.asarray, z.astype(complex)),
        (ValueError, r"nonzero\(\): zero-dimensional arrays are not allowed", xf.nonzero,
         xf.asarray(1.0)),
        (ValueError, r"cumulative_sum\(\): axis must be given", xf.cumulative_sum, m),
        (ValueError, r"matrix_transpose\(\): x must have at least 2 dimensions, got 1",
         xf.matrix_transpose, v),
        (TypeError, r"bitwise_and\(\) requires integer or boolean tensors, got fastnn.float32",
         xf.bitwise_and, v, v),
        (TypeError, r"add\(\): expected fastnn Tensors or Python scalars, got str", xf.add, v,
         "a"),
        (TypeError, r"where\(\): at least one operand must be a fastnn Tensor", xf.where,
         v > 0, 1.0, 2.0),
        (TypeError, r"sin\(\): argument 'x' must be a fastnn Tensor, not ndarray", xf.sin, z),
        (ValueError, r"vecdot\(\): x1 and x2 must have the same size along axis -1",
         xf.vecdot, m, xf.ones(2)),
        (ValueError, r"meshgrid\(\): every array must be one-dimensional", xf.meshgrid, m),
        (ValueError, r"broadcast_to\(\): cannot broadcast shape \(2, 3\) to \(3, 3, 2\)",
         xf.broadcast_to, m, (3, 3, 2)),
        (ValueError, r"max\(\): cannot reduce a zero-size array", xf.max, xf.zeros(0)),
        (ValueError, r"arange\(\): step must be nonzero", xf.arange, 0, 3, 0),
        (TypeError, r"astype\(\): 'complex64' is not a dtype that fastnn supports", xf.astype,
         m, "complex64"),
    ]
    for exc, msg, fn, *args in cases:
        with pytest.raises(exc, match=msg):
            fn(*args)
    keyword_cases = [
        (ValueError, r"asarray\(copy=False\): converting a Python list needs a copy",
         lambda: xf.asarray([1, 2], copy=False)),
        (ValueError, r"asarray\(copy=False\): casting float64 to fastnn.float32",
         lambda: xf.asarray(z, dtype=xf.float32, copy=False)),
        (ValueError, r"reshape\(copy=False\): shape \(3, 2\) cannot be viewed as \(6,\)",
         lambda: xf.reshape(xf.matrix_transpose(m), (6,), copy=False)),
        (ValueError, r"tensordot\(\): contracted axes differ in size",
         lambda: xf.tensordot(m, m, axes=1)),
        (ValueError, r"searchsorted\(\): side must be 'left' or 'right'",
         lambda: xf.searchsorted(v, v, side="middle")),
        (IndexError, r"flip\(\): axis 2 is out of bounds for an array of 2 dimensions",
         lambda: xf.flip(m, axis=2)),
    ]
    for exc, msg, fn in keyword_cases:
        with pytest.raises(exc, match=msg):
            fn()


def test_conj_real_imag_for_real_dtypes():
    x = xf.asarray([1.0, -2.0])
    assert xf.conj(x) is x and xf.real(x) is x
    assert xf.imag(x).tolist() == [0.0, 0.0] and xf.imag(x).dtype is x.dtype
