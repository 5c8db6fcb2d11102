"""DataLoader: batches of samples from a dataset, in order or shuffled.

Batches are fetched through ``dataset.__getitems__(indices)`` when the dataset has it (one
fancy-index per tensor for array-backed datasets), else one ``dataset[i]`` per index. A
custom ``collate_fn`` always receives a plain list of samples, as in PyTorch; only
``default_collate`` takes a pre-batched result as-is.

``num_workers > 0`` runs fetching in worker threads of this process rather than in worker
processes: the heavy work (numpy indexing, decompression, BLAS) releases the GIL, nothing
has to be pickled, and a failing or finished worker can never leave the loader waiting.
Everything else follows PyTorch's worker processes, so results are reproducible:

* every iterator draws one ``base_seed`` from the loader's ``generator`` (else the global
  generator), with or without workers, so the main stream advances the same way;
* worker ``w`` draws from its own default generator seeded ``base_seed + w`` (so
  ``fastnn.initial_seed()`` there is ``get_worker_info().seed``), see ``_worker_rng``;
* batch ``i`` of an epoch is fetched by worker ``i % num_workers`` and batches arrive in
  sampler order;
* an exception raised in a worker is raised again from the ``next()`` that would have
  returned that batch, with the same type and a message naming the worker and carrying
  the original traceback; the next ``next()`` goes on with the following batch, as it
  does without workers;
* ``persistent_workers=True`` keeps the workers (and their random streams) from one epoch
  to the next, and draws ``base_seed`` only once.

Python's ``random`` and numpy's global generator are shared by all threads, so workers do
not reseed them (a worker process would); seed a per-worker ``numpy.random.Generator``
from ``get_worker_info().seed`` instead.

Map-style workers share the loader's dataset object (``get_worker_info().dataset`` is
it), so attributes a ``__getitem__`` changes are seen by the other workers and by the main
program, where each of PyTorch's worker processes would change only its own copy.

An iterable dataset with ``num_workers = N > 0`` is read as PyTorch reads it: N streams,
each started and advanced with ``get_worker_info()`` naming its worker (so a dataset can
shard itself) and with that worker's random stream, their batches taken in turn; a
dataset that does not shard is replayed by every worker, as in PyTorch. Each worker reads
a shallow copy of the dataset (its ``get_worker_info().dataset``), as a worker process
reads its own copy: a ``worker_init_fn`` or ``__iter__`` that sets attributes on it (the
documented way to shard, or ``__iter__`` returning ``self``) changes that worker's stream
only. Those streams are advanced in the main thread.

Every stream is taken with ``iter(dataset)`` once per epoch and then read with ``next()``.
"""
import copy
import threading
import traceback
import warnings

