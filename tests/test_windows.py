"""Window functions and unravel_index, against their definitions and PyTorch."""
import numpy as np
import pytest

import fastnn

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("n", [0, 1, 2, 5, 8, 33])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_pytorch(name, n, periodic):
    torch = pytest.importorskip("torch")
    for dt in ("float32", "float64"):
        got = getattr(fastnn, name)(n, periodic=periodic, dtype=getattr(fastnn, dt))
        want = getattr(torch, name)(n, periodic=periodic, dtype=getattr(torch, dt))
        assert got.dtype == getattr(fastnn, dt) and tuple(got.shape) == tuple(want.shape)
        # PyTorch computes in the output dtype; fastnn in float64, then rounds
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6 if dt == "float32"
                                   else 1e-12)


def test_window_definitions_and_errors():
    n = np.arange(7)
    np.testing.assert_allclose(fastnn.hann_window(7, periodic=False, dtype=fastnn.float64),
                               np.sin(np.pi * n / 6) ** 2, atol=1e-15)
    np.testing.assert_allclose(fastnn.hann_window(6, dtype=fastnn.float64),
                               fastnn.hann_window(7, periodic=False,
                                                  dtype=fastnn.float64)[:6], atol=1e-15)
    np.testing.assert_allclose(fastnn.hamming_window(6, False, 0.5, 0.3, dtype=fastnn.float64),
                               0.5 - 0.3 * np.cos(2 * np.pi * np.arange(6) / 5), atol=1e-15)
    np.testing.assert_allclose(fastnn.kaiser_window(5, False, 0.0), np.ones(5))
    assert fastnn.bartlett_window(5, periodic=False).tolist() == [0.0, 0.5, 1.0, 0.5, 0.0]
    assert fastnn.hann_window(4, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="non-negative window_length, got window_length=-1"):
        fastnn.hann_window(-1)
    with pytest.raises(RuntimeError, match="hann_window expects floating point dtypes"):
        fastnn.hann_window(4, dtype=fastnn.int64)


def test_unravel_index():
    rows, cols = fastnn.unravel_index(fastnn.tensor([7, -7, 4, 0]), (2, 3))
    assert rows.tolist() == [0, 1, 1, 0] and cols.tolist() == [1, 2, 1, 0]
    assert rows.dtype == fastnn.int64
    r, c = fastnn.unravel_index(fastnn.tensor([[4, 1], [0, 5]]), fastnn.Size([2, 3]))
    assert r.tolist() == [[1, 0], [0, 1]] and c.tolist() == [[1, 1], [0, 2]]
    (only,) = fastnn.unravel_index(fastnn.tensor(4), 6)
    assert only.dim() == 0 and only.item() == 4
    assert fastnn.unravel_index(fastnn.tensor([0]), ()) == ()
    with pytest.raises(ValueError, match="cannot have negative values"):
        fastnn.unravel_index(fastnn.tensor([0]), (2, -3))
    with pytest.raises(TypeError, match="expected 'indices' to be integer dtype"):
        fastnn.unravel_index(fastnn.tensor([1.0]), (2,))
