"""Views that share storage, indexing, joins, conversions and printing, checked against PyTorch."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")


def compare(a, b):
    if isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            compare(x, y)
        return
    assert isinstance(a, fastnn.Tensor)
    assert a.dtype.name == str(b.dtype).split(".")[1], (a.dtype, b.dtype)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def check(fn):
    compare(fn(fastnn), fn(torch))


def grid(lib, *shape):
    n = int(np.prod(shape))
    return lib.arange(n).reshape(shape)


def shares(view, base):
    return np.shares_memory(view.detach().numpy(), base.detach().numpy())


# ---- views share storage -------------------------------------------------------------
VIEWS = {
    "view": lambda t: t.view(4, 6),
    "view_infer": lambda t: t.view(-1, 3),
    "reshape": lambda t: t.reshape(6, 4),
    "flatten": lambda t: t.flatten(),
    "flatten_part": lambda t: t.flatten(1),
    "unsqueeze": lambda t: t.unsqueeze(1),
    "squeeze": lambda t: t.unsqueeze(0).squeeze(),
    "squeeze_dim": lambda t: t.unsqueeze(2).squeeze(2),
    "permute": lambda t: t.permute(2, 0, 1),
    "transpose": lambda t: t.transpose(0, 2),
    "t": lambda t: t[0].t(),
    "T": lambda t: t[:, 0].T,
    "expand_same": lambda t: t.expand(2, 3, 4),
    "expand_as": lambda t: t[:1].expand_as(t[1:]),
    "narrow": lambda t: t.narrow(1, 1, 2),
    "chunk": lambda t: t.chunk(2, dim=2)[1],
    "split": lambda t: t.split([1, 2], dim=1)[1],
    "index_int": lambda t: t[1],
    "index_slice": lambda t: t[:, 1:, ::2],
    "index_ellipsis": lambda t: t[..., 2],
    "index_none": lambda t: t[None, 0, :, None],
    "unbind": lambda t: t.unbind(1)[2],
    "view_as": lambda t: t.view_as(fastnn.ones(6, 4)) if isinstance(t, fastnn.Tensor) else
    t.view_as(torch.ones(6, 4)),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_shares_storage_and_values(name):
    fn = VIEWS[name]
    base = grid(fastnn, 2, 3, 4).float()
    v = fn(base)
    compare(v, fn(grid(torch, 2, 3, 4).float()))
    assert shares(v, base)
    v.fill_(-7)  # writes through to the base
    ref = grid(torch, 2, 3, 4).float()
    fn(ref).fill_(-7)
    compare(base, ref)
    assert base._version == v._version > 0


def test_expand_shares_storage_and_refuses_overlapping_writes():
    x = fastnn.arange(3.0).reshape(3, 1)
    e = x.expand(3, 4)
    assert shares(e, x) and e.stride() == (1, 0)
    x[1, 0] = 10
    assert e[1].tolist() == [10.0] * 4
    for write in (lambda: e.add_(1), lambda: e.mul_(2), lambda: e.copy_(fastnn.ones(3, 4))):
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor "
                                               "refers to a single memory location"):
            write()
    with pytest.raises(RuntimeError):
        torch.ones(3, 1).expand(3, 4).add_(1)


def test_contiguity():
    x = grid(fastnn, 3, 4)
    assert x.is_contiguous() and not x.t().is_contiguous()
    c = x.t().contiguous()
    assert c.is_contiguous() and not shares(c, x)
    assert x.contiguous() is x
    assert x.stride() == (4, 1) and x.t().stride() == (1, 4)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.t().view(12)
    r = x.t().reshape(12)  # reshape copies when it must
    check(lambda lib: grid(lib, 3, 4).t().reshape(12))
    assert not shares(r, x)


def test_advanced_indexing_copies():
    x = grid(fastnn, 3, 4)
    pairs = (fastnn.tensor([0, 2]), fastnn.tensor([1, 3]))
    for idx in ([0, 2], fastnn.tensor([0, 2]), x > 5, pairs):
        y = x[idx]
        assert not shares(y, x)
    check(lambda lib: grid(lib, 3, 4)[lib.tensor([True, False, True])])
    check(lambda lib: grid(lib, 3, 4)[lib.tensor([2, 0])][:, 1:])
    check(lambda lib: grid(lib, 3, 4)[lib.tensor([0, 2]), lib.tensor([1, 3])])
    check(lambda lib: grid(lib, 3, 4)[grid(lib, 3, 4) % 3 == 0])
    check(lambda lib: grid(lib, 3, 4)[lib.tensor(1)])
    check(lambda lib: grid(lib, 2, 3, 4)[:, lib.tensor([[0, 1], [2, 2]])])
    check(lambda lib: grid(lib, 2, 3, 4)[1, ..., lib.tensor([3, 0])])


SETITEM = [
    (lambda lib: 1, 5),
    (lambda lib: (slice(None), 2), -1),
    (lambda lib: (Ellipsis, slice(1, 3)), 9),
    (lambda lib: lib.tensor([0, 2]), 3),
    (lambda lib: (lib.tensor([0, 2]), lib.tensor([1, 3])), 8),
    (lambda lib: grid(lib, 3, 4) > 6, 0),
    (lambda lib: 0, lambda lib: lib.tensor([10, 11, 12, 13])),
    (lambda lib: (slice(None), 0), lambda lib: lib.tensor([7, 8, 9])),
    (lambda lib: slice(0, 2), lambda lib: lib.tensor([1, 2, 3, 4])),  # broadcast
    (lambda lib: (slice(None), 1), lambda lib: lib.tensor(2.7)),  # cast to int64
]


@pytest.mark.parametrize("idx,value", SETITEM)
def test_setitem(idx, value):
    def run(lib):
        x = grid(lib, 3, 4)
        v = value(lib) if callable(value) else value
        x[idx(lib)] = v
        return x
    check(run)


def test_integers_mixed_with_advanced_indices_follow_torch():
    def run(lib):
        x = grid(lib, 2, 3, 4).float()
        x[1, :, lib.tensor([0, 2])] = lib.arange(6.0).reshape(3, 2)
        return x, x[0, ..., lib.tensor([3, 1])], x[1, lib.tensor([2]), 1:]
    compare(run(fastnn), run(torch))


def test_setitem_through_a_view_reaches_the_base():
    x = fastnn.zeros(3, 4)
    row = x[1]
    row[2:] = 5
    x.t()[0] = 1
    ref = torch.zeros(3, 4)
    ref[1][2:] = 5
    ref.t()[0] = 1
    compare(x, ref)


# ---- joins, gathers and friends ------------------------------------------------------
def test_cat_stack():
    check(lambda lib: lib.cat([grid(lib, 2, 3), grid(lib, 1, 3)]))
    check(lambda lib: lib.cat((grid(lib, 2, 3), grid(lib, 2, 2)), dim=1))
    check(lambda lib: lib.cat([grid(lib, 2, 3).float(), grid(lib, 2, 3)], -1))
    check(lambda lib: lib.cat([grid(lib, 2, 3), lib.tensor([])]))
    check(lambda lib: lib.stack([grid(lib, 2, 3), grid(lib, 2, 3)]))
    check(lambda lib: lib.stack([grid(lib, 2, 3), grid(lib, 2, 3)], dim=2))
    check(lambda lib: lib.stack([grid(lib, 2, 3), grid(lib, 2, 3)], -1))
    check(lambda lib: lib.concat([grid(lib, 2), grid(lib, 3)]))


def test_where():
    check(lambda lib: lib.where(grid(lib, 2, 3) > 2, grid(lib, 2, 3), -grid(lib, 2, 3)))
    check(lambda lib: lib.where(grid(lib, 2, 3) > 2, grid(lib, 3).float(), 0))
    check(lambda lib: lib.where(grid(lib, 2, 3) > 2, 1.5, grid(lib, 2, 3)))
    check(lambda lib: (grid(lib, 2, 3) * 1.0).where(grid(lib, 2, 3) > 2, 0.0))
    check(lambda lib: lib.where(grid(lib, 2, 3) > 2))


def test_gather_scatter_index_select_masked_fill():
    idx = [[0, 0], [1, 0], [2, 1]]
    check(lambda lib: grid(lib, 3, 4).gather(1, lib.tensor(idx)))
    check(lambda lib: lib.gather(grid(lib, 3, 4), 0, lib.tensor([[2, 1, 0, 0]])))
    check(lambda lib: lib.zeros(3, 4).scatter(1, lib.tensor(idx), lib.ones(3, 2) * 5))
    check(lambda lib: lib.zeros(3, 4).scatter(1, lib.tensor(idx), 2.5))
    check(lambda lib: lib.zeros(3, 4).scatter_add(1, lib.tensor(idx), lib.ones(3, 2)))
    check(lambda lib: lib.zeros(3, 4).scatter_(1, lib.tensor(idx), lib.ones(3, 2) * 5))
    check(lambda lib: grid(lib, 3, 4).index_select(1, lib.tensor([3, 0, 3])))
    check(lambda lib: lib.index_select(grid(lib, 3, 4), 0, lib.tensor([2])))
    check(lambda lib: grid(lib, 3, 4).masked_fill(grid(lib, 3, 4) > 6, -1))
    check(lambda lib: grid(lib, 3, 4).float().masked_fill(lib.tensor([True, False, True, False]),
                                                         lib.tensor(0.5)))
    check(lambda lib: grid(lib, 3, 4).masked_fill_(grid(lib, 3, 4) < 2, 100))
    one_hot = fastnn.zeros(3, 5).scatter_(1, fastnn.tensor([[4], [0], [2]]), 1)
    assert one_hot.argmax(1).tolist() == [4, 0, 2]


# ---- conversions ---------------------------------------------------------------------
@pytest.mark.parametrize("name", ["float", "double", "long", "int", "bool", "byte", "half"])
def test_conversion_methods(name):
    check(lambda lib: getattr(lib.tensor([[-1.5, 0.0], [2.7, 3.0]]), name)())
    check(lambda lib: getattr(grid(lib, 2, 3), name)())


def test_to_dtype_device_and_copy():
    x = fastnn.ones(2, 3)
    assert x.to(fastnn.float32) is x and x.to("cpu") is x and x.cpu() is x
    assert x.to(fastnn.float64).dtype == fastnn.float64
    assert x.to("cpu", fastnn.int64).dtype == fastnn.int64
    assert x.to(device="cpu", dtype=fastnn.float64).dtype == fastnn.float64
    assert x.to(fastnn.zeros(1, dtype=fastnn.int32)).dtype == fastnn.int32
    y = x.to(fastnn.float32, copy=True)
    assert y is not x and not shares(y, x)
    assert x.type(fastnn.float64).dtype == fastnn.float64
    assert x.type("torch.LongTensor").dtype == fastnn.int64
    assert x.type_as(fastnn.zeros(1, dtype=fastnn.uint8)).dtype == fastnn.uint8
    assert x.device == fastnn.device("cpu") and not x.is_cuda


def test_clone_item_tolist_numpy():
    x = fastnn.tensor([[1.5, 2.0], [3.0, 4.0]])
    c = x.clone()
    c[0, 0] = 0
    assert x[0, 0].item() == 1.5 and not shares(c, x)
    assert isinstance(x[1, 1].item(), float) and x[1, 1].item() == 4.0
    assert isinstance(fastnn.tensor(3).item(), int) and isinstance(fastnn.tensor(True).item(), bool)
    assert fastnn.tensor([7]).item() == 7
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.0]] and fastnn.tensor(2.5).tolist() == 2.5
    assert fastnn.tensor([1, 2]).tolist() == [1, 2]
    n = x.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32 and shares(x, x)
    n[1, 1] = 9
    assert x[1, 1].item() == 9  # numpy() shares memory
    assert np.asarray(x) is not None and np.shares_memory(np.asarray(x), n)
    assert float(fastnn.tensor([2.5])) == 2.5 and int(fastnn.tensor(3.7)) == 3
    assert [0, 1, 2][fastnn.tensor(1)] == 1
    assert len(x) == 2 and [r.tolist() for r in x] == [[1.5, 2.0], [3.0, 9.0]]
    assert x.dim() == x.ndim == 2 and x.numel() == 4 and x.nelement() == 4
    assert x.element_size() == 4 and x.is_floating_point()
    assert f"{fastnn.tensor(2.5):.2f}" == "2.50"
    grid2 = fastnn.tensor([[1, 2], [3, 4]])
    assert 2 in grid2 and 7 not in grid2 and fastnn.tensor(3) in grid2
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        "a" in grid2  # noqa: B015


def test_numpy_of_tensor_requiring_grad():
    x = fastnn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad\. "
                                           r"Use tensor.detach\(\)\.numpy\(\) instead\."):
        x.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        (x * 2).numpy()
    assert x.detach().numpy().tolist() == [1.0, 1.0]
    assert x.numpy(force=True).tolist() == [1.0, 1.0]
    assert x.tolist() == [1.0, 1.0] and (x * 2).sum().item() == 4.0


# ---- printing ------------------------------------------------------------------------
REPRS = [
    lambda lib: lib.tensor([1.0, 2.5, -3.0]),
    lambda lib: lib.tensor([[1, 2], [30, 4]]),
    lambda lib: lib.tensor([True, False]),
    lambda lib: lib.tensor(3.5),
    lambda lib: lib.tensor(7),
    lambda lib: lib.tensor([1.0, 2.0]),
    lambda lib: lib.tensor([0.001, 1000.0]),
    lambda lib: lib.tensor([1e-8, 1.0]),
    lambda lib: lib.tensor([1e10, 1.0]),
    lambda lib: lib.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
    lambda lib: lib.tensor([1.5, 2], dtype=lib.float64),
    lambda lib: lib.tensor([1, 2], dtype=lib.int32),
    lambda lib: lib.tensor([1, 2], dtype=lib.uint8),
    lambda lib: lib.zeros(0),
    lambda lib: lib.zeros(2, 0),
    lambda lib: lib.zeros(0, dtype=lib.int64),
    lambda lib: lib.ones(2, 3, requires_grad=True),
    lambda lib: lib.ones(2, requires_grad=True) * 2,
    lambda lib: lib.ones(2, requires_grad=True).sum(),
    lambda lib: lib.arange(2000.0),
    lambda lib: lib.arange(1200).reshape(40, 30),
    lambda lib: lib.tensor([[-1.0, -0.5, 0.0, 0.25, 1.0]]),
    lambda lib: lib.tensor([1e-5, 0.5]),
    lambda lib: lib.tensor([0.0, 0.0]),
    lambda lib: lib.full((3,), float("nan")),
    lambda lib: lib.arange(24.0).reshape(2, 3, 4) / 7,
    lambda lib: lib.tensor([[-0.5, 123.25], [3.0, 0.0]]),
    lambda lib: lib.tensor([[1.0, 5.0], [3.0, 2.0]]).max(1),
    lambda lib: lib.tensor([[1.0, 5.0], [3.0, 2.0]], requires_grad=True).min(0, keepdim=True),
    lambda lib: lib.tensor([float("inf"), 2.0]),
    # rows wrap after as many elements as PyTorch puts on a line
    lambda lib: (lib.arange(10.0) / 3 - 1.3).reshape(1, 10),
    lambda lib: (lib.arange(24.0) * 130.3 - 1300.0).reshape(2, 12),
    lambda lib: (lib.arange(60.0) / 15 - 2).reshape(3, 20),
    lambda lib: (lib.arange(15.0) / 3.5 - 2).reshape(1, 1, 15),
    lambda lib: lib.tensor([[float("nan"), 1.0, float("inf")] * 5]),
    lambda lib: lib.zeros(3, 30),
    lambda lib: lib.tensor([[True, False] * 30]),
    lambda lib: lib.arange(240).reshape(2, 3, 40) - 120,
    lambda lib: (lib.arange(6000.0) / 1500 - 2).reshape(30, 40, 5),
]


@pytest.mark.parametrize("make", REPRS)
def test_repr_matches_torch(make):
    want = repr(make(torch)).replace("torch.", "fastnn.")
    got = repr(make(fastnn))
    assert got == want


# ---- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,msg", [
    (lambda lib: grid(lib, 3, 4)[5], IndexError, "index 5 is out of bounds for dimension 0 with "
                                                 "size 3"),
    (lambda lib: grid(lib, 3, 4)[:, 7], IndexError, "index 7 is out of bounds for dimension 1"),
    (lambda lib: grid(lib, 3, 4)[1, 2, 3], IndexError, "too many indices for tensor of "
                                                       "dimension 2"),
    (lambda lib: grid(lib, 3, 4)[lib.tensor([0, 5])], IndexError, "out of bounds"),
    (lambda lib: grid(lib, 3, 4)[1.5], IndexError, r"only integers, slices \(`:`\), ellipsis "
                                                   r"\(`...`\), None"),
    (lambda lib: grid(lib, 3, 4).view(5, -1), RuntimeError,
     r"shape '\[5, -1\]' is invalid for input of size 12"),
    (lambda lib: grid(lib, 3, 4).view(-1, -1), RuntimeError, "only one dimension can be "
                                                             "inferred"),
    (lambda lib: grid(lib, 3, 4).reshape(5), RuntimeError, r"shape '\[5\]' is invalid"),
    (lambda lib: grid(lib, 3, 4).permute(1, 0, 2), RuntimeError, "number of dimensions in the "
                                                                 "tensor input does not match"),
    (lambda lib: grid(lib, 3, 4).permute(0, 0), RuntimeError, "duplicate dims are not allowed"),
    (lambda lib: grid(lib, 3, 4).transpose(0, 2), IndexError, "Dimension out of range"),
    (lambda lib: grid(lib, 3, 4).expand(3, 5), RuntimeError,
     r"The expanded size of the tensor \(5\) must match the existing size \(4\) at "
     "non-singleton dimension 1"),
    (lambda lib: grid(lib, 3, 4).expand(4), RuntimeError,
     r"the number of sizes provided \(1\) must be greater or equal to the number of dimensions "
     r"in the tensor \(2\)"),
    (lambda lib: grid(lib, 3, 4).narrow(1, 3, 2), RuntimeError, r"start \(3\) \+ length \(2\) "
                                                                "exceeds dimension size"),
    (lambda lib: grid(lib, 3, 4).chunk(0), RuntimeError, "chunk expects `chunks` to be greater "
                                                         "than 0"),
    (lambda lib: grid(lib, 3, 4).split([1, 1]), RuntimeError,
     "split_with_sizes expects split_sizes to sum exactly to 3"),
    (lambda lib: grid(lib, 3, 4).unsqueeze(3), IndexError, "Dimension out of range"),
    (lambda lib: grid(lib, 3, 4).flatten(1, 0), RuntimeError, "start_dim cannot come after "
                                                              "end_dim"),
    (lambda lib: grid(lib, 2, 3, 4).t(), RuntimeError, "t\\(\\) expects a tensor with <= 2 "
                                                      "dimensions, but self is 3D"),
    (lambda lib: lib.cat([grid(lib, 2, 3), grid(lib, 2, 2)]), RuntimeError,
     "Sizes of tensors must match except in dimension 0. Expected size 3 but got size 2 for "
     "tensor number 1 in the list."),
    (lambda lib: lib.cat([grid(lib, 2, 3), grid(lib, 3)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda lib: lib.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda lib: lib.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda lib: lib.cat(grid(lib, 2, 3)), TypeError, "argument 'tensors' must be tuple of "
                                                      "Tensors, not Tensor"),
    (lambda lib: lib.stack([grid(lib, 2, 3), grid(lib, 3, 2)]), RuntimeError,
     r"stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 and \[3, 2\] at "
     "entry 1"),
    (lambda lib: lib.where(grid(lib, 2), grid(lib, 2), grid(lib, 2)), RuntimeError,
     "where expected condition to be a boolean tensor"),
    (lambda lib: grid(lib, 3, 4).gather(1, lib.tensor([0, 1])), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    (lambda lib: grid(lib, 3, 4).gather(1, lib.tensor([[0.5]])), RuntimeError,
     "gather\\(\\): Expected dtype int32/int64 for index"),
    (lambda lib: grid(lib, 3, 4).index_select(0, lib.tensor([[0]])), IndexError,
     "index_select\\(\\): Index is supposed to be a vector"),
    (lambda lib: grid(lib, 3, 4).index_select(0, lib.tensor([5])), IndexError,
     "index out of range in self"),
    (lambda lib: grid(lib, 3, 4).masked_fill(grid(lib, 3, 4), 0), RuntimeError,
     "masked_fill_ only supports boolean masks"),
    (lambda lib: grid(lib, 3, 4).item(), RuntimeError, "a Tensor with 12 elements cannot be "
                                                       "converted to Scalar"),
    (lambda lib: bool(grid(lib, 3, 4)), RuntimeError, "Boolean value of Tensor with more than "
                                                      "one value is ambiguous"),
    (lambda lib: len(lib.tensor(1)), TypeError, "len\\(\\) of a 0-d tensor"),
    (lambda lib: iter(lib.tensor(1)), TypeError, "iteration over a 0-d tensor"),
    (lambda lib: [1][lib.tensor(0.5)], TypeError, "only integer tensors of a single element can "
                                                  "be converted to an index"),
    (lambda lib: lib.ones(2).to("tpu"), RuntimeError, "Expected one of cpu, cuda"),
    (lambda lib: lib.ones(2, 3)[lib.tensor([[True, False]])], IndexError,
     r"The shape of the mask \[1, 2\] at index 0 does not match the shape of the indexed tensor "
     r"\[2, 3\] at index 0"),
    (lambda lib: lib.ones(2, 3)[:, lib.tensor([True, False])], IndexError,
     r"The shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor "
     r"\[2, 3\] at index 1"),
    # wrong argument types
    (lambda lib: lib.ones(6).view(2.5, 2), TypeError, "must be tuple of ints, not float"),
    (lambda lib: lib.ones(6).reshape(None), TypeError, "must be tuple of ints, not NoneType"),
    (lambda lib: lib.ones(2, 3).expand("a"), TypeError, "must be tuple of ints, not str"),
    (lambda lib: lib.ones(2, 3).view(lib.float64), RuntimeError,
     r"self.size\(-1\) must be divisible by 2 to view Float as Double \(different element "
     r"sizes\), but got 3"),
    (lambda lib: lib.cat([lib.ones(2), 1]), TypeError,
     "expected Tensor as element 1 in argument 0, but got int"),
    (lambda lib: lib.stack([lib.ones(2), [1, 2]]), TypeError,
     "expected Tensor as element 1 in argument 0, but got list"),
    (lambda lib: lib.ones(2, 3).gather(1, [[0]]), TypeError,
     "gather\\(\\): argument 'index' \\(position 2\\) must be Tensor, not list"),
    (lambda lib: lib.ones(2, 3).index_select(0, [0]), TypeError,
     "argument 'index' \\(position 2\\) must be Tensor, not list"),
    (lambda lib: lib.ones(2, 3).gather(1, lib.tensor([[5]])), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    (lambda lib: lib.ones(2, 3).scatter(1, lib.tensor([[5]]), 1.0), RuntimeError,
     "index 5 is out of bounds for dimension 1 with size 3"),
    (lambda lib: lib.ones(2, 3).masked_fill(lib.ones(2, 3) > 0, "a"), TypeError, "masked_fill"),
    (lambda lib: lib.ones(2, 3).masked_fill(lib.ones(3, 3) > 0, 1), RuntimeError,
     r"The size of tensor a \(3\) must match the size of tensor b \(2\) at non-singleton "
     "dimension 0"),
    (lambda lib: lib.ones(2, 3).split(1.5), TypeError, "must be tuple of ints, not float"),
    (lambda lib: lib.ones(2, 3).chunk(1.5), TypeError, "argument 'chunks' \\(position 1\\) must "
                                                       "be int, not float"),
    (lambda lib: lib.ones(2, 3).unsqueeze(1.5), TypeError, "float"),
    (lambda lib: lib.ones(2, 3).sum(dim="a"), TypeError, "str"),
    (lambda lib: lib.ones(2, 3).matmul("a"), TypeError, "must be Tensor, not str"),
    (lambda lib: lib.where(lib.ones(2), lib.ones(2), 0), RuntimeError,
     "where expected condition to be a boolean tensor, but got a tensor with dtype Float"),
])
def test_view_and_index_errors_match_torch(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(fastnn)
    with pytest.raises(exc):
        call(torch)
