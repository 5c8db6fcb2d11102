"""``fastnn.utils.data._utils``: the private module paths under which code written for
``torch.utils.data`` imports its collate and worker helpers. They name fastnn's own
implementations from ``fastnn.utils.data``."""
from . import collate, worker  # noqa: F401

# how often (seconds) PyTorch's worker processes poll their status; kept for code that reads it
MP_STATUS_CHECK_INTERVAL = 5.0
