"""Graph nodes of the order statistics (median, kthvalue, mode, cummax, aminmax, ...) and of
a few elementwise ops (logit, sinc, copysign) whose gradients need special cases."""
import numpy as np

from .node import Node
from .ops_math import _Binary, name_by_use, zeros_on


def scatter_add(g, idx, axis, shape, dt):
    """Zeros of ``shape`` with g added at positions idx along ``axis`` (repeated ones add up)."""
    n = shape[axis]
    gm = np.moveaxis(g, axis, -1)
    im = np.moveaxis(idx, axis, -1)
    rows = int(np.prod(gm.shape[:-1], dtype=np.int64))
    # one flat position per entry: its row's offset plus the index, then a weighted bincount
    flat = (np.arange(rows, dtype=np.int64) * n)[:, None] + im.reshape(rows, -1)
    acc = np.bincount(flat.reshape(-1), weights=gm.reshape(-1), minlength=rows * n)
    moved = acc.reshape(gm.shape[:-1] + (n,)).astype(dt, copy=False)
    return np.moveaxis(moved, -1, axis)


class TakeAlongBackward(Node):
    """values = a at ``idx`` along ``axis``; the gradient goes back to the picked positions."""

    def forward(self, a, idx, axis, squeeze, label, repeats=False):
        self.meta = (a.shape, a.dtype, axis, squeeze)
        self.idx, self.label, self.repeats = idx, label, repeats
        name_by_use(self)
        out = np.take_along_axis(a, idx, axis=axis)
        return out.squeeze(axis) if squeeze else out

    def backward(self, g):
        shape, dt, axis, squeeze = self.meta
        if squeeze:
            g = np.expand_dims(g, axis)
        if self.repeats:
            return (scatter_add(g, self.idx, axis, shape, dt),)
        out = zeros_on(g, shape, dt)
        np.put_along_axis(out, self.idx, g, axis=axis)  # one index per row: no repeats
        return (out,)

    def name(self):
        return self.label


class EvenlyBackward(Node):
    """A value chosen from a (median of all entries, aminmax): the entries equal to it share
    its gradient evenly (the NaN entries when it is NaN)."""

    def forward(self, a, value, axes, keepdim, label):
        # value has the reduced axes kept (size 1)
        self.meta = (axes, keepdim)
        self.label, self.value = label, value
        name_by_use(self)
        self.save(a)
        return value if keepdim else value.reshape(
            tuple(s for i, s in enumerate(value.shape) if axes is not None and i not in axes))

    def backward(self, g):
        (a,) = self.saved
        axes, keepdim = self.meta
        v = self.value
        mask = (a == v) | (np.isnan(a) & np.isnan(v)) if a.dtype.kind == "f" else a == v
        count = mask.sum(axis=axes, keepdims=True)
        share = g.reshape(v.shape) / count
        if self.label == "AminmaxBackward0":  # PyTorch scales by the mask here (inf g: nan)
            return ((mask * share).astype(a.dtype, copy=False),)
        # median selects: an inf gradient gives 0 off the chosen entries, not nan
        return (np.where(mask, share, np.zeros((), share.dtype)).astype(a.dtype, copy=False),)

    def name(self):
        return self.label


class LogitBackward0(Node):
    """log(z / (1 - z)), z = a clamped to [eps, 1 - eps] when eps is given."""

    def forward(self, a, eps):
        self.eps = eps
        self.save(a)
        z = a
        if eps is not None:
            z = np.where(a < eps, eps, np.where(a > 1 - eps, 1 - eps, a)).astype(a.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):  # +-inf at 0 and 1, NaN outside
            return np.log(z / (1 - z))

    def backward(self, g):
        (a,) = self.saved
        eps = self.eps
        with np.errstate(divide="ignore", invalid="ignore"):
            d = g / (a * (1 - a))
        if eps is None:  # outside [0, 1] the logit is NaN and so is its slope
            return (np.where((a < 0) | (a > 1), np.nan, d).astype(a.dtype, copy=False),)
        return (np.where((a < eps) | (a > 1 - eps), 0, d).astype(a.dtype, copy=False),)


class SincBackward0(Node):
    """sin(pi a) / (pi a), 1 at a = 0; slope (cos(pi a) - sinc(a)) / a, 0 at a = 0."""

    def forward(self, a):
        pa = np.pi * a
        zero = a == 0
        with np.errstate(invalid="ignore"):  # sin(inf)
            y = np.where(zero, 1, np.sin(pa) / np.where(zero, 1, pa)).astype(a.dtype, copy=False)
        self.save(a, y)
        return y

    def backward(self, g):
        a, y = self.saved
        zero = a == 0
        with np.errstate(invalid="ignore"):
            d = np.where(zero, 0, (np.cos(np.pi * a) - y) / np.where(zero, 1, a))
        return ((g * d).astype(a.dtype, copy=False),)


class CopysignBackward0(_Binary):
    """|a| with b's sign bit; slope sign(a) * copysign(1, b) for a (0 at a = 0), 0 for b."""

    def forward(self, a, b):
        self.remember(a, b)
        self.save(a, b)
        return np.copysign(a, b)

    def backward(self, g):
        a, b = self.saved
        ga = gb = None
        if self.needs(0):
            ga = self.to_a(g * (np.sign(a) * np.copysign(1, b)))
        if self.needs(1):
            gb = self.to_b(np.zeros_like(g))
        return ga, gb


class NextafterBackward0(_Binary):
    """The next float after a towards b: slope 1 for a, 0 for b."""

    def forward(self, a, b):
        self.remember(a, b)
        return np.nextafter(a, b)

    def backward(self, g):
        ga = self.to_a(g) if self.needs(0) else None
        gb = self.to_b(np.zeros_like(g)) if self.needs(1) else None
        return ga, gb


class NotImplementedBackward(Node):
    """Forward through ``fn``; the output takes part in autograd, but backward raises
    ``message`` (ops whose derivative is not defined, such as floor_divide)."""

    def forward(self, *args):
        *arrays, fn, message = args
        self.message = message
        return fn(*arrays)

    def backward(self, g):
        raise RuntimeError(self.message)

    def name(self):
        return "NotImplemented"


class NoDerivative(Node):
    """Forward through ``fn``; backward is an error naming the op (no silent zero)."""

    def forward(self, *args):
        *arrays, fn, label = args
        self.label = label
        name_by_use(self)
        return fn(*arrays)

    def backward(self, g):
        raise RuntimeError(f"the derivative for '{self.label}' is not implemented.")

    def name(self):
        return self.label.capitalize() + "Backward0"


class FrexpBackward0(Node):
    """The mantissa of a = mantissa * 2**exponent; its slope is 2**-exponent."""

    def forward(self, a):
        m, e = np.frexp(a)
        self.exponent = e.astype(np.int32)
        return m

    def backward(self, g):
        return (np.ldexp(g, -self.exponent.astype(np.int64)).astype(g.dtype, copy=False),)
