"""Arithmetic and elementwise math as Tensor methods (a mixin of Tensor); comparisons and
logic live in fastnn._tensor_compare."""
import numpy as np

from . import _dtype as D
from .autograd import grad_mode
from .autograd.function import apply
from .autograd import ops_math as M
from .autograd.ops_linalg import MmBackward0, AddmmBackward0
from ._dtype import c_type_name as _short
from ._tensor_lerp import check_lerp, lerp_value
from ._tensor_argcheck import bool_matmul_error, check_bmm
from ._matmul_names import matmul_node_name as _matmul_node_name
from ._scalar_operands import float_operands, checked_alpha, zero_remainder_sign
from ._scalar_fill import check_float_fits, checked_scalar
from ._tensor_math_checks import broadcast_error, _no_bool, _check_int_zero_division, \
    check_same_device, _float_dt, axes_of, _required, _pick, _bool_sub_error  # noqa: F401

_state = grad_mode.state
_ndarray = np.ndarray
_BOOL = np.dtype(bool)


class Const:
    """A Python scalar lifted to a 0-d array: an op input that never needs a gradient."""
    __slots__ = ("_data",)
    _rg = False
    grad_fn = None
    _vc = [0]

    def __init__(self, arr):
        self._data = arr


Tensor = None  # fastnn.tensor sets these two (the modules import each other)
_wrap = None


def operands(a, b):
    """(a, b, dt): b lifted from a scalar if needed; dt is the result dtype when it differs."""
    if isinstance(b, Tensor):
        da, db = a._data.dtype, b._data.dtype
        if type(a._data) is not type(b._data):
            check_same_device(a, b)
        if da is db:
            return a, b, None
        rd = D.promote(D._FROM_NP[da], a._data.ndim, D._FROM_NP[db], b._data.ndim)
        return a, b, rd.np
    if type(b) is float and a._data.dtype.kind == "f":
        # the common `x * 0.5`: a Python float never changes a floating tensor's dtype
        return a, Const(np.asarray(b, a._data.dtype)), None
    if isinstance(b, _ndarray):
        from ._creation import tensor
        return operands(a, tensor(b))
    if not isinstance(b, (int, float, bool, np.number, np.bool_)):
        raise TypeError(f"unsupported operand type(s): 'Tensor' and '{type(b).__name__}'")
    fd = D._FROM_NP[a._data.dtype]
    rd = D.promote_scalar(fd, b)
    try:
        arr = np.asarray(b, rd.np)
    except OverflowError:
        arr = _wrapped_scalar(b, rd)
    return a, Const(arr), (None if rd is fd else rd.np)


def _wrapped_scalar(b, rd):
    """A Python int outside an integer dtype's range wraps around, as PyTorch's kernels do."""
    if rd.np.kind == "f" or not -2 ** 63 <= b < 2 ** 64:
        raise OverflowError("int too big to convert")
    return np.asarray(b & (2 ** 64 - 1), np.uint64).astype(rd.np)


def _float_input(t):
    """exp/log/sqrt/... of an integer tensor compute in the default float dtype."""
    if t._data.dtype.kind in "biu":
        return _wrap(t._data.astype(D.get_default_dtype().np))
    return t


