"""``fastnn.utils.data._utils.worker``: ``get_worker_info`` and ``WorkerInfo`` under their
private import path."""
from ..dataloader import WorkerInfo, get_worker_info  # noqa: F401

__all__ = ["WorkerInfo", "get_worker_info"]
