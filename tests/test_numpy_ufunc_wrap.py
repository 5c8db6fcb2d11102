"""numpy ufuncs applied to tensors give tensors back, as in PyTorch."""
import numpy as np
import pytest

import fastnn as torch


@pytest.mark.parametrize("call, expected, dtype", [
    (lambda t: np.exp(t), np.exp([0.0, 1.0]), torch.float32),
    (lambda t: np.add(t, 1), [1.0, 2.0], torch.float32),
    (lambda t: np.add(1, t), [1.0, 2.0], torch.float32),
    (lambda t: np.maximum(t, 0.5), [0.5, 1.0], torch.float32),
    (lambda t: np.add(t, np.ones(2)), [1.0, 2.0], torch.float64),
    (lambda t: np.greater(t, 0.5), [0, 1], torch.uint8),  # PyTorch turns bool into uint8
])
def test_ufunc_returns_tensor(call, expected, dtype):
    out = call(torch.tensor([0.0, 1.0]))
    assert isinstance(out, torch.Tensor)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_zero_dim_and_reduce():
    out = np.exp(torch.tensor(1.0))
    assert isinstance(out, torch.Tensor) and out.shape == ()
    total = np.add.reduce(torch.tensor([0.0, 1.0]))
    assert isinstance(total, torch.Tensor) and total.item() == 1.0


def test_tuple_results_and_explicit_out_stay_numpy():
    q, r = np.divmod(torch.tensor([3.0, 4.0]), 2.0)
    assert isinstance(q, torch.Tensor) and isinstance(r, torch.Tensor)
    out = np.empty(2, np.float32)
    assert np.exp(torch.tensor([0.0, 1.0]), out=out) is out
    assert type(np.asarray(torch.ones(2))) is np.ndarray
    assert type(np.concatenate([torch.ones(1), torch.ones(1)])) is np.ndarray


def test_tensor_that_requires_grad_is_refused():
    with pytest.raises(RuntimeError, match="requires grad"):
        np.exp(torch.ones(2, requires_grad=True))


def test_matches_pytorch():
    real = pytest.importorskip("torch")
    for fn in (np.exp, np.sqrt, np.negative, np.isnan):
        a = fn(real.tensor([1.0, 4.0]))
        b = fn(torch.tensor([1.0, 4.0]))
        assert type(b).__name__ == type(a).__name__ == "Tensor"
        assert str(a.dtype).split(".")[1] == str(b.dtype).split(".")[1]
        np.testing.assert_allclose(b.numpy(), a.numpy())
