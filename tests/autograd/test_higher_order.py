"""create_graph=True: gradients that can be differentiated again, against finite differences
(gradgradcheck, float64) and PyTorch."""
import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradgradcheck

F = fastnn.nn.functional
_rng = np.random.default_rng(0)


def _t(*shape, positive=False):
    a = _rng.standard_normal(shape)
    return fastnn.tensor(np.abs(a) + 0.5 if positive else a, requires_grad=True)


# each op family the second-order pass supports, through gradgradcheck
CASES = {
    "add_sub_neg": (lambda a, b: (a + 2 * b - (-a) * b).sum(), (3,), (3,)),
    "mul_div_broadcast": (lambda a, b: (a * b / (b * b + 1)).sum(), (2, 3), (3,)),
    "pow_exp_log": (lambda a: (a ** 3 + a.exp() + (a * a + 1).log()).sum(), (4,)),
    "sqrt_rsqrt_expm1_log1p": (lambda a: (a.sqrt() + a.rsqrt() + a.expm1() + a.log1p()).sum(),
                               ("pos", 4)),
    "trig_tanh_sigmoid": (lambda a: (a.sin() * a.cos() + a.tanh() + a.sigmoid()).sum(), (5,)),
    "relu_abs_clamp": (lambda a: (a.relu() * a + a.abs() * a + a.clamp(-0.5, 0.5) * a).sum(),
                       (6,)),
    "sum_mean_dims": (lambda a: (a.sum(1) ** 2).mean() + (a.mean(0, keepdim=True) ** 3).sum(),
                      (3, 4)),
    "softmax_log_softmax": (lambda a: (a.softmax(1) ** 2).sum() + a.log_softmax(0)[0].sum(),
                            (3, 4)),
    "views_index": (lambda a: (a.t().reshape(2, 6)[1] ** 2).sum() + (a[:, 1:3] ** 3).sum()
                    + (a.unsqueeze(0).expand(2, 3, 4) * a).sum(), (3, 4)),
    "advanced_index": (lambda a: (a[fastnn.tensor([0, 2, 0])] ** 2).sum(), (3, 2)),
    "matmul_shapes": (lambda a, b: ((a @ b).tanh() ** 2).sum() + (b.t() @ a[0]).pow(2).sum(),
                      (2, 3), (3, 4)),
    "linear_relu_mse": (lambda x, w, b: F.mse_loss(F.relu(F.linear(x, w, b)) ** 2,
                                                   x[:, :2].sin()), (4, 3), (2, 3), (2,)),
    "addmm": (lambda i, m1, m2: (fastnn.addmm(i, m1, m2, beta=0.5, alpha=2.0) ** 2).sum(),
              (2, 2), (2, 3), (3, 2)),
    "conv2d_strided": (lambda x, w, b: (F.conv2d(x, w, b, stride=(2, 1), padding=1,
                                                 dilation=(1, 2)) ** 2).sum(),
                       (2, 2, 5, 6), (3, 2, 3, 2), (3,)),
    "conv2d_same_leaky": (lambda x, w: F.leaky_relu(F.conv2d(x, w, padding="same"),
                                                    0.2).pow(2).sum(), (1, 2, 4, 4), (2, 2, 2, 2)),
    "cross_entropy": (lambda z: F.cross_entropy(z * z, fastnn.tensor([0, 3, 1, 4])), (4, 5)),
    "smooth_activations": (lambda a: ((F.elu(a, 0.7) + F.silu(a) + F.softplus(a, 2.0, 3.0)
                                       + F.gelu(a) + F.gelu(a, approximate="tanh")) * a).sum(),
                           (7,)),
    "max_pool": (lambda a: (F.max_pool2d(a.sin(), 3, stride=2, padding=1, ceil_mode=True) ** 2
                            ).sum() + (F.max_pool1d(a[0] * a[0], 2) ** 2).sum(), (2, 2, 6, 5)),
    "avg_pool": (lambda a: (F.avg_pool2d(a.cos(), 3, stride=2, padding=1, ceil_mode=True,
                                         count_include_pad=False) ** 2).sum(), (2, 2, 6, 5)),
    "layer_norm": (lambda x, w, b: (F.layer_norm(x, (4,), w, b) ** 3).sum()
                   + (F.layer_norm(x, (4,), None, b) ** 3).sum(), (3, 4), (4,), (4,)),
    "batch_norm_train": (lambda x, w, b: (F.batch_norm(x, None, None, w, b, training=True) ** 3
                                          ).sum() + (F.batch_norm(x, None, None, None, b,
                                                                  training=True) ** 3).sum(),
                         (3, 2, 2, 2), (2,), (2,)),
    "batch_norm_eval": (lambda x, w: (F.batch_norm(x, fastnn.zeros(2, dtype=fastnn.float64) + 0.3,
                                                   fastnn.ones(2, dtype=fastnn.float64) * 1.7, w,
                                                   training=False) ** 3).sum(), (3, 2, 4), (2,)),
    "group_instance_norm": (lambda x, w, b: (F.group_norm(x, 2, w, b) ** 3).sum()
                            + (F.instance_norm(x, weight=w, bias=b) ** 3).sum(),
                            (2, 4, 3), (4,), (4,)),
    "piecewise_activations": (lambda a: ((F.hardtanh(a) + F.hardswish(a) + F.hardsigmoid(a)
                                          + F.threshold(a, 0.1, 2.0)) * a).sum(), (7,)),
}


