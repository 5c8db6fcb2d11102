"""Checking ``DataLoader(multiprocessing_context=...)``.

fastnn's workers are threads, so the context is never used to start processes; it is still
checked and kept (a start-method name becomes its context object) so that code inspecting
``loader.multiprocessing_context`` and code relying on the errors behaves as with PyTorch.
"""
import multiprocessing
from multiprocessing.context import BaseContext


def checked_context(value, num_workers):
    if value is None:
        return None
    if num_workers <= 0:
        raise ValueError("multiprocessing_context can only be used with multi-process loading "
                         f"(num_workers > 0), but got num_workers={num_workers}")
    if isinstance(value, str):
        methods = multiprocessing.get_all_start_methods()
        if value not in methods:
            raise ValueError("multiprocessing_context option should specify a valid start "
                             f"method in {methods!r}, but got multiprocessing_context="
                             f"{value!r}")
        return multiprocessing.get_context(value)
    if not isinstance(value, BaseContext):
        raise TypeError("multiprocessing_context option should be a valid context object or a "
                        "string specifying the start method, but got multiprocessing_context="
                        f"{value!r}")
    return value