class MathMixin:
    __slots__ = ()

    # ---- binary arithmetic ---------------------------------------------------------
    def add(self, other, *, alpha=1):
        a, b, dt = operands(self, other)
        if type(alpha) is not int or alpha != 1:
            alpha = checked_alpha(alpha, dt if dt is not None else a._data.dtype, "add")
        try:
            return apply(M.AddBackward0, (a, b), dt, alpha)
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def sub(self, other, *, alpha=1):
        a, b, dt = operands(self, other)
        if a._data.dtype is _BOOL or b._data.dtype is _BOOL or type(other) is bool:
            _bool_sub_error(a, b)
        if type(alpha) is not int or alpha != 1:
            alpha = checked_alpha(alpha, dt if dt is not None else a._data.dtype, "sub")
        try:
            return apply(M.SubBackward0, (a, b), dt, alpha)
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def mul(self, other):
        a, b, dt = operands(self, other)
        try:
            return apply(M.MulBackward0, (a, b), dt)
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def div(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            if rounding_mode not in ("trunc", "floor"):
                raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                                   f"'floor' but found '{rounding_mode}'")
            a, b, dt = operands(self, other)
            _no_bool(a, b, "div_" + rounding_mode + "_cpu")
            _check_int_zero_division(a, b, dt)
            try:
                return apply(M.DivBackward2, (a, b), dt, rounding_mode)
            except ValueError as e:
                raise broadcast_error(a, b, e) from None
        a, b, dt = float_operands(self, other)
        try:
            return apply(M.DivBackward0, (a, b), dt)
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def pow(self, exponent):
        if not isinstance(exponent, Tensor) and isinstance(exponent, (int, float)):
            fd = D._FROM_NP[self._data.dtype]
            rd = D.promote_scalar(fd, exponent)
            if rd.np.kind != "f":
                if exponent < 0:
                    raise RuntimeError("Integers to negative integer powers are not allowed.")
                if rd.np.kind == "b":  # bool ** bool stays bool: x ** True is x, x ** False is 1
                    return _nograd(np.logical_or(self._data, not exponent))
                checked_scalar(exponent, rd.np)  # an exponent the dtype cannot hold raises
            return apply(M.PowBackward0, (self if rd is fd else self.to(rd),), exponent)
        a, b, dt = operands(self, exponent)
        return _pow(a, b, dt)

    def __rpow__(self, base):
        if type(self._data) is np.ndarray and not self._data.flags.c_contiguous:
            # PyTorch's (Number, Tensor) pow writes a fresh C-ordered result
            from ._tensor_layout import contiguous_format
            self = self.clone(memory_format=contiguous_format)
        a, b, dt = operands(self, base)
        out = _pow(b, a, dt)
        if out.grad_fn is not None:  # scalar ** tensor: PyTorch's pow overload 2
            M.relabel(out, "PowBackward2")
        return out

    def maximum(self, other):
        a, b, dt = operands(self, other)
        try:
            return apply(M.MaximumBackward0, (a, b), dt)
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def minimum(self, other):
        a, b, dt = operands(self, other)
        try:
            return apply(M.MinimumBackward0, (a, b), dt)
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def floor_divide(self, other):
        a, b, dt = operands(self, other)
        return _floor_divide(a, b, dt)

    def remainder(self, other):
        a, b, dt = operands(self, other)
        return _remainder(a, b, dt)

    def fmod(self, other):
        a, b, dt = operands(self, other)
        return _remainder(a, b, dt, True)

    def matmul(self, other):
        from .tensor import Tensor
        if not isinstance(other, Tensor):
            raise TypeError(f"matmul(): argument 'other' must be Tensor, not "
                            f"{type(other).__name__}")
        check_same_device(self, other)
        a, b = self._data, other._data
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                               f"{a.ndim}D and {b.ndim}D")
        if a.dtype != b.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_short(a.dtype)} != {_short(b.dtype)}")
        k1 = a.shape[-1]
        k2 = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if k1 != k2:
            if a.ndim <= 2 and b.ndim <= 2:
                if a.ndim == 1 and b.ndim == 1:
                    raise RuntimeError("inconsistent tensor size, expected tensor [%d] and src "
                                       "[%d] to have the same number of elements, but got %d "
                                       "and %d elements respectively" % (k1, k2, k1, k2))
                sa = "x".join(map(str, a.shape if a.ndim == 2 else (1,) + a.shape))
                sb = "x".join(map(str, b.shape if b.ndim == 2 else b.shape + (1,)))
                raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb})")
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                               f"[{k1}] but got: [{k2}].")
        if a.ndim > 2 and b.ndim > 2:  # the batch dimensions broadcast like elementwise ops
            ba, bb = a.shape[:-2], b.shape[:-2]
            for i in range(1, min(len(ba), len(bb)) + 1):
                if ba[-i] != bb[-i] and 1 not in (ba[-i], bb[-i]):
                    raise RuntimeError(
                        f"The size of tensor a ({ba[-i]}) must match the size of tensor b "
                        f"({bb[-i]}) at non-singleton dimension {max(len(ba), len(bb)) - i}")
        if a.dtype.kind == "b" and (k1 or a.ndim == b.ndim == 1):
            raise bool_matmul_error(a.ndim, b.ndim)
        out = apply(MmBackward0, (self, other))
        if out.grad_fn is not None and (a.ndim != 2 or b.ndim != 2):
            M.relabel(out, _matmul_node_name(a.shape, b.shape))
        return out

    def mm(self, mat2):
        if self._data.ndim != 2:
            raise RuntimeError("self must be a matrix")
        if mat2._data.ndim != 2:
            raise RuntimeError("mat2 must be a matrix")
        return self.matmul(mat2)

    def bmm(self, mat2):
        if self._data.ndim != 3:
            raise RuntimeError("batch1 must be a 3D tensor")
        if mat2._data.ndim != 3:
            raise RuntimeError("batch2 must be a 3D tensor")
        check_bmm(self._data, mat2._data, D.scalar_type_name)
        return M.relabel(self.matmul(mat2), "BmmBackward0")

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        mat1.mm(mat2) if mat1._data.shape[-1] != mat2._data.shape[0] else None
        product_shape = (mat1._data.shape[0], mat2._data.shape[-1])
        if self._data.shape != product_shape:  # PyTorch's expand message, not numpy's
            from ._tensor_argcheck import expand_target
            expand_target(self._data.shape, product_shape)
        return apply(AddmmBackward0, (self, mat1, mat2), beta, alpha)

    def dot(self, tensor):
        other = tensor  # PyTorch's parameter name is ``tensor``
        if self._data.ndim != 1 or other._data.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self._data.ndim}D and "
                               f"{other._data.ndim}D tensors")
        if self._data.dtype != other._data.dtype:
            raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                               f"{D.scalar_type_name(self._data.dtype)} and "
                               f"{D.scalar_type_name(other._data.dtype)}")
        return M.relabel(self.matmul(other), "DotBackward0")

    __add__ = add
    __radd__ = add
    __sub__ = sub
    __mul__ = mul
    __rmul__ = mul
    __truediv__ = div
    __floordiv__ = floor_divide
    __mod__ = remainder
    __pow__ = pow
    __matmul__ = matmul

    def __rsub__(self, other):
        a, b, dt = operands(self, other)
        if a._data.dtype.kind == "b" or b._data.dtype.kind == "b" or type(other) is bool:
            _bool_sub_error(a, b)
        try:
            out = apply(M.SubBackward0, (b, a), dt, 1)
        except ValueError as e:
            raise broadcast_error(b, a, e) from None
        if out.grad_fn is not None:  # scalar - tensor: PyTorch's rsub overload 1
            M.relabel(out, "RsubBackward1")
        return out

    def __rtruediv__(self, other):
        a, b, dt = float_operands(self, other)
        try:
            out = apply(M.DivBackward0, (b, a), dt)
        except ValueError as e:  # (PyTorch names self as tensor a here)
            raise broadcast_error(a, b, e) from None
        if out.grad_fn is not None:  # PyTorch: number / x is x.reciprocal() * number
            M.relabel(out, "MulBackward0")
        return out

    def __rfloordiv__(self, other):
        a, b, dt = operands(self, other)
        return _floor_divide(b, a, dt)

    def __rmod__(self, other):
        a, b, dt = operands(self, other)
        return _remainder(b, a, dt)

    def __rmatmul__(self, other):
        from ._creation import tensor
        return tensor(other).matmul(self)

    # ---- unary --------------------------------------------------------------------
    def __neg__(self):
        if self._data.dtype.kind == "b":
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return apply(M.NegBackward0, (self,))

    neg = negative = __neg__

    def __pos__(self):
        return self

    def abs(self):
        return apply(M.AbsBackward0, (self,))

    __abs__ = absolute = abs

    def sign(self):
        if self._data.dtype.kind == "b":  # the sign of a bool is itself, as in PyTorch
            return self.clone()
        return apply(M.SignBackward0, (self,))

    def exp(self):
        return apply(M.ExpBackward0, (_float_input(self),))

    def expm1(self):
        return apply(M.Expm1Backward0, (_float_input(self),))

    def log(self):
        return apply(M.LogBackward0, (_float_input(self),))

    def log1p(self):
        return apply(M.Log1PBackward0, (_float_input(self),))

    def sqrt(self):
        return apply(M.SqrtBackward0, (_float_input(self),))

    def rsqrt(self):
        return apply(M.RsqrtBackward0, (_float_input(self),))

    def sin(self):
        return apply(M.SinBackward0, (_float_input(self),))

    def cos(self):
        return apply(M.CosBackward0, (_float_input(self),))

    def tanh(self):
        return apply(M.TanhBackward0, (_float_input(self),))

    def sigmoid(self):
        return apply(M.SigmoidBackward0, (_float_input(self),))

    def relu(self):
        return apply(M.ReluBackward0, (self,))

    def square(self):
        return self.pow(2)

    def reciprocal(self):
        return M.relabel(1.0 / _float_input(self), "ReciprocalBackward0")

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        from .tensor import Tensor
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return _clamp_tensor_bounds(self, min, max)
        src = self
        if self._data.dtype.kind != "f":  # a float bound makes an integer tensor float
            fd = rd = D._FROM_NP[self._data.dtype]
            for bound in (min, max):
                if bound is not None:
                    rd = D.promote_types(rd, D.promote_scalar(fd, bound))
            src = self if rd is fd else self.to(rd)
            if rd.np.kind in "iu":  # integer bounds: PyTorch's range check (-1 wraps in uint8)
                min = None if min is None else checked_scalar(min, rd.np)
                max = None if max is None else checked_scalar(max, rd.np)
        else:  # a bound past float16/float32's range raises, as in PyTorch
            check_float_fits(min, self._data.dtype)
            check_float_fits(max, self._data.dtype)
        return apply(M.ClampBackward1, (src,), min, max)

    clip = clamp

    def clamp_min(self, min):
        out = self.clamp(min=min)
        if out.grad_fn is not None and not isinstance(min, (int, float)):
            M.relabel(out, "ClampMinBackward1")  # PyTorch's overload for a tensor bound
        return out

    def clamp_max(self, max):
        out = self.clamp(max=max)
        if out.grad_fn is not None and not isinstance(max, (int, float)):
            M.relabel(out, "ClampMaxBackward1")
        return out

    def floor(self):
        _no_bool_rounding(self, "floor")
        return apply(M.ROUNDING["FloorBackward0"], (self,), np.floor, "FloorBackward0")

    def ceil(self):
        _no_bool_rounding(self, "ceil")
        return apply(M.ROUNDING["CeilBackward0"], (self,), np.ceil, "CeilBackward0")

    def round(self, *, decimals=0):
        kind = self._data.dtype.kind
        if kind == "b" or (decimals and kind in "iu"):  # PyTorch has no such kernels
            kernel = "round_cpu" if decimals else "round_vml_cpu"
            raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                      f"'{D.scalar_type_name(self._data.dtype)}'")
        name = "RoundBackward1" if decimals else "RoundBackward0"
        return apply(M.ROUNDING[name], (self,), np.round, name, decimals)

    def trunc(self):
        _no_bool_rounding(self, "trunc")
        return apply(M.ROUNDING["TruncBackward0"], (self,), np.trunc, "TruncBackward0")

    def lerp(self, end, weight):
        from .tensor import Tensor
        check_lerp(self, end, weight, "lerp")
        return M.relabel(lerp_value(self, end, weight),
                         "LerpBackward1" if isinstance(weight, Tensor) else "LerpBackward0")

