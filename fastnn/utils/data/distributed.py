"""DistributedSampler: each of ``num_replicas`` processes reads its own share of a dataset.

The indices (shuffled or not) are padded by wrapping around to a multiple of
``num_replicas`` (or cut down to one with ``drop_last``), and replica ``rank`` takes every
``num_replicas``-th of them starting at ``rank``, so the shares are disjoint and equally
long. fastnn has no process groups, so ``num_replicas`` and ``rank`` must be given.
"""
import math

import numpy as np

from ... import random as _random
from .sampler import _ArraySampler

__all__ = ["DistributedSampler"]


class DistributedSampler(_ArraySampler):
    """Replica ``rank``'s indices of ``dataset``, reshuffled per epoch from ``seed + epoch``
    when ``shuffle`` (call ``set_epoch`` before each epoch's iteration)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            # PyTorch asks the default process group; fastnn never has one
            raise ValueError("Default process group has not been initialized, please make "
                             "sure to call init_process_group.")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            # the tail that does not fill a whole round is left out
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def _index_array(self):
        n = len(self.dataset)
        if self.shuffle:
            gen = _random.Generator().manual_seed(self.seed + self.epoch)
            indices = gen.np.permutation(n)
        else:
            indices = np.arange(n)
        if not self.drop_last:
            # wrap around (repeatedly, for tiny datasets) up to a multiple of num_replicas
            if self.total_size > n and n:
                indices = np.resize(indices, self.total_size)
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise AssertionError(f"expected {self.total_size} indices, got {len(indices)}")
        mine = indices[self.rank:self.total_size:self.num_replicas]
        if len(mine) != self.num_samples:
            raise AssertionError(f"expected {self.num_samples} indices, got {len(mine)}")
        return mine

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Set the epoch that, with ``seed``, fixes the shuffle: the same on every replica."""
        self.epoch = epoch
