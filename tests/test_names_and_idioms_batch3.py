"""Older PyTorch idioms that must run (x.new, fastnn.range, layouts, ...), padding modules
with short tuples, the autograd node names printed results show, the classes' public module
names, and warnings that point at the user's line."""
import copy
import pickle
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F


def _rg(*shape):
    return fastnn.rand(*shape, requires_grad=True)


def _caught(fn):
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        fn()
    return ws


# ---- 1. idioms that used to raise AttributeError ---------------------------------------------
def test_bernoulli_method_forms():
    fastnn.manual_seed(0)
    x = fastnn.full((200,), 0.5)
    draws = x.bernoulli()
    assert draws.shape == x.shape and draws.dtype == x.dtype
    assert set(np.unique(draws.numpy())) <= {0.0, 1.0}
    assert set(np.unique(x.bernoulli(p=0.0).numpy())) == {0.0}
    assert set(np.unique(x.bernoulli(1.0).numpy())) == {1.0}
    y = fastnn.zeros(10)
    assert y.bernoulli_(1.0) is y and bool((y == 1).all())
    with pytest.raises(RuntimeError):
        x.bernoulli(p=1.5)


def test_legacy_new():
    x = fastnn.rand(3, dtype=fastnn.float64)
    a = x.new(2, 3)
    assert a.shape == (2, 3) and a.dtype == fastnn.float64
    b = x.new([1, 2])
    assert b.dtype == fastnn.float64 and b.tolist() == [1.0, 2.0]
    c = x.new()
    assert c.shape == (0,) and c.dtype == fastnn.float64
    assert x.new(fastnn.Size([4])).shape == (4,)
    assert fastnn.tensor([1, 2]).new([3]).dtype == fastnn.int64
    assert type(nn.Parameter(x).new(2)) is fastnn.Tensor
    with pytest.raises(TypeError, match="data must be a sequence"):
        x.new(2.5)


def test_char_and_unsafe_split():
    x = fastnn.tensor([1.7, -2.2, 3.0])
    assert x.char().dtype == fastnn.int8 and x.char().tolist() == [1, -2, 3]
    t = _rg(5, 2)
    pieces = t.unsafe_chunk(2)
    assert [tuple(p.shape) for p in pieces] == [(3, 2), (2, 2)]
    assert all(type(p.grad_fn).__name__ == "UnsafeSplitBackward0" for p in pieces)
    split = fastnn.unsafe_split(t, 2, 0)
    assert [tuple(p.shape) for p in split] == [(2, 2), (2, 2), (1, 2)]
    assert [tuple(p.shape) for p in fastnn.unsafe_chunk(t, 2, 1)] == [(5, 1), (5, 1)]
    sum(p.sum() for p in pieces).backward()
    assert bool((t.grad == 1).all())
    with pytest.raises(TypeError, match="unsafe_split"):
        t.unsafe_split([2, 3])


def test_range_is_inclusive_and_deprecated():
    ws = _caught(lambda: fastnn.range(0, 3))
    assert len(ws) == 1 and ws[0].category is UserWarning
    assert "torch.range is deprecated" in str(ws[0].message) and ws[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fastnn.range(0, 3)
        assert r.dtype == fastnn.float32 and r.tolist() == [0.0, 1.0, 2.0, 3.0]
        assert np.allclose(fastnn.range(0, 1, 0.3).numpy(), [0.0, 0.3, 0.6, 0.9])
        assert fastnn.range(1, 0, -0.5).tolist() == [1.0, 0.5, 0.0]
        assert fastnn.range(0, 3, dtype=fastnn.int64).dtype == fastnn.int64
        assert fastnn.range(0, 0).tolist() == [0.0]
        with pytest.raises(RuntimeError, match="step must be nonzero"):
            fastnn.range(0, 3, 0)
        with pytest.raises(RuntimeError, match="inconsistent with step sign"):
            fastnn.range(0, 3, -1)


def test_set_default_tensor_type():
    before = fastnn.get_default_dtype()
    try:
        ws = _caught(lambda: fastnn.set_default_tensor_type(fastnn.DoubleTensor))
        assert len(ws) == 1 and "set_default_tensor_type() is deprecated" in str(ws[0].message)
        assert fastnn.get_default_dtype() == fastnn.float64
        assert fastnn.rand(2).dtype == fastnn.float64
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fastnn.set_default_tensor_type("torch.FloatTensor")
            assert fastnn.get_default_dtype() == fastnn.float32
            with pytest.raises(TypeError, match="only floating-point types"):
                fastnn.set_default_tensor_type(fastnn.LongTensor)
    finally:
        fastnn.set_default_dtype(before)


def test_layout_objects():
    x = fastnn.rand(2)
    assert x.layout == fastnn.strided and x.layout is fastnn.strided
    assert repr(fastnn.strided) == "fastnn.strided"
    assert repr(fastnn.sparse_coo) == "fastnn.sparse_coo"
    assert isinstance(x.layout, fastnn.layout) and x.layout != fastnn.sparse_coo
    assert pickle.loads(pickle.dumps(fastnn.strided)) is fastnn.strided
    assert copy.deepcopy(fastnn.strided) is fastnn.strided


# ---- 2. padding modules with fewer (or more) pads than their dims ---------------------------
def test_constant_pad2d_short_tuple():
    m = nn.ConstantPad2d((1, 1), 0.)
    assert repr(m) == "ConstantPad2d(padding=(1, 1), value=0.0)"
    assert m(fastnn.ones(1, 2, 2)).shape == (1, 2, 4)
    assert nn.ZeroPad2d(1).padding == (1, 1, 1, 1)
    assert nn.ReflectionPad1d((1, 2, 1, 1))(fastnn.ones(1, 3, 3)).shape == (1, 5, 6)
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 5D input\)"):
        nn.CircularPad2d(1)(fastnn.ones(1, 1, 2, 2, 2))


