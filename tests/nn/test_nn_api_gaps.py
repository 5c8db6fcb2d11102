"""gumbel_softmax, Embedding(scale_grad_by_freq), Module.to_empty, SyncBatchNorm, fusion and
skip_init, import paths (_Reduction, activation.MultiheadAttention, RNN _flat_weights) and
error texts, each checked against PyTorch."""
import warnings

import numpy as np
import pytest
import torch

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F


def _t(a, **kw):
    return fastnn.tensor(np.asarray(a), **kw)


def _raises(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        return type(e), str(e)
    return None, None


def _same_error(fast_fn, torch_fn):
    got, want = _raises(fast_fn), _raises(torch_fn)
    assert want[0] is not None
    assert got == want


# ---- gumbel_softmax -------------------------------------------------------------------------
def test_gumbel_soft_shapes_and_simplex():
    fastnn.manual_seed(0)
    x = fastnn.randn(5, 7)
    y = F.gumbel_softmax(x, tau=0.5)
    assert y.shape == (5, 7)
    assert np.allclose(y.sum(-1).numpy(), 1, atol=1e-6) and (y.numpy() >= 0).all()
    y0 = F.gumbel_softmax(x, dim=0)
    assert np.allclose(y0.sum(0).numpy(), 1, atol=1e-6)


def test_gumbel_hard_is_one_hot_at_soft_argmax():
    x = fastnn.randn(6, 4)
    fastnn.manual_seed(3)
    soft = F.gumbel_softmax(x, tau=0.7)
    fastnn.manual_seed(3)
    hard = F.gumbel_softmax(x, tau=0.7, hard=True)
    h = hard.numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and (h.sum(-1) == 1).all()
    assert (h.argmax(-1) == soft.numpy().argmax(-1)).all()


def test_gumbel_seeded_and_distribution():
    logits = _t([0.0, 1.0, 2.0]).float()
    fastnn.manual_seed(7)
    a = F.gumbel_softmax(logits.expand(4, 3), hard=True)
    fastnn.manual_seed(7)
    b = F.gumbel_softmax(logits.expand(4, 3), hard=True)
    assert np.array_equal(a.numpy(), b.numpy())
    # argmax(logits + Gumbel) is a sample of softmax(logits): compare the frequencies
    n = 20000
    counts = F.gumbel_softmax(logits.expand(n, 3), hard=True).sum(0).numpy() / n
    want = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0).numpy()
    assert np.allclose(counts, want, atol=0.02)


def test_gumbel_straight_through_gradient():
    x = fastnn.randn(3, 5, requires_grad=True)
    w = fastnn.randn(3, 5)
    fastnn.manual_seed(11)
    (F.gumbel_softmax(x, tau=0.3) * w).sum().backward()
    g_soft = x.grad.numpy().copy()
    x.grad = None
    fastnn.manual_seed(11)
    (F.gumbel_softmax(x, tau=0.3, hard=True) * w).sum().backward()
    assert np.allclose(x.grad.numpy(), g_soft, atol=1e-6)
    assert np.abs(g_soft).sum() > 0


def test_gumbel_errors_and_eps_warning():
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect."):
        F.gumbel_softmax(fastnn.ones(3), eps=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.gumbel_softmax(fastnn.ones(3))
    _same_error(lambda: F.gumbel_softmax(fastnn.ones(3, dtype=fastnn.int64)),
                lambda: torch.nn.functional.gumbel_softmax(torch.ones(3, dtype=torch.int64)))
    _same_error(lambda: F.gumbel_softmax(fastnn.ones(3), dim=2),
                lambda: torch.nn.functional.gumbel_softmax(torch.ones(3), dim=2))


# ---- embedding -----------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("max_norm", [None, 1.0])
def test_embedding_scale_grad_by_freq(padding_idx, max_norm):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 3)).astype(np.float32)
    idx = np.array([[0, 2, 2, 5], [5, 5, 1, 2]])
    g = rng.standard_normal((2, 4, 3)).astype(np.float32)
    fw, tw = fastnn.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    fo = F.embedding(fastnn.tensor(idx), fw, padding_idx, max_norm, scale_grad_by_freq=True)
    to = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx, max_norm,
                                       scale_grad_by_freq=True)
    fo.backward(fastnn.tensor(g))
    to.backward(torch.tensor(g))
    assert np.allclose(fo.detach().numpy(), to.detach().numpy(), atol=1e-6)
    assert np.allclose(fw.grad.numpy(), tw.grad.numpy(), atol=1e-6)


