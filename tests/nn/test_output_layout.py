"""Ops that write a fresh buffer return C-contiguous results for transposed/permuted inputs
(so a following .view() works), as PyTorch's do; channels-last inputs keep their layout
where PyTorch keeps it (cat, roll, rms_norm); reductions are C-contiguous too."""
import numpy as np
import pytest

import fastnn

BASE = np.random.default_rng(0).standard_normal((2, 3, 4, 6)).astype(np.float32)

def _ones(T, n):
    return T.ones(n)


OPS = {
    "softmax": lambda T, x: x.softmax(-1),
    "softmax_dim1": lambda T, x: T.nn.functional.softmax(x, 1),
    "log_softmax": lambda T, x: x.log_softmax(-1),
    "softmin": lambda T, x: T.nn.functional.softmin(x, -1),
    "softmax2d": lambda T, x: T.nn.Softmax2d()(x),
    "layer_norm_affine": lambda T, x: T.nn.functional.layer_norm(
        x, (x.shape[-1],), _ones(T, x.shape[-1]), _ones(T, x.shape[-1])),
    "layer_norm_weight": lambda T, x: T.nn.functional.layer_norm(
        x, (x.shape[-1],), _ones(T, x.shape[-1])),
    "rms_norm": lambda T, x: T.nn.functional.rms_norm(x, (x.shape[-1],), _ones(T, x.shape[-1])),
    "rms_norm_no_weight": lambda T, x: T.nn.functional.rms_norm(x, (x.shape[-1],)),
    "cumsum": lambda T, x: x.cumsum(1),
    "cumprod": lambda T, x: x.cumprod(1),
    "cummax": lambda T, x: x.cummax(1)[0],
    "cummax_indices": lambda T, x: x.cummax(1)[1],
    "logcumsumexp": lambda T, x: x.logcumsumexp(1),
    "masked_fill": lambda T, x: x.masked_fill(x > 0, 0.0),
    "masked_fill_tensor": lambda T, x: x.masked_fill(x > 0, T.tensor(0.0)),
    "masked_scatter": lambda T, x: x.masked_scatter(x > 0, T.zeros(x.shape)),
    "roll": lambda T, x: x.roll(1, 1),
    "roll_flat": lambda T, x: x.roll(1),
    "cat_last": lambda T, x: T.cat([x, x], -1),
    "cat_first": lambda T, x: T.cat([x, x], 0),
    "stack": lambda T, x: T.stack([x, x]),
    "tril": lambda T, x: x.tril(),
    "triu": lambda T, x: x.triu(1),
    "repeat": lambda T, x: x.repeat(1, 1, 1, 1),
}


def _input(T, layout, requires_grad=False):
    x = T.tensor(BASE)
    if layout == "channels_last":
        x = x.contiguous(memory_format=T.channels_last)
    else:
        x = {"transpose12": lambda t: t.transpose(1, 2), "permute": lambda t: t.permute(0, 2, 3, 1),
             "transpose03": lambda t: t.transpose(0, 3)}[layout](x)
    return x.requires_grad_() if requires_grad else x


