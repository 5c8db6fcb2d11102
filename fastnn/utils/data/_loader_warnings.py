"""The warnings a DataLoader gives about its configuration: more workers than CPUs, and an
iterable dataset that yields more than its ``__len__`` promised."""
import os
import warnings


def _usable_cpus():
    """CPUs this process may run on (its affinity mask where the OS reports one)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return len(os.sched_getaffinity(0))
        except OSError:
            pass
    return os.cpu_count()


def warn_if_too_many_workers(num_workers, stacklevel):
    """Warn (UserWarning) when ``num_workers`` is above the CPUs this process may use."""
    if not num_workers:
        return
    suggested = _usable_cpus()
    if suggested is not None and num_workers <= suggested:
        return
    if suggested is None:
        advice = ("DataLoader is not able to compute a suggested max number of worker in "
                  "current system.")
    else:
        cpuset = "" if hasattr(os, "sched_getaffinity") else " (`cpuset` is not taken into account)"
        advice = (f"Our suggested max number of worker in current system is {suggested}{cpuset}, "
                  "which is smaller than what this DataLoader is going to create.")
    # fastnn's workers live inside this process (threads, not processes), so the usual
    # risk is slowness from oversubscribed CPUs rather than a frozen machine
    warnings.warn(f"This DataLoader will create {num_workers} workers in total (fastnn runs them "
                  f"inside this process, not as worker processes). {advice} Please be aware that "
                  "excessive worker creation might get DataLoader running slow, lower the worker "
                  "number to avoid potential slowness if necessary.",
                  UserWarning, stacklevel=stacklevel + 1)


def warn_length_exceeded(dataset, reported, fetched, num_workers):
    """The warning for an iterable dataset whose ``len()`` (read through ``len(loader)``)
    was smaller than the number of batches (or samples) the loader has now returned."""
    msg = (f"Length of IterableDataset {dataset} was reported to be {reported}"
           f"(when accessing len(dataloader)), but {fetched} samples have been fetched. ")
    if num_workers > 0:
        msg += ("For multiprocessing data-loading, this could be caused by not properly "
                "configuring the IterableDataset replica at each worker. Please see "
                "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset "
                "for examples.")
    # called from an iterator's _check_length, itself called by its __next__
    warnings.warn(msg, UserWarning, stacklevel=4)
