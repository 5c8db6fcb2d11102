"""Activation functions: each graph node's forward beside its backward, on arrays."""
import math
import warnings

import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node
from ...autograd.ops_math import ReluBackward0, relabel, sigmoid_array
from .misc import float_check, inplace, type_title

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ---- erf in float64 numpy ------------------------------------------------------------------
# |x| < 1: the Maclaurin series of erf (alternating, tiny terms by n = 20).
# 1 <= |x| < 6: erfc(x) = exp(-x^2) h(x) with h smooth and slowly varying, interpolated by
# Chebyshev polynomials on intervals of width 0.5; the coefficients are fitted once from
# math.erfc (correct to about an ulp) with extended-precision sums.
# |x| >= 6: erf(x) rounds to +-1 in float64.
_TAYLOR = np.array([2.0 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1))
                    for n in range(21)])
_CHEB_LO, _CHEB_HI, _CHEB_W, _CHEB_DEG = 1.0, 6.0, 0.5, 13


def _fit_erfc_scaled():
    ld = np.longdouble
    n = _CHEB_DEG + 1
    theta = (np.arange(n, dtype=ld) + ld(0.5)) * ld(np.pi) / n
    nodes = np.cos(theta)
    count = int(round((_CHEB_HI - _CHEB_LO) / _CHEB_W))
    coefs = np.empty((count, n))
    cos_kt = np.cos(np.arange(n, dtype=ld)[:, None] * theta[None, :])
    for i in range(count):
        mid = _CHEB_LO + (i + 0.5) * _CHEB_W
        xs = [mid + 0.5 * _CHEB_W * float(t) for t in nodes]
        vals = np.array([math.erfc(x) * math.exp(x * x) for x in xs], ld)
        c = (cos_kt @ vals) * (ld(2) / n)
        c[0] /= 2
        coefs[i] = c.astype(np.float64)
    return coefs


_ERFC_COEFS = _fit_erfc_scaled()


def _erfc_scaled(a):
    """erfc(a) * exp(a^2) for 1 <= a <= 6 (float64), from the fitted Chebyshev pieces."""
    idx = np.minimum(((a - _CHEB_LO) / _CHEB_W).astype(np.intp), len(_ERFC_COEFS) - 1)
    t = (a - (_CHEB_LO + (idx + 0.5) * _CHEB_W)) * (2.0 / _CHEB_W)
    cf = _ERFC_COEFS[idx]
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    t2 = 2 * t
    for k in range(_CHEB_DEG, 0, -1):  # Clenshaw's recurrence, one coefficient per step
        b1, b2 = cf[:, k] + t2 * b1 - b2, b1
    return cf[:, 0] + t * b1 - b2


def erfc_array(x):
    """erfc of a float64 array, keeping its digits in the right tail (where 1 - erf loses
    them): the Chebyshev pieces up to 6, then the asymptotic series (15 terms suffice)."""
    x = np.asarray(x, dtype=np.float64)
    out = 1.0 - erf_array(x)
    mid = (x >= _CHEB_LO) & (x < _CHEB_HI)
    if mid.any():
        a = x[mid]
        out[mid] = _erfc_scaled(a) * np.exp(-a * a)
    far = x >= _CHEB_HI
    if far.any():
        a = x[far]
        inv = 1.0 / (2.0 * a * a)
        term = np.ones_like(a)
        series = np.ones_like(a)
        for k in range(1, 16):
            term = term * -(2 * k - 1) * inv
            series += term
        with np.errstate(under="ignore"):
            out[far] = np.exp(-a * a) / (a * math.sqrt(math.pi)) * series
    return out


def erf_array(x):
    """erf of a float array, within a few ulps of the correctly rounded float64 value."""
    if type(x) is not np.ndarray and hasattr(x, "device_spec"):
        return x.erf()  # a CUDA array: the device's erf
    x64 = np.asarray(x, dtype=np.float64)
    ax = np.abs(x64)
    out = np.empty_like(x64)
    small = ax < _CHEB_LO
    xs = x64[small]
    y = xs * xs
    p = np.full_like(y, _TAYLOR[-1])
    for c in _TAYLOR[-2::-1]:
        p *= y
        p += c
    out[small] = xs * p
    big = ~small
    a = np.fmin(ax[big], _CHEB_HI)  # fmin maps NaN to the top: a valid index, fixed below
    r = 1.0 - _erfc_scaled(a) * np.exp(-a * a)
    out[big] = np.copysign(np.where(ax[big] >= _CHEB_HI, 1.0, r), x64[big])
    out[np.isnan(x64)] = np.nan
    return out.astype(x.dtype, copy=False) if x.dtype.kind == "f" else out


