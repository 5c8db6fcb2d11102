"""The fused CUDA ops (linear, conv, pooling, softmax, cross-entropy, dropout, optimizer steps)
against fastnn's CPU path, forward and backward, plus finite-difference gradchecks in float64.
"""
import copy

import numpy as np
import pytest

pytest.importorskip("numba", exc_type=ImportError)

import fastnn  # noqa: E402
import fastnn.nn.functional as F  # noqa: E402
from fastnn.autograd import gradcheck  # noqa: E402
from fastnn.cuda import kernels_optim  # noqa: E402

pytestmark = pytest.mark.cuda


def pair(shape, seed, dtype=np.float32, positive=False):
    """The same leaf on the CPU and on the GPU."""
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if positive:
        a = np.abs(a) + 0.5
    cpu = fastnn.tensor(a, requires_grad=True)
    gpu = fastnn.tensor(a).cuda().requires_grad_()
    return cpu, gpu


def check(fn, inputs, rtol=1e-5, atol=1e-6, grad=True):
    """fn on the CPU leaves and on their GPU twins: outputs and input gradients agree."""
    cpu = fn(*[c for c, _ in inputs])
    gpu = fn(*[g for _, g in inputs])
    assert gpu.is_cuda and gpu.shape == cpu.shape and gpu.dtype == cpu.dtype
    np.testing.assert_allclose(gpu.detach().cpu().numpy(), cpu.detach().numpy(), rtol=rtol,
                               atol=atol)
    if grad:
        w = np.random.default_rng(1).standard_normal(tuple(cpu.shape)).astype(
            cpu.detach().numpy().dtype)
        (cpu * fastnn.tensor(w)).sum().backward()
        (gpu * fastnn.tensor(w).cuda()).sum().backward()
        for c, g in inputs:
            if c.requires_grad:
                assert g.grad.is_cuda
                np.testing.assert_allclose(g.grad.cpu().numpy(), c.grad.numpy(), rtol=rtol,
                                           atol=atol)


def on_gpu(fn):
    """fn run on the GPU but taking and returning CPU tensors: gradcheck drives it."""
    return lambda *xs: fn(*[x.cuda() for x in xs]).cpu()


def test_linear():
    x, w, b = pair((5, 7), 0), pair((3, 7), 1), pair((3,), 2)
    check(F.linear, [x, w, b])
    check(lambda x, w: F.linear(x, w), [pair((2, 2, 7), 3), pair((3, 7), 4)])
    xs = [fastnn.randn(3, 4, dtype=fastnn.float64, requires_grad=True),
          fastnn.randn(2, 4, dtype=fastnn.float64, requires_grad=True),
          fastnn.randn(2, dtype=fastnn.float64, requires_grad=True)]
    assert gradcheck(on_gpu(F.linear), tuple(xs))


def test_linear_accumulates_into_existing_grads():
    x, w, b = pair((4, 3), 0), pair((2, 3), 1), pair((2,), 2)
    for _ in range(2):
        for i in range(2):
            F.linear(x[i], w[i], b[i]).sum().backward()
    np.testing.assert_allclose(w[1].grad.cpu().numpy(), w[0].grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b[1].grad.cpu().numpy(), b[0].grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(dilation=2),
                                dict(padding="same"), dict(groups=2)])
def test_conv2d(kw):
    x = pair((2, 4, 6, 6), 0)
    w = pair((4, 4 // kw.get("groups", 1), 3, 3), 1)
    b = pair((4,), 2)
    check(lambda x, w, b: F.conv2d(x, w, b, **kw), [x, w, b], rtol=1e-4, atol=1e-5)


def test_conv1d_and_gradcheck():
    check(lambda x, w: F.conv1d(x, w, stride=2), [pair((1, 2, 7), 0), pair((3, 2, 3), 1)],
          rtol=1e-4, atol=1e-5)
    xs = [fastnn.randn(1, 2, 4, 4, dtype=fastnn.float64, requires_grad=True),
          fastnn.randn(2, 2, 2, 2, dtype=fastnn.float64, requires_grad=True),
          fastnn.randn(2, dtype=fastnn.float64, requires_grad=True)]
    assert gradcheck(on_gpu(lambda x, w, b: F.conv2d(x, w, b, padding=1)), tuple(xs))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=2,
                                                                    ceil_mode=True)])
def test_pooling(kw):
    x = pair((2, 2, 5, 5), 0)
    check(lambda t: F.max_pool2d(t, **kw), [x])
    check(lambda t: F.avg_pool2d(t, **kw), [pair((2, 2, 5, 5), 1)])
    ci, gi = (F.max_pool2d(t, return_indices=True, **kw)[1] for t in x)
    assert gi.is_cuda and gi.dtype == fastnn.int64
    np.testing.assert_array_equal(gi.cpu().numpy(), ci.numpy())


