"""Finite-difference gradient checks (float64) for ops added without one elsewhere."""
import fastnn
from fastnn.autograd import gradcheck


def _f64(*shape, seed=0):
    fastnn.manual_seed(seed)
    return fastnn.randn(*shape, dtype=fastnn.float64, requires_grad=True)


def test_rsub_gradcheck():
    x, y = _f64(3, 4), _f64(3, 4, seed=1)
    assert gradcheck(lambda a, b: fastnn.rsub(a, b, alpha=2.5), (x, y))
    assert gradcheck(lambda a: fastnn.rsub(a, 1.5, alpha=0.5), (x,))


def test_linear_cross_entropy_gradcheck():
    x, w, b = _f64(5, 4), _f64(3, 4, seed=1), _f64(3, seed=2)
    target = fastnn.tensor([0, 2, 1, 1, 0])
    F = fastnn.nn.functional
    assert gradcheck(lambda a, c, d: F.linear_cross_entropy(a, c, target, linear_bias=d,
                                                            label_smoothing=0.1), (x, w, b))