def test_embedding_module_scale_grad_by_freq():
    m = nn.Embedding(5, 2, scale_grad_by_freq=True, padding_idx=0)
    tm = torch.nn.Embedding(5, 2, scale_grad_by_freq=True, padding_idx=0)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(m.weight.detach().numpy()))
    idx = [1, 1, 1, 0, 3, 4, 4]
    m(_t(idx)).pow(2).sum().backward()
    tm(torch.tensor(idx)).pow(2).sum().backward()
    assert np.allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), atol=1e-6)
    assert repr(m) == repr(tm)


def test_embedding_sparse_message():
    m = nn.Embedding(4, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=True"):
        m(_t([1, 2]))
    with pytest.raises(NotImplementedError, match="sparse=True"):
        F.embedding(_t([1]), fastnn.ones(3, 2), sparse=True)


# ---- Module.to_empty -----------------------------------------------------------------------
def test_to_empty_keeps_parameters():
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    m[0].bias.requires_grad_(False)
    params = list(m.parameters())
    datas = [p._data for p in params]
    out = m.to_empty(device="cpu")
    assert out is m
    assert list(m.parameters()) == params
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())
    assert [p.requires_grad for p in m.parameters()] == [True, False, True, True]
    assert all(p._data is not d for p, d in zip(m.parameters(), datas))
    assert m[1].num_batches_tracked.dtype == fastnn.int64
    assert m[1].running_mean.shape == (4,)
    assert m[0].weight.dtype == fastnn.float32 and m[0].weight.shape == (4, 3)
    double = nn.Linear(2, 2).double().to_empty(device=fastnn.device("cpu"))
    assert double.weight.dtype == fastnn.float64


def test_to_empty_recurse_false_and_keyword_only():
    m = nn.Sequential(nn.Linear(2, 2))
    d = m[0].weight._data
    m.to_empty(device="cpu", recurse=False)
    assert m[0].weight._data is d
    with pytest.raises(TypeError):
        m.to_empty("cpu")
    with pytest.raises(TypeError):
        m.to_empty()


# ---- SyncBatchNorm -------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 2, 3),
                                   (2, 3, 2, 1, 2, 2)])
def test_sync_batchnorm_matches_batchnorm(shape):
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    fm, tm = nn.SyncBatchNorm(3, momentum=0.2), torch.nn.SyncBatchNorm(3, momentum=0.2)
    for _ in range(2):
        fo, to = fm(fastnn.tensor(x)), tm(torch.tensor(x))
        assert np.allclose(fo.detach().numpy(), to.detach().numpy(), atol=1e-5)
    assert np.allclose(fm.running_var.numpy(), tm.running_var.numpy(), atol=1e-5)
    assert int(fm.num_batches_tracked) == 2
    fm.eval()
    tm.eval()
    assert np.allclose(fm(fastnn.tensor(x)).detach().numpy(),
                       tm(torch.tensor(x)).detach().numpy(), atol=1e-5)


def test_sync_batchnorm_repr_state_and_errors():
    m, t = nn.SyncBatchNorm(3, eps=1e-3, bias=False), torch.nn.SyncBatchNorm(3, eps=1e-3,
                                                                               bias=False)
    assert repr(m) == repr(t)
    assert list(m.state_dict()) == list(t.state_dict())
    assert m.process_group is None
    assert nn.SyncBatchNorm(2, process_group="g").process_group == "g"
    _same_error(lambda: nn.SyncBatchNorm(3)(fastnn.ones(3)),
                lambda: torch.nn.SyncBatchNorm(3)(torch.ones(3)))
    _same_error(lambda: nn.SyncBatchNorm(3)(fastnn.ones(2, 0)),
                lambda: torch.nn.SyncBatchNorm(3)(torch.ones(2, 0)))
    assert isinstance(m, nn.modules.batchnorm._BatchNorm)


