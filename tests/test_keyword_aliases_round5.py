"""numpy's axis=/keepdims= aliases, invalid dtype= arguments, tensor steps for linspace and
logspace, squeeze with repeated dims and transpose of a 0-d tensor."""
import numpy as np
import pytest

import fastnn

X = [[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]

# (name, args after the input, keywords): each is called as fastnn.name(x, *args, **kw) and as
# x.name(*args, **kw), and must equal the call with dim=1 (keepdim=True where keepdims=True)
ALIASES = [
    ("mode", (), {"axis": 1}), ("mode", (1,), {"keepdims": True}),
    ("mode", (), {"axis": 1, "keepdims": True}),
    ("aminmax", (), {"axis": 1}), ("aminmax", (), {"dim": 1, "keepdims": True}),
    ("cummax", (), {"axis": 1}), ("cummin", (), {"axis": 1}),
    ("logcumsumexp", (), {"axis": 1}),
    ("sort", (), {"axis": 1}), ("argsort", (), {"axis": 1}), ("topk", (2,), {"axis": 1}),
    ("kthvalue", (1,), {"axis": 1}), ("kthvalue", (1, 1), {"keepdims": True}),
    ("quantile", (0.5,), {"axis": 1}), ("quantile", (0.5, 1), {"keepdims": True}),
    ("nanquantile", (0.5,), {"axis": 1}), ("nanquantile", (0.5, 1), {"keepdims": True}),
    ("diff", (), {"axis": 1}), ("unbind", (), {"axis": 1}), ("chunk", (2,), {"axis": 1}),
    ("select", (), {"axis": 1, "index": 0}),
    ("gather", (), {"axis": 1, "index": [[0], [1]]}),
    ("index_select", (), {"axis": 1, "index": [0, 2]}),
    ("narrow", (), {"axis": 1, "start": 0, "length": 2}),
    ("repeat_interleave", (2,), {"axis": 1}), ("tensor_split", (2,), {"axis": 1}),
]


def _canonical(kw):
    kw = dict(kw)
    if "axis" in kw:
        kw["dim"] = kw.pop("axis")
    if "keepdims" in kw:
        kw["keepdim"] = kw.pop("keepdims")
    return kw


def _tensors(m, kw):
    return {k: m.tensor(v) if isinstance(v, list) else v for k, v in kw.items()}


def _arrays(r):
    if isinstance(r, (tuple, list)):
        return [_arrays(t) for t in r]
    return (tuple(r.shape), str(r.dtype).split(".")[-1], np.asarray(r.tolist()))


def _same(a, b):
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return a[:2] == b[:2] and np.allclose(a[2], b[2], rtol=1e-6)


@pytest.mark.parametrize("name,args,kw", ALIASES, ids=lambda v: str(v))
@pytest.mark.parametrize("form", ["function", "method"])
def test_numpy_alias_is_dim(name, args, kw, form):
    x = fastnn.tensor(X)
    call = (lambda **k: getattr(fastnn, name)(x, *args, **k)) if form == "function" else \
        (lambda **k: getattr(x, name)(*args, **k))
    assert _same(_arrays(call(**_tensors(fastnn, kw))),
                 _arrays(call(**_tensors(fastnn, _canonical(kw)))))


@pytest.mark.parametrize("name,args,kw", ALIASES, ids=lambda v: str(v))
def test_numpy_alias_matches_torch(name, args, kw):
    torch = pytest.importorskip("torch")
    mine = getattr(fastnn, name)(fastnn.tensor(X), *args, **_tensors(fastnn, kw))
    theirs = getattr(torch, name)(torch.tensor(X), *args, **_tensors(torch, kw))
    assert _same(_arrays(mine), _arrays(theirs))


def test_required_dim_still_required():
    x = fastnn.tensor(X)
    with pytest.raises(TypeError, match='gather\\(\\) missing 2 required positional argument: '
                                        '"dim", "index"'):
        x.gather()
    with pytest.raises(TypeError, match='"dim"'):
        x.cummax()
    with pytest.raises(TypeError, match='"index"'):
        x.index_select(1)
    with pytest.raises(TypeError, match='"length"'):
        x.narrow(1, 0)


# ---- invalid dtype= arguments ----------------------------------------------------------------

DTYPE_ERRORS = [
    (lambda m, x: m.softmax(x, 1, dtype=m.int64), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda m, x: m.softmax(x, 0, dtype=m.int64), NotImplementedError,
     "\"softmax_kernel_impl\" not implemented for 'Long'"),
    (lambda m, x: m.log_softmax(x, 1, dtype=m.int32), NotImplementedError,
     "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Int'"),
    (lambda m, x: m.log_softmax(x, 1, dtype=m.bool), NotImplementedError,
     "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Bool'"),
    (lambda m, x: x.softmax(1, dtype=m.int64), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda m, x: m.nn.functional.softmax(x, 1, dtype=m.int64), NotImplementedError,
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda m, x: m.nanmean(x, dtype=m.int64), RuntimeError,
     "nanmean(): could not infer output dtype. Optional dtype must be either a floating point "
     "or complex dtype. Got: Long"),
    (lambda m, x: m.linalg.norm(m.arange(4), dtype=m.float64), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda m, x: m.linalg.vector_norm(m.arange(4), dtype=m.float64), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda m, x: m.linalg.vector_norm(x, dtype=m.int64), RuntimeError,
     "linalg.vector_norm: dtype should be floating point or complex, but got Long"),
    (lambda m, x: m.linalg.vector_norm(x, dtype=m.float16), RuntimeError,
     "linalg.vector_norm: the dtype of the input (Float) should be convertible without "
     "narrowing to the specified dtype (Half)"),
    (lambda m, x: m.linalg.matrix_norm(x, dtype=m.int64), RuntimeError,
     "linalg.matrix_norm: dtype should be floating point or complex, but got Long"),
    (lambda m, x: m.linalg.matrix_norm(x.long(), dtype=m.float64), RuntimeError,
     "linalg.matrix_norm: Expected a floating point or complex tensor as input. Got Long"),
]


@pytest.mark.parametrize("call,exc,message", DTYPE_ERRORS)
def test_invalid_dtype_argument(call, exc, message):
    with pytest.raises(exc) as info:
        call(fastnn, fastnn.tensor(X))
    assert str(info.value) == message


@pytest.mark.parametrize("call,exc,message", DTYPE_ERRORS)
def test_invalid_dtype_argument_matches_torch(call, exc, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(exc) as info:
        call(torch, torch.tensor(X))
    assert str(info.value) == message


def test_valid_dtype_arguments_still_work():
    x = fastnn.tensor(X)
    assert x.softmax(1, dtype=fastnn.float64).dtype == fastnn.float64
    assert fastnn.nanmean(x, dtype=fastnn.float64).dtype == fastnn.float64
    assert fastnn.linalg.vector_norm(x, dtype=fastnn.float64).dtype == fastnn.float64
    with pytest.raises(NotImplementedError):
        fastnn.softmax(x.long(), 1)


# ---- linspace / logspace steps as a 0-d tensor -----------------------------------------------

@pytest.mark.parametrize("fn", ["linspace", "logspace"])
def test_tensor_steps(fn):
    got = getattr(fastnn, fn)(0, 1, fastnn.tensor(3))
    assert got.tolist() == getattr(fastnn, fn)(0, 1, 3).tolist()
    assert getattr(fastnn, fn)(0, 1, steps=fastnn.tensor(2, dtype=fastnn.int32)).shape == (2,)
    for bad in (fastnn.tensor(3.0), fastnn.tensor([3]), fastnn.tensor(True), 2.0):
        with pytest.raises(TypeError, match=f"^{fn}\\(\\) received an invalid combination"):
            getattr(fastnn, fn)(0, 1, bad)
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        getattr(fastnn, fn)(0, 1, -1)


@pytest.mark.parametrize("fn", ["linspace", "logspace"])
def test_tensor_steps_match_torch(fn):
    torch = pytest.importorskip("torch")
    np.testing.assert_allclose(getattr(fastnn, fn)(0, 1, fastnn.tensor(5)).tolist(),
                               getattr(torch, fn)(0, 1, torch.tensor(5)).tolist(), rtol=1e-6)


# ---- squeeze with a repeated dim, transpose of a 0-d tensor ----------------------------------

@pytest.mark.parametrize("dims,shown", [((0, 0), 0), ((2, -1), 2), ([1, -2], 1)])
def test_squeeze_repeated_dim(dims, shown):
    x = fastnn.ones(1, 3, 1)
    with pytest.raises(RuntimeError, match=f"^dim {shown} appears multiple times in the list "
                                           "of dims$"):
        fastnn.squeeze(x, dims)
    assert x.squeeze((0, 2)).shape == (3,) and x.squeeze(0).shape == (3, 1)


@pytest.mark.parametrize("dims,ok", [((0, 1), False), ((0, -1), True), ((-2, 0), False),
                                     ((-1, -1), True)])
def test_transpose_0d_checks_dims(dims, ok):
    x = fastnn.tensor(2.0)
    if ok:
        assert x.transpose(*dims).shape == ()
    else:
        with pytest.raises(IndexError, match="Dimension out of range \\(expected to be in "
                                             "range of \\[-1, 0\\]"):
            x.transpose(*dims)
