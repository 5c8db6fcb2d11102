"""Map-style DataLoader fetching in worker threads: the worker loop and the iterator that
keeps batches in flight and hands them back in sampler order."""
import queue
import threading
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as _FutureTimeout

from . import _worker_rng
from .dataloader import (_BaseDataLoaderIter, _WorkerError, WorkerInfo, _draw_base_seed,
                         _fetch_from, _worker)

_STOP = None


def _worker_loop(info, init_fn, fetch_args, tasks):
    """Body of worker thread ``info.id``: its own random stream, then one task at a time
    (a Future and the indices to fetch) until ``_STOP``."""
    _worker.info = info
    _worker_rng.own_stream(info.seed)
    where = f"in DataLoader worker process {info.id}"
    init_error = None
    if init_fn is not None:
        try:
            init_fn(info.id)
        except BaseException as e:
            init_error = _WorkerError(e, where)
            del e
    while True:
        task = tasks.get()
        if task is _STOP:
            return
        future, index = task
        if not future.set_running_or_notify_cancel():
            continue  # dropped by the iterator
        if init_error is not None:
            future.set_result(init_error)
            continue
        try:
            future.set_result(_fetch_from(*fetch_args, index))
        except BaseException as e:
            future.set_result(_WorkerError(e, where))
            del e


class _ThreadedDataLoaderIter(_BaseDataLoaderIter):
    """Map-style fetching in ``num_workers`` threads, batch ``i`` of an epoch on worker
    ``i % num_workers``, keeping ``prefetch_factor * num_workers`` batches in flight and
    handing them back in sampler order."""

    def __init__(self, loader):
        super().__init__(loader)
        self._pending = deque()
        self._closed = True  # until there are workers to stop
        self._base_seed = _draw_base_seed(loader)
        self._index_iter = iter(loader._index_sampler)
        n = loader.num_workers
        fetch_args = (loader.dataset, loader._auto_collation, loader.collate_fn)
        # workers hold neither this iterator nor the loader, so dropping either stops them
        self._queues = [queue.SimpleQueue() for _ in range(n)]
        self._closed = False
        self._threads = []
        for w in range(n):
            info = WorkerInfo(w, n, self._base_seed + w, loader.dataset)
            t = threading.Thread(target=_worker_loop, name=f"fastnn-dataloader-{w}",
                                 args=(info, loader.worker_init_fn, fetch_args,
                                       self._queues[w]), daemon=True)
            t.start()
            self._threads.append(t)
        self._depth = max(1, (loader.prefetch_factor or 0) * n)
        self._start_epoch()

    def _start_epoch(self):
        self._next_worker = 0
        self._exhausted = False
        self._fill()

    def _reset(self, loader):
        """Start another epoch on the same workers (persistent_workers)."""
        if self._closed:
            return False
        # Batches already handed to workers are fetched to the end, as PyTorch's workers
        # do, so each worker's random stream is where the same calls would leave it.
        while self._pending:
            self._pending.popleft().exception()
        self._loader = loader
        self._num_yielded = 0
        self._index_iter = iter(loader._index_sampler)
        self._start_epoch()
        return True

    def _fill(self):
        n = len(self._queues)
        while not self._exhausted and len(self._pending) < self._depth:
            try:
                index = next(self._index_iter)
            except StopIteration:
                self._exhausted = True
                break
            future = Future()
            self._queues[self._next_worker].put((future, index))
            self._next_worker = (self._next_worker + 1) % n
            self._pending.append(future)

    def __next__(self):
        if not self._pending:
            if not self._loader.persistent_workers:
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
        if type(batch) is _WorkerError:
            raise batch.exception()  # the next call goes on with the next batch
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
        if not self.__dict__.get("_closed", True):
            self._closed = True
            for q in self._queues:
                q.put(_STOP)

    def __del__(self):
        self._shutdown()
