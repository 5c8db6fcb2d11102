"""Ops whose gradient depends on how ties are settled.

clamp with tensor bounds is one node over input and bounds, so that a value sitting exactly
on a bound sends its gradient to the input (a chain of maximum/minimum would split it);
amax/amin over dims share the gradient evenly among the tied extremes of each slice."""
import numpy as np

from .node import Node
from .ops_math import unbroadcast
from .ops_reduce import NormBackward1, expand_back
from .out_layout import c_contiguous


def _cast(arr, dt):
    return arr if arr is None or dt is None or arr.dtype == dt else arr.astype(dt)


class ClampBackward0(Node):
    """min(max(a, lo), hi) with NaN propagated; ``lo`` or ``hi`` is None when not given.

    Gradients: a where lo <= a <= hi; lo where a < lo (and lo < hi when both are given);
    hi where a > hi (or, with both given, wherever hi < lo, since hi then wins)."""

    def forward(self, a, lo, hi, dt):
        self.metas = tuple(None if t is None else (t.shape, t.dtype) for t in (a, lo, hi))
        a, lo, hi = _cast(a, dt), _cast(lo, dt), _cast(hi, dt)
        out = a if lo is None else np.maximum(a, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        self.save(a, lo, hi)
        return out

    def masks(self):
        """Boolean arrays (or None) telling where each input receives the gradient."""
        a, lo, hi = self.saved
        keep = None
        if lo is not None:
            keep = a >= lo
        if hi is not None:
            keep = (a <= hi) if keep is None else keep & (a <= hi)
        to_lo = to_hi = None
        if lo is not None:
            to_lo = a < lo if hi is None else (a < lo) & (lo < hi)
        if hi is not None:
            to_hi = a > hi if lo is None else (a > hi) | (hi < lo)
        return keep, to_lo, to_hi

    def backward(self, g):
        zero = np.zeros((), g.dtype)
        return tuple(
            unbroadcast(np.where(mask, g, zero), *meta) if meta is not None and self.needs(i)
            else None
            for i, (mask, meta) in enumerate(zip(self.masks(), self.metas)))


class AmaxBackward0(Node):
    """amax/amin over ``axes``: each slice's gradient, divided by the number of entries equal
    to the extreme, goes to each of them (a NaN extreme matches nothing and gives NaN)."""

    def forward(self, a, axes, keepdim, use_max):
        self.use_max, self.meta = use_max, (a.shape, axes, keepdim)
        y = (np.amax if use_max else np.amin)(a, axis=axes, keepdims=True)
        self.save(a, y)
        # C-contiguous for a transposed input too, as PyTorch lays reductions out
        return c_contiguous(y if keepdim else np.squeeze(y, axis=axes))

    def shares(self):
        """The fraction of its slice's gradient each entry receives."""
        a, y = self.saved
        mask = a == y
        with np.errstate(divide="ignore", invalid="ignore"):
            return mask / mask.sum(axis=self.meta[1], keepdims=True)

    def backward(self, g):
        gb = expand_back(g, *self.meta)
        with np.errstate(invalid="ignore"):
            return ((gb * self.shares()).astype(g.dtype, copy=False),)

    def name(self):
        return "AmaxBackward0" if self.use_max else "AminBackward0"


class AminBackward0(AmaxBackward0):
    """amin over dims."""


class NormBackward1Extreme(NormBackward1):
    """norm with p = -inf (the smallest |x|, ties sharing the slope) or p = 0 (a count, with
    no gradient): NormBackward1's arrays, with second-order rules of their own."""


NormBackward1Extreme.__name__ = NormBackward1Extreme.__qualname__ = "NormBackward1"


def _register_second_order():
    from .higher_order import _const, _expand_back, _fit, rule

    @rule(ClampBackward0)
    def _clamp_tensor_bounds(node, g):
        from .. import where
        zero = _const(np.zeros((), g._data.dtype))
        return tuple(
            _fit(where(_const(np.asarray(mask)), g, zero), *meta)
            if meta is not None and node._next[i] is not None else None
            for i, (mask, meta) in enumerate(zip(node.masks(), node.metas)))

    @rule(AmaxBackward0)
    def _amax_over_dims(node, g):
        shares = node.shares().astype(g._data.dtype)
        return (_expand_back(g, *node.meta) * _const(shares),)

    @rule(NormBackward1Extreme)
    def _norm_extreme(node, g):
        if node.p == 0:
            return (None,)
        slope = node.slope()  # constant: ties share it, NaN entries and slices get none
        return (_expand_back(g, *node.meta) * _const(slope.astype(node.saved[0].dtype)),)


_register_second_order()
