"""dtype and device conversion, clones and ``new_*`` factories as Tensor methods."""
import numpy as np

from . import _dtype as D
from .autograd.function import apply
from .autograd.node import Node
from .autograd import ops_math as M
from ._tensor_layout import preserve_format as _PRESERVE, contiguous_format as _CONTIGUOUS

_ndarray = np.ndarray


class ConvertMixin:
    __slots__ = ()

    def to(self, *args, **kwargs):
        fmt = kwargs.pop("memory_format", None)
        dtype, device, copy = _parse_to(args, kwargs)
        out = self
        if device is not None and device != self.device and \
                not (device.index is None and device.type == self.device.type):
            out = _to_device(out, device)
        if dtype is not None and D.to_dtype(dtype).np != out._data.dtype:
            out = out._cast(D.to_dtype(dtype).np)
        if copy and out is self:
            out = self.clone()
        if fmt is not None and fmt is not _PRESERVE:
            # a layout change after the cast, which keeps the source's own layout
            out = out.contiguous(memory_format=fmt)
        return out

    def _cast(self, npd):
        if self._rg and np.dtype(npd).kind != "f":
            from .tensor import _wrap
            return _wrap(self._data.astype(npd))
        return apply(M.ToCopyBackward0, (self,), npd)

    def type(self, dtype=None, non_blocking=False):
        if dtype is None:
            return "torch." + D._LEGACY[self.dtype.name]
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            dtype_name = dtype
            name = dtype.rsplit(".", 1)[-1]
            dtype = {v: k for k, v in D._LEGACY.items()}.get(name)
            if dtype is None:
                raise ValueError(f"invalid type: '{dtype_name}'")
        elif isinstance(dtype, str):
            raise ValueError(f"invalid type: '{dtype}'")
        return self.to(getattr(dtype, "dtype", dtype))  # fastnn.FloatTensor and kin

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(D.float32)

    def double(self):
        return self.to(D.float64)

    def half(self):
        return self.to(D.float16)

    def long(self):
        return self.to(D.int64)

    def int(self):
        return self.to(D.int32)

    def short(self):
        return self.to(D.int16)

    def byte(self):
        return self.to(D.uint8)

    def bool(self):
        return self.to(D.bool_)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        return self.to("cuda" if device is None else
                       (f"cuda:{device}" if isinstance(device, int) else device))

    def clone(self, *, memory_format=None):
        if memory_format is None or memory_format is _PRESERVE:
            return apply(M.CloneBackward0, (self,), _copy_keep)
        if memory_format is _CONTIGUOUS:
            return apply(M.CloneBackward0, (self,), _copy_c)
        return apply(M.CloneBackward0, (self,), lambda a: _copy_array(a, memory_format))

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from ._creation import tensor
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def _new_filled(self, fill, size, dtype, device, requires_grad, layout=None,
                    pin_memory=False):
        from ._creation import full
        return full(_sizes_of(size), fill, dtype=dtype or self.dtype, layout=layout,
                    device=device or self.device, pin_memory=pin_memory,
                    requires_grad=requires_grad)

    # size comes positionally (x.new_zeros(2, 3), x.new_zeros((2, 3))) or as size=
    def new_zeros(self, *args, size=None, dtype=None, layout=None, device=None,
                  pin_memory=False, requires_grad=False):
        return self._new_filled(0, _size_arg(args, size, "new_zeros"), dtype, device,
                                requires_grad, layout, pin_memory)

    def new_ones(self, *args, size=None, dtype=None, layout=None, device=None,
                 pin_memory=False, requires_grad=False):
        return self._new_filled(1, _size_arg(args, size, "new_ones"), dtype, device,
                                requires_grad, layout, pin_memory)

    def new_full(self, size, fill_value, *, dtype=None, layout=None, device=None,
                 pin_memory=False, requires_grad=False):
        return self._new_filled(fill_value, (size,), dtype, device, requires_grad, layout,
                                pin_memory)

    def new_empty(self, *args, size=None, dtype=None, layout=None, device=None,
                  pin_memory=False, requires_grad=False):
        return self._new_filled(0, _size_arg(args, size, "new_empty"), dtype, device,
                                requires_grad, layout, pin_memory)


def _size_arg(args, size, fn):
    """The size of a new_* call, given positionally or as ``size=`` (never both)."""
    if size is None:
        if not args:
            raise TypeError(f'{fn}() missing 1 required positional arguments: "size"')
        return args
    if args:
        raise TypeError(f"{fn}() got multiple values for argument 'size'")
    return (size,)


def _sizes_of(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _copy_keep(a):
    # preserve_format: numpy's 'K' order keeps a dense source's strides (as PyTorch does) and
    # packs any other source densely in the order of its strides; an expanded source (stride
    # 0) follows the layout helper, which does not move broadcast dims innermost
    if type(a) is not _ndarray:
        return a.copy()
    if 0 in a.strides and a.size > 1:
        from ._tensor_layout import copy_in_layout
        return copy_in_layout(a)
    return a.copy("K")


def _copy_c(a):
    return a.copy()


def _copy_array(a, memory_format=None):
    if type(a) is not _ndarray or memory_format is None:
        return _copy_keep(a)
    from ._tensor_layout import copy_in_layout
    return copy_in_layout(a, memory_format)


def _parse_to(args, kwargs):
    from .tensor import Tensor
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    flags = 0  # positional bools come after the target: non_blocking, then copy
    for a in args:
        if isinstance(a, bool):
            flags += 1
            if flags == 2:
                copy = a
            elif flags > 2:
                raise TypeError("to() takes at most 2 positional boolean arguments "
                                f"(non_blocking, copy), but {flags} were given")
        elif isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (str, D.device)) and not _is_dtype_name(a):
            device = D.device(a) if not isinstance(a, D.device) else a
        elif isinstance(a, int) and not isinstance(a, bool):
            device = D.device("cuda", a)
        elif a is not None:
            dtype = a
    if isinstance(device, (str, int)):
        device = D.device(device) if isinstance(device, str) else D.device("cuda", device)
    return dtype, device, copy


def _is_dtype_name(a):
    return isinstance(a, str) and a.replace("torch.", "").replace("fastnn.", "") in D._BY_NAME


class _ToDeviceBackward(Node):
    """``.to(device)``, ``.cuda()``, ``.cpu()``: the gradient goes back to the source device."""

    def forward(self, a, src, dev):
        self.src = src
        return _move_array(a, dev)

    def backward(self, g):
        return (_move_array(g, self.src),)

    def name(self):
        return "ToCopyBackward0"


def _to_device(t, device):
    return apply(_ToDeviceBackward, (t,), t.device, device)


def _move_array(arr, device):
    if isinstance(device, str):
        device = D.device(device)
    if device.type == "cpu":
        return arr if type(arr) is _ndarray else arr.copy_to_host()
    try:
        from .cuda import _backend
    except ImportError as e:
        raise RuntimeError(f"CUDA is not available to fastnn ({e}). Install the 'cuda' extra "
                           "(numba-cuda) on a machine with an NVIDIA driver, and check "
                           "fastnn.cuda.is_available() before moving tensors to 'cuda'.") \
            from None
    return _backend.to_device(arr, device)
