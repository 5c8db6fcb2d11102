"""Top-level order statistics and small numeric helpers: median, mode, kthvalue, quantile,
cummax, diff, tensordot, tensor_split, logit, sinc, copysign, trapezoid, gradient, ...

The order statistics are Tensor methods (fastnn._tensor_select) reached through thin
wrappers; the numeric helpers are composed of fastnn's differentiable Tensor ops, except a
few elementwise ones with their own nodes (fastnn.autograd.ops_select).
"""
import numpy as np

from . import _dtype as D
from . import _functions as F
from .autograd.function import apply
from .autograd import ops_select as S
from ._tensor_math import _float_input, _nograd
from ._functions_more import _pair, _float_pair, _need_float
from ._dtype import scalar_type_name as _title

__all__ = [
    "median", "nanmedian", "mode", "kthvalue", "quantile", "nanquantile", "cummax", "cummin",
    "aminmax", "msort", "diff", "isin", "tensordot", "inner", "vdot", "tensor_split", "logit",
    "sinc", "copysign", "sgn", "trapezoid", "trapz", "cumulative_trapezoid", "renorm",
    "gradient", "frexp", "ldexp", "float_power", "fix", "positive", "logaddexp2",
    "nextafter",
]


def _T():
    from .tensor import Tensor
    return Tensor


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


# the order statistics are Tensor methods; these wrappers add ``out=``
median, nanmedian, mode = F._method("median"), F._method("nanmedian"), F._method("mode")
kthvalue, msort, aminmax = F._method("kthvalue"), F._method("msort"), F._method("aminmax")
quantile, nanquantile = F._method("quantile"), F._method("nanquantile")
cummax, cummin = F._method("cummax"), F._method("cummin")


# ---- differences and contractions ------------------------------------------------------------
def diff(input, n=1, dim=-1, prepend=None, append=None, *, axis=None):
    """The n-th forward difference out[i] = x[i+1] - x[i] along dim (xor for bool)."""
    if axis is not None:  # numpy's name for dim
        dim = axis
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = input._dim(dim)
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    if n == 0:  # prepend and append are checked by nothing and ignored
        return input.clone()
    parts = []
    for extra in (prepend, input, append):
        if extra is None:
            continue
        if extra is not input:
            if not isinstance(extra, _T()):
                from ._creation import tensor
                extra = tensor(extra, dtype=input.dtype)
            if extra.dim() != input.dim():
                raise RuntimeError("diff expects prepend or append to be the same dimension as "
                                   "input")
            for k, (s, e) in enumerate(zip(input.shape, extra.shape)):
                if k != d and s != e:
                    raise RuntimeError(
                        "diff expects the shape of tensor to prepend or append to match that "
                        f"of input except along the differencing dimension; input.size({k}) = "
                        f"{s}, but got tensor.size({k}) = {e}")
        parts.append(extra)
    x = F.cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):  # one pass per order, each vectorized
        size = x.shape[d]
        if size == 0:
            break
        hi, lo = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
        x = hi.logical_xor(lo) if x._data.dtype.kind == "b" else hi - lo
    return x


def _dim_list(dims, nd):
    if isinstance(dims, _T()):
        dims = dims.tolist()
    return [int(x) for x in (dims if isinstance(dims, (list, tuple)) else [dims])]


def tensordot(a, b, dims=2, out=None):
    """Sum over the paired dims of a and b: the last ``dims`` of a with the first of b, or
    the dims in the lists dims = (dims_a, dims_b)."""
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if _is_int(dims):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.dim() or dims > b.dim():
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got "
                               f"dims={dims}")
        da, db = list(range(-dims, 0)), list(range(dims))
    else:
        if isinstance(dims, _T()):
            dims = dims.tolist()
        if not isinstance(dims, (list, tuple)) or len(dims) != 2:
            raise TypeError("tensordot(): dims must be an int or a pair of lists of dims")
        da, db = _dim_list(dims[0], a.dim()), _dim_list(dims[1], b.dim())
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    ca, cb = [a._dim(x) for x in da], [b._dim(x) for x in db]
    for x, y, i, j in zip(da, db, ca, cb):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[i]} in dim {x} and second has size {b.shape[j]} in "
                               f"dim {y}")
    fa = [i for i in range(a.dim()) if i not in ca]
    fb = [j for j in range(b.dim()) if j not in cb]
    k = int(np.prod([a.shape[i] for i in ca], dtype=np.int64))
    am = a.permute(*(fa + ca)).reshape(-1, k)
    bm = b.permute(*(cb + fb)).reshape(k, -1)
    res = am.matmul(bm).reshape(tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb))
    return res if out is None else F._into(out, res, "tensordot")


