"""Deprecated creation helpers that older PyTorch code still calls: ``fastnn.range`` and
``fastnn.set_default_tensor_type``, plus the function forms of ``unsafe_chunk``/``unsafe_split``.
Both deprecated ones warn (UserWarning) as PyTorch does, pointing at the caller's line."""
import builtins
import math
import warnings

import numpy as np

from . import _dtype as D

_RANGE_DEPRECATED = (
    "torch.range is deprecated and will be removed in a future release because its behavior "
    "is inconsistent with Python's range builtin. Instead, use torch.arange, which produces "
    "values in [start, end).")
_DEFAULT_TYPE_DEPRECATED = (
    "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
    "torch.set_default_dtype() and torch.set_default_device() as alternatives.")
_ONLY_FLOAT = "only floating-point types are supported as the default type"


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
          pin_memory=False, requires_grad=False):
    """Values from ``start`` to ``end`` inclusive, ``step`` apart, in the default float dtype
    unless ``dtype`` says otherwise. Deprecated: ``fastnn.arange`` excludes ``end``."""
    warnings.warn(_RANGE_DEPRECATED, UserWarning, stacklevel=2)
    if out is not None:
        from ._creation_out import out_dtype, write_out
        with warnings.catch_warnings():  # warned once above
            warnings.simplefilter("ignore")
            result = range(start, end, step, dtype=out_dtype(out, dtype, "range"),
                           device=device)
        return write_out(out, result)
    if end is None:
        raise TypeError('range() missing 1 required positional arguments: "end"')
    start, end, step = builtins.float(start), builtins.float(end), builtins.float(step)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not ((step > 0 and end >= start) or (step < 0 and end <= start)):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    count = math.floor((end - start) / step) + 1
    values = start + np.arange(count, dtype=np.float64) * step
    from ._creation import tensor
    return tensor(values, dtype=dtype or D.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def set_default_tensor_type(t):
    """Deprecated: sets the default dtype from a legacy type such as ``fastnn.DoubleTensor``
    (or its name, ``'torch.DoubleTensor'``)."""
    warnings.warn(_DEFAULT_TYPE_DEPRECATED, UserWarning, stacklevel=2)
    if isinstance(t, str):
        name = t.rsplit(".", 1)[-1]
        from . import _creation
        t = getattr(_creation, name, None)
        if t is None or not hasattr(t, "dtype") or isinstance(t, D.dtype):
            raise TypeError(f"invalid type: '{name}'")
    dt = getattr(t, "dtype", None)
    if not isinstance(dt, D.dtype):
        raise TypeError(f"invalid type object: {_ONLY_FLOAT}")
    if not dt.is_floating_point:
        raise TypeError(_ONLY_FLOAT)
    D.set_default_dtype(dt)


def unsafe_chunk(input, chunks, dim=0):
    return input.unsafe_chunk(chunks, dim)


def unsafe_split(input, split_size, dim=0):
    return input.unsafe_split(split_size, dim)
