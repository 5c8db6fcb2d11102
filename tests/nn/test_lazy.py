"""Lazy modules: placeholders until the first call, then the ordinary layer, as in PyTorch."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn.nn.modules.lazy import LazyModuleMixin
from fastnn.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

torch = pytest.importorskip("torch")

CASES = [  # (lazy constructor, input shape, ordinary class name)
    (lambda m: m.LazyLinear(7), (3, 5), "Linear"),
    (lambda m: m.LazyLinear(7, bias=False), (2, 4, 5), "Linear"),
    (lambda m: m.LazyConv1d(4, 3), (2, 3, 8), "Conv1d"),
    (lambda m: m.LazyConv1d(4, 3, padding=1), (3, 8), "Conv1d"),
    (lambda m: m.LazyConv2d(4, 3, stride=2, padding=1, bias=False), (2, 3, 7, 7), "Conv2d"),
    (lambda m: m.LazyConv2d(4, 3, groups=2), (1, 6, 5, 5), "Conv2d"),
    (lambda m: m.LazyConv3d(2, 2), (1, 2, 3, 3, 3), "Conv3d"),
    (lambda m: m.LazyConvTranspose1d(4, 3, stride=2), (2, 3, 5), "ConvTranspose1d"),
    (lambda m: m.LazyConvTranspose2d(4, 3, groups=2), (1, 6, 5, 5), "ConvTranspose2d"),
    (lambda m: m.LazyBatchNorm1d(), (4, 3), "BatchNorm1d"),
    (lambda m: m.LazyBatchNorm1d(affine=False, track_running_stats=False), (4, 3, 2),
     "BatchNorm1d"),
    (lambda m: m.LazyBatchNorm2d(momentum=None), (2, 3, 4, 4), "BatchNorm2d"),
    (lambda m: m.LazyBatchNorm3d(), (2, 3, 2, 2, 2), "BatchNorm3d"),
    (lambda m: m.LazyInstanceNorm1d(), (2, 3, 5), "InstanceNorm1d"),
    (lambda m: m.LazyInstanceNorm2d(affine=False), (2, 3, 4, 4), "InstanceNorm2d"),
]


def _copy_from(dst, src):
    """fastnn module ``dst`` takes torch module ``src``'s parameters and buffers."""
    sd = {k: fastnn.tensor(v.detach().numpy()) for k, v in src.state_dict().items()}
    dst.load_state_dict(sd)


