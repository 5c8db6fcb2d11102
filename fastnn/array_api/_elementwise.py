"""Element-wise functions of the array API standard.

Most call the Tensor method of the same meaning, so they record gradients as the method does.
Functions fastnn's Tensor lacks (acos, sinh, log2, atan2, ...) are graph nodes here, each
forward next to its derivative; like PyTorch, rounding functions have a zero gradient.
"""
import math

import numpy as np

from ..autograd.function import apply
from ..autograd.node import Node
from ..autograd.ops_math import unbroadcast
from ..tensor import _wrap
from ._common import cast, cpu_array, promote, tensor_arg, to_float
from .. import _creation as C


class _Unary(Node):
    f = None
    df = None       # df(x, y): derivative at x, given the output y; None: zero gradient

    def forward(self, x):
        with np.errstate(all="ignore"):
            y = np.asarray(self.f(x))
        if self.df is not None:
            self.save(x, y)
        return y

    def backward(self, g):
        if self.df is None:
            return (np.zeros(g.shape, g.dtype),)
        x, y = self.saved
        with np.errstate(all="ignore"):
            return (np.asarray(g * self.df(x, y), x.dtype),)


class _Binary(Node):
    f = None
    dfa = None      # dfa(a, b, y), dfb(a, b, y): partial derivatives; dfb None: zero
    dfb = None

    def forward(self, a, b):
        self.meta = ((a.shape, a.dtype), (b.shape, b.dtype))
        with np.errstate(all="ignore"):
            y = np.asarray(self.f(a, b))
        self.save(a, b, y)
        return y

    def backward(self, g):
        a, b, y = self.saved
        (sa, da), (sb, db) = self.meta
        with np.errstate(all="ignore"):
            ga = unbroadcast(np.asarray(g * self.dfa(a, b, y)), sa, da) \
                if self.needs(0) else None
            gb = None
            if self.needs(1):
                gb = np.zeros(sb, db) if self.dfb is None else \
                    unbroadcast(np.asarray(g * self.dfb(a, b, y)), sb, db)
        return ga, gb


def _node(base, name, **fns):
    return type(name, (base,), {k: staticmethod(v) for k, v in fns.items()})


_LN2, _LN10 = math.log(2.0), math.log(10.0)

AcosBackward0 = _node(_Unary, "AcosBackward0", f=np.arccos,
                      df=lambda x, y: -1 / np.sqrt(1 - x * x))
AsinBackward0 = _node(_Unary, "AsinBackward0", f=np.arcsin,
                      df=lambda x, y: 1 / np.sqrt(1 - x * x))
AtanBackward0 = _node(_Unary, "AtanBackward0", f=np.arctan, df=lambda x, y: 1 / (1 + x * x))
AcoshBackward0 = _node(_Unary, "AcoshBackward0", f=np.arccosh,
                       df=lambda x, y: 1 / np.sqrt((x - 1) * (x + 1)))
AsinhBackward0 = _node(_Unary, "AsinhBackward0", f=np.arcsinh,
                       df=lambda x, y: 1 / np.sqrt(x * x + 1))
AtanhBackward0 = _node(_Unary, "AtanhBackward0", f=np.arctanh, df=lambda x, y: 1 / (1 - x * x))
CoshBackward0 = _node(_Unary, "CoshBackward0", f=np.cosh, df=lambda x, y: np.sinh(x))
SinhBackward0 = _node(_Unary, "SinhBackward0", f=np.sinh, df=lambda x, y: np.cosh(x))
TanBackward0 = _node(_Unary, "TanBackward0", f=np.tan, df=lambda x, y: 1 + y * y)
Log2Backward0 = _node(_Unary, "Log2Backward0", f=np.log2, df=lambda x, y: 1 / (x * _LN2))
Log10Backward0 = _node(_Unary, "Log10Backward0", f=np.log10, df=lambda x, y: 1 / (x * _LN10))
FloorBackward0 = _node(_Unary, "FloorBackward0", f=np.floor)
CeilBackward0 = _node(_Unary, "CeilBackward0", f=np.ceil)
TruncBackward0 = _node(_Unary, "TruncBackward0", f=np.trunc)
RoundBackward0 = _node(_Unary, "RoundBackward0", f=np.round)