_PAD_KINDS = ["ConstantPad", "ZeroPad", "ReflectionPad", "ReplicationPad", "CircularPad"]


@pytest.mark.parametrize("kind", _PAD_KINDS)
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("pad", [(1, 1), (1, 2, 1, 1), 1, (1, 1, 1, 1, 1, 1)])
def test_padding_modules_match_torch(kind, nd, pad):
    torch = pytest.importorskip("torch")

    def run(lib, shape):
        cls = getattr(lib.nn, f"{kind}{nd}d")
        m = cls(pad, 0.5) if kind == "ConstantPad" else cls(pad)
        x = lib.arange(float(np.prod(shape))).reshape(shape)
        try:
            return repr(m), m(x).numpy()
        except Exception as e:  # noqa: BLE001  (the error kinds are compared)
            return repr(m), (type(e).__name__, str(e))

    for shape in [(1, 2, 3), (1, 2, 3, 3), (1, 2, 3, 3, 3)]:
        (rf, of), (rt, ot) = run(fastnn, shape), run(torch, shape)
        assert rf == rt
        if isinstance(ot, tuple):
            assert of == ot
        else:
            np.testing.assert_array_equal(of, ot)


# ---- 3. autograd node names --------------------------------------------------------------
# (shapes of a and b, PyTorch's node for a @ b)
_UV = "UnsafeViewBackward0"
_MATMUL = [((4,), (4,), "DotBackward0"), ((4,), (4, 5), "SqueezeBackward4"),
           ((3, 4), (4,), "MvBackward0"), ((3, 4), (4, 5), "MmBackward0"),
           ((2, 3, 4), (4, 5), _UV), ((2, 3, 4), (2, 4, 5), _UV),
           ((2, 2, 3, 4), (2, 2, 4, 5), _UV), ((2, 3, 4), (4,), _UV), ((4,), (2, 4, 5), _UV),
           ((3, 4), (2, 4, 5), "CloneBackward0"), ((1, 4), (2, 4, 5), "TransposeBackward0"),
           ((1, 3, 4), (2, 4, 5), "CloneBackward0"), ((1, 3, 4), (1, 4, 5), _UV),
           ((2, 3, 4), (1, 4, 5), _UV)]


@pytest.mark.parametrize("sa,sb,name", _MATMUL)
def test_matmul_node_names(sa, sb, name):
    a, b = _rg(*sa), _rg(*sb)
    assert type((a @ b).grad_fn).__name__ == name
    assert type(fastnn.matmul(a, b).grad_fn).__name__ == name
    assert (a @ b).grad_fn.name() == name
    assert f"grad_fn=<{name}>" in repr(a @ b)
    torch = pytest.importorskip("torch")
    ta = torch.tensor(a.detach().numpy(), requires_grad=True)
    tb = torch.tensor(b.detach().numpy(), requires_grad=True)
    out = ta @ tb
    assert type(out.grad_fn).__name__ == name
    (a @ b).sum().backward()
    out.sum().backward()  # the gradients stay PyTorch's
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5)


