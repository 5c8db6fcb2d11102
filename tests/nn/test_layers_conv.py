"""Conv1d/2d/3d modules: construction, printed form, PyTorch parity, errors with module paths."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F


def _copy_params(fm, tm):
    for (fname, fp), (tname, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        assert fname == tname and tuple(fp.shape) == tuple(tp.shape)
        with fastnn.no_grad():
            fp.copy_(fastnn.tensor(tp.detach().numpy()))


CONV_ARGS = [
    ("Conv2d", (1, 20, 5), {}),
    ("Conv2d", (20, 50, 5, 1), {}),
    ("Conv2d", (2, 4, (3, 2)), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2,
                                "bias": False}),
    ("Conv2d", (3, 4, 3), {"padding": "same"}),
    ("Conv2d", (3, 4, 4), {"padding": "same", "padding_mode": "reflect"}),
    ("Conv2d", (3, 6, 3), {"padding": (1, 2), "padding_mode": "replicate", "groups": 3}),
    ("Conv2d", (3, 4, 3), {"padding": 2, "padding_mode": "circular", "stride": (2, 1)}),
    ("Conv2d", (3, 4, 3), {"padding": "valid"}),
    ("Conv1d", (3, 4, 3), {"padding": 1, "padding_mode": "reflect"}),
    ("Conv1d", (2, 4, 3), {"padding": "same", "padding_mode": "circular"}),
    ("Conv3d", (2, 3, 2), {"padding": 1}),
]


@pytest.mark.parametrize("cls,args,kw", CONV_ARGS)
def test_conv_module_matches_torch(cls, args, kw):
    torch = pytest.importorskip("torch")
    fm, tm = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(fm) == repr(tm)
    assert fm.__constants__ == tm.__constants__
    assert fm._reversed_padding_repeated_twice == list(tm._reversed_padding_repeated_twice)
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    fm.double()
    tm.double()
    _copy_params(fm, tm)
    nd = {"Conv1d": 1, "Conv2d": 2, "Conv3d": 3}[cls]
    x = np.random.default_rng(0).standard_normal((2, args[0]) + (7,) * nd)
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = tm(tx), fm(fx)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-10,
                               atol=1e-10)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    for (_, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv_reset_parameters_follows_pytorchs_bounds():
    fastnn.manual_seed(0)
    m = nn.Conv2d(20, 50, 5)
    bound = 1 / math.sqrt(20 * 25)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert m.weight.dtype == fastnn.float32 and tuple(m.weight.shape) == (50, 20, 5, 5)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    fastnn.manual_seed(0)
    np.testing.assert_array_equal(nn.Conv2d(20, 50, 5).weight.detach().numpy(), w)


def test_conv_factory_kwargs_and_unbatched_input():
    m = nn.Conv2d(3, 2, 3, dtype=fastnn.float64, device="cpu")
    assert m.weight.dtype == fastnn.float64 and m.bias.dtype == fastnn.float64
    y = m(fastnn.randn(3, 6, 6, dtype=fastnn.float64))
    assert tuple(y.shape) == (2, 4, 4)


@pytest.mark.parametrize("kw,msg", [
    ({"groups": 2}, "in_channels must be divisible by groups"),
    ({"groups": 0}, "groups must be a positive integer"),
    ({"padding": "full"}, r"Invalid padding string 'full', should be one of "
                          r"\{'valid', 'same'\}"),
    ({"padding": "same", "stride": 2}, "padding='same' is not supported for strided "
                                       "convolutions"),
    ({"padding_mode": "mirror"}, r"padding_mode must be one of \{'zeros', 'reflect', "
                                 r"'replicate', 'circular'\}, but got padding_mode='mirror'"),
])
def test_conv_construction_errors(kw, msg):
    with pytest.raises(ValueError, match=msg):
        nn.Conv2d(3, 4, 3, **kw)
    if kw.get("groups") == 2:
        with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
            nn.Conv2d(4, 3, 3, groups=2)


def test_channel_mismatch_names_the_module():
    net = nn.Sequential(OrderedDict(conv1=nn.Conv2d(1, 20, 5), act=nn.ReLU()))
    with pytest.raises(RuntimeError, match=r"^Given groups=1, weight of size \[20, 1, 5, 5\], "
                       r"expected input\[64, 3, 28, 28\] to have 1 channels, but got 3 channels "
                       r"instead") as err:
        net(fastnn.zeros(64, 3, 28, 28))
    assert err.value.__notes__ == [
        "in module 'conv1' (Conv2d(1, 20, kernel_size=(5, 5), stride=(1, 1)))"]


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5, 1)
        self.conv2 = nn.Conv2d(20, 50, 5, 1)
        self.fc1 = nn.Linear(4 * 4 * 50, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2, 2)
        x = x.view(-1, 4 * 4 * 50)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def test_lenet_prints_like_pytorch_and_trains_like_it():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    TorchLeNet = type("LeNet", (torch.nn.Module,), {
        "__init__": lambda self: (torch.nn.Module.__init__(self), [
            setattr(self, n, m) for n, m in (
                ("conv1", torch.nn.Conv2d(1, 20, 5, 1)), ("conv2", torch.nn.Conv2d(20, 50, 5, 1)),
                ("fc1", torch.nn.Linear(800, 500)), ("fc2", torch.nn.Linear(500, 10)))])[0]})
    fm, tm = LeNet(), TorchLeNet()
    assert repr(fm) == repr(tm)
    # float64: in float32 a max-pool window whose top two values differ by a rounding error
    # routes its gradient by the BLAS's summation order, which differs between CPUs
    fm, tm = fm.double(), tm.double()
    _copy_params(fm, tm)
    x = np.random.default_rng(0).standard_normal((8, 1, 28, 28))
    y = np.arange(8) % 10
    fl = F.nll_loss(fm(fastnn.tensor(x)), fastnn.tensor(y))
    tx = torch.tensor(x)
    t = torch.nn.functional
    h = t.max_pool2d(t.relu(tm.conv1(tx)), 2, 2)
    h = t.max_pool2d(t.relu(tm.conv2(h)), 2, 2).view(-1, 800)
    tl = t.nll_loss(t.log_softmax(tm.fc2(t.relu(tm.fc1(h))), dim=1), torch.tensor(y))
    np.testing.assert_allclose(fl.item(), tl.item(), rtol=1e-12)
    fl.backward()
    tl.backward()
    for (name, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)
