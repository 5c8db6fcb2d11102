"""out= semantics: outs requiring grad, resizing in place, out= on more functions, dtype= with
out=, and cat's casting error."""
import warnings

import numpy as np
import pytest

import fastnn


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# ---- an out that requires grad -------------------------------------------------------------

OUT_REQUIRES_GRAD = [
    ("exp", lambda m, o: m.exp(m.zeros(3), out=o), (3,)),
    ("add", lambda m, o: m.add(m.zeros(3), 1, out=o), (3,)),
    ("sum", lambda m, o: m.sum(m.ones(3, 2), 1, out=o), (3,)),
    ("matmul", lambda m, o: m.matmul(m.ones(3, 2), m.ones(2), out=o), (3,)),
    ("cat", lambda m, o: m.cat([m.zeros(1), m.zeros(2)], out=o), (3,)),
]


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return type(e), str(e)
    return None


@pytest.mark.parametrize("name,call,shape", OUT_REQUIRES_GRAD)
@pytest.mark.parametrize("leaf", [True, False])
def test_out_requiring_grad_is_refused(name, call, shape, leaf):
    a = fastnn.ones(*shape, requires_grad=True)
    out = a if leaf else a * 2
    with pytest.raises(RuntimeError, match="functions with out=... arguments don't support "
                                           "automatic differentiation"):
        call(fastnn, out)


def test_factory_out_leaf_requiring_grad():
    with pytest.raises(RuntimeError, match="^aten::zeros\\(\\): functions with out="):
        fastnn.zeros(3, out=fastnn.ones(3, requires_grad=True))


@pytest.mark.parametrize("name,call,shape", OUT_REQUIRES_GRAD)
def test_out_requiring_grad_matches_torch(name, call, shape):
    torch = pytest.importorskip("torch")
    mine = _error(lambda: call(fastnn, fastnn.ones(*shape, requires_grad=True) * 2))
    theirs = _error(lambda: call(torch, torch.ones(*shape, requires_grad=True) * 2))
    assert mine == theirs


def test_out_requiring_grad_allowed_under_no_grad():
    a = fastnn.ones(3, requires_grad=True)
    o = a * 2
    with fastnn.no_grad():
        fastnn.exp(fastnn.zeros(3), out=o)
    assert o.tolist() == [1.0, 1.0, 1.0]
    leaf = fastnn.ones(3, requires_grad=True)
    with fastnn.no_grad():
        _quiet(lambda: fastnn.exp(fastnn.zeros(4), out=leaf))
    assert leaf.shape == (4,) and leaf.requires_grad


@pytest.mark.parametrize("op", ["max", "sort"])
def test_tuple_out_requiring_grad(op):
    x = fastnn.zeros(2, 3)
    values = fastnn.ones(2, requires_grad=True) if op == "max" else \
        fastnn.ones(2, 3, requires_grad=True)
    indices = fastnn.zeros(values.shape, dtype=fastnn.long)
    with pytest.raises(RuntimeError, match=f"^{op}\\(\\): functions with out="):
        getattr(fastnn, op)(x, 1, out=(values, indices))
    assert (indices == 0).all()  # nothing written before the refusal


# ---- resizing keeps the storage when it is large enough --------------------------------------

def test_resized_view_out_writes_into_its_base():
    base = fastnn.zeros(2, 12)
    o = base[0]
    with pytest.warns(UserWarning, match="was resized"):
        fastnn.add(fastnn.ones(3, 4), 1, out=o)
    assert o.shape == (3, 4) and o.stride() == (4, 1)
    assert base[0].tolist() == [2.0] * 12 and base[1].tolist() == [0.0] * 12


def test_shrinking_out_keeps_aliases():
    o = fastnn.zeros(2, 3)
    v = o.view(6)
    _quiet(lambda: fastnn.add(fastnn.ones(2, 2), 1, out=o))
    assert v.tolist() == [2.0, 2.0, 2.0, 2.0, 0.0, 0.0]
    o = fastnn.zeros(2, 3)
    v = o.view(6)
    _quiet(lambda: fastnn.add(fastnn.ones(3, 2), 1, out=o))
    assert o.shape == (3, 2) and v.tolist() == [2.0] * 6


def test_resized_strided_view_is_rewritten_contiguously():
    base = fastnn.zeros(4, 4)
    o = base[:, 0]
    _quiet(lambda: fastnn.add(fastnn.ones(2, 2), 1, out=o))
    assert o.stride() == (2, 1)
    assert base[0].tolist() == [2.0] * 4 and base[1:].sum().item() == 0


def test_growing_out_gets_the_result():
    o = fastnn.zeros(3)
    _quiet(lambda: fastnn.add(fastnn.ones(4), 1, out=o))
    assert o.tolist() == [2.0] * 4


def test_factory_out_resize_keeps_base():
    base = fastnn.zeros(2, 6)
    o = base[0]
    fastnn.ones(2, 3, out=o)
    assert base[0].tolist() == [1.0] * 6 and base[1].tolist() == [0.0] * 6