def test_mm_bmm_dot_keep_their_names():
    assert type(_rg(2, 3).mm(_rg(3, 4)).grad_fn).__name__ == "MmBackward0"
    assert type(_rg(2, 2, 3).bmm(_rg(2, 3, 4)).grad_fn).__name__ == "BmmBackward0"
    assert type(_rg(3).dot(_rg(3)).grad_fn).__name__ == "DotBackward0"


_NAMED = {
    "adaptive_avg_pool2d to 1": (lambda: F.adaptive_avg_pool2d(_rg(1, 2, 4, 4), 1),
                                 "MeanBackward1"),
    "AdaptiveAvgPool2d((1, 1))": (lambda: nn.AdaptiveAvgPool2d((1, 1))(_rg(2, 4, 4)),
                                  "MeanBackward1"),
    "adaptive_avg_pool3d to 1": (lambda: F.adaptive_avg_pool3d(_rg(1, 2, 3, 3, 3), 1),
                                 "MeanBackward1"),
    "adaptive_avg_pool2d to 2": (lambda: F.adaptive_avg_pool2d(_rg(1, 2, 4, 4), 2),
                                 "AdaptiveAvgPool2DBackward0"),
    "max_pool1d": (lambda: F.max_pool1d(_rg(1, 2, 6), 2), "SqueezeBackward1"),
    "max_pool1d indices": (lambda: F.max_pool1d(_rg(1, 2, 6), 2, return_indices=True)[0],
                           "SqueezeBackward1"),
    "avg_pool1d": (lambda: F.avg_pool1d(_rg(2, 6), 2), "SqueezeBackward1"),
    "adaptive_avg_pool1d": (lambda: F.adaptive_avg_pool1d(_rg(1, 2, 6), 3), "SqueezeBackward1"),
    "adaptive_max_pool1d": (lambda: nn.AdaptiveMaxPool1d(2)(_rg(1, 2, 6)), "SqueezeBackward1"),
    "max_pool2d": (lambda: F.max_pool2d(_rg(1, 2, 4, 4), 2), "MaxPool2DWithIndicesBackward0"),
    "InstanceNorm2d": (lambda: nn.InstanceNorm2d(2)(_rg(1, 2, 4, 4)), "ViewBackward0"),
    "InstanceNorm1d affine": (lambda: nn.InstanceNorm1d(2, affine=True)(_rg(1, 2, 4)),
                              "ViewBackward0"),
    "number / x": (lambda: 2 / _rg(3), "MulBackward0"),
    "x / number": (lambda: _rg(3) / 2, "DivBackward0"),
    "einsum matmul": (lambda: fastnn.einsum("ij,jk->ik", _rg(3, 4), _rg(4, 5)), "ViewBackward0"),
    "einsum attention": (lambda: fastnn.einsum("bhqd,bhkd->bhqk", _rg(2, 2, 3, 4),
                                               _rg(2, 2, 5, 4)), "ViewBackward0"),
    "einsum outer": (lambda: fastnn.einsum("i,j->ij", _rg(3), _rg(4)), "MulBackward0"),
    "einsum trace": (lambda: fastnn.einsum("ii", _rg(3, 3)), "SumBackward1"),
    "einsum transpose": (lambda: fastnn.einsum("ij->ji", _rg(3, 4)), "PermuteBackward0"),
    "repeat_interleave": (lambda: _rg(3).repeat_interleave(2), "ViewBackward0"),
    "repeat_interleave tensor": (lambda: _rg(3).repeat_interleave(fastnn.tensor([1, 2, 0])),
                                 "IndexSelectBackward0"),
    "GRU batch_first": (lambda: nn.GRU(3, 4, batch_first=True)(_rg(2, 5, 3))[0],
                        "TransposeBackward1"),
    "RNN": (lambda: nn.RNN(3, 4)(_rg(5, 2, 3))[0], "StackBackward0"),
    "LSTM batch_first": (lambda: nn.LSTM(3, 4, batch_first=True)(_rg(2, 5, 3))[0],
                         "TransposeBackward0"),
    "GRU bidirectional": (lambda: nn.GRU(3, 4, bidirectional=True)(_rg(5, 2, 3))[0],
                          "CatBackward0"),
    "cross_entropy probabilities": (lambda: F.cross_entropy(_rg(2, 3), fastnn.rand(2, 3)),
                                    "DivBackward1"),
    "cross_entropy probabilities sum": (lambda: F.cross_entropy(
        _rg(2, 3), fastnn.rand(2, 3), reduction="sum"), "NegBackward0"),
    "cross_entropy smoothing": (lambda: F.cross_entropy(_rg(2, 3), fastnn.tensor([0, 2]),
                                                        label_smoothing=0.1), "AddBackward0"),
    "cross_entropy": (lambda: F.cross_entropy(_rg(2, 3), fastnn.tensor([0, 2])),
                      "NllLossBackward0"),
    "nll_loss spatial": (lambda: F.nll_loss(_rg(2, 3, 4, 5), fastnn.zeros(2, 4, 5,
                                                                           dtype=fastnn.int64)),
                         "NllLoss2DBackward0"),
    "cross_entropy 3-d none": (lambda: F.cross_entropy(_rg(2, 3, 4), fastnn.zeros(
        2, 4, dtype=fastnn.int64), reduction="none"), "ViewBackward0"),
    "x.norm()": (lambda: _rg(3).norm(), "LinalgVectorNormBackward0"),
    "x.norm(p=1, dim)": (lambda: _rg(2, 3).norm(p=1, dim=1), "LinalgVectorNormBackward0"),
    "x.norm(p=0)": (lambda: _rg(3).norm(p=0), "LinalgVectorNormBackward0"),
    "fastnn.norm": (lambda: fastnn.norm(_rg(3)), "LinalgVectorNormBackward0"),
    "linalg.norm": (lambda: fastnn.linalg.norm(_rg(2, 3)), "LinalgVectorNormBackward0"),
    "linalg.vector_norm": (lambda: fastnn.linalg.vector_norm(_rg(3)),
                           "LinalgVectorNormBackward0"),
}