def _inputs(shapes):
    return tuple(_t(*s[1:], positive=True) if s[0] == "pos" else _t(*s) for s in shapes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_match_finite_differences(name):
    fn, *shapes = CASES[name]
    assert gradgradcheck(fn, _inputs(shapes))


def test_grad_of_grad_is_the_second_derivative():
    x = fastnn.tensor([0.5, -1.0, 2.0], dtype=fastnn.float64, requires_grad=True)
    (g,) = fastnn.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and np.allclose(g.detach().numpy(), 3 * np.array([0.25, 1, 4]))
    g.sum().backward()
    assert np.allclose(x.grad.numpy(), 6 * np.array([0.5, -1.0, 2.0]))


def test_backward_create_graph_leaves_a_differentiable_grad():
    z = fastnn.tensor([1.0, 2.0], dtype=fastnn.float64, requires_grad=True)
    (z ** 2 * z.exp()).sum().backward(create_graph=True)
    gz = z.grad
    assert gz.requires_grad
    (hz,) = fastnn.autograd.grad(gz.sum(), z)
    zn = np.array([1.0, 2.0])
    assert np.allclose(hz.numpy(), (2 + 4 * zn + zn ** 2) * np.exp(zn))


def test_float32_works_too():
    x = fastnn.tensor([0.3, 0.7], requires_grad=True)
    (g,) = fastnn.autograd.grad(x.tanh().sum(), x, create_graph=True)
    (h,) = fastnn.autograd.grad(g.sum(), x)
    t = np.tanh(np.array([0.3, 0.7]))
    assert h.dtype == fastnn.float32
    np.testing.assert_allclose(h.numpy(), -2 * t * (1 - t * t), rtol=1e-5)


def test_unsupported_op_names_itself():
    img = fastnn.randn(1, 1, 6, 6, requires_grad=True)
    samples = fastnn.rand(1, 1, 2)
    with pytest.raises(NotImplementedError, match="cannot yet differentiate the gradient of "
                                                  "FractionalMaxPool2DBackward0"):
        fastnn.autograd.grad(fastnn.nn.functional.fractional_max_pool2d(
            img, 2, output_size=3, _random_samples=samples).sum(), img, create_graph=True)
    x = fastnn.randn(3, 3, requires_grad=True)
    with pytest.raises(NotImplementedError, match="scatter with reduce='multiply'"):
        fastnn.autograd.grad(x.scatter(1, fastnn.tensor([[0], [1], [2]]), x[:, :1],
                                       reduce="multiply").sum(), x, create_graph=True)


def test_is_grads_batched_gives_one_gradient_per_row():
    x = fastnn.ones(3, requires_grad=True)
    (g,) = fastnn.autograd.grad(x * 2, x, fastnn.eye(3), is_grads_batched=True)
    assert np.allclose(g.numpy(), 2 * np.eye(3))


# ---- against PyTorch: a physics-informed loss and a gradient penalty ------------------------

def _pinn(lib, weights, t):
    nn = lib.nn
    net = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 8), nn.Sigmoid(),
                        nn.Linear(8, 1)).double()
    with lib.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(lib.tensor(w))
    t = lib.tensor(t, requires_grad=True)
    u = net(t)
    (du,) = lib.autograd.grad(u, t, grad_outputs=lib.ones_like(u), create_graph=True)
    (d2u,) = lib.autograd.grad(du, t, grad_outputs=lib.ones_like(du), create_graph=True)
    loss = lib.nn.functional.mse_loss(d2u + u, lib.zeros_like(u)) + (du ** 2).mean()
    loss.backward()
    return [d2u.detach().numpy()] + [p.grad.numpy() for p in net.parameters()]


def _penalty(lib, weights, x):
    nn = lib.nn
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()
    with lib.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(lib.tensor(w))
    x = lib.tensor(x, requires_grad=True)
    (gp,) = lib.autograd.grad(net(x).sum(), x, create_graph=True)
    (((gp * gp).sum(1).sqrt() - 1) ** 2).mean().backward()
    # the biases do not reach the input gradient: PyTorch gives zeros or None, fastnn None
    return [p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
            for p in net.parameters()]


def _conv_penalty(lib, weights, x):
    nn = lib.nn
    net = nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
                        nn.Conv2d(3, 2, 3), nn.LeakyReLU(0.2), nn.Flatten(),
                        nn.Linear(2, 1)).double()
    with lib.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(lib.tensor(w))
    x = lib.tensor(x, requires_grad=True)
    (gp,) = lib.autograd.grad(net(x).sum(), x, create_graph=True)
    (((gp * gp).sum((1, 2, 3)).sqrt() - 1) ** 2).mean().backward()
    return [p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
            for p in net.parameters()]


@pytest.mark.parametrize("case", ["pinn", "penalty", "conv_penalty"])
def test_matches_torch(case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)  # its own draws: the result must not depend on test order
    if case == "pinn":
        shapes = [(8, 1), (8,), (8, 8), (8,), (1, 8), (1,)]
        data = np.linspace(0, 1, 5).reshape(-1, 1)
        run = _pinn
    elif case == "penalty":
        shapes = [(4, 3), (4,), (1, 4), (1,)]
        data = rng.standard_normal((5, 3))
        run = _penalty
    else:  # a WGAN-GP-style convolutional critic
        shapes = [(3, 1, 3, 3), (3,), (2, 3, 3, 3), (2,), (1, 2), (1,)]
        data = rng.standard_normal((2, 1, 6, 6))
        run = _conv_penalty
    weights = [rng.standard_normal(s) for s in shapes]
    for ours, want in zip(run(fastnn, weights, data), run(torch, weights, data)):
        np.testing.assert_allclose(ours, want, rtol=1e-9, atol=1e-12)
