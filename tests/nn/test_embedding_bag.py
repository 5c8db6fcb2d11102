"""F.embedding_bag and nn.EmbeddingBag: values and gradients vs PyTorch, gradcheck, errors."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.autograd import gradcheck

NUM, DIM = 10, 4
# (input, offsets): offsets None means a 2-D input of fixed-size bags
INPUTS = {
    "2d": ([[1, 2, 4, 5], [4, 3, 2, 9], [7, 7, 7, 1]], None),
    "1d": ([1, 2, 4, 5, 4, 3, 2, 9, 2, 2], [0, 3, 3, 7]),   # an empty bag, repeated rows
    "1d_single_bag": ([3, 3, 0, 8], [0]),
    "1d_trailing_empty": ([1, 2, 3], [0, 1, 3, 3]),
}


def _rng(seed=0):
    return np.random.default_rng(seed)


def _run(lib, w_np, idx, off, dt, psw=None, gout=None, **kw):
    mod = fastnn if lib == "fastnn" else pytest.importorskip("torch")
    fn = F.embedding_bag if lib == "fastnn" else mod.nn.functional.embedding_bag
    w = mod.tensor(w_np.astype(dt), requires_grad=True)
    p = None if psw is None else mod.tensor(psw.astype(dt), requires_grad=True)
    o = None if off is None else mod.tensor(off, dtype=mod.int64)
    out = fn(mod.tensor(idx, dtype=mod.int64), w, o, per_sample_weights=p, **kw)
    (out * mod.tensor(gout.astype(dt))).sum().backward()
    return (out.detach().numpy(), w.grad.numpy(),
            None if p is None else p.grad.numpy())


def _compare(idx, off, dt, psw=None, **kw):
    w = _rng(1).standard_normal((NUM, DIM))
    nb = len(idx) if off is None else len(off) - (1 if kw.get("include_last_offset") else 0)
    gout = _rng(2).standard_normal((nb, DIM))
    got = _run("fastnn", w, idx, off, dt, psw, gout, **kw)
    want = _run("torch", w, idx, off, dt, psw, gout, **kw)
    tol = 1e-5 if dt == np.float32 else 1e-12
    for g, t in zip(got, want):
        if t is None:
            assert g is None
        else:
            assert g.shape == t.shape
            np.testing.assert_allclose(g, t, rtol=tol, atol=tol)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("case", list(INPUTS))
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_matches_torch(case, mode, dt, padding_idx):
    idx, off = INPUTS[case]
    _compare(idx, off, dt, mode=mode, padding_idx=padding_idx)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_include_last_offset_matches_torch(mode, dt):
    # as documented for PyTorch, the last offset is the input's length
    _compare([1, 2, 4, 5, 4, 3, 2, 9, 2], [0, 3, 3, 7, 9], dt, mode=mode,
             include_last_offset=True)
    _compare([1, 2, 4], [0, 1, 1, 3], dt, mode=mode, include_last_offset=True)
    _compare([1, 2, 4], [0, 3, 3], dt, mode=mode, include_last_offset=True)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(INPUTS))
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_per_sample_weights_matches_torch(case, dt, padding_idx):
    idx, off = INPUTS[case]
    psw = _rng(3).standard_normal(np.shape(idx))
    _compare(idx, off, dt, psw, mode="sum", padding_idx=padding_idx)


def test_empty_input_and_no_bags():
    w = fastnn.randn(NUM, DIM)
    for mode in ("sum", "mean", "max"):
        out = F.embedding_bag(fastnn.tensor([], dtype=fastnn.int64), w,
                              fastnn.tensor([0, 0]), mode=mode)
        np.testing.assert_array_equal(out.numpy(), np.zeros((2, DIM), np.float32))
        out = F.embedding_bag(fastnn.tensor([1, 2]), w, fastnn.tensor([], dtype=fastnn.int64),
                              mode=mode)
        assert tuple(out.shape) == (0, DIM)
        out = F.embedding_bag(fastnn.zeros(0, 3, dtype=fastnn.int64), w, mode=mode)
        assert tuple(out.shape) == (0, DIM)


def test_int32_indices():
    w = fastnn.randn(NUM, DIM)
    a = F.embedding_bag(fastnn.tensor([1, 2, 3], dtype=fastnn.int32), w,
                        fastnn.tensor([0, 1], dtype=fastnn.int32))
    b = F.embedding_bag(fastnn.tensor([1, 2, 3]), w, fastnn.tensor([0, 1]))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_gradcheck(mode):
    w = fastnn.tensor(_rng(4).standard_normal((5, 3)), requires_grad=True)
    idx, off = fastnn.tensor([0, 2, 2, 4, 1, 3]), fastnn.tensor([0, 2, 2, 5])
    assert gradcheck(lambda w: F.embedding_bag(idx, w, off, mode=mode, padding_idx=1), (w,))
    assert gradcheck(lambda w: F.embedding_bag(idx.reshape(2, 3), w, mode=mode), (w,))


def test_gradcheck_per_sample_weights():
    w = fastnn.tensor(_rng(5).standard_normal((5, 3)), requires_grad=True)
    psw = fastnn.tensor(_rng(6).standard_normal(6), requires_grad=True)
    idx, off = fastnn.tensor([0, 2, 2, 4, 1, 3]), fastnn.tensor([0, 2, 2, 5])
    assert gradcheck(lambda w, p: F.embedding_bag(idx, w, off, mode="sum",
                                                  per_sample_weights=p), (w, psw))


def test_max_norm_renormalises_like_torch():
    torch = pytest.importorskip("torch")
    w = _rng(7).standard_normal((NUM, DIM)) * 3
    fw, tw = fastnn.tensor(w), torch.tensor(w)
    idx, off = [1, 2, 2, 5], [0, 2]
    a = F.embedding_bag(fastnn.tensor(idx), fw, fastnn.tensor(off), max_norm=1.5)
    b = torch.nn.functional.embedding_bag(torch.tensor(idx), tw, torch.tensor(off), max_norm=1.5)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    np.testing.assert_allclose(fw.numpy(), tw.numpy(), rtol=1e-6)


# ---- the module ------------------------------------------------------------------------------
def test_module_matches_torch_and_repr():
    torch = pytest.importorskip("torch")
    cases = [dict(), dict(mode="sum", padding_idx=-1), dict(mode="max", include_last_offset=True),
             dict(max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, sparse=True,
                  mode="sum", padding_idx=0)]
    for kw in cases:
        f, t = nn.EmbeddingBag(NUM, DIM, **kw), torch.nn.EmbeddingBag(NUM, DIM, **kw)
        assert repr(f) == repr(t)
        assert f.padding_idx == t.padding_idx
        assert list(f.state_dict()) == list(t.state_dict())
    f = nn.EmbeddingBag(NUM, DIM, mode="sum", include_last_offset=True, padding_idx=3)
    t = torch.nn.EmbeddingBag(NUM, DIM, mode="sum", include_last_offset=True, padding_idx=3)
    assert np.all(f.weight.detach().numpy()[3] == 0)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(f.weight.detach().numpy()))
    idx, off = [1, 3, 3, 5, 9], [0, 2, 5]
    a = f(fastnn.tensor(idx), fastnn.tensor(off))
    b = t(torch.tensor(idx), torch.tensor(off))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_allclose(f.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-6)


def test_module_init_is_standard_normal():
    fastnn.manual_seed(0)
    w = nn.EmbeddingBag(2000, 50).weight.detach().numpy()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


def test_from_pretrained():
    w = fastnn.tensor(_rng(8).standard_normal((4, 3)), dtype=fastnn.float32)
    bag = nn.EmbeddingBag.from_pretrained(w, mode="sum")
    assert not bag.weight.requires_grad
    out = bag(fastnn.tensor([[0, 1], [2, 3]]))
    np.testing.assert_allclose(out.numpy(), (w.numpy()[[0, 2]] + w.numpy()[[1, 3]]), rtol=1e-6)
    assert nn.EmbeddingBag.from_pretrained(w, freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be "
                                             "2-dimensional"):
        nn.EmbeddingBag.from_pretrained(fastnn.zeros(3))


def test_module_errors():
    with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(NUM, DIM, padding_idx=NUM)
    with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(NUM, DIM, padding_idx=-NUM - 1)
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.EmbeddingBag(NUM, DIM, _weight=fastnn.zeros(NUM, DIM + 1))


# ---- errors ----------------------------------------------------------------------------------
W = np.zeros((NUM, DIM), np.float32)
ERRORS = [
    (dict(input=[[1, 2]], offsets=[0]), ValueError,
     "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
     "fixed length sequences. However, found offsets of type"),
    (dict(input=[[[1]]]), ValueError, "input has to be 1D or 2D Tensor, but got Tensor of "
                                      "dimension 3"),
    (dict(input=[1, 2]), ValueError, "offsets has to be a 1D Tensor but got None"),
    (dict(input=[1, 2], offsets=[[0]]), ValueError, "offsets has to be a 1D Tensor"),
    (dict(input=[1, 2], offsets=[0], mode="foo"), ValueError,
     "mode has to be one of sum, mean or max"),
    (dict(input=[1, 2], offsets=[0], mode="max", scale_grad_by_freq=True), ValueError,
     "max mode does not support scaling the gradient by the frequency"),
    (dict(input=[1, 2], offsets=[0], mode="max", sparse=True), ValueError,
     "max mode does not support sparse weights"),
    (dict(input=[1, 2], offsets=[0], per_sample_weights=[1.0, 2.0, 3.0]), ValueError,
     "embedding_bag: If per_sample_weights"),
    (dict(input=[1, 2], offsets=[0], per_sample_weights=[1.0, 2.0]), NotImplementedError,
     "per_sample_weights is only supported for mode='sum' \\(got mode='mean'\\)"),
    (dict(input=[1, 10], offsets=[0]), RuntimeError,
     "Index 1 of input takes value 10 which is not in the valid range \\[0, 10\\)"),
    (dict(input=[-1, 1], offsets=[0]), RuntimeError,
     "Index 0 of input takes value -1 which is not in the valid range \\[0, 10\\)"),
    (dict(input=[1, 2], offsets=[1]), RuntimeError,
     "offsets\\[0\\] has to be 0, i.e., the first sequence in the mini-batch has to start "
     "from position 0. However, got 1"),
    (dict(input=[1, 2], offsets=[0, 3]), RuntimeError,
     "offsets\\[-1\\] can not be greater than input's length 2 but got offsets\\[-1\\] of 3"),
    (dict(input=[1, 2], offsets=[], include_last_offset=True), RuntimeError,
     "include_last_offset: number of offset should be at least 1"),
    (dict(input=[1.0, 2.0], offsets=[0]), RuntimeError,
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: "
     "Long, Int; but got torch.FloatTensor instead"),
    (dict(input=[1, 2], offsets=[0], padding_idx=10), RuntimeError,
     "padding_idx must be within the number of embeddings, -10 through 9, but got 10"),
    (dict(input=[1, 2], offsets=[0], weight=np.zeros(3, np.float32)), ValueError,
     "weight has to be a 2D Tensor, but got Tensor of dimension 1"),
    (dict(input=[1, 2], offsets=[0], weight=np.zeros((3, 2), np.int32)), RuntimeError,
     "Expected tensor for argument #1 'weight' to have one of the following scalar types: "
     "Half, BFloat16, Float, Double; but got torch.IntTensor instead"),
    (dict(input=[1, 2], offsets=[0], mode="sum", per_sample_weights=np.ones(2)), RuntimeError,
     "Expected tensor for argument #1 'weight' to have the same type as tensor for argument "
     "#1 'per_sample_weights'; but type torch.FloatTensor does not equal torch.DoubleTensor"),
]


@pytest.mark.parametrize("kw,exc,msg", ERRORS)
def test_errors_match_torch(kw, exc, msg):
    kw = dict(kw)
    inp, weight = kw.pop("input"), kw.pop("weight", W)
    conv = {k: kw[k] for k in ("offsets", "per_sample_weights") if k in kw}
    rest = {k: v for k, v in kw.items() if k not in conv}
    torch = pytest.importorskip("torch")
    for mod, fn in ((fastnn, F.embedding_bag), (torch, torch.nn.functional.embedding_bag)):
        args = {k: mod.tensor(v, dtype=mod.int64 if k == "offsets" else None)
                for k, v in conv.items()}
        with pytest.raises(exc, match=msg):
            fn(mod.tensor(inp), mod.tensor(weight), **args, **rest)


def test_unsupported_options_raise():
    w = fastnn.randn(NUM, DIM)
    with pytest.raises(NotImplementedError):
        F.embedding_bag(fastnn.tensor([[1, 2]]), w, sparse=True)


def test_old_argument_order_warns():
    w = fastnn.randn(NUM, DIM)
    idx = fastnn.tensor([[1, 2]])
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = F.embedding_bag(w, idx)
    assert any("Argument order of nn.functional.embedding_bag was changed" in str(r.message)
               for r in rec)
    np.testing.assert_allclose(out.numpy(), F.embedding_bag(idx, w).numpy())