# ---- nodes ---------------------------------------------------------------------------------
class LeakyReluBackward0(Node):
    def forward(self, a, slope):
        self.slope = slope
        self.save(a)
        return np.where(a > 0, a, a * slope).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        return (np.where(a > 0, g, g * self.slope).astype(g.dtype, copy=False),)


class EluBackward0(Node):
    def forward(self, a, alpha):
        self.alpha = alpha
        neg = alpha * np.expm1(np.minimum(a, 0))
        self.save(a)
        return np.where(a > 0, a, neg).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        d = self.alpha * np.exp(np.minimum(a, 0))
        return (np.where(a > 0, g, g * d).astype(g.dtype, copy=False),)


_GELU_K = math.sqrt(2.0 / math.pi)


class GeluBackward0(Node):
    def forward(self, a, approximate):
        self.approximate = approximate
        self.save(a)
        if approximate == "tanh":
            inner = _GELU_K * (a + 0.044715 * a * a * a)
            return (0.5 * a * (1 + np.tanh(inner))).astype(a.dtype, copy=False)
        cdf = 0.5 * (1.0 + erf_array(a.astype(np.float64) / _SQRT_2))
        return (a * cdf).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        if self.approximate == "tanh":
            a3 = a * a * a
            th = np.tanh(_GELU_K * (a + 0.044715 * a3))
            d = 0.5 * (1 + th) + 0.5 * a * (1 - th * th) * _GELU_K * (1 + 3 * 0.044715 * a * a)
            return ((g * d).astype(g.dtype, copy=False),)
        x = a.astype(np.float64)
        d = 0.5 * (1.0 + erf_array(x / _SQRT_2)) + x * _INV_SQRT_2PI * np.exp(-0.5 * x * x)
        return ((g * d).astype(g.dtype, copy=False),)


class SiluBackward0(Node):
    def forward(self, a):
        s = sigmoid_array(a)
        self.save(a, s)
        return a * s

    def backward(self, g):
        a, s = self.saved
        return (g * (s * (1 + a * (1 - s))),)


class SoftplusBackward0(Node):
    def forward(self, a, beta, threshold):
        self.beta, self.threshold = beta, threshold
        self.save(a)
        z = a * beta
        soft = np.logaddexp(0, z) / beta
        return np.where(z > threshold, a, soft).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        z = a * self.beta
        return (np.where(z > self.threshold, g, g * sigmoid_array(z)).astype(g.dtype,
                                                                             copy=False),)


class HardtanhBackward0(Node):
    def forward(self, a, lo, hi):
        self.lo, self.hi = lo, hi
        self.save(a)
        return np.clip(a, lo, hi).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        return (np.where((a > self.lo) & (a < self.hi), g, 0).astype(g.dtype, copy=False),)


class HardswishBackward0(Node):
    def forward(self, a):
        self.save(a)
        return (a * np.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        # PyTorch's slopes, boundaries included: 0 up to -3, x/3 + 1/2 inside, 1 from 3
        # (a NaN input falls through to the middle piece and gets a NaN slope, as PyTorch's
        # vectorized kernel gives it)
        d = np.where(a <= -3, 0, np.where(a >= 3, 1, a / 3 + 0.5))
        return ((g * d).astype(g.dtype, copy=False),)


class HardsigmoidBackward0(Node):
    def forward(self, a):
        self.save(a)
        return (np.clip(a + 3, 0, 6) / 6).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        return (np.where((a > -3) & (a < 3), g * (1 / 6), 0).astype(g.dtype, copy=False),)


class ThresholdBackward0(Node):
    def forward(self, a, threshold, value):
        self.threshold = threshold
        self.save(a)
        # replaced where a <= threshold: NaN compares false, so it stays NaN (and keeps its
        # gradient), as in PyTorch
        return np.where(a <= threshold, value, a).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        return (np.where(a <= self.threshold, 0, g).astype(g.dtype, copy=False),)


# ---- public functions ---------------------------------------------------------------------
def relu(input, inplace=False):
    try:  # (free for a Tensor; anything else gets PyTorch's TypeError)
        kind = input._data.dtype.kind
    except AttributeError:
        raise not_tensor("relu_" if inplace else "relu", input) from None
    if kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    if inplace:
        return relu_(input)
    return apply(ReluBackward0, (input,))


def relu_(input):
    try:
        kind = input._data.dtype.kind
    except AttributeError:
        raise not_tensor("relu_", input) from None
    if kind == "b":
        raise RuntimeError("Boolean inputs not supported for relu")
    return inplace(input, lambda t: apply(ReluBackward0, (t,)))


def not_tensor(name, value):
    """PyTorch's TypeError for an ``input`` that is not a Tensor."""
    return TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                     f"{type(value).__name__}")


