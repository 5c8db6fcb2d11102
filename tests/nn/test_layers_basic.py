"""Linear, Identity, Flatten/Unflatten, Embedding, Dropout, activation and pooling modules."""
import math
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn


def _copy_params(fm, tm):
    for (fname, fp), (tname, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        assert fname == tname and tuple(fp.shape) == tuple(tp.shape)
        with fastnn.no_grad():
            fp.copy_(fastnn.tensor(tp.detach().numpy()))


def _parity(fm, tm, shape, seed=0, dtype=np.float64, grad=True):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    tx, fx = torch.tensor(x, requires_grad=grad), fastnn.tensor(x, requires_grad=grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ty, fy = tm(tx), fm(fx)
    if isinstance(ty, tuple):
        (ty, ti), (fy, fi) = ty, fy
        np.testing.assert_array_equal(fi.numpy(), ti.numpy())
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12,
                               atol=1e-12)
    if grad:
        g = np.random.default_rng(seed + 1).standard_normal(tuple(ty.shape)).astype(dtype)
        ty.backward(torch.tensor(g))
        fy.backward(fastnn.tensor(g))
        np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    return fy, ty


MODULES = [
    ("Linear", (800, 500), {}), ("Linear", (3, 2), {"bias": False}),
    ("Bilinear", (2, 3, 4), {}), ("Identity", (54, "x"), {"unused": 1}),
    ("Flatten", (), {}), ("Flatten", (0, 2), {}), ("Unflatten", (1, (2, 3)), {}),
    ("Embedding", (10, 3), {}), ("Embedding", (10, 3), {"padding_idx": -1, "max_norm": 1.0}),
    ("Embedding", (5, 2), {"norm_type": 1.0, "scale_grad_by_freq": True, "sparse": True}),
    ("Dropout", (), {}), ("Dropout", (0.2, True), {}), ("Dropout1d", (), {}),
    ("Dropout2d", (0.1,), {}), ("Dropout3d", (), {}),
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}),
    ("ELU", (), {}), ("ELU", (0.5, True), {}), ("GELU", (), {}), ("GELU", ("tanh",), {}),
    ("SiLU", (), {}), ("SiLU", (True,), {}), ("Sigmoid", (), {}), ("Tanh", (), {}),
    ("Softmax", (1,), {}), ("Softmax", (), {}), ("LogSoftmax", (), {"dim": 1}),
    ("Softmin", (0,), {}), ("Softplus", (), {}), ("Softplus", (2, 10), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 3.0, True), {}), ("ReLU6", (), {}),
    ("ReLU6", (True,), {}), ("LogSigmoid", (), {}), ("PReLU", (), {}), ("PReLU", (3,), {}),
    ("MaxPool2d", (2,), {}), ("MaxPool2d", ((2, 3),), {"return_indices": True}),
    ("MaxPool2d", (3, 2, 1, 2, False, True), {}), ("MaxPool1d", (3,), {}),
    ("AvgPool2d", (2,), {}), ("AvgPool2d", (3, 1, 1, True, False, None), {}),
    ("AvgPool1d", (3,), {}), ("AdaptiveAvgPool2d", ((5, 7),), {}),
    ("AdaptiveAvgPool2d", (3,), {}), ("AdaptiveAvgPool1d", (3,), {}),
]


@pytest.mark.parametrize("cls,args,kw", MODULES)
def test_module_prints_and_declares_like_pytorch(cls, args, kw):
    torch = pytest.importorskip("torch")
    fm, tm = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(fm) == repr(tm)
    assert getattr(fm, "__constants__", None) == getattr(tm, "__constants__", None)
    assert [(n, tuple(p.shape)) for n, p in fm.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert list(fm.state_dict()) == list(tm.state_dict())


@pytest.mark.parametrize("cls,args,shape", [
    ("Linear", (5, 4), (3, 5)), ("Linear", (5, 4, False), (2, 3, 5)),
    ("Flatten", (), (2, 3, 4, 5)), ("Flatten", (0, 2), (2, 3, 4, 5)),
    ("Unflatten", (1, (2, 3)), (4, 6, 5)), ("Identity", (), (2, 3)),
    ("ReLU", (), (3, 4)), ("LeakyReLU", (0.2,), (3, 4)), ("ELU", (0.7,), (3, 4)),
    ("GELU", (), (3, 4)), ("SiLU", (), (3, 4)), ("Sigmoid", (), (3, 4)), ("Tanh", (), (3, 4)),
    ("Softmax", (1,), (3, 4)), ("LogSoftmax", (0,), (3, 4)), ("Softplus", (), (3, 4)),
    ("Hardtanh", (), (3, 4)), ("ReLU6", (), (3, 4)), ("PReLU", (3,), (2, 3, 4)),
    ("PReLU", (), (2, 3)), ("MaxPool2d", (2,), (2, 3, 6, 6)),
    ("MaxPool2d", (3, 2, 1, 1, True, True), (2, 3, 7, 7)), ("AvgPool2d", (3, 2, 1), (2, 3, 7, 7)),
    ("AdaptiveAvgPool2d", ((2, 3),), (2, 3, 7, 8)), ("MaxPool1d", (2,), (2, 3, 8)),
    ("AvgPool1d", (2,), (2, 3, 8)), ("AdaptiveAvgPool1d", (3,), (2, 3, 8)),
])
def test_module_forward_backward_matches_torch(cls, args, shape):
    torch = pytest.importorskip("torch")
    fm, tm = getattr(nn, cls)(*args).double(), getattr(torch.nn, cls)(*args).double()
    _copy_params(fm, tm)
    _parity(fm, tm, shape)
    for (_, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_linear_reset_parameters_bounds_and_seed():
    fastnn.manual_seed(5)
    m = nn.Linear(400, 30)
    bound = 1 / math.sqrt(400)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert w.dtype == np.float32 and np.abs(w).max() <= bound and np.abs(w).max() > 0.97 * bound
    assert np.abs(b).max() <= bound
    fastnn.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(400, 30).weight.detach().numpy(), w)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=fastnn.float64).weight.dtype == fastnn.float64


