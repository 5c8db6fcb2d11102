"""More module-level functions: distances, special functions, NaN-aware reductions and fused
multiply-adds; rearranging, searching and statistics live in fastnn._functions_shape_stats
and are re-exported here.

They are composed of fastnn's differentiable Tensor ops, so autograd works through them.
Python's min/max/sum are reached through ``_builtins`` (fastnn defines its own).
"""
import builtins as _builtins
import math
import warnings

import numpy as np

from . import _dtype as D
from . import _functions as F
from ._tensor_math import _float_input, _nograd
from .autograd.ops_math import relabel
from ._dtype import scalar_type_name as _title
from ._tensor_select import _numpy_names

__all__ = [
    "cdist", "pdist", "dist", "cosine_similarity", "pairwise_distance",
    "set_float32_matmul_precision", "get_float32_matmul_precision",
    "std_mean", "var_mean", "nanmean", "nansum", "nan_to_num", "logaddexp", "xlogy", "hypot",
    "igamma", "igammac",
    "frac", "signbit", "heaviside", "erf", "erfc", "erfinv", "addcmul", "addcdiv", "baddbmm",
    "addmv", "kron", "matrix_power",
    "rot90", "fliplr", "flipud", "triu_indices", "tril_indices", "cartesian_prod", "block_diag",
    "column_stack", "searchsorted", "bucketize", "histc", "cov", "corrcoef", "logcumsumexp",
]


def _T():
    from .tensor import Tensor
    return Tensor


def _pair(a, b):
    """Both operands as tensors of their promoted dtype (a Python scalar follows the tensor)."""
    Tensor = _T()
    from ._creation import tensor
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a)
    if not isinstance(b, Tensor):
        b = tensor(b, dtype=D.promote_scalar(a.dtype, b))
    elif not isinstance(a, Tensor):
        a = tensor(a, dtype=D.promote_scalar(b.dtype, a))
    dt = D.promote(a.dtype, a.dim(), b.dtype, b.dim())
    return (a if a.dtype == dt else a.to(dt)), (b if b.dtype == dt else b.to(dt))


def _float_pair(a, b):
    """Both operands in the floating dtype they promote to, each converted straight to it:
    an int8 -3 beside a uint8 tensor stays -3, and an int scalar never wraps through the
    tensor's integer dtype."""
    Tensor = _T()
    from ._creation import tensor
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a)
    if isinstance(a, Tensor) != isinstance(b, Tensor):
        t, s = (a, b) if isinstance(a, Tensor) else (b, a)
        sd = D.promote_scalar(t.dtype, s)
        if not sd.is_floating_point and not isinstance(s, (bool, np.bool_)):
            sd = D.get_default_dtype()
        s = tensor(s, dtype=sd)
        a, b = (t, s) if t is a else (s, t)
    dt = D.promote(a.dtype, a.dim(), b.dtype, b.dim())
    if not dt.is_floating_point:
        dt = D.get_default_dtype()
    return (a if a.dtype == dt else a.to(dt)), (b if b.dtype == dt else b.to(dt))


def _need_float(t, kernel):
    if not t.is_floating_point():
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_title(t._data.dtype)}\'')


# ---- distances -------------------------------------------------------------------------------
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M): (..., P, R).

    For p=2 and more than 25 rows on either side the distances come from
    |a|^2 + |b|^2 - 2 a.b (one matmul); otherwise from the differences. A zero distance has a
    zero gradient either way.
    """
    for name, x in (("X1", x1), ("X2", x2)):
        if x.dim() < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.dim()}D")
        if not x.is_floating_point():
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{_title(x._data.dtype)}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    x1, x2 = _pair(x1, x2)
    P, R = x1.shape[-2], x2.shape[-2]
    use_mm = (compute_mode == "use_mm_for_euclid_dist" or
              (compute_mode == "use_mm_for_euclid_dist_if_necessary" and (P > 25 or R > 25)))
    if p == 2 and use_mm:
        sq1 = (x1 * x1).sum(-1, keepdim=True)
        sq2 = (x2 * x2).sum(-1).unsqueeze(-2)
        d2 = (sq1 + sq2 - 2.0 * x1.matmul(x2.transpose(-1, -2))).clamp(min=0.0)
        pos = d2 != 0  # positive, or NaN from non-finite rows, which must stay NaN
        # sqrt's slope is infinite at 0: feed it 1 there and give those entries 0
        return F.where(pos, F.where(pos, d2, 1.0).sqrt(), 0.0)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == 0:
        return relabel((diff != 0).sum(-1).to(x1.dtype) + diff.sum(-1) * 0.0, "CdistBackward0")
    return relabel(diff.norm(p, dim=-1), "CdistBackward0")


def pdist(input, p=2):
    """Distances between all pairs of rows i < j of an (N, M) input, in row-major order."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    i, j = triu_indices(input.shape[0], input.shape[0], 1)
    diff = input.index_select(0, i) - input.index_select(0, j)
    if p == 0:
        return (diff != 0).sum(-1).to(input.dtype) + diff.sum(-1) * 0.0
    return diff.norm(p, dim=-1)


