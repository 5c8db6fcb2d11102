"""More ops: inverse trigonometry, logs in other bases, cumprod, diagonals, roll, index_add."""
import math

import numpy as np

from .node import Node
from .accumulate import add_at
from .ops_math import _Binary, name_by_use, unbroadcast, zeros_on
from .out_layout import c_contiguous, c_order_unless_channels_last


# ---- elementwise ---------------------------------------------------------------------
class _Unary(Node):
    """y = fn(a); the subclass's ``grad(g, a, y)`` is dy/da times g."""
    fn = None

    def forward(self, a):
        y = self.fn(a)
        self.save(a, y)
        return y

    def backward(self, g):
        a, y = self.saved
        return (self.grad(g, a, y),)


class Log2Backward0(_Unary):
    fn = staticmethod(np.log2)

    def grad(self, g, a, y):
        return g / (a * math.log(2.0))


class Log10Backward0(_Unary):
    fn = staticmethod(np.log10)

    def grad(self, g, a, y):
        return g / (a * math.log(10.0))


class TanBackward0(_Unary):
    fn = staticmethod(np.tan)

    def grad(self, g, a, y):
        return g * (1 + y * y)


class AsinBackward0(_Unary):
    fn = staticmethod(np.arcsin)

    def grad(self, g, a, y):
        return g / np.sqrt(1 - a * a)


class AcosBackward0(_Unary):
    fn = staticmethod(np.arccos)

    def grad(self, g, a, y):
        return -g / np.sqrt(1 - a * a)


class AtanBackward0(_Unary):
    fn = staticmethod(np.arctan)

    def grad(self, g, a, y):
        return g / (1 + a * a)


class SinhBackward0(_Unary):
    fn = staticmethod(np.sinh)

    def grad(self, g, a, y):
        return g * np.cosh(a)


class CoshBackward0(_Unary):
    fn = staticmethod(np.cosh)

    def grad(self, g, a, y):
        return g * np.sinh(a)


class Atan2Backward0(_Binary):
    def forward(self, a, b):
        self.remember(a, b)
        self.save(a, b)
        return np.arctan2(a, b)

    def backward(self, g):
        a, b = self.saved
        r = a * a + b * b
        with np.errstate(divide="ignore"):
            recip = np.where(r == 0, 0, 1 / r)  # atan2(0, 0): slope 0 (signed), as in PyTorch
        return (self.to_a(g * b * recip) if self.needs(0) else None,
                self.to_b(-g * a * recip) if self.needs(1) else None)


# ---- scans ---------------------------------------------------------------------------
def _rev_cumsum(x, axis):
    return np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)


class CumprodBackward0(Node):
    """Exact with zeros: positions before the first zero divide by a nonzero input; the first
    zero gets the products that skip it; positions after it get nothing."""

    def forward(self, a, axis):
        self.axis = axis
        if a.dtype == np.float16:  # accumulate in float32, as PyTorch does
            y = np.cumprod(a, axis=axis, dtype=np.float32).astype(np.float16)
        else:
            y = np.cumprod(a, axis=axis)
        y = c_contiguous(y)  # numpy follows a transposed input's layout
        self.save(a, y)
        return y

    def backward(self, g):
        a, y = self.saved
        ax = self.axis
        zeros = np.cumsum(a == 0, axis=ax)
        before = zeros == 0
        if before.all():
            return (_rev_cumsum(g * y, ax) / a,)
        first = (a == 0) & (zeros == 1)
        skipped = np.cumprod(np.where(first, 1, a), axis=ax)  # the products without the first 0
        ga = np.where(before, _rev_cumsum(g * y, ax) / np.where(before, a, 1), 0)
        ga = np.where(first, _rev_cumsum(g * skipped, ax), ga)
        return (ga.astype(a.dtype, copy=False),)


# ---- selection -----------------------------------------------------------------------
class MaskedSelectBackward0(Node):
    def forward(self, a, mask):
        shape = np.broadcast_shapes(a.shape, mask.shape)
        self.meta = (a.shape, a.dtype)
        self.mask = np.broadcast_to(mask, shape)
        return np.broadcast_to(a, shape)[self.mask]

    def backward(self, g):
        out = zeros_on(g, self.mask.shape, self.meta[1])
        out[self.mask] = g
        return (unbroadcast(out, *self.meta),)


def diagonal_view(a, offset, d1, d2):
    """numpy's diagonal, made writeable where ``a`` is (it is a view of a's memory)."""
    v = np.diagonal(a, offset, d1, d2)
    if type(v) is np.ndarray and a.flags.writeable and not v.flags.writeable:
        v.flags.writeable = True
    return v


class DiagonalBackward0(Node):
    """diagonal (a view) or, with ``copy``, 2-D diag (a new tensor)."""

    def forward(self, a, offset, d1, d2, copy=False):
        self.meta = (a.shape, a.dtype)
        self.args, self.copy = (offset, d1, d2), copy
        if copy:
            name_by_use(self)
        v = diagonal_view(a, offset, d1, d2)
        return v.copy() if copy else v

    def backward(self, g):
        out = zeros_on(g, *self.meta)
        diagonal_view(out, *self.args)[...] = g
        return (out,)

    def name(self):
        return "DiagonalBackward0_copy" if self.copy else "DiagonalBackward0"


class DiagEmbedBackward0(Node):
    """diag of a 1-D tensor: a square matrix with it on diagonal ``offset``."""

    def forward(self, a, offset):
        self.offset = offset
        n = a.shape[0] + abs(offset)
        out = zeros_on(a, (n, n), a.dtype)
        diagonal_view(out, offset, 0, 1)[...] = a
        return out

    def backward(self, g):
        return (np.diagonal(g, self.offset).copy(),)


class RollBackward0(Node):
    def forward(self, a, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return c_order_unless_channels_last(np.roll(a, shifts, axes), a)

    def backward(self, g):
        neg = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (np.roll(g, neg, self.axes),)


class IndexAddBackward0(Node):
    """out = a with ``alpha * src`` added at ``index`` along ``axis`` (repeats accumulate)."""

    def forward(self, a, src, axis, index, alpha):
        self.axis, self.index, self.alpha = axis, index, alpha
        self.src_meta = (src.shape, src.dtype)
        out = a.copy()
        flat = out.reshape((1,) + out.shape) if out.ndim == 0 else out  # 0-d: one slot
        part = src.reshape(-1) if src.ndim == 0 else src
        if alpha != 1:
            part = part * alpha
        # PyTorch adds whole float16 rows in float32 (then rounds once), but single
        # elements, or rows scaled by alpha, in float16 itself
        add = add_at if out.ndim > 1 and alpha == 1 else np.add.at
        add(flat, (slice(None),) * axis + (index,), part.astype(a.dtype, copy=False))
        return out

    def backward(self, g):
        gs = None
        if self.needs(1):
            gg = g.reshape(1) if g.ndim == 0 else g
            gs = np.take(gg, self.index, axis=self.axis)
            if self.alpha != 1:
                gs = gs * self.alpha
            gs = gs.reshape(self.src_meta[0]).astype(self.src_meta[1], copy=False)
        return (g if self.needs(0) else None, gs)
