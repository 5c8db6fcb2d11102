"""Reductions and normalising ops as Tensor methods (a mixin of Tensor)."""
import collections
import warnings

import numpy as np

from . import _dtype as D
from ._dtype import scalar_type_name as _type_title
from .autograd.function import apply, apply_node
from .autograd import ops_reduce as R
from .autograd.ops_math import relabel
from .autograd.out_layout import c_contiguous
from ._tensor_math import axes_of, _pick, _required, _float_input, _nograd


def _return_type(name):
    """A (values, indices) named tuple that prints like PyTorch's ``return_types``."""
    def __repr__(self):
        return f"fastnn.return_types.{name}(\nvalues={self[0]!r},\nindices={self[1]!r})"
    base = collections.namedtuple(name, ["values", "indices"])
    return type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                                "__module__": "fastnn.return_types"})


values_indices_max = _return_type("max")
values_indices_min = _return_type("min")
values_indices_sort = _return_type("sort")
values_indices_topk = _return_type("topk")


class ReduceMixin:
    __slots__ = ()

    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        if dim is None and dtype is None and axis is None and keepdims is None and \
                self._data.dtype.kind == "f":
            return apply(R.SumBackward0, (self,), None, keepdim, None)  # loss.sum(), x.sum()
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        dt = D.to_dtype(dtype).np if dtype is not None else (
            np.int64 if self._data.dtype.kind in "biu" else None)
        axes = axes_of(self, dim)
        return apply(R.SumBackward0 if axes is None else R.SumBackward1, (self,), axes, keepdim,
                     dt)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        src = self if dtype is None else self.to(dtype)
        if src._data.dtype.kind != "f":
            which = "Input" if dtype is None else "Optional"
            raise RuntimeError(f"mean(): could not infer output dtype. {which} dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{D.scalar_type_name(src._data.dtype)}")
        axes = axes_of(src, dim)
        return apply(R.MeanBackward0 if axes is None else R.MeanBackward1, (src,), axes, keepdim)

    def _var(self, dim, unbiased, keepdim, correction, take_sqrt, fn=None, level=3):
        if self._data.dtype.kind != "f":
            raise RuntimeError("std and var only support floating point and complex dtypes")
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        if isinstance(dim, bool):
            correction, dim = (1 if dim else 0), None
        axes = axes_of(self, dim)
        shape = self._data.shape
        n = self._data.size if axes is None else int(np.prod([shape[i] for i in axes]))
        if n - correction <= 0:
            warnings.warn(f"{fn or ('std' if take_sqrt else 'var')}(): degrees of freedom is "
                          "<= 0. Correction should be strictly less than the reduction factor "
                          "(input numel divided by output numel).", UserWarning,
                          stacklevel=level)
        return apply(R.StdBackward0 if take_sqrt else R.VarBackward0, (_float_input(self),), axes,
                     correction, keepdim, take_sqrt)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._var(dim, unbiased, keepdim, correction, False)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
            keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._var(dim, unbiased, keepdim, correction, True)

    def prod(self, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        src = _accumulating(self, dtype)
        if dim is None:
            return in_asked_dtype(apply(R.ProdBackward0, (src,), None, keepdim), dtype)
        return in_asked_dtype(apply(R.ProdBackward1, (src,), self._dim(dim), keepdim), dtype)

    def _extreme(self, dim, keepdim, use_max):
        from .tensor import Tensor
        if isinstance(dim, Tensor):
            return self.maximum(dim) if use_max else self.minimum(dim)
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(f"{'max' if use_max else 'min'}(): Expected reduction dim to "
                                   "be specified for input.numel() == 0. Specify the reduction "
                                   "dim with the 'dim' argument.")
            return apply(R.MaxBackward1 if use_max else R.MinBackward1, (self,), use_max)
        if self._data.ndim == 0:
            self._dim(dim)
            kind = values_indices_max if use_max else values_indices_min
            node = R.MaxBackward1 if use_max else R.MinBackward1
            return kind(apply(node, (self,), use_max), _nograd(np.zeros((), np.int64)))
        out, node = apply_node(R.MaxBackward0 if use_max else R.MinBackward0, (self,),
                               self._dim(dim), keepdim, use_max)
        kind = values_indices_max if use_max else values_indices_min
        return kind(out, _nograd(node.indices))

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):
        if other is not None:  # x.max(other=y): the elementwise maximum
            return self.maximum(other)
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._extreme(dim, keepdim, True)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None, other=None):
        if other is not None:  # x.min(other=y): the elementwise minimum
            return self.minimum(other)
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return self._extreme(dim, keepdim, False)

    def amax(self, dim=(), keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _pick(None if _no_dims(dim) else dim, axis, keepdim, keepdims)
        return _amax(self, () if dim is None else dim, keepdim, True)

    def amin(self, dim=(), keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _pick(None if _no_dims(dim) else dim, axis, keepdim, keepdims)
        return _amax(self, () if dim is None else dim, keepdim, False)

    def argmax(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return _arg_extreme(self, dim, keepdim, "argmax")

    def argmin(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        return _arg_extreme(self, dim, keepdim, "argmin")

    def sort(self, dim=-1, descending=False, *, stable=False, axis=None):
        # always stable: equal values keep their order, whatever ``stable`` asks
        if axis is not None:  # numpy's name for dim
            dim = axis
        out, node = apply_node(R.SortBackward0, (self,), self._dim(dim), bool(descending))
        return values_indices_sort(out, _nograd(node.indices))

    def argsort(self, dim=-1, descending=False, stable=False, *, axis=None):
        d = self._dim(dim if axis is None else axis)
        if not self._data.ndim:
            return _nograd(np.zeros((), np.int64))
        return _nograd(R.sort_indices(self._data, d, bool(descending)))

    def topk(self, k, dim=-1, largest=True, sorted=True, *, axis=None):
        d = self._dim(dim if axis is None else axis)
        if not 0 <= k <= (self._data.shape[d] if self._data.ndim else 1):
            raise RuntimeError("selected index k out of range")
        if self._data.dtype == np.bool_:
            raise RuntimeError("topk does not support bool dtypes on CPU")
        # sorted=False may return any order; the sorted one is as good
        out, node = apply_node(R.TopkBackward0, (self,), d, bool(largest), int(k))
        return values_indices_topk(out, _nograd(node.indices))

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        axes = () if _no_dims(dim) else axes_of(self, dim)  # dim=(): no dim is reduced
        return _nograd(_logical_result(self, c_contiguous(np.all(self._data, axis=axes,
                                                                     keepdims=keepdim))))

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _pick(dim, axis, keepdim, keepdims)
        axes = () if _no_dims(dim) else axes_of(self, dim)  # dim=(): no dim is reduced
        return _nograd(_logical_result(self, c_contiguous(np.any(self._data, axis=axes,
                                                                     keepdims=keepdim))))

    def count_nonzero(self, dim=None, *, axis=None):
        dim = axis if dim is None else dim  # PyTorch's numpy-style alias
        return _nograd(c_contiguous(np.count_nonzero(self._data, axis=axes_of(self, dim))))

    def logsumexp(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        dim, keepdim = _pick(_required(dim, axis, "logsumexp"), None, keepdim, keepdims)
        if _no_dims(dim) and not keepdim and self._data.ndim and self._data.size:
            # PyTorch reduces every dim kept, then fails to write that into a 0-d result
            raise RuntimeError(f"output with shape [] doesn't match the broadcast shape "
                               f"{[1] * self._data.ndim}")
        return apply(R.LogsumexpBackward0, (_float_input(self),), axes_of(self, dim), keepdim)

    def softmax(self, dim=None, dtype=None, *, axis=None):
        dim = _required(dim, axis, "softmax")
        _softmax_input_check(self, dim, dtype, "softmax")
        src = _float_input(self if dtype is None else self.to(dtype))
        axis = self._dim(dim)  # checked for a 0-d tensor too, which takes only -1 and 0
        return apply(R.SoftmaxBackward0, (src,), axis if self._data.ndim else None)

    def log_softmax(self, dim=None, dtype=None, *, axis=None):
        dim = _required(dim, axis, "log_softmax")
        _softmax_input_check(self, dim, dtype, "log_softmax")
        src = _float_input(self if dtype is None else self.to(dtype))
        axis = self._dim(dim)  # checked for a 0-d tensor too, which takes only -1 and 0
        return apply(R.LogSoftmaxBackward0, (src,), axis if self._data.ndim else None)

    def cumsum(self, dim=None, *, dtype=None, axis=None):
        dim = _required(dim, axis, "cumsum")
        src = _accumulating(self, dtype)
        if dtype is not None and src._data.dtype.kind == "b":
            raise NotImplementedError("\"cumsum_out_cpu\" not implemented for 'Bool'")
        if not self._data.ndim:
            self._dim(dim)
            return in_asked_dtype(src.reshape(1).cumsum(0).reshape(()), dtype)
        return in_asked_dtype(apply(R.CumsumBackward0, (src,), self._dim(dim)), dtype)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        if hasattr(p, "_data"):  # a Tensor order (0-d) is read as its number
            p = p.item()
        if self._data.dtype.kind != "f":  # integer and bool inputs raise, dtype= or not
            kind = "matrix" if p == "nuc" else "vector"
            raise RuntimeError(f"linalg.{kind}_norm: Expected a floating point or complex "
                               f"tensor as input. Got {D.scalar_type_name(self._data.dtype)}")
        if isinstance(p, str) and p not in ("fro", "inf"):  # 'nuc' and unknown orders
            if p != "nuc":
                raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
            from .linalg import matrix_norm
            return matrix_norm(self, p, dim=(-2, -1) if dim is None else dim, keepdim=keepdim)
        if p == "fro" and isinstance(dim, (tuple, list)) and len(dim) > 2:
            from .linalg import _not_two_dims  # a Frobenius norm spans one or two dims
            raise RuntimeError(_not_two_dims(dim))
        p = 2 if p in ("fro", None) else (np.inf if p == "inf" else p)
        src = self if dtype is None else _norm_input_as(self, dtype)  # float: checked above
        if (p == np.inf or p < 0) and not self._data.size:
            _check_extreme_norm_of_empty(self, p, dim)
        if p == 0 or p == -np.inf:
            from .autograd.ops_ties import NormBackward1Extreme
            return relabel(apply(NormBackward1Extreme, (src,), p, axes_of(self, dim), keepdim),
                           "LinalgVectorNormBackward0")  # PyTorch's node for every p-norm
        return relabel(apply(R.NormBackward1, (src,), p, axes_of(self, dim), keepdim),
                       "LinalgVectorNormBackward0")


def _accumulating(t, dtype):
    """What a product or running sum runs on: ``dtype`` when given, and unsigned integers
    widened to int64 as PyTorch does (numpy would widen them to uint64)."""
    if dtype is not None:
        return t.to(dtype)
    return t.to(D.int64) if t._data.dtype.kind == "u" else t


def in_asked_dtype(out, dtype):
    """An integer product or running sum accumulates wide; an explicit ``dtype=`` still
    names the result dtype (the low bits agree, so the narrowing cast wraps as PyTorch)."""
    if dtype is None or out._data.dtype == D.to_dtype(dtype).np:
        return out
    return out.to(dtype)


def _logical_result(t, arr):
    """all()/any() give bool, except for uint8 input, which keeps uint8 (0 or 1)."""
    return arr.astype(np.uint8) if t._data.dtype == np.uint8 else arr


def _arg_extreme(t, dim, keepdim, name):
    """argmax/argmin: the flat index when ``dim`` is None (every dim kept as 1 with keepdim)."""
    arr = t._data
    if arr.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    find = np.argmax if name == "argmax" else np.argmin
    if dim is None or not arr.ndim:
        if dim is not None:
            t._dim(dim)
        elif not arr.size:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        index = find(arr)
        return _nograd(np.reshape(index, (1,) * arr.ndim) if keepdim and dim is None
                       else np.asarray(index))
    d = t._dim(dim)
    if not arr.shape[d]:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return _nograd(find(arr, axis=d, keepdims=keepdim))


def _no_dims(dim):
    return isinstance(dim, (tuple, list)) and not dim


def _amax(t, dim, keepdim, use_max):
    axes = axes_of(t, None if _no_dims(dim) else dim)
    if axes is None and t._data.size == 0:
        name = "amax" if use_max else "amin"
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    if axes is None:  # every dim; unlike max(), a NaN extreme gives NaN gradients (as PyTorch)
        axes = range(t._data.ndim)
    for ax in axes:
        if not t._data.shape[ax]:
            raise IndexError(f"{'amax' if use_max else 'amin'}(): Expected reduction dim "
                             f"{ax} to have non-zero size.")
    from .autograd.ops_ties import AmaxBackward0, AminBackward0
    return apply(AmaxBackward0 if use_max else AminBackward0, (t,), tuple(axes), keepdim,
                 use_max)


def _norm_input_as(t, dtype):
    """norm(dtype=...): the input cast up to ``dtype`` first; narrowing it is an error."""
    want = D.to_dtype(dtype)
    have = D._FROM_NP[t._data.dtype]  # a float: norm() refuses other inputs first
    if have.category != want.category or D.promote_types(have, want) is not want:
        raise RuntimeError(f"linalg.vector_norm: the dtype of the input ({_type_title(have.np)})"
                           f" should be convertible without narrowing to the specified dtype "
                           f"({_type_title(want.np)})")
    return t if have is want else t.to(want)


def _check_extreme_norm_of_empty(t, p, dim):
    """max of |x| and negative orders have no value over nothing: PyTorch's errors for such
    reductions of an empty ``t`` (``dim`` as the caller gave it, named so in the message)."""
    order = str(int(p)) if np.isfinite(p) and p == int(p) else str(p)
    if dim is None or _no_dims(dim):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {order} norm on an empty "
                           "tensor because the operation does not have an identity")
    for d in (dim if isinstance(dim, (tuple, list)) else (dim,)):
        if not t._data.shape[t._dim(d)]:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {order} norm on the "
                               f"dimension {d}because this dimension is empty and the "
                               "operation does not have an identity")


def _softmax_input_check(t, dim, dtype, name):
    """Integer and bool input, or an integer or bool ``dtype`` to compute in, is an error, as
    in PyTorch (the kernel runs in ``dtype`` when one is given)."""
    dt = t._data.dtype if dtype is None else D.to_dtype(dtype).np
    if dt.kind in "fc":
        return
    last = t._data.ndim == 0 or t._dim(dim) == t._data.ndim - 1
    kernel = f"{name}_lastdim_kernel_impl" if last else f"{name}_kernel_impl"
    raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_title(dt)}\'')
