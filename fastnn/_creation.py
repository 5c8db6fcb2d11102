"""Tensor factories: tensor, zeros, rand, arange, the *_like forms and legacy constructors."""
import math
import numbers
import threading
import warnings

import numpy as np

from . import _dtype as D
from .random import draw_normal, draw_uniform, get_generator
from ._tensor_random import check_std, check_p, check_multinomial, sample_rows
from ._tensor_build import ragged as _ragged, wrap_unsigned as _wrap_unsigned, alloc_error, \
    check_arange, bad_call
from ._tensor_layout import like_layout as _layout
from ._fp_quiet import quiet, restore

_ndarray = np.ndarray


class _DefaultDevice(threading.local):
    device = None  # per thread, as in PyTorch

    def __init__(self):
        self.outer = []  # the defaults that enclosing ``with device(...)`` blocks replaced


_default = _DefaultDevice()
_default_set = False  # until some thread sets a default, factories skip the lookup


def set_default_device(device):
    """Where factories called without ``device=`` create tensors (None: the CPU)."""
    global _default_set
    if device is not None and not isinstance(device, D.device):
        device = D.device(device)
    _default.device = device
    _default_set = True


def _enter_default_device(dev):
    global _default_set
    _default.outer.append(_default.device)
    _default.device = dev
    _default_set = True


def _exit_default_device():
    if _default.outer:
        _default.device = _default.outer.pop()


def get_default_device():
    dev = _default.device if _default_set else None
    if dev is None:
        return D.CPU
    if dev.index is None and dev.type != "cpu":
        return tensor([]).device  # resolves the index, or raises as a factory would
    return dev


def _finish(arr, device, requires_grad):
    from .tensor import _wrap
    t = _wrap(arr)
    if device is None and _default_set:
        device = _default.device
    if device is not None:
        dev = D.device(device) if not isinstance(device, D.device) else device
        if dev.type != "cpu":
            from ._tensor_convert import _move_array
            t._data = _move_array(arr, dev)
    if requires_grad:
        t.requires_grad_(True, _what="Only Tensors of floating point and complex dtype")
    return t


def _infer_dtype(data):
    """PyTorch's inference: Python floats -> default dtype, ints -> int64, bools -> bool;
    numpy scalars, arrays and tensors keep their own dtype; a mix takes the promoted type."""
    if isinstance(data, _ndarray) or isinstance(data, np.generic):
        return D.from_numpy_dtype(data.dtype)
    found = set()
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple, range)):
            stack.extend(x)
        elif hasattr(x, "_data"):
            found.add(D.from_numpy_dtype(x._data.dtype))
        elif isinstance(x, (_ndarray, np.generic)):  # before float: np.float64 is a float
            found.add(D.from_numpy_dtype(x.dtype))
        elif isinstance(x, bool):
            found.add(D.bool_)
        elif isinstance(x, numbers.Integral):
            found.add(D.int64)
        elif isinstance(x, numbers.Real):
            found.add(D.get_default_dtype())
        elif isinstance(x, (str, bytes)):
            if isinstance(data, (list, tuple)) and isinstance(_ragged(data, None), ValueError):
                raise _ragged(data, None)  # a string where a sequence's first item goes
            raise TypeError(f"new(): invalid data type '{type(x).__name__}'")
        else:
            raise RuntimeError(f"Could not infer dtype of {type(x).__name__}")
    if not found:
        return D.get_default_dtype()
    dts = list(found)
    out = dts[0]
    for dt in dts[1:]:
        out = D.promote_types(out, dt)
    return out


def _to_array(data, dtype):
    from .tensor import Tensor
    if isinstance(data, Tensor):
        return data._host().astype(dtype.np, copy=True)
    if isinstance(data, (list, tuple)):
        data = _unwrap_nested(data)
    token = quiet()  # overflow to inf without numpy's warning, as in PyTorch
    try:
        return np.array(data, dtype=dtype.np)
    except (ValueError, TypeError) as e:
        raise _ragged(data, dtype.np) or ValueError(
            f"could not build a tensor from the data: {e}") from None
    except OverflowError:
        return _wrap_unsigned(data, dtype.np)
    finally:
        restore(token)


