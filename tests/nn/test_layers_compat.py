"""nn.modules.batchnorm/utils, BatchNorm checkpoints without num_batches_tracked, N-D
Bilinear, padding and distance layers, and the dtype of elementwise losses."""
from collections import OrderedDict

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck


def _t(a, grad=True):
    return fastnn.tensor(np.asarray(a, np.float64), requires_grad=grad)


# ---- nn.modules.batchnorm and nn.modules.utils ---------------------------------------------
def test_modules_batchnorm_base_classes():
    from fastnn.nn.modules import batchnorm
    for cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
        m = cls(3)
        assert isinstance(m, nn.modules.batchnorm._BatchNorm)
        assert isinstance(m, batchnorm._NormBase)
        assert getattr(batchnorm, cls.__name__) is cls
    assert not isinstance(nn.LayerNorm(3), batchnorm._BatchNorm)


def test_modules_utils_ntuples():
    from fastnn.nn.modules.utils import (_single, _pair, _triple, _quadruple,
                                         _reverse_repeat_tuple,
                                         consume_prefix_in_state_dict_if_present)
    assert _single(2) == (2,) and _pair(3) == (3, 3) and _triple(1) == (1, 1, 1)
    assert _quadruple(0) == (0, 0, 0, 0) and _pair((1, 2)) == (1, 2) and _pair([4, 5]) == (4, 5)
    assert _reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1)
    sd = OrderedDict([("module.w", 1), ("b", 2)])
    consume_prefix_in_state_dict_if_present(sd, "module.")
    assert sd == {"w": 1, "b": 2}
    assert not hasattr(nn, "_pair") and not hasattr(nn, "consume_prefix_in_state_dict_if_present")


# ---- BatchNorm checkpoints without num_batches_tracked ------------------------------------
def _without_counter(sd, key="num_batches_tracked"):
    return {k: v for k, v in sd.items() if not k.endswith(key)}


def test_batchnorm_loads_plain_dict_without_num_batches_tracked():
    m = nn.BatchNorm2d(3)
    with fastnn.no_grad():
        m.num_batches_tracked.fill_(7)
    src = nn.BatchNorm2d(3)
    with fastnn.no_grad():
        src.running_mean.fill_(0.5)
    result = m.load_state_dict(_without_counter(src.state_dict()))  # no metadata: version None
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert m.num_batches_tracked.item() == 7  # left as it was, as in PyTorch
    np.testing.assert_array_equal(m.running_mean.numpy(), [0.5] * 3)


def test_batchnorm_old_version_metadata_fills_counter_nested():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3))
    sd = net.state_dict()
    del sd["1.num_batches_tracked"]
    sd._metadata["1"] = {"version": 1}
    assert net.load_state_dict(sd).missing_keys == []


def test_batchnorm_current_version_still_reports_missing_counter():
    m = nn.BatchNorm1d(4)
    sd = m.state_dict()
    assert sd._metadata[""]["version"] == 2
    del sd["num_batches_tracked"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: '
                                           '"num_batches_tracked"'):
        m.load_state_dict(sd)
    assert m.load_state_dict(sd, strict=False).missing_keys == ["num_batches_tracked"]


def test_batchnorm_loads_torch_state_dict_without_counter():
    torch = pytest.importorskip("torch")
    tsd = torch.nn.BatchNorm1d(4).state_dict()
    plain = {k: fastnn.tensor(v.numpy()) for k, v in tsd.items()
             if k != "num_batches_tracked"}
    m = nn.BatchNorm1d(4)
    assert m.load_state_dict(plain).missing_keys == []
    torch.nn.BatchNorm1d(4).load_state_dict({k: torch.tensor(v.numpy())
                                             for k, v in plain.items()})  # same rule there


def test_batchnorm_without_running_stats_does_not_invent_counter():
    m = nn.BatchNorm1d(4, track_running_stats=False)
    assert m.load_state_dict({"weight": fastnn.ones(4), "bias": fastnn.zeros(4)}).missing_keys \
        == []
    assert m.num_batches_tracked is None


# ---- Bilinear over any leading dims -------------------------------------------------------
@pytest.mark.parametrize("lead", [(), (7,), (2, 6), (0,)])
def test_bilinear_nd_matches_torch(lead):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(lead + (3,)), rng.standard_normal(lead + (4,)),
              rng.standard_normal((5, 3, 4)), rng.standard_normal(5)]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    ft = [_t(a) for a in arrays]
    ty, fy = torch.nn.functional.bilinear(*tt), F.bilinear(*ft)
    assert tuple(fy.shape) == lead + (5,)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    g = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    for a, b in zip(ft, tt):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_bilinear_gradcheck_and_module():
    rng = np.random.default_rng(1)
    args = tuple(_t(rng.standard_normal(s)) for s in ((2, 2, 3), (2, 2, 4), (5, 3, 4), (5,)))
    assert gradcheck(F.bilinear, args)
    assert gradcheck(F.bilinear, args[:3])
    m = nn.Bilinear(3, 4, 5)
    assert m(fastnn.randn(2, 6, 3), fastnn.randn(2, 6, 4)).shape == (2, 6, 5)
    assert m(fastnn.randn(3), fastnn.randn(4)).shape == (5,)