def test_convert_sync_batchnorm_tree():
    net = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3, momentum=0.3, affine=False),
                        nn.Sequential(nn.BatchNorm1d(3, track_running_stats=False)).eval())
    old_bn = net[1]
    tnet = torch.nn.Sequential(torch.nn.Conv2d(3, 3, 1),
                               torch.nn.BatchNorm2d(3, momentum=0.3, affine=False),
                               torch.nn.Sequential(torch.nn.BatchNorm1d(
                                   3, track_running_stats=False)).eval())
    out = nn.SyncBatchNorm.convert_sync_batchnorm(net, process_group="pg")
    tout = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tnet)
    assert out is net
    assert repr(out) == repr(tout)
    assert isinstance(out[1], nn.SyncBatchNorm) and out[1].process_group == "pg"
    assert out[1].running_mean is old_bn.running_mean
    assert out[2][0].training is False and out[1].training is True
    assert list(out.state_dict()) == list(tout.state_dict())


def test_convert_sync_batchnorm_root():
    bn = nn.BatchNorm3d(4, bias=False).eval()
    bn.qconfig = "q"
    out = nn.SyncBatchNorm.convert_sync_batchnorm(bn)
    assert out is not bn and isinstance(out, nn.SyncBatchNorm)
    assert out.weight is bn.weight and out.bias is None
    assert out.running_var is bn.running_var and out.num_batches_tracked is \
        bn.num_batches_tracked
    assert out.training is False and out.qconfig == "q"
    assert repr(out) == repr(torch.nn.SyncBatchNorm(4, bias=False))


# ---- fusion and skip_init ------------------------------------------------------------------
def _random_bn(bn, tbn, rng):
    c = bn.num_features
    vals = {"running_mean": rng.standard_normal(c), "running_var": rng.uniform(0.5, 2, c),
            "weight": rng.standard_normal(c), "bias": rng.standard_normal(c)}
    for name, v in vals.items():
        if getattr(bn, name) is None:
            continue
        getattr(bn, name).data.copy_(fastnn.tensor(v.astype(np.float32)))
        getattr(tbn, name).data.copy_(torch.tensor(v.astype(np.float32)))


def _copy_params(src, dst):
    with torch.no_grad():
        for (n, p), (_, q) in zip(src.named_parameters(), dst.named_parameters()):
            q.copy_(torch.tensor(p.detach().numpy()))


@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fuse_conv_bn_eval(transpose, bias):
    rng = np.random.default_rng(2)
    if transpose:
        conv, tconv = nn.ConvTranspose2d(3, 4, 3, bias=bias), \
            torch.nn.ConvTranspose2d(3, 4, 3, bias=bias)
    else:
        conv, tconv = nn.Conv2d(3, 4, 3, bias=bias), torch.nn.Conv2d(3, 4, 3, bias=bias)
    _copy_params(conv, tconv)
    bn, tbn = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    _random_bn(bn, tbn, rng)
    for m in (conv, tconv, bn, tbn):
        m.eval()
    fused = nn.utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transpose=transpose)
    assert fused is not conv and type(fused) is type(conv)
    assert np.allclose(fused.weight.detach().numpy(), tfused.weight.detach().numpy(), atol=1e-5)
    assert np.allclose(fused.bias.detach().numpy(), tfused.bias.detach().numpy(), atol=1e-5)
    assert isinstance(fused.weight, nn.Parameter) and fused.weight.requires_grad
    assert fused.bias.requires_grad == tfused.bias.requires_grad
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    assert np.allclose(fused(fastnn.tensor(x)).detach().numpy(),
                       bn(conv(fastnn.tensor(x))).detach().numpy(), atol=1e-4)
    assert conv.bias is None if not bias else True  # the original is untouched