def _unwrap_nested(data):
    from .tensor import Tensor
    if isinstance(data, Tensor):
        return data._host()
    if isinstance(data, (list, tuple)):
        return [_unwrap_nested(x) for x in data]
    return data


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """Copy ``data`` (nested lists, scalars, arrays or tensors) into a new leaf tensor."""
    from .tensor import Tensor
    if isinstance(data, Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than tensor(sourceTensor).", UserWarning,
                      stacklevel=2)
    if isinstance(data, _ndarray) and not data.dtype.isnative:
        D.from_numpy_dtype(data.dtype)  # raises: byte-swapped arrays are refused
    if type(data) is list or type(data) is tuple:
        from ._tensor_from_list import plain_number_dtype, array_from_plain_numbers
        found = plain_number_dtype(data)
        if found is not None:
            arr = array_from_plain_numbers(data, D.to_dtype(dtype) if dtype is not None
                                           else found)
            if arr is not None:
                return _finish(arr, device, requires_grad)
    dt = D.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
    return _finish(_to_array(data, dt), device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """Share memory with a numpy array or tensor when the dtype and device allow it."""
    from .tensor import Tensor
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    if device is None and _default_set:
        device = _default.device
    if isinstance(data, _ndarray) and (dtype is None or D.to_dtype(dtype).np == data.dtype) \
            and (device is None or D.device(device).type == "cpu"):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    from .tensor import Tensor
    if copy:
        t = tensor(obj, dtype=dtype, device=device)
    elif hasattr(obj, "__dlpack__") and not isinstance(obj, (Tensor, _ndarray)):
        from ._dlpack import from_dlpack
        t = from_dlpack(obj).to(dtype=dtype, device=device) if (dtype or device) \
            else from_dlpack(obj)
    else:
        t = as_tensor(obj, dtype=dtype, device=device)
        if copy is False and (t._data is not getattr(obj, "_data", t._data)):
            pass
    if requires_grad:
        t.requires_grad_(True, _what="Only Tensors of floating point and complex dtype")
    return t


def from_numpy(arr):
    """A tensor sharing ``arr``'s memory (writes show through both ways)."""
    from .tensor import _wrap
    if not isinstance(arr, _ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    D.from_numpy_dtype(arr.dtype)
    return _wrap(_plain_array(arr))


def _plain_array(arr):
    """``arr`` as a base ndarray over the same memory: tensors tell CPU data from device
    arrays by ``type(data) is np.ndarray``, so a subclass (np.memmap, np.matrix, ...) would
    pass for a device array."""
    return arr if type(arr) is _ndarray else arr.view(_ndarray)


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list, D.Size)):
        size = tuple(size[0])
    out = []
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool):
            if hasattr(s, "_data") and s._data.size == 1:
                s = int(s)
            else:
                raise TypeError(f"argument 'size' must be tuple of ints, not "
                                f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(size)}")
        out.append(int(s))
    return tuple(out)


def _sizes(args, size, fn):
    """Sizes given positionally (``zeros(2, 3)``, ``zeros((2, 3))``) or as ``size=``."""
    if size is None:
        return _size(args)
    if args:
        raise TypeError(f"{fn}() got multiple values for argument 'size'")
    return _size((size,))