@pytest.mark.parametrize("case", sorted(_NAMED))
def test_node_names(case):
    make, name = _NAMED[case]
    out = make()
    assert type(out.grad_fn).__name__ == name
    assert out.grad_fn.name() == name


def test_renamed_nodes_keep_gradients():
    x = fastnn.tensor([0.5, 2.0, 4.0], requires_grad=True)
    (2 / x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -2 / np.array([0.5, 2.0, 4.0]) ** 2, rtol=1e-6)
    v = fastnn.tensor([3.0, 4.0], requires_grad=True)
    v.norm().backward()
    np.testing.assert_allclose(v.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    p = _rg(1, 2, 4, 4)
    F.adaptive_avg_pool2d(p, 1).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), np.full((1, 2, 4, 4), 1 / 16), rtol=1e-6)
    # a gradient of a gradient still finds the rules of the renamed nodes
    w = fastnn.tensor([1.0, 2.0], requires_grad=True)
    (g,) = fastnn.autograd.grad(w.norm(), w, create_graph=True)
    g.sum().backward()
    assert w.grad is not None


# ---- 4. the classes' public module names ---------------------------------------------------
def test_public_class_names():
    x = fastnn.rand(2, 3)
    assert str(type(x)) == "<class 'fastnn.Tensor'>"
    assert str(type(x.shape)) == "<class 'fastnn.Size'>"
    assert str(type(x.dtype)) == "<class 'fastnn.dtype'>"
    assert str(type(x.device)) == "<class 'fastnn.device'>"
    assert str(type(x.max(0))) == "<class 'fastnn.return_types.max'>"
    assert str(type(x.aminmax())) == "<class 'fastnn.return_types.aminmax'>"
    assert str(type(fastnn.frexp(x))) == "<class 'fastnn.return_types.frexp'>"
    assert str(type(fastnn.linalg.qr(x))) == "<class 'fastnn.return_types.linalg_qr'>"
    assert fastnn.return_types.max is type(x.max(0))
    assert isinstance(nn.Parameter(x), fastnn.Tensor)


@pytest.mark.parametrize("make", [
    lambda: fastnn.rand(2, 3), lambda: fastnn.rand(2, 3).shape, lambda: fastnn.float64,
    lambda: fastnn.device("cpu"), lambda: fastnn.rand(2, 3).max(0),
    lambda: fastnn.rand(2, 3).median(1), lambda: fastnn.rand(3).aminmax(),
    lambda: fastnn.linalg.slogdet(fastnn.eye(2)), lambda: nn.Parameter(fastnn.rand(2)),
])
def test_pickle_and_copy_still_work(make):
    obj = make()
    for clone in (pickle.loads(pickle.dumps(obj)), copy.copy(obj), copy.deepcopy(obj)):
        assert type(clone) is type(obj)
        if isinstance(obj, fastnn.Tensor):
            assert fastnn.equal(clone, obj)
        elif isinstance(obj, tuple) and obj and isinstance(obj[0], fastnn.Tensor):
            assert all(fastnn.equal(a, b) for a, b in zip(clone, obj))
        else:
            assert clone == obj