@pytest.mark.parametrize("make,shape,cls", CASES)
def test_first_call_matches_torch(make, shape, cls):
    f, t = make(nn), make(torch.nn)
    assert repr(f) == repr(t) and type(f).__name__ == type(t).__name__
    assert isinstance(f, LazyModuleMixin) and f.has_uninitialized_params() == \
        t.has_uninitialized_params()
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    yf, yt = f(fastnn.tensor(x)), t(torch.tensor(x))
    assert type(f) is getattr(nn, cls) and type(t) is getattr(torch.nn, cls)
    assert repr(f) == repr(t)
    assert not any(is_lazy(v) for v in f.state_dict().values()) and not f._hooked
    assert [(k, tuple(v.shape)) for k, v in f.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    assert all(type(p) is nn.Parameter for p in f.parameters())
    assert tuple(yf.shape) == tuple(yt.shape)
    _copy_from(f, t)
    np.testing.assert_allclose(f(fastnn.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


def test_d2l_pattern_and_apply():
    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    assert repr(net[0].weight) == "<UninitializedParameter>"
    net(fastnn.rand(2, 20))
    assert net[0].weight.shape == (256, 20) and net[2].weight.shape == (10, 256)

    def init_normal(m):
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, mean=0, std=0.01)
            nn.init.zeros_(m.bias)
    net.apply(init_normal)
    assert float(net[0].bias.abs().sum()) == 0 and float(net[0].weight.std()) < 0.02
    # d2l writes through .data before the first call: a harmless no-op
    m = nn.LazyLinear(1)
    m.weight.data.normal_(0, 0.01)
    m.bias.data.fill_(0)
    assert m.has_uninitialized_params()


def test_uninitialized_parameter_behaviour():
    p = UninitializedParameter()
    assert isinstance(p, nn.Parameter) and is_lazy(p) and p.requires_grad
    assert p.dtype == fastnn.float32 and str(p.device) == "cpu"
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        p.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p.numel()
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p + 1
    q = UninitializedParameter(requires_grad=False, dtype=fastnn.float64)
    for r in (copy.deepcopy(q), pickle.loads(pickle.dumps(q))):
        assert type(r) is UninitializedParameter and r.dtype == fastnn.float64
        assert not r.requires_grad
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and not is_lazy(p)
    b = UninitializedBuffer(persistent=False)
    assert not b.requires_grad and repr(b) == "<UninitializedBuffer>"
    assert pickle.loads(pickle.dumps(b)).persistent is False
    b.materialize(4)
    assert type(b) is fastnn.Tensor and b.shape == (4,)


def test_dtype_and_conversion_before_first_call():
    m = nn.LazyLinear(3, dtype=fastnn.float64)
    assert m.weight.dtype == fastnn.float64
    m = nn.LazyLinear(3).double()
    assert is_lazy(m.weight) and m.weight.dtype == fastnn.float64
    m(fastnn.randn(2, 4, dtype=fastnn.float64))
    assert m.weight.dtype == fastnn.float64 and m.weight.shape == (3, 4)


def test_state_dict_round_trips():
    m = nn.LazyLinear(3)
    sd = m.state_dict()
    assert [repr(v) for v in sd.values()] == ["<UninitializedParameter>"] * 2
    lazy = nn.LazyLinear(3)
    assert not lazy.load_state_dict(sd).missing_keys
    assert lazy.has_uninitialized_params()
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        nn.Linear(2, 3).load_state_dict(sd)
    ref = nn.Linear(4, 3)
    m.load_state_dict(ref.state_dict())
    assert type(m) is nn.LazyLinear and m.weight.shape == (3, 4)
    assert np.array_equal(m.weight.detach().numpy(), ref.weight.detach().numpy())
    x = fastnn.randn(2, 4)
    assert np.allclose(m(x).detach().numpy(), ref(x).detach().numpy())
    assert repr(m) == "Linear(in_features=4, out_features=3, bias=True)"
    bn = nn.LazyBatchNorm1d()
    bn.load_state_dict(nn.BatchNorm1d(5).state_dict())
    assert bn.running_mean.shape == (5,) and not bn.has_uninitialized_params()


def test_copies_and_pickles_stay_lazy():
    m = nn.LazyConv2d(4, 3)
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert c.has_uninitialized_params()
        c(fastnn.randn(1, 2, 5, 5))
        assert type(c) is nn.Conv2d and c.weight.shape == (4, 2, 3, 3)
    assert type(m) is nn.LazyConv2d and m.has_uninitialized_params()


def test_errors():
    with pytest.raises(IndexError):
        nn.LazyLinear(3)(fastnn.tensor(1.0))
    with pytest.raises(RuntimeError, match="Expected 2D \\(unbatched\\) or 3D"):
        nn.LazyConv1d(4, 3)(fastnn.randn(7))
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.LazyConv2d(3, 3, groups=2)
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(fastnn.randn(1, 3, 5, 5))


@pytest.mark.parametrize("opt,kw", [("SGD", dict(lr=0.1)),
                                    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                    ("Adam", dict(lr=0.01)),
                                    ("RMSprop", dict(lr=0.01))])
def test_optimizer_built_before_first_call(opt, kw):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(8, 5)).astype(np.float32), rng.normal(size=(8, 1)).astype(np.float32)
    net = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.LazyLinear(4), nn.ReLU(), nn.LazyLinear(1))
    params = list(net.parameters())
    o = getattr(fastnn.optim, opt)(net.parameters(), **kw)
    tnet = to = None
    for _ in range(6):
        out = net(fastnn.tensor(x))
        if tnet is None:  # copy the weights once the lazy layers have their shapes
            tnet = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(),
                                       torch.nn.Linear(6, 4), torch.nn.ReLU(),
                                       torch.nn.Linear(4, 1))
            with torch.no_grad():
                for tp, fp in zip(tnet.parameters(), net.parameters()):
                    tp.copy_(torch.tensor(fp.detach().numpy()))
            to = getattr(torch.optim, opt)(tnet.parameters(), **kw)
        loss = ((out - fastnn.tensor(y)) ** 2).mean()
        o.zero_grad()
        loss.backward()
        o.step()
        tloss = ((tnet(torch.tensor(x)) - torch.tensor(y)) ** 2).mean()
        to.zero_grad()
        tloss.backward()
        to.step()
    assert all(a is b for a, b in zip(params, net.parameters()))
    assert all(a is b for a, b in zip(params, o.param_groups[0]["params"]))
    for fp, tp in zip(net.parameters(), tnet.parameters()):
        np.testing.assert_allclose(fp.detach().numpy(), tp.detach().numpy(), rtol=1e-4,
                                   atol=1e-6)


def test_no_warnings_on_construction():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make, _, _ in CASES:
            make(nn)