def test_bilinear_errors():
    w, b = fastnn.randn(5, 3, 4), fastnn.randn(5)
    with pytest.raises(RuntimeError, match="batch dimensions do not match at dim 0: got 2 "
                                           "and 3"):
        F.bilinear(fastnn.randn(2, 3), fastnn.randn(3, 4), w, b)
    with pytest.raises(RuntimeError, match="input2 size does not match weight size: got 5 but "
                                           "expected 4"):
        F.bilinear(fastnn.randn(2, 3), fastnn.randn(2, 5), w, b)
    with pytest.raises(RuntimeError, match="input dimensions do not match: got 2 and 1"):
        F.bilinear(fastnn.randn(2, 3), fastnn.randn(4), w, b)
    with pytest.raises(RuntimeError, match="bias size does not match weight size: got 4 but "
                                           "expected 5"):
        F.bilinear(fastnn.randn(2, 3), fastnn.randn(2, 4), w, fastnn.randn(4))


# ---- padding and distance layers ----------------------------------------------------------
PADS = [("ZeroPad2d", (1,)), ("ZeroPad2d", ((1, 2, 0, 3),)), ("ConstantPad1d", ((1, 2), 3.5)),
        ("ConstantPad2d", (2, -1.0)), ("ConstantPad3d", (1, 0.5)), ("ReflectionPad1d", (2,)),
        ("ReflectionPad2d", ((1, 0, 2, 1),)), ("ReplicationPad2d", (1,)),
        ("ReplicationPad1d", ((0, 2),)), ("CircularPad2d", (1,))]


@pytest.mark.parametrize("name,args", PADS)
def test_padding_layers_match_torch(name, args):
    torch = pytest.importorskip("torch")
    nd = int(name[-2])
    x = np.random.default_rng(2).standard_normal((2, 3) + (4,) * nd)
    tm, fm = getattr(torch.nn, name)(*args), getattr(nn, name)(*args)
    assert repr(fm) == repr(tm)
    tx, fx = torch.tensor(x, requires_grad=True), _t(x)
    ty, fy = tm(tx), fm(fx)
    np.testing.assert_array_equal(fy.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(3).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("s1,s2,kw", [((4, 5), (4, 5), {}), ((3, 5), (1, 5), {"dim": 1}),
                                      ((2, 3, 4), (2, 3, 4), {"dim": -1, "eps": 1e-3})])
def test_cosine_similarity_matches_torch(s1, s2, kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal(s1), rng.standard_normal(s2)
    a[0] = 0.0  # a zero row: the norm clamped at eps
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    fa, fb = _t(a), _t(b)
    ty = torch.nn.functional.cosine_similarity(ta, tb, **kw)
    fy = nn.CosineSimilarity(**kw)(fa, fb)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12,
                               atol=1e-14)
    ty.sum().backward()
    fy.sum().backward()
    np.testing.assert_allclose(fa.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fb.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cosine_similarity_gradcheck_and_dtype():
    rng = np.random.default_rng(5)
    assert gradcheck(lambda a, b: F.cosine_similarity(a, b, dim=0),
                     (_t(rng.standard_normal((4, 3))), _t(rng.standard_normal((4, 3)))))
    assert F.cosine_similarity(fastnn.tensor([1, 0]), fastnn.tensor([1.0, 0.0]), 0).item() == 1.0
    with pytest.raises(RuntimeError, match="common dtype to be floating point"):
        F.cosine_similarity(fastnn.tensor([1, 2]), fastnn.tensor([3, 4]), 0)


def test_pairwise_distance_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    for p, keepdim in ((2.0, False), (1.0, True), (3.0, False)):
        ta, fa = torch.tensor(a, requires_grad=True), _t(a)
        ty = torch.nn.PairwiseDistance(p, keepdim=keepdim)(ta, torch.tensor(b))
        fy = nn.PairwiseDistance(p, keepdim=keepdim)(fa, _t(b, False))
        np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
        ty.sum().backward()
        fy.sum().backward()
        np.testing.assert_allclose(fa.grad.numpy(), ta.grad.numpy(), rtol=1e-10)


# ---- elementwise losses keep the input's floating dtype -----------------------------------
@pytest.mark.parametrize("fn", [F.mse_loss, F.smooth_l1_loss, F.huber_loss, F.l1_loss])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_loss_integer_target_keeps_float32(fn, reduction):
    x = fastnn.tensor([1.0, 1.0, 1.0], requires_grad=True)
    loss = fn(x, fastnn.tensor([1, 2, 3]), reduction=reduction)
    assert loss.dtype == fastnn.float32
    loss.sum().backward()
    assert x.grad.dtype == fastnn.float32


def test_elementwise_loss_dtypes_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [("float32", "int64"), ("float32", "float64"), ("float64", "float32"),
             ("float16", "int64"), ("int64", "float32")]
    for name in ("mse_loss", "smooth_l1_loss", "huber_loss"):
        for da, db in pairs:
            if name == "huber_loss" and da == "int64":
                continue  # an error in PyTorch: its result would be an integer tensor
            ta, tb = torch.ones(3, dtype=getattr(torch, da)), torch.arange(3).to(getattr(torch,
                                                                                         db))
            fa = fastnn.ones(3, dtype=getattr(fastnn, da))
            fb = fastnn.arange(3).to(getattr(fastnn, db))
            ty = getattr(torch.nn.functional, name)(ta, tb)
            fy = getattr(F, name)(fa, fb)
            assert str(fy.dtype).split(".")[1] == str(ty.dtype).split(".")[1], (name, da, db)
            np.testing.assert_allclose(fy.numpy().astype(np.float64),
                                       ty.numpy().astype(np.float64), rtol=1e-3)
