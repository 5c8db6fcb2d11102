"""In-place ops (trailing underscore), ``__setitem__`` and dtype/device conversion."""
import numpy as np

from . import _dtype as D
from .autograd import grad_mode
from .autograd.function import apply
from .autograd import ops_math as M
from .autograd import ops_shape as S
from ._tensor_math import operands
from ._tensor_shape import _index_arrays

_state = grad_mode.state
_ndarray = np.ndarray


def _cast_error(self, src_dtype):
    return RuntimeError(f"result type {_title(src_dtype)} can't be cast to the desired output "
                        f"type {_title(self._data.dtype)}")


def _title(npd):
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
            "uint8": "Byte", "bool": "Bool"}.get(str(npd), str(npd))


def _write(self, result_arr):
    """Store an out-of-place result into self's storage (views see the change)."""
    try:
        np.copyto(self._data, result_arr, casting="same_kind")
    except TypeError:
        raise _cast_error(self, result_arr.dtype) from None
    except ValueError as e:
        if not self._data.flags.writeable:
            raise RuntimeError("unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.") from None
        raise RuntimeError(str(e)) from None


def _tracked(self, others=()):
    """True when the in-place op must be recorded in the graph."""
    if not _state.enabled:
        return False
    return self._rg or any(getattr(o, "_rg", False) for o in others)


def _record(self, compute):
    """Run ``compute(alias)`` out of place on a copy that keeps self's history, then write back.

    The copy keeps values that the new node saved intact when self's storage is overwritten.
    """
    base = self._base
    if base is not None and base._rg:
        raise RuntimeError("fastnn does not record in-place operations on views of tensors "
                           "that require grad; use an out-of-place op (y = x * 2) or clone() "
                           "the view first")
    from .tensor import _wrap
    alias = _wrap(self._data.copy(), self.grad_fn)
    alias._rg = self._rg
    res = compute(alias)
    _write(self, res._data)
    self.grad_fn = res.grad_fn
    self._rg = res._rg
    return self._bump()


