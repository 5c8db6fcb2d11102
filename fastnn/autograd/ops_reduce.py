"""Reductions and normalising ops (sum, mean, var, max, softmax, ...)."""
from math import prod

import numpy as np

from .node import Node
from .accumulate import HALF as _HALF, half_sum, in_float32, widen_half
from .ops_math import zeros_on
from .out_layout import c_contiguous


def expand_back(g, shape, axes, keepdim):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdim and axes is not None:
        g = np.expand_dims(g, axes)
    elif axes is None and g.ndim != len(shape):
        g = g.reshape((1,) * len(shape))
    return np.broadcast_to(g, shape)


_add_reduce = np.add.reduce


_F32 = np.dtype(np.float32)
# float32 reductions adding this many terms one at a time accumulate in float64 instead
_SERIAL_TERMS_LIMIT = 128


def _adds_serially(a, axes, n):
    """Whether numpy, reducing float32 ``a`` over ``axes`` (``n`` terms per result), would add
    many terms one at a time. Its pairwise summation covers only the reduced axes it walks
    innermost in memory; the rest accumulate row by row in float32, whose error grows with
    their count (x.sum(0) of a tall (10**6, 4) tensor is off by about 1e-5)."""
    if n < _SERIAL_TERMS_LIMIT or type(a) is not np.ndarray or a.dtype != _F32:
        return False
    shape, pairwise = a.shape, 1
    if a.flags.c_contiguous:  # memory order is axis order: the trailing reduced axes
        if axes is None:
            return False
        i = a.ndim - 1
        while i >= 0 and (i in axes or shape[i] == 1):
            pairwise *= shape[i]
            i -= 1
        return n // pairwise >= _SERIAL_TERMS_LIMIT
    if axes is None:
        axes = range(a.ndim)
    expect = None
    for stride, size, i in sorted((abs(a.strides[i]), shape[i], i) for i in range(a.ndim)
                                  if shape[i] > 1):
        if i not in axes or (expect is not None and stride != expect):
            break
        pairwise *= size
        expect = stride * size
    return n // pairwise >= _SERIAL_TERMS_LIMIT


_BLOCK_ROWS = 64


