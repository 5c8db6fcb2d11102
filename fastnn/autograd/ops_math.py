"""Elementwise ops: each forward beside its backward, on arrays."""
import numpy as np

from .accumulate import HALF, in_float32, sum_axes
from .node import Node

_RENAMED = {}
_RELABELLED = {}


def renamed(cls, name):
    """``cls`` under the class name ``name``: a subclass, so that what is registered for
    ``cls`` (higher-order rules, isinstance checks) holds for it too."""
    sub = _RENAMED.get((cls, name))
    if sub is None:
        sub = type(name, (cls,), {"__module__": cls.__module__, "__qualname__": name})
        _RENAMED[(cls, name)] = sub
    return sub


def relabelled(cls, name):
    """Like ``renamed``, but ``name()`` answers ``name`` as well, for node classes whose
    ``name()`` is worked out per node. Relabelling a relabelled class starts from its base."""
    cls = cls.__dict__.get("_relabel_base", cls)
    sub = _RELABELLED.get((cls, name))
    if sub is None:
        def _name(self):
            return name
        sub = type(name, (cls,), {"__module__": cls.__module__, "__qualname__": name,
                                  "name": _name, "_relabel_base": cls})
        _RELABELLED[(cls, name)] = sub
    return sub


def relabel(t, name):
    """Show the node recorded for tensor ``t`` as PyTorch's node for the op that made it (a
    composite's last step otherwise shows). Costs one attribute test when nothing was
    recorded; the node must be one that only ``t``'s op created. Returns ``t``."""
    node = t.grad_fn
    if node is not None and node.__class__.__name__ != name:
        node.__class__ = relabelled(node.__class__, name)
    return t


def name_by_use(node):
    """Give a node class that serves several PyTorch ops the class name of the one it stands
    for here (``type(grad_fn).__name__`` then agrees with ``grad_fn.name()``). Only recorded
    nodes, the ones users can see, pay for it."""
    if node._next is not None:
        name = node.name()
        if type(node).__name__ != name:
            node.__class__ = renamed(type(node), name)


def unbroadcast(g, shape, dt):
    """Sum a broadcast gradient back to ``shape`` and cast it to the input's dtype."""
    if g.shape != shape:
        lead = g.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1)
        g = sum_axes(g, axes, True)  # float16 accumulated in float32, as PyTorch's sums
        if lead:
            g = g.reshape(shape)
    if g.dtype != dt:
        g = g.astype(dt)
    return g


def zeros_on(like, shape, dtype):
    """Zeros on ``like``'s device: numpy here, a CUDA array through numpy's protocols."""
    if type(like) is np.ndarray:
        return np.zeros(shape, dtype)
    return np.zeros_like(like, shape=shape, dtype=dtype)


class _Binary(Node):
    def remember(self, a, b):
        self.a_meta = (a.shape, a.dtype)
        self.b_meta = (b.shape, b.dtype)

    def to_a(self, g):
        return unbroadcast(g, *self.a_meta)

    def to_b(self, g):
        return unbroadcast(g, *self.b_meta)


class AddBackward0(_Binary):
    def forward(self, a, b, dt, alpha=1):
        self.remember(a, b)
        self.alpha = alpha
        if alpha != 1:
            b = b * alpha
        return np.add(a, b, dtype=dt, casting="unsafe") if dt is not None else a + b

    def backward(self, g):
        gb = None
        if self.needs(1):
            gb = self.to_b(g if self.alpha == 1 else g * self.alpha)
        return (self.to_a(g) if self.needs(0) else None, gb)


class SubBackward0(_Binary):
    def forward(self, a, b, dt, alpha=1):
        self.remember(a, b)
        self.alpha = alpha
        if alpha != 1:
            b = b * alpha
        return np.subtract(a, b, dtype=dt, casting="unsafe") if dt is not None else a - b

    def backward(self, g):
        gb = self.to_b(-g if self.alpha == 1 else g * -self.alpha) if self.needs(1) else None
        return (self.to_a(g) if self.needs(0) else None, gb)