def dist(input, other, p=2):
    """The p-norm of input - other (broadcast)."""
    d = input - other
    if not d.is_floating_point():
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. "
                           f"Got {_title(d._data.dtype)} instead.")
    if p == 0:
        out = (d != 0).sum().to(d.dtype) + d.sum() * 0.0
    else:
        out = d.norm(p)
    return relabel(out, "DistBackward0") if out.grad_fn is not None else out


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    from .nn._functional.distance import cosine_similarity as f
    return f(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    from .nn._functional.distance import pairwise_distance as f
    return f(x1, x2, p, eps, keepdim)


cosine_similarity.__doc__ = "``fastnn.nn.functional.cosine_similarity``."
pairwise_distance.__doc__ = "``fastnn.nn.functional.pairwise_distance``."

# ---- matmul precision ------------------------------------------------------------------------
_MATMUL_PRECISION = ["highest"]


def set_float32_matmul_precision(precision):
    """Records 'highest', 'high' or 'medium'. fastnn's CPU matmuls always run in full float32,
    so the setting has no effect on results; it is kept for code that sets and reads it."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _MATMUL_PRECISION[0] = precision


def get_float32_matmul_precision():
    """The value last given to set_float32_matmul_precision ('highest' at start)."""
    return _MATMUL_PRECISION[0]


# ---- reductions ------------------------------------------------------------------------------
def _moments(fn, input, dim, unbiased, keepdim, correction, take_sqrt):
    if not input.is_floating_point():
        raise RuntimeError(f"{fn} only support floating point and complex dtypes")
    if isinstance(dim, bool):  # the (input, unbiased) form
        dim, unbiased = None, dim
    v = input._var(dim, unbiased, keepdim, correction, take_sqrt, fn, 4)
    if dim is None:
        m = input.mean()
        if keepdim:
            m = m.reshape((1,) * input.dim())
    else:
        m = input.mean(dim, keepdim)
    if v.grad_fn is not None:  # both outputs show the fused op, as in PyTorch
        name = "StdMeanBackward0" if take_sqrt else "VarMeanBackward0"
        relabel(v, name)
        relabel(m, name)
    return v, m


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
             keepdims=None):
    """(std, mean) over ``dim``."""
    dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
    return _moments("std_mean", input, dim, unbiased, keepdim, correction, True)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
             keepdims=None):
    """(var, mean) over ``dim``."""
    dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
    return _moments("var_mean", input, dim, unbiased, keepdim, correction, False)


def nansum(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The sum with NaNs counted as zero."""
    dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
    x = input if dtype is None else input.to(dtype)
    if x.is_floating_point():
        x = F.where(x.isnan(), 0.0, x)
    out = x.sum() if dim is None and not keepdim else x.sum(dim, keepdim)
    if dtype is not None and out.dtype != x.dtype:  # dtype= names an integer result dtype
        out = out.to(x.dtype)
    return relabel(out, "NansumBackward0")


def nanmean(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """The mean of the non-NaN entries."""
    dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
    if not input.is_floating_point():  # the input itself, whatever dtype= asks
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_title(input._data.dtype)}")
    if dtype is not None and not D.to_dtype(dtype).is_floating_point:
        raise RuntimeError(f"nanmean(): could not infer output dtype. Optional dtype must be "
                           f"either a floating point or complex dtype. Got: "
                           f"{_title(D.to_dtype(dtype).np)}")
    x = input if dtype is None else input.to(dtype)
    count = (~x.isnan()).sum(dim, keepdim) if dim is not None else (~x.isnan()).sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # no values: nan, quietly
        return nansum(x, dim, keepdim) / count


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (the dtype's largest
    and lowest finite values by default); other dtypes come back as a copy."""
    if not input.is_floating_point():
        return input.clone()
    fi = np.finfo(input._data.dtype)
    posinf = float(fi.max) if posinf is None else posinf
    neginf = float(fi.min) if neginf is None else neginf
    out = F.where(input.isnan(), float(nan), input)
    out = F.where(input == math.inf, float(posinf), out)
    return F.where(input == -math.inf, float(neginf), out)


# ---- elementwise -----------------------------------------------------------------------------
def logaddexp(input, other):
    """log(exp(input) + exp(other)), without overflow."""
    from .autograd.ops_log_hypot import LogaddexpBackward0
    return _stable_binary(LogaddexpBackward0, input, other, "logaddexp_cpu")


def xlogy(input, other):
    """input * log(other), 0 where input is 0 (unless other is NaN)."""
    from .autograd.function import apply
    from .autograd.ops_xlogy import XlogyBackward0
    from ._tensor_math import broadcast_error
    x, y = _float_pair(input, other)
    # PyTorch's overloads: tensor-tensor 0, scalar self 1, scalar other 2
    Tensor = _T()
    name = "XlogyBackward0" if isinstance(input, Tensor) == isinstance(other, Tensor) else \
        "XlogyBackward2" if isinstance(input, Tensor) else "XlogyBackward1"
    try:
        return apply(XlogyBackward0, (x, y), name)
    except ValueError as e:
        raise broadcast_error(x, y, e) from None


def hypot(input, other):
    """sqrt(input**2 + other**2)."""
    from .autograd.ops_log_hypot import HypotBackward0
    return _stable_binary(HypotBackward0, input, other, "hypot_cpu")


def _stable_binary(node_cls, input, other, kernel):
    """Apply one of the float-only binary nodes of ops_log_hypot, with PyTorch's errors."""
    from .autograd.function import apply
    from ._tensor_math import broadcast_error
    a, b = _pair(input, other)
    _need_float(a, kernel)
    try:
        return apply(node_cls, (a, b))
    except ValueError as e:
        raise broadcast_error(a, b, e) from None


def frac(input):
    """input - trunc(input)."""
    _need_float(input, "frac_cpu")
    out = input - input.trunc().detach()
    return relabel(out, "FracBackward0") if out.grad_fn is not None else out


def signbit(input):
    """True where the sign bit is set (so also for -0.0)."""
    return _nograd(np.signbit(input._host()))


def heaviside(input, values):
    """0 where input < 0, ``values`` where input == 0, 1 where input > 0."""
    for pos, (name, arg) in enumerate((("input", input), ("values", values)), 1):
        if not isinstance(arg, _T()):
            raise TypeError(f"heaviside(): argument '{name}' (position {pos}) must be Tensor, "
                            f"not {type(arg).__name__}")
    if input.dtype != values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    x, v = input.detach(), values.detach()
    step = (x > 0).to(x.dtype)
    return F.where(x == 0, v, step)


def _erf_fn():
    from .autograd import Function
    from .nn._functional.activation import erf_array, erfc_array
    from .distributions._special import np_erfinv

    def wrap(arr, like):
        return _nograd(np.asarray(arr).astype(like._data.dtype, copy=False))

    class Erf(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return wrap(erf_array(x._host()), x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (2.0 / math.sqrt(math.pi)) * (-x * x).exp()

    class Erfc(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return wrap(erfc_array(x._host()), x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (-2.0 / math.sqrt(math.pi)) * (-x * x).exp()

    class Erfinv(Function):
        @staticmethod
        def forward(ctx, y):
            out = wrap(np_erfinv(np.asarray(y._host(), dtype=np.float64)), y)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * (math.sqrt(math.pi) / 2.0) * (out * out).exp()

    _ERF.update(erf=Erf, erfc=Erfc, erfinv=Erfinv)


_ERF = {}
_ERF_NODES = {"erf": "ErfBackward0", "erfc": "ErfcBackward0", "erfinv": "ErfinvBackward0"}


def _special(name, input):
    if not _ERF:
        _erf_fn()
    return relabel(_ERF[name].apply(_float_input(input)), _ERF_NODES[name])


def erf(input):
    """The error function."""
    return _special("erf", input)


def erfc(input):
    """1 - erf(input), accurate in the right tail."""
    return _special("erfc", input)


def erfinv(input):
    """The inverse of erf on (-1, 1); +-inf at +-1 and NaN outside."""
    return _special("erfinv", input)


# ---- fused multiply-adds ---------------------------------------------------------------------
def _addc_operands(input, tensor1, tensor2, value, kernel):
    """The three tensors in their promoted dtype (the product must not overflow a narrower
    operand dtype first) and ``value`` as that dtype takes it (truncated for integers)."""
    ts = (input, tensor1, tensor2)
    dims = [t.dtype for t in ts if t.dim()]
    zero_d = [t.dtype for t in ts if not t.dim()]
    rd = None
    for group in (dims, zero_d):
        if group:
            g = group[0]
            for d in group[1:]:
                g = D.promote_types(g, d)
            rd = g if rd is None else D.promote(rd, 1, g, 0)
    if rd is D.bool_:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
    if hasattr(value, "_data"):  # a 0-d tensor acts as its number
        value = value.item()
    if not rd.is_floating_point and isinstance(value, (float, np.floating)):
        value = int(value)
    return tuple(t if t.dtype is rd else t.to(rd) for t in ts) + (value,)


def addcmul(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 * tensor2, all in the promoted dtype."""
    x, a, b, value = _addc_operands(input, tensor1, tensor2, value, "addcmul_cpu_out")
    prod = a * b
    return relabel(x + (prod if value == 1 and not isinstance(value, bool) else value * prod),
                   "AddcmulBackward0")


def addcdiv(input, tensor1, tensor2, *, value=1):
    """input + value * tensor1 / tensor2."""
    if not tensor1.is_floating_point() and not tensor2.is_floating_point():
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release "
            "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
            "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2))"
            ".to(input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) "
            "for float inputs. The future addcdiv behavior is just the latter implementation: "
            "(input + value * tensor1 / tensor2), for all dtypes.")
    x, a, b, value = _addc_operands(input, tensor1, tensor2, value, "addcdiv_cpu_out")
    return relabel(x + value * (a / b), "AddcdivBackward0")


def _beta_add(input, prod, beta, alpha):
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:  # input's values are ignored, NaNs included
        if isinstance(input, _T()) and input.requires_grad:  # it still gets a zero gradient
            return F.where(_nograd(np.ones((), bool)), prod, input)
        return prod
    return (input if beta == 1 else input * beta) + prod


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    if batch1.dim() != 3 or batch2.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if batch1.dim() != 3 else
                           "batch2 must be a 3D tensor")
    b, n, m = batch1.shape
    if tuple(batch2.shape[:2]) != (b, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{b}, {m}] but got: [{batch2.shape[0]}, {batch2.shape[1]}].")
    return relabel(_beta_add(input, batch1.bmm(batch2), beta, alpha), "BaddbmmBackward0")


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec)."""
    if mat.dim() != 2 or vec.dim() != 1 or input.dim() > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {mat.dim()}, "
                           f"{vec.dim()}")
    if mat.dim() != 2 or vec.dim() != 1 or mat.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0] if input.dim() else 1}),"
                           f" mat ({'x'.join(str(s) for s in mat.shape)}), vec "
                           f"({'x'.join(str(s) for s in vec.shape)})")
    return relabel(_beta_add(input, mat.mv(vec), beta, alpha), "AddmvBackward0")


def kron(input, other):
    """The Kronecker product."""
    nd = _builtins.max(input.dim(), other.dim())
    a = input.reshape((1,) * (nd - input.dim()) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.dim()) + tuple(other.shape))
    a_sh, b_sh = tuple(a.shape), tuple(b.shape)
    a = a.reshape(tuple(s for d in a_sh for s in (d, 1)))
    b = b.reshape(tuple(s for d in b_sh for s in (1, d)))
    return relabel((a * b).reshape(tuple(x * y for x, y in zip(a_sh, b_sh))),
                   "UnsafeViewBackward0")