def test_resize_parity_with_torch():
    torch = pytest.importorskip("torch")
    results = []
    for m in (fastnn, torch):
        base = m.zeros(2, 12)
        o = base[0]
        _quiet(lambda: m.mul(m.ones(3, 4), 3, out=o))
        results.append((np.asarray(base.tolist()), tuple(o.shape), o.stride()))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:]


def test_same_shape_out_is_written_in_place():
    o = fastnn.zeros(2, 3)
    ptr = o.data_ptr()
    assert fastnn.add(fastnn.ones(2, 3), 1, out=o) is o
    assert o.data_ptr() == ptr and o.tolist() == [[2.0] * 3] * 2


# ---- out= on more functions ------------------------------------------------------------------

X = [[0.5, 0.25, 0.75, 1.0], [0.1, 0.9, 0.3, 0.6], [0.2, 0.4, 0.8, 0.7]]

OUT_CALLS = {
    "addcmul": lambda m, x, o: m.addcmul(x, x, x, out=o),
    "addcdiv": lambda m, x, o: m.addcdiv(x, x, x + 1, out=o),
    "nanmean": lambda m, x, o: m.nanmean(x, 1, out=o),
    "hstack": lambda m, x, o: m.hstack([x, x], out=o),
    "vstack": lambda m, x, o: m.vstack([x, x], out=o),
    "column_stack": lambda m, x, o: m.column_stack([x, x], out=o),
    "row_stack": lambda m, x, o: m.row_stack([x, x], out=o),
    "dstack": lambda m, x, o: m.dstack([x, x], out=o),
    "inner": lambda m, x, o: m.inner(x, x, out=o),
    "vdot": lambda m, x, o: m.vdot(x[0], x[1], out=o),
    "renorm": lambda m, x, o: m.renorm(x, 2, 0, 1.0, out=o),
    "angle": lambda m, x, o: m.angle(x - 0.5, out=o),
    "conj_physical": lambda m, x, o: m.conj_physical(x, out=o),
    "mvlgamma": lambda m, x, o: m.mvlgamma(x + 2, 2, out=o),
    "hardshrink": lambda m, x, o: m.hardshrink(x, 0.5, out=o),
    "narrow_copy": lambda m, x, o: m.narrow_copy(x, 0, 0, 2, out=o),
    "slice_scatter": lambda m, x, o: m.slice_scatter(x, x[:1] * 2, 0, 0, 1, out=o),
    "index_copy": lambda m, x, o: m.index_copy(x, 0, m.tensor([0, 2]), x[:2], out=o),
    "index_reduce": lambda m, x, o: m.index_reduce(x, 0, m.tensor([0, 2]), x[:2], "prod",
                                                   out=o),
    "take_along_dim": lambda m, x, o: m.take_along_dim(x, m.zeros(3, 1, dtype=m.long), 1,
                                                       out=o),
    "special.ndtr": lambda m, x, o: m.special.ndtr(x, out=o),
    "special.ndtri": lambda m, x, o: m.special.ndtri(x * 0.9, out=o),
    "special.entr": lambda m, x, o: m.special.entr(x, out=o),
    "special.xlog1py": lambda m, x, o: m.special.xlog1py(x, x, out=o),
    "special.multigammaln": lambda m, x, o: m.special.multigammaln(x + 2, 2, out=o),
    "special.polygamma": lambda m, x, o: m.special.polygamma(1, x, out=o),
}


@pytest.mark.parametrize("name", sorted(OUT_CALLS))
def test_out_keyword_accepted(name):
    x = fastnn.tensor(X)
    o = fastnn.empty(0)
    r = _quiet(lambda: OUT_CALLS[name](fastnn, x, o))
    assert r is o
    expected = _quiet(lambda: OUT_CALLS[name](fastnn, x, None))
    np.testing.assert_allclose(np.asarray(o.tolist()), np.asarray(expected.tolist()),
                               rtol=1e-6)


