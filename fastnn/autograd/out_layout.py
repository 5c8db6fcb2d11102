"""Memory layout of op results that are written into a fresh buffer.

numpy lays a result out in the order of its inputs' strides, so ops on a transposed or
permuted input return arrays that are not C-contiguous, and a following ``.view()`` fails.
Ops that write a fresh buffer in fastnn (softmax, scans, cat, ...) return C-contiguous
arrays instead, or keep a channels-last layout for the ops that carry that format through.
Plain elementwise ops keep the input's layout and do not use these helpers.
"""
import numpy as np

# dimension order, outermost first, of the channels-last layouts (4-D and 5-D)
_CHANNELS_LAST_ORDER = {4: (0, 2, 3, 1), 5: (0, 2, 3, 4, 1)}


def is_channels_last(a):
    """Whether ``a`` (4-D or 5-D) is laid out channels-last: the channel dim innermost, then
    the spatial dims from last to first, then the batch dim. Size-1 dims do not count."""
    order = _CHANNELS_LAST_ORDER.get(a.ndim)
    if order is None or a.flags.c_contiguous:
        return False
    last = -1
    for d in reversed(order):
        if a.shape[d] == 1:
            continue
        step = abs(a.strides[d])
        if step < last:
            return False
        last = step
    return True


def c_contiguous(a):
    """``a`` itself when C-contiguous (0-d arrays included: np.ascontiguousarray would make
    them 1-d), else a C-contiguous copy."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def c_order_unless_channels_last(out, *inputs):
    """``out`` when it is C-contiguous or all of ``inputs`` are channels-last (numpy then lays
    ``out`` out in their order); otherwise a C-contiguous copy of it."""
    if out.flags.c_contiguous:
        return out
    if inputs and all(is_channels_last(a) for a in inputs):
        return out
    return np.ascontiguousarray(out)
