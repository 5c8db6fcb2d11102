"""lerp/lerp_/_foreach_lerp_: PyTorch's two formulas (exact at both ends) and its checks."""
import numpy as np
import pytest

import fastnn


@pytest.mark.parametrize("w", [0.0, 0.3, 0.5, 0.9, 1.0, 1.5, -0.2])
def test_values_match_pytorch(w):
    torch = pytest.importorskip("torch")
    a, b = [1e20, 3.0, 0.1], [1.0, 1e-8, 0.7]
    want = torch.lerp(torch.tensor(a), torch.tensor(b), w).numpy()
    for got in (fastnn.lerp(fastnn.tensor(a), fastnn.tensor(b), w),
                fastnn.tensor(a).lerp_(fastnn.tensor(b), w),
                fastnn.lerp(fastnn.tensor(a), fastnn.tensor(b), fastnn.full((3,), w))):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_weight_one_gives_end_exactly():
    a, b = fastnn.tensor([1e20, 3.0]), fastnn.tensor([1.0, 1e-8])
    assert fastnn.lerp(a, b, 1.0).tolist() == b.tolist()
    assert a.clone().lerp_(b, 1.0).tolist() == b.tolist()
    (copied,) = fastnn._foreach_lerp([a], [b], 1.0)
    assert copied.tolist() == b.tolist()
    ema = [a.clone()]
    fastnn._foreach_lerp_(ema, [b], 1.0)
    assert ema[0].tolist() == b.tolist()


def test_gradients():
    x = fastnn.tensor([1.0, 2.0], dtype=fastnn.float64, requires_grad=True)
    y = fastnn.tensor([3.0, -1.0], dtype=fastnn.float64, requires_grad=True)
    w = fastnn.tensor([0.2, 0.8], dtype=fastnn.float64, requires_grad=True)
    out = fastnn.lerp(x, y, w)
    assert out.grad_fn.name() == "LerpBackward1"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.8, 0.2])
    np.testing.assert_allclose(y.grad.numpy(), [0.2, 0.8])
    np.testing.assert_allclose(w.grad.numpy(), [2.0, -3.0])
    assert fastnn.autograd.gradcheck(lambda a, b, c: fastnn.lerp(a, b, c), (x, y, w))
    assert fastnn.autograd.gradcheck(lambda a, b: fastnn.lerp(a, b, 0.9), (x, y))


def test_checks_as_pytorch():
    f32, f64 = fastnn.zeros(3), fastnn.ones(3, dtype=fastnn.float64)
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        fastnn.lerp(f32, f64, 0.5)
    with pytest.raises(RuntimeError, match="for `weight` but got dtype double"):
        fastnn.lerp(f32, fastnn.ones(3), f64)
    assert fastnn.lerp(f32, fastnn.ones(3), fastnn.tensor(0.5, dtype=fastnn.float64)).dtype \
        == fastnn.float32  # a 0-d weight may differ
    with pytest.raises(NotImplementedError, match="\"lerp_kernel_scalar\" not implemented for "
                                                  "'Long'"):
        fastnn.zeros(3, dtype=fastnn.long).lerp_(fastnn.ones(3, dtype=fastnn.long), 1)
    with pytest.raises(TypeError, match="invalid combination of arguments"):
        fastnn.zeros(3).lerp(1.0, 0.5)
    with pytest.raises(RuntimeError):
        fastnn._foreach_lerp_([fastnn.zeros(3)], [f64], 0.5)