def matrix_power(input, n):
    """input @ input @ ... (n times); the identity for n = 0, powers of the inverse for n < 0."""
    if input.dim() < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 "
                           "dimensions.")
    r, c = input.shape[-2], input.shape[-1]
    if r != c:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {r} by {c} matrices")
    if n == 1:  # a fresh C-ordered copy: writing to the result must not change input
        from ._tensor_layout import contiguous_format
        return input.clone(memory_format=contiguous_format)
    if n < 0:
        from ._functions_linalg import linalg_inv
        input, n = linalg_inv(input), -n
    if n == 0:
        from ._creation import eye, zeros
        # where() with an all-False mask: the identity, with a zero gradient for input
        return F.where(zeros(tuple(input.shape), dtype=D.bool_), input,
                       eye(r, dtype=input.dtype))
    result, base = None, input
    while True:  # binary powering: about log2(n) matmuls
        if n & 1:
            result = base if result is None else result.matmul(base)
        n >>= 1
        if not n:
            return result
        base = base.matmul(base)


from ._functions_shape_stats import (rot90, fliplr, flipud, triu_indices, tril_indices,  # noqa
                                     cartesian_prod, block_diag, column_stack, searchsorted,
                                     bucketize, histc, cov, corrcoef, logcumsumexp)


def igamma(input, other, *, out=None):
    """The regularized lower incomplete gamma function (``special.gammainc``)."""
    from .special import gammainc
    return gammainc(input, other, out=out)


def igammac(input, other, *, out=None):
    """The regularized upper incomplete gamma function (``special.gammaincc``)."""
    from .special import gammaincc
    return gammaincc(input, other, out=out)