@pytest.mark.parametrize("bias", [True, False])
def test_fuse_linear_bn_eval(bias):
    rng = np.random.default_rng(3)
    lin, tlin = nn.Linear(3, 4, bias=bias), torch.nn.Linear(3, 4, bias=bias)
    _copy_params(lin, tlin)
    bn, tbn = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    _random_bn(bn, tbn, rng)
    for m in (lin, tlin, bn, tbn):
        m.eval()
    fused = nn.utils.fuse_linear_bn_eval(lin, bn)
    tfused = torch.nn.utils.fuse_linear_bn_eval(tlin, tbn)
    assert np.allclose(fused.weight.detach().numpy(), tfused.weight.detach().numpy(), atol=1e-5)
    assert np.allclose(fused.bias.detach().numpy(), tfused.bias.detach().numpy(), atol=1e-5)
    assert fused.bias.requires_grad == tfused.bias.requires_grad
    w, b = nn.utils.fusion.fuse_linear_bn_weights(
        lin.weight, lin.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    assert np.allclose(w.detach().numpy(), tfused.weight.detach().numpy(), atol=1e-5)


def test_fusion_asserts():
    conv, bn, lin = nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2), nn.Linear(2, 3)
    tconv, tbn, tlin = torch.nn.Conv2d(2, 2, 1), torch.nn.BatchNorm2d(2), torch.nn.Linear(2, 3)
    _same_error(lambda: nn.utils.fuse_conv_bn_eval(conv, bn),
                lambda: torch.nn.utils.fuse_conv_bn_eval(tconv, tbn))
    for m in (conv, bn, lin, tconv, tbn, tlin):
        m.eval()
    _same_error(lambda: nn.utils.fuse_linear_bn_eval(lin, bn),
                lambda: torch.nn.utils.fuse_linear_bn_eval(tlin, tbn))
    nostats, tnostats = nn.BatchNorm2d(2, track_running_stats=False).eval(), \
        torch.nn.BatchNorm2d(2, track_running_stats=False).eval()
    _same_error(lambda: nn.utils.fuse_conv_bn_eval(conv, nostats),
                lambda: torch.nn.utils.fuse_conv_bn_eval(tconv, tnostats))


def test_fuse_weights_signatures_and_exports():
    import inspect
    for name in ("fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
                 "fuse_linear_bn_weights"):
        ours = inspect.signature(getattr(nn.utils.fusion, name))
        theirs = inspect.signature(getattr(torch.nn.utils.fusion, name))
        assert list(ours.parameters) == list(theirs.parameters)
        assert getattr(nn.utils, name) is getattr(nn.utils.fusion, name)
    assert nn.utils.skip_init is nn.utils.init.skip_init


def test_skip_init():
    m = nn.utils.skip_init(nn.Linear, 6, out_features=2, bias=False)
    assert isinstance(m, nn.Linear) and m.weight.shape == (2, 6) and m.bias is None
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    d = nn.utils.skip_init(nn.Linear, 2, 2, dtype=fastnn.float64)
    assert d.weight.dtype == fastnn.float64

    class NoDevice(nn.Module):
        def __init__(self, n):
            super().__init__()

    _same_error(lambda: nn.utils.skip_init(NoDevice, 1),
                lambda: torch.nn.utils.skip_init(type("NoDevice", (torch.nn.Module,), {
                    "__init__": lambda self, n: torch.nn.Module.__init__(self)}), 1))
    with pytest.raises(RuntimeError, match="Expected a Module; got"):
        nn.utils.skip_init(int, 1)


# ---- import paths --------------------------------------------------------------------------
def test_multihead_attention_in_activation():
    from fastnn.nn.modules.activation import MultiheadAttention
    assert MultiheadAttention is nn.MultiheadAttention