def test_avg_pool_options_and_1d():
    check(lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False), [pair((1, 2, 5, 5), 0)])
    check(lambda t: F.avg_pool2d(t, 2, divisor_override=3), [pair((1, 1, 4, 4), 1)])
    check(lambda t: F.max_pool1d(t, 2), [pair((2, 3, 6), 2)])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_rows(dim):
    check(lambda t: t.softmax(dim), [pair((3, 4), 0)])
    check(lambda t: F.log_softmax(t, dim), [pair((3, 4), 1)])
    check(lambda t: t.permute(1, 0).log_softmax(dim), [pair((3, 4), 2)])


@pytest.mark.parametrize("kw", [dict(), dict(reduction="sum"), dict(reduction="none"),
                                dict(ignore_index=2), dict(label_smoothing=0.2),
                                dict(weight=True), dict(weight=True, label_smoothing=0.1)])
def test_cross_entropy(kw):
    kw = dict(kw)
    t = np.array([0, 2, 1, 2, 3])
    target = (fastnn.tensor(t), fastnn.tensor(t).cuda())
    weights = None
    if kw.pop("weight", False):
        wt = np.array([0.5, 1.0, 2.0, 1.5], np.float32)
        weights = (fastnn.tensor(wt), fastnn.tensor(wt).cuda())
    x = pair((5, 4), 0)
    for fn in (F.cross_entropy, lambda a, tt, weight=None, **k: F.nll_loss(
            F.log_softmax(a, 1), tt, weight=weight, **k)):
        if fn is not F.cross_entropy and "label_smoothing" in kw:
            continue
        x[0].grad = x[1].grad = None
        cpu = fn(x[0], target[0], weight=weights and weights[0], **kw)
        gpu = fn(x[1], target[1], weight=weights and weights[1], **kw)
        np.testing.assert_allclose(gpu.detach().cpu().numpy(), cpu.detach().numpy(), rtol=1e-5)
        cpu.sum().backward()
        gpu.sum().backward()
        np.testing.assert_allclose(x[1].grad.cpu().numpy(), x[0].grad.numpy(), rtol=1e-5,
                                   atol=1e-7)


def test_cross_entropy_spatial_soft_targets_and_gradcheck():
    t = np.array([[[0, 1], [2, 2]]])
    check(lambda a: F.cross_entropy(a, fastnn.tensor(t).to(a.device)), [pair((1, 3, 2, 2), 0)])
    q = np.random.default_rng(3).dirichlet(np.ones(4), 3).astype(np.float32)
    check(lambda a: F.cross_entropy(a, fastnn.tensor(q).to(a.device), label_smoothing=0.1),
          [pair((3, 4), 1)])
    tgt = fastnn.tensor([1, 0, 2])
    xs = [fastnn.randn(3, 3, dtype=fastnn.float64, requires_grad=True)]
    assert gradcheck(lambda a: F.cross_entropy(a.cuda(), tgt.cuda(), label_smoothing=0.1).cpu(),
                     tuple(xs))


def test_bad_target_is_reported_at_the_next_sync():
    x = fastnn.randn(2, 3, device="cuda")
    loss = F.cross_entropy(x, fastnn.tensor([0, 5], device="cuda"))
    with pytest.raises(RuntimeError, match="device-side assert triggered: Target 5 is out of "
                                           "bounds"):
        loss.item()
    assert F.cross_entropy(x, fastnn.tensor([0, 1], device="cuda")).item() > 0


def test_target_on_another_device():
    with pytest.raises(RuntimeError, match="found at least two devices, cuda:0 and cpu!"):
        F.cross_entropy(fastnn.randn(2, 3, device="cuda"), fastnn.tensor([0, 1]))


def test_dropout_on_device():
    fastnn.manual_seed(0)
    x = fastnn.ones(1200, device="cuda", requires_grad=True)
    y = F.dropout(x, 0.25)
    vals = y.detach().cpu().numpy()
    assert y.is_cuda and set(np.unique(vals)) == {0.0, np.float32(1 / 0.75)}
    assert abs((vals == 0).mean() - 0.25) < 0.05
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), vals)
    assert F.dropout(x, 0.25, training=False) is x
    assert (F.dropout(x, 1.0).detach().cpu().numpy() == 0).all()


