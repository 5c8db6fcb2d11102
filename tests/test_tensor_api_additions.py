"""select, scalar_tensor, empty_strided; integer widening of prod/cumsum; the 0-d index
message; BCE-with-logits target types; the scalar-conversion warning said once."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F


def test_select_is_a_view_with_select_backward():
    x = fastnn.arange(6.0).reshape(2, 3).requires_grad_()
    y = x.select(1, -1)
    assert y.tolist() == [2.0, 5.0]
    assert type(y.grad_fn).__name__ == "SelectBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [[0, 0, 1], [0, 0, 1]]
    assert fastnn.select(x, 0, 1).tolist() == [3.0, 4.0, 5.0]
    base = fastnn.zeros(2, 3)
    base.select(0, 1).fill_(7)
    assert base[1].tolist() == [7, 7, 7]


@pytest.mark.parametrize("call, message", [
    (lambda: fastnn.ones(2, 3).select(2, 0), "Dimension out of range"),
    (lambda: fastnn.ones(2, 3).select(1, 3), r"select\(\): index 3 out of range for tensor of "
                                             r"size \[2, 3\] at dimension 1"),
    (lambda: fastnn.tensor(1.0).select(0, 0), "cannot be applied to a 0-dim tensor"),
])
def test_select_errors(call, message):
    with pytest.raises(IndexError, match=message):
        call()


def test_scalar_tensor():
    t = fastnn.scalar_tensor(3)
    assert t.dim() == 0 and t.dtype == fastnn.float32 and t.item() == 3.0
    assert fastnn.scalar_tensor(3, dtype=fastnn.int64).dtype == fastnn.int64


def test_empty_strided():
    t = fastnn.empty_strided((2, 3), (1, 2))
    assert t.stride() == (1, 2) and tuple(t.shape) == (2, 3)
    t.fill_(1.5)
    assert t.tolist() == [[1.5] * 3] * 2
    assert fastnn.empty_strided((0, 3), (3, 1)).numel() == 0
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        fastnn.empty_strided((2, 3), (1,))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "bool"])
@pytest.mark.parametrize("op", ["prod", "cumsum", "cumprod", "sum"])
def test_integer_accumulation_widens_to_int64(dtype, op):
    t = fastnn.tensor([100, 50, 1] if dtype != "bool" else [1, 1, 0],
                      dtype=getattr(fastnn, dtype))
    out = getattr(t, op)(0) if op.startswith("cum") else getattr(t, op)()
    assert out.dtype == fastnn.int64
    expected = getattr(np, op)(t.numpy().astype(np.int64))
    np.testing.assert_array_equal(out.numpy(), expected)
    assert (out + 1).dtype == fastnn.int64


def test_indexing_a_0d_tensor_points_to_item():
    with pytest.raises(IndexError, match=r"invalid index of a 0-dim tensor. Use `tensor.item\(\)`"):
        fastnn.tensor(1.0)[0]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 0"):
        fastnn.tensor(1.0)[None, 0]


def test_bce_with_logits_refuses_integer_targets():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        F.binary_cross_entropy_with_logits(fastnn.zeros(2, 2),
                                           fastnn.ones(2, 2, dtype=fastnn.int64))


def test_bce_with_logits_wider_target_widens_the_result():
    x = fastnn.zeros(2, 2, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, fastnn.ones(2, 2, dtype=fastnn.float64))
    assert loss.dtype == fastnn.float64
    loss.backward()
    assert x.grad.dtype == fastnn.float32


def test_scalar_conversion_warning_is_said_once():
    import sys
    sys.modules["fastnn.tensor"]._warned_scalar = False  # fastnn.tensor is also the factory
    x = fastnn.ones((), requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        float(x)
        float(x * 2)
    assert [str(w.message).split("\n")[0] for w in caught] == [
        "Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
        "behavior."]
