"""Datasets: the map-style and iterable protocols, and the ones built from tensors.

Array-backed datasets (``TensorDataset``, a ``Subset`` of one, ``fastnn.datasets.MNIST``
without per-sample transforms) implement ``__getitems__(indices)``, the batched-fetch
protocol of PyTorch 2: the whole batch is one fancy-index per tensor, and the result is a
:class:`BatchedSamples` that ``default_collate`` hands back as-is, so no Python code runs
per sample. A ``TensorDataset`` or ``Subset`` subclass that overrides ``__getitem__`` (to
augment, say) gets one ``self[i]`` per sample instead, so its override is never bypassed.
"""
import bisect
import math
import warnings
from collections.abc import Iterable

import numpy as np

from ... import random as _random
from ...tensor import Tensor, _wrap

__all__ = [
    "BatchedSamples",
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "StackDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]


class Dataset:
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``)."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset, Iterable):
    """A dataset that is a stream: subclasses define ``__iter__`` (``__iter__`` is abstract,
    so one without it cannot be instantiated)."""

    def __add__(self, other):
        return ChainDataset([self, other])


class BatchedSamples(list):
    """Several samples fetched at once: a ``list`` of them, as ``__getitems__`` returns in
    PyTorch, whose items are only made when first looked at.

    ``collated`` is what ``default_collate`` makes of them (it is returned unchanged, so
    batching costs nothing per sample while nobody reads the samples). Any list operation
    first fills the list with the single samples; after an in-place change ``collated`` is
    recomputed from the list's contents.
    """

    __slots__ = ("_collated", "_n", "_sample", "_filled", "_edited")

    def __init__(self, collated, n, sample):
        super().__init__()
        self._collated = collated
        self._n = n
        self._sample = sample
        self._filled = self._edited = False

    @property
    def collated(self):
        if self._edited:
            from ._collate import default_collate
            return default_collate(list(self))
        return self._collated

    def _fill(self):
        if not self._filled:
            self._filled = True
            list.extend(self, [self._sample(i) for i in range(self._n)])
        return self

    def __len__(self):
        return list.__len__(self) if self._filled else self._n

    def __reduce_ex__(self, protocol):
        return list, (list(self._fill()),)  # copies and pickles are plain lists

    def __radd__(self, other):
        return other + list(self._fill()) if isinstance(other, list) else NotImplemented


def _reading(name):
    method = getattr(list, name)

    def call(self, *args):
        return method(self._fill(), *args)
    call.__name__ = name
    return call


def _editing(name):
    method = getattr(list, name)

    def call(self, *args):
        out = method(self._fill(), *args)
        self._edited = True
        return out
    call.__name__ = name
    return call


for _name in ("__getitem__", "__iter__", "__reversed__", "__contains__", "__eq__", "__ne__",
              "__lt__", "__le__", "__gt__", "__ge__", "__repr__", "__add__", "__mul__",
              "__rmul__", "copy", "count", "index"):
    setattr(BatchedSamples, _name, _reading(_name))
for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    setattr(BatchedSamples, _name, _editing(_name))
del _name


def _index_array(indices, size):
    """``indices`` as an intp array, range-checked against ``size`` with PyTorch's wording."""
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        if idx.size == 0:
            idx = idx.astype(np.intp)
        else:
            raise TypeError(f"batch indices must be integers, got {idx.dtype}")
    idx = idx.astype(np.intp, copy=False).reshape(-1)
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        bad = hi if hi >= size else (lo if lo < -size else None)
        if bad is not None:
            raise IndexError(f"index {bad} is out of bounds for dimension 0 with size {size}")
    return idx


def overrides_getitem(obj, provider):
    """Whether ``type(obj)`` replaces ``provider.__getitem__``, whose batched twin
    ``provider.__getitems__`` would then skip the user's per-sample code."""
    return type(obj).__getitem__ is not provider.__getitem__


def take_rows(t, idx):
    """Rows ``idx`` of tensor ``t`` as a new tensor (autograd-aware when ``t`` needs it)."""
    if t._rg or type(t._data) is not np.ndarray:
        from ..._creation import from_numpy
        return t[from_numpy(idx)]
    return _wrap(t._data[idx])


