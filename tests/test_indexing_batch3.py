"""Indexing parity, batch 3: contiguous advanced-index results, 0-d integer indices as
selects, Python bools as 0-d masks, strides of new axes and of copies of expanded tensors,
take_along_dim / index_select / index_add / index_copy / put_ edge cases, setitem errors."""
import numpy as np
import pytest

import fastnn

ADVANCED = [
    "x[:, t]", "x[..., t]", "x[:, m]", "x[:, t, t]", "x[:, [0, 1]]", "x[[1, 0]]",
    "x[[1, 0], :, [0, 2]]", "x[1, :, t]",
]


def _x():
    return fastnn.arange(24.).reshape(2, 3, 4)


def _ns(mod, x):
    return {"x": x, "t": mod.tensor([2, 0, 1]), "m": mod.tensor([True, False, True]),
            "torch": mod}


@pytest.mark.parametrize("code", ADVANCED)
def test_advanced_index_result_is_contiguous(code):
    out = eval(code, _ns(fastnn, _x()))
    assert out.is_contiguous()
    out.view(-1)  # would raise on a non-contiguous result


def test_view_after_advanced_index():
    x = _x()
    assert x[:, fastnn.tensor([2, 0, 1])].view(2, -1).shape == (2, 12)


def test_zero_dim_int_index_is_a_select_view():
    x = fastnn.arange(18.).reshape(2, 3, 3).clone()
    assert x[fastnn.tensor(1), :, [0, 1, 2]].tolist() == [[9, 10, 11], [12, 13, 14],
                                                          [15, 16, 17]]
    assert fastnn.zeros(3, 4, 5)[fastnn.tensor(0), :, [0, 1]].shape == (4, 2)
    x[fastnn.tensor(1)].zero_()
    assert x[1].sum().item() == 0 and x[0].sum().item() == 36
    x[np.array(0)].fill_(1.)
    assert x[0].sum().item() == 9


def test_zero_dim_int_index_setitem_and_grad():
    x = fastnn.zeros(2, 3)
    x[fastnn.tensor(1), [0, 2]] = fastnn.tensor([5., 6.])
    assert x.tolist() == [[0, 0, 0], [5, 0, 6]]
    a = fastnn.zeros(3, requires_grad=True)
    y = a[fastnn.tensor(1)]
    assert type(y.grad_fn).__name__ == "SelectBackward0"
    y.backward()
    assert a.grad.tolist() == [0, 1, 0]


def test_zero_dim_bool_and_byte_stay_masks():
    x = fastnn.zeros(2, 3)
    assert x[fastnn.tensor(True)].shape == (1, 2, 3)
    assert x[np.array(False)].shape == (0, 2, 3)


BOOL_CASES = ["x[:, :, :, True]", "x[0, :, True]", "x[0, ..., True]", "x[True]", "x[False]",
              "x[True, 0]", "x[:, False]", "x[None, True, 1]", "x[True, [0, 1]]",
              "x[[0, 1], True, [1, 2]]", "x[..., True, 0]"]


@pytest.mark.parametrize("code", BOOL_CASES)
def test_python_bool_index_shapes(code):
    torch = pytest.importorskip("torch")
    want = eval(code, {"x": torch.zeros(3, 4, 5)})
    got = eval(code, {"x": fastnn.zeros(3, 4, 5)})
    assert tuple(got.shape) == tuple(want.shape)
    assert got.stride() == want.stride()


def test_python_bool_index_on_0d():
    assert fastnn.tensor(5.)[True].shape == (1,)
    assert fastnn.tensor(5.)[False].shape == (0,)
    assert fastnn.zeros(3, 4, 5)[0, :, True].shape == (4, 1, 5)


STRIDE_CASES = ["x[None]", "x[:, None]", "x[..., None]", "x[None, None]", "x[None, 1:3]",
                "x[None, 0]", "x[0, None]", "x[None, ..., None]", "x[:, None, ::2]",
                "x[[0, 1], None]", "x[1:2][None]", "x[None][:, None]"]


