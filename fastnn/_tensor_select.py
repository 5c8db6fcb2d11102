"""Tensor methods for the order statistics of fastnn._functions_select (a mixin of Tensor):
median, nanmedian, mode, kthvalue, quantile, nanquantile, cummax, cummin, aminmax, msort.

Positions are found on the arrays (partition or a stable sort, NaN counted as the largest
value); the values are then picked by a graph node that routes the gradient back to them.
"""
import collections

import numpy as np

from .autograd.function import apply
from .autograd import ops_select as S
from ._tensor_reduce import _return_type
from ._tensor_math import _nograd, _required

median_type = _return_type("median")
nanmedian_type = _return_type("nanmedian")
mode_type = _return_type("mode")
kthvalue_type = _return_type("kthvalue")
cummax_type = _return_type("cummax")
cummin_type = _return_type("cummin")


class aminmax_type(collections.namedtuple("aminmax", ["min", "max"])):
    __slots__ = ()

    def __repr__(self):
        return f"fastnn.return_types.aminmax(\nmin={self[0]!r},\nmax={self[1]!r})"


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _cpu(t, fn):
    if type(t._data) is not np.ndarray:
        raise NotImplementedError(f"fastnn's {fn} runs on CPU tensors only; call .cpu() first")
    return t._data


def _no_bool(t, kernel):
    if t._data.dtype.kind == "b":
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _nonempty(t, d, fn, sep="():"):
    if t._data.shape[d] == 0:
        raise IndexError(f"{fn}{sep} Expected reduction dim {d} to have non-zero size.")


def _pick(t, idx, axis, keepdim, label, repeats=False):
    """(values, indices): t at idx (kept-dim shape) along axis, the gradient routed back."""
    vals = apply(S.TakeAlongBackward, (t,), idx, axis, not keepdim, label, repeats)
    return vals, _nograd(idx if keepdim else idx.squeeze(axis))


def _numpy_names(dim, axis, keepdim, keepdims):
    """PyTorch's numpy-style aliases: ``axis=`` for ``dim``, ``keepdims=`` for ``keepdim``."""
    return (axis if dim is None else dim), (keepdim if keepdims is None else keepdims)


_SPLIT_SPEC_NAMES = ("sections", "indices", "tensor_indices_or_sections")


def tensor_split_args(args, kw):
    """(spec, dim) of ``tensor_split``: the spec positional or by one of PyTorch's keywords
    (``sections=``, ``indices=``, ``tensor_indices_or_sections=``), dim positional or ``dim=``
    (or numpy's ``axis=``)."""
    if "axis" in kw and "dim" not in kw:
        kw = dict(kw)
        kw["dim"] = kw.pop("axis")
    names = [k for k in kw if k in _SPLIT_SPEC_NAMES]
    others = [k for k in kw if k not in _SPLIT_SPEC_NAMES and k != "dim"]
    if (len(args) + len(names) != 1 and not (len(args) == 2 and not names and "dim" not in kw)) \
            or others or len(args) > 2:
        got = [type(a).__name__ for a in args] + [f"{k}={type(v).__name__}"
                                                  for k, v in kw.items()]
        raise TypeError(
            f"tensor_split() received an invalid combination of arguments - got "
            f"({', '.join(got)}{', ' if got else ''}), but expected one of:\n"
            " * (Tensor input, int sections, int dim = 0)\n"
            " * (Tensor input, tuple of ints indices, int dim = 0)\n"
            " * (Tensor input, Tensor tensor_indices_or_sections, int dim = 0)\n")
    spec = args[0] if args else kw[names[0]]
    dim = args[1] if len(args) == 2 else kw.get("dim", 0)
    return spec, dim


def _first_nan(arr, axis):
    """(any NaN, index of the first NaN) along axis, dims kept."""
    nan = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, bool)
    return nan.any(axis=axis, keepdims=True), np.argmax(nan, axis=axis, keepdims=True)


def _scalar_pair(t, kind):
    """A 0-d input reduced over dim 0: itself and index 0."""
    return kind(apply(S.TakeAlongBackward, (t.reshape(1),), np.zeros(1, np.int64), 0, True,
                      kind.__name__.capitalize() + "Backward0"), _nograd(np.zeros((), np.int64)))


