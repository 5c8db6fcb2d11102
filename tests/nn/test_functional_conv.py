"""F.conv1d / conv2d / conv3d: PyTorch parity (values and grads), gradcheck, bad input."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck


def _arrays(shapes, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [None if s is None else rng.standard_normal(s).astype(dtype) for s in shapes]


def _parity(fname, xs, ws, bias, x_grad=True, dtype=np.float64, tol=1e-10, **kw):
    torch = pytest.importorskip("torch")
    x, w, b = _arrays([xs, ws, (ws[0],) if bias else None], 0, dtype)
    fx, tx = fastnn.tensor(x, requires_grad=x_grad), torch.tensor(x, requires_grad=x_grad)
    fw, tw = fastnn.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    fb = tb = None
    if bias:
        fb, tb = fastnn.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's note about even kernels with 'same'
        ty = getattr(torch.nn.functional, fname)(tx, tw, tb, **kw)
    fy = getattr(F, fname)(fx, fw, fb, **kw)
    assert tuple(fy.shape) == tuple(ty.shape)
    assert fy.dtype == getattr(fastnn, str(ty.dtype).split(".")[1])
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
    g = np.random.default_rng(1).standard_normal(ty.shape).astype(dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    pairs = [(fw, tw)] + ([(fx, tx)] if x_grad else []) + ([(fb, tb)] if bias else [])
    for f, t in pairs:
        np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)
    assert fy.grad_fn.name() == ty.grad_fn.name()


CONV2D_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 3), {}),
    ((2, 3, 7, 6), (4, 3, 3, 2), {"stride": 2}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"stride": (2, 1), "padding": (1, 2)}),
    ((2, 3, 9, 8), (4, 3, 3, 3), {"padding": 2, "dilation": 2}),
    ((2, 3, 9, 8), (4, 3, 2, 3), {"dilation": (1, 2), "stride": (1, 3)}),
    ((2, 4, 7, 6), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 4, 7, 6), (4, 1, 3, 3), {"groups": 4}),
    ((2, 3, 7, 6), (4, 3, 4, 3), {"padding": "same"}),
    ((2, 3, 9, 8), (4, 3, 4, 2), {"padding": "same", "dilation": (2, 3)}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"padding": "valid"}),
    ((3, 7, 6), (4, 3, 3, 3), {"padding": 1}),
    ((1, 3, 5, 5), (2, 3, 5, 5), {}),
]


@pytest.mark.parametrize("xs,ws,kw", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_grad", [True, False])
def test_conv2d_matches_torch(xs, ws, kw, bias, x_grad):
    _parity("conv2d", xs, ws, bias, x_grad, **kw)


def test_conv2d_float32_matches_torch():
    _parity("conv2d", (8, 3, 12, 12), (5, 3, 3, 3), True, True, dtype=np.float32, tol=2e-4,
            padding=1, stride=2)


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 9), (4, 3, 3), {}),
    ((2, 3, 9), (4, 3, 2), {"stride": 2, "padding": 1, "dilation": 2}),
    ((2, 4, 9), (4, 2, 3), {"groups": 2, "padding": "same"}),
    ((3, 9), (4, 3, 3), {}),
])
def test_conv1d_matches_torch(xs, ws, kw):
    _parity("conv1d", xs, ws, True, **kw)


def test_conv3d_matches_torch():
    _parity("conv3d", (2, 2, 4, 5, 4), (3, 2, 2, 3, 2), True, padding=1, stride=(1, 2, 1))


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"dilation": 2, "groups": 2},
                                {"padding": "same"}])
def test_conv2d_gradcheck(kw):
    x, w, b = _arrays([(2, 2, 5, 4), (2, 1 if kw.get("groups") else 2, 2, 2), (2,)], 3)
    args = (fastnn.tensor(x, requires_grad=True), fastnn.tensor(w, requires_grad=True),
            fastnn.tensor(b, requires_grad=True))
    assert gradcheck(lambda a, c, d: F.conv2d(a, c, d, **kw), args)


def test_conv1d_gradcheck_without_bias():
    x, w = _arrays([(1, 2, 6), (3, 2, 3)], 4)
    args = (fastnn.tensor(x, requires_grad=True), fastnn.tensor(w, requires_grad=True))
    assert gradcheck(lambda a, c: F.conv1d(a, c, stride=2, padding=1), args)


def test_conv2d_accumulates_into_shared_weight():
    x, w = _arrays([(2, 1, 5, 5), (1, 1, 3, 3)], 5)
    fw = fastnn.tensor(w, requires_grad=True)
    a, b = fastnn.tensor(x), fastnn.tensor(x * 2)
    (F.conv2d(a, fw).sum() + F.conv2d(b, fw).sum()).backward()
    gw = fw.grad.numpy().copy()
    fw.grad = None
    F.conv2d(fastnn.tensor(x * 3), fw).sum().backward()
    np.testing.assert_allclose(gw, fw.grad.numpy(), rtol=1e-12)


def test_conv2d_no_grad_records_nothing():
    x, w = _arrays([(2, 1, 5, 5), (1, 1, 3, 3)], 6)
    fw = fastnn.tensor(w, requires_grad=True)
    with fastnn.no_grad():
        y = F.conv2d(fastnn.tensor(x), fw)
    assert y.grad_fn is None and not y.requires_grad


# ---- bad input --------------------------------------------------------------------------------
def _x(*shape):
    return fastnn.zeros(*shape)


def test_channel_mismatch_message_is_pytorchs():
    with pytest.raises(RuntimeError, match=r"^Given groups=1, weight of size \[20, 1, 5, 5\], "
                       r"expected input\[64, 3, 28, 28\] to have 1 channels, but got 3 "
                       r"channels instead$"):
        F.conv2d(_x(64, 3, 28, 28), _x(20, 1, 5, 5))


def test_channel_mismatch_unbatched_and_grouped():
    with pytest.raises(RuntimeError, match=r"expected input\[1, 8, 8, 8\] to have 4 channels"):
        F.conv2d(_x(8, 8, 8), _x(4, 4, 3, 3))
    with pytest.raises(RuntimeError, match=r"expected input\[1, 8, 8\] to have 4 channels"):
        F.conv1d(_x(8, 8), _x(4, 4, 3))
    with pytest.raises(RuntimeError, match=r"Given groups=2, weight of size \[4, 2, 3, 3\], "
                       r"expected input\[1, 3, 8, 8\] to have 4 channels, but got 3"):
        F.conv2d(_x(1, 3, 8, 8), _x(4, 2, 3, 3), groups=2)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: F.conv2d(_x(8, 8), _x(4, 4, 3, 3)), RuntimeError,
     r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[8, 8\]"),
    (lambda: F.conv1d(_x(1, 2, 3, 8), _x(4, 2, 3)), RuntimeError,
     r"Expected 2D \(unbatched\) or 3D \(batched\) input to conv1d"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3)), RuntimeError,
     r"Expected 4-dimensional weight for 4-dimensional input to conv2d, but got weight of "
     r"size \[4, 4, 3\]"),
    (lambda: F.conv2d(_x(1, 4, 8, 8).double(), _x(4, 4, 3, 3)), RuntimeError,
     r"expected scalar type Double but found Float"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3).double()), RuntimeError,
     r"Input type \(torch.FloatTensor\) and weight type \(torch.DoubleTensor\) should be the "
     r"same"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), _x(4).double()), RuntimeError,
     r"Input type \(float\) and bias type \(double\) should be the same"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), _x(3)), RuntimeError,
     r"Given weight of size \[4, 4, 3, 3\], expected bias to be 1-dimensional with 4 "
     r"elements, but got bias of size \[3\] instead"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), stride=0), RuntimeError,
     r"non-positive stride is not supported"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), padding=-1), RuntimeError,
     r"negative padding is not supported"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), dilation=0), RuntimeError,
     r"non-positive dilation is not supported"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), stride=(1, 2, 3)), RuntimeError,
     r"expected stride to be a single integer value or a list of 2 values to match the "
     r"convolution dimensions, but got stride=\[1, 2, 3\]"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), padding="same", stride=2), RuntimeError,
     r"padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 3, 3), padding="full"), RuntimeError,
     r"Invalid padding string: 'full'"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(3, 2, 3, 3), groups=2), RuntimeError,
     r"Given groups=2, expected weight to be divisible by 2 at dimension 0"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(2, 2, 3, 3), groups=3), RuntimeError,
     r"Given groups=3, expected weight to be at least 3 at dimension 0"),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(4, 4, 9, 9)), RuntimeError,
     r"Calculated padded input size per channel: \(8 x 8\). Kernel size: \(9 x 9\). Kernel "
     r"size can't be greater than actual input size"),
    (lambda: F.conv2d(np.zeros((1, 4, 8, 8)), _x(4, 4, 3, 3)), TypeError,
     r"argument 'input' must be Tensor, not ndarray"),
])
def test_conv_bad_input(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_conv2d_zero_batch():
    y = F.conv2d(_x(0, 4, 8, 8), _x(4, 4, 3, 3))
    assert tuple(y.shape) == (0, 4, 6, 6)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding=(2, 0), dilation=(1, 2)),
                                dict(groups=2, stride=(1, 2)), dict(padding="same"),
                                dict(padding="same", dilation=2)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_column_kernels_match_numpy_path(kw, bias, dtype, monkeypatch):
    """The Cython im2col/col2im path and the numpy reference path agree, grads included."""
    from fastnn.nn._functional import conv
    x, w, b = _arrays([(3, 4, 9, 8), (6, 2 if kw.get("groups") else 4, 3, 3), (6,)], 3, dtype)

    def run():
        fx = fastnn.tensor(x, requires_grad=True)
        fw = fastnn.tensor(w, requires_grad=True)
        fb = fastnn.tensor(b, requires_grad=True) if bias else None
        y = F.conv2d(fx, fw, fb, **kw)
        (y * y).sum().backward()
        return [y.detach().numpy(), fx.grad.numpy(), fw.grad.numpy()] + \
            ([fb.grad.numpy()] if bias else []), y.grad_fn

    fast, fast_node = run()
    monkeypatch.setattr(conv, "_columns_kernels_apply", lambda *a: False)
    slow, slow_node = run()
    assert fast_node.name() == slow_node.name() == "ConvolutionBackward0"
    # 'same' with an even total padding (dilation 2, kernel 3) is symmetric: fast path taken
    assert type(fast_node) is conv.Conv2dColumnsBackward
    tol = 1e-4 if dtype == np.float32 else 1e-11
    for a, e in zip(fast, slow):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol)
