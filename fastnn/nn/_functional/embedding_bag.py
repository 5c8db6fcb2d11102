"""F.embedding_bag: sums, means or maxima over bags of embedding rows.

Built from differentiable Tensor ops (index_select, index_add, max, masked_fill), so the
gradients for the weight and per_sample_weights come from autograd; the bag bookkeeping
(which position belongs to which bag) is plain numpy on the indices.
"""
import warnings

import numpy as np

from ... import _dtype as D
from ...autograd.function import apply
from ...autograd.node import Node
from ...autograd.ops_math import relabel
from .misc import _check_indices, embedding_renorm_, wrap


def _type_name(arr):
    return f"torch.{D._LEGACY.get(str(arr.dtype), 'Tensor')}"


class _FrequencyScaledRows(Node):
    """``weight[idx]`` whose weight gradient is multiplied, row by row, by ``scale`` (the
    reciprocal frequency of each gathered index, for ``scale_grad_by_freq``)."""

    def forward(self, weight, idx, scale):
        self.meta = (weight.shape, weight.dtype)
        self.idx, self.scale = idx, scale
        return weight[idx]

    def backward(self, g):
        shape, dtype = self.meta
        out = np.zeros(shape, dtype)
        np.add.at(out, self.idx, g * self.scale[:, None])
        return (out,)


def _bags(offsets, n, include_last_offset):
    """Bag count and, for each input position in a bag, its bag number."""
    if include_last_offset:
        if offsets.size < 1:
            raise RuntimeError("include_last_offset: number of offset should be at least 1")
        starts, end = offsets[:-1], offsets[-1]
    else:
        starts, end = offsets, n
    if offsets.size:
        if offsets[0] != 0:
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the "
                               "mini-batch has to start from position 0. However, got "
                               f"{int(offsets[0])}")
        if offsets[-1] > n:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but "
                               f"got offsets[-1] of {int(offsets[-1])}")
    lengths = np.diff(np.append(starts, end))
    if (lengths < 0).any():
        raise RuntimeError("offsets has to be a non-decreasing sequence, but got "
                           f"{offsets.tolist()}")
    nbags = starts.size
    return nbags, np.repeat(np.arange(nbags, dtype=np.int64), lengths)


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """Reduce (sum, mean or max) the embedding rows of each bag of indices in ``input``."""
    # the old argument order was embedding_bag(weight, input, ...)
    if weight.dtype == D.int64 and input.is_floating_point():
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. "
                      "Usage `embedding_bag(weight, input, ...)` is deprecated, "
                      "and should now be `embedding_bag(input, weight, ...)`.", stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) "
                         "is not None, then it must have the same shape as the input "
                         f"({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.dim()}")
    idx = input._data
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found "
                             f"offsets of type {type(offsets)}")
        if idx.shape[1] == 0 and idx.shape[0] != 0:
            raise RuntimeError("step must be nonzero")
        off = np.arange(0, idx.size, max(idx.shape[1], 1), dtype=np.int64)
        include_last_offset = False
        idx = idx.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        off = offsets._data
        _check_indices(off, "embedding_bag")
        off = off.astype(np.int64, copy=False)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    _check_indices(idx, "embedding_bag")
    w = weight._data
    if w.dtype.kind != "f":
        raise RuntimeError("Expected tensor for argument #1 'weight' to have one of the "
                           "following scalar types: Half, BFloat16, Float, Double; but got "
                           f"{_type_name(w)} instead (while checking arguments for "
                           "embedding_bag)")
    num = w.shape[0]
    bad = np.flatnonzero((idx < 0) | (idx >= num))
    if bad.size:
        raise RuntimeError(f"Index {bad[0]} of input takes value {int(idx[bad[0]])} which is "
                           f"not in the valid range [0, {num})")
    if max_norm is not None:
        embedding_renorm_(weight, idx, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. "
                                  "per_sample_weights is only supported for mode='sum' "
                                  f"(got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    if per_sample_weights is not None and per_sample_weights._data.dtype != w.dtype:
        raise RuntimeError("Expected tensor for argument #1 'weight' to have the same type as "
                           "tensor for argument #1 'per_sample_weights'; but type "
                           f"{_type_name(w)} does not equal "
                           f"{_type_name(per_sample_weights._data)} (while checking arguments "
                           "for embedding_bag)")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, {-num} "
                               f"through {num - 1}, but got {padding_idx}")
        padding_idx %= num
    if sparse:
        raise NotImplementedError("fastnn's embedding_bag supports dense gradients only "
                                  "(sparse=False)")

    nbags, bag_of = _bags(off, idx.size, include_last_offset)
    pos = np.arange(bag_of.size, dtype=np.int64)       # the input positions that are in a bag
    if padding_idx is not None:
        keep = idx[pos] != padding_idx
        pos, bag_of = pos[keep], bag_of[keep]
    gathered = idx[pos].astype(np.int64, copy=False)
    if scale_grad_by_freq:
        # frequencies count every index of the mini-batch, padding included
        freq = np.bincount(idx.reshape(-1).astype(np.int64, copy=False), minlength=num)
        scale = (1.0 / freq[gathered]).astype(w.dtype)
        rows = apply(_FrequencyScaledRows, (weight,), gathered, scale)
    elif w.dtype == np.float16:
        # PyTorch adds a float16 weight's gradient rows in float16 (index_select's backward
        # would accumulate them in float32)
        rows = apply(_FrequencyScaledRows, (weight,), gathered, np.ones(gathered.size, w.dtype))
    else:
        rows = weight.index_select(0, wrap(gathered))
    counts = np.bincount(bag_of, minlength=nbags)

    if mode == "max" and pos.size:
        # each bag as one row of a (bags, longest bag) table; short rows padded with -inf
        width = int(counts.max())
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        col = np.arange(pos.size) - first[bag_of]
        table = np.zeros((nbags, width), np.int64)
        table[bag_of, col] = np.arange(pos.size)
        filled = np.zeros((nbags, width), bool)
        filled[bag_of, col] = True
        grid = rows.index_select(0, wrap(table.reshape(-1))).reshape(nbags, width, -1)
        grid = grid.masked_fill(wrap(~filled[:, :, None]), float("-inf"))
        out = grid.max(dim=1).values
        if (counts == 0).any():                          # an empty bag gives zeros
            out = out.masked_fill(wrap((counts == 0)[:, None]), 0.0)
        return relabel(out, "EmbeddingBagBackward0")

    if per_sample_weights is not None:
        psw = per_sample_weights
        if pos.size != psw.shape[0]:
            psw = psw.index_select(0, wrap(pos))
        rows = rows * psw.unsqueeze(1)
    zeros = wrap(np.zeros((nbags, w.shape[1]), w.dtype))
    out = zeros.index_add(0, wrap(bag_of), rows)
    if mode == "mean":
        out = out / wrap(np.maximum(counts, 1).astype(w.dtype)[:, None])
    return relabel(out, "EmbeddingBagBackward0")