@pytest.mark.parametrize("code", STRIDE_CASES)
def test_new_axis_strides(code):
    torch = pytest.importorskip("torch")
    want = eval(code, {"x": torch.zeros(4, 5)})
    got = eval(code, {"x": fastnn.zeros(4, 5)})
    assert got.stride() == want.stride()


def test_new_axis_strides_plain():
    x = fastnn.zeros(4, 5)
    assert x[None].stride() == (20, 5, 1)
    assert x[:, None].stride() == (5, 5, 1)
    y = x[None]
    y[0, 1, 2] = 7.  # still a view
    assert x[1, 2].item() == 7


EXPANDED = {
    "row": lambda m: m.arange(5.).expand(3, 5),
    "col": lambda m: m.arange(3.).reshape(3, 1).expand(3, 4),
    "3d": lambda m: m.arange(4.).reshape(1, 4, 1).expand(2, 4, 3),
    "permuted": lambda m: m.arange(6.).reshape(2, 3).t().unsqueeze(0).expand(4, 3, 2),
    "sliced": lambda m: m.arange(20.).reshape(4, 5).t()[:, ::2],
}


@pytest.mark.parametrize("name", sorted(EXPANDED))
@pytest.mark.parametrize("op", ["clone", "empty_like", "zeros_like", "ones_like"])
def test_copies_of_expanded_tensors_layout(name, op):
    torch = pytest.importorskip("torch")
    make = EXPANDED[name]

    def run(m):
        a = make(m)
        return a.clone() if op == "clone" else getattr(m, op)(a)
    want, got = run(torch), run(fastnn)
    assert got.stride() == want.stride()
    if op == "clone":
        assert got.tolist() == want.tolist()


def test_clone_of_expanded_is_contiguous():
    c = fastnn.arange(5.).expand(3, 5).clone()
    assert c.stride() == (5, 1) and c.is_contiguous()
    assert c.view(-1).tolist() == list(range(5)) * 3


def test_take_along_dim_negative_indices():
    x = fastnn.arange(6.).reshape(2, 3)
    assert fastnn.take_along_dim(x, fastnn.tensor([[-1]]), 1).tolist() == [[2.], [5.]]
    assert fastnn.take_along_dim(x, fastnn.tensor([[-3, 1]]), 1).tolist() == [[0., 1.],
                                                                               [3., 4.]]


def test_take_along_dim_broadcast_mismatch():
    x = fastnn.arange(6.).reshape(2, 3)
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        fastnn.take_along_dim(x, fastnn.tensor([[0, 1], [1, 2], [0, 0]]), 1)


def test_index_select_of_0d():
    a = fastnn.tensor(5., requires_grad=True)
    y = a.index_select(0, fastnn.tensor([0]))
    assert y.shape == () and y.item() == 5
    (y * 3).backward()
    assert a.grad.item() == 3
    with pytest.raises(RuntimeError, match="Index to scalar can have only 1 value"):
        fastnn.tensor(5.).index_select(0, fastnn.tensor([0, 0]))


def test_index_add_alpha_truncates_for_integers():
    out = fastnn.arange(10).index_add(0, fastnn.tensor([0]), fastnn.tensor([3]), alpha=2.5)
    assert out[0].item() == 6
    out = fastnn.arange(10).index_add(0, fastnn.tensor([0]), fastnn.tensor([3]), alpha=-2.5)
    assert out[0].item() == -6


def test_error_types():
    x = fastnn.arange(10.)
    with pytest.raises(IndexError, match="index_copy_"):
        x.index_copy(0, fastnn.tensor([10]), fastnn.tensor([3.]))
    with pytest.raises(IndexError, match="same number of elements"):
        x.clone().put_(fastnn.tensor([1, 2]), fastnn.tensor([3.]))
    with pytest.raises(IndexError, match="index out of range in self"):
        x.index_select(0, fastnn.tensor([10]))
    with pytest.raises(IndexError, match="index out of range in self"):
        x.index_add(0, fastnn.tensor([10]), fastnn.tensor([3.]))


