"""F.one_hot, F.pad (every mode) and F.embedding: parity, gradcheck and bad input."""
import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---- one_hot ---------------------------------------------------------------------------------
def test_one_hot_matches_torch():
    torch = pytest.importorskip("torch")
    t = np.array([[0, 3], [2, 1]])
    for n in (-1, 5):
        f = F.one_hot(fastnn.tensor(t), n)
        assert f.dtype == fastnn.int64
        np.testing.assert_array_equal(f.numpy(), torch.nn.functional.one_hot(
            torch.tensor(t), n).numpy())
    assert tuple(F.one_hot(fastnn.tensor(np.zeros(0, np.int64)), 3).shape) == (0, 3)


@pytest.mark.parametrize("t,n,msg", [
    ([1.0, 2.0], -1, "one_hot is only applicable to index tensor of type LongTensor."),
    ([1, 5], 3, "Class values must be smaller than num_classes."),
    ([1, -1], 3, "Class values must be non-negative."),
    (np.zeros(0, np.int64), -1, "Can not infer total number of classes from empty tensor."),
])
def test_one_hot_bad_input(t, n, msg):
    with pytest.raises(RuntimeError, match=msg):
        F.one_hot(fastnn.tensor(t), n)


# ---- pad -------------------------------------------------------------------------------------
PAD_CASES = [
    ((2, 3, 4, 5), (1, 2), "constant", 0.5),
    ((2, 3, 4, 5), (1, 2, 0, 3, 1, 1), "constant", None),
    ((2, 3, 4, 5), (-1, 2, 1, -2), "constant", None),
    ((4, 5), (2, 1), "constant", -1.0),
    ((2, 3, 5), (2, 3), "reflect", None),
    ((2, 3, 4, 5), (2, 3, 1, 2), "reflect", None),
    ((3, 4, 5), (1, 1, 3, 2), "reflect", None),
    ((2, 1, 3, 4, 5), (1, 2, 1, 1, 2, 1), "reflect", None),
    ((2, 3, 5), (4, 1), "replicate", None),
    ((2, 3, 4, 5), (3, 1, 2, 4), "replicate", None),
    ((2, 3, 4, 5), (2, 3, 1, 4), "circular", None),
    ((2, 3, 5), (5, 2), "circular", None),
    ((2, 3, 4, 5), (-1, 2, 1, 0), "circular", None),
    ((2, 3, 4, 5), (2, -3, -1, 2), "circular", None),
    ((2, 3, 4, 5), (-2, 1, 2, -1), "reflect", None),
    ((2, 3, 4, 5), (2, -3, -1, 2), "replicate", None),
]


@pytest.mark.parametrize("shape,pads,mode,value", PAD_CASES)
def test_pad_matches_torch(shape, pads, mode, value):
    torch = pytest.importorskip("torch")
    x = _x(shape)
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty = torch.nn.functional.pad(tx, pads, mode=mode, value=value)
    fy = F.pad(fx, pads, mode=mode, value=value)
    np.testing.assert_array_equal(fy.detach().numpy(), ty.detach().numpy())
    g = _x(tuple(ty.shape), 1)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-13, atol=1e-13)
    if mode != "circular":  # PyTorch composes circular padding from slice copies
        assert fy.grad_fn.name() == ty.grad_fn.name()


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(mode):
    x = fastnn.tensor(_x((1, 2, 3, 3), 2), requires_grad=True)
    assert gradcheck(lambda t: F.pad(t, (2, 1, 1, 2), mode=mode), (x,))


