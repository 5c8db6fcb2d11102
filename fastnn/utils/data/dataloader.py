"""DataLoader: batches of samples from a dataset, in order or shuffled.

Batches are fetched through ``dataset.__getitems__(indices)`` when the dataset has it (one
fancy-index per tensor for array-backed datasets), else one ``dataset[i]`` per index. A
custom ``collate_fn`` always receives a plain list of samples, as in PyTorch; only
``default_collate`` takes a pre-batched result as-is.

``num_workers > 0`` runs fetching in a pool of threads in this process rather than in
worker processes: the heavy work (numpy indexing, decompression, BLAS) releases the GIL,
nothing has to be pickled, and a failing or finished worker can never leave the loader
waiting. Batches still arrive in sampler order; an exception raised while fetching is
re-raised, with its own type and traceback, from the ``next()`` that would have returned
that batch. An iterable dataset with ``num_workers = N > 0`` is read as PyTorch reads it:
N streams, each started and advanced with ``get_worker_info()`` naming its worker (so a
dataset can shard itself), their batches taken in turn; a dataset that does not shard is
replayed by every worker, as in PyTorch. Those streams are advanced in the main thread.
"""
import itertools
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as _FutureTimeout

from ._collate import default_collate, default_convert
from .dataset import BatchedSamples, IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "WorkerInfo", "get_worker_info"]

_worker = threading.local()


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a DataLoader worker thread."""

    def __init__(self, id, num_workers, seed, dataset):
        self.id = id
        self.num_workers = num_workers
        self.seed = seed
        self.dataset = dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={self.dataset!r})")


def get_worker_info():
    """The current worker's ``WorkerInfo``, or None in the main thread."""
    return getattr(_worker, "info", None)


class _Unset:
    def __repr__(self):
        return "<unset>"


