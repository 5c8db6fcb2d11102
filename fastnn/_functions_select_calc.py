"""Numerical calculus and small helpers of fastnn._functions_select: trapezoid,
cumulative_trapezoid, gradient (finite differences), renorm and isin.

All are composed of fastnn's differentiable Tensor ops, so autograd works through them.
"""
import collections

import numpy as np

from . import _dtype as D
from . import _functions as F
from ._tensor_math import _float_input, _nograd
from ._dtype import scalar_type_name as _title


class frexp_type(collections.namedtuple("frexp", ["mantissa", "exponent"])):
    __slots__ = ()

    def __repr__(self):
        return f"fastnn.return_types.frexp(\nmantissa={self[0]!r},\nexponent={self[1]!r})"


def _T():
    from .tensor import Tensor
    return Tensor


def _along(arr, d, nd):
    """A 1-D array shaped to broadcast along dim d of an nd-dim tensor."""
    return arr.reshape((-1,) + (1,) * (nd - d - 1))


# ---- integration -----------------------------------------------------------------------------
def _trapezoid_terms(y, x, dx, dim, fn):
    """(2 * the area of each interval, dim): (y[i] + y[i+1]) * (x[i+1] - x[i])."""
    if y.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if y._data.dtype.kind == "b":
        raise RuntimeError(f"{fn}: received a bool input for `y`, but bool is not supported")
    if x is not None and dx is not None:
        raise TypeError(f"{fn}(): pass either x or dx, not both")
    d = y._dim(dim)
    y = _float_input(y)
    n = y.shape[d]
    k = max(n - 1, 0)
    s = y.narrow(d, 0, k) + y.narrow(d, min(1, n), k)
    if x is None:
        return s * (1.0 if dx is None else float(dx)), d
    if not isinstance(x, _T()):
        raise TypeError(f"{fn}(): argument 'x' must be Tensor, not {type(x).__name__}")
    if x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError(f"{fn}: There must be one `x` value for each sample point")
        widths = (x.narrow(0, min(1, n), k) - x.narrow(0, 0, k)).reshape(
            (-1,) + (1,) * (y.dim() - d - 1))
    else:
        xd = x._dim(dim)
        m = x.shape[xd]
        widths = x.narrow(xd, min(1, m), max(m - 1, 0)) - x.narrow(xd, 0, max(m - 1, 0))
    return s * widths, d


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoid rule along dim: sum_i (y[i] + y[i+1]) / 2 * (x[i+1] - x[i])."""
    terms, d = _trapezoid_terms(y, x, dx, dim, "trapezoid")
    return terms.sum(d) * 0.5


def trapz(y, x=None, *, dx=None, dim=-1):
    """``trapezoid`` under its older name."""
    terms, d = _trapezoid_terms(y, x, dx, dim, "trapezoid")
    return terms.sum(d) * 0.5


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running trapezoid rule: out[j] = sum_{i <= j} (y[i] + y[i+1]) / 2 * dx_i."""
    terms, d = _trapezoid_terms(y, x, dx, dim, "cumulative_trapezoid")
    return terms.cumsum(d) * 0.5


# ---- finite differences ----------------------------------------------------------------------
def _coords(spacing, dims, nd, given):
    """One entry per dim: a float step or a 1-D numpy array of coordinates."""
    Tensor = _T()
    if isinstance(spacing, Tensor) and spacing.dim() == 0:
        spacing = spacing.item()
    if not isinstance(spacing, (list, tuple)):
        return [float(spacing)] * len(dims)
    if len(spacing) != len(dims):
        if not given:
            raise RuntimeError(
                "torch.gradient expected spacing to be unspecified, a scalar, or a list of "
                f"length equal to 'self.dim() = {nd}', since dim argument was not given, but "
                f"got a list of length {len(spacing)}")
        raise RuntimeError(
            "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
            "dim arguments to have the same length, but got a spacing argument of length "
            f"{len(spacing)} and a dim argument of length {len(dims)}.")
    out = []
    for s in spacing:
        if isinstance(s, Tensor):
            if s.dim() != 1:
                raise RuntimeError("torch.gradient expected each element of spacing to have "
                                   f"one dimension, but got an element with {s.dim()} "
                                   "dimensions!")
            out.append((s._host().astype(np.float64), s.dtype))
        else:
            out.append(float(s))
    return out


