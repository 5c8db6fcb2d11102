"""Behaviours that once differed from PyTorch: einsum, triu/tril, rounding ops' gradients,
scatter reductions, gather's index shape, integer division modes, range and list indices,
one-element assignment, slice steps, ``size=`` factories, sort/topk and masked_fill values."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def same(a, b):
    """fastnn result ``a`` equals torch result ``b`` in dtype, shape and values."""
    assert a.dtype.name == str(b.dtype).split(".")[1], (a.dtype, b.dtype)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy().astype(np.float64),
                               b.detach().numpy().astype(np.float64), rtol=1e-6, atol=1e-6,
                               equal_nan=True)


def both(fn):
    same(fn(fastnn), fn(torch))


def rand64(*shape, seed=0):
    arr = np.random.default_rng(seed).standard_normal(shape)
    return fastnn.tensor(arr, requires_grad=True)


# ---- 1. builtins shadowed in fastnn's function module --------------------------------
def test_einsum_matmul_and_shadowed_builtins():
    a, b = np.arange(6.).reshape(2, 3), np.arange(12.).reshape(3, 4)
    both(lambda lib: lib.einsum("ij,jk->ik", lib.tensor(a), lib.tensor(b)))
    both(lambda lib: lib.einsum("ij->j", [lib.tensor(a)]))
    assert fastnn.any(fastnn.tensor([False, True])).item() is True  # still fastnn's own any
    assert fastnn.einsum("ij->j", fastnn.ones(2, 2, requires_grad=True)).requires_grad


# ---- 2. triu / tril select, never multiply -----------------------------------------
@pytest.mark.parametrize("fn", ["triu", "tril"])
@pytest.mark.parametrize("k", [-1, 0, 1])
def test_triu_tril_keep_inf_and_nan_out(fn, k):
    both(lambda lib: getattr(lib, fn)(lib.full((3, 3), float("-inf")), diagonal=k))
    both(lambda lib: getattr(lib.full((2, 3, 4), float("nan")), fn)(k))
    both(lambda lib: getattr(lib.arange(12).reshape(3, 4), fn)(k))
    x = rand64(2, 3, 4)
    assert gradcheck(lambda t: getattr(t, fn)(k), (x,))
    t = fastnn.full((3, 3), float("-inf"))
    assert getattr(t, fn + "_")(k) is t
    same(t, getattr(torch.full((3, 3), float("-inf")), fn)(k))


def test_causal_mask_softmax_has_no_nan():
    mask = fastnn.triu(fastnn.full((3, 3), float("-inf")), diagonal=1)
    p = (fastnn.zeros(3, 3) + mask).softmax(-1)
    assert not p.isnan().any()
    np.testing.assert_allclose(p[2].numpy(), [1 / 3] * 3, rtol=1e-6)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        fastnn.ones(3).triu()


# ---- 3. remainder / fmod and rounding ops keep the graph -------------------------------
def test_remainder_gradient_matches_torch():
    for lib in (fastnn, torch):
        x = lib.tensor([5.5, -2.], requires_grad=True)
        ((x % 3) * x).sum().backward()
        assert x.grad.tolist() == [8.0, -1.0]


@pytest.mark.parametrize("op", ["remainder", "fmod"])
def test_remainder_fmod_gradients_for_both_operands(op):
    xa = np.array([5.5, -2.0, 7.25, -4.5])
    ya = np.array([2.0, 3.0, -1.5, 2.5])
    grads = []
    for lib in (fastnn, torch):
        x = lib.tensor(xa, requires_grad=True)
        y = lib.tensor(ya, requires_grad=True)
        out = getattr(lib, op)(x, y)
        (out * lib.tensor([1.0, 2.0, 3.0, 4.0], dtype=lib.float64)).sum().backward()
        grads.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b)
    x, y = rand64(4), fastnn.tensor(ya, requires_grad=True)
    assert gradcheck(lambda s, t: getattr(s, op)(t), (x, y))
    assert gradcheck(lambda s: getattr(s, op)(1.5), (x,))
    assert gradcheck(lambda s: 7.0 % s, (y,))


@pytest.mark.parametrize("op", ["floor", "ceil", "round", "trunc"])
def test_rounding_ops_give_zero_gradient(op):
    for lib in (fastnn, torch):
        x = lib.tensor([1.5, -2.5, 0.25], requires_grad=True)
        y = getattr(x, op)()
        assert y.requires_grad and y.grad_fn is not None
        (y * 3).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0]
    assert fastnn.tensor([1.5]).round().grad_fn is None
    both(lambda lib: getattr(lib.tensor([1.5, -2.5, 0.25]), op)())


# ---- 4. scatter reductions ------------------------------------------------------------
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_inplace_reduce_accumulates_repeats(reduce):
    idx = [[0, 0, 1, 0], [2, 2, 2, 1]]
    src = np.arange(1., 9., dtype=np.float32).reshape(2, 4)
    both(lambda lib: lib.ones(2, 3).scatter_(1, lib.tensor(idx), lib.tensor(src),
                                              reduce=reduce))
    both(lambda lib: lib.ones(2, 3).scatter_(1, lib.tensor(idx), 2.5, reduce=reduce))
    both(lambda lib: lib.ones(2, 3).scatter(1, lib.tensor(idx), lib.tensor(src), reduce=reduce))
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        fastnn.ones(3).scatter_(0, fastnn.tensor([0]), fastnn.ones(1, dtype=fastnn.float64))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
        fastnn.ones(3).scatter_(0, fastnn.tensor([0]), 1.0, reduce="max")


def test_scatter_add_repeats_and_gradient():
    idx = [[0, 0, 1], [2, 2, 2]]
    both(lambda lib: lib.zeros(2, 3).scatter_add(1, lib.tensor(idx), lib.ones(2, 3)))
    both(lambda lib: lib.zeros(2, 3).scatter_add_(1, lib.tensor(idx), lib.ones(2, 3)))
    both(lambda lib: lib.scatter_add(lib.zeros(2, 3), 1, lib.tensor(idx), lib.ones(2, 3)))
    a, s = rand64(2, 3), rand64(2, 4, seed=1)
    assert gradcheck(lambda x, y: x.scatter_add(1, fastnn.tensor(idx), y), (a, s))
    for lib in (fastnn, torch):
        src = lib.ones(2, 3, requires_grad=True)
        lib.zeros(2, 3).scatter_add(1, lib.tensor(idx), src).mul(
            lib.tensor([[1., 2., 3.], [4., 5., 6.]])).sum().backward()
        assert src.grad.tolist() == [[1., 1., 2.], [6., 6., 6.]]
    with pytest.raises(TypeError, match="must be Tensor, not float"):
        fastnn.zeros(3).scatter_add(0, fastnn.tensor([0]), 1.0)


def test_scatter_inplace_records_a_src_that_needs_grad():
    src = fastnn.tensor([1., 2.], requires_grad=True)
    out = fastnn.zeros(3)
    out.scatter_(0, fastnn.tensor([2, 0]), src)
    (out * fastnn.tensor([1., 10., 100.])).sum().backward()
    assert src.grad.tolist() == [100., 1.]


# ---- 5. gather takes the index's shape ------------------------------------------------
def test_gather_uses_index_shape():
    x = np.arange(6.).reshape(2, 3)
    both(lambda lib: lib.tensor(x).gather(1, lib.tensor([[2, 0]])))
    both(lambda lib: lib.tensor(x).gather(1, lib.tensor([[0, 0, 2, 1]])))
    both(lambda lib: lib.tensor(x).gather(0, lib.tensor([[1], [0]])))
    a = rand64(3, 4)
    idx = fastnn.tensor([[0, 0, 3], [2, 2, 2]])  # smaller than the input, with repeats
    assert gradcheck(lambda t: t.gather(1, idx), (a,))
    for lib in (fastnn, torch):
        t = lib.zeros(3, 4, dtype=lib.float64, requires_grad=True)
        t.gather(1, lib.tensor([[0, 0, 3], [2, 2, 2]])).sum().backward()
        assert t.grad.tolist() == [[2, 0, 0, 1], [0, 0, 3, 0], [0, 0, 0, 0]]


@pytest.mark.parametrize("bad,msg", [
    ([[5, 0]], "index 5 is out of bounds for dimension 1 with size 3"),
    ([[-1, 0]], "index -1 is out of bounds for dimension 1 with size 3"),
    ([[0], [0], [0]], "Size does not match at dimension 1"),
])
def test_gather_index_errors(bad, msg):
    with pytest.raises(RuntimeError, match=msg):
        fastnn.ones(2, 3).gather(1, fastnn.tensor(bad))
    with pytest.raises(RuntimeError):
        torch.ones(2, 3).gather(1, torch.tensor(bad))


def test_scatter_index_errors():
    with pytest.raises(RuntimeError, match="index -1 is out of bounds"):
        fastnn.ones(2, 3).scatter(1, fastnn.tensor([[-1]]), 2.0)
    with pytest.raises(RuntimeError, match="no larger size than src"):
        fastnn.ones(2, 3).scatter_(1, fastnn.tensor([[0, 1]]), fastnn.ones(1, 1))


# ---- 6. rounding division keeps integers ----------------------------------------------
@pytest.mark.parametrize("mode", ["trunc", "floor"])
def test_div_rounding_mode_dtypes(mode):
    ints = [7, -7, 5, -5, 0]
    both(lambda lib: lib.div(lib.tensor(ints), 2, rounding_mode=mode))
    both(lambda lib: lib.div(lib.tensor(ints), lib.tensor([2, 2, -3, 3, 4]), rounding_mode=mode))
    both(lambda lib: lib.tensor(ints, dtype=lib.int32).div(-3, rounding_mode=mode))
    both(lambda lib: lib.div(lib.tensor(ints), 2.5, rounding_mode=mode))
    both(lambda lib: lib.div(lib.tensor([5.5, -5.5]), 2, rounding_mode=mode))
    both(lambda lib: lib.div(lib.tensor(ints), 2))
    big = 2 ** 62 + 1  # exact: no detour through floats
    assert fastnn.tensor([big]).div(1, rounding_mode=mode).item() == big
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        fastnn.div(fastnn.tensor([1]), 0, rounding_mode=mode)
    for lib in (fastnn, torch):
        x = lib.tensor([5.5, -2.], requires_grad=True)
        lib.div(x, 3, rounding_mode=mode).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0]


# ---- 7. range and empty-list indices; range as data ------------------------------------
def test_range_index_and_data():
    lp = np.random.default_rng(0).standard_normal((4, 5))
    y = [1, 0, 4, 2]
    both(lambda lib: lib.tensor(lp)[range(4), lib.tensor(y)])
    both(lambda lib: lib.tensor(lp)[range(1, 4, 2)])
    both(lambda lib: lib.tensor(range(3)))
    both(lambda lib: lib.tensor([range(2), range(2, 4)]))
    x = rand64(4, 5)
    assert gradcheck(lambda t: -t.log_softmax(1)[range(4), fastnn.tensor(y)].mean(), (x,))
    t = fastnn.zeros(3, 2)
    t[range(2)] = 1.0
    assert t.sum().item() == 4.0


def test_empty_list_index():
    both(lambda lib: lib.ones(3, 2)[[]])
    both(lambda lib: lib.arange(4)[[]])
    t = fastnn.ones(3)
    t[[]] = 5.0
    assert t.tolist() == [1.0, 1.0, 1.0]


# ---- 8. a one-element tensor into a scalar slot ---------------------------------------
def test_assign_one_element_tensor_into_scalar_slot():
    for lib in (fastnn, torch):
        a = lib.zeros(3)
        a[0] = lib.tensor([5.])
        a[1] = lib.tensor([[6.]])
        assert a.tolist() == [5.0, 6.0, 0.0]
        b = lib.zeros(2, 3)
        b[0] = lib.ones(1, 1, 3)
        assert b.tolist() == [[1.0] * 3, [0.0] * 3]
    with pytest.raises(RuntimeError, match="expanded size"):
        fastnn.zeros(3)[0:2] = fastnn.ones(1, 3)
    v = fastnn.tensor([[5.]], requires_grad=True)
    x = fastnn.zeros(3, requires_grad=True).clone()
    x[1] = v
    (x * 2).sum().backward()
    assert v.grad.tolist() == [[2.0]]


# ---- 9. slice steps -------------------------------------------------------------------
@pytest.mark.parametrize("idx,msg", [
    (slice(None, None, -1), "step must be greater than zero"),
    ((slice(None), slice(3, 0, -2)), "step must be greater than zero"),
    (slice(None, None, 0), "slice step cannot be zero"),
])
def test_non_positive_slice_step_raises(idx, msg):
    for lib in (fastnn, torch):
        x = lib.zeros(4, 4)
        with pytest.raises(ValueError, match=msg):
            x[idx]
        with pytest.raises(ValueError, match=msg):
            x[idx] = 1.0
    both(lambda lib: lib.arange(6)[::2])


# ---- 10. size= keyword ----------------------------------------------------------------
@pytest.mark.parametrize("fn", ["zeros", "ones", "empty", "rand", "randn"])
def test_factories_take_size_keyword(fn):
    for lib in (fastnn, torch):
        t = getattr(lib, fn)(size=(2, 3))
        assert tuple(t.shape) == (2, 3)
        assert tuple(getattr(lib, fn)(size=[4]).shape) == (4,)
    assert fastnn.zeros(size=(2,), dtype=fastnn.int64).tolist() == [0, 0]
    assert tuple(fastnn.full(size=(2, 3), fill_value=1.0).shape) == (2, 3)
    with pytest.raises(TypeError):
        getattr(fastnn, fn)(2, size=(2,))


# ---- 11. sort, argsort, topk; masked_fill with a value tensor --------------------------
SORT_DATA = [[3., 1., 2., 1.], [float("nan"), 0., 5., 0.], [2., 2., 2., -1.]]


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort(dim, descending):
    both(lambda lib: lib.tensor(SORT_DATA).sort(dim=dim, descending=descending,
                                                stable=True).values)
    both(lambda lib: lib.sort(lib.tensor(SORT_DATA), dim=dim, descending=descending,
                              stable=True).indices)
    both(lambda lib: lib.argsort(lib.tensor(SORT_DATA), dim=dim, descending=descending,
                                 stable=True))
    both(lambda lib: lib.tensor([[3, 1, 2], [0, -1, 9]]).sort(dim, descending)[0])
    x = rand64(3, 4)
    assert gradcheck(lambda t: t.sort(dim, descending).values, (x,))


def test_sort_result_type_and_zero_dim():
    r = fastnn.tensor([2., 1.]).sort()
    assert type(r).__name__ == "sort" and r.indices.dtype is fastnn.int64
    assert r.values.tolist() == [1.0, 2.0]
    v, i = fastnn.tensor(3.).sort()
    assert v.item() == 3.0 and i.item() == 0 and i.dim() == 0


@pytest.mark.parametrize("k,dim,largest", [(2, 1, True), (1, 0, False), (3, -1, False),
                                           (0, 1, True)])
def test_topk(k, dim, largest):
    data = [[3., 1., 2., 7.], [4., 0., 5., -2.], [2.5, 6., 9., -1.]]
    both(lambda lib: lib.tensor(data).topk(k, dim, largest).values)
    both(lambda lib: lib.topk(lib.tensor(data), k, dim=dim, largest=largest).indices)
    x = rand64(3, 4)
    assert gradcheck(lambda t: t.topk(k, dim, largest).values, (x,))
    for lib in (fastnn, torch):
        t = lib.tensor(data, requires_grad=True)
        (t.topk(2, 1).values * lib.tensor([1., 10.])).sum().backward()
        assert t.grad.tolist() == [[10, 0, 0, 1], [10, 0, 1, 0], [0, 10, 1, 0]]
    with pytest.raises(RuntimeError, match="selected index k out of range"):
        fastnn.ones(2, 3).topk(4)


def test_masked_fill_value_tensor_gets_gradient():
    data = [[3., 1., 2.], [0.5, 4., 0.]]
    grads = []
    for lib in (fastnn, torch):
        x = lib.tensor(data, requires_grad=True)
        v = lib.tensor(2., requires_grad=True)
        y = x.masked_fill(x > 1, v)
        (y * lib.tensor([[1., 2., 3.], [4., 5., 6.]])).sum().backward()
        grads.append((y.detach().numpy(), x.grad.numpy(), v.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b)
    assert grads[0][2].item() == 1. + 3. + 5.
    x, v = rand64(2, 3), fastnn.tensor(0.7, dtype=fastnn.float64, requires_grad=True)
    mask = fastnn.tensor([True, False, True])
    assert gradcheck(lambda a, b: a.masked_fill(mask, b), (x, v))
    out = fastnn.zeros(2, 3)
    out.masked_fill_(mask, v)
    out.sum().backward()
    assert v.grad.item() == 4.0


def test_flip_returns_a_copy():
    # PyTorch's flip copies: writing the result must leave the input alone
    x = fastnn.arange(6.0).reshape(2, 3)
    y = x.flip(0)
    y.add_(100)
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert fastnn.flip(x, [1]).tolist() == [[2, 1, 0], [5, 4, 3]]
    both(lambda lib: lib.arange(6.0).reshape(2, 3).flip((0, 1)))


def test_int_and_float_of_several_elements_raise_value_error():
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        int(fastnn.ones(2))
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        float(fastnn.ones(2))
    assert int(fastnn.tensor([3.7])) == 3 and float(fastnn.tensor(2)) == 2.0


def test_uint8_index_is_a_mask_with_a_warning():
    mask = [1, 0, 1]
    for lib in (fastnn, torch):
        x = lib.arange(3)
        with pytest.warns(UserWarning, match="indexing with dtype torch.uint8 is now deprecated"):
            assert x[lib.tensor(mask, dtype=lib.uint8)].tolist() == [0, 2]


@pytest.mark.parametrize("call", [
    lambda lib: lib.where(lib.ones(2) > 0, lib.ones(3), lib.ones(4)),
    lambda lib: lib.cat([lib.tensor(1.0), lib.tensor(2.0)]),
    lambda lib: lib.tensor([]).argmax(),
    lambda lib: lib.tensor([]).argmin(),
    lambda lib: lib.ones(2) & lib.ones(2),
    lambda lib: lib.ones(2, dtype=lib.int64) | lib.ones(2),
    lambda lib: lib.ones(2) << 1,
    lambda lib: lib.broadcast_shapes((2,), (3,)),
    lambda lib: lib.multinomial(lib.tensor([-1.0, 2.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([0.0, 0.0]), 1),
    lambda lib: lib.multinomial(lib.tensor([1.0, 2.0]), 3),
    lambda lib: lib.fmod(lib.tensor([True]), lib.tensor([True])),
])
def test_errors_of_pytorchs_type_and_words(call):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(type(want.value)) as got:
        call(fastnn)
    first = str(want.value).split("\n")[0].replace("torch.", "fastnn.")
    assert str(got.value).split("\n")[0] == first


def test_bit_shifts_and_bitwise_ops_of_integers():
    both(lambda lib: lib.tensor([1, 2, -8]) << 2)
    both(lambda lib: lib.tensor([1, 2, -8]) >> 1)
    both(lambda lib: lib.tensor([1, 2]) << lib.tensor([3, 1]))
    both(lambda lib: 1 << lib.tensor([0, 3]))
    both(lambda lib: (lib.tensor([6, 3]) & 5) | lib.tensor([8, 0]))
    both(lambda lib: lib.tensor([True, False]) ^ lib.tensor([True, True]))
    assert fastnn.broadcast_shapes((2, 1), (3,)) == (2, 3)


def test_batched_matmul_broadcast_error():
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(4\) must match the size of "
                                           r"tensor b \(2\) at non-singleton dimension 1"):
        fastnn.zeros(2, 4, 3, 8) @ fastnn.zeros(2, 2, 8, 5)
    both(lambda lib: lib.ones(2, 1, 3, 8) @ lib.ones(4, 8, 5))