def _wide_sum(a, axes, keepdim):
    """The float32 sum accumulated in float64 (still float64: callers divide, then cast).

    Casting every element to float64 costs about 3x a float32 reduction when numpy's inner
    loop runs along kept elements (x.sum(0) of a wide matrix); there, blocks of
    ``_BLOCK_ROWS`` steps are summed in float32 first and only the block sums in float64,
    with error still near float32's rounding."""
    if axes is None or len(axes) != 1:
        return _add_reduce(a, axes, np.float64, None, keepdim)
    ax = axes[0]
    n, step = a.shape[ax], abs(a.strides[ax])
    kept_inner = prod([s for i, s in enumerate(a.shape) if i != ax and abs(a.strides[i]) < step])
    if kept_inner < _BLOCK_ROWS or n < 2 * _BLOCK_ROWS:
        return _add_reduce(a, axes, np.float64, None, keepdim)
    whole = n - n % _BLOCK_ROWS
    lead = (slice(None),) * ax
    # splitting one axis in two is a view for any strides
    blocks = a[lead + (slice(0, whole),)].reshape(
        a.shape[:ax] + (whole // _BLOCK_ROWS, _BLOCK_ROWS) + a.shape[ax + 1:])
    total = _add_reduce(_add_reduce(blocks, ax + 1), ax, np.float64, None, keepdim)
    if whole < n:
        total += _add_reduce(a[lead + (slice(whole, n),)], ax, np.float64, None, keepdim)
    return total


class SumBackward1(Node):
    def forward(self, a, axes, keepdim, dt):
        self.meta = (a.shape, axes, keepdim)
        if dt is None and a.size >= _SERIAL_TERMS_LIMIT and _adds_serially(
                a, axes, a.size if axes is None else prod([a.shape[i] for i in axes])):
            return c_contiguous(_wide_sum(a, axes, keepdim).astype(_F32))
        if a.dtype == _HALF if dt is None else dt == _HALF:
            return c_contiguous(half_sum(a, axes, keepdim))
        # the ufunc itself: ndarray.sum and np.sum add Python-level wrappers around it; a
        # reduction of a transposed input is laid out C-contiguous, as in PyTorch
        return c_contiguous(_add_reduce(a, axes, dt, None, keepdim))

    def backward(self, g):
        return (expand_back(g, *self.meta),)

    def name(self):  # PyTorch's names: SumBackward0 for a full sum, SumBackward1 over dims
        return "SumBackward0" if self.meta[1] is None else "SumBackward1"


class SumBackward0(SumBackward1):
    """A sum over all elements (PyTorch names the overloads apart)."""


class MeanBackward1(Node):
    def forward(self, a, axes, keepdim):
        self.meta = (a.shape, axes, keepdim)
        n = a.size if axes is None else prod([a.shape[i] for i in axes])
        self.n = n
        if n == 0 and type(a) is np.ndarray:  # nan, quietly, as in PyTorch
            return np.full(_add_reduce(a, axes, None, None, keepdim).shape, np.nan, a.dtype)
        if type(a) is not np.ndarray or a.dtype.itemsize < 4:
            # numpy's mean: float16's float32 accumulator
            return c_contiguous(a.mean(axis=axes, keepdims=keepdim))
        if _adds_serially(a, axes, n):
            return c_contiguous((_wide_sum(a, axes, keepdim) / n).astype(_F32))
        # the same pairwise sum and division as ndarray.mean, without its Python wrapper
        # (which costs more than the whole reduction on small tensors)
        return c_contiguous(np.true_divide(_add_reduce(a, axes, None, None, keepdim), n))

    def backward(self, g):
        return (expand_back(g / self.n, *self.meta),)

    def name(self):
        return "MeanBackward0" if self.meta[1] is None else "MeanBackward1"


class MeanBackward0(MeanBackward1):
    """A mean over all elements."""


class VarBackward0(Node):
    def forward(self, a, axes, correction, keepdim, take_sqrt):
        self.meta = (a.shape, axes, keepdim)
        n = a.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
        self.denom = max(n - correction, 0)
        dt, a = a.dtype, widen_half(a)
        saved_dt = a.dtype
        if type(a) is np.ndarray and a.dtype == _F32:
            # accumulate in float64, as PyTorch does: squares of large float32 values (1e20)
            # overflow float32, and long sums drift
            a = a.astype(np.float64)
        if a.size == 0:  # numpy warns "Mean of empty slice"; the result is nan as in PyTorch
            mean = np.full([1 if axes is None or i in axes else s for i, s in enumerate(a.shape)],
                           np.nan, a.dtype)
        else:
            mean = np.mean(a, axis=axes, keepdims=True)
        centred = a - mean
        squares = centred * centred
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.sum(squares, axis=axes, keepdims=keepdim) / self.denom
            y = np.sqrt(v) if take_sqrt else v
        self.take_sqrt = take_sqrt
        y = c_contiguous(y.astype(saved_dt, copy=False))
        self.save(centred.astype(saved_dt, copy=False), y)
        return y.astype(dt, copy=False)

    def backward(self, g):
        centred, y = self.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.take_sqrt:  # where the std is 0 its gradient is taken as 0, as in PyTorch
                g = np.where(y == 0, 0, g / (2 * y))
            if self.denom:
                ga = expand_back(g, *self.meta) * centred * (2.0 / self.denom)
            else:  # no degrees of freedom: PyTorch's infinite slope (NaN where centred is 0)
                ga = expand_back(g, *self.meta) * np.abs(centred) * np.inf
        return (ga.astype(g.dtype, copy=False),)

    def name(self):
        return "StdBackward0" if self.take_sqrt else "VarBackward0"


class StdBackward0(VarBackward0):
    """std: the square root of the variance, through the same node."""


class ProdBackward1(Node):
    def forward(self, a, axis, keepdim):
        self.meta = (a.shape, axis, keepdim)
        y = c_contiguous(np.prod(a, axis=axis, keepdims=keepdim))
        self.save(a, y)
        return y

    def backward(self, g):
        a, y = self.saved
        shape, axis, keepdim = self.meta
        axes = None if axis is None else (axis,)
        if not a.ndim:  # the product of one number is that number
            return (g,)
        if type(a) is np.ndarray and a.size and not (a == 0).any():
            # no zeros: the product over each entry, as PyTorch computes it (so NaN and inf
            # entries give NaN slopes across their slice, as there)
            with np.errstate(invalid="ignore", divide="ignore"):
                others = expand_back(y, shape, axes, keepdim) / a
            return (others * expand_back(g, shape, axes, keepdim),)
        # product of the others, exact even where entries are zero
        if axis is None:
            if not a.size:  # the empty product is 1 and has no entries to send a slope to
                return (zeros_on(g, shape, a.dtype),)
            flat = a.reshape(-1)
            left = np.concatenate([[1], np.cumprod(flat[:-1])]).astype(a.dtype)
            right = np.concatenate([np.cumprod(flat[::-1][:-1])[::-1], [1]]).astype(a.dtype)
            return ((left * right).reshape(shape) * g,)
        moved = np.moveaxis(a, axis, -1)
        ones = np.ones(moved.shape[:-1] + (1,), a.dtype)
        left = np.concatenate([ones, np.cumprod(moved[..., :-1], axis=-1)], axis=-1)
        rev = np.cumprod(moved[..., ::-1][..., :-1], axis=-1)[..., ::-1]
        right = np.concatenate([rev, ones], axis=-1)
        others = np.moveaxis(left * right, -1, axis)
        return (others * expand_back(g, shape, axes, keepdim),)

    def name(self):
        return "ProdBackward0" if self.meta[1] is None else "ProdBackward1"


class ProdBackward0(ProdBackward1):
    """A product over all elements."""


class MaxBackward1(Node):
    """max()/min() over all elements: ties share the gradient evenly."""

    def forward(self, a, use_max):
        self.use_max = use_max
        y = a.max() if use_max else a.min()
        self.save(a, y)
        return np.asarray(y) if isinstance(y, np.generic) else y

    def ties(self):
        """The entries the result came from: those equal to it, or the NaNs when it is NaN."""
        a, y = self.saved
        if a.dtype.kind in "fc" and y != y:
            return np.isnan(a)
        return a == y

    def backward(self, g):
        mask = self.ties()
        share = g / mask.sum()
        return (np.where(mask, share, np.zeros((), share.dtype)),)  # inf g: 0 off the ties

    def name(self):
        return "MaxBackward1" if self.use_max else "MinBackward1"


class MinBackward1(MaxBackward1):
    """min() over all elements."""


class MaxBackward0(Node):
    """max(dim)/min(dim): the gradient goes to the index returned."""

    def forward(self, a, axis, keepdim, use_max):
        if a.shape[axis] == 0 if a.ndim else False:
            raise IndexError(
                f"{'max' if use_max else 'min'}(): Expected reduction dim {axis} to have "
                "non-zero size.")
        idx = np.argmax(a, axis=axis, keepdims=True) if use_max else \
            np.argmin(a, axis=axis, keepdims=True)
        vals = np.take_along_axis(a, idx, axis=axis)
        self.use_max = use_max
        self.meta = (a.shape, a.dtype, axis)
        self.idx = idx
        if not keepdim:
            vals = vals.squeeze(axis) if a.ndim else vals
            idx = idx.squeeze(axis) if a.ndim else idx
        self.indices = idx
        self.keepdim = keepdim
        return vals

    def backward(self, g):
        shape, dt, axis = self.meta
        out = zeros_on(g, shape, dt)
        if not self.keepdim and len(shape):
            g = np.expand_dims(g, axis)
        np.put_along_axis(out, self.idx, g, axis=axis)
        return (out,)

    def name(self):
        return "MaxBackward0" if self.use_max else "MinBackward0"


class MinBackward0(MaxBackward0):
    """min(dim)."""


def sort_indices(a, axis, descending):
    """Stable argsort along ``axis``; nan counts as the largest value, as in PyTorch."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable").astype(np.int64, copy=False)
    # descending and still stable: sort the reversed array, then reverse the result back
    rev = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return (a.shape[axis] - 1 - np.flip(rev, axis)).astype(np.int64, copy=False)


class SortBackward0(Node):
    """sort / topk (``k`` set): the values' gradient goes back to the positions they came from."""

    def forward(self, a, axis, descending, k=None):
        self.meta, self.axis, self.k = (a.shape, a.dtype), axis, k
        if a.ndim == 0:
            self.indices = np.zeros((), np.int64)
            return a.copy()
        idx = sort_indices(a, axis, descending)
        if k is not None:
            # the first k of each sort: copied out, so that topk's indices are C-ordered
            idx = np.ascontiguousarray(idx[(slice(None),) * axis + (slice(0, k),)])
        self.indices = idx
        return np.take_along_axis(a, idx, axis=axis)

    def backward(self, g):
        if not self.meta[0]:
            return (g,)
        out = zeros_on(g, *self.meta)
        np.put_along_axis(out, self.indices, g, axis=self.axis)  # indices never repeat
        return (out,)

    def name(self):
        return "SortBackward0" if self.k is None else "TopkBackward0"


class TopkBackward0(SortBackward0):
    """topk: the first k of a sort."""


class LogsumexpBackward0(Node):
    def forward(self, a, axes, keepdim):
        dt, a = a.dtype, widen_half(a)
        if a.size == 0:  # an empty sum of exponentials: -inf, as in PyTorch
            m = np.zeros(_add_reduce(a, axes, None, None, True).shape, a.dtype)
        else:
            m = np.max(a, axis=axes, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):
            s = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
        self.save(a, s)
        self.meta = (a.shape, axes, keepdim)
        return c_contiguous((s if keepdim else np.squeeze(s, axis=axes)).astype(dt, copy=False))

    def backward(self, g):
        a, s = self.saved
        return ((expand_back(g, *self.meta) * np.exp(a - s)).astype(g.dtype, copy=False),)


def softmax_array(a, axis):
    if type(a) is not np.ndarray:
        return a.softmax(axis)  # a CUDA array: one fused row kernel
    if not a.size:  # nothing to normalise (numpy's max has no identity for empty axes)
        return a.copy()
    if not a.ndim:  # numpy's ufuncs turn a 0-d array into a scalar: go through 1-d
        return softmax_array(a.reshape(1), 0).reshape(())
    if a.dtype == _HALF:  # float16 is normalised in float32 and rounded once, as in PyTorch
        return in_float32(softmax_array, a, axis)
    a = c_contiguous(a)  # a transposed input still gives a C-contiguous result
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax_array(a, axis):
    if type(a) is not np.ndarray:
        return a.log_softmax(axis)
    if not a.size:
        return a.copy()
    if not a.ndim:  # numpy's ufuncs turn a 0-d array into a scalar: go through 1-d
        return log_softmax_array(a.reshape(1), 0).reshape(())
    if a.dtype == _HALF:
        return in_float32(log_softmax_array, a, axis)
    a = c_contiguous(a)
    shifted = a - a.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def _softmax_grad(g, y, axis):
    gy = g * y
    return gy - y * gy.sum(axis=axis, keepdims=True)


def _log_softmax_grad(g, y, axis):
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


class SoftmaxBackward0(Node):
    def forward(self, a, axis):
        self.axis = axis
        y = softmax_array(a, axis)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        if type(y) is not np.ndarray:
            return (g.softmax_backward(y, self.axis),)
        if y.dtype == _HALF:  # in float32, rounded once, as PyTorch's float16 kernel does
            return (in_float32(_softmax_grad, g, y, self.axis),)
        return (_softmax_grad(g, y, self.axis),)


class LogSoftmaxBackward0(Node):
    def forward(self, a, axis):
        self.axis = axis
        y = log_softmax_array(a, axis)
        self.save(y)
        return y

    def backward(self, g):
        y = self.saved[0]
        if type(y) is not np.ndarray:
            return (g.softmax_backward(y, self.axis, log=True),)
        if y.dtype == _HALF:
            return (in_float32(_log_softmax_grad, g, y, self.axis),)
        return (_log_softmax_grad(g, y, self.axis),)


_FLOAT32 = np.dtype(np.float32)
# running sums accumulate wider than they store, as PyTorch's do: float16 in float32, float32
# in float64 (a float32 accumulator drifts, e.g. 10000 additions of 0.1 reach 999.90)
_CUMSUM_ACCUMULATOR = {_HALF: np.float32, _FLOAT32: np.float64}


def cumsum_array(a, axis):
    wide = _CUMSUM_ACCUMULATOR.get(a.dtype)
    if wide is None:
        return np.cumsum(a, axis=axis)
    return np.cumsum(a, axis=axis, dtype=wide).astype(a.dtype)


class CumsumBackward0(Node):
    def forward(self, a, axis):
        self.axis = axis
        return c_contiguous(cumsum_array(a, axis))

    def backward(self, g):
        ax = self.axis
        return (np.flip(cumsum_array(np.flip(g, ax), ax), ax),)


class NormBackward1(Node):
    """p-norm over all elements or dims (p=2 by default)."""

    def forward(self, a, p, axes, keepdim):
        self.meta = (a.shape, axes, keepdim)
        self.p = p
        dt, a = a.dtype, widen_half(a)
        if p == 2:
            y = np.sqrt(np.sum(a * a, axis=axes, keepdims=keepdim))
        elif p == 1:
            y = np.sum(np.abs(a), axis=axes, keepdims=keepdim)
        elif p == np.inf or p == -np.inf:
            y = (np.max if p > 0 else np.min)(np.abs(a), axis=axes, keepdims=keepdim)
        elif p == 0:  # the count of nonzero entries
            y = np.sum(a != 0, axis=axes, keepdims=keepdim).astype(a.dtype)
        else:
            y = np.sum(np.abs(a) ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)
        self.save(a, y)
        return c_contiguous(y.astype(dt, copy=False))

    def backward(self, g):
        if self.p == 0:  # a count: no gradient reaches the input, as in PyTorch
            return (None,)
        gb = expand_back(g, *self.meta)
        return ((gb * self.slope()).astype(g.dtype, copy=False),)

    def slope(self):
        """d(norm)/d(input), with PyTorch's values where the formula breaks down: 0 at zero
        entries for p < 1 and where the norm is 0 for p >= 1; a NaN entry has sign 0 (so p=1
        and +-inf give it no slope); +-inf norms share the slope among the entries at the
        extreme, and a slice with a NaN extreme gets none."""
        a, y = self.saved
        yb = expand_back(y, *self.meta)
        p = self.p
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sign = np.where(np.isnan(a), 0, np.sign(a))
            if p == 2:
                return np.where(yb == 0, 0, a / yb)
            if p == 1:
                return sign
            if p == np.inf or p == -np.inf:  # ties share the slope evenly
                mask = np.abs(a) == yb
                count = mask.sum(axis=self.meta[1], keepdims=True)
                return sign * mask / np.maximum(count, 1)
            if p < 1:
                return np.where(a == 0, 0, sign * np.abs(a) ** (p - 1)) * yb ** (1 - p)
            return np.where(yb == 0, 0, sign * np.abs(a) ** (p - 1) / yb ** (p - 1))