def _dt(dtype, default=None):
    return D.to_dtype(dtype) if dtype is not None else (default or D.get_default_dtype())


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, out=None):
    if not isinstance(fill_value, (numbers.Number, np.generic)) and not (
            hasattr(fill_value, "_data") and fill_value._data.size == 1):
        raise TypeError("full(): argument 'fill_value' (position 2) must be Number, not "
                        f"{type(fill_value).__name__}")
    if isinstance(fill_value, np.generic):  # a numpy scalar infers like a Python number
        fill_value = float(fill_value) if isinstance(fill_value, np.bool_) else fill_value.item()
    if dtype is None:
        dtype = _infer_dtype(fill_value) if not isinstance(fill_value, float) else None
    shape, npd = _size((size,)), _dt(dtype).np
    if np.dtype(npd).kind in "iu" and isinstance(fill_value, (int, float)):
        from ._scalar_fill import checked_scalar
        fill_value = checked_scalar(fill_value, npd)  # PyTorch's range check and wrap
    try:
        arr = np.full(shape, fill_value, dtype=npd)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None
    return _finish(arr, device, requires_grad)


def zeros(*args, size=None, dtype=None, device=None, requires_grad=False, out=None):
    shape, npd = _sizes(args, size, "zeros"), _dt(dtype).np
    try:
        return _finish(np.zeros(shape, npd), device, requires_grad)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None


def ones(*args, size=None, dtype=None, device=None, requires_grad=False, out=None):
    shape, npd = _sizes(args, size, "ones"), _dt(dtype).np
    try:
        return _finish(np.ones(shape, npd), device, requires_grad)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None