def _float_only(input, kernel, name, inplace=False):
    """PyTorch's float-only activation kernels refuse integer and bool input (a dtype-kind
    test, so the float path stays cheap), and function ``name`` refuses a non-Tensor."""
    try:
        kind = input._data.dtype.kind
    except AttributeError:
        raise not_tensor(name + "_" if inplace else name, input) from None
    if kind in "biu":
        float_check(input, kernel)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    _float_only(input, "leaky_relu_cpu", "leaky_relu", inplace)
    fn = lambda t: apply(LeakyReluBackward0, (t,), float(negative_slope))  # noqa: E731
    return _maybe_inplace(input, fn, inplace)


def leaky_relu_(input, negative_slope=0.01):
    return leaky_relu(input, negative_slope, True)


def elu(input, alpha=1.0, inplace=False):
    _float_only(input, "elu_cpu", "elu", inplace)
    fn = lambda t: apply(EluBackward0, (t,), float(alpha))  # noqa: E731
    return _maybe_inplace(input, fn, inplace)


def elu_(input, alpha=1.0):
    return elu(input, alpha, True)


def gelu(input, approximate="none"):
    try:
        kind = input._data.dtype.kind
    except AttributeError:
        raise not_tensor("gelu", input) from None
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if kind != "f":
        float_check(input, "GeluKernelImpl")
    return apply(GeluBackward0, (input,), approximate)


def silu(input, inplace=False):
    _float_only(input, "silu_cpu", "silu", inplace)
    return _maybe_inplace(input, lambda t: apply(SiluBackward0, (t,)), inplace)


def softplus(input, beta=1.0, threshold=20.0):
    _float_only(input, "softplus_cpu", "softplus")
    return apply(SoftplusBackward0, (input,), float(beta), float(threshold))


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    try:
        kind = input._data.dtype.kind
    except AttributeError:
        raise not_tensor("hardtanh_" if inplace else "hardtanh", input) from None
    if kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if kind == "u" and (min_val < 0 or max_val < 0):
        raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
    fn = lambda t: apply(HardtanhBackward0, (t,), min_val, max_val)  # noqa: E731
    return _maybe_inplace(input, fn, inplace)


def relu6(input, inplace=False):
    if not hasattr(input, "_data"):
        raise not_tensor("relu6_" if inplace else "relu6", input)
    return hardtanh(input, 0.0, 6.0, inplace)


def prelu(input, weight):
    """input where positive, else weight * input; a 1-D weight holds one slope per channel."""
    from ... import _functions
    for position, (arg, value) in enumerate((("input", input), ("weight", weight)), 1):
        if not hasattr(value, "_data"):  # only tensors, as PyTorch's prelu
            raise TypeError(f"prelu(): argument '{arg}' (position {position}) must be Tensor, "
                            f"not {type(value).__name__}")
    if weight.dim() > 1:
        raise RuntimeError("prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.dim()}")
    channels = input.shape[1] if input.dim() >= 2 else 1
    n = weight.numel()
    if n != 1 and n != channels:
        raise RuntimeError("Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {n} and channel size = {channels}.")
    if weight._data.dtype != input._data.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{type_title(input._data.dtype)} and "
                           f"{type_title(weight._data.dtype)}")
    # a single slope broadcasts as a scalar (0-d input stays 0-d); else along dim 1
    w = weight.reshape(()) if n == 1 else weight.reshape((n,) + (1,) * (input.dim() - 2))
    # x == 0 takes the weight * x branch: gradient weight there, as in PyTorch
    return relabel(_functions.where(input > 0, input, w * input), "PreluKernelBackward0")


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input, inplace=False):
    _float_only(input, "elu_cpu", "selu", inplace)
    fn = lambda t: apply(EluBackward0, (t,), _SELU_ALPHA) * _SELU_SCALE  # noqa: E731
    return _maybe_inplace(input, fn, inplace, "EluBackward0")


