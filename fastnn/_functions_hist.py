"""Histograms (``histogram``, ``histogramdd``), ``chain_matmul`` and the bit-shift functions.

Histograms count in numpy and are not differentiable, as in PyTorch.
"""
import warnings

import numpy as np

from ._dtype import scalar_type_name as _title
from ._functions_linalg import return_type

__all__ = ["histogram", "histogramdd", "chain_matmul", "bitwise_left_shift",
           "bitwise_right_shift"]

_histogram_rt = return_type("histogram", ["hist", "bin_edges"])
_histogramdd_rt = return_type("histogramdd", ["hist", "bin_edges"])


def _T():
    from .tensor import Tensor
    return Tensor


def _wrap(arr):
    from .tensor import _wrap as wrap
    return wrap(np.ascontiguousarray(arr))


def _c_name(dt):
    from . import _dtype as D
    return D.c_type_name(dt)


def _fmt(v):
    return f"{float(v):g}"


def _uniform_edges(column, count, bounds, dim, dtype):
    """``count + 1`` evenly spaced edges over ``bounds`` (or the data's extent)."""
    if count <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {count} for "
                           f"dimension {dim}")
    if bounds is not None:
        lo, hi = float(bounds[0]), float(bounds[1])
    elif column.size:
        lo, hi = float(column.min()), float(column.max())
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min "
                           f"{_fmt(lo)} max {_fmt(hi)} for dimension {dim}")
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension {dim}'s range [{_fmt(lo)}, "
                           f"{_fmt(hi)}] is not finite")
    if lo == hi:  # a single value gets a bin of width 1 around it
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, count + 1).astype(dtype)


def _given_edges(edges, dim, dtype):
    if edges._data.dtype != dtype:
        raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the "
                           f"same dtype, but got input with dtype {_c_name(dtype)} and bins "
                           f"for dimension {dim} with dtype {_c_name(edges._data.dtype)}")
    if edges.dim() != 1:
        raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got "
                           f"{edges.dim()} dimensions in the bins tensor for dimension {dim}")
    if edges.numel() < 1:
        raise RuntimeError(f"torch.histogramdd: bins tensor should have at least 1 element, "
                           f"but got {edges.numel()} elements in the bins tensor for dimension "
                           f"{dim}")
    return edges._host().copy()


def _bin_positions(column, edges):
    """Each value's bin (the last bin closed on the right) and whether it falls in any."""
    inside = (column >= edges[0]) & (column <= edges[-1])
    pos = np.searchsorted(edges, column, side="right") - 1
    pos = np.minimum(pos, len(edges) - 2)
    return np.where(inside, pos, 0), inside


def _histogramdd(input, bins, range, weight, density):
    Tensor = _T()
    if not isinstance(input, Tensor):
        raise TypeError(f"histogramdd(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    arr = input._host()
    if arr.dtype.kind != "f":
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_title(arr.dtype)}'")
    if arr.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    ndim = arr.shape[-1]
    points = arr.reshape(-1, ndim)
    if weight is not None:
        if tuple(weight.shape) != arr.shape[:-1]:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have "
                               f"the same shape as the input tensor excluding its innermost "
                               f"dimension, but got input with shape {list(arr.shape)} and "
                               f"weight with shape {list(weight.shape)}")
        weights = weight._host().reshape(-1)
    else:
        weights = None
    given = isinstance(bins, Tensor) or (isinstance(bins, (list, tuple)) and
                                         any(isinstance(b, Tensor) for b in bins))
    if given:
        specs = [bins] if isinstance(bins, Tensor) else list(bins)
        if range is not None:
            raise TypeError("histogramdd(): range can only be given with integer bin counts")
    else:
        specs = [bins] * ndim if isinstance(bins, int) else [int(b) for b in bins]
    if len(specs) != ndim:
        raise RuntimeError(f"torch.histogramdd: expected {ndim} sequences of bin edges for each "
                           f"dimension, but got {len(specs)}")
    if range is not None and len(range) != 2 * ndim:
        raise RuntimeError(f"torch.histogramdd: for a {ndim}-dimensional histogram range should "
                           f"have {2 * ndim} elements, but got {len(range)}")
    edges = []
    for d, spec in enumerate(specs):
        if given:
            edges.append(_given_edges(spec, d, arr.dtype))
        else:
            bounds = None if range is None else range[2 * d:2 * d + 2]
            edges.append(_uniform_edges(points[:, d], spec, bounds, d, arr.dtype))
    shape = tuple(max(len(e) - 1, 0) for e in edges)
    keep = np.ones(points.shape[0], bool)
    flat = np.zeros(points.shape[0], np.int64)
    for d, e in enumerate(edges):
        pos, inside = _bin_positions(points[:, d], e)
        keep &= inside
        flat = flat * shape[d] + pos
    counts = np.bincount(flat[keep], None if weights is None else weights[keep],
                         minlength=int(np.prod(shape)))
    hist = counts.reshape(shape).astype(arr.dtype)
    if density:
        total = hist.sum()
        for d, e in enumerate(edges):
            widths = np.diff(e).reshape([-1 if k == d else 1 for k in range_(ndim)])
            hist = hist / widths
        hist = (hist / total).astype(arr.dtype)
    return _wrap(hist), tuple(_wrap(e) for e in edges)


range_ = range  # the builtin, shadowed by the ``range`` parameters


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    """A ``D``-dimensional histogram of the points in the rows of ``input`` (..., D).

    ``bins`` is a count for every dimension, a count per dimension, or a sequence of 1-D
    edge tensors; ``range`` ([min0, max0, min1, max1, ...]) bounds the counted bins."""
    hist, edges = _histogramdd(input, bins, range, weight, density)
    return _histogramdd_rt(hist, edges)


def histogram(input, bins=100, *, range=None, weight=None, density=False):
    """The histogram of ``input``'s values: ``bins`` equal bins over ``range`` (the data's
    extent by default), or the bins between the edges of a 1-D ``bins`` tensor."""
    Tensor = _T()
    if not isinstance(input, Tensor):
        raise TypeError(f"histogram(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(bins, Tensor) and range is not None:
        raise TypeError("histogram(): range can only be given with an integer bins count")
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the "
                           f"same shape as the input tensor excluding its innermost dimension, "
                           f"but got input with shape {[input.numel(), 1]} and weight with "
                           f"shape {list(weight.shape)}")
    points = input.reshape(-1, 1)
    hist, edges = _histogramdd(points, bins if isinstance(bins, Tensor) else int(bins), range,
                               None if weight is None else weight.reshape(-1), density)
    return _histogram_rt(hist, edges[0])


_chain_warned = [False]


def chain_matmul(*matrices):
    """The product of 2-D matrices, multiplied in the cheapest order (``linalg.multi_dot``)."""
    if not _chain_warned[0]:
        _chain_warned[0] = True
        warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                      "release. Use torch.linalg.multi_dot instead, which accepts a list of two "
                      "or more tensors rather than multiple parameters.", UserWarning,
                      stacklevel=2)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {m.dim()}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    from .linalg import multi_dot
    return multi_dot(matrices)


def _check_shift_operands(fn, input, other):
    Tensor = _T()
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{fn}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__})")


def bitwise_left_shift(input, other):
    """input << other, elementwise (integer tensors)."""
    _check_shift_operands("bitwise_left_shift", input, other)
    return input << other


def bitwise_right_shift(input, other):
    """input >> other, elementwise (integer tensors)."""
    _check_shift_operands("bitwise_right_shift", input, other)
    return input >> other