@pytest.mark.parametrize("layout", ["transpose12", "permute", "transpose03"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_result_is_contiguous_and_views(op, layout):
    x = _input(fastnn, layout)
    y = OPS[op](fastnn, x)
    assert y.is_contiguous()
    flat = y.view(-1)  # the failure this guards against: "view size is not compatible"
    # same values as the op on a C-contiguous copy of the input
    ref = OPS[op](fastnn, x.contiguous())
    np.testing.assert_allclose(flat.numpy(), ref.reshape(-1).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layout", ["transpose12", "permute", "transpose03", "channels_last"])
@pytest.mark.parametrize("op", sorted(OPS))
def test_layout_matches_torch(op, layout):
    torch = pytest.importorskip("torch")
    ty = OPS[op](torch, _input(torch, layout))
    fy = OPS[op](fastnn, _input(fastnn, layout))
    assert fy.is_contiguous() == ty.is_contiguous()
    if op != "stack":  # numpy's stack of channels-last inputs is laid out its own way
        assert tuple(fy.stride()) == tuple(ty.stride())
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op", ["softmax", "layer_norm_affine", "rms_norm", "cumsum", "cumprod",
                                "masked_fill", "roll", "cat_last", "stack", "tril"])
def test_gradients_through_transposed_input(op):
    x = _input(fastnn, "transpose12", requires_grad=True)
    w = fastnn.tensor(np.random.default_rng(1).standard_normal(OPS[op](fastnn, x).shape)
                      .astype(np.float32))
    (OPS[op](fastnn, x) * w).sum().backward()
    xc = x.detach().contiguous().requires_grad_()
    (OPS[op](fastnn, xc) * w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xc.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_vit_patch_embedding_pattern():
    t = fastnn.randn(2, 16, 4, 4).flatten(2).transpose(1, 2)
    assert fastnn.nn.LayerNorm(16)(t).view(2, -1).shape == (2, 256)
    u = fastnn.randn(2, 3, 4).transpose(1, 2)
    assert fastnn.cat([u, u], -1).view(2, -1).shape == (2, 24)
    assert fastnn.stack([u, u]).view(-1).shape == (48,)
    assert fastnn.nn.RMSNorm(3)(u).view(-1).shape == (24,)
    assert u.masked_fill(u > 0, 0.0).view(2, -1).shape == (2, 12)


def test_channels_last_kept_by_cat_and_roll():
    x = fastnn.tensor(BASE).contiguous(memory_format=fastnn.channels_last)
    assert fastnn.cat([x, x], 1).is_contiguous(memory_format=fastnn.channels_last)
    assert x.roll(1, 2).is_contiguous(memory_format=fastnn.channels_last)
    assert fastnn.nn.functional.rms_norm(x, (6,)).is_contiguous(
        memory_format=fastnn.channels_last)
    # a mix of layouts is concatenated C-contiguous
    assert fastnn.cat([x, x.contiguous()], 0).is_contiguous()


def test_contiguous_input_gives_no_extra_copy_node():
    x = fastnn.randn(3, 4, requires_grad=True)
    assert fastnn.nn.functional.rms_norm(x, (4,)).grad_fn.name() == "MulBackward0"
    xt = fastnn.randn(4, 3, requires_grad=True).t()
    assert fastnn.nn.functional.rms_norm(xt, (4,)).grad_fn.name() == "CloneBackward0"


REDUCTIONS = {
    "sum": lambda T, x, kd: x.sum(-1, keepdim=kd),
    "sum_dims": lambda T, x, kd: x.sum((1, 2), keepdim=kd),
    "mean": lambda T, x, kd: x.mean(1, keepdim=kd),
    "var": lambda T, x, kd: x.var(-1, keepdim=kd),
    "std": lambda T, x, kd: x.std(1, keepdim=kd),
    "prod": lambda T, x, kd: x.prod(-1, keepdim=kd),
    "amax": lambda T, x, kd: x.amax(1, keepdim=kd),
    "amin": lambda T, x, kd: x.amin(-1, keepdim=kd),
    "logsumexp": lambda T, x, kd: x.logsumexp(-1, keepdim=kd),
    "norm": lambda T, x, kd: x.norm(dim=1, keepdim=kd),
    "cosine_similarity": lambda T, x, kd: T.nn.functional.cosine_similarity(x, x + 1, dim=-1),
    "all": lambda T, x, kd: (x > 0).all(1, keepdim=kd),
    "any": lambda T, x, kd: (x > 0).any(-1, keepdim=kd),
    "count_nonzero": lambda T, x, kd: T.count_nonzero(x > 0, 1),
}


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("layout", ["transpose12", "permute", "transpose03", "channels_last"])
@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reductions_are_contiguous(op, layout, keepdim):
    x = _input(fastnn, layout)
    y = REDUCTIONS[op](fastnn, x, keepdim)
    assert y.is_contiguous()
    y.view(-1)
    ref = REDUCTIONS[op](fastnn, x.contiguous(), keepdim)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layout", ["transpose12", "permute", "channels_last"])
@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reduction_layout_matches_torch(op, layout):
    torch = pytest.importorskip("torch")
    ty = REDUCTIONS[op](torch, _input(torch, layout), True)
    fy = REDUCTIONS[op](fastnn, _input(fastnn, layout), True)
    assert fy.is_contiguous() == ty.is_contiguous()
    np.testing.assert_allclose(fy.numpy(), ty.numpy(), rtol=1e-5, atol=1e-5)