def celu(input, alpha=1.0, inplace=False):
    _float_only(input, "elu_cpu", "celu", inplace)
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    alpha = float(alpha)
    # celu(x) = alpha * elu(x / alpha): the same curve, rescaled
    fn = lambda t: apply(EluBackward0, (t / alpha,), 1.0) * alpha  # noqa: E731
    if alpha < 0:  # x / alpha flips sign: the x > 0 branch must still follow x itself
        fn = lambda t: t.where(t > 0, alpha * (t.clamp(max=0) / alpha).expm1())  # noqa: E731
    return _maybe_inplace(input, fn, inplace, "CeluBackward0")


def mish(input, inplace=False):
    _float_only(input, "mish_cpu", "mish", inplace)
    return _maybe_inplace(input, lambda t: t * softplus(t).tanh(), inplace, "MishBackward0")


def hardswish(input, inplace=False):
    _float_only(input, "hardswish_cpu", "hardswish", inplace)
    return _maybe_inplace(input, lambda t: apply(HardswishBackward0, (t,)), inplace)


def hardsigmoid(input, inplace=False):
    _float_only(input, "hardsigmoid_cpu", "hardsigmoid", inplace)
    return _maybe_inplace(input, lambda t: apply(HardsigmoidBackward0, (t,)), inplace)


def softsign(input):
    return input / (input.abs() + 1)


def threshold(input, threshold, value, inplace=False):
    """input where it exceeds ``threshold``, else ``value``."""
    try:
        kind = input._data.dtype.kind
    except AttributeError:
        raise not_tensor("threshold_" if inplace else "threshold", input) from None
    if kind == "b":
        float_check(input, "threshold_cpu")
    threshold, value = _checked_threshold_args(input._data.dtype, threshold, value)
    fn = lambda t: apply(ThresholdBackward0, (t,), threshold, value)  # noqa: E731
    return _maybe_inplace(input, fn, inplace)


def _checked_threshold_args(dt, threshold, value):
    """PyTorch's overflow errors: ``value`` must fit the input's dtype (float16 included);
    for integer inputs so must ``threshold``, whose negative ints wrap into unsigned ones."""
    from ..._scalar_fill import checked_scalar, is_number
    if dt.kind in "iuf" and is_number(value):
        checked_scalar(value, dt)
    if dt.kind in "iu" and is_number(threshold):
        wrapped = checked_scalar(threshold, dt)
        if isinstance(threshold, (int, np.integer)):
            threshold = int(wrapped)
    return threshold, value


def threshold_(input, threshold, value):
    if not hasattr(input, "_data"):
        raise not_tensor("threshold_", input)
    threshold, value = _checked_threshold_args(input._data.dtype, threshold, value)
    return _maybe_inplace(input, lambda t: apply(ThresholdBackward0, (t,), threshold, value),
                          True)


def glu(input, dim=-1):
    """First half of ``dim`` gated by the sigmoid of the second half."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = input._dim(dim)
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {n}")
    _float_only(input, "glu_cpu", "glu")
    return relabel(input.narrow(d, 0, n // 2) * input.narrow(d, n // 2, n // 2).sigmoid(),
                   "GluBackward0")


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def logsigmoid(input):
    _float_only(input, "log_sigmoid_cpu", "log_sigmoid")
    if type(input._data) is np.ndarray and not input._data.flags.c_contiguous:
        from ..._tensor_layout import contiguous_format  # PyTorch's result is C-ordered
        input = input.clone(memory_format=contiguous_format)
    return relabel(-softplus(-input), "LogSigmoidBackward0")


def _maybe_inplace(input, fn, do_inplace, name=None):
    """``fn(input)``, or written into ``input`` when ``do_inplace``; ``name`` relabels the
    out-of-place result's node as PyTorch's fused op (when a graph was recorded)."""
    if do_inplace:
        return inplace(input, fn)
    out = fn(input)
    if name is not None and out.grad_fn is not None:
        relabel(out, name)
    return out


def _get_softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return input.softmax(dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return input.log_softmax(dim, dtype=dtype)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    if dtype is None and input._data.dtype.kind not in "fcb":  # bool: the negation's error
        input.softmax(dim)  # integer input: the same error as softmax
    return (-input).softmax(dim, dtype=dtype)
