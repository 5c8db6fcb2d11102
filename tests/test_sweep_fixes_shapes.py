"""Shapes, dtypes, gradients and errors that must match PyTorch: 0-d softmax backward, 1-D
linear weights, empty cross_entropy, Tensor norm orders, 0-d dtype promotion, 0-d dims,
all/any over no dims, nextafter/floor_divide autograd and broadcast errors."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

BROADCAST_MESSAGE = "must match the size of tensor b"


# ---- 7. softmax family backward on a 0-d tensor ---------------------------------------------
@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax, F.softmin])
@pytest.mark.parametrize("dtype", [fastnn.float32, fastnn.float64])
def test_softmax_family_backward_on_0d(fn, dtype):
    x = fastnn.tensor(2.0, dtype=dtype, requires_grad=True)
    y = fn(x, 0)
    assert y.shape == () and y.dtype == dtype
    y.backward()
    assert x.grad.shape == () and x.grad.item() == 0.0


# ---- 8. linear with a 1-D weight --------------------------------------------------------------
@pytest.mark.parametrize("shape, out", [((3, 4), (3,)), ((4,), ()), ((2, 3, 4), (2, 3))])
def test_linear_with_vector_weight(shape, out):
    x = fastnn.randn(*shape, dtype=fastnn.float64, requires_grad=True)
    w = fastnn.randn(4, dtype=fastnn.float64, requires_grad=True)
    y = F.linear(x, w)
    assert tuple(y.shape) == out
    np.testing.assert_allclose(y.detach().numpy(), x.detach().numpy() @ w.detach().numpy())
    assert gradcheck(F.linear, (x, w))


def test_linear_with_vector_weight_rejects_bias_and_0d_input():
    w = fastnn.randn(4)
    with pytest.raises(RuntimeError, match="mat2 must be a matrix, got 1-D tensor"):
        F.linear(fastnn.randn(3, 4), w, fastnn.randn(3))
    with pytest.raises(RuntimeError, match="0D and 1D"):
        F.linear(fastnn.tensor(5.), w)


def test_linear_vector_weight_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal(4)
    got = F.linear(fastnn.tensor(x), fastnn.tensor(w)).numpy()
    want = torch.nn.functional.linear(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_allclose(got, want)


# ---- 9. cross_entropy with probabilities over an empty batch --------------------------------
@pytest.mark.parametrize("reduction, is_nan", [("mean", True), ("sum", False)])
def test_cross_entropy_empty_batch_probabilities(reduction, is_nan):
    x = fastnn.zeros(0, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, fastnn.zeros(0, 3), reduction=reduction)
        loss.backward()
    assert np.isnan(loss.item()) == is_nan
    assert tuple(x.grad.shape) == (0, 3)


# ---- 10. a 0-d Tensor as the norm order -------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda x: fastnn.norm(x, p=fastnn.tensor(3.0)),
    lambda x: x.norm(fastnn.tensor(3.0)),
    lambda x: fastnn.linalg.vector_norm(x, ord=fastnn.tensor(3.0)),
    lambda x: fastnn.linalg.norm(x, ord=fastnn.tensor(3.0)),
])
def test_norm_with_tensor_order(call):
    x = fastnn.ones(3, requires_grad=True)
    y = call(x)
    np.testing.assert_allclose(y.item(), 3 ** (1 / 3), rtol=1e-6)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 ** (-2 / 3)] * 3, rtol=1e-5)


# ---- 11. result dtypes with a 0-d operand -----------------------------------------------------
def _dtype_cases(T):
    a, s, m = T.ones(3), T.tensor(2., dtype=T.float64), T.ones(2, 2)
    return {
        "xlog1py": lambda: T.special.xlog1py(a, s),
        "xlog1py_swapped": lambda: T.special.xlog1py(s, a),
        "block_diag": lambda: T.block_diag(m, s),
        "block_diag_int": lambda: T.block_diag(T.ones(2, 2, dtype=T.int64), s),
        "kl_div": lambda: T.nn.functional.kl_div(s, a, reduction="none"),
        "kl_div_mean": lambda: T.nn.functional.kl_div(s, a, reduction="sum"),
        "l1_loss": lambda: T.nn.functional.l1_loss(a, s),
        "l1_loss_swapped": lambda: T.nn.functional.l1_loss(s, a),
    }


@pytest.mark.parametrize("case", list(_dtype_cases(fastnn)))
def test_zero_dim_operand_dtype_matches_torch(case):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _dtype_cases(fastnn)[case]()
        want = _dtype_cases(torch)[case]()
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(want.shape)


def test_zero_dim_operand_dtype_without_torch():
    a, s = fastnn.ones(3), fastnn.tensor(2., dtype=fastnn.float64)
    assert fastnn.special.xlog1py(a, s).dtype == fastnn.float32
    assert fastnn.block_diag(fastnn.ones(2, 2), s).dtype == fastnn.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert F.l1_loss(a, s).dtype == fastnn.float64  # broadcast first, as PyTorch does
        x = fastnn.tensor(0.5, dtype=fastnn.float64, requires_grad=True)
        F.kl_div(x, a, reduction="sum").backward()
    assert x.grad.dtype == fastnn.float64


# ---- 13. dims of a 0-d tensor -----------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda x: fastnn.chunk(x, 2), "chunk expects at least a 1-dimensional tensor"),
    (lambda x: x.chunk(2), "chunk expects at least a 1-dimensional tensor"),
    (lambda x: fastnn.unsafe_chunk(x, 2), "chunk expects at least a 1-dimensional tensor"),
    (lambda x: fastnn.split(x, 1), "split expects at least a 1-dimensional tensor"),
    (lambda x: x.split([1]), "split expects at least a 1-dimensional tensor"),
    (lambda x: fastnn.unsafe_split(x, 1), "split expects at least a 1-dimensional tensor"),
])
def test_chunk_and_split_of_0d(call, message):
    with pytest.raises(RuntimeError, match=message):
        call(fastnn.tensor(1.))


@pytest.mark.parametrize("call, bad", [
    (lambda x: fastnn.softmax(x, 5), 5), (lambda x: F.softmax(x, -2), -2),
    (lambda x: x.log_softmax(5), 5), (lambda x: F.softmin(x, 5), 5),
    (lambda x: x.flatten(2), 2), (lambda x: x.flatten(0, 1), 1),
    (lambda x: fastnn.logcumsumexp(x, 2), 2),
])
def test_dim_out_of_range_on_0d(call, bad):
    with pytest.raises(IndexError, match=rf"range of \[-1, 0\], but got {bad}\)"):
        call(fastnn.tensor(1.))


@pytest.mark.parametrize("call", [lambda x: x.softmax(-1), lambda x: x.flatten(-1, 0),
                                  lambda x: fastnn.logcumsumexp(x, 0)])
def test_valid_dims_on_0d(call):
    call(fastnn.tensor(1.))


# ---- 14. all/any over no dims -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["all", "any"])
@pytest.mark.parametrize("dims", [(), []])
def test_all_any_without_dims_reduce_nothing(name, dims):
    x = fastnn.tensor([[0., 2., 1.], [3., 0., -1.]])
    y = getattr(x, name)(dim=dims)
    assert tuple(y.shape) == (2, 3) and y.dtype == fastnn.bool
    np.testing.assert_array_equal(y.numpy(), x.numpy() != 0)
    assert tuple(getattr(fastnn, name)(x, dims, keepdim=True).shape) == (2, 3)
    u = fastnn.tensor([[0, 2]], dtype=fastnn.uint8)
    assert getattr(u, name)(dim=dims).dtype == fastnn.uint8


# ---- 15. nextafter and floor_divide under autograd --------------------------------------------
def test_nextafter_gradient():
    x = fastnn.tensor([1., 2.], requires_grad=True)
    y = fastnn.tensor([3., 0.], requires_grad=True)
    z = fastnn.nextafter(x, y)
    assert z.grad_fn.name() == "NextafterBackward0"
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1., 1.])
    np.testing.assert_array_equal(y.grad.numpy(), [0., 0.])
    x = fastnn.ones(2, 3, dtype=fastnn.float64, requires_grad=True)
    fastnn.nextafter(x, fastnn.zeros(3, dtype=fastnn.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


@pytest.mark.parametrize("call", [lambda x: fastnn.floor_divide(x, 2), lambda x: x // 2,
                                  lambda x: 7 // x, lambda x: x.floor_divide(fastnn.tensor(2.))])
def test_floor_divide_joins_graph_and_refuses_backward(call):
    x = fastnn.tensor([5., 7.], requires_grad=True)
    z = call(x)
    assert z.requires_grad and z.grad_fn.name() == "NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        z.sum().backward()
    with fastnn.no_grad():
        assert not call(x).requires_grad
    assert not (fastnn.tensor([5, 7]) // 2).requires_grad


# ---- 16. broadcast mismatches raise PyTorch's RuntimeError ------------------------------------
def _floats():
    return fastnn.ones(2, 4), fastnn.ones(2, 3)


def _ints():
    return fastnn.ones(2, 4, dtype=fastnn.int64), fastnn.ones(2, 3, dtype=fastnn.int64)


@pytest.mark.parametrize("operands, call", [
    (_floats, fastnn.copysign), (_floats, lambda a, b: a.copysign(b)),
    (_floats, fastnn.nextafter), (_floats, fastnn.igamma), (_floats, fastnn.igammac),
    (_floats, fastnn.special.gammainc), (_floats, fastnn.special.gammaincc),
    (_floats, fastnn.special.zeta), (_ints, fastnn.gcd), (_ints, fastnn.lcm),
    (_ints, fastnn.bitwise_and), (_ints, fastnn.bitwise_or), (_ints, fastnn.bitwise_xor),
    (_ints, lambda a, b: a.bitwise_and(b)),
    (_floats, lambda a, b: a.__rsub__(b)), (_floats, lambda a, b: a.__rtruediv__(b)),
])
def test_broadcast_mismatch_is_a_runtime_error(operands, call):
    a, b = operands()
    with pytest.raises(RuntimeError, match=BROADCAST_MESSAGE):
        call(a, b)


def test_rsub_names_the_operands_like_torch():
    a, b = _floats()
    with pytest.raises(RuntimeError, match=r"tensor a \(3\) must match the size of tensor b "
                                           r"\(4\) at non-singleton dimension 1"):
        a.__rsub__(b)