def empty(*args, size=None, dtype=None, device=None, requires_grad=False, out=None,
          memory_format=None):
    shape, npd = _sizes(args, size, "empty"), _dt(dtype).np
    try:
        return _finish(np.empty(shape, npd), device, requires_grad)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype`` says otherwise."""
    return _finish(np.array(s, _dt(dtype).np), device, requires_grad)


def empty_strided(size, stride, *, dtype=None, device=None, requires_grad=False,
                  pin_memory=False):
    """An uninitialised tensor with the given element strides over one fresh buffer."""
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    dt = _dt(dtype).np
    span = 1 + sum((n - 1) * st for n, st in zip(size, stride)) if all(size) else 0
    buf = np.empty(span, dt)
    arr = np.lib.stride_tricks.as_strided(buf, size, tuple(st * dt.itemsize for st in stride))
    return _finish(arr, device, requires_grad)


def _like(t, dtype):
    return D.to_dtype(dtype) if dtype is not None else t.dtype


def zeros_like(t, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _layout(t, zeros(t.shape, dtype=_like(t, dtype), device=device or t.device,
                            requires_grad=requires_grad), memory_format)


def ones_like(t, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _layout(t, ones(t.shape, dtype=_like(t, dtype), device=device or t.device,
                           requires_grad=requires_grad), memory_format)


def empty_like(t, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _layout(t, empty(t.shape, dtype=_like(t, dtype), device=device or t.device,
                            requires_grad=requires_grad), memory_format)


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False,
              memory_format=None):
    return _layout(t, full(t.shape, fill_value, dtype=_like(t, dtype), device=device or t.device,
                           requires_grad=requires_grad), memory_format)


def rand_like(t, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _layout(t, rand(t.shape, dtype=_like(t, dtype), device=device or t.device,
                           requires_grad=requires_grad), memory_format)


def randn_like(t, *, dtype=None, device=None, requires_grad=False, memory_format=None):
    return _layout(t, randn(t.shape, dtype=_like(t, dtype), device=device or t.device,
                            requires_grad=requires_grad), memory_format)


def randint_like(t, low=0, high=None, *, dtype=None, device=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    return randint(low, high, t.shape, dtype=_like(t, dtype), device=device or t.device)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None):
    if end is None:
        start, end = 0, start
    vals = [start, end, step]
    vals = [v.item() if hasattr(v, "_data") else v for v in vals]
    check_arange(vals)
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = D.get_default_dtype() if any(isinstance(v, float) for v in vals) else D.int64
    npd = D.to_dtype(dtype).np
    if all(isinstance(v, (int, np.integer)) for v in vals):
        arr = np.arange(*vals).astype(npd)
    else:
        # each value is start + i * step with the product kept exact (as a fused multiply-add
        # does), then rounded once: numpy steps by the rounded difference of the first two
        # values instead, which puts -8 + 80 * 0.1 below zero where PyTorch gives +4e-16
        n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
        wide = np.arange(n).astype(np.longdouble) * np.longdouble(float(vals[2]))
        arr = (wide + np.longdouble(float(vals[0]))).astype(np.float64).astype(npd)
    return _finish(arr, device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise bad_call("linspace", (start, end, steps))
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return _finish(np.linspace(start, end, steps).astype(_dt(dtype).np), device, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    return _finish(np.logspace(start, end, steps, base=base).astype(_dt(dtype).np), device,
                   requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _finish(np.eye(n, n if m is None else m, dtype=_dt(dtype).np), device, requires_grad)


def _check_float(dt, fn):
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{fn}\" not implemented for '{D._LEGACY[dt.name][:-6]}'")


def rand(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    dt = _dt(dtype)
    _check_float(dt, "check_uniform_bounds")
    shape = _sizes(args, size, "rand")
    try:
        arr = draw_uniform(shape, dt.np, generator).astype(dt.np, copy=False)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, dt.np) from None
    return _finish(arr, device, requires_grad)


def randn(*args, size=None, generator=None, dtype=None, device=None, requires_grad=False, out=None):
    dt = _dt(dtype)
    _check_float(dt, "normal_kernel_cpu")
    shape = _sizes(args, size, "randn")
    try:
        arr = draw_normal(shape, dt.np, generator)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, dt.np) from None
    return _finish(arr, device, requires_grad)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    if size is None:
        if high is None:
            raise bad_call("randint", (low,))
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")
    arr = get_generator(generator).np.integers(low, high, _size((size,)))
    return _finish(arr.astype(_dt(dtype, D.int64).np), device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"randperm(): argument 'n' (position 1) must be int, not "
                        f"{type(n).__name__}")
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    arr = get_generator(generator).np.permutation(int(n))
    return _finish(arr.astype(_dt(dtype, D.int64).np), device, requires_grad)


def normal(mean, std, size=None, *, generator=None, dtype=None, requires_grad=False, **kw):
    from .tensor import Tensor
    check_std(std)
    if size is not None and not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        # the scalar form takes the factory arguments (dtype=, requires_grad=, ...)
        return (randn(size, generator=generator, dtype=dtype) * std + mean).requires_grad_(
            requires_grad)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        m = mean if isinstance(mean, Tensor) else tensor(mean)
        s = std if isinstance(std, Tensor) else tensor(std)
        shape = np.broadcast_shapes(m._data.shape, s._data.shape)
        z = draw_normal(shape, m._data.dtype if m._data.dtype.kind == "f" else np.float32,
                        generator)
        return _finish(z * s._host() + m._host(), D.CPU, False)
    return randn(size, generator=generator) * std + mean


def bernoulli(input, p=None, *, generator=None):
    if p is None:
        probs = input._host()
        check_p(None, probs)
    else:
        check_p(p)
        probs = np.full(input._data.shape, p)
    u = draw_uniform(input._data.shape, input._data.dtype, generator)
    return _finish((u < probs).astype(input._data.dtype), D.CPU, False)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    check_multinomial(input, num_samples, replacement)
    p = input._host().astype(np.float64)
    if not np.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = p.reshape(-1, p.shape[-1])
    if (rows.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    out = sample_rows(get_generator(generator).np, rows, int(num_samples), replacement)
    return _finish(out.reshape(p.shape[:-1] + (int(num_samples),)).astype(np.int64), D.CPU,
                   False)


# the legacy constructors build on the factories above, so they are imported back last
from ._legacy_types import legacy_new, _LegacyType, _legacy, _tensor_cls, FloatTensor, \
    DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor, \
    BoolTensor  # noqa: E402,F401
