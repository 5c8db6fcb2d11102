"""Value rules of arange/linspace/logspace shared by the factories in ``_creation``.

With an integer dtype PyTorch first truncates each bound (and arange's step) to an integer,
then computes the values: ``arange(0, 5, 1.5, dtype=int64)`` steps by 1, and
``linspace(-1.5, 3.7, 5, dtype=int64)`` runs from -1 to 3."""
import math

import numpy as np


def scalar_bound(v):
    """A bound given as a 0-d tensor or numpy scalar, as the Python number it holds."""
    if hasattr(v, "_data") or isinstance(v, np.generic):
        return v.item()
    return v


def integer_arange(vals, npd):
    """arange's values in an integer dtype. Each of start, end and step is truncated to an
    integer; int64 also counts the values from those integers (a step truncated to zero is
    PyTorch's ValueError), the narrower dtypes count them from the numbers as given."""
    if np.dtype(npd).kind == "b":
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    start, end, step = (int(v) for v in vals)
    if np.dtype(npd) == np.int64:
        if step == 0:
            raise ValueError("step must be nonzero")
        sign = 1 if step > 0 else -1
        span = end - start + step - sign
        count = abs(span) // abs(step) * (1 if (span >= 0) == (step > 0) else -1)
    else:
        count = math.ceil((float(vals[1]) - float(vals[0])) / float(vals[2]))
    return (start + np.arange(max(count, 0), dtype=np.int64) * step).astype(npd)


def integer_linspace(start, end, steps, fused=True):
    """``steps`` evenly spaced float64 values from int(start) to int(end): the first half
    stepping up from start, the second half stepping down from end (so both ends are exact).
    ``fused``: each product with the step is kept exact before the one rounding, as a fused
    multiply-add does (PyTorch's linspace; its logspace rounds the product first), so values
    truncate to the same integers as PyTorch's."""
    start, end = int(start), int(end)
    if steps == 1:
        return np.array([start], np.float64)
    wide = np.longdouble if fused else np.float64
    step = wide((end - start) / (steps - 1))
    idx = np.arange(steps).astype(wide)
    up = wide(start) + step * idx
    down = wide(end) - step * (wide(steps - 1) - idx)
    return np.where(idx < steps // 2, up, down).astype(np.float64)


def linspace_values(start, end, steps, npd):
    if np.dtype(npd).kind in "iub":
        return integer_linspace(start, end, steps).astype(npd)
    return np.linspace(start, end, steps).astype(npd)


def logspace_values(start, end, steps, base, npd):
    if np.dtype(npd).kind in "iub":
        if steps == 1:  # one value: the power of the bound as given, not truncated first
            return np.array([float(base) ** float(start)]).astype(npd)
        return np.power(float(base), integer_linspace(start, end, steps, False)).astype(npd)
    return np.logspace(start, end, steps, base=base).astype(npd)
