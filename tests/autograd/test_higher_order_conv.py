"""create_graph=True through convolutions, transposed convolutions, pooling, resampling and
fold/unfold: gradgradcheck in float64, the first gradients against the engine's, and double
backward against PyTorch."""
import importlib.util
import pathlib

import numpy as np
import pytest

import fastnn

_spec = importlib.util.spec_from_file_location(
    "higher_order_checks", pathlib.Path(__file__).with_name("higher_order_checks.py"))
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)


def _F(lib):
    return lib.nn.functional


# fn(lib, *tensors) for both libraries, then the input shapes
CASES = {
    "conv1d": (lambda lib, x, w, b: (_F(lib).conv1d(x, w, b, stride=2, padding=1, dilation=2)
                                     ** 2).sum(), (2, 2, 9), (3, 2, 3), (3,)),
    "conv1d_same_unbatched": (lambda lib, x, w: (_F(lib).conv1d(x, w, padding="same") ** 3)
                              .sum(), (2, 6), (2, 2, 4)),
    "conv2d_groups": (lambda lib, x, w, b: (_F(lib).conv2d(x, w, b, stride=(1, 2), padding=1,
                                                           groups=2) ** 2).sum(),
                      (2, 4, 5, 5), (6, 2, 3, 2), (6,)),
    "conv2d_depthwise": (lambda lib, x, w: (_F(lib).conv2d(x, w, padding=(2, 1), dilation=2,
                                                           groups=3).tanh() ** 2).sum(),
                         (1, 3, 5, 4), (3, 1, 2, 3)),
    "conv2d_columns": (lambda lib, x, w: (_F(lib).conv2d(x, w, stride=2, padding=1) ** 3)
                       .sum(), (2, 2, 5, 5), (3, 2, 3, 3)),
    "conv3d": (lambda lib, x, w, b: (_F(lib).conv3d(x, w, b, stride=(1, 2, 1), padding=1)
                                     ** 2).sum(), (1, 2, 3, 4, 3), (2, 2, 2, 3, 2), (2,)),
    "conv_transpose1d": (lambda lib, x, w, b: (_F(lib).conv_transpose1d(
        x, w, b, stride=2, padding=1, output_padding=1, dilation=2) ** 2).sum(),
        (2, 2, 4), (2, 3, 3), (3,)),
    "conv_transpose2d_groups": (lambda lib, x, w: (_F(lib).conv_transpose2d(
        x, w, stride=(2, 1), padding=(0, 1), groups=2) ** 3).sum(), (1, 4, 3, 3), (4, 1, 2, 3)),
    "conv_transpose3d": (lambda lib, x, w, b: (_F(lib).conv_transpose3d(
        x, w, b, stride=2, padding=1) ** 2).sum(), (1, 2, 2, 3, 2), (2, 2, 3, 2, 2), (2,)),
    "pools_1d_3d": (lambda lib, x: (_F(lib).avg_pool1d(x[0, :, 0], 2, padding=1) ** 3).sum()
                    + (_F(lib).max_pool3d(x.sin(), 2, stride=1) ** 3).sum()
                    + (_F(lib).avg_pool3d(x * x, (2, 2, 1), ceil_mode=True) ** 2).sum(),
                    (1, 2, 3, 4, 3)),
    "avg_pool2d": (lambda lib, x: (_F(lib).avg_pool2d(x.cos(), 3, stride=2, padding=1,
                                                      ceil_mode=True, count_include_pad=False)
                                   ** 2).sum(), (2, 2, 6, 5)),
    "adaptive_pools": (lambda lib, x: (_F(lib).adaptive_avg_pool2d(x * x, (2, 3)) ** 2).sum()
                       + (_F(lib).adaptive_max_pool2d(x.sin(), 2) ** 3).sum()
                       + (_F(lib).adaptive_avg_pool1d(x[0], 3) ** 3).sum(), (2, 3, 5, 4)),
    "interpolate": (lambda lib, x: (_F(lib).interpolate(x * x, scale_factor=2) ** 2).sum()
                    + (_F(lib).interpolate(x.sin(), size=(5, 3), mode="bilinear") ** 3).sum()
                    + (_F(lib).interpolate(x * x, size=(3, 7), mode="bilinear",
                                           align_corners=True) ** 2).sum()
                    + (_F(lib).interpolate(x[:, :, 0], size=5, mode="linear") ** 3).sum(),
                    (1, 2, 4, 3)),
    "interpolate_more": (lambda lib, x: (_F(lib).interpolate(x, size=(5, 4), mode="bicubic")
                                         ** 3).sum()
                         + (_F(lib).interpolate(x, size=(2, 2), mode="bilinear", antialias=True)
                            ** 3).sum()
                         + (_F(lib).interpolate(x, size=(2, 2), mode="area") ** 3).sum()
                         + (_F(lib).interpolate(x.unsqueeze(2), scale_factor=1.5,
                                                mode="trilinear") ** 3).sum(), (1, 2, 3, 3)),
    "conv3d_groups_convT_dilated": (
        lambda lib, x, w, v: (_F(lib).conv3d(x, w, groups=2, dilation=(1, 2, 1),
                                             padding=(0, 1, 1)) ** 2).sum()
        + (_F(lib).conv_transpose2d(x[0, :, 0], v, dilation=2, stride=2, output_padding=1)
           ** 2).sum(), (1, 4, 3, 4, 3), (2, 2, 2, 2, 2), (4, 3, 2, 2)),
    "unpool_pixel_shuffle": (lambda lib, x: (_F(lib).max_unpool2d(
        *_F(lib).max_pool2d(x * x, 2, return_indices=True), 2) ** 3).sum()
        + (_F(lib).pixel_unshuffle(_F(lib).pixel_shuffle(x, 2) ** 2, 2) ** 2).sum(),
        (1, 4, 4, 4)),
    "fold_unfold": (lambda lib, x: (_F(lib).unfold(x * x, 2, padding=1, stride=(1, 2)) ** 2)
                    .sum() + (_F(lib).fold(x.reshape(1, 4, 6), (3, 4), 2) ** 3).sum(),
                    (1, 2, 3, 4)),
}