_UNSET = _Unset()
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args mirror ``torch.utils.data.DataLoader``. ``shuffle=True`` draws a new permutation
    from ``generator`` (else the global generator seeded by ``fastnn.manual_seed``) each
    time iteration starts. ``pin_memory``, ``multiprocessing_context``,
    ``persistent_workers`` and ``in_order`` are accepted for compatibility; the first three
    have nothing to do on the CPU with thread workers, and batches always arrive in order.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (None, False):
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None and not iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        if collate_fn is None:
            auto = batch_size is not None or batch_sampler is not None
            collate_fn = default_collate if auto else default_convert

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._dataset_kind = "iterable" if iterable else "map"
        self.__initialized = True

    def __setattr__(self, name, value):
        if name in _FROZEN and self.__dict__.get("_DataLoader__initialized"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (
            self._dataset_kind == "iterable" and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self):
        if self._dataset_kind == "iterable" and self.num_workers > 0:
            return _ShardedIterableIter(self)
        if self._dataset_kind == "iterable" or self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _ThreadedDataLoaderIter(self)

    def __len__(self):
        if self._dataset_kind == "iterable":
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __repr__(self):
        return (f"<{type(self).__module__}.{type(self).__name__} object: "
                f"batch_size={self.batch_size}, num_workers={self.num_workers}>")


def _fetch(loader, index):
    """One batch (or, without automatic batching, one sample) for ``index``."""
    ds = loader.dataset
    if loader._auto_collation:
        getitems = getattr(ds, "__getitems__", None)
        data = getitems(index) if getitems else [ds[i] for i in index]
        if type(data) is BatchedSamples and loader.collate_fn is not default_collate:
            data = list(data)  # user code may sort, append or test isinstance(b, list)
    else:
        data = ds[index]
    return loader.collate_fn(data)


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._loader = loader
        self._num_yielded = 0
        self._len = None

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        if loader._dataset_kind == "iterable":
            self._stream = iter(loader.dataset)
        else:
            self._index_iter = iter(loader._index_sampler)

    def __next__(self):
        loader = self._loader
        if loader._dataset_kind == "map":
            batch = _fetch(loader, next(self._index_iter))
        elif not loader._auto_collation:
            batch = loader.collate_fn(next(self._stream))
        else:
            items = list(itertools.islice(self._stream, loader.batch_size))
            if not items or (loader.drop_last and len(items) < loader.batch_size):
                raise StopIteration
            batch = loader.collate_fn(items)
        self._num_yielded += 1
        return batch


class _ShardedIterableIter(_BaseDataLoaderIter):
    """An iterable dataset read by ``num_workers`` streams in turn, each under its own
    ``WorkerInfo``: worker 0's first batch, worker 1's first, ..., then the second ones;
    a finished stream drops out of the rotation."""

    def __init__(self, loader):
        super().__init__(loader)
        from ... import random as _random
        base = _random.get_generator(loader.generator).initial_seed()
        self._infos = [WorkerInfo(w, loader.num_workers, base + w, loader.dataset)
                       for w in range(loader.num_workers)]
        self._streams = []
        for info in self._infos:
            self._streams.append(self._as(info, lambda: (
                loader.worker_init_fn(info.id) if loader.worker_init_fn is not None else None,
                iter(loader.dataset))[1]))
        self._live = list(range(loader.num_workers))
        self._turn = 0

    @staticmethod
    def _as(info, fn):
        prev = getattr(_worker, "info", None)
        _worker.info = info
        try:
            return fn()
        finally:
            _worker.info = prev

    def _batch(self, w):
        loader, stream = self._loader, self._streams[w]
        if not loader._auto_collation:
            return loader.collate_fn(next(stream))
        items = list(itertools.islice(stream, loader.batch_size))
        if not items or (loader.drop_last and len(items) < loader.batch_size):
            raise StopIteration
        return loader.collate_fn(items)

    def __next__(self):
        while self._live:
            self._turn %= len(self._live)
            w = self._live[self._turn]
            try:
                batch = self._as(self._infos[w], lambda: self._batch(w))
            except StopIteration:
                self._live.pop(self._turn)
                continue
            self._turn += 1
            self._num_yielded += 1
            return batch
        raise StopIteration


class _ThreadedDataLoaderIter(_BaseDataLoaderIter):
    """Map-style fetching in worker threads, keeping ``prefetch_factor * num_workers``
    batches in flight and handing them back in sampler order."""

    def __init__(self, loader):
        super().__init__(loader)
        from ... import random as _random
        # Not drawn from the generator: threads share one stream, so a worker's seed is
        # informational only, and drawing it would shift the order shuffling sees.
        self._base_seed = _random.get_generator(loader.generator).initial_seed()
        self._ids = itertools.count()
        self._pool = ThreadPoolExecutor(max_workers=loader.num_workers,
                                        thread_name_prefix="fastnn-dataloader",
                                        initializer=self._start_worker)
        self._index_iter = iter(loader._index_sampler)
        self._pending = deque()
        self._depth = max(1, loader.prefetch_factor * loader.num_workers)
        self._exhausted = False
        self._fill()

    def _start_worker(self):
        loader = self._loader
        wid = next(self._ids)
        _worker.info = WorkerInfo(wid, loader.num_workers, self._base_seed + wid,
                                  loader.dataset)
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(wid)

    def _fill(self):
        while not self._exhausted and len(self._pending) < self._depth:
            try:
                index = next(self._index_iter)
            except StopIteration:
                self._exhausted = True
                break
            self._pending.append(self._pool.submit(_fetch, self._loader, index))

    def __next__(self):
        if not self._pending:
            self._shutdown()
            raise StopIteration
        future = self._pending.popleft()
        timeout = self._loader.timeout or None
        try:
            batch = future.result(timeout=timeout)
        except _FutureTimeout:
            self._shutdown()
            raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None
        except BaseException:
            self._shutdown()
            raise
        self._fill()
        self._num_yielded += 1
        return batch

    def _shutdown(self):
        # Queued fetches are dropped; running ones finish on their own and are discarded.
        self._exhausted = True
        pending = self.__dict__.get("_pending", ())  # absent if __init__ failed early
        for f in pending:
            f.cancel()
        if pending:
            pending.clear()
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def __del__(self):
        self._shutdown()
