"""xlogy as one node: x * log(y), exactly 0 wherever x is 0 (unless y is NaN), with gradients
that stay finite at those points."""
import numpy as np

from .ops_math import _Binary, name_by_use


def _zero_x(x, y):
    """Where x * log(y) is 0 by definition: x is 0 and y is not NaN."""
    return (x == 0) & ~np.isnan(y)


class XlogyBackward0(_Binary):
    def forward(self, x, y, name):
        self.remember(x, y)
        self.alias = name
        name_by_use(self)  # the class name follows the overload too
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(_zero_x(x, y), 0, x * np.log(y)).astype(np.result_type(x, y),
                                                                    copy=False)
        self.save(x, y)
        return out

    def backward(self, g):
        x, y = self.saved
        gx = gy = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.needs(0):  # log(y), except 0 where x is 0 and y <= 0 (log would be -inf/NaN)
                slope = np.where(_zero_x(g, y), 0, g * np.log(y))
                gx = self.to_a(np.where((x == 0) & (y <= 0), 0, slope))
            if self.needs(1):
                gy = self.to_b(g * x / y)
        return gx, gy

    def name(self):
        return self.alias


def _register_second_order():
    from .higher_order import _const, _fit, _input, rule
    from .higher_order_shape import _need

    @rule(XlogyBackward0)
    def _xlogy(node, g):
        from .. import where
        x_arr, y_arr = node.saved
        x, y = _input(node, 0, x_arr), _input(node, 1, y_arr)
        gx = gy = None
        if _need(node, 0):  # log(y), 0 where x is 0 and y <= 0 (log never sees those y)
            cut = _const(np.asarray((x_arr == 0) & (y_arr <= 0)))
            gx = _fit(where(cut, 0.0, g * where(cut, 1.0, y).log()), *node.a_meta)
        if _need(node, 1):
            gy = _fit(g * x / y, *node.b_meta)
        return gx, gy


_register_second_order()
