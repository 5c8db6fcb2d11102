"""Parity with PyTorch for nonzero/argwhere, unique, bincount, repeat_interleave, cumprod,
masked_select, diag/diagonal/trace, meshgrid, roll, tile, index_add, the extra elementwise
functions, movedim, ravel, mv, outer/ger, cross, finfo/iinfo and is_inference: values,
dtypes, shapes, errors and (in float64) gradients."""
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # log2(0), asin(2): as torch


def same(a, b):
    """fastnn result ``a`` equals torch result ``b`` in dtype, shape and values."""
    if isinstance(b, (tuple, list)):
        assert isinstance(a, (tuple, list)) and len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
        return
    assert a.dtype.name == str(b.dtype).split(".")[1], (a.dtype, b.dtype)
    assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
    np.testing.assert_allclose(a.detach().numpy().astype(np.float64),
                               b.detach().numpy().astype(np.float64), rtol=1e-6, atol=1e-6,
                               equal_nan=True)


def both(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        same(fn(fastnn), fn(torch))


def raises_like(fn):
    """fastnn raises what torch raises, with the same message."""
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(type(want.value)) as got:
        fn(fastnn)
    assert str(got.value).split("\n")[0] == str(want.value).split("\n")[0]


def grads_match(fn, *arrays):
    """fn's gradients equal torch's for the same float64 inputs, and pass gradcheck."""
    ft = [fastnn.tensor(a, requires_grad=True) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out_f, out_t = fn(fastnn, *ft), fn(torch, *tt)
        same(out_f, out_t)
        w = np.random.default_rng(1).standard_normal(tuple(out_t.shape))
        (out_f * fastnn.tensor(w)).sum().backward()
        (out_t * torch.tensor(w)).sum().backward()
        for f, t in zip(ft, tt):
            same(f.grad, t.grad)
        assert gradcheck(lambda *xs: fn(fastnn, *xs),
                         tuple(fastnn.tensor(a, requires_grad=True) for a in arrays),
                         eps=1e-6, atol=1e-6, rtol=1e-4)


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- nonzero, argwhere, unique, bincount ---------------------------------------------
@pytest.mark.parametrize("data", [[[0, 1, 0], [2, 0, 3]], [0, 0], 3, 0, [[]]])
def test_nonzero_and_argwhere(data):
    both(lambda lib: lib.tensor(data).nonzero())
    both(lambda lib: lib.nonzero(lib.tensor(data)))
    both(lambda lib: lib.tensor(data).nonzero(as_tuple=True))
    both(lambda lib: lib.nonzero(lib.tensor(data), as_tuple=True))
    both(lambda lib: lib.argwhere(lib.tensor(data)))
    both(lambda lib: lib.tensor(data).argwhere())


@pytest.mark.parametrize("data", [[3, 1, 2, 3, 1, 5], [[2., 1.], [1., float("nan")]],
                                  [True, False, True], 4, []])
def test_unique(data):
    for kw in ({}, {"sorted": False}, {"return_inverse": True}, {"return_counts": True},
               {"return_inverse": True, "return_counts": True}):
        both(lambda lib: lib.unique(lib.tensor(data), **kw))
        both(lambda lib: lib.tensor(data).unique(**kw))


def test_unique_dim():
    x = [[1, 2], [0, 5], [1, 2]]
    both(lambda lib: lib.unique(lib.tensor(x), dim=0, return_inverse=True, return_counts=True))
    both(lambda lib: lib.unique(lib.tensor(x), dim=1, return_inverse=True))


def test_bincount():
    both(lambda lib: lib.bincount(lib.tensor([1, 4, 1, 0])))
    both(lambda lib: lib.tensor([1, 4, 1], dtype=lib.uint8).bincount(minlength=7))
    both(lambda lib: lib.bincount(lib.tensor([], dtype=lib.int64)))
    for wd in ("float32", "float64", "int64", "float16"):
        both(lambda lib: lib.bincount(lib.tensor([1, 2, 1]), minlength=2,
                                      weights=lib.tensor([1, 2, 3], dtype=getattr(lib, wd))))
    raises_like(lambda lib: lib.bincount(lib.tensor([[1]])))
    raises_like(lambda lib: lib.bincount(lib.tensor([-1, 2])))
    raises_like(lambda lib: lib.bincount(lib.tensor(1)))
    raises_like(lambda lib: lib.bincount(lib.tensor([1.])))
    raises_like(lambda lib: lib.bincount(lib.tensor([True])))
    raises_like(lambda lib: lib.bincount(lib.tensor([1, 2]), weights=lib.tensor([1.])))
    raises_like(lambda lib: lib.bincount(lib.tensor([1, 2]), minlength=-1))


# ---- repeat_interleave ---------------------------------------------------------------
def test_repeat_interleave_values_and_errors():
    both(lambda lib: lib.tensor([1, 2]).repeat_interleave(2))
    both(lambda lib: lib.repeat_interleave(lib.tensor([[1, 2], [3, 4]]), 2))
    both(lambda lib: lib.repeat_interleave(lib.tensor([2, 0, 1])))
    both(lambda lib: lib.tensor([[1, 2], [3, 4]]).repeat_interleave(lib.tensor([1, 2]), dim=0))
    both(lambda lib: lib.tensor([[1, 2], [3, 4]]).repeat_interleave(lib.tensor([3]), dim=1))
    both(lambda lib: lib.tensor(3.).repeat_interleave(2))
    raises_like(lambda lib: lib.ones(2, 2).repeat_interleave(lib.tensor([1, 2, 3]), dim=0))
    raises_like(lambda lib: lib.ones(2, 2).repeat_interleave(-1))
    raises_like(lambda lib: lib.ones(2, 2).repeat_interleave(lib.tensor([1, -2]), dim=0))
    raises_like(lambda lib: lib.ones(2).repeat_interleave(lib.tensor([[1, 1]])))
    raises_like(lambda lib: lib.ones(2).repeat_interleave(lib.tensor([1., 1.])))


def test_repeat_interleave_grad():
    grads_match(lambda lib, x: x.repeat_interleave(lib.tensor([1, 0, 2]), dim=1), rnd(2, 3))
    grads_match(lambda lib, x: lib.repeat_interleave(x, 2), rnd(2, 2))


# ---- cumprod -------------------------------------------------------------------------
def test_cumprod_dtypes():
    both(lambda lib: lib.tensor([1, 2, 3], dtype=lib.int32).cumprod(0))
    both(lambda lib: lib.cumprod(lib.tensor([True, True]), 0))
    both(lambda lib: lib.tensor(2.).cumprod(0))
    both(lambda lib: lib.tensor([[1, 2], [3, 4]]).cumprod(dim=-1, dtype=lib.float32))
    both(lambda lib: lib.cumprod(lib.tensor([[1., 2.], [3., 4.]]), 0))
    raises_like(lambda lib: lib.ones(2).cumprod(1))


@pytest.mark.parametrize("arr", [rnd(3, 4), np.array([[2., 0., 3., 0., 5.], [1., 2., 3., 4., 5.],
                                                     [0., 1., 2., 0., 1.]])])
def test_cumprod_grad_with_and_without_zeros(arr):
    grads_match(lambda lib, x: x.cumprod(1), arr)
    grads_match(lambda lib, x: lib.cumprod(x, 0), arr)


# ---- masked_select, diag, diagonal, trace --------------------------------------------
def test_masked_select():
    m = [[True, False, True], [False, False, True]]
    both(lambda lib: lib.arange(6).reshape(2, 3).masked_select(lib.tensor(m)))
    both(lambda lib: lib.masked_select(lib.arange(3.), lib.tensor([[True], [False]])))
    grads_match(lambda lib, x: x.masked_select(lib.tensor(m)), rnd(2, 3))
    grads_match(lambda lib, x: lib.masked_select(x, lib.tensor(m)), rnd(3))
    raises_like(lambda lib: lib.ones(2, 3).masked_select(lib.tensor([1, 0, 1])))
    raises_like(lambda lib: lib.ones(2, 3).masked_select(lib.tensor([True, False])))


def test_diag():
    for k in (0, 1, -1, 3):
        both(lambda lib: lib.arange(6).reshape(2, 3).diag(k))
        both(lambda lib: lib.diag(lib.arange(3), k))
        grads_match(lambda lib, x: x.diag(k), rnd(3, 4))
        grads_match(lambda lib, x: lib.diag(x, k), rnd(3))
    raises_like(lambda lib: lib.zeros(2, 2, 2).diag())
    raises_like(lambda lib: lib.tensor(1.).diag())


def test_diagonal_is_a_view():
    for args in ((), (1,), (-1,), (0, 1, 2), (1, -1, 0), (5,)):
        both(lambda lib: lib.arange(24).reshape(2, 3, 4).diagonal(*args))
        grads_match(lambda lib, x: x.diagonal(*args), rnd(2, 3, 4))
    both(lambda lib: lib.diagonal(lib.arange(9).reshape(3, 3), offset=1))
    for lib in (fastnn, torch):
        x = lib.zeros(3, 3)
        x.diagonal().add_(1)
        assert x.sum().item() == 3
    raises_like(lambda lib: lib.ones(3, 3).diagonal(0, 0, 0))
    raises_like(lambda lib: lib.ones(3).diagonal())


def test_inplace_on_diagonal_of_a_graph_tensor():
    def fn(lib, x):
        y = x * 1
        y.diagonal().mul_(3)
        return y
    grads_match(fn, rnd(3, 3))


def test_trace():
    both(lambda lib: lib.ones(2, 3, dtype=lib.int32).trace())
    both(lambda lib: lib.trace(lib.arange(9.).reshape(3, 3)))
    grads_match(lambda lib, x: x.trace(), rnd(3, 4))
    raises_like(lambda lib: lib.zeros(2, 2, 2).trace())


# ---- meshgrid, roll, tile, index_add -------------------------------------------------
def test_meshgrid():
    for ix in ("ij", "xy"):
        both(lambda lib: lib.meshgrid(lib.arange(2), lib.arange(3), indexing=ix))
        both(lambda lib: lib.meshgrid([lib.arange(2), lib.tensor(7), lib.arange(4)],
                                      indexing=ix))
        grads_match(lambda lib, a, b: lib.meshgrid(a, b, indexing=ix)[0] *
                    lib.meshgrid(a, b, indexing=ix)[1], rnd(2), rnd(3, seed=1))
    with pytest.warns(UserWarning, match="indexing argument"):
        fastnn.meshgrid(fastnn.arange(2), fastnn.arange(3))
    raises_like(lambda lib: lib.meshgrid(lib.arange(2), lib.ones(3), indexing="xy"))
    raises_like(lambda lib: lib.meshgrid(lib.arange(2), indexing="foo"))
    raises_like(lambda lib: lib.meshgrid())
    with pytest.raises(RuntimeError, match="Expected 0D or 1D"):
        fastnn.meshgrid(fastnn.ones(2, 2), indexing="ij")


def test_roll():
    for args in ((1,), (-4,), ((1, 2), (0, 1)), (1, 0), (2, -1), ([5], [1])):
        both(lambda lib: lib.arange(6).reshape(2, 3).roll(*args))
        grads_match(lambda lib, x: lib.roll(x, *args), rnd(2, 3))
    both(lambda lib: lib.tensor(1).roll(1))
    raises_like(lambda lib: lib.arange(6).reshape(2, 3).roll((1, 2), (0,)))
    raises_like(lambda lib: lib.arange(6).reshape(2, 3).roll((1, 2)))
    raises_like(lambda lib: lib.arange(3).roll([]))


def test_tile():
    for dims in ((2,), (2, 2), (1, 3, 1)):
        both(lambda lib: lib.tile(lib.arange(6).reshape(2, 3), dims))
        grads_match(lambda lib, x: x.tile(dims), rnd(2, 3))
    both(lambda lib: lib.arange(3).tile(2, 2))
    both(lambda lib: lib.tensor(1).tile(()))


def test_index_add():
    both(lambda lib: lib.zeros(3, 2).index_add(1, lib.tensor([1]), lib.ones(3, 1), alpha=2))
    both(lambda lib: lib.zeros(4).index_add(0, lib.tensor([0, 0, 3]), lib.arange(3.)))
    both(lambda lib: lib.tensor(1.).index_add(0, lib.tensor(0), lib.tensor(2.)))
    both(lambda lib: lib.zeros(3, dtype=lib.int64).index_add(0, lib.tensor([2, 2]),
                                                             lib.tensor([1, 2])))
    idx = [2, 0, 2]
    grads_match(lambda lib, x, s: x.index_add(0, lib.tensor(idx), s, alpha=0.5),
                rnd(3, 2), rnd(3, 2, seed=1))
    grads_match(lambda lib, x, s: lib.index_add(x, 1, lib.tensor(idx), s),
                rnd(2, 4), rnd(2, 3, seed=1))
    for lib in (fastnn, torch):
        x = lib.zeros(3)
        assert x.index_add_(0, lib.tensor([1, 1]), lib.ones(2)) is x
        assert x.tolist() == [0, 2, 0]

    def inplace(lib, x, s):
        y = x * 2
        y.index_add_(0, lib.tensor([1, 1]), s)
        return y
    grads_match(inplace, rnd(3, 2), rnd(2, 2, seed=1))
    raises_like(lambda lib: lib.zeros(3).index_add(0, lib.tensor([0]), lib.ones(1).double()))
    raises_like(lambda lib: lib.zeros(3).index_add(0, lib.tensor([0.]), lib.ones(1)))
    raises_like(lambda lib: lib.zeros(3).index_add(0, lib.tensor([[0]]), lib.ones(1)))
    raises_like(lambda lib: lib.zeros(3).index_add(0, lib.tensor([5]), lib.ones(1)))
    raises_like(lambda lib: lib.zeros(3).index_add(0, lib.tensor([-1]), lib.ones(1)))
    raises_like(lambda lib: lib.zeros(3, 2).index_add(0, lib.tensor([1]), lib.ones(1, 3)))
    raises_like(lambda lib: lib.zeros(3, 2).index_add(0, lib.tensor([1, 2]), lib.ones(1, 2)))
    raises_like(lambda lib: lib.zeros(3, 2).index_add(0, lib.tensor([1]), lib.ones(2)))


# ---- elementwise ---------------------------------------------------------------------
UNARY = ["log2", "log10", "tan", "asin", "acos", "atan", "sinh", "cosh", "arcsin", "arccos",
         "arctan", "deg2rad", "rad2deg"]


@pytest.mark.parametrize("name", UNARY)
def test_unary(name):
    for dt in ("float32", "float64", "int64", "int32", "bool"):
        data = [[0.25, 0.5], [0.75, 0.1]] if "float" in dt else [[1, 0], [1, 1]]
        both(lambda lib: getattr(lib.tensor(data, dtype=getattr(lib, dt)), name)())
        both(lambda lib: getattr(lib, name)(lib.tensor(data, dtype=getattr(lib, dt))))
    both(lambda lib: getattr(lib.tensor([2., -3., 0.]), name)())  # nan, inf as torch
    arr = np.random.default_rng(0).uniform(0.1, 0.9, (2, 3))
    grads_match(lambda lib, x: getattr(x, name)(), arr)


def test_atan2():
    a, b = rnd(2, 3), rnd(3, seed=1)
    grads_match(lambda lib, x, y: lib.atan2(x, y), a, b)
    grads_match(lambda lib, x, y: x.arctan2(y), rnd(3, 1), rnd(1, 2, seed=1))
    both(lambda lib: lib.atan2(lib.tensor([1, -2]), lib.tensor([2, 0])))
    both(lambda lib: lib.atan2(lib.tensor([1.]), lib.tensor([2.], dtype=lib.float64)))
    both(lambda lib: lib.atan2(lib.tensor([True]), lib.tensor([1.5])))
    raises_like(lambda lib: lib.atan2(lib.tensor([1.]), 2))
    raises_like(lambda lib: lib.atan2(lib.ones(2), lib.ones(3)))


# ---- rearranging and linear algebra --------------------------------------------------
def test_movedim_and_ravel():
    for s, d in ((0, 2), (-1, 0), ((0, 1), (2, 0)), ([2], [1]), ((), ())):
        both(lambda lib: lib.arange(24).reshape(2, 3, 4).movedim(s, d))
        both(lambda lib: lib.moveaxis(lib.arange(24).reshape(2, 3, 4), s, d))
    grads_match(lambda lib, x: x.movedim((0, 1), (2, 0)), rnd(2, 3, 4))
    raises_like(lambda lib: lib.zeros(2, 3, 4).movedim((0, 1), (2,)))
    raises_like(lambda lib: lib.zeros(2, 3, 4).movedim((0, 0), (2, 1)))
    raises_like(lambda lib: lib.zeros(2, 3, 4).movedim((0, 1), (1, 1)))
    both(lambda lib: lib.arange(6).reshape(2, 3).t().ravel())
    both(lambda lib: lib.ravel(lib.tensor(5)))
    grads_match(lambda lib, x: x.t().ravel(), rnd(2, 3))


def test_mv_outer_ger_cross():
    grads_match(lambda lib, m, v: m.mv(v), rnd(2, 3), rnd(3, seed=1))
    both(lambda lib: lib.ones(2, 3, dtype=lib.int32).mv(lib.ones(3, dtype=lib.int32)))
    raises_like(lambda lib: lib.mv(lib.ones(2, 3), lib.ones(2)))
    raises_like(lambda lib: lib.mv(lib.ones(3), lib.ones(3)))
    raises_like(lambda lib: lib.mv(lib.ones(2, 3), lib.ones(3, 1)))
    raises_like(lambda lib: lib.mv(lib.ones(2, 3), lib.ones(3, dtype=lib.float64)))
    grads_match(lambda lib, a, b: lib.outer(a, b), rnd(2), rnd(3, seed=1))
    grads_match(lambda lib, a, b: a.ger(b), rnd(2), rnd(3, seed=1))
    both(lambda lib: lib.ger(lib.ones(2), lib.ones(2, dtype=lib.int64)))
    both(lambda lib: lib.outer(lib.ones(2, dtype=lib.int32), lib.arange(3)))
    raises_like(lambda lib: lib.outer(lib.ones(2, 2), lib.ones(2)))
    raises_like(lambda lib: lib.ones(2).outer(lib.ones(2, 2)))
    grads_match(lambda lib, a, b: lib.cross(a, b, dim=1), rnd(2, 3), rnd(1, 3, seed=1))
    grads_match(lambda lib, a, b: a.cross(b), rnd(3, 4), rnd(3, 4, seed=1))
    raises_like(lambda lib: lib.cross(lib.ones(2, 3), lib.ones(2, 3), dim=0))
    raises_like(lambda lib: lib.cross(lib.ones(2, 3), lib.ones(3), dim=1))
    raises_like(lambda lib: lib.cross(lib.ones(2, 2), lib.ones(2, 2)))


# ---- finfo, iinfo, is_inference ------------------------------------------------------
@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo(name):
    f, t = fastnn.finfo(getattr(fastnn, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(f, attr) == getattr(t, attr), attr
        assert type(getattr(f, attr)) is type(getattr(t, attr)), attr
    assert repr(f) == repr(t)


def test_finfo_default_and_iinfo():
    assert fastnn.finfo().dtype == "float32"
    fastnn.set_default_dtype(fastnn.float64)
    try:
        assert fastnn.finfo().eps == torch.finfo(torch.float64).eps
    finally:
        fastnn.set_default_dtype(fastnn.float32)
    for name in ("uint8", "int8", "int16", "int32", "int64"):
        f, t = fastnn.iinfo(getattr(fastnn, name)), torch.iinfo(getattr(torch, name))
        assert (f.bits, f.max, f.min, f.dtype) == (t.bits, t.max, t.min, t.dtype)
        assert repr(f) == repr(t)
    raises_like(lambda lib: lib.finfo(lib.int32))
    raises_like(lambda lib: lib.iinfo(lib.float32))
    raises_like(lambda lib: lib.iinfo(lib.bool))


def test_is_inference():
    assert fastnn.ones(2).is_inference() is False
    with fastnn.no_grad():
        assert fastnn.ones(2).is_inference() is False