def test_reduction_helpers():
    R, TR = F._Reduction, torch.nn.functional._Reduction
    for r in ("none", "mean", "sum"):
        assert R.get_enum(r) == TR.get_enum(r)
    with pytest.warns(UserWarning, match="elementwise_mean"):
        assert R.get_enum("elementwise_mean") == 1
    _same_error(lambda: R.get_enum("foo"), lambda: TR.get_enum("foo"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sa in (None, True, False):
            for rd in (None, True, False):
                assert R.legacy_get_string(sa, rd) == TR.legacy_get_string(sa, rd)
                assert R.legacy_get_enum(sa, rd) == TR.legacy_get_enum(sa, rd)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert R.legacy_get_string(False, True, emit_warning=False) == "sum"
    with pytest.warns(UserWarning, match="reduction='none'"):
        R.legacy_get_string(True, False)


@pytest.mark.parametrize("cls,kw", [("LSTM", dict(num_layers=2, bidirectional=True)),
                                     ("LSTM", dict(proj_size=2, bidirectional=True)),
                                     ("GRU", dict(bias=False)),
                                     ("RNN", dict(num_layers=3, nonlinearity="relu"))])
def test_rnn_flat_weights(cls, kw):
    m, t = getattr(nn, cls)(3, 4, **kw), getattr(torch.nn, cls)(3, 4, **kw)
    assert m._flat_weights_names == t._flat_weights_names
    assert len(m._flat_weights) == len(t._flat_weights)
    for name, p in zip(m._flat_weights_names, m._flat_weights):
        assert p is getattr(m, name) and isinstance(p, nn.Parameter)
    new = nn.Parameter(fastnn.zeros(m.weight_hh_l0.shape))
    m.weight_hh_l0 = new
    assert m._flat_weights[1] is new


# ---- error messages ------------------------------------------------------------------------
@pytest.mark.parametrize("x,t", [((4,), [1, 2, 0, 1]), ((4, 3), "u8"), ((4,), "bool"),
                                 ((2, 3, 4), "long")])
def test_cross_entropy_integer_probability_target(x, t):
    if isinstance(t, str):
        dt = {"u8": np.uint8, "bool": np.bool_, "long": np.int64}[t]
        t = np.ones(x, dt)
    t = np.asarray(t)
    _same_error(lambda: nn.CrossEntropyLoss()(fastnn.ones(*x), fastnn.tensor(t)),
                lambda: torch.nn.CrossEntropyLoss()(torch.ones(*x), torch.tensor(t)))


@pytest.mark.parametrize("make", [
    lambda M: M.Conv2d(1, 1, 1), lambda M: M.Conv2d(1, 1, 1, bias=False),
    lambda M: M.Conv1d(1, 1, 1), lambda M: M.Conv3d(1, 1, 1),
    lambda M: M.ConvTranspose2d(1, 1, 1), lambda M: M.ConvTranspose1d(1, 1, 1, bias=False)])
@pytest.mark.parametrize("dtype", ["float64", "int64", "int32"])
def test_conv_input_dtype_errors(make, dtype):
    fm, tm = make(nn), make(torch.nn)
    nd = {nn.Conv1d: 1, nn.Conv2d: 2, nn.Conv3d: 3, nn.ConvTranspose2d: 2,
          nn.ConvTranspose1d: 1}[type(fm)]
    if dtype == "int32" and "Transpose" in type(fm).__name__:
        pytest.skip("PyTorch reports its missing int32 transposed kernel first")
    shape = (1, 1) + (2,) * nd
    _same_error(lambda: fm(fastnn.ones(*shape, dtype=getattr(fastnn, dtype))),
                lambda: tm(torch.ones(*shape, dtype=getattr(torch, dtype))))


def test_conv_bias_dtype_checked_first():
    _same_error(lambda: F.conv2d(fastnn.ones(1, 1, 2, dtype=fastnn.float64),
                                 fastnn.ones(1, 1, 1, 1), fastnn.ones(1)),
                lambda: torch.nn.functional.conv2d(torch.ones(1, 1, 2, dtype=torch.float64),
                                                   torch.ones(1, 1, 1, 1), torch.ones(1)))


def test_parameter_integer_dtype():
    _same_error(lambda: nn.Parameter(fastnn.ones(2, dtype=fastnn.int64)),
                lambda: torch.nn.Parameter(torch.ones(2, dtype=torch.int64)))
    p = nn.Parameter(fastnn.ones(2, dtype=fastnn.int64), requires_grad=False)
    assert not p.requires_grad


def test_assign_module_as_parameter_message():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError) as e:
        m.weight = nn.Linear(1, 1)
    assert str(e.value) == ("cannot assign 'fastnn.nn.modules.linear.Linear' as parameter "
                            "'weight' (fastnn.nn.Parameter or None expected)")
    tm = torch.nn.Linear(2, 2)
    for fast_v, torch_v in ((5, 5), ([1], [1]), (fastnn.ones(2), torch.ones(2))):
        got = _raises(lambda: setattr(m, "weight", fast_v))
        want = _raises(lambda: setattr(tm, "weight", torch_v))
        assert got[0] is want[0] and got[1] == want[1].replace("torch.nn.Parameter",
                                                               "fastnn.nn.Parameter")