def _slope(f, d, h, edge_order):
    """df/dx along dim d by central differences inside and one-sided ones at the ends."""
    n, nd = f.shape[d], f.dim()
    dt = f._data.dtype

    def part(start, length):
        return f.narrow(d, start, length)

    def c(v):  # a coefficient array along d, in f's dtype
        return _nograd(_along(np.asarray(v, np.float64).astype(dt), d, nd))

    if not isinstance(h, np.ndarray):
        inner = (part(2, n - 2) - part(0, n - 2)) * (1.0 / (2 * h))
        if edge_order == 1:
            left = (part(1, 1) - part(0, 1)) * (1.0 / h)
            right = (part(n - 1, 1) - part(n - 2, 1)) * (1.0 / h)
        else:
            left = (part(0, 1) * -3.0 + part(1, 1) * 4.0 - part(2, 1)) * (0.5 / h)
            right = (part(n - 1, 1) * 3.0 - part(n - 2, 1) * 4.0 + part(n - 3, 1)) * (0.5 / h)
    else:
        if h.shape[0] != n:
            raise RuntimeError(f"fastnn.gradient: the coordinates for dim {d} have "
                               f"{h.shape[0]} values but that dim has size {n}")
        w = np.diff(h)
        hl, hr = w[:-1], w[1:]
        inner = part(0, n - 2) * c(-hr / (hl * (hl + hr))) + \
            part(1, n - 2) * c((hr - hl) / (hl * hr)) + part(2, n - 2) * c(hl / (hr * (hl + hr)))
        if edge_order == 1:
            left = (part(1, 1) - part(0, 1)) * c([1 / w[0]])
            right = (part(n - 1, 1) - part(n - 2, 1)) * c([1 / w[-1]])
        else:
            a, b = w[0], w[1]
            left = part(0, 1) * c([-(2 * a + b) / (a * (a + b))]) + \
                part(1, 1) * c([(a + b) / (a * b)]) + part(2, 1) * c([-a / (b * (a + b))])
            a, b = w[-2], w[-1]
            right = part(n - 3, 1) * c([b / (a * (a + b))]) + \
                part(n - 2, 1) * c([-(a + b) / (a * b)]) + \
                part(n - 1, 1) * c([(2 * b + a) / (b * (a + b))])
    return F.cat([left, inner, right] if n > 2 else [left, right], d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Finite-difference estimates of d input / d x_k, one tensor per dim k (second order
    inside, ``edge_order`` at the ends); ``spacing`` is a step or the coordinates."""
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    nd = input.dim()
    if dim is None:
        dims = list(range(nd))
    elif isinstance(dim, (list, tuple)):
        dims = [input._dim(x) for x in dim]
    else:
        dims = [input._dim(dim)]
    hs = _coords(spacing, dims, nd, dim is not None)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    f = _float_input(input)
    out = []
    for d, h in zip(dims, hs):
        fd = f
        if isinstance(h, tuple):  # coordinates: the result takes their dtype into account
            h, cdt = h
            rd = D.promote_types(input.dtype, cdt)
            fd = input.to(rd if rd.is_floating_point else D.get_default_dtype())
        out.append(_slope(fd, d, h, edge_order))
    return tuple(out)


# ---- norms and membership --------------------------------------------------------------------
def renorm(input, p, dim, maxnorm):
    """Each slice input.select(dim, i) whose p-norm exceeds maxnorm, scaled to norm maxnorm
    (by maxnorm / (norm + 1e-7))."""
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = input._dim(dim)
    if input.dim() < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.dim()} "
                           "dimensions")
    if input._data.dtype.kind != "f":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_title(input._data.dtype)}")
    others = tuple(i for i in range(input.dim()) if i != d)
    norm = input.norm(p, dim=others, keepdim=True)
    if not input._data.flags.c_contiguous:
        from ._tensor_layout import contiguous_format
        input = input.clone(memory_format=contiguous_format)  # renorm's result is C-ordered
    from .autograd.ops_math import relabel
    return relabel(input * F.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0),
                   "RenormBackward0")


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """True where an element of ``elements`` occurs in ``test_elements`` (False with
    invert); either may be a Python scalar."""
    Tensor = _T()
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): expected elements or test_elements to be a Tensor")
    el = elements._host() if isinstance(elements, Tensor) else np.asarray(elements)
    te = test_elements._host() if isinstance(test_elements, Tensor) else \
        np.asarray(test_elements)
    return _nograd(np.isin(el, te, assume_unique=assume_unique, invert=invert))