def test_return_types_lookup():
    assert fastnn.return_types.linalg_lstsq.__name__ == "linalg_lstsq"
    with pytest.raises(AttributeError):
        fastnn.return_types.no_such_result


# ---- 5. warnings at the user's line ---------------------------------------------------------
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_target_size_warning_points_at_caller(loss):
    ws = _caught(lambda: getattr(F, loss)(fastnn.rand(3, 1), fastnn.rand(3)))
    assert len(ws) == 1 and ws[0].category is UserWarning
    assert "Using a target size" in str(ws[0].message)
    assert ws[0].filename == __file__


def test_transpose_property_warnings():
    ws = _caught(lambda: fastnn.rand(2, 3, 4).T)
    assert len(ws) == 1 and ws[0].filename == __file__
    assert str(ws[0].message).startswith("The use of `x.T` on tensors of dimension other than 2")
    ws = _caught(lambda: fastnn.tensor(1.0).T)
    assert len(ws) == 1 and "deprecated on 0-D tensors" in str(ws[0].message)
    assert _caught(lambda: fastnn.rand(2, 3).T) == []
    assert len(_caught(lambda: fastnn.rand(3).T)) == 1  # PyTorch warns for 1-D too (once)
    assert fastnn.rand(2, 3, 4).permute(2, 1, 0).shape == (4, 3, 2)


def test_cross_without_dim_warns_only_as_a_function():
    a, b = fastnn.rand(2, 3), fastnn.rand(2, 3)
    ws = _caught(lambda: fastnn.cross(a, b))
    assert len(ws) == 1 and ws[0].filename == __file__
    assert str(ws[0].message).startswith("Using torch.cross without specifying the dim arg")
    assert _caught(lambda: fastnn.cross(a, b, dim=1)) == []
    assert _caught(lambda: a.cross(b)) == []  # the method picks the dim quietly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fastnn.allclose(fastnn.cross(a, b), a.cross(b, dim=1))


@pytest.mark.parametrize("case", ["range", "T", "cross", "mse"])
def test_warning_texts_match_torch(case):
    torch = pytest.importorskip("torch")

    def text(lib):
        fn = {"range": lambda: lib.range(0, 3), "T": lambda: lib.rand(2, 3, 4).T,
              "cross": lambda: lib.cross(lib.rand(2, 3), lib.rand(2, 3)),
              "mse": lambda: lib.nn.functional.mse_loss(lib.rand(3, 1), lib.rand(3))}[case]
        ws = _caught(fn)
        assert len(ws) == 1 and ws[0].filename == __file__
        return str(ws[0].message).split(" (Triggered internally")[0].replace("torch.Size",
                                                                               "fastnn.Size")

    assert text(fastnn) == text(torch)


def test_range_matches_torch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in [(0, 3), (0, 1, 0.3), (1, 0, -0.25), (-2.5, 2.5, 0.5)]:
            np.testing.assert_allclose(fastnn.range(*args).numpy(), torch.range(*args).numpy())


@pytest.mark.parametrize("make, name", [
    (lambda x, y: x.frac(), "FracBackward0"),
    (lambda x, y: fastnn.dist(x, y), "DistBackward0"),
    (lambda x, y: x.dist(y, p=0), "DistBackward0"),
    (lambda x, y: F.kl_div(x.log_softmax(0), y.softmax(0), reduction="batchmean"), "DivBackward0"),
    (lambda x, y: F.kl_div(x.log_softmax(0), y.softmax(0), reduction="sum"), "SumBackward0"),
    (lambda x, y: F.kl_div(x.log_softmax(0), y.softmax(0), reduction="none"), "SubBackward0"),
])
def test_more_grad_fn_names(make, name):
    x = fastnn.randn(3, requires_grad=True)
    out = make(x, fastnn.randn(3))
    assert out.grad_fn.name() == name
    out.sum().backward()  # the relabelled node still differentiates
    assert x.grad is not None