Atan2Backward0 = _node(_Binary, "Atan2Backward0", f=np.arctan2,
                       dfa=lambda a, b, y: b / (a * a + b * b),
                       dfb=lambda a, b, y: -a / (a * a + b * b))
HypotBackward0 = _node(_Binary, "HypotBackward0", f=np.hypot,
                       dfa=lambda a, b, y: a / y, dfb=lambda a, b, y: b / y)
LogaddexpBackward0 = _node(_Binary, "LogaddexpBackward0", f=np.logaddexp,
                           dfa=lambda a, b, y: np.exp(a - y), dfb=lambda a, b, y: np.exp(b - y))
CopysignBackward0 = _node(_Binary, "CopysignBackward0", f=np.copysign,
                          dfa=lambda a, b, y: np.where(a == 0, 0, y / a))
RemainderBackward0 = _node(_Binary, "RemainderBackward0", f=np.remainder,
                           dfa=lambda a, b, y: np.ones_like(y),
                           dfb=lambda a, b, y: -np.floor_divide(a, b))


def _export(fn, name):
    fn.__name__ = fn.__qualname__ = name
    globals()[name] = fn
    return fn


# ---- unary -----------------------------------------------------------------------------
def _unary_node(name, node):
    def fn(x, /):
        cpu_array(x, name)
        return apply(node, (to_float(x),))
    fn.__doc__ = f"Element-wise {name}; differentiable ({node.__name__})."
    return _export(fn, name)


for _name, _node_cls in (("acos", AcosBackward0), ("asin", AsinBackward0),
                         ("atan", AtanBackward0), ("acosh", AcoshBackward0),
                         ("asinh", AsinhBackward0), ("atanh", AtanhBackward0),
                         ("cosh", CoshBackward0), ("sinh", SinhBackward0),
                         ("tan", TanBackward0), ("log2", Log2Backward0),
                         ("log10", Log10Backward0)):
    _unary_node(_name, _node_cls)


def _rounding(name, node):
    def fn(x, /):
        cpu_array(x, name)
        # integers and bools are already integral: the standard returns them unchanged
        return apply(node, (x,)) if x.dtype.is_floating_point else x
    fn.__doc__ = f"Element-wise {name}; the gradient is zero, as in PyTorch."
    return _export(fn, name)


for _name, _node_cls in (("floor", FloorBackward0), ("ceil", CeilBackward0),
                         ("trunc", TruncBackward0), ("round", RoundBackward0)):
    _rounding(_name, _node_cls)


def _unary_method(name, method):
    def fn(x, /):
        return getattr(tensor_arg(x, name), method)()
    fn.__doc__ = f"Element-wise {name}: ``x.{method}()``."
    return _export(fn, name)


for _name, _m in (("abs", "abs"), ("exp", "exp"), ("expm1", "expm1"), ("log", "log"),
                  ("log1p", "log1p"), ("sqrt", "sqrt"), ("sin", "sin"), ("cos", "cos"),
                  ("tanh", "tanh"), ("negative", "neg"),
                  ("square", "square"), ("isfinite", "isfinite"), ("isinf", "isinf"),
                  ("isnan", "isnan"), ("logical_not", "logical_not")):
    _unary_method(_name, _m)


def sign(x, /):
    """Element-wise sign; the standard keeps NaN as NaN (fastnn.sign, like PyTorch, gives 0)."""
    t = tensor_arg(x, "sign")
    out = t.sign()
    if not t.is_floating_point():
        return out
    from .. import where
    return where(t.isnan(), t, out)


def bitwise_invert(x, /):
    _check_bitwise(tensor_arg(x, "bitwise_invert"), "bitwise_invert")
    return ~x