def test_elementwise_graph_gradcheck():
    xs = [fastnn.rand(2, 3, dtype=fastnn.float64, requires_grad=True) + 0.5,
          fastnn.randn(3, dtype=fastnn.float64, requires_grad=True)]
    xs = [x.detach().requires_grad_() for x in xs]

    def fn(a, b):
        return ((a * b).tanh() + a.log() * b.exp() - (a / (b * b + 1)).sqrt()).sum(0) \
            .max(0)[0] + a.mean() + (a @ b).relu().sum()
    assert gradcheck(on_gpu(fn), tuple(xs))


def _optim_arrays(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(11).astype(np.float32) for _ in range(4)]


@pytest.mark.parametrize("kw", [dict(momentum=0.9, first_step=True),
                                dict(momentum=0.9, dampening=0.1, weight_decay=0.01),
                                dict(momentum=0.9, nesterov=True, maximize=True),
                                dict(momentum=0.0, weight_decay=0.1)])
def test_sgd_kernel_matches_the_cpu_kernel(kw):
    core = pytest.importorskip("fastnn._core")
    args = dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                maximize=False, first_step=False)
    args.update(kw)
    p, g, buf, _ = _optim_arrays(0)
    dp, dg, dbuf = (fastnn.tensor(a).cuda()._data for a in (p, g, buf))
    core.sgd_step(p, g, buf, *args.values())
    kernels_optim.sgd_step(dp, dg, dbuf, *args.values())
    np.testing.assert_allclose(dp.copy_to_host(), p, rtol=1e-6)
    np.testing.assert_allclose(dbuf.copy_to_host(), buf, rtol=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(amsgrad=True, weight_decay=0.1),
                                dict(decoupled=True, weight_decay=0.1, maximize=True),
                                dict(beta1=0.3)])
def test_adam_kernel_matches_the_cpu_kernel(kw):
    core = pytest.importorskip("fastnn._core")
    args = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, step=3,
                amsgrad=False, maximize=False, decoupled=False)
    args.update(kw)
    p, g, m, v = _optim_arrays(1)
    v = np.abs(v)
    vmax = v.copy()
    dev = [fastnn.tensor(a).cuda()._data for a in (p, g, m, v, vmax)]
    core.adam_step(p, g, m, v, vmax, *args.values())
    kernels_optim.adam_step(*dev, *args.values())
    for got, want in zip(dev, (p, g, m, v, vmax)):
        np.testing.assert_allclose(got.copy_to_host(), want, rtol=1e-6, atol=1e-9)


