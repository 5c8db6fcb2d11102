"""Elementwise Tensor methods of MiscMixin: inverse hyperbolics, exp2, the gamma family, i0,
fmax/fmin, gcd/lcm, bitwise ops, classification predicates and random fills."""
import math

import numpy as np

from . import _dtype as D
from .autograd.function import apply
from .autograd import ops_misc as M
from ._tensor_math import _float_input, operands
from ._dtype import scalar_type_name as _title


def _tensor_arg(fn, name, pos, x):
    from .tensor import Tensor
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {pos}) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _promoted(self, other):
    """self and other (tensor or scalar) converted to their common result dtype."""
    a, b, dt = operands(self, other)
    if dt is None:
        return a, b
    rd = D._FROM_NP[np.dtype(dt)]
    from .tensor import Tensor
    b = b if isinstance(b, Tensor) else _wrap_arr(b._data)
    return (a if a._data.dtype == dt else a.to(rd)), (b if b._data.dtype == dt else b.to(rd))


def _wrap_arr(arr):
    from .tensor import _wrap
    return _wrap(np.asarray(arr))


def _as_tensor(b):
    from .tensor import Tensor
    return b if isinstance(b, Tensor) else _wrap_arr(b._data)


def _not_implemented(kernel, arr):
    return NotImplementedError(f"\"{kernel}\" not implemented for '{_title(arr.dtype)}'")


def _int_binary(self, other, fn, kernel):
    """gcd/lcm/bitwise ops: integer (and for bitwise, bool) tensors only; never differentiable."""
    a, b = _promoted(self, other)
    b = _as_tensor(b)
    ok = "biu" if kernel.startswith("bitwise") else "iu"
    for t in (a, b):
        if t._data.dtype.kind not in ok:
            raise _not_implemented(kernel, t._data)
    try:
        return _wrap_arr(fn(a._data, b._data))
    except ValueError as e:
        from ._tensor_math_checks import broadcast_error
        raise broadcast_error(a, b, e) from None