def test_setitem_errors_and_bools():
    x = fastnn.arange(20.).reshape(4, 5)
    with pytest.raises(RuntimeError, match=r"value tensor of shape \[14, 1\] cannot be "
                                           r"broadcast to indexing result of shape \[14\]"):
        x[x > 5] = fastnn.ones(14, 1)
    with pytest.raises(TypeError, match="can't assign a str to a torch.FloatTensor"):
        x[0, 0] = "a"
    with pytest.raises(TypeError, match="can't assign a NoneType to a torch.FloatTensor"):
        x[0] = None
    x[False] = fastnn.tensor([[1.], [2.]])  # writes nothing
    assert x.sum().item() == 190
    x[True] = fastnn.zeros(4, 5)
    assert x.sum().item() == 0
    x[0, True] = 2.
    assert x.sum().item() == 10


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_ties_count_self_without_include_self(reduce):
    a = fastnn.tensor([2., 0.])
    s = fastnn.tensor([2., 5.] if reduce == "amax" else [2., -5.], requires_grad=True)
    a.scatter_reduce(0, fastnn.tensor([0, 1]), s, reduce, include_self=False).sum().backward()
    assert s.grad.tolist() == [0.5, 1.0]


def test_gather_sparse_grad_keyword():
    x = fastnn.arange(6.).reshape(2, 3).requires_grad_()
    idx = fastnn.tensor([[0, 0], [1, 2]])
    assert x.gather(1, idx, sparse_grad=False).tolist() == [[0., 0.], [4., 5.]]
    fastnn.gather(x, 1, idx, sparse_grad=True).sum().backward()
    assert x.grad.tolist() == [[2., 0., 0.], [0., 1., 1.]]  # dense, same values


def test_index_reduce_values():
    x = fastnn.arange(6).reshape(2, 3)
    src = fastnn.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    with pytest.warns(UserWarning, match="beta") if not _beta_warned() else _nothing():
        out = x.index_reduce(0, fastnn.tensor([0, 0, 1]), src, "mean")
    assert out.tolist() == [[1, 2, 3], [5, 6, 7]]
    y = fastnn.arange(6.).reshape(2, 3)
    out = fastnn.index_reduce(y, 0, fastnn.tensor([0, 0]), fastnn.tensor([[1., 2, 3], [4, 5, 6]]),
                              "amax", include_self=False)
    assert out.tolist() == [[4., 5., 6.], [3., 4., 5.]]
    y.index_reduce_(0, fastnn.tensor([1]), fastnn.ones(1, 3) * 2, "prod")
    assert y.tolist() == [[0., 1., 2.], [6., 8., 10.]]
    with pytest.raises(RuntimeError, match="Expected reduce to be one of prod, mean"):
        y.index_reduce(0, fastnn.tensor([0]), fastnn.ones(1, 3), "sum")
    with pytest.raises(IndexError, match="index out of range in self"):
        y.index_reduce(0, fastnn.tensor([5]), fastnn.ones(1, 3), "prod")


def _beta_warned():
    from fastnn import _tensor_misc_index
    return bool(_tensor_misc_index._BETA_WARNED)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_matches_torch_with_grads(reduce, include_self):
    torch = pytest.importorskip("torch")

    def run(m):
        x = m.tensor([[2., 0., 3.], [1., -1., 0.]], requires_grad=True)
        s = m.tensor([[2., 5., 0.], [3., -1., 0.], [2., 4., 4.]], requires_grad=True)
        y = x.index_reduce(0, m.tensor([0, 1, 0]), s, reduce, include_self=include_self)
        (y * m.arange(6.).reshape(2, 3)).sum().backward()
        return y.tolist(), x.grad.tolist(), s.grad.tolist(), type(y.grad_fn).__name__
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = run(torch), run(fastnn)
    for w, g in zip(want[:3], got[:3]):
        np.testing.assert_allclose(g, w, rtol=1e-6)
    assert got[3] == want[3] == "IndexReduceBackward0"


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_small_integer_index_tensors_are_rejected(dtype):
    x = fastnn.zeros(4, 5)
    idx = fastnn.tensor([1], dtype=getattr(fastnn, dtype))
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or"):
        x[idx]
    with pytest.raises(RuntimeError, match="index_select"):
        x.index_select(0, idx)
    with pytest.raises(RuntimeError, match="gather"):
        x.gather(0, idx.reshape(1, 1))
    with pytest.raises(RuntimeError, match="scatter"):
        x.scatter(0, idx.reshape(1, 1), 1.)
    with pytest.raises(RuntimeError, match="index_add_"):
        x.index_add(0, idx, fastnn.ones(1, 5))
    assert x[fastnn.tensor(1, dtype=getattr(fastnn, dtype))].shape == (5,)  # 0-d: an int


