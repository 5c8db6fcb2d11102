"""Index, target and mask tensors that a node keeps for its backward: changed in place before
backward runs, they make backward raise (as PyTorch does) instead of giving a gradient computed
from the new values; inference tensors are refused as such arguments."""
import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

MODIFIED = "modified by an inplace operation"


def _rows(x):
    return x.reshape(1, 5).expand(2, 5).contiguous()


# name: (op(x, index), index values, value written into index[0] afterwards)
INDEX_OPS = {
    "getitem": lambda x, i: x[i],
    "getitem_with_none": lambda x, i: x[i, None],
    "index_select": lambda x, i: x.index_select(0, i),
    "gather": lambda x, i: x.gather(0, i),
    "take": lambda x, i: x.take(i),
    "scatter": lambda x, i: fastnn.zeros(5).scatter(0, i, x[:2]),
    "scatter_add": lambda x, i: fastnn.zeros(5).scatter_add(0, i, x[:2]),
    "scatter_reduce": lambda x, i: fastnn.zeros(5).scatter_reduce(0, i, x[:2], "sum"),
    "index_add": lambda x, i: fastnn.zeros(5).index_add(0, i, x[:2]),
    "index_copy": lambda x, i: fastnn.zeros(5).index_copy(0, i, x[:2]),
    "index_put": lambda x, i: fastnn.zeros(5).index_put((i,), x[:2]),
    "embedding": lambda x, i: F.embedding(i, x.reshape(5, 1)),
    "nll_loss": lambda x, i: F.nll_loss(_rows(x), i, reduction="sum"),
    "cross_entropy": lambda x, i: F.cross_entropy(_rows(x), i, reduction="sum"),
    "cross_entropy_mean": lambda x, i: F.cross_entropy(_rows(x), i),
    "multi_margin_loss": lambda x, i: F.multi_margin_loss(_rows(x), i),
}
MASK_OPS = {
    "masked_fill": lambda x, m: x.masked_fill(m, 0.0),
    "where": lambda x, m: fastnn.where(m, x, x * 2),
    "masked_select": lambda x, m: x.masked_select(m),
}


def _weighted_sum(y):
    return (y * fastnn.arange(1, y.numel() + 1, dtype=y.dtype).reshape(y.shape)).sum()


def _grad(fn, arg):
    x = fastnn.arange(5.0).mul(0.3).requires_grad_()
    _weighted_sum(fn(x, arg)).backward()
    return x.grad.numpy()


@pytest.mark.parametrize("name", sorted(INDEX_OPS))
def test_index_changed_before_backward_raises(name):
    fn = INDEX_OPS[name]
    expected = _grad(fn, fastnn.tensor([0, 2]))
    x = fastnn.arange(5.0).mul(0.3).requires_grad_()
    i = fastnn.tensor([0, 2])
    y = fn(x, i)
    i[0] = 4
    with pytest.raises(RuntimeError, match=MODIFIED):
        _weighted_sum(y).backward()
    # left alone, the same index gives the same gradient as a fresh one
    x2 = fastnn.arange(5.0).mul(0.3).requires_grad_()
    _weighted_sum(fn(x2, fastnn.tensor([0, 2]))).backward()
    np.testing.assert_allclose(x2.grad.numpy(), expected)


@pytest.mark.parametrize("name", sorted(MASK_OPS))
def test_mask_changed_before_backward_raises(name):
    x = fastnn.arange(5.0).requires_grad_()
    m = fastnn.tensor([True, False, True, False, False])
    y = MASK_OPS[name](x, m)
    m[1] = True
    with pytest.raises(RuntimeError, match=MODIFIED):
        y.sum().backward()


def test_take_along_dim_keeps_its_index():
    # PyTorch computes this one from its own copy of the index: so does fastnn
    x = fastnn.arange(5.0).requires_grad_()
    i = fastnn.tensor([0, 2])
    y = fastnn.take_along_dim(x, i, 0)
    i[0] = 4
    _weighted_sum(y).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 0, 2, 0, 0])


def test_changed_index_without_grad_is_fine():
    x = fastnn.arange(5.0)
    i = fastnn.tensor([0, 2])
    y = x[i]
    i[0] = 4
    np.testing.assert_array_equal(y.numpy(), [0, 2])


@pytest.mark.parametrize("name", ["getitem", "gather", "embedding", "cross_entropy_mean"])
def test_inference_index_is_refused(name):
    with fastnn.inference_mode():
        i = fastnn.tensor([0, 2])
    x = fastnn.arange(5.0).mul(0.3).requires_grad_()
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        INDEX_OPS[name](x, i)
    with fastnn.no_grad():
        INDEX_OPS[name](x, i)  # nothing is saved without a graph


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (fastnn, torch):
        x = lib.arange(5.0).requires_grad_()
        i = lib.tensor([0, 2])
        y = x[i]
        i[0] = 4
        with pytest.raises(RuntimeError, match=MODIFIED):
            y.sum().backward()