LAYERS = {
    "batchnorm1d": (lambda: fastnn.nn.BatchNorm1d(4), (3, 4)),
    "batchnorm2d": (lambda: fastnn.nn.BatchNorm2d(2), (2, 2, 3, 3)),
    "layernorm": (lambda: fastnn.nn.LayerNorm(4), (3, 4)),
    "gelu": (lambda: fastnn.nn.GELU(), (3, 4)),
    "silu": (lambda: fastnn.nn.SiLU(), (3, 4)),
    "leaky_relu": (lambda: fastnn.nn.LeakyReLU(0.1), (3, 4)),
    "elu": (lambda: fastnn.nn.ELU(), (3, 4)),
    "softplus": (lambda: fastnn.nn.Softplus(), (3, 4)),
    "adaptive_avg_pool": (lambda: fastnn.nn.AdaptiveAvgPool2d((1, 1)), (2, 2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_common_layers_through_numpy_dispatch(name):
    # these run their numpy code on CudaArrays unchanged (no dedicated kernels)
    make, shape = LAYERS[name]
    fastnn.manual_seed(0)
    layer_cpu = make()
    fastnn.manual_seed(0)
    layer_gpu = make().cuda()
    check(lambda t: (layer_gpu if t.is_cuda else layer_cpu)(t), [pair(shape, 0)])


@pytest.mark.parametrize("loss", [F.mse_loss, F.l1_loss, F.smooth_l1_loss,
                                  lambda a, b: F.binary_cross_entropy(a.sigmoid(), (b > 0).float()),
                                  lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid())])
def test_pointwise_losses(loss):
    b = np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32)
    check(lambda a: loss(a, fastnn.tensor(b).to(a.device)), [pair((3, 4), 0)])


def test_tensor_indexing_matches_cpu():
    idx = np.array([2, 0])

    def fn(t):
        i = fastnn.tensor(idx).to(t.device)
        parts = [t[t > 0], t[i], t[:, i], t.index_select(1, i), t[1], t[..., -1], t[1, 2],
                 t.gather(1, fastnn.tensor([[0], [3], [1]]).to(t.device)), t[i, 1],
                 t.masked_fill(t > 0.5, 0.0), t.max(1)[0], t.amax(0), t.var(0), t.norm()]
        return fastnn.cat([p.reshape(-1) for p in parts])
    check(fn, [pair((3, 4), 0)])


def test_setitem_and_clip_grad_norm():
    x = fastnn.randn(3, 4, device="cuda")
    y = x.clone()
    y[y < 0] = 0
    y[0] = 1.0
    y[:, 1] = fastnn.ones(3, device="cuda")
    want = x.cpu().numpy().copy()
    want[want < 0] = 0
    want[0] = 1.0
    want[:, 1] = 1.0
    np.testing.assert_array_equal(y.cpu().numpy(), want)
    lin = [fastnn.nn.Linear(4, 3), fastnn.nn.Linear(4, 3)]
    lin[1].load_state_dict(lin[0].state_dict())
    lin[1].cuda()
    norms = []
    for m in lin:
        m(fastnn.ones(2, 4, device=m.weight.device)).sum().backward()
        norms.append(fastnn.nn.utils.clip_grad_norm_(m.parameters(), 0.5).item())
    np.testing.assert_allclose(norms[1], norms[0], rtol=1e-6)
    np.testing.assert_allclose(lin[1].weight.grad.cpu().numpy(), lin[0].weight.grad.numpy(),
                               rtol=1e-6)


def test_relu_gradient_is_one_kernel_and_lets_nan_through():
    """threshold_backward's rule on both devices: zero where the output is <= 0, the incoming
    gradient elsewhere, a NaN output included."""
    a = np.array([np.nan, -1.0, 2.0, 0.0, -0.0, 3.0], np.float32)
    grads = []
    for dev in ("cpu", "cuda"):
        x = fastnn.tensor(a, device=dev, requires_grad=True)
        F.relu(x).backward(fastnn.full((6,), 5.0, device=dev))
        grads.append(x.grad.cpu().numpy())
    np.testing.assert_array_equal(grads[0], [5, 0, 5, 0, 0, 5])
    np.testing.assert_array_equal(grads[1], grads[0])


def test_linear_then_relu_fuses_into_the_gemm_on_the_gpu(monkeypatch):
    from fastnn.cuda import kernels_gemm
    fastnn.manual_seed(0)
    cpu = fastnn.nn.Sequential(fastnn.nn.Linear(5, 4), fastnn.nn.ReLU(), fastnn.nn.Linear(4, 3))
    gpu = copy.deepcopy(cpu).cuda()
    relu_flags = []
    real = kernels_gemm.gemm
    monkeypatch.setattr(kernels_gemm, "gemm",
                        lambda *a, **k: relu_flags.append(k.get("relu", False)) or real(*a, **k))
    x = np.random.default_rng(3).standard_normal((6, 5)).astype(np.float32)
    x[0, :] = np.nan  # a NaN row stays NaN through the fused ReLU, as through max(., 0)
    outs = [m(fastnn.tensor(x, device=d)) for m, d in ((cpu, "cpu"), (gpu, "cuda"))]
    assert relu_flags == [True, False]
    assert type(outs[1].grad_fn).__name__ == "AddmmBackward0"
    relu_node = outs[1].grad_fn.next_functions[0][0]
    assert type(relu_node).__name__ == "ReluBackward0"
    assert type(relu_node.next_functions[0][0]).__name__ == "AddmmBackward0"
    np.testing.assert_allclose(outs[1].detach().cpu().numpy(), outs[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    for out in outs:
        out[1:].sum().backward()
    for pc, pg in zip(cpu.parameters(), gpu.parameters()):
        np.testing.assert_allclose(pg.grad.cpu().numpy(), pc.grad.numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_fused_linear_relu_gradcheck_on_the_gpu():
    from fastnn.nn._functional.linear import linear_relu
    rng = np.random.default_rng(4)
    xs = tuple(fastnn.tensor(rng.standard_normal(s), dtype=fastnn.float64, requires_grad=True)
               for s in ((3, 4), (5, 4), (5,)))
    assert type(linear_relu(*[t.cuda() for t in xs]).grad_fn).__name__ == "ReluBackward0"
    assert gradcheck(on_gpu(linear_relu), xs)


def test_fused_linear_relu_leaves_bad_input_to_linear_s_checks():
    model = fastnn.nn.Sequential(fastnn.nn.Linear(4, 3), fastnn.nn.ReLU()).cuda()
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                           r"\(2x5 and 4x3\)"):
        model(fastnn.zeros(2, 5, device="cuda"))
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        model(fastnn.zeros(2, 4))