from ... import random as _random
from . import _worker_rng
from ._loader_warnings import warn_if_too_many_workers, warn_length_exceeded

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
    time iteration starts. ``pin_memory``, ``multiprocessing_context`` and ``in_order`` are
    accepted for compatibility: the first two have nothing to do on the CPU with thread
    workers, and batches always arrive in order.
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
        self._iterator = None  # the workers kept between epochs with persistent_workers
        self._IterableDataset_len_called = None  # len(dataset), once len(loader) read it
        self.__initialized = True
        warn_if_too_many_workers(num_workers, stacklevel=2)

    def __setattr__(self, name, value):
        if name in _FROZEN and self.__dict__.get("_DataLoader__initialized"):
            raise ValueError(f"{name} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self):
        return self.__dict__.get("_multiprocessing_context")

    @multiprocessing_context.setter
    def multiprocessing_context(self, value):
        from ._mp_context import checked_context
        self.__dict__["_multiprocessing_context"] = checked_context(value, self.num_workers)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None or (
            self._dataset_kind == "iterable" and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def __iter__(self):
        if self.persistent_workers and self.num_workers > 0:
            it = self._iterator
            if it is not None and it._reset(self):
                return it
            self._iterator = it = self._get_iterator()
            return it
        return self._get_iterator()

    def _get_iterator(self):
        if self.pin_memory and not _accelerator_present():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", UserWarning, stacklevel=3)
        if self.num_workers > 0:
            warn_if_too_many_workers(self.num_workers, stacklevel=3)
        if self._dataset_kind == "iterable" and self.num_workers > 0:
            return _ShardedIterableIter(self)
        if self._dataset_kind == "iterable" or self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        return _ThreadedDataLoaderIter(self)

    def __len__(self):
        if self._dataset_kind == "iterable":
            # remembered so iterators can warn when the dataset yields more than this
            n = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __repr__(self):
        return (f"<{type(self).__module__}.{type(self).__name__} object: "
                f"batch_size={self.batch_size}, num_workers={self.num_workers}>")


def _fetch(loader, index):
    """One batch (or, without automatic batching, one sample) for ``index``."""
    return _fetch_from(loader.dataset, loader._auto_collation, loader.collate_fn, index)


def _fetch_from(ds, auto_collation, collate_fn, index):
    if auto_collation:
        getitems = getattr(ds, "__getitems__", None)
        data = getitems(index) if getitems else [ds[i] for i in index]
        if type(data) is BatchedSamples and collate_fn is not default_collate:
            data = list(data)  # user code may sort, append or test isinstance(b, list)
    else:
        data = ds[index]
    return collate_fn(data)


def _take(stream, count):
    """Up to ``count`` items from the iterator ``stream``, read with ``next()``: calling
    ``iter()`` again (as ``itertools.islice`` does) would restart a dataset whose
    ``__iter__`` returns ``self``."""
    items = []
    try:
        for _ in range(count):
            items.append(next(stream))
    except StopIteration:
        pass
    return items


def _draw_base_seed(loader):
    """The one number an iterator draws from the loader's generator (else the global one),
    before the sampler draws anything: worker ``w`` is seeded with it plus ``w``."""
    return int(_random.get_generator(loader.generator).np.integers(0, 1 << 63))


class _KeyErrorMessage(str):
    """A KeyError's message that prints as written (KeyError shows its argument's repr)."""

    __slots__ = ()

    def __repr__(self):
        return str(self)


class _WorkerError:
    """An exception caught in a worker, kept as its type and formatted traceback (not the
    exception itself, whose traceback would keep the worker's frames alive)."""

    __slots__ = ("exc_type", "text", "where")

    def __init__(self, exc, where):
        self.exc_type = type(exc)
        self.text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.where = where

    def exception(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.text}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            return self.exc_type(msg)
        except Exception:  # a type that wants other arguments
            return RuntimeError(msg)


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._loader = loader
        self._num_yielded = 0
        self._len = None
        self._len_reported = loader.__dict__.get("_IterableDataset_len_called")

    def _check_length(self):
        """After a batch of an iterable dataset: warn if there are more than ``len()`` said."""
        if self._len_reported is not None and self._num_yielded > self._len_reported:
            loader = self._loader
            warn_length_exceeded(loader.dataset, self._len_reported, self._num_yielded,
                                 loader.num_workers)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._loader)

    def _reset(self, loader):
        return False  # only iterators that keep workers can be restarted


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._base_seed = _draw_base_seed(loader)  # unused, drawn as with workers
        if loader._dataset_kind == "iterable":
            self._stream = iter(loader.dataset)
            self._ended = False  # a short batch was read: the stream is not asked again
        else:
            self._index_iter = iter(loader._index_sampler)
        if loader.timeout != 0:  # raised once the sampler and seed are drawn, as PyTorch does
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")

    def __next__(self):
        loader = self._loader
        if loader._dataset_kind == "map":
            batch = _fetch(loader, next(self._index_iter))
            self._num_yielded += 1
            return batch
        if not loader._auto_collation:
            batch = loader.collate_fn(next(self._stream))
        else:
            if self._ended:
                raise StopIteration
            items = _take(self._stream, loader.batch_size)
            if len(items) < loader.batch_size:
                self._ended = True
            if not items or (loader.drop_last and len(items) < loader.batch_size):
                raise StopIteration
            batch = loader.collate_fn(items)
        self._num_yielded += 1
        if self._len_reported is not None:
            self._check_length()
        return batch


class _ShardedIterableIter(_BaseDataLoaderIter):
    """An iterable dataset read by ``num_workers`` streams in turn, each under its own
    ``WorkerInfo`` and random stream: worker 0's first batch, worker 1's first, ..., then
    the second ones; a finished stream drops out of the rotation."""

    def __init__(self, loader):
        super().__init__(loader)
        base = self._base_seed = _draw_base_seed(loader)
        n = loader.num_workers
        self._infos = [WorkerInfo(w, n, base + w, _worker_copy(loader.dataset))
                       for w in range(n)]
        self._rngs = [_worker_rng.new_stream(info.seed) for info in self._infos]
        self._init_errors = [None] * n
        init_fn = loader.worker_init_fn
        if init_fn is not None:
            for w, info in enumerate(self._infos):
                try:
                    self._as(w, init_fn, w)
                except Exception as e:
                    self._init_errors[w] = e
        self._start_streams()

    def _start_streams(self):
        n = self._loader.num_workers
        self._streams = [None] * n
        self._errors = list(self._init_errors)
        for w in range(n):
            if self._errors[w] is None:
                try:
                    self._streams[w] = self._as(w, iter, self._infos[w].dataset)
                except Exception as e:
                    self._errors[w] = e
        self._live = list(range(n))
        self._ended = [False] * n  # a short batch was read from that worker's stream
        self._turn = 0

    def _reset(self, loader):
        self._loader = loader
        self._num_yielded = 0
        self._start_streams()
        return True

    def _as(self, w, fn, *args):
        prev = getattr(_worker, "info", None)
        _worker.info = self._infos[w]
        try:
            with _worker_rng.use(self._rngs[w]):
                return fn(*args)
        finally:
            _worker.info = prev

    def _batch(self, w):
        loader, stream = self._loader, self._streams[w]
        if not loader._auto_collation:
            return loader.collate_fn(next(stream))
        if self._ended[w]:
            raise StopIteration
        items = _take(stream, loader.batch_size)
        if len(items) < loader.batch_size:
            self._ended[w] = True
        if not items or (loader.drop_last and len(items) < loader.batch_size):
            raise StopIteration
        return loader.collate_fn(items)

    def __next__(self):
        while self._live:
            self._turn %= len(self._live)
            w = self._live[self._turn]
            err = self._errors[w]
            try:
                if err is not None:  # worker_init_fn or iter(dataset) failed: say so once
                    self._live.pop(self._turn)
                    raise err
                batch = self._as(w, self._batch, w)
            except StopIteration:
                self._live.pop(self._turn)
                continue
            except Exception as e:
                if err is None:
                    self._turn += 1  # the next call asks the next worker
                wrapped = _WorkerError(e, f"in DataLoader worker process {w}").exception()
                del e, err
                raise wrapped from None
            self._turn += 1
            self._num_yielded += 1
            if self._len_reported is not None:
                self._check_length()
            return batch
        raise StopIteration


def _worker_copy(dataset):
    """The dataset object one worker of an iterable dataset reads: a shallow copy, like the
    copy a worker process holds; the dataset itself when it cannot be copied."""
    try:
        return copy.copy(dataset)
    except Exception:
        return dataset


def _accelerator_present():
    from ... import cuda
    return cuda.is_available()


# the threaded iterator builds on the worker classes above, so it is imported back last
from ._threaded_iter import _ThreadedDataLoaderIter  # noqa: E402
