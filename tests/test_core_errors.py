"""fastnn._core rejects bad arguments before touching memory, with messages naming them."""
import numpy as np
import pytest

from fastnn import _core


def f32(*shape):
    return np.zeros(shape, np.float32)


def f64(*shape):
    return np.zeros(shape, np.float64)


def readonly(a):
    a.flags.writeable = False
    return a


def swapped(*shape):
    return np.zeros(shape, np.dtype(np.float32).newbyteorder())


X, W, B, O = f32(2, 3), f32(4, 3), f32(4), f32(2, 4)
BUF = f32(20)
PCG = np.random.PCG64(0)
T3 = np.array([0, 1, 2])

CASES = [
    # linear_forward / linear_relu_forward
    ("mat-mult", lambda: _core.linear_forward(f32(2, 785), f32(128, 784), None, f32(2, 128)),
     RuntimeError, "linear_forward: mat1 and mat2 shapes cannot be multiplied (2x785 and 784x128)"),
    ("mat-mult-relu", lambda: _core.linear_relu_forward(f32(5, 2), f32(7, 3), None, f32(5, 7)),
     RuntimeError, "linear_relu_forward: mat1 and mat2 shapes cannot be multiplied (5x2 and 3x7)"),
    ("x-none", lambda: _core.linear_forward(None, W, B, O),
     TypeError, "linear_forward: argument 'x' must be a numpy.ndarray, not NoneType"),
    ("w-list", lambda: _core.linear_forward(X, [[0.0] * 3] * 4, B, O),
     TypeError, "linear_forward: argument 'w' must be a numpy.ndarray, not list"),
    ("out-none", lambda: _core.linear_forward(X, W, B, None),
     TypeError, "linear_forward: argument 'out' must be a numpy.ndarray, not NoneType"),
    ("mixed-dtype", lambda: _core.linear_forward(X, f64(4, 3), B, O),
     TypeError, "linear_forward: expected 'w' to have the same dtype as 'x' (float32), "
                "but got float64"),
    ("mixed-bias", lambda: _core.linear_forward(X, W, f64(4), O),
     TypeError, "linear_forward: expected 'b' to have the same dtype as 'x' (float32), "
                "but got float64"),
    ("int-x", lambda: _core.linear_forward(np.zeros((2, 3), np.int64), W, B, O),
     TypeError, "linear_forward: expected 'x' to have dtype float32 or float64, but got int64"),
    ("x-1d", lambda: _core.linear_forward(f32(3), W, B, O),
     RuntimeError, "linear_forward: expected 'x' to be a 2-D array, but got 1-D with shape (3,)"),
    ("bias-shape", lambda: _core.linear_forward(X, W, f32(3), O),
     RuntimeError, "linear_forward: expected 'b' to have shape (4,), but got (3,)"),
    ("out-shape", lambda: _core.linear_forward(X, W, B, f32(4, 2)),
     RuntimeError, "linear_forward: expected 'out' to have shape (2, 4), but got (4, 2)"),
    ("x-strided", lambda: _core.linear_forward(f32(2, 6)[:, ::2], W, B, O),
     ValueError, "linear_forward: 'x' must be C-contiguous, but got strides (24, 8) "
                 "for shape (2, 3)"),
    ("w-transposed", lambda: _core.linear_forward(X, f32(3, 4).T, B, O),
     ValueError, "linear_forward: 'w' must be C-contiguous, but got strides (4, 16) "
                 "for shape (4, 3)"),
    ("out-readonly", lambda: _core.linear_forward(X, W, B, readonly(f32(2, 4))),
     ValueError, "linear_forward: output 'out' is read-only"),
    ("out-aliases-x", lambda: _core.linear_forward(BUF[:6].reshape(2, 3), W, B,
                                                   BUF[4:12].reshape(2, 4)),
     ValueError, "linear_forward: output 'out' overlaps 'x' in memory; pass a separate output "
                 "array"),
    ("out-is-bias", lambda: _core.linear_forward(f32(1, 3), W, BUF[:4], BUF[:4].reshape(1, 4)),
     ValueError, "linear_forward: output 'out' overlaps 'b' in memory; pass a separate output "
                 "array"),
    # linear_backward
    ("bwd-rows", lambda: _core.linear_backward(f32(2, 4), f32(3, 3), W, None, None, None),
     RuntimeError, "linear_backward: expected 'x' to have 2 rows like 'g' (2, 4), "
                   "but got shape (3, 3)"),
    ("bwd-w", lambda: _core.linear_backward(f32(2, 4), X, f32(4, 2), None, None, None),
     RuntimeError, "linear_backward: expected 'w' to have shape (4, 3) to match 'g' (2, 4) "
                   "and 'x' (2, 3), but got (4, 2)"),
    ("bwd-gw-shape", lambda: _core.linear_backward(f32(2, 4), X, W, None, f32(3, 4), None),
     RuntimeError, "linear_backward: expected 'gw' to have shape (4, 3), but got (3, 4)"),
    ("bwd-gb-dtype", lambda: _core.linear_backward(f32(2, 4), X, W, None, None, f64(4)),
     TypeError, "linear_backward: expected 'gb' to have the same dtype as 'g' (float32), "
                "but got float64"),
    ("bwd-g-none", lambda: _core.linear_backward(None, X, W, None, None, None),
     TypeError, "linear_backward: argument 'g' must be a numpy.ndarray, not NoneType"),
    ("bwd-gx-is-x", lambda: _core.linear_backward(f32(2, 4), X, W, X, None, None),
     ValueError, "linear_backward: output 'gx' overlaps 'x' in memory; pass a separate output "
                 "array"),
    ("bwd-gw-gb-share", lambda: _core.linear_backward(f32(2, 4), X, W, None,
                                                      BUF[:12].reshape(4, 3), BUF[10:14]),
     ValueError, "linear_backward: output 'gw' overlaps 'gb' in memory; pass a separate output "
                 "array"),
    # relu_forward
    ("relu-fwd-shape", lambda: _core.relu_forward(f32(3), f32(4)),
     RuntimeError, "relu_forward: expected 'out' to have the same shape as 'x' (3,), "
                   "but got (4,)"),
    ("relu-fwd-overlap", lambda: _core.relu_forward(BUF[:8], BUF[1:9]),
     ValueError, "relu_forward: output 'out' overlaps 'x' in memory; pass a separate output "
                 "array"),
    # relu_backward
    ("relu-shape", lambda: _core.relu_backward(f32(3), f32(4), f32(3)),
     RuntimeError, "relu_backward: expected 'y' to have the same shape as 'g' (3,), "
                   "but got (4,)"),
    ("relu-partial-overlap", lambda: _core.relu_backward(BUF[:8], f32(8), BUF[1:9]),
     ValueError, "relu_backward: output 'out' overlaps 'g' in memory; pass a separate output "
                 "array"),
    ("relu-int", lambda: _core.relu_backward(f32(3), np.zeros(3, np.int32), f32(3)),
     TypeError, "relu_backward: expected 'y' to have the same dtype as 'g' (float32), "
                "but got int32"),
    # sgd_step
    ("sgd-buf-none", lambda: _core.sgd_step(f32(3), f32(3), None, 0.1, 0.9, 0, 0, False, False,
                                            True),
     TypeError, "sgd_step: argument 'buf' must be a numpy.ndarray when momentum != 0, "
                "not NoneType"),
    ("sgd-nesterov", lambda: _core.sgd_step(f32(3), f32(3), f32(3), 0.1, 0.9, 0.1, 0, True,
                                            False, True),
     ValueError, "sgd_step: Nesterov momentum requires a momentum and zero dampening"),
    ("sgd-grad-shape", lambda: _core.sgd_step(f32(3), f32(4), None, 0.1, 0, 0, 0, False, False,
                                              True),
     RuntimeError, "sgd_step: expected 'grad' to have the same shape as 'param' (3,), "
                   "but got (4,)"),
    ("sgd-readonly", lambda: _core.sgd_step(readonly(f32(3)), f32(3), None, 0.1, 0, 0, 0, False,
                                            False, True),
     ValueError, "sgd_step: output 'param' is read-only"),
    ("sgd-grad-is-param", lambda: _core.sgd_step(BUF[:3], BUF[:3], None, 0.1, 0, 0, 0, False,
                                                 False, True),
     ValueError, "sgd_step: output 'param' overlaps 'grad' in memory; pass a separate output "
                 "array"),
    ("sgd-int", lambda: _core.sgd_step(np.zeros(3, np.int64), f32(3), None, 0.1, 0, 0, 0, False,
                                       False, True),
     TypeError, "sgd_step: expected 'param' to have dtype float32 or float64, but got int64"),
    # adam_step
    ("adam-vmax-none", lambda: _core.adam_step(f32(3), f32(3), f32(3), f32(3), None, 1e-3, 0.9,
                                               0.999, 1e-8, 0, 1, True, False, False),
     TypeError, "adam_step: argument 'max_exp_avg_sq' must be a numpy.ndarray when "
                "amsgrad=True, not NoneType"),
    ("adam-step0", lambda: _core.adam_step(f32(3), f32(3), f32(3), f32(3), None, 1e-3, 0.9,
                                           0.999, 1e-8, 0, 0, False, False, False),
     ValueError, "adam_step: expected 'step' to count from 1, but got 0"),
    ("adam-dtype", lambda: _core.adam_step(f32(3), f32(3), f64(3), f32(3), None, 1e-3, 0.9,
                                           0.999, 1e-8, 0, 1, False, False, False),
     TypeError, "adam_step: expected 'exp_avg' to have the same dtype as 'param' (float32), "
                "but got float64"),
    ("adam-shared-state", lambda: _core.adam_step(f32(3), f32(3), BUF[:3], BUF[:3], None, 1e-3,
                                                  0.9, 0.999, 1e-8, 0, 1, False, False, False),
     ValueError, "adam_step: output 'exp_avg_sq' overlaps 'exp_avg' in memory; pass a separate "
                 "output array"),
    ("adam-shape", lambda: _core.adam_step(f32(3), f32(3), f32(3), f32(2), None, 1e-3, 0.9,
                                           0.999, 1e-8, 0, 1, False, False, False),
     RuntimeError, "adam_step: expected 'exp_avg_sq' to have the same shape as 'param' (3,), "
                   "but got (2,)"),
    # random
    ("uniform-bitgen", lambda: _core.uniform_(f32(3), 0, 1, 42),
     TypeError, "uniform_: argument 'bitgen' must be a numpy.random.BitGenerator or Generator, "
                "not int"),
    ("uniform-range", lambda: _core.uniform_(f32(3), 1, 0, PCG),
     RuntimeError, "uniform_: expects to return a [from, to) range, but found from=1.0 > to=0.0"),
    ("uniform-int", lambda: _core.uniform_(np.zeros(3, np.int32), 0, 1, PCG),
     TypeError, "uniform_: expected 'out' to have dtype float32 or float64, but got int32"),
    ("uniform-strided", lambda: _core.uniform_(f32(6)[::2], 0, 1, PCG),
     ValueError, "uniform_: 'out' must be C-contiguous, but got strides (8,) for shape (3,)"),
    ("uniform-readonly", lambda: _core.uniform_(readonly(f32(3)), 0, 1, PCG),
     ValueError, "uniform_: output 'out' is read-only"),
    ("normal-std", lambda: _core.normal_(f32(3), 0, -1, PCG),
     RuntimeError, "normal_: normal expects std >= 0.0, but found std -1.0"),
    # cross-entropy
    ("ce-target-int32", lambda: _core.cross_entropy_forward(f32(3, 4), T3.astype(np.int32),
                                                            f32(3, 4)),
     TypeError, "cross_entropy_forward: expected 'target' to have dtype int64 (class indices), "
                "but got int32"),
    ("ce-target-2d", lambda: _core.cross_entropy_forward(f32(3, 4), T3[:, None], f32(3, 4)),
     RuntimeError, "cross_entropy_forward: expected 'target' to be a 1-D array, but got 2-D "
                   "with shape (3, 1)"),
    ("ce-target-len", lambda: _core.cross_entropy_forward(f32(2, 4), T3, f32(2, 4)),
     RuntimeError, "cross_entropy_forward: expected 'target' to have shape (2,), but got (3,)"),
    ("ce-logits-1d", lambda: _core.cross_entropy_forward(f32(4), T3, f32(4)),
     RuntimeError, "cross_entropy_forward: expected 'logits' to be a 2-D array, but got 1-D "
                   "with shape (4,)"),
    ("ce-out-dtype", lambda: _core.cross_entropy_forward(f32(3, 4), T3, f64(3, 4)),
     TypeError, "cross_entropy_forward: expected 'out_logprobs' to have the same dtype as "
                "'logits' (float32), but got float64"),
    ("ce-scale-len", lambda: _core.cross_entropy_backward(f32(3, 4), T3, f32(2), f32(3, 4)),
     RuntimeError, "cross_entropy_backward: expected 'grad_scale' to have shape (3,), "
                   "but got (2,)"),
    ("ce-scale-none", lambda: _core.cross_entropy_backward(f32(3, 4), T3, None, f32(3, 4)),
     TypeError, "cross_entropy_backward: argument 'grad_scale' must be a numpy.ndarray, "
                "not NoneType"),
    ("sce-target-len", lambda: _core.softmax_cross_entropy_forward(f32(2, 4), T3, f32(2, 4)),
     RuntimeError, "softmax_cross_entropy_forward: expected 'target' to have shape (2,), but "
                   "got (3,)"),
    ("sce-out-shape", lambda: _core.softmax_cross_entropy_forward(f32(3, 4), T3, f32(3, 5)),
     RuntimeError, "softmax_cross_entropy_forward: expected 'out_probs' to have shape (3, 4), "
                   "but got (3, 5)"),
    ("sce-out-overlap", lambda: (lambda a: _core.softmax_cross_entropy_forward(
        a[:12].reshape(3, 4), T3, a[4:16].reshape(3, 4)))(f32(24)),
     ValueError, "softmax_cross_entropy_forward: output 'out_probs' overlaps 'logits' in "
                 "memory; pass a separate output array"),
    ("sce-back-dtype", lambda: _core.softmax_cross_entropy_backward(f32(3, 4), T3, 1.0,
                                                                    f64(3, 4)),
     TypeError, "softmax_cross_entropy_backward: expected 'out' to have the same dtype as "
                "'probs' (float32), but got float64"),
    ("sce-back-scale", lambda: _core.softmax_cross_entropy_backward(f32(3, 4), T3, None,
                                                                    f32(3, 4)),
     TypeError, "must be real number, not NoneType"),
    # zero_
    ("zero-list", lambda: _core.zero_([1, 2]),
     TypeError, "zero_: argument 'arr' must be a numpy.ndarray, not list"),
    ("zero-strided", lambda: _core.zero_(f32(4)[::2]),
     ValueError, "zero_: 'arr' must be C-contiguous, but got strides (8,) for shape (2,)"),
    ("zero-readonly", lambda: _core.zero_(readonly(f32(2))),
     ValueError, "zero_: output 'arr' is read-only"),
]


@pytest.mark.parametrize("call,exc,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_arguments(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    if message is not None:
        assert str(info.value) == message


def test_byte_swapped_is_rejected():
    with pytest.raises(ValueError, match="'x' must be aligned and in native byte order"):
        _core.linear_forward(swapped(2, 3), swapped(4, 3), None, swapped(2, 4))


def test_failed_call_leaves_outputs_alone():
    out = np.full((2, 4), 7.0, np.float32)
    with pytest.raises(RuntimeError):
        _core.linear_forward(X, W, f32(5), out)
    assert (out == 7).all()
