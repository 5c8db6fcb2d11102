"""Pooling size arguments (kernel_size, stride, padding, dilation) as tuples of ints, with
PyTorch's TypeError for floats and bools."""
import operator

_ARG_POSITION = {"kernel_size": 2, "stride": 3, "padding": 4, "dilation": 5}


def _int_arg(v, fn, what, at=None):
    """v as an int; floats and bools are refused with PyTorch's TypeError."""
    if not isinstance(v, bool):
        try:
            return operator.index(v)
        except TypeError:
            pass
    where = f"{fn}(): argument '{what}' (position {_ARG_POSITION[what]}) must be tuple of ints"
    if at is None:
        raise TypeError(f"{where}, not {type(v).__name__}")
    raise TypeError(f"{where}, but found element of type {type(v).__name__} at pos {at}")


def _tuple(v, nd, fn, what):
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return (_int_arg(v[0], fn, what, 0),) * nd
        if len(v) != nd:
            raise RuntimeError(f"{fn}: {what} must either be a single int, or a tuple of "
                               f"{ {2: 'two', 3: 'three'}.get(nd, nd)} ints")
        return tuple(_int_arg(a, fn, what, i) for i, a in enumerate(v))
    return (_int_arg(v, fn, what),) * nd
