"""Legacy constructors: ``Tensor(2, 3)``, and ``fastnn.FloatTensor`` and kin, also types."""
import numpy as np

from . import _dtype as D
from ._creation import empty, zeros, tensor, as_tensor


def legacy_new(cls, dtype, args, kwargs):
    """``Tensor(2, 3)`` -> uninitialised sizes; ``Tensor([1, 2])`` -> a copy of the data."""
    device = kwargs.pop("device", None)
    if kwargs:
        raise TypeError(f"new() got unexpected keyword arguments {sorted(kwargs)}")
    if not args:
        t = empty(0, dtype=dtype, device=device)
    elif all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        t = zeros(*args, dtype=dtype, device=device)
    elif len(args) == 1 and isinstance(args[0], D.Size):
        t = zeros(args[0], dtype=dtype, device=device)
    elif len(args) == 1:
        data = args[0]
        if not isinstance(data, (list, tuple, np.ndarray, _tensor_cls())):
            raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
        if isinstance(data, np.ndarray) and data.dtype == dtype.np and device is None:
            t = as_tensor(data)  # an array of the right dtype is shared, as in PyTorch
        else:
            t = tensor(data, dtype=dtype, device=device)
    else:
        raise TypeError(f"new(): invalid arguments {args!r}")
    if cls is not t.__class__:
        t.__class__ = cls
    return t


class _LegacyType(type):
    """``fastnn.FloatTensor`` and kin: constructors (from data or sizes) that also act as
    types, as in PyTorch: ``isinstance(x, fastnn.FloatTensor)``, ``x.type(fastnn.LongTensor)``."""

    def __call__(cls, *args, **kwargs):
        return legacy_new(_tensor_cls(), cls.dtype, args, kwargs)

    def __instancecheck__(cls, obj):
        return isinstance(obj, _tensor_cls()) and obj.dtype is cls.dtype and \
            obj.device.type == "cpu"

    def __repr__(cls):
        return f"<class 'fastnn.{cls.__name__}'>"


def _legacy(name, dt):
    return _LegacyType(name, (), {"dtype": dt, "__module__": "fastnn",
                                  "__doc__": f"Legacy constructor: a {dt} tensor from data or "
                                             "sizes; also a type for isinstance."})


def _tensor_cls():
    from .tensor import Tensor
    return Tensor


FloatTensor = _legacy("FloatTensor", D.float32)
DoubleTensor = _legacy("DoubleTensor", D.float64)
HalfTensor = _legacy("HalfTensor", D.float16)
LongTensor = _legacy("LongTensor", D.int64)
IntTensor = _legacy("IntTensor", D.int32)
ShortTensor = _legacy("ShortTensor", D.int16)
CharTensor = _legacy("CharTensor", D.int8)
ByteTensor = _legacy("ByteTensor", D.uint8)
BoolTensor = _legacy("BoolTensor", D.bool_)
