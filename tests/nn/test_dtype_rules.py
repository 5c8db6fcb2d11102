"""Which dtypes the layers take: integer and bool inputs that PyTorch has no kernel for raise
its NotImplementedError, mixed parameter dtypes raise its "mixed dtype" errors, float16
input to the normalization layers is normalized in float32 and returned as float16, and
optimizers refuse integer parameters instead of leaving them unchanged."""
import numpy as np
import pytest

import fastnn

F = fastnn.nn.functional


def _i32(*shape):
    return fastnn.ones(*shape, dtype=fastnn.int32)


def _bool(*shape):
    return fastnn.ones(*shape, dtype=fastnn.bool)


UNSUPPORTED = {  # name: (call, exception, message)
    "batch_norm_int": (lambda: F.batch_norm(_i32(3, 2), None, None, training=True),
                       NotImplementedError, "\"batch_norm\" not implemented for 'Int'"),
    "layer_norm_int": (lambda: F.layer_norm(_i32(2, 3), (3,)),
                       NotImplementedError, "\"LayerNormKernelImpl\" not implemented for 'Int'"),
    "group_norm_int": (lambda: F.group_norm(_i32(2, 4), 2),
                       NotImplementedError, "\"GroupNormKernelImpl\" not implemented for 'Int'"),
    "avg_pool1d_int": (lambda: F.avg_pool1d(_i32(1, 1, 4), 2),
                       NotImplementedError, "\"avg_pool2d\" not implemented for 'Int'"),
    "avg_pool2d_int": (lambda: F.avg_pool2d(_i32(1, 1, 2, 2), 2),
                       NotImplementedError, "\"avg_pool2d\" not implemented for 'Int'"),
    "avg_pool3d_int": (lambda: F.avg_pool3d(_i32(1, 1, 2, 2, 2), 2),
                       NotImplementedError, "\"avg_pool3d_out_frame\" not implemented for 'Int'"),
    "max_pool1d_int": (lambda: F.max_pool1d(_i32(1, 1, 4), 2),
                       NotImplementedError, "\"max_pool1d_impl\" not implemented for 'Int'"),
    "max_pool2d_bool": (lambda: F.max_pool2d(_bool(1, 1, 2, 2), 2),
                        NotImplementedError, "\"max_pool2d\" not implemented for 'Bool'"),
    "conv_transpose2d_uint8": (
        lambda: F.conv_transpose2d(fastnn.ones(1, 1, 2, 2, dtype=fastnn.uint8),
                                   fastnn.ones(1, 1, 2, 2, dtype=fastnn.uint8)),
        NotImplementedError, "\"slow_conv_transpose2d_out_cpu\" not implemented for 'Byte'"),
    "conv2d_bool": (lambda: F.conv2d(_bool(1, 1, 2, 2), _bool(1, 1, 2, 2)),
                    NotImplementedError, "\"slow_conv2d_cpu\" not implemented for 'Bool'"),
    "linear_bool": (lambda: F.linear(_bool(2, 3), _bool(4, 3)),
                    NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    "mse_int": (lambda: F.mse_loss(_i32(3), _i32(3)),
                NotImplementedError, "\"mse_cpu\" not implemented for 'Int'"),
    "smooth_l1_int": (lambda: F.smooth_l1_loss(_i32(3), _i32(3)),
                      NotImplementedError, "\"smooth_l1_cpu\" not implemented for 'Int'"),
    "huber_int": (lambda: F.huber_loss(_i32(3), _i32(3)),
                  NotImplementedError, "\"huber_cpu\" not implemented for 'Int'"),
    "relu_bool": (lambda: F.relu(_bool(3)), RuntimeError, "Boolean inputs not supported for relu"),
    "relu_module_bool": (lambda: fastnn.nn.ReLU()(_bool(3)), RuntimeError,
                         "Boolean inputs not supported for relu"),
    "layer_norm_float_input_double_weight": (
        lambda: F.layer_norm(fastnn.ones(2, 6), (6,), fastnn.ones(6, dtype=fastnn.float64)),
        RuntimeError, "mixed dtype \\(CPU\\): expect parameter to have scalar type of Float"),
    "layer_norm_module_double_input": (
        lambda: fastnn.nn.LayerNorm(4)(fastnn.ones(2, 4, dtype=fastnn.float64)),
        RuntimeError, "mixed dtype \\(CPU\\): all inputs must share same datatype."),
    "group_norm_mixed": (
        lambda: F.group_norm(fastnn.ones(2, 4, dtype=fastnn.float64), 2, fastnn.ones(4),
                             fastnn.ones(4)),
        RuntimeError, "mixed dtype \\(CPU\\): all inputs must share same datatype."),
    "batch_norm_mixed_running_stats": (
        lambda: F.batch_norm(fastnn.ones(3, 2, dtype=fastnn.float64), fastnn.zeros(2),
                             fastnn.ones(2), training=True),
        RuntimeError, "mixed dtype \\(CPU\\): all inputs must share same datatype."),
    "cross_entropy_weight_dtype": (
        lambda: F.cross_entropy(fastnn.ones(2, 3, dtype=fastnn.float64), fastnn.tensor([0, 1]),
                                weight=fastnn.ones(3)),
        RuntimeError, "expected scalar type Double but found Float"),
    "negative_device_index": (lambda: fastnn.device("cuda", -1), RuntimeError,
                              "Device index must not be negative"),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_dtypes_raise_pytorchs_error(name):
    call, exc, message = UNSUPPORTED[name]
    with pytest.raises(exc, match=message):
        call()


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_pytorch_raises_the_same(name):
    torch = pytest.importorskip("torch")
    call, exc, message = UNSUPPORTED[name]
    # the same lambda, reading torch where it reads fastnn
    g = dict(call.__globals__, fastnn=torch, F=torch.nn.functional,
             _i32=lambda *s: torch.ones(*s, dtype=torch.int32),
             _bool=lambda *s: torch.ones(*s, dtype=torch.bool))
    twin = type(call)(call.__code__, g)
    with pytest.raises(exc, match=message):
        twin()


@pytest.mark.parametrize("make", [
    lambda: fastnn.nn.LayerNorm(1000),
    lambda: fastnn.nn.GroupNorm(4, 8),
    lambda: fastnn.nn.BatchNorm1d(8),
    lambda: fastnn.nn.BatchNorm1d(8).eval(),
])
def test_float16_normalization_runs_in_float32(make):
    m = make()
    rng = np.random.default_rng(0)
    shape = (4, 1000) if isinstance(m, fastnn.nn.LayerNorm) else (16, 8, 5)
    if isinstance(m, fastnn.nn.BatchNorm1d):
        shape = (16, 8)
    x = (100 + rng.standard_normal(shape)).astype(np.float16)
    ref = m.double()(fastnn.tensor(x.astype(np.float64))).detach().numpy()
    m.float()
    if isinstance(m, fastnn.nn.BatchNorm1d) and m.training:
        m.running_mean.zero_(), m.running_var.fill_(1)
    xt = fastnn.tensor(x, requires_grad=True)
    out = m(xt)
    assert out.dtype == fastnn.float16
    np.testing.assert_allclose(out.detach().numpy().astype(np.float64), ref, atol=4e-3)
    out.float().sum().backward()
    assert xt.grad.dtype == fastnn.float16
    assert m.weight.grad.dtype == fastnn.float32


def test_batch_norm_of_an_empty_batch_is_empty():
    rm, rv = fastnn.zeros(3), fastnn.ones(3)
    out = F.batch_norm(fastnn.randn(0, 3), rm, rv, training=True)
    assert tuple(out.shape) == (0, 3)
    assert rm.tolist() == [0, 0, 0] and rv.tolist() == [1, 1, 1]


@pytest.mark.parametrize("opt, message", [
    (lambda p: fastnn.optim.SGD([p], lr=0.5),
     "For integral input tensors, argument alpha must not be a floating point number."),
    (lambda p: fastnn.optim.Adam([p]), "result type Float can't be cast to the desired output "
                                       "type Long"),
])
def test_optimizers_refuse_integer_parameters(opt, message):
    p = fastnn.ones(3, dtype=fastnn.long)
    p.grad = fastnn.ones(3, dtype=fastnn.long)
    o = opt(p)
    with pytest.raises(RuntimeError, match=message):
        o.step()
    assert p.tolist() == [1, 1, 1]
    assert not o.state[p] or "step" not in o.state[p]


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.BatchNorm1d(4),
    lambda lib: lib.nn.BatchNorm1d(4).eval(),
    lambda lib: lib.nn.LayerNorm(4),
    lambda lib: lib.nn.GroupNorm(2, 4),
])
def test_half_modules_on_half_input(make):
    # .half() makes the parameters and running statistics float16 too; the statistics are
    # still updated in place
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float16)
    outs = []
    for lib in (fastnn, torch):
        m = make(lib).half()
        y = m(lib.tensor(x))
        assert str(y.dtype).endswith("float16")
        stats = [] if not hasattr(m, "running_mean") or m.running_mean is None else \
            [np.asarray(m.running_mean.tolist())]
        outs.append([np.asarray(y.tolist())] + stats)
    for ours, theirs in zip(*outs):
        np.testing.assert_allclose(ours, theirs, atol=2e-3)