def _no_bool_rounding(t, op):
    if t._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{op}_vml_cpu\" not implemented for 'Bool'")


def _pow(a, b, dt):
    _no_bool(a, b, "pow")
    try:
        return apply(M.PowBackward1, (a, b), dt)
    except ValueError as e:
        raise broadcast_error(a, b, e) from None


def _floor_divide(a, b, dt):
    """Never differentiable; integer division by zero raises."""
    _no_bool(a, b, "div_floor_cpu")
    _check_int_zero_division(a, b, dt)
    def divide(x, y):
        return np.floor_divide(x, y, dtype=dt, casting="unsafe")
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            if not (a._rg or b._rg) or not grad_mode.state.enabled:
                return _nograd(divide(a._data, b._data))
            # the result joins the graph, and backward through it raises, as in PyTorch
            from .autograd.ops_select import NotImplementedBackward
            return apply(NotImplementedBackward, (a, b), divide,
                         "derivative for aten::floor_divide is not implemented")
    except ValueError as e:
        raise broadcast_error(a, b, e) from None


def _remainder(a, b, dt, trunc=False):
    """remainder (trunc=False) or fmod: gradient 1 for a, -floor(a / b) (or trunc) for b."""
    _no_bool(a, b, "fmod_cpu" if trunc else "remainder_cpu")
    _check_int_zero_division(a, b, dt)
    try:
        out = apply(M.RemainderBackward0, (a, b), dt, trunc)
    except ValueError as e:
        raise broadcast_error(a, b, e) from None
    if not trunc:
        zero_remainder_sign(out._data, a._data)
    return out


def _clamp_tensor_bounds(t, lo, hi):
    """clamp where a bound is a tensor: one node over input and bounds (Python-number bounds
    ride along as constants), in the dtype all of them promote to."""
    from .autograd.ops_ties import ClampBackward0
    rd, nd = D._FROM_NP[t._data.dtype], t._data.ndim
    for b in (lo, hi):
        if isinstance(b, Tensor):
            check_same_device(t, b)
            rd = D.promote(rd, nd, D._FROM_NP[b._data.dtype], b._data.ndim)
            nd = max(nd, b._data.ndim)
        elif b is not None:
            rd = D.promote_scalar(rd, b)
    ins = [t] + [Const(None) if b is None else b if isinstance(b, Tensor) else
                 Const(np.asarray(b, rd.np)) for b in (lo, hi)]
    try:
        return apply(ClampBackward0, tuple(ins), rd.np)
    except ValueError:
        from ._functions import _check_broadcast  # names the pair that does not broadcast
        _check_broadcast(*(tuple(x.shape) for x in (t, lo, hi) if isinstance(x, Tensor)))
        raise


def _nograd(arr):
    return _wrap(arr if isinstance(arr, _ndarray) or hasattr(arr, "device_spec") else
                 np.asarray(arr))