def positive(x, /):
    return tensor_arg(x, "positive")


def signbit(x, /):
    return _wrap(np.signbit(cpu_array(x, "signbit")))


def conj(x, /):
    """fastnn has real dtypes only, so the conjugate is the input."""
    return tensor_arg(x, "conj")


def real(x, /):
    return tensor_arg(x, "real")


def imag(x, /):
    return C.zeros_like(tensor_arg(x, "imag"))


# ---- binary ----------------------------------------------------------------------------
def _binary_method(name, method):
    def fn(x1, x2, /):
        a, b = promote(x1, x2, name)
        return getattr(a, method)(b)
    fn.__doc__ = f"Element-wise {name} with the standard's type promotion: ``x1.{method}(x2)``."
    return _export(fn, name)


for _name, _m in (("add", "add"), ("subtract", "sub"), ("multiply", "mul"),
                  ("divide", "div"), ("pow", "pow"), ("maximum", "maximum"),
                  ("minimum", "minimum"), ("floor_divide", "floor_divide"),
                  ("equal", "eq"), ("not_equal", "ne"), ("less", "lt"),
                  ("less_equal", "le"), ("greater", "gt"), ("greater_equal", "ge"),
                  ("logical_and", "logical_and"), ("logical_or", "logical_or"),
                  ("logical_xor", "logical_xor")):
    _binary_method(_name, _m)


def _binary_node(name, node, floating):
    def fn(x1, x2, /):
        a, b = promote(x1, x2, name, lift_scalar=True)
        cpu_array(a, name), cpu_array(b, name)
        if floating:
            a, b = to_float(a), to_float(b)
        return apply(node, (a, b))
    fn.__doc__ = f"Element-wise {name}; differentiable ({node.__name__})."
    return _export(fn, name)


for _name, _node_cls, _fl in (("atan2", Atan2Backward0, True), ("hypot", HypotBackward0, True),
                              ("logaddexp", LogaddexpBackward0, True),
                              ("copysign", CopysignBackward0, True),
                              ("remainder", RemainderBackward0, False)):
    _binary_node(_name, _node_cls, _fl)


def _check_bitwise(t, fn):
    if t.dtype.np.kind not in "biu":
        raise TypeError(f"{fn}() requires integer or boolean tensors, got {t.dtype}")


def _bitwise(name, ufunc, bools=True):
    def fn(x1, x2, /):
        a, b = promote(x1, x2, name, lift_scalar=True)
        for t in (a, b):
            _check_bitwise(t, name)
            if not bools and t.dtype.np.kind == "b":
                raise TypeError(f"{name}() requires integer tensors, got {t.dtype}")
        return _wrap(np.asarray(ufunc(cpu_array(a, name), cpu_array(b, name))))
    fn.__doc__ = f"Element-wise {name} of integer (or boolean) tensors; not differentiable."
    return _export(fn, name)


for _name, _uf, _bools in (("bitwise_and", np.bitwise_and, True),
                           ("bitwise_or", np.bitwise_or, True),
                           ("bitwise_xor", np.bitwise_xor, True),
                           ("bitwise_left_shift", np.left_shift, False),
                           ("bitwise_right_shift", np.right_shift, False)):
    _bitwise(_name, _uf, _bools)


def clip(x, /, min=None, max=None):
    """Clamp to [min, max]; the result keeps x's dtype (array bounds are cast to it)."""
    tensor_arg(x, "clip")
    if min is None and max is None:
        return x
    if hasattr(min, "_data"):
        min = cast(min, x.dtype)
    if hasattr(max, "_data"):
        max = cast(max, x.dtype)
    return x.clamp(min, max)


def where(condition, x1, x2, /):
    from .._functions import where as _where
    tensor_arg(condition, "where", "condition")
    a, b = promote(x1, x2, "where")
    return _where(condition, a, b)


del _name, _m, _node_cls, _fl, _uf, _bools