def _arrays(name, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in CASES[name][1:]]


(test_second_derivatives_match_finite_differences, test_first_derivatives_match_the_engine,
 test_double_backward_matches_torch) = _checks.case_tests(CASES, _arrays, (6, 8))


def _critic(lib, weights, x):
    """A WGAN-GP-style critic with grouped, depthwise and transposed convolutions."""
    nn = lib.nn
    net = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1), nn.Tanh(),
                        nn.Conv1d(4, 4, 3, groups=4, stride=2), nn.Softplus(),
                        nn.ConvTranspose1d(4, 2, 2, stride=2), nn.Flatten(),
                        nn.Linear(12, 1)).double()
    with lib.no_grad():
        for p, w in zip(net.parameters(), weights):
            p.copy_(lib.tensor(w))
    x = lib.tensor(x, requires_grad=True)
    (gp,) = lib.autograd.grad(net(x).sum(), x, create_graph=True)
    (((gp * gp).sum((1, 2)).sqrt() - 1) ** 2).mean().backward()
    # the last bias does not reach the input gradient: PyTorch gives zeros or None
    return [p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape))
            for p in net.parameters()]


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    shapes = [(4, 2, 3), (4,), (4, 1, 3), (4,), (4, 2, 2), (2,), (1, 12), (1,)]
    weights = [rng.standard_normal(s) * 0.5 for s in shapes]
    x = rng.standard_normal((3, 2, 7))
    for ours, want in zip(_critic(fastnn, weights, x), _critic(torch, weights, x)):
        np.testing.assert_allclose(ours, want, rtol=1e-9, atol=1e-12)