class TensorDataset(Dataset):
    """Samples are the rows of tensors sharing their first dimension."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset expects tensors, got {type(t).__name__}")
        n = tensors[0].size(0)
        if any(t.size(0) != n for t in tensors):
            # PyTorch reports this as an AssertionError; raised explicitly so it survives -O.
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        if overrides_getitem(self, TensorDataset):
            return [self[i] for i in indices]
        idx = _index_array(indices, len(self))
        cols = [take_rows(t, idx) for t in self.tensors]
        return BatchedSamples(cols, len(idx), lambda i: tuple(c[i] for c in cols))

    def __len__(self):
        return self.tensors[0].size(0)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        if overrides_getitem(self, Subset):
            return [self[i] for i in indices]
        inner = getattr(self.dataset, "__getitems__", None)
        if inner is None:
            return [self.dataset[self.indices[i]] for i in indices]
        own = self._index_cache()
        if own is None:
            return inner([self.indices[i] for i in indices])
        # A list, as PyTorch passes: the inner ``__getitems__`` may be the user's own.
        return inner(own[_index_array(indices, len(own))].tolist())

    def _index_cache(self):
        # The indices as an array, remade if the user rebinds or edits ``indices``.
        ind = self.indices
        cache = self.__dict__.get("_cache")
        if cache is not None and cache[0] is ind and len(cache[1]) == len(ind):
            return cache[1]
        arr = np.asarray(ind)
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            return None
        arr = arr.astype(np.intp)
        self._cache = (ind, arr)
        return arr

    def __len__(self):
        return len(self.indices)


class StackDataset(Dataset):
    """Datasets of one length side by side: sample ``i`` is the tuple (positional datasets)
    or dict (keyword datasets) of their samples ``i``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via "
                             "``kwargs``) like input/output, but both types are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = args or list(kwargs.values())
        self._length = len(parts[0])
        if any(len(d) != self._length for d in parts):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args or kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices):
        if overrides_getitem(self, StackDataset):
            return [self[i] for i in indices]
        keyed = isinstance(self.datasets, dict)
        names = list(self.datasets) if keyed else range(len(self.datasets))
        parts = [self._part(self.datasets[k], indices) for k in names]
        if all(type(p) is BatchedSamples for p in parts):
            # every part came pre-batched: the stack is too, collated as default_collate
            # would (a dict of batches, or a list of them for tuple samples)
            if keyed:
                return BatchedSamples(dict(zip(names, (p.collated for p in parts))),
                                      len(indices),
                                      lambda i: {k: p[i] for k, p in zip(names, parts)})
            return BatchedSamples([p.collated for p in parts], len(indices),
                                  lambda i: tuple(p[i] for p in parts))
        cols = [list(p) for p in parts]
        if keyed:
            return [dict(zip(names, row)) for row in zip(*cols)]
        return [tuple(row) for row in zip(*cols)]

    @staticmethod
    def _part(d, indices):
        """One dataset's samples at ``indices``: batched where it can fetch them so."""
        if isinstance(d, Tensor):
            rows = take_rows(d, _index_array(indices, len(d)))
            return BatchedSamples(rows, len(indices), rows.__getitem__)
        getitems = getattr(d, "__getitems__", None)
        if not callable(getitems):
            return [d[i] for i in indices]
        items = getitems(indices)
        if len(items) != len(indices):
            raise ValueError(f"Nested dataset's output size mismatch. Expected {len(indices)}, "
                             f"got {len(items)}")
        return items

    def __len__(self):
        return self._length


class ConcatDataset(Dataset):
    """Several map-style datasets one after another."""

    @staticmethod
    def cumsum(sequence):
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets one after another."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self):
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


def _lengths_from_fractions(fractions, n):
    for i, frac in enumerate(fractions):
        if frac < 0 or frac > 1:
            raise ValueError(f"Fraction at index {i} is not between 0 and 1")
    lengths = [int(math.floor(n * frac)) for frac in fractions]
    # The few samples flooring left over go one each to the parts in turn, as PyTorch does.
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"Length of split at index {i} is 0. This might result in an empty "
                          "dataset.")
    return lengths


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset``\\ s.

    ``lengths`` are sizes summing to ``len(dataset)``, or fractions summing to 1 (the
    sizes are then floored and the remainder dealt out one by one). The permutation comes
    from ``generator`` or, by default, the global generator that ``fastnn.manual_seed`` sets.
    """
    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_from_fractions(lengths, n)
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = _random.get_generator(generator).np.permutation(n).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out
