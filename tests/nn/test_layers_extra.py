"""3-d / Lp pooling, unpooling, shrink activations, RReLU, RMSNorm, LocalResponseNorm, alpha
dropout and channel shuffle: PyTorch parity (values and gradients, float32 and float64),
float64 gradcheck, random-layer statistics, module reprs and state_dicts, error messages."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _data(shape, seed=0, dtype=np.float64, ties=False):
    x = np.random.default_rng(seed).standard_normal(shape)
    return (np.round(x * 2) / 2 if ties else x).astype(dtype)


def _parity(name, x, *args, grad_name=True, **kw):
    """Same outputs (and indices) and input gradients as torch.nn.functional.<name>."""
    tol = TOL[x.dtype.type]
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = getattr(TF, name)(tx, *args, **kw), getattr(F, name)(fx, *args, **kw)
    if isinstance(ty, tuple):
        (ty, ti), (fy, fi) = ty, fy
        assert fi.dtype == fastnn.int64
        np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    assert tuple(fy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), equal_nan=True, **tol)
    g = np.random.default_rng(5).standard_normal(ty.shape).astype(x.dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), equal_nan=True, **tol)
    if grad_name:
        assert fy.grad_fn.name() == type(ty.grad_fn).__name__
    return fy


def _raises_like(fn_fastnn, fn_torch):
    with pytest.raises(Exception) as te:
        fn_torch()
    with pytest.raises(type(te.value)) as fe:
        fn_fastnn()
    assert str(fe.value) == str(te.value)


DTYPES = [np.float32, np.float64]


# ---- 3-d pooling ------------------------------------------------------------------------------
MAX3D = [((2, 3, 6, 5, 7), (2,), {}),
         ((2, 2, 7, 6, 5), (3,), {"stride": 2, "padding": 1, "ceil_mode": True}),
         ((1, 2, 7, 7, 6), ((3, 2, 2),), {"stride": (2, 1, 2), "dilation": (2, 1, 2)}),
         ((2, 5, 6, 7), (2,), {"stride": 1, "padding": 1}),
         ((1, 2, 5, 5, 5), (5,), {})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,args,kw", MAX3D)
def test_max_pool3d_matches_torch(shape, args, kw, dtype):
    for ties in (False, True):
        _parity("max_pool3d", _data(shape, dtype=dtype, ties=ties), *args,
                return_indices=True, **kw)
    _parity("max_pool3d", _data(shape, dtype=dtype), *args, **kw)


AVG3D = [((2, 3, 6, 5, 7), (2,), {}),
         ((2, 2, 7, 6, 5), (3, 2, 1), {"ceil_mode": True}),
         ((2, 2, 7, 6, 5), (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}),
         ((1, 2, 5, 6, 7), ((3, 2, 3), (1, 2, 2), (1, 1, 0)), {"divisor_override": 5}),
         ((3, 5, 6, 7), (2,), {"padding": 1, "count_include_pad": False})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,args,kw", AVG3D)
def test_avg_pool3d_matches_torch(shape, args, kw, dtype):
    _parity("avg_pool3d", _data(shape, dtype=dtype), *args, **kw)


def test_pool3d_errors_match_torch():
    x5 = np.random.default_rng(0).standard_normal((2, 3, 4, 5, 6)).astype(np.float32)
    tx, fx = torch.tensor(x5), fastnn.tensor(x5)
    cases = [("max_pool3d", (2,), {"stride": 0}), ("max_pool3d", ((2, 2),), {}),
             ("max_pool3d", (2,), {"padding": 2}), ("max_pool3d", (2,), {"dilation": 0}),
             ("max_pool3d", (7,), {}), ("max_pool3d", (-1,), {}),
             ("avg_pool3d", ((2, 2),), {}), ("avg_pool3d", (7,), {}),
             ("avg_pool3d", (2,), {"divisor_override": 0}), ("avg_pool3d", (2,), {"padding": 2})]
    for name, args, kw in cases:
        _raises_like(lambda: getattr(F, name)(fx, *args, **kw),
                     lambda: getattr(TF, name)(tx, *args, **kw))
    for name in ("max_pool3d", "avg_pool3d"):
        _raises_like(lambda: getattr(F, name)(fastnn.zeros(3, 4, 5), 2),
                     lambda: getattr(TF, name)(torch.zeros(3, 4, 5), 2))
        _raises_like(lambda: getattr(F, name)(fastnn.zeros(2, 0, 4, 5, 6), 2),
                     lambda: getattr(TF, name)(torch.zeros(2, 0, 4, 5, 6), 2))


def test_pool3d_gradcheck():
    x = fastnn.tensor(_data((1, 2, 5, 4, 5)), requires_grad=True)
    assert gradcheck(lambda t: F.max_pool3d(t, 2, 1, 1, ceil_mode=True), (x,))
    assert gradcheck(lambda t: F.avg_pool3d(t, (3, 2, 2), 2, 1, True, False), (x,))
    assert gradcheck(lambda t: F.avg_pool3d(t, 2, divisor_override=3), (x,))


# ---- Lp pooling -------------------------------------------------------------------------------
LP = [("lp_pool1d", (2, 3, 9), (2.0, 3), {}), ("lp_pool1d", (3, 10), (1.5, 2), {"stride": 3}),
      ("lp_pool1d", (2, 3, 9), (2, 2), {"ceil_mode": True}),
      ("lp_pool2d", (2, 3, 8, 7), (2.0, (2, 3)), {}),
      ("lp_pool2d", (2, 3, 9, 8), (3.0, 2), {"stride": (2, 1), "ceil_mode": True}),
      ("lp_pool2d", (3, 6, 6), (1.0, 3), {}),
      ("lp_pool3d", (1, 2, 4, 6, 5), (2.0, 2), {})]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,shape,args,kw", LP)
def test_lp_pool_matches_torch(name, shape, args, kw, dtype):
    # non-negative input: a negative power sum has no real root (NaN in both libraries)
    _parity(name, np.abs(_data(shape, dtype=dtype)), *args, **kw)


def test_lp_pool_gradcheck():
    # positive input keeps the p-th root away from 0, where its slope is infinite
    x = fastnn.tensor(np.abs(_data((2, 2, 6, 5))) + 0.5, requires_grad=True)
    assert gradcheck(lambda t: F.lp_pool2d(t, 3.0, (2, 3), 2, True), (x,))
    assert gradcheck(lambda t: F.lp_pool1d(t.reshape(2, 2, 30), 2.0, 4), (x,))
    assert gradcheck(lambda t: F.lp_pool3d(t.reshape(1, 2, 2, 6, 5), 2.0, 2), (x,))


def test_lp_pool_kernel_arity():
    _raises_like(lambda: F.lp_pool2d(fastnn.zeros(1, 2, 4, 4), 2, (2, 2, 2)),
                 lambda: TF.lp_pool2d(torch.zeros(1, 2, 4, 4), 2, (2, 2, 2)))


# ---- max unpooling ----------------------------------------------------------------------------
UNPOOL = [(1, (2, 3, 10), (2,), {}, None),
          (1, (3, 11), (3, 2, 1), {}, (11,)),
          (2, (2, 3, 6, 7), (2,), {}, (6, 7)),
          (2, (2, 3, 7, 7), (3, 2, 1), {}, None),
          (2, (3, 9, 8), ((3, 2), (2, 2), (1, 0)), {}, (2, 3, 9, 8)),
          (3, (1, 2, 4, 6, 5), (2,), {}, (4, 6, 5))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd,shape,args,kw,out", UNPOOL)
def test_max_unpool_matches_torch(nd, shape, args, kw, out, dtype):
    x = _data(shape, dtype=dtype)
    ty, ti = getattr(TF, f"max_pool{nd}d")(torch.tensor(x), *args, return_indices=True)
    fy, fi = getattr(F, f"max_pool{nd}d")(fastnn.tensor(x), *args, return_indices=True)
    np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    k, s, p = (args + (None, 0))[:3] if len(args) < 3 else args
    y = ty.detach().numpy()
    tx, fx = torch.tensor(y, requires_grad=True), fastnn.tensor(y, requires_grad=True)
    tu = getattr(TF, f"max_unpool{nd}d")(tx, ti, k, s, p, output_size=out)
    fu = getattr(F, f"max_unpool{nd}d")(fx, fi, k, s, p, output_size=out)
    assert tuple(fu.shape) == tuple(tu.shape)
    np.testing.assert_array_equal(fu.detach().numpy(), tu.detach().numpy())
    g = _data(tuple(tu.shape), 3, dtype)
    tu.backward(torch.tensor(g))
    fu.backward(fastnn.tensor(g))
    np.testing.assert_array_equal(fx.grad.numpy(), tx.grad.numpy())
    if nd > 1:
        assert fu.grad_fn.name() == type(tu.grad_fn).__name__
    # the module form
    tm = getattr(torch.nn, f"MaxUnpool{nd}d")(k, s, p)
    fm = getattr(nn, f"MaxUnpool{nd}d")(k, s, p)
    assert repr(fm) == repr(tm)
    np.testing.assert_array_equal(fm(fx, fi, out).detach().numpy(), tu.detach().numpy())


def test_max_unpool_gradcheck():
    x = fastnn.tensor(_data((2, 3, 6, 5)), requires_grad=True)
    y, i = F.max_pool2d(x.detach(), 2, return_indices=True)
    y = y.detach().requires_grad_()
    assert gradcheck(lambda t: F.max_unpool2d(t, i, 2, output_size=(6, 5)), (y,))


def test_max_unpool_errors_match_torch():
    x = _data((1, 2, 4, 4), dtype=np.float32)
    ty, ti = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    fy, fi = F.max_pool2d(fastnn.tensor(x), 2, return_indices=True)
    bad = {}
    for key, at, v in (("big", (0, 1, 0, 1), 100), ("neg", (0, 0, 1, 0), -1)):
        arr = ti.numpy().copy()
        arr[at] = v
        bad[key] = (fastnn.tensor(arr), torch.tensor(arr))
    cases = [lambda L, y, i, j: L.max_unpool2d(y, i, 2, output_size=(6, 6)),
             lambda L, y, i, j: L.max_unpool2d(y, i, 2, output_size=(1, 2, 3)),
             lambda L, y, i, j: L.max_unpool2d(y, j["big"], 2),
             lambda L, y, i, j: L.max_unpool2d(y, j["neg"], 2),
             lambda L, y, i, j: L.max_unpool2d(y, i.float(), 2),
             lambda L, y, i, j: L.max_unpool2d(y, i[:, :, :1], 2),
             lambda L, y, i, j: L.max_unpool2d(y[0, 0], i[0, 0], 2)]
    fbad = {k: v[0] for k, v in bad.items()}
    tbad = {k: v[1] for k, v in bad.items()}
    for case in cases:
        _raises_like(lambda: case(F, fy, fi, fbad), lambda: case(TF, ty, ti, tbad))
    idx = np.array([[[1, 20, 5]]])
    _raises_like(lambda: F.max_unpool1d(fastnn.zeros(1, 1, 3), fastnn.tensor(idx), 2),
                 lambda: TF.max_unpool1d(torch.zeros(1, 1, 3), torch.tensor(idx), 2))


# ---- activations ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args", [("hardshrink", ()), ("hardshrink", (1.0,)),
                                       ("softshrink", ()), ("softshrink", (0.2,)),
                                       ("tanhshrink", ()), ("rrelu", ()),
                                       ("rrelu", (0.2, 0.4))])
def test_activation_matches_torch(name, args, dtype):
    x = _data((4, 5, 3), dtype=dtype, ties=True)  # ties put values on the +-0.5 and 1 edges
    _parity(name, x, *args)


def test_activation_gradcheck():
    x = fastnn.tensor(_data((3, 7)) * 2, requires_grad=True)
    for fn in (F.hardshrink, lambda t: F.softshrink(t, 0.3), F.tanhshrink,
               lambda t: F.rrelu(t, 0.1, 0.3)):
        assert gradcheck(fn, (x,))

    def drawn(t):
        fastnn.manual_seed(0)  # the same slopes at every evaluation
        return F.rrelu(t, 0.1, 0.6, training=True)
    assert gradcheck(drawn, (x,))


def test_rrelu_training_draws_slopes_in_range():
    x = -fastnn.ones(200, 100, dtype=fastnn.float64) - fastnn.rand(200, 100,
                                                                  dtype=fastnn.float64)
    x.requires_grad_()
    fastnn.manual_seed(0)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slope = (y / x).detach().numpy()
    assert slope.min() >= 0.1 and slope.max() <= 0.3
    assert abs(slope.mean() - 0.2) < 2e-3          # U(0.1, 0.3): mean 0.2, sd 0.058 / sqrt(2e4)
    assert abs(slope.var() - 0.2 ** 2 / 12) < 2e-4
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slope, rtol=1e-12)
    pos = fastnn.rand(50) + 0.1
    assert F.rrelu(pos, training=True).equal(pos)
    # the same seed gives the same slopes; eval uses the mean slope
    fastnn.manual_seed(0)
    again = F.rrelu(x.detach(), 0.1, 0.3, training=True)
    np.testing.assert_array_equal(again.numpy(), y.detach().numpy())
    np.testing.assert_allclose(F.rrelu(x.detach(), 0.1, 0.3).numpy(), x.detach().numpy() * 0.2)


def test_rrelu_module_and_inplace():
    m = nn.RReLU(0.1, 0.3)
    x = -fastnn.ones(1000, dtype=fastnn.float64)
    s = -m(x).numpy()
    assert len(np.unique(s)) > 900 and s.min() >= 0.1 and s.max() <= 0.3
    m.eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2)
    y = x.clone()
    out = F.rrelu_(y, 0.1, 0.3, training=True)
    assert out is y and (y.numpy() < -0.099).all() and (y.numpy() > -0.301).all()
    r = nn.RReLU(inplace=True).eval()
    z = -fastnn.ones(3)
    assert r(z) is z
    np.testing.assert_allclose(z.numpy(), -(1 / 8 + 1 / 3) / 2, rtol=1e-6)


def test_activation_errors_match_torch():
    for dt in ("float32", "float64"):
        _raises_like(lambda: F.softshrink(fastnn.zeros(3, dtype=getattr(fastnn, dt)), -1),
                     lambda: TF.softshrink(torch.zeros(3, dtype=getattr(torch, dt)), -1))
    _raises_like(lambda: F.rrelu(fastnn.zeros(3), 0.5, 0.2, training=True),
                 lambda: TF.rrelu(torch.zeros(3), 0.5, 0.2, training=True))
    _raises_like(lambda: F.rrelu(fastnn.zeros(3, dtype=fastnn.int64), training=True),
                 lambda: TF.rrelu(torch.zeros(3, dtype=torch.int64), training=True))
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        nn.Softmax2d()(fastnn.zeros(2, 3))


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 4, 5)])
def test_softmax2d_matches_torch(shape):
    x = _data(shape)
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    ty, fy = torch.nn.Softmax2d()(tx), nn.Softmax2d()(fx)
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    (ty * ty).sum().backward()
    (fy * fy).sum().backward()
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)


# ---- normalization ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,norm,eps,weighted", [((4, 5), [5], None, True),
                                                     ((2, 3, 4), (3, 4), 1e-3, True),
                                                     ((2, 3, 4), [4], None, False),
                                                     ((6,), [6], 0.5, False)])
def test_rms_norm_matches_torch(shape, norm, eps, weighted, dtype):
    x = _data(shape, dtype=dtype)
    nshape = (norm,) if isinstance(norm, int) else tuple(norm)
    w = _data(nshape, 1, dtype) if weighted else None
    tx, fx = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    tw = torch.tensor(w, requires_grad=True) if weighted else None
    fw = fastnn.tensor(w, requires_grad=True) if weighted else None
    ty, fy = TF.rms_norm(tx, norm, tw, eps), F.rms_norm(fx, norm, fw, eps)
    tol = TOL[dtype]
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), **tol)
    g = _data(shape, 2, dtype)
    ty.backward(torch.tensor(g))
    fy.backward(fastnn.tensor(g))
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), **tol)
    if weighted:
        np.testing.assert_allclose(fw.grad.numpy(), tw.grad.numpy(), **tol)


def test_rms_norm_module_state_dict_and_repr():
    tm = torch.nn.RMSNorm([3, 4], eps=1e-5)
    with torch.no_grad():
        tm.weight.copy_(torch.randn(3, 4))
    fm = nn.RMSNorm([3, 4], eps=1e-5)
    assert repr(fm) == repr(tm) and list(fm.state_dict()) == list(tm.state_dict()) == ["weight"]
    fm.load_state_dict({k: fastnn.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    x = _data((2, 3, 4), dtype=np.float32)
    np.testing.assert_allclose(fm(fastnn.tensor(x)).detach().numpy(),
                               tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    for args in ((4,), ((2, 3), None, False)):
        assert repr(nn.RMSNorm(*args)) == repr(torch.nn.RMSNorm(*args))
    assert nn.RMSNorm(4, elementwise_affine=False).weight is None
    fm.weight.data.fill_(3.0)
    fm.reset_parameters()
    assert (fm.weight.detach().numpy() == 1).all()


def test_rms_norm_errors_and_gradcheck():
    _raises_like(lambda: F.rms_norm(fastnn.zeros(2, 3), [2, 4]),
                 lambda: TF.rms_norm(torch.zeros(2, 3), [2, 4]))
    _raises_like(lambda: F.rms_norm(fastnn.zeros(2, 3), [2, 3], fastnn.ones(3)),
                 lambda: TF.rms_norm(torch.zeros(2, 3), [2, 3], torch.ones(3)))
    x = fastnn.tensor(_data((3, 4)), requires_grad=True)
    w = fastnn.tensor(_data((4,), 1), requires_grad=True)
    assert gradcheck(lambda a, b: F.rms_norm(a, [4], b), (x, w))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,args", [((2, 7, 5), (3,)), ((2, 6, 4, 5), (2, 0.1, 0.6, 2.0)),
                                        ((1, 5, 3, 2, 4), (4, 1e-2))])
def test_local_response_norm_matches_torch(shape, args, dtype):
    _parity("local_response_norm", _data(shape, dtype=dtype), *args, grad_name=False)
    tm, fm = torch.nn.LocalResponseNorm(*args), nn.LocalResponseNorm(*args)
    assert repr(fm) == repr(tm)


def test_local_response_norm_gradcheck_and_errors():
    x = fastnn.tensor(_data((2, 5, 3, 2)), requires_grad=True)
    assert gradcheck(lambda t: F.local_response_norm(t, 3, 0.5, 0.75, 1.0), (x,))
    with pytest.raises(ValueError, match=r"Expected 3D or higher dimensionality input \(got 2"):
        F.local_response_norm(fastnn.zeros(2, 3), 2)
    empty = fastnn.zeros(0, 3, 4)
    assert F.local_response_norm(empty, 2) is empty


# ---- alpha dropout and channel shuffle --------------------------------------------------------
def test_alpha_dropout_keeps_mean_and_variance():
    fastnn.manual_seed(1)
    x = fastnn.randn(400, 500, dtype=fastnn.float64)
    for p in (0.2, 0.5):
        y = F.alpha_dropout(x, p, training=True).numpy()
        assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01
        # two values only for the dropped entries, whose share is p
        a = ((1 - p) * (1 + p * 1.7580993408473766 ** 2)) ** -0.5
        dropped = np.isclose(y, a * 1.7580993408473766 * (p - 1))
        assert abs(dropped.mean() - p) < 0.01
        kept = ~dropped
        np.testing.assert_allclose(y[kept], a * x.numpy()[kept] + a * 1.7580993408473766 * p)
    assert F.alpha_dropout(x, 0.5) is x and F.alpha_dropout(x, 0.0, True) is x
    assert (F.alpha_dropout(x, 1.0, True).numpy() == 0).all()
    m = nn.AlphaDropout(0.3)
    assert repr(m) == repr(torch.nn.AlphaDropout(0.3))
    assert not np.array_equal(m(x).numpy(), x.numpy())
    assert m.eval()(x) is x


def test_feature_alpha_dropout_drops_whole_channels():
    fastnn.manual_seed(2)
    x = fastnn.randn(64, 32, 5, 6, dtype=fastnn.float64, requires_grad=True)
    y = F.feature_alpha_dropout(x, 0.4, training=True)
    yn = y.detach().numpy()
    a = (0.6 * (1 + 0.4 * 1.7580993408473766 ** 2)) ** -0.5
    const = np.isclose(yn, a * 1.7580993408473766 * (0.4 - 1)).all(axis=(2, 3))
    assert abs(const.mean() - 0.4) < 0.03
    y.sum().backward()
    # the gradient is a on kept channels, 0 on dropped ones
    gmax = x.grad.numpy().max(axis=(2, 3))
    np.testing.assert_allclose(gmax, np.where(const, 0, a))
    _raises_like(lambda: F.feature_alpha_dropout(fastnn.ones(5), 0.5, True),
                 lambda: TF.feature_alpha_dropout(torch.ones(5), 0.5, True))
    _raises_like(lambda: F.alpha_dropout(fastnn.ones(5), 1.5, True),
                 lambda: TF.alpha_dropout(torch.ones(5), 1.5, True))
    assert repr(nn.FeatureAlphaDropout(0.2, True)) == repr(torch.nn.FeatureAlphaDropout(0.2, True))


def test_alpha_dropout_gradcheck_with_fixed_draw():
    x = fastnn.tensor(_data((4, 6)), requires_grad=True)

    def fn(t):
        fastnn.manual_seed(3)  # the same mask at every evaluation
        return F.alpha_dropout(t, 0.3, training=True)
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((2, 8, 3, 4), 2), ((1, 4, 2, 2, 3), 4),
                                          ((3, 6, 2), 1)])
def test_channel_shuffle_matches_torch(shape, groups):
    x = _data(shape)
    fy = _parity("channel_shuffle", x, groups, grad_name=False)
    ref = torch.nn.ChannelShuffle(groups)(torch.tensor(x))
    m = nn.ChannelShuffle(groups)
    assert repr(m) == repr(torch.nn.ChannelShuffle(groups))
    np.testing.assert_array_equal(m(fastnn.tensor(x)).numpy(), ref.numpy())
    np.testing.assert_array_equal(fy.detach().numpy(), ref.numpy())
    assert gradcheck(lambda t: F.channel_shuffle(t, groups),
                     (fastnn.tensor(x, requires_grad=True),))


def test_channel_shuffle_errors_match_torch():
    for shape, g in (((2, 5, 3), 2), ((2, 5, 3), 0), ((2, 5, 3), -1), ((5,), 5), ((6, 5), 3)):
        _raises_like(lambda: F.channel_shuffle(fastnn.zeros(*shape), g),
                     lambda: TF.channel_shuffle(torch.zeros(*shape), g))


# ---- module reprs and forwards ----------------------------------------------------------------
REPRS = ["MaxPool3d(2)", "MaxPool3d(3, 2, 1, 2, True, True)", "AvgPool3d(2)",
         "AvgPool3d((2, 3, 2), 1, 1, True, False, 4)", "LPPool1d(2, 3)", "LPPool2d(1.5, 3, 2)",
         "LPPool3d(2, 2)", "MaxUnpool1d(2)", "MaxUnpool2d(2, 1, 1)", "MaxUnpool3d(2)",
         "Hardshrink()", "Hardshrink(0.3)", "Softshrink()", "Softshrink(1.5)", "Tanhshrink()",
         "RReLU()", "RReLU(0.1, 0.3, True)", "Softmax2d()", "LocalResponseNorm(2)",
         "AlphaDropout()", "ChannelShuffle(2)"]


@pytest.mark.parametrize("spec", REPRS)
def test_module_repr_matches_torch(spec):
    assert repr(eval("nn." + spec)) == repr(eval("torch.nn." + spec))


@pytest.mark.parametrize("spec,shape", [("MaxPool3d(2, return_indices=True)", (2, 3, 4, 6, 5)),
                                        ("AvgPool3d(3, 2, 1, True, False)", (2, 3, 5, 6, 5)),
                                        ("LPPool1d(2, 3)", (2, 3, 9)),
                                        ("LPPool2d(3, (2, 2))", (2, 3, 6, 4)),
                                        ("LPPool3d(2, 2)", (1, 2, 4, 4, 4)),
                                        ("Hardshrink(0.3)", (3, 4)), ("Softshrink()", (3, 4)),
                                        ("Tanhshrink()", (3, 4)), ("RReLU().eval()", (3, 4))])
def test_module_forward_matches_torch(spec, shape):
    x = _data(shape, dtype=np.float32)
    x = np.abs(x) if spec.startswith("LP") else x
    ty, fy = eval("torch.nn." + spec)(torch.tensor(x)), eval("nn." + spec)(fastnn.tensor(x))
    if isinstance(ty, tuple):
        np.testing.assert_array_equal(fy[1].numpy(), ty[1].numpy())
        ty, fy = ty[0], fy[0]
    np.testing.assert_allclose(fy.numpy(), ty.numpy(), rtol=2e-5, atol=2e-6, equal_nan=True)
