"""Anomaly detection: NaN in backward raises, naming the op and where its forward ran."""
import warnings

from .node import anomaly

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled"]


def is_anomaly_enabled():
    return anomaly.enabled


def is_anomaly_check_nan_enabled():
    return anomaly.check_nan


class detect_anomaly:
    """Context manager: record each op's forward location and check backward for NaN.

    Unlike PyTorch, the error names the module path (``model.encoder``) beside the source line.
    """

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self):
        self._prev = (anomaly.enabled, anomaly.check_nan)
        anomaly.enabled, anomaly.check_nan = True, self.check_nan
        return self

    def __exit__(self, *exc):
        anomaly.enabled, anomaly.check_nan = self._prev
        return False


class set_detect_anomaly:
    """Turn anomaly detection on or off now; also usable as a context manager."""

    def __init__(self, mode, check_nan=True):
        self._prev = (anomaly.enabled, anomaly.check_nan)
        anomaly.enabled, anomaly.check_nan = bool(mode), check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        anomaly.enabled, anomaly.check_nan = self._prev
        return False