@pytest.mark.parametrize("shape,pads,mode,exc,msg", [
    ((1, 1, 3, 3), (3, 3), "reflect", NotImplementedError,
     r"Padding size 2 is not supported for 4D input tensor.\nSupported combinations"),
    ((1, 1, 3, 3), (3, 3, 1, 1), "reflect", RuntimeError,
     r"Argument #4: Padding size should be less than the corresponding input dimension, but "
     r"got: padding \(3, 3\) at dimension 3 of input \[1, 1, 3, 3\]"),
    ((1, 1, 3, 3), (1, 1, 3, 3), "reflect", RuntimeError,
     r"Argument #6: Padding size should be less than the corresponding input dimension, but "
     r"got: padding \(3, 3\) at dimension 2 of input \[1, 1, 3, 3\]"),
    ((1, 1, 3, 3), (4, 4, 1, 1), "circular", RuntimeError,
     r"Padding value causes wrapping around more than once."),
    ((1, 1, 3, 3), (1, 1, 1), "constant", RuntimeError, r"Padding length must be divisible by 2"),
    ((2, 3), (1, 1, 1, 1, 1, 1), "constant", RuntimeError,
     r"Padding length should be less than or equal to two times the input dimension but got "
     r"padding length 6 and input of dimension 2"),
    ((1, 1, 3, 3), (1, 1), "mirror", NotImplementedError, r"Unrecognised padding mode mirror"),
    ((1, 1, 3, 3), (-4, -1), "constant", RuntimeError, r"narrow\(\): length must be "
     r"non-negative."),
    ((1, 0, 3, 3), (1, 1, 1, 1), "reflect", RuntimeError,
     r"Expected 3D or 4D \(batch mode\) tensor with possibly 0 batch size and other non-zero "
     r"dimensions for input, but got: \[1, 0, 3, 3\]"),
])
def test_pad_bad_input(shape, pads, mode, exc, msg):
    with pytest.raises(exc, match=msg):
        F.pad(fastnn.zeros(*shape), pads, mode=mode)


def test_pad_value_with_non_constant_mode_raises():
    with pytest.raises(RuntimeError, match='Padding mode "reflect" doesn\'t take in value '
                       'argument'):
        F.pad(fastnn.zeros(1, 1, 3, 3), (1, 1, 1, 1), mode="reflect", value=2)


# ---- embedding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(padding_idx):
    torch = pytest.importorskip("torch")
    w = _x((6, 3))
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    tw, fw = torch.tensor(w, requires_grad=True), fastnn.tensor(w, requires_grad=True)
    ty = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=padding_idx)
    fy = F.embedding(fastnn.tensor(idx), fw, padding_idx=padding_idx)
    np.testing.assert_array_equal(fy.detach().numpy(), ty.detach().numpy())
    g = _x((2, 3, 3), 1)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), rtol=1e-14)
    assert fy.grad_fn.name() == ty.grad_fn.name()


def test_embedding_max_norm_renormalizes_rows_in_place():
    torch = pytest.importorskip("torch")
    w = _x((6, 3)) * 3
    tw, fw = torch.tensor(w), fastnn.tensor(w.copy())
    idx = np.array([1, 4, 4])
    ty = torch.nn.functional.embedding(torch.tensor(idx), tw, max_norm=1.0)
    fy = F.embedding(fastnn.tensor(idx), fw, max_norm=1.0)
    np.testing.assert_allclose(fy.numpy(), ty.numpy(), rtol=1e-12)
    np.testing.assert_allclose(fw.numpy(), tw.numpy(), rtol=1e-12)


def test_embedding_gradcheck():
    w = fastnn.tensor(_x((5, 2)), requires_grad=True)
    idx = fastnn.tensor([[1, 3], [3, 0]])
    assert gradcheck(lambda t: F.embedding(idx, t), (w,))  # padding_idx rows get no grad by design


@pytest.mark.parametrize("idx,kw,exc,msg", [
    ([10], {}, IndexError, "index out of range in self"),
    ([-1], {}, IndexError, "index out of range in self"),
    ([1.0], {}, RuntimeError, r"Expected tensor for argument #1 'indices' to have one of the "
     r"following scalar types: Long, Int; but got torch.FloatTensor instead \(while checking "
     r"arguments for embedding\)"),
    ([1], {"padding_idx": 10}, AssertionError, "Padding_idx must be within num_embeddings"),
])
def test_embedding_bad_input(idx, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        F.embedding(fastnn.tensor(idx), fastnn.zeros(10, 3), **kw)


def test_embedding_weight_must_be_2d():
    with pytest.raises(RuntimeError, match="'weight' must be 2-D"):
        F.embedding(fastnn.tensor([1]), fastnn.zeros(10))


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1, 0), (3, -1)])
def test_normalize_matches_torch(p, dim):
    torch = pytest.importorskip("torch")
    x = _x((3, 4))
    x[1] = 0  # a zero row is divided by eps, not by zero
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = torch.nn.functional.normalize(tx, p, dim), F.normalize(fx, p, dim)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    g = _x((3, 4), 1)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
