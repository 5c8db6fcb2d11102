"""Samplers: which indices a DataLoader fetches, and in which order.

The built-in samplers draw a pass's indices as numpy arrays (``_index_chunks``): the whole
pass at once for ordinary sizes, in chunks of at most ``_CHUNK`` indices when a pass is
longer (``num_samples=10**10`` must not allocate 80 GB up front). ``BatchSampler`` slices
those arrays instead of collecting indices one by one. Random ones draw from
``fastnn.random`` (the ``generator`` given, else the global one that ``fastnn.manual_seed``
seeds) when iteration starts, so every pass is a fresh permutation; a chunked pass draws
its chunks from a private generator seeded from that one then, so random numbers drawn
elsewhere during the pass (dropout, augmentation) do not change its later indices.
"""
import itertools

import numpy as np

from ... import random as _random

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


class Sampler:
    """Base class: subclasses define ``__iter__`` over indices (and usually ``__len__``).

    It takes no constructor arguments (``super().__init__(data_source)`` is a TypeError, as
    with PyTorch's ``Sampler``).
    """

    def __iter__(self):
        raise NotImplementedError


_CHUNK = 1 << 18  # indices drawn at a time when a pass is longer than this


def _pass_rng(generator, total):
    """The numpy generator a pass of ``total`` indices draws from (see the module doc)."""
    rng = _random.get_generator(generator).np
    if total <= _CHUNK:
        return rng
    return np.random.Generator(np.random.PCG64(int(rng.integers(0, 2 ** 63))))


class _ArraySampler(Sampler):
    """A sampler whose pass is a sequence of numpy arrays, so batches can be slices of them.

    Subclasses define ``_index_array`` (the whole pass) or ``_index_chunks`` (its pieces).
    """

    def _index_array(self):
        return np.concatenate(list(self._index_chunks()) or [np.empty(0, np.int64)])

    def _array_pass(self):
        """Whether iterating yields exactly the ints of ``_index_chunks`` (so ``BatchSampler``
        may slice those arrays instead of iterating)."""
        return type(self).__iter__ is _ArraySampler.__iter__

    def _index_chunks(self):
        if type(self)._index_array is _ArraySampler._index_array:
            raise NotImplementedError(f"{type(self).__name__} defines neither _index_array "
                                      "nor _index_chunks")
        yield self._index_array()

    def __iter__(self):
        # the first chunk is drawn now, when iteration starts, the others as they are reached
        chunks = self._index_chunks()
        first = next(chunks, None)
        if first is None:
            return iter(())
        return itertools.chain(first.tolist(),
                               itertools.chain.from_iterable(c.tolist() for c in chunks))


def _chunk_sizes(total, chunk=None):
    chunk = chunk or _CHUNK
    for start in range(0, total, chunk):
        yield min(chunk, total - start)


def _check_positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} should be a positive integer value, but got {name}={value}")


def _check_bool(name, value, exc=TypeError):
    if not isinstance(value, bool):
        raise exc(f"{name} should be a boolean value, but got {name}={value}")


class SequentialSampler(_ArraySampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _index_chunks(self):
        start = 0
        for size in _chunk_sizes(len(self.data_source)):
            yield np.arange(start, start + size)
            start += size

    def __len__(self):
        return len(self.data_source)


class RandomSampler(_ArraySampler):
    """A random permutation per pass, or ``num_samples`` draws with replacement.

    Without replacement and ``num_samples`` above the dataset size, whole permutations are
    concatenated (as PyTorch does), so every index appears as evenly as possible.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        _check_bool("replacement", replacement)
        _check_positive_int("num_samples", self.num_samples)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_chunks(self):
        n, k = len(self.data_source), self.num_samples
        rng = _pass_rng(self.generator, k)
        if self.replacement:
            for size in _chunk_sizes(k):
                yield rng.integers(0, n, size=size)
            return
        # whole permutations, as many per chunk as fit, then part of one more
        per_chunk = max(1, _CHUNK // n) if n else 1
        for count in _chunk_sizes(k // n if n else 0, per_chunk):
            perms = [rng.permutation(n) for _ in range(count)]
            yield perms[0] if count == 1 else np.concatenate(perms)
        if n and k % n:
            yield rng.permutation(n)[:k % n]

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(_ArraySampler):
    """The given ``indices`` in a random order each pass.

    Each index is yielded as ``indices[i]`` gives it: Python ints from a list or range, 0-d
    tensors from a tensor, numpy scalars from an array.
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _plain_ints(self):
        # a list, tuple or range of ints comes out of the numpy pass unchanged
        kind = type(self.indices)
        return kind is range or (kind in (list, tuple) and
                                 np.asarray(self.indices).dtype.kind in "iu")

    def _array_pass(self):
        return type(self).__iter__ is SubsetRandomSampler.__iter__ and self._plain_ints()

    def _permutation(self):
        return _random.get_generator(self.generator).np.permutation(len(self.indices))

    def _index_array(self):
        return np.asarray(self.indices)[self._permutation()]

    def __iter__(self):
        if self._plain_ints():
            return super().__iter__()
        indices = self.indices
        return (indices[i] for i in self._permutation().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(_ArraySampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _check_positive_int("num_samples", num_samples)
        _check_bool("replacement", replacement, ValueError)
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(w.shape)}")
        if (w < 0).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        if not np.isfinite(w).all():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry = infinity or NaN)")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > int((w > 0).sum()):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        from ...tensor import _wrap
        self.weights = _wrap(w)  # a float64 tensor, as PyTorch keeps it
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def _index_chunks(self):
        rng = _pass_rng(self.generator, self.num_samples)
        w = self.weights._data
        p = w / w.sum()
        if not self.replacement:  # num_samples is at most len(weights) here
            yield rng.choice(len(w), size=self.num_samples, replace=False, p=p)
            return
        for size in _chunk_sizes(self.num_samples):
            yield rng.choice(len(w), size=size, replace=True, p=p)

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size``."""

    def __init__(self, sampler, batch_size, drop_last):
        _check_positive_int("batch_size", batch_size)
        _check_bool("drop_last", drop_last, ValueError)
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        s, bs = self.sampler, self.batch_size
        if isinstance(s, _ArraySampler) and s._array_pass():
            rest = None  # the indices of a chunk's last, partial batch
            for idx in s._index_chunks():
                if rest is not None and len(rest):
                    idx = np.concatenate([rest, idx])
                stop = len(idx) - len(idx) % bs
                for i in range(0, stop, bs):
                    yield idx[i:i + bs].tolist()
                rest = idx[stop:]
            if rest is not None and len(rest) and not self.drop_last:
                yield rest.tolist()
            return
        batch = []
        for i in s:
            batch.append(i)
            if len(batch) == bs:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
