import copy
import pickle

import numpy as np
import pytest

import fastnn
from fastnn import nn


def test_parameter_is_a_leaf_tensor_sharing_storage():
    t = fastnn.ones(2, 3)
    p = nn.Parameter(t)
    assert isinstance(p, fastnn.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    t[0, 0] = 5.0
    assert p[0, 0].item() == 5.0  # same storage
    assert not nn.Parameter(t, requires_grad=False).requires_grad


def test_parameter_from_non_leaf_is_a_leaf():
    x = fastnn.ones(3, requires_grad=True)
    p = nn.Parameter(x * 2)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    (p * p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), 4.0)
    assert x.grad is None


def test_empty_parameter_uses_default_dtype():
    p = nn.Parameter()
    assert p.shape == (0,) and p.dtype == fastnn.float32 and p.requires_grad
    fastnn.set_default_dtype(fastnn.float64)
    try:
        assert nn.Parameter().dtype == fastnn.float64
    finally:
        fastnn.set_default_dtype(fastnn.float32)


def test_parameter_bad_data():
    with pytest.raises(TypeError, match="argument 'data' must be a Tensor, not list"):
        nn.Parameter([1.0, 2.0])
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(fastnn.tensor([1, 2]))
    assert nn.Parameter(fastnn.tensor([1, 2]), requires_grad=False).dtype == fastnn.int64


def test_parameter_repr_matches_torch():
    torch = pytest.importorskip("torch")
    vals = [[0.5, -1.25, 3.0], [2.0, 0.0, 1.0]]
    ours = repr(nn.Parameter(fastnn.tensor(vals)))
    theirs = repr(torch.nn.Parameter(torch.tensor(vals)))
    assert ours == theirs
    assert ours.startswith("Parameter containing:\ntensor(")
    assert repr(nn.Parameter()) == repr(torch.nn.Parameter())
    assert repr(nn.Parameter(fastnn.ones(2), requires_grad=False)) == \
        repr(torch.nn.Parameter(torch.ones(2), requires_grad=False))


def test_results_of_ops_are_plain_tensors():
    p = nn.Parameter(fastnn.ones(2))
    assert type(p * 2) is fastnn.Tensor
    assert type(p.data) is fastnn.Tensor
    assert type(p.detach()) is fastnn.Tensor
    assert type(p.clone()) is fastnn.Tensor


def test_deepcopy_is_memo_aware():
    p = nn.Parameter(fastnn.randn(3))
    p.grad = fastnn.ones(3)
    a, b = copy.deepcopy([p, p])
    assert a is b and a is not p
    assert isinstance(a, nn.Parameter) and a.requires_grad
    np.testing.assert_array_equal(a.detach().numpy(), p.detach().numpy())
    assert a.grad is None  # as in PyTorch: values and the flag, not the gradient
    a.data.fill_(0.0)
    assert p.abs().sum().item() > 0  # its own storage


def test_pickle_round_trip():
    p = nn.Parameter(fastnn.randn(2, 3))
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is nn.Parameter and q.requires_grad
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
    r = pickle.loads(pickle.dumps(nn.Parameter(fastnn.ones(2), requires_grad=False)))
    assert type(r) is nn.Parameter and not r.requires_grad
    a, b = pickle.loads(pickle.dumps([p, p]))
    assert a is b


def test_inplace_idiom_on_data():
    w = nn.Parameter(fastnn.tensor([1.0, -7.0, 3.0, 9.0]))
    w.data *= w.data.abs() >= 5
    np.testing.assert_array_equal(w.detach().numpy(), [0.0, -7.0, 0.0, 9.0])


def test_buffer_assignment_registers_a_buffer():
    m = nn.Module()
    m.stat = nn.Buffer(fastnn.zeros(2))
    m.tmp = nn.Buffer(fastnn.ones(1), persistent=False)
    assert set(dict(m.named_buffers())) == {"stat", "tmp"}
    assert list(m.state_dict()) == ["stat"]
    assert type(m.stat) is fastnn.Tensor
    with pytest.raises(TypeError, match="must be a Tensor"):
        nn.Buffer(3)