class MiscMathMixin:
    __slots__ = ()

    # ---- inverse hyperbolics and exp2 ------------------------------------------------
    def asinh(self):
        return apply(M.AsinhBackward0, (_float_input(self),))

    def acosh(self):
        return apply(M.AcoshBackward0, (_float_input(self),))

    def atanh(self):
        return apply(M.AtanhBackward0, (_float_input(self),))

    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    def exp2(self):
        return apply(M.Exp2Backward0, (_float_input(self),))

    # ---- gamma family ---------------------------------------------------------------
    def lgamma(self):
        return apply(M.LgammaBackward0, (_float_input(self),))

    def digamma(self):
        return apply(M.DigammaBackward0, (_float_input(self),))

    def polygamma(self, n):
        # PyTorch's method takes n first too: x.polygamma(n)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        return apply(M.PolygammaBackward0, (_float_input(self),), int(n))

    def i0(self):
        return apply(M.I0Backward0, (_float_input(self),))

    def mvlgamma(self, p):
        """log of the multivariate gamma function of dimension p."""
        if p < 1:
            raise RuntimeError("p has to be greater than or equal to 1")
        x = _float_input(self)
        if not x._data.flags.c_contiguous:  # a sum over a fresh buffer: C-ordered
            from ._tensor_layout import contiguous_format
            x = x.clone(memory_format=contiguous_format)
        out = x.lgamma()
        for i in range(1, p):
            out = out + (x - i / 2).lgamma()
        from .autograd.ops_math import relabel
        return relabel(out + p * (p - 1) / 4 * math.log(math.pi), "MvlgammaBackward0")

    # ---- binary ---------------------------------------------------------------------
    def _fminmax(self, other, fn, bigger):
        _tensor_arg(fn, "other", 2, other)
        a, b = _promoted(self, other)
        # self wins ties; a NaN loses to a number, so the gradient follows the value taken
        cond = (a >= b) if bigger else (a <= b)
        if a._data.dtype.kind == "f":
            cond = cond | b.isnan()
        from ._functions import where
        return where(cond, a, b)

    def fmax(self, other):
        return self._fminmax(other, "fmax", True)

    def fmin(self, other):
        return self._fminmax(other, "fmin", False)

    def gcd(self, other):
        _tensor_arg("gcd", "other", 2, other)
        return _int_binary(self, other, np.gcd, "gcd_cpu")

    def lcm(self, other):
        _tensor_arg("lcm", "other", 2, other)
        return _int_binary(self, other, np.lcm, "lcm_cpu")

    def bitwise_and(self, other):
        return _int_binary(self, other, np.bitwise_and, "bitwise_and_cpu")

    def bitwise_or(self, other):
        return _int_binary(self, other, np.bitwise_or, "bitwise_or_cpu")

    def bitwise_xor(self, other):
        return _int_binary(self, other, np.bitwise_xor, "bitwise_xor_cpu")

    def bitwise_not(self):
        if self._data.dtype.kind not in "biu":
            raise _not_implemented("bitwise_not_cpu", self._data)
        return _wrap_arr(np.invert(self._data))

    # ---- predicates -------------------------------------------------------------------
    def isposinf(self):
        return _wrap_arr(np.isposinf(self._data) if self._data.dtype.kind == "f"
                         else np.zeros(self._data.shape, bool))

    def isneginf(self):
        return _wrap_arr(np.isneginf(self._data) if self._data.dtype.kind == "f"
                         else np.zeros(self._data.shape, bool))

    def isreal(self):
        return _wrap_arr(np.ones(self._data.shape, bool))

    def is_signed(self):
        return self._data.dtype.kind in "if"

    def is_complex(self):
        return False

    def is_conj(self):
        return False

    def is_neg(self):
        return False

    def resolve_conj(self):
        return self

    def resolve_neg(self):
        return self

    def conj(self):
        return self

    def conj_physical(self):
        return self.clone()

    def conj_physical_(self):
        return self

    @property
    def real(self):
        return self

    @property
    def imag(self):
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    def angle(self):
        """0 for non-negative numbers, pi for negative ones (NaN stays NaN)."""
        x = _float_input(self)
        # keeps x's graph (the derivative of angle is zero everywhere), finite at +-inf
        zero = x.sign() * 0
        a = x._data
        values = np.where(a < 0, math.pi, np.where(a == a, 0.0, np.nan))
        return zero + _wrap_arr(values.astype(a.dtype))

    # ---- random fills -----------------------------------------------------------------
    def _random_fill_(self, values):
        self._check_inplace()
        self._data[...] = values
        return self._bump()

    def _uniform_draw(self, generator):
        from .random import draw_uniform
        dt = self._data.dtype if self._data.dtype.kind == "f" else np.float64
        return draw_uniform(self._data.shape, np.float64 if dt == np.float16 else dt, generator)

    def _continuous(self, name):
        if self._data.dtype.kind != "f":
            word = "long int" if name == "Cauchy" else _title(self._data.dtype)
            raise RuntimeError(f"{name} distribution is a continuous probability distribution. "
                               f"dtype must be a floating point but you specified {word}")

    def exponential_(self, lambd=1.0, *, generator=None):
        if not lambd > 0:
            raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
        self._continuous("Exponential")
        u = self._uniform_draw(generator)
        return self._random_fill_(-np.log1p(-u) / lambd)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        if not sigma > 0:
            raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
        self._continuous("Cauchy")
        u = self._uniform_draw(generator)
        return self._random_fill_(median + sigma * np.tan(math.pi * (u - 0.5)))

    def geometric_(self, p, *, generator=None):
        if not 0 < p < 1:
            raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
        from .random import draw_uniform
        u = draw_uniform(self._data.shape, np.float64, generator)
        # number of Bernoulli(p) trials up to and including the first success
        return self._random_fill_(np.maximum(np.ceil(np.log1p(-u) / math.log1p(-p)), 1))

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        if not std > 0:
            raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
        if self._data.dtype.kind != "f":
            raise _not_implemented("log_normal_cpu", self._data)
        from .random import draw_normal
        z = draw_normal(self._data.shape, np.float64, generator)
        return self._random_fill_(np.exp(mean + std * z))

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from ._creation import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)