def _full_median(t, ignore_nan):
    """The lower median of all entries (NaN if any, unless ignore_nan), as a 0-d tensor."""
    arr = _cpu(t, "median").reshape(-1)
    _no_bool(t, "median_cpu")
    if ignore_nan and arr.dtype.kind == "f":
        arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        if t._data.dtype.kind != "f":
            raise RuntimeError("median(): an empty integer tensor has no median")
        value = np.full((), np.nan, t._data.dtype)
    elif arr.dtype.kind == "f" and np.isnan(arr).any():
        value = np.full((), np.nan, arr.dtype)
    else:
        value = np.partition(arr, (arr.size - 1) // 2)[(arr.size - 1) // 2]
    value = np.asarray(value).reshape((1,) * t._data.ndim)
    label = "NanmedianBackward0" if ignore_nan else "MedianBackward0"
    return apply(S.EvenlyBackward, (t,), value, None, False, label)


def _quantile(t, q, dim, keepdim, interpolation, ignore_nan):
    from .tensor import Tensor
    q_t = q if isinstance(q, Tensor) else None
    if q_t is not None:
        if q_t.dim() > 1:
            raise RuntimeError("quantile() q must be a scalar or 1D tensor")
        qv = q_t._host().astype(np.float64).reshape(-1)
        if not ((qv >= 0) & (qv <= 1)).all():
            raise RuntimeError("quantile() q values must be in the range [0, 1]")
    else:
        if isinstance(q, (list, tuple)) or not isinstance(q, (int, float, np.number)):
            raise TypeError(f"quantile(): argument 'q' must be float or Tensor, not "
                            f"{type(q).__name__}")
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
        qv = np.array([float(q)])
    if t._data.dtype not in (np.float32, np.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if q_t is not None and q_t._data.dtype != t._data.dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if t._data.ndim and dim is not None:
        axis = t._dim(dim)
    elif dim is not None:
        t._dim(dim)
    if t._data.size == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    arr = _cpu(t, "quantile")
    scalar_in = arr.ndim == 0
    if dim is None or scalar_in:
        x, axis = t.reshape(-1), 0
    else:
        x = t
    a = x._data
    n = a.shape[axis]
    nan = np.isnan(a)
    order = np.argsort(a, axis=axis, kind="stable")  # NaN last
    # kept-dim shapes from here; a leading axis of length len(q)
    cnt = (n - nan.sum(axis=axis, keepdims=True)) if ignore_nan else np.full(
        (1,) * a.ndim, n)
    # ranks in the input's dtype, so that halves round (nearest) as they do in float32
    qb = qv.astype(a.dtype).reshape((-1,) + (1,) * a.ndim)
    pos = qb * (cnt - 1).astype(a.dtype)
    if ignore_nan:
        pos = np.where(cnt == 0, 0, pos)  # an all-NaN row: the answer is NaN
    else:
        # a row with NaN: its last (NaN) entry, so the answer is NaN
        pos = np.where(nan.any(axis=axis, keepdims=True), n - 1, pos).astype(a.dtype)
    lo, hi = np.floor(pos), np.ceil(pos)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        lo = hi = np.round(pos)  # halves to even
    lo_i, hi_i = lo.astype(np.int64), hi.astype(np.int64)

    def gather(ranks):
        src = np.take_along_axis(order[None], ranks, axis=axis + 1)
        # the q axis goes into the reduced axis, so that one node picks every q at once
        idx = np.moveaxis(src.squeeze(axis + 1), 0, axis)
        vals = apply(S.TakeAlongBackward, (x,), idx, axis, False, "QuantileBackward0", True)
        return vals.movedim(axis, 0).unsqueeze(axis + 1)

    v_lo = gather(lo_i)
    out = v_lo
    if interpolation in ("linear", "midpoint"):
        v_hi = v_lo if (lo_i == hi_i).all() else gather(hi_i)
        w = np.where(hi_i > lo_i, 0.5 if interpolation == "midpoint" else pos - lo, 0.0)
        w = w.astype(a.dtype)
        wt = _nograd(w)
        if q_t is not None and q_t.requires_grad and interpolation == "linear":
            # w = q * (count - 1) - lo: the same value, with its slope for q
            c = (hi_i > lo_i) * (cnt - 1.0)
            wt = q_t.reshape((-1,) + (1,) * a.ndim) * _nograd(c.astype(a.dtype)) + \
                _nograd((w - qb * c).astype(a.dtype))
        d = v_hi - v_lo
        # the two-sided form keeps w -> 1 exact at the upper neighbour
        from ._functions import where
        out = where(_nograd(w < 0.5), v_lo + wt * d, v_hi - d * (1 - wt))
    out = out.squeeze(axis + 1)
    if scalar_in:
        shape = (-1,)
    elif dim is None:
        shape = (-1,) + ((1,) * arr.ndim if keepdim else ())
    else:
        shape = (-1,) + tuple(1 if i == axis else s for i, s in enumerate(arr.shape)
                              if keepdim or i != axis)
    out = out.reshape(shape)
    return out.reshape(out.shape[1:]) if q_t is None or q_t.dim() == 0 else out


def _cumextreme(t, dim, use_max):
    from .autograd.out_layout import c_contiguous
    kind = cummax_type if use_max else cummin_type
    d = t._dim(dim)
    if t._data.ndim == 0:
        return _scalar_pair(t, kind)
    arr = _cpu(t, kind.__name__)
    if arr.size == 0:
        return kind(t.clone(), _nograd(np.zeros(arr.shape, np.int64)))
    arr = c_contiguous(arr)  # C-contiguous values and indices for any input layout
    run = (np.maximum if use_max else np.minimum).accumulate(arr, axis=d)
    # a new extreme (ties included, as also a NaN) takes over the index; else keep the last
    hit = arr == run
    if arr.dtype.kind == "f":
        hit |= np.isnan(arr)
    pos = np.arange(arr.shape[d], dtype=np.int64).reshape(
        (-1,) + (1,) * (arr.ndim - d - 1))
    idx = np.maximum.accumulate(np.where(hit, pos, 0), axis=d)
    label = "CummaxBackward0" if use_max else "CumminBackward0"
    vals = apply(S.TakeAlongBackward, (t,), idx, d, False, label, True)
    return kind(vals, _nograd(idx))


def _mode_indices(arr, axis):
    """Most frequent value per row (ties: the smallest), at its last occurrence."""
    order = np.argsort(arr, axis=axis, kind="stable")
    s = np.take_along_axis(arr, order, axis=axis)
    n = arr.shape[axis]
    pos = np.arange(n, dtype=np.int64).reshape((-1,) + (1,) * (arr.ndim - axis - 1))
    new = np.ones(s.shape, bool)
    # NaN != NaN, so every NaN is a run of its own
    new[(slice(None),) * axis + (slice(1, None),)] = \
        s[(slice(None),) * axis + (slice(1, None),)] != s[(slice(None),) * axis +
                                                          (slice(None, -1),)]
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=axis)
    count = pos - start + 1
    # the first maximum ends the longest run of the smallest value; stable order puts that
    # value's last occurrence there
    best = np.argmax(count, axis=axis, keepdims=True)
    idx = np.take_along_axis(order, best, axis=axis)
    if arr.dtype.kind in "fc" and 1 < n <= 16 and np.isnan(arr).any():
        _mode_nan_rows(arr, axis, idx)
    return idx


def _mode_nan_rows(arr, axis, idx):
    """Redo the short rows holding NaN (PyTorch's answer there depends on where its
    insertion sort, which compares with <, happens to leave each NaN)."""
    rows = np.moveaxis(arr, axis, -1).reshape(-1, arr.shape[axis])
    out = np.moveaxis(idx, axis, -1).reshape(-1)
    for r in np.flatnonzero(np.isnan(rows).any(axis=1)).tolist():
        out[r] = _mode_by_insertion(rows[r].tolist())
    idx[...] = np.moveaxis(out.reshape(np.moveaxis(idx, axis, -1).shape), -1, axis)


def _mode_by_insertion(values):
    """Index of the mode of a short row, found as PyTorch finds it: insertion-sort
    (value, index) pairs by value with <, then take the first longest run of equal values."""
    pairs = []
    for i, v in enumerate(values):
        if pairs and v < pairs[0][0]:
            pairs.insert(0, (v, i))
            continue
        at = len(pairs)
        while at > 0 and v < pairs[at - 1][0]:
            at -= 1
        pairs.insert(at, (v, i))
    best_index, best_run, run = 0, 0, 0
    for k, (v, i) in enumerate(pairs):
        run += 1
        if k == len(pairs) - 1 or v != pairs[k + 1][0]:
            if run > best_run:
                best_index, best_run = i, run
            run = 0
    return best_index


class SelectMixin:
    __slots__ = ()

    def median(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
        if dim is None:
            return _full_median(self, False)
        d = self._dim(dim)
        _no_bool(self, "median_cpu")
        if self._data.ndim == 0:
            return _scalar_pair(self, median_type)
        _nonempty(self, d, "median")
        arr = _cpu(self, "median")
        k = (arr.shape[d] - 1) // 2
        idx = np.take(np.argpartition(arr, k, axis=d), [k], axis=d)
        has, first = _first_nan(arr, d)
        idx = np.where(has, first, idx)  # a row with NaN: its first NaN
        return median_type(*_pick(self, idx, d, keepdim, "MedianBackward1"))

    def nanmedian(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
        if dim is None:
            return _full_median(self, True)
        d = self._dim(dim)
        _no_bool(self, "median_cpu")
        if self._data.ndim == 0:
            return _scalar_pair(self, nanmedian_type)
        _nonempty(self, d, "nanmedian")
        arr = _cpu(self, "nanmedian")
        if arr.dtype.kind != "f":
            return nanmedian_type(*self.median(d, keepdim))
        cnt = arr.shape[d] - np.isnan(arr).sum(axis=d, keepdims=True)
        k = np.maximum((cnt - 1) // 2, 0)
        idx = np.take_along_axis(np.argsort(arr, axis=d, kind="stable"), k, axis=d)
        return nanmedian_type(*_pick(self, idx, d, keepdim, "NanmedianBackward1"))

    def mode(self, dim=-1, keepdim=False, *, axis=None, keepdims=None):
        dim = dim if axis is None else axis  # numpy's names for dim and keepdim
        keepdim = keepdim if keepdims is None else keepdims
        d = self._dim(dim)
        if self._data.ndim == 0:
            return _scalar_pair(self, mode_type)
        _nonempty(self, d, "mode")
        idx = _mode_indices(_cpu(self, "mode"), d)
        return mode_type(*_pick(self, idx, d, keepdim, "ModeBackward0"))

    def kthvalue(self, k, dim=-1, keepdim=False, *, axis=None, keepdims=None):
        dim = dim if axis is None else axis  # numpy's names for dim and keepdim
        keepdim = keepdim if keepdims is None else keepdims
        d = self._dim(dim)
        _no_bool(self, "kthvalue_cpu")
        size = self._data.shape[d] if self._data.ndim else 1
        if self._data.ndim:
            _nonempty(self, d, "kthvalue")
        if not 1 <= k <= size:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
        if self._data.ndim == 0:
            return _scalar_pair(self, kthvalue_type)
        arr = _cpu(self, "kthvalue")
        idx = np.take(np.argpartition(arr, k - 1, axis=d), [k - 1], axis=d)
        return kthvalue_type(*_pick(self, idx, d, keepdim, "KthvalueBackward0"))

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear", axis=None,
                 keepdims=None):
        dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
        return _quantile(self, q, dim, keepdim, interpolation, False)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear", axis=None,
                    keepdims=None):
        dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
        return _quantile(self, q, dim, keepdim, interpolation, True)

    def cummax(self, dim=None, *, axis=None):
        return _cumextreme(self, _required(dim, axis, "cummax"), True)

    def cummin(self, dim=None, *, axis=None):
        return _cumextreme(self, _required(dim, axis, "cummin"), False)

    def aminmax(self, *, dim=None, keepdim=False, axis=None, keepdims=None):
        dim, keepdim = _numpy_names(dim, axis, keepdim, keepdims)
        arr = _cpu(self, "aminmax")
        if dim is None:
            if arr.size == 0:
                raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension "
                                   "as the operation has no identity.")
            axes, kd = None, (1,) * arr.ndim
            lo, hi = arr.min().reshape(kd), arr.max().reshape(kd)
        else:
            d = self._dim(dim)
            if arr.ndim == 0:
                return aminmax_type(self.clone(), self.clone())
            _nonempty(self, d, "aminmax", ":")
            axes = (d,)
            lo, hi = arr.min(axis=d, keepdims=True), arr.max(axis=d, keepdims=True)
        return aminmax_type(apply(S.EvenlyBackward, (self,), lo, axes, keepdim,
                                  "AminmaxBackward0"),
                            apply(S.EvenlyBackward, (self,), hi, axes, keepdim,
                                  "AminmaxBackward0"))

    def msort(self):
        return self.sort(0).values if self._data.ndim else self.clone()

    # ---- numeric helpers: fastnn._functions_select has them --------------------------------
    def diff(self, n=1, dim=-1, prepend=None, append=None, *, axis=None):
        return _fs().diff(self, n, dim if axis is None else axis, prepend, append)

    def inner(self, other):
        return _fs().inner(self, other)

    def vdot(self, other):
        return _fs().vdot(self, other)

    def tensor_split(self, *args, **kw):
        return _fs().tensor_split(self, *args, **kw)

    def logit(self, eps=None):
        return _fs().logit(self, eps)

    def sinc(self):
        return _fs().sinc(self)

    def copysign(self, other):
        return _fs().copysign(self, other)

    def sgn(self):
        return _fs().sgn(self)

    def renorm(self, p, dim, maxnorm):
        return _fs().renorm(self, p, dim, maxnorm)

    def frexp(self):
        return _fs().frexp(self)

    def ldexp(self, other):
        return _fs().ldexp(self, other)

    def float_power(self, exponent):
        return _fs().float_power(self, exponent)

    def true_divide(self, other):
        return self.div(other)

    def fix(self):
        return self.trunc()

    def positive(self):
        return _fs().positive(self)

    def logaddexp2(self, other):
        return _fs().logaddexp2(self, other)

    def nextafter(self, other):
        return _fs().nextafter(self, other)


def _fs():
    from . import _functions_select
    return _functions_select