def inner(input, other):
    """Sum over the last dims of both: out[..., ...] = sum_k input[..., k] * other[..., k]."""
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def vdot(input, other):
    """sum_i input[i] * other[i] for two 1-D tensors (real: no conjugation needed)."""
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D "
                           "tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and "
                           f"src [{other.shape[0]}] to have the same number of elements, but "
                           f"got {input.shape[0]} and {other.shape[0]} elements respectively")
    if input.dtype != other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_title(input._data.dtype)} and {_title(other._data.dtype)}")
    return (input * other).sum()


def tensor_split(input, *args, **kwargs):
    """Views of input along dim: ``sections`` near-equal parts (the first ones one longer),
    or the parts between the given indices (Python slice bounds)."""
    from ._tensor_select import tensor_split_args
    indices_or_sections, dim = tensor_split_args(args, kwargs)
    if input.dim() == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = input._dim(dim)
    spec = indices_or_sections
    if isinstance(spec, _T()):
        if spec._data.dtype.kind not in "iu":
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have dtype "
                               f"of long, but got {_title(spec._data.dtype)}")
        if spec.dim() > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to be a "
                               "zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {spec.dim()} dims")
        spec = int(spec.item()) if spec.dim() == 0 else [int(v) for v in spec.tolist()]
    pre = (slice(None),) * d
    if _is_int(spec):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        q, r = divmod(input.shape[d], spec)
        sizes = [q + 1] * r + [q] * (spec - r)
        bounds = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        return tuple(input[pre + (slice(bounds[i], bounds[i + 1]),)] for i in range(spec))
    if not isinstance(spec, (list, tuple)) or not all(_is_int(v) for v in spec):
        raise TypeError("tensor_split(): argument 'indices' must be tuple of ints, not "
                        f"{type(spec).__name__}")
    edges = [None] + list(spec) + [None]
    return tuple(input[pre + (slice(edges[i], edges[i + 1]),)] for i in range(len(spec) + 1))


# ---- elementwise -----------------------------------------------------------------------------
def logit(input, eps=None):
    """log(z / (1 - z)) with z = input clamped to [eps, 1 - eps] when eps is given."""
    x = _float_input(input)
    return apply(S.LogitBackward0, (x,), None if eps is None or eps < 0 else float(eps))


def sinc(input):
    """sin(pi x) / (pi x), and 1 at x = 0."""
    return apply(S.SincBackward0, (_float_input(input),))


def copysign(input, other):
    """|input| with the sign (bit) of other; the result is floating point."""
    a, b = _float_pair(input, other)
    try:
        return apply(S.CopysignBackward0, (a, b))
    except ValueError as e:
        from ._tensor_math_checks import broadcast_error
        raise broadcast_error(a, b, e) from None


def sgn(input):
    """The sign of each element (-1, 0 or 1; NaN stays NaN); bool input comes back as is."""
    return input.clone() if input._data.dtype.kind == "b" else input.sign()


def fix(input):
    """Rounds towards zero (trunc)."""
    return input.trunc()


def positive(input):
    """input itself (the unary + operator); bool input is an error."""
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2**exponent, |mantissa| in [0.5, 1)."""
    if input._data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    from .autograd.function import apply_node
    m, node = apply_node(S.FrexpBackward0, (input,))
    return frexp_type(m, _nograd(node.exponent))


def ldexp(input, other):
    """input * 2**other."""
    from ._creation import tensor
    if not isinstance(other, _T()):
        other = tensor(other)
    rd = D.promote(input.dtype, input.dim(), other.dtype, other.dim())
    rd = rd if rd.is_floating_point else D.get_default_dtype()
    p = 2.0 ** other
    out = input * (p if p.is_floating_point() else p.to(D.get_default_dtype()))
    return out if out.dtype is rd else out.to(rd)  # float16 input stays float16


def float_power(input, exponent):
    """input ** exponent computed in float64."""
    Tensor = _T()
    if isinstance(input, Tensor):
        base = input.to(D.float64)
        return base.pow(exponent.to(D.float64) if isinstance(exponent, Tensor) else
                        float(exponent))
    return float(input) ** exponent.to(D.float64)


def logaddexp2(input, other):
    """log2(2**input + 2**other), without overflow."""
    from ._functions_more import _stable_binary
    from .autograd.ops_log_hypot import Logaddexp2Backward0
    return _stable_binary(Logaddexp2Backward0, input, other, "logaddexp2_cpu")


def nextafter(input, other):
    """The next representable float after input in the direction of other (the gradient
    passes to input unchanged, as PyTorch defines it)."""
    Tensor = _T()
    if not isinstance(other, Tensor):
        raise TypeError(f"nextafter(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    a, b = _pair(input, other)
    _need_float(a, "nextafter_cpu")
    try:
        return apply(S.NextafterBackward0, (a, b))
    except ValueError as e:
        from ._tensor_math_checks import broadcast_error
        raise broadcast_error(a, b, e) from None


from ._functions_select_calc import (trapezoid, trapz, cumulative_trapezoid, renorm,  # noqa
                                     gradient, isin, frexp_type)