class MulBackward0(_Binary):
    def forward(self, a, b, dt):
        self.remember(a, b)
        self.save(a if self._next and self._next[1] is not None else None,
                  b if self._next and self._next[0] is not None else None)
        return np.multiply(a, b, dtype=dt, casting="unsafe") if dt is not None else a * b

    def backward(self, g):
        a, b = self.saved
        return (self.to_a(g * b) if self.needs(0) else None,
                self.to_b(g * a) if self.needs(1) else None)


class DivBackward0(_Binary):
    def forward(self, a, b, dt):
        self.remember(a, b)
        self.save(a if self._next and self._next[1] is not None else None, b)
        return np.true_divide(a, b, dtype=dt, casting="unsafe") if dt is not None else a / b

    def backward(self, g):
        a, b = self.saved
        ga = self.to_a(g / b) if self.needs(0) else None
        gb = self.to_b(-g * a / (b * b)) if self.needs(1) else None
        return ga, gb


class PowBackward1(_Binary):
    """tensor ** tensor"""

    def forward(self, a, b, dt):
        self.remember(a, b)
        try:
            y = np.power(a, b, dtype=dt, casting="unsafe") if dt is not None else a ** b
        except ValueError:  # numpy refuses integers to negative powers; PyTorch truncates
            y = _int_pow(a, b, dt)
        self.save(a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved
        # an exponent of 0 has slope 0 everywhere, 0 ** -1 included
        ga = self.to_a(np.where(b == 0, 0, g * b * np.power(a, b - 1))) if self.needs(0) else None
        gb = None
        if self.needs(1):
            with np.errstate(divide="ignore", invalid="ignore"):
                la = np.where(a > 0, np.log(np.where(a > 0, a, 1)), np.where(a == 0, -np.inf, np.nan))
            gb = self.to_b(np.where((a == 0) & (b >= 0), 0, g * y * la))
        return ga, gb


class RemainderBackward0(_Binary):
    """remainder (floor rounding) or fmod (trunc): a - round(a / b) * b, 1 and -round(a / b)."""

    def forward(self, a, b, dt, trunc=False):
        self.remember(a, b)
        self.trunc = trunc
        name_by_use(self)
        if self._next and self._next[1] is not None:
            self.save(a, b)
        ufunc = np.fmod if trunc else np.remainder
        with np.errstate(divide="ignore", invalid="ignore"):
            if dt is not None:
                return ufunc(a, b, dtype=dt, casting="unsafe")
            return ufunc(a, b)

    def backward(self, g):
        gb = None
        if self.needs(1):
            a, b = self.saved
            with np.errstate(divide="ignore", invalid="ignore"):
                q = (np.trunc if self.trunc else np.floor)(a / b)
            gb = self.to_b(-g * q)
        return (self.to_a(g) if self.needs(0) else None, gb)

    def name(self):
        op = "FmodBackward" if self.trunc else "RemainderBackward"
        return op + ("1" if self._next and self._next[1] is not None else "0")


class DivBackward2(_Binary):
    """div with rounding_mode 'trunc' or 'floor': integers stay integers; zero gradients."""

    def forward(self, a, b, dt, mode):
        self.remember(a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            if mode == "floor":
                return np.floor_divide(a, b, dtype=dt, casting="unsafe")
            if (np.result_type(a, b) if dt is None else np.dtype(dt)).kind in "fc":
                return np.trunc(np.true_divide(a, b, dtype=dt, casting="unsafe"))
            # exact for integers: a - fmod(a, b) is a multiple of b
            a, b = (a, b) if dt is None else (a.astype(dt), b.astype(dt))
            return (a - np.fmod(a, b)) // b

    def backward(self, g):
        return (zeros_on(g, *self.a_meta) if self.needs(0) else None,
                zeros_on(g, *self.b_meta) if self.needs(1) else None)


class RoundingBackward0(Node):
    """floor/ceil/round/trunc: piecewise constant, so the gradient is zero (not absent)."""

    def forward(self, a, fn, name, *args):
        self.meta, self.alias = (a.shape, a.dtype), name
        return fn(a, *args)

    def backward(self, g):
        return (zeros_on(g, *self.meta),)

    def name(self):
        return self.alias


# the class each rounding op records (its name is passed to forward too)
ROUNDING = {n: renamed(RoundingBackward0, n) for n in (
    "FloorBackward0", "CeilBackward0", "RoundBackward0", "RoundBackward1", "TruncBackward0")}


def _int_pow(a, b, dt):
    dt = np.result_type(a, b) if dt is None else dt
    a, b = np.asarray(a, dt), np.asarray(b, dt)
    if b.dtype.kind not in "iu":
        raise ValueError("not an integer power")
    y = np.power(a, np.maximum(b, 0))
    # x ** -n truncates to 0 except for x = 1 (1) and x = -1 (+-1)
    neg = np.where(a == 1, 1, np.where(a == -1, 1 - 2 * (b % 2), 0)).astype(dt)
    return np.where(b < 0, neg, y)


class PowBackward0(Node):
    """tensor ** python scalar"""

    def forward(self, a, e):
        self.e = e
        self.save(a)
        if e == 2:
            return a * a
        return np.power(a, e, dtype=a.dtype)

    def backward(self, g):
        (a,) = self.saved
        e = self.e
        if e == 2:
            return (g * (2 * a),)
        if e == 0:
            return (np.zeros_like(a),)
        return ((g * e) * np.power(a, e - 1, dtype=a.dtype),)


class MaximumBackward0(_Binary):
    def forward(self, a, b, dt):
        self.remember(a, b)
        self.save(a, b)
        if dt is not None:
            return np.maximum(a, b, dtype=dt, casting="unsafe")
        return np.maximum(a, b)

    def backward(self, g):
        wa, wb = self.weights()
        # a selection, not g * weight: an inf gradient at a losing input gives 0, not nan
        zero = np.zeros((), g.dtype)
        return (self.to_a(np.where(wa != 0, g * wa, zero)) if self.needs(0) else None,
                self.to_b(np.where(wb != 0, g * wb, zero)) if self.needs(1) else None)

    def weights(self):
        """The share of the gradient each input gets: all of it to the larger, half each on
        ties, and all of it to both where either is NaN (no comparison holds), as PyTorch."""
        a, b = self.saved
        half_ties = 0.5 * (a == b)
        return 1 - (a < b) - half_ties, 1 - (a > b) - half_ties


class MinimumBackward0(MaximumBackward0):
    def forward(self, a, b, dt):
        self.remember(a, b)
        self.save(b, a)   # min(a, b) = -max(-a, -b): reuse the tie rule with roles swapped
        if dt is not None:
            return np.minimum(a, b, dtype=dt, casting="unsafe")
        return np.minimum(a, b)


class WhereBackward0(_Binary):
    def forward(self, a, b, cond):
        self.remember(a, b)
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, g):
        zero = np.zeros((), g.dtype)
        return (self.to_a(np.where(self.cond, g, zero)) if self.needs(0) else None,
                self.to_b(np.where(self.cond, zero, g)) if self.needs(1) else None)


class NegBackward0(Node):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class AbsBackward0(Node):
    def forward(self, a):
        self.save(a)
        return np.abs(a)

    def backward(self, g):
        slope = np.sign(self.saved[0])
        if slope.dtype.kind == "f":  # a NaN input gets no gradient, as in PyTorch
            slope = np.where(slope == slope, slope, 0)
        return (g * slope,)


class SignBackward0(Node):
    def forward(self, a):
        self.meta = (a.shape, a.dtype)
        y = np.sign(a)
        return np.where(y != y, 0, y).astype(y.dtype, copy=False) if y.dtype.kind == "f" else y

    def backward(self, g):
        return (zeros_on(g, *self.meta),)


class ExpBackward0(Node):
    def forward(self, a):
        y = np.exp(a)
        self.save(y)
        return y

    def backward(self, g):
        return (g * self.saved[0],)


class Expm1Backward0(Node):
    def forward(self, a):
        y = np.expm1(a)
        self.save(y)
        return y

    def backward(self, g):
        return (g * (self.saved[0] + 1),)


class LogBackward0(Node):
    def forward(self, a):
        self.save(a)
        return np.log(a)

    def backward(self, g):
        return (g / self.saved[0],)


class Log1PBackward0(Node):
    def forward(self, a):
        self.save(a)
        return np.log1p(a)

    def backward(self, g):
        return (g / (self.saved[0] + 1),)


class SqrtBackward0(Node):
    def forward(self, a):
        y = np.sqrt(a)
        self.save(y)
        return y

    def backward(self, g):
        return (g / (2 * self.saved[0]),)


class RsqrtBackward0(Node):
    def forward(self, a):
        y = 1 / np.sqrt(a)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        return (g * (-0.5) * y * y * y,)


class SinBackward0(Node):
    def forward(self, a):
        self.save(a)
        return np.sin(a)

    def backward(self, g):
        return (g * np.cos(self.saved[0]),)


class CosBackward0(Node):
    def forward(self, a):
        self.save(a)
        return np.cos(a)

    def backward(self, g):
        return (-g * np.sin(self.saved[0]),)


class TanhBackward0(Node):
    def forward(self, a):
        y = np.tanh(a)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        return (g * (1 - y * y),)


def sigmoid_array(a):
    # 1 / (1 + exp(-a)): full relative precision for negative a (a tanh form cancels to 0),
    # exp's overflow to inf gives the limit 0; float16 goes through float32 (no early 0s)
    if a.dtype == HALF:
        return in_float32(sigmoid_array, a)
    # (its callers run inside ops and the backward engine, where numpy's warnings are off)
    y = np.negative(a, out=np.empty_like(a))  # an array even for 0-d input
    np.exp(y, out=y)
    y += 1
    np.reciprocal(y, out=y)
    return y


class SigmoidBackward0(Node):
    def forward(self, a):
        y = sigmoid_array(a)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        return (g * y * (1 - y),)


try:
    from .._core import relu_backward as _relu_backward, relu_forward as _relu_forward
except ImportError:  # a source checkout without the compiled extension
    _relu_backward = _relu_forward = None
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class ReluBackward0(Node):
    def forward(self, a, applied=False):
        if applied:  # a is already max(x, 0): a fused producer (F.linear_relu) did the work
            self.save(a)
            return a
        if _relu_forward is not None and type(a) is np.ndarray and a.dtype in _FLOATS and \
                a.flags.c_contiguous:
            y = _relu_forward(a, np.empty_like(a))  # one vectorized pass: np.maximum is 2x slower
        else:
            y = np.maximum(a, 0)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        if _relu_backward is not None and type(g) is np.ndarray and g.dtype == y.dtype and \
                g.dtype in _FLOATS and g.flags.c_contiguous and y.flags.c_contiguous:
            return (_relu_backward(g, y, np.empty_like(g)),)
        if hasattr(g, "relu_backward") and g.shape == y.shape and g.dtype == y.dtype:
            return (g.relu_backward(y),)  # a CUDA array: one kernel
        return (np.where(y <= 0, 0, g).astype(g.dtype, copy=False),)


class ClampBackward1(Node):
    def forward(self, a, lo, hi):
        self.save(a)
        self.lo, self.hi = lo, hi
        return np.clip(a, lo, hi)

    def backward(self, g):
        a = self.saved[0]
        keep = np.ones(a.shape, bool) if type(a) is np.ndarray else np.ones_like(a, bool)
        if self.lo is not None:
            keep &= a >= self.lo
        if self.hi is not None:
            keep &= a <= self.hi
        # a selection, not g * keep: an inf gradient where clamped gives 0, not nan
        return (np.where(keep, g, np.zeros((), g.dtype)),)


class CloneBackward0(Node):
    def forward(self, a, copy_fn):
        return copy_fn(a)

    def backward(self, g):
        return (g,)


class ToCopyBackward0(Node):
    def forward(self, a, dt):
        self.dt = a.dtype
        if type(a) is np.ndarray and 0 in a.strides and a.size > 1:
            # expanded: lay the copy out as clone() does, not with broadcast dims innermost
            from .._tensor_layout import empty_in_layout
            out = empty_in_layout(a, np.dtype(dt))
            np.copyto(out, a, casting="unsafe")
            return out
        return a.astype(dt)

    def backward(self, g):
        return (g.astype(self.dt),)
