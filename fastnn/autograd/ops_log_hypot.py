"""logaddexp, logaddexp2 and hypot as single nodes over numpy's ufuncs. The ufuncs keep full
precision where the composed formulas fail: log(exp(a) + exp(b)) rounds to 0 when a is far
below b = 0, and sqrt(a * a + b * b) underflows or overflows in the squares (|a| near 1e-30
or 1e30 in float32)."""
import numpy as np

from .accumulate import HALF, in_float32
from .ops_math import _Binary, sigmoid_array


def _evaluate(ufunc, a, b):
    # float16 goes through float32, so that only the result is rounded to float16
    if a.dtype == HALF:
        return in_float32(ufunc, a, b)
    return ufunc(a, b)


class _StableBinary(_Binary):
    ufunc = None

    def forward(self, a, b):
        self.remember(a, b)
        out = _evaluate(self.ufunc, a, b)
        self.save(a, b, out)
        return out

    def backward(self, g):
        a, b, out = self.saved
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            ga = self.to_a(g * self.slope(a, b, out)) if self.needs(0) else None
            gb = self.to_b(g * self.slope(b, a, out)) if self.needs(1) else None
        return ga, gb


class LogaddexpBackward0(_StableBinary):
    ufunc = staticmethod(np.logaddexp)

    @staticmethod
    def slope(x, y, out):
        # exp(x) / (exp(x) + exp(y)) = sigmoid(x - y): 1 and 0 for (inf, -inf), NaN where
        # both are the same infinity, as PyTorch
        return sigmoid_array(x - y)


class Logaddexp2Backward0(_StableBinary):
    ufunc = staticmethod(np.logaddexp2)

    @staticmethod
    def slope(x, y, out):  # 2**x / (2**x + 2**y), with 2**(y - x) exact for integer y - x
        return np.reciprocal(1 + np.exp2(y - x))


class HypotBackward0(_StableBinary):
    ufunc = staticmethod(np.hypot)

    @staticmethod
    def slope(x, y, out):  # x / hypot; NaN at (0, 0), as PyTorch
        return x / out


def _register_second_order():
    from .higher_order import _fit, _input, _output, rule
    from .higher_order_shape import _need

    def make(slope):
        def second_order(node, g):
            a, b, out = node.saved
            result = _output(node, out)
            ga = gb = None
            x, y = _input(node, 0, a), _input(node, 1, b)
            if _need(node, 0):
                ga = _fit(g * slope(x, y, result), *node.a_meta)
            if _need(node, 1):
                gb = _fit(g * slope(y, x, result), *node.b_meta)
            return ga, gb
        return second_order

    rule(LogaddexpBackward0)(make(lambda x, y, out: (x - y).sigmoid()))
    rule(Logaddexp2Backward0)(make(lambda x, y, out: 1 / (1 + (y - x).exp2())))
    rule(HypotBackward0)(make(lambda x, y, out: x / out))


_register_second_order()