def test_layer_used_twice_gets_the_sum_of_both_gradients():
    torch = pytest.importorskip("torch")
    fm, tm = nn.Linear(3, 3).double(), torch.nn.Linear(3, 3).double()
    _copy_params(fm, tm)
    x = np.random.default_rng(0).standard_normal((2, 3))
    fm(fm(fastnn.tensor(x))).sum().backward()
    tm(tm(torch.tensor(x))).sum().backward()
    np.testing.assert_allclose(fm.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(fm.bias.grad.numpy(), tm.bias.grad.numpy(), rtol=1e-12)


def test_dropout_module_train_and_eval():
    m = nn.Dropout(0.5)
    x = fastnn.ones(50, 50)
    fastnn.manual_seed(0)
    y = m(x).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and 0.4 < (y == 0).mean() < 0.6
    m.eval()
    assert m(x) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but "
                       "got 1.5"):
        nn.Dropout(1.5)


def test_embedding_module():
    torch = pytest.importorskip("torch")
    fastnn.manual_seed(0)
    e = nn.Embedding(10, 3, padding_idx=2)
    assert (e.weight.detach().numpy()[2] == 0).all()
    assert 0.3 < e.weight.detach().numpy().std() < 2
    te = torch.nn.Embedding(10, 3, padding_idx=2).double()
    e.double()
    _copy_params(e, te)
    idx = np.array([[1, 2], [9, 2]])
    fy, ty = e(fastnn.tensor(idx)), te(torch.tensor(idx))
    np.testing.assert_array_equal(fy.detach().numpy(), ty.detach().numpy())
    fy.sum().backward()
    ty.sum().backward()
    np.testing.assert_array_equal(e.weight.grad.numpy(), te.weight.grad.numpy())
    pre = nn.Embedding.from_pretrained(fastnn.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not pre.weight.requires_grad and repr(pre) == "Embedding(2, 2)"
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(10, 3, padding_idx=10)


def test_unflatten_and_hardtanh_construction_errors():
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found "
                       "element of type float at pos 1"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(AssertionError, match=r"max_val \(0.5\) must be greater than min_val "
                       r"\(1.0\)"):
        nn.Hardtanh(1.0, 0.5)


def test_softmax_module_without_dim_warns_at_the_callers_line():
    m = nn.Softmax()
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax") as rec:
        m(fastnn.randn(2, 3))
    assert rec[0].filename == __file__


def test_relu_inplace_module_modifies_its_input():
    x = fastnn.tensor([-1.0, 2.0])
    assert nn.ReLU(inplace=True)(x) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(3, 2), (2, 3)),
    (lambda: nn.Conv2d(2, 2, 2, padding=1, padding_mode="reflect"), (1, 2, 3, 3)),
    (lambda: nn.Conv1d(2, 2, 2, padding=1, padding_mode="circular"), (1, 2, 4)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 1)),
    (lambda: nn.LayerNorm(3), (2, 3)),
    (lambda: nn.PReLU(2), (2, 2, 2)),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 2), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
                           nn.Linear(8, 2), nn.LogSoftmax(dim=1)), (2, 1, 5, 5)),
])
def test_module_gradcheck(make, shape):
    from fastnn.autograd import gradcheck
    m = make().double()
    x = fastnn.tensor(np.random.default_rng(0).standard_normal(shape) * 0.7 + 0.05,
                      requires_grad=True)
    # the parameters themselves are inputs: gradcheck perturbs them in place
    assert gradcheck(lambda inp, *ps: m(inp), (x, *m.parameters()))