def test_out_of_range_messages_by_rank():
    m = fastnn.zeros(4, 5)
    with pytest.raises(RuntimeError, match="INDICES element is out of DATA bounds, id=7 "
                                           "axis_dim=5"):
        m.index_select(1, fastnn.tensor([2, 7, -1]))
    with pytest.raises(IndexError, match="index out of range in self"):
        m.index_select(0, fastnn.tensor([4]))
    with pytest.raises(RuntimeError, match="index 7 is out of bounds for dimension 1 with "
                                           "size 5"):
        m.index_add(1, fastnn.tensor([2, 7, -1]), fastnn.ones(4, 3))
    with pytest.raises(IndexError, match="index out of range in self"):
        fastnn.zeros(4).index_add(0, fastnn.tensor([4]), fastnn.ones(1))


def test_cast_of_expanded_is_contiguous():
    y = fastnn.arange(5.).expand(3, 5).to(fastnn.float64)
    assert y.stride() == (5, 1) and y.is_contiguous()
    assert y.tolist() == [[0., 1., 2., 3., 4.]] * 3


@pytest.mark.parametrize("code", ["x[torch.tensor([], dtype=torch.bool)]",
                                  "x[:, torch.tensor([], dtype=torch.bool)]",
                                  "x[torch.zeros(0, 5, dtype=torch.bool)]"])
def test_empty_mask_shape_is_checked(code):
    with pytest.raises(IndexError, match="The shape of the mask"):
        eval(code, {"x": fastnn.zeros(4, 5), "torch": fastnn})
    with pytest.raises(IndexError, match="The shape of the mask"):
        exec(code + " = 1.", {"x": fastnn.zeros(4, 5), "torch": fastnn})
    assert fastnn.zeros(0, 5)[fastnn.tensor([], dtype=fastnn.bool)].shape == (0, 5)


NUMPY_AND_LIST_INDICES = ["np.array([0, 1], dtype=np.int16)", "np.array([0, 1], dtype=np.uint16)",
                          "np.array(1, dtype=np.int8)", "np.array([1.5])", "np.array(1.)",
                          "[0.7]", "[1.5, 2.9]", "[True, 1]", "([0., 1.], [1., 2.])"]


@pytest.mark.parametrize("code", NUMPY_AND_LIST_INDICES)
def test_numpy_and_list_indices_read_as_long(code):
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.arange(20.).reshape(4, 5)[eval(code)]
    got = fastnn.arange(20.).reshape(4, 5)[eval(code)]
    assert got.tolist() == want.tolist()


@pytest.mark.parametrize("stmt", ["x[np.True_] = 1", "x[1.0] = 1", "x[np.True_]"])
def test_non_index_scalars_rejected(stmt):
    with pytest.raises(IndexError, match="only integers, slices"):
        exec(stmt, {"x": fastnn.zeros(4, 5), "np": np})


def test_index_add_out_of_range_with_alpha_is_index_error():
    with pytest.raises(IndexError, match="index out of range in self"):
        fastnn.zeros(4, 5).index_add(0, fastnn.tensor([4]), fastnn.ones(1, 5), alpha=0.5)


def test_ellipsis_standing_for_no_dims_keeps_advanced_dims_in_place():
    torch = pytest.importorskip("torch")

    def run(m):
        x = m.arange(120., dtype=m.float64).reshape(3, 4, 5, 2)
        idx = (slice(None, -2, 3), m.tensor([False, True, False, True]), m.tensor([[2], [0]]),
               Ellipsis, m.tensor([True, False]))
        y = x[idx]
        x[idx] = -1.
        return y.tolist(), x.tolist()
    assert run(fastnn) == run(torch)
