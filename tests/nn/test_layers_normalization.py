"""BatchNorm1d/2d/3d and LayerNorm modules: running stats, train/eval, printed form, errors."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn


@pytest.mark.parametrize("cls,args,kw", [
    ("BatchNorm2d", (20,), {}), ("BatchNorm1d", (3,), {"affine": False, "momentum": None}),
    ("BatchNorm1d", (3,), {"bias": False}), ("BatchNorm3d", (2,), {"eps": 1e-3}),
    ("BatchNorm2d", (4,), {"track_running_stats": False}),
    ("LayerNorm", (4,), {}), ("LayerNorm", ((3, 4),), {"elementwise_affine": False}),
    ("LayerNorm", ([4, 5],), {"bias": False}),
])
def test_norm_module_declares_like_pytorch(cls, args, kw):
    torch = pytest.importorskip("torch")
    fm, tm = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(fm) == repr(tm)
    assert fm.__constants__ == tm.__constants__
    assert list(fm.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        f = fm.state_dict()[k]
        assert f.dtype == getattr(fastnn, str(v.dtype).split(".")[1])
        np.testing.assert_array_equal(f.numpy(), v.numpy())


@pytest.mark.parametrize("cls,shape,kw", [
    ("BatchNorm2d", (4, 3, 5, 5), {}),
    ("BatchNorm2d", (4, 3, 5, 5), {"momentum": None}),
    ("BatchNorm1d", (6, 3), {"momentum": 0.3, "eps": 1e-3}),
    ("BatchNorm1d", (6, 3, 4), {"affine": False}),
    ("BatchNorm1d", (6, 3), {"track_running_stats": False}),
    ("BatchNorm3d", (2, 3, 2, 3, 2), {"bias": False}),
])
def test_batchnorm_module_train_then_eval_matches_torch(cls, shape, kw):
    torch = pytest.importorskip("torch")
    fm, tm = getattr(nn, cls)(shape[1], **kw).double(), getattr(torch.nn, cls)(shape[1],
                                                                               **kw).double()
    rng = np.random.default_rng(0)
    with fastnn.no_grad():
        for (_, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
            v = rng.standard_normal(tuple(tp.shape))
            tp.data.copy_(torch.tensor(v))
            fp.copy_(fastnn.tensor(v))
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
        ty, fy = tm(tx), fm(fx)
        np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                                   atol=1e-10)
        ty.sum().backward()
        fy.sum().backward()
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-8)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(fm.state_dict()[k].numpy(), v.numpy(), rtol=1e-12,
                                   err_msg=k)
    fm.eval()
    tm.eval()
    x = rng.standard_normal(shape)
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = tm(tx), fm(fx)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    ty.sum().backward()
    fy.sum().backward()
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_num_batches_tracked_counts_training_batches_only():
    m = nn.BatchNorm1d(2)
    assert m.num_batches_tracked.dtype == fastnn.int64 and m.num_batches_tracked.item() == 0
    m(fastnn.randn(4, 2))
    m(fastnn.randn(4, 2))
    m.eval()
    m(fastnn.randn(4, 2))
    assert m.num_batches_tracked.item() == 2
    m.reset_running_stats()
    assert m.num_batches_tracked.item() == 0
    np.testing.assert_array_equal(m.running_var.numpy(), [1, 1])


@pytest.mark.parametrize("cls,shape,msg", [
    ("BatchNorm1d", (2, 3, 4, 5), r"expected 2D or 3D input \(got 4D input\)"),
    ("BatchNorm2d", (2, 3, 4), r"expected 4D input \(got 3D input\)"),
    ("BatchNorm3d", (2, 3, 4, 4), r"expected 5D input \(got 4D input\)"),
])
def test_batchnorm_rank_errors(cls, shape, msg):
    with pytest.raises(ValueError, match=msg):
        getattr(nn, cls)(3)(fastnn.zeros(*shape))


def test_batchnorm_single_value_per_channel_in_training():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when "
                       r"training, got input size fastnn.Size\(\[1, 3, 1, 1\]\)"):
        nn.BatchNorm2d(3)(fastnn.zeros(1, 3, 1, 1))
    assert tuple(nn.BatchNorm2d(3).eval()(fastnn.zeros(1, 3, 1, 1)).shape) == (1, 3, 1, 1)


def test_layernorm_module_matches_torch():
    torch = pytest.importorskip("torch")
    fm, tm = nn.LayerNorm((4, 5)).double(), torch.nn.LayerNorm((4, 5)).double()
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(fm(fastnn.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