class InplaceMixin:
    __slots__ = ()

    def _binary_(self, ufunc, method, other, **kw):
        self._check_inplace()
        if _tracked(self, (other,)):
            return _record(self, lambda a: getattr(a, method)(other, **kw))
        a, b, dt = operands(self, other)
        barr = b._data
        if kw.get("alpha", 1) != 1:
            barr = barr * kw["alpha"]
        try:
            ufunc(self._data, barr, out=self._data, casting="same_kind")
        except TypeError:
            raise _cast_error(self, dt or barr.dtype) from None
        except ValueError as e:
            _write(self, ufunc(self._data, barr))
        return self._bump()

    def add_(self, other, *, alpha=1):
        return self._binary_(np.add, "add", other, alpha=alpha)

    def sub_(self, other, *, alpha=1):
        return self._binary_(np.subtract, "sub", other, alpha=alpha)

    def mul_(self, other):
        return self._binary_(np.multiply, "mul", other)

    def div_(self, other):
        return self._binary_(np.true_divide, "div", other)

    def pow_(self, exponent):
        return self._binary_(np.power, "pow", exponent)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    def _unary_(self, method, *args):
        self._check_inplace()
        if _tracked(self):
            return _record(self, lambda a: getattr(a, method)(*args))
        _write(self, getattr(self.detach(), method)(*args)._data)
        return self._bump()

    def neg_(self):
        return self._unary_("neg")

    def abs_(self):
        return self._unary_("abs")

    def exp_(self):
        return self._unary_("exp")

    def log_(self):
        return self._unary_("log")

    def sqrt_(self):
        return self._unary_("sqrt")

    def sigmoid_(self):
        return self._unary_("sigmoid")

    def tanh_(self):
        return self._unary_("tanh")

    def relu_(self):
        return self._unary_("relu")

    def clamp_(self, min=None, max=None):
        return self._unary_("clamp", min, max)

    clip_ = clamp_

    def clamp_min_(self, min):
        return self._unary_("clamp", min, None)

    def masked_fill_(self, mask, value):
        return self._unary_("masked_fill", mask, value)

    def lerp_(self, end, weight):
        return self.add_((end - self) * weight)

    def addcmul_(self, t1, t2, *, value=1):
        return self.add_(t1 * t2 * value)

    def addcdiv_(self, t1, t2, *, value=1):
        return self.add_(t1 / t2 * value)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._unary_("scatter", dim, index, src) if value is None else \
            self._unary_("scatter", dim, index, value)

    def scatter_add_(self, dim, index, src):
        return self._unary_("scatter_add", dim, index, src)

    def index_fill_(self, dim, index, value):
        self._check_inplace()
        sl = [slice(None)] * self._data.ndim
        sl[self._dim(dim)] = index._data
        self[tuple(sl)] = value
        return self

    def fill_(self, value):
        self._check_inplace()
        from .tensor import Tensor
        if isinstance(value, Tensor):
            if _tracked(self, (value,)):
                self[...] = value
                return self
            value = value.item()
        if _tracked(self):
            self[...] = value
            return self
        self._data[...] = value
        return self._bump()

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src, non_blocking=False):
        self._check_inplace()
        from .tensor import Tensor
        if _tracked(self, (src,)) and isinstance(src, Tensor):
            self[...] = src
            return self
        arr = src._data if isinstance(src, Tensor) else np.asarray(src)
        if type(arr) is not type(self._data):
            arr = _move_array(arr, self.device)
        try:
            np.copyto(self._data, np.broadcast_to(arr, self._data.shape), casting="unsafe")
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({self._data.shape}) must match the size "
                               f"of tensor b ({arr.shape})") from None
        return self._bump()

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        from .random import fill_uniform
        self._check_inplace()
        fill_uniform(self._data, a, b, generator)
        return self._bump()

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        from .random import fill_normal
        self._check_inplace()
        fill_normal(self._data, mean, std, generator)
        return self._bump()

    def bernoulli_(self, p=0.5, *, generator=None):
        from .random import draw_uniform
        self._check_inplace()
        self._data[...] = draw_uniform(self._data.shape, self._data.dtype, generator) < p
        return self._bump()

    def random_(self, low=0, high=None, *, generator=None):
        from .random import get_generator
        if high is None:
            low, high = 0, low if low else 2 ** 24
        self._data[...] = get_generator(generator).np.integers(low, high, self._data.shape)
        return self._bump()

    def __setitem__(self, idx, value):
        from .tensor import Tensor
        idx = _index_arrays(idx)
        self._check_inplace()
        if _tracked(self, (value,)):
            if not isinstance(value, Tensor):
                from ._creation import tensor
                value = tensor(value, dtype=self.dtype)
            v = value if value._data.dtype == self._data.dtype else value.to(self.dtype)
            _record(self, lambda a: apply(S.IndexPutBackward0, (a, v), idx, False))
            return
        arr = value._data if isinstance(value, Tensor) else value
        try:
            self._data[idx] = arr
        except IndexError as e:
            raise IndexError(str(e).replace("axis", "dimension")) from None
        except ValueError as e:
            raise RuntimeError(str(e)) from None
        self._bump()

    def index_put_(self, indices, values, accumulate=False):
        idx = _index_arrays(tuple(indices))
        if accumulate:
            self._check_inplace()
            if _tracked(self, (values,)):
                return _record(self, lambda a: apply(S.IndexPutBackward0, (a, values), idx, True))
            np.add.at(self._data, idx, values._data)
            return self._bump()
        self[idx] = values
        return self

    # ---- dtype and device -----------------------------------------------------------
    def to(self, *args, **kwargs):
        dtype, device, copy = _parse_to(args, kwargs)
        out = self
        if device is not None and device != self.device:
            out = _to_device(out, device)
        if dtype is not None and D.to_dtype(dtype).np != out._data.dtype:
            out = out._cast(D.to_dtype(dtype).np)
        if copy and out is self:
            out = self.clone()
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
            name = dtype.rsplit(".", 1)[-1]
            dtype = {v: k for k, v in D._LEGACY.items()}[name]
        return self.to(dtype)

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
        return apply(M.CloneBackward0, (self,), _copy_array)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from ._creation import tensor
        return tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def _new_filled(self, fill, size, dtype, device, requires_grad):
        from ._creation import full
        return full(_sizes_of(size), fill, dtype=dtype or self.dtype,
                    device=device or self.device, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(0, size, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(1, size, dtype, device, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new_filled(fill_value, (size,), dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(0, size, dtype, device, requires_grad)


def _sizes_of(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _copy_array(a):
    return a.copy() if type(a) is _ndarray else a.copy()


def _parse_to(args, kwargs):
    from .tensor import Tensor
    dtype = kwargs.pop("dtype", None)
    device = kwargs.pop("device", None)
    copy = kwargs.pop("copy", False)
    kwargs.pop("non_blocking", None)
    for a in args:
        if isinstance(a, Tensor):
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


def _to_device(t, device):
    from .autograd.function import apply as _apply
    from .autograd.node import Node

    class ToDeviceBackward0(Node):
        def forward(self, a, dev):
            self.src = t.device
            return _move_array(a, dev)

        def backward(self, g):
            return (_move_array(g, self.src),)
    return _apply(ToDeviceBackward0, (t,), device)


def _move_array(arr, device):
    if isinstance(device, str):
        device = D.device(device)
    if device.type == "cpu":
        return arr if type(arr) is _ndarray else arr.copy_to_host()
    from .cuda import _backend
    return _backend.to_device(arr, device)
