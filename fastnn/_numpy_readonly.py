"""Tensors over read-only numpy arrays (``np.asarray(PIL image)``, ``np.frombuffer(bytes)``).

``from_numpy``/``as_tensor``/``asarray`` share the array's memory and warn, once per
program, that the array is not writable. fastnn tensors are always writable: when numpy
allows it the tensor views the same memory writably (in-place ops then write into the
array); when the memory itself is read-only (an immutable ``bytes`` buffer) the tensor holds
a copy, and the warning says so."""
import warnings

_SHARED = ("The given NumPy array is not writable, and fastnn does not support non-writable "
           "tensors. This means writing to this tensor will result in undefined behavior. You "
           "may want to copy the array to protect its data or make it writable before "
           "converting it to a tensor. This type of warning will be suppressed for the rest of "
           "this program.")
_COPIED = ("The given NumPy array is not writable, and fastnn does not support non-writable "
           "tensors. Its memory cannot be made writable (e.g. it belongs to an immutable bytes "
           "object), so the tensor holds a copy of it: writes to the tensor will not reach the "
           "array. This type of warning will be suppressed for the rest of this program.")
_warned = set()  # the messages already given


def _warn_once(message):
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, UserWarning, stacklevel=4)


def writable(arr):
    """``arr`` when it is writable; else a writable view of its memory, or a copy when numpy
    cannot make that memory writable (with the matching warning)."""
    if arr.flags.writeable:
        return arr
    try:
        arr.flags.writeable = True  # only long enough to take a writable view
    except ValueError:
        _warn_once(_COPIED)
        return arr.copy()
    try:
        view = arr.view()
    finally:
        arr.flags.writeable = False
    _warn_once(_SHARED)
    return view