@pytest.mark.parametrize("name", sorted(OUT_CALLS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_out_keyword_matches_torch(name, dtype):
    torch = pytest.importorskip("torch")
    results = []
    for m in (fastnn, torch):
        x = m.tensor(X)
        o = m.empty(0, dtype=getattr(m, dtype))
        try:
            r = _quiet(lambda: OUT_CALLS[name](m, x, o))
            results.append(("ok", r is o, str(o.dtype).split(".")[-1],
                            np.asarray(o.tolist(), dtype=np.float64)))
        except Exception as e:  # noqa: BLE001
            results.append(("error", type(e).__name__, str(e)))
    mine, theirs = results
    assert mine[:3] == theirs[:3]
    if mine[0] == "ok":
        np.testing.assert_allclose(mine[3], theirs[3], rtol=1e-5, atol=1e-6)


def test_bernoulli_and_multinomial_out():
    p = fastnn.tensor([[0.0, 1.0], [1.0, 0.0]])
    o = fastnn.empty(0, dtype=fastnn.long)
    assert fastnn.bernoulli(p, out=o) is o and o.tolist() == [[0, 1], [1, 0]]
    o = fastnn.empty(0, dtype=fastnn.long)
    assert fastnn.multinomial(p, 1, out=o) is o and o.tolist() == [[1], [0]]
    with pytest.raises(RuntimeError, match="multinomial expects Long tensor out, got: Float"):
        fastnn.multinomial(p, 1, out=fastnn.empty(0))


def test_isin_out_takes_bool():
    x = fastnn.tensor([1, 2, 3])
    o = fastnn.empty(0, dtype=fastnn.bool)
    assert fastnn.isin(x, fastnn.tensor([2]), out=o) is o and o.tolist() == [False, True, False]
    with pytest.raises(RuntimeError, match="Expected out tensor to have dtype bool, but got "
                                           "float instead"):
        fastnn.isin(x, fastnn.tensor([2]), out=fastnn.empty(0))


def test_linalg_lstsq_out():
    A = fastnn.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    B = fastnn.tensor([[1.0], [4.0], [0.0]])
    outs = (fastnn.empty(0), fastnn.empty(0), fastnn.empty(0, dtype=fastnn.long), fastnn.empty(0))
    r = fastnn.linalg.lstsq(A, B, out=outs)
    assert r[0] is outs[0] and outs[0].tolist() == [[1.0], [2.0]]
    expected = fastnn.linalg.lstsq(A, B)
    assert outs[2].item() == expected.rank.item()


# ---- dtype= together with out= ---------------------------------------------------------------

DTYPE_OUT_CALLS = {
    "sum": lambda m, x, o: m.sum(x, 1, dtype=m.float64, out=o),
    "mean": lambda m, x, o: m.mean(x, 1, dtype=m.float64, out=o),
    "prod": lambda m, x, o: m.prod(x, 1, dtype=m.float64, out=o),
    "cumsum": lambda m, x, o: m.cumsum(x, 1, dtype=m.float64, out=o),
    "cumprod": lambda m, x, o: m.cumprod(x, 1, dtype=m.float64, out=o),
    "softmax": lambda m, x, o: m.softmax(x, 1, dtype=m.float64, out=o),
    "log_softmax": lambda m, x, o: m.log_softmax(x, 1, dtype=m.float64, out=o),
    "nansum": lambda m, x, o: m.nansum(x, 1, dtype=m.float64, out=o),
}


@pytest.mark.parametrize("name", sorted(DTYPE_OUT_CALLS))
def test_dtype_must_match_out(name):
    x = fastnn.tensor(X)
    with pytest.raises(RuntimeError, match="dtype"):
        DTYPE_OUT_CALLS[name](fastnn, x, fastnn.empty(0))
    o = fastnn.empty(0, dtype=fastnn.float64)
    assert DTYPE_OUT_CALLS[name](fastnn, x, o) is o and o.dtype == fastnn.float64


def test_dtype_out_message():
    with pytest.raises(RuntimeError, match="^Expected out tensor to have dtype double, but got "
                                           "float instead$"):
        fastnn.sum(fastnn.ones(3, 4), 1, dtype=fastnn.float64, out=fastnn.empty(3))


@pytest.mark.parametrize("name", sorted(DTYPE_OUT_CALLS))
def test_dtype_out_matches_torch(name):
    torch = pytest.importorskip("torch")
    mine = _error(lambda: DTYPE_OUT_CALLS[name](fastnn, fastnn.tensor(X), fastnn.empty(0)))
    theirs = _error(lambda: DTYPE_OUT_CALLS[name](torch, torch.tensor(X), torch.empty(0)))
    assert mine == theirs


# ---- cat's casting error, prelu's weight -----------------------------------------------------

@pytest.mark.parametrize("fn", ["cat", "stack", "hstack", "vstack"])
def test_cat_cast_error_is_type_error(fn):
    x = fastnn.ones(3, 4)
    with pytest.raises(TypeError, match="^torch.cat\\(\\): input types can't be cast to the "
                                        "desired output type Long$"):
        getattr(fastnn, fn)([x, x], out=fastnn.empty(0, dtype=fastnn.long))
    # a cast of the same kind is fine
    o = fastnn.empty(0, dtype=fastnn.int32)
    assert fastnn.cat([x.long(), x.long()], out=o) is o and o.dtype == fastnn.int32


@pytest.mark.parametrize("weight", [0.3, 1])
def test_prelu_weight_must_be_tensor(weight):
    with pytest.raises(TypeError, match="prelu\\(\\): argument 'weight' \\(position 2\\) must be "
                                        "Tensor"):
        fastnn.prelu(fastnn.ones(2, 3), weight)
    with pytest.raises(TypeError, match="argument 'weight'"):
        fastnn.nn.functional.prelu(fastnn.ones(2, 3), weight)
