"""Tensor factories: tensor, zeros, rand, arange, the *_like forms and legacy constructors."""
import math
import numbers
import threading
import warnings

import numpy as np

from . import _dtype as D
from ._tensor_build import ragged as _ragged, wrap_unsigned as _wrap_unsigned, alloc_error, \
    check_arange, bad_call
from ._tensor_layout import like_layout as _layout
from ._fp_quiet import quiet, restore
from ._creation_out import out_dtype, write_out, check_factory_kwargs
from ._creation_ranges import scalar_bound, integer_arange, linspace_values, logspace_values

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
        if isinstance(e, ValueError) and dtype.np.kind in "iu" and _has_nan(data):
            raise RuntimeError(f"value cannot be converted to type {dtype.np.name} without "
                               "overflow") from None
        raise _ragged(data, dtype.np) or ValueError(
            f"could not build a tensor from the data: {e}") from None
    except OverflowError:
        return _wrap_unsigned(data, dtype.np)
    finally:
        restore(token)


def _has_nan(data):
    """Whether ``data`` (numbers, nested or not) holds a NaN, for an integer dtype's error."""
    try:
        return bool(np.isnan(np.asarray(data, dtype=np.float64)).any())
    except (ValueError, TypeError):
        return False


def _unwrap_nested(data):
    """Nested sequences with each tensor inside replaced by its one value (a 0-d array of
    its dtype): inside a sequence a tensor counts as a scalar, as in PyTorch."""
    from .tensor import Tensor
    if isinstance(data, Tensor):
        from ._tensor_from_list import tensor_as_scalar
        return tensor_as_scalar(data)
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
    if type(data) is list and data and isinstance(data[0], _ndarray):
        from ._tensor_from_list import warn_list_of_arrays
        warn_list_of_arrays()
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


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """A tensor over ``obj``'s memory where possible (see ``_creation_asarray``)."""
    from ._creation_asarray import asarray as build
    return build(obj, dtype=dtype, device=device, copy=copy, requires_grad=requires_grad)


def from_numpy(arr):
    """A tensor sharing ``arr``'s memory (writes show through both ways)."""
    from .tensor import _wrap
    if not isinstance(arr, _ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    D.from_numpy_dtype(arr.dtype)
    if not arr.flags.writeable:
        from ._numpy_readonly import writable
        arr = writable(arr)
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


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, pin_memory=False,
         requires_grad=False):
    if not isinstance(fill_value, (numbers.Number, np.generic)) and not (
            hasattr(fill_value, "_data") and fill_value._data.size == 1):
        raise TypeError("full(): argument 'fill_value' (position 2) must be Number, not "
                        f"{type(fill_value).__name__}")
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    if out is not None:
        return write_out(out, full(size, fill_value, dtype=out_dtype(out, dtype, "full"),
                                   device=device))
    if isinstance(fill_value, np.generic):  # a numpy scalar infers like a Python number
        fill_value = float(fill_value) if isinstance(fill_value, np.bool_) else fill_value.item()
    if dtype is None:
        dtype = _infer_dtype(fill_value) if not isinstance(fill_value, float) else None
    shape, npd = _size((size,)), _dt(dtype).np
    if np.dtype(npd).kind in "iuf" and isinstance(fill_value, (int, float)):
        from ._scalar_fill import checked_scalar
        fill_value = checked_scalar(fill_value, npd)  # PyTorch's range check and wrap
    try:
        arr = np.full(shape, fill_value, dtype=npd)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None
    return _finish(arr, device, requires_grad)


def zeros(*args, size=None, out=None, dtype=None, layout=None, device=None, pin_memory=False,
          requires_grad=False):
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    if out is not None:
        return write_out(out, zeros(*args, size=size, dtype=out_dtype(out, dtype, "zeros"),
                                   device=device))
    shape, npd = _sizes(args, size, "zeros"), _dt(dtype).np
    try:
        return _finish(np.zeros(shape, npd), device, requires_grad)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None


def ones(*args, size=None, out=None, dtype=None, layout=None, device=None, pin_memory=False,
          requires_grad=False):
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    if out is not None:
        return write_out(out, ones(*args, size=size, dtype=out_dtype(out, dtype, "ones"),
                                   device=device))
    shape, npd = _sizes(args, size, "ones"), _dt(dtype).np
    try:
        return _finish(np.ones(shape, npd), device, requires_grad)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None


def empty(*args, size=None, out=None, dtype=None, layout=None, device=None, pin_memory=False,
          requires_grad=False, memory_format=None):
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    if out is not None:  # out keeps its values; only a shape that differs is resized
        result = empty(*args, size=size, dtype=out_dtype(out, dtype, "empty"), device=device)
        return out if out.shape == result.shape else write_out(out, result)
    shape, npd = _sizes(args, size, "empty"), _dt(dtype).np
    try:
        return _finish(np.empty(shape, npd), device, requires_grad)
    except (MemoryError, ValueError) as e:
        raise alloc_error(e, shape, npd) from None


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False,
                  requires_grad=False):
    check_factory_kwargs(layout, pin_memory)
    """A 0-d tensor holding ``s``, of the default float dtype unless ``dtype`` says otherwise."""
    return _finish(np.array(s, _dt(dtype).np), device, requires_grad)


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    """An uninitialised tensor with the given element strides over one fresh buffer."""
    check_factory_kwargs(layout, pin_memory)
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    dt = _dt(dtype).np
    span = 1 + sum((n - 1) * st for n, st in zip(size, stride)) if all(size) else 0
    buf = np.empty(span, dt)
    arr = np.lib.stride_tricks.as_strided(buf, size, tuple(st * dt.itemsize for st in stride))
    return _finish(arr, device, requires_grad)


def _like(t, dtype, layout=None, pin_memory=False):
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    return D.to_dtype(dtype) if dtype is not None else t.dtype


def zeros_like(input, *, dtype=None, layout=None, device=None, pin_memory=False,
               requires_grad=False, memory_format=None):
    return _layout(input, zeros(input.shape, dtype=_like(input, dtype, layout, pin_memory),
                            device=device or input.device,
                            requires_grad=requires_grad), memory_format)


def ones_like(input, *, dtype=None, layout=None, device=None, pin_memory=False,
              requires_grad=False, memory_format=None):
    return _layout(input, ones(input.shape, dtype=_like(input, dtype, layout, pin_memory),
                           device=device or input.device,
                           requires_grad=requires_grad), memory_format)


def empty_like(input, *, dtype=None, layout=None, device=None, pin_memory=False,
               requires_grad=False, memory_format=None):
    return _layout(input, empty(input.shape, dtype=_like(input, dtype, layout, pin_memory),
                            device=device or input.device,
                            requires_grad=requires_grad), memory_format)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, pin_memory=False,
              requires_grad=False, memory_format=None):
    dtype = _like(input, dtype, layout, pin_memory)
    return _layout(input, full(input.shape, fill_value, dtype=dtype,
                               device=device or input.device, requires_grad=requires_grad),
                   memory_format)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, pin_memory=False,
              requires_grad=False, memory_format=None):
    return _layout(input, rand(input.shape, dtype=_like(input, dtype, layout, pin_memory),
                           generator=generator, device=device or input.device,
                           requires_grad=requires_grad),
                   memory_format)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, pin_memory=False,
               requires_grad=False, memory_format=None):
    return _layout(input, randn(input.shape, dtype=_like(input, dtype, layout, pin_memory),
                            generator=generator, device=device or input.device,
                            requires_grad=requires_grad), memory_format)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None, device=None,
                 pin_memory=False, requires_grad=False, memory_format=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, input.shape, generator=generator, device=device or input.device,
                   dtype=_like(input, dtype, layout, pin_memory))


def arange(start=None, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
           pin_memory=False, requires_grad=False):
    if layout is not None or pin_memory:
        check_factory_kwargs(layout, pin_memory)
    if out is not None:
        result = arange(start, end, step, dtype=out_dtype(out, dtype, "arange"), device=device)
        return write_out(out, result, range_warning=True)
    if start is None:
        if end is None:
            raise TypeError("arange() missing required argument 'end' (pos 1)")
        start = 0
    elif end is None:
        start, end = 0, start
    vals = [start, end, step]
    vals = [v.item() if hasattr(v, "_data") else v for v in vals]
    check_arange(vals)
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        floats = any(isinstance(v, (float, np.floating)) for v in vals)
        dtype = D.get_default_dtype() if floats else D.int64
    npd = D.to_dtype(dtype).np
    if npd.kind != "b" and all(isinstance(v, (int, np.integer)) for v in vals):
        arr = np.arange(*vals).astype(npd)
    elif npd.kind in "iub":
        arr = integer_arange(vals, npd)
    else:
        # each value is start + i * step with the product kept exact (as a fused multiply-add
        # does), then rounded once: numpy steps by the rounded difference of the first two
        # values instead, which puts -8 + 80 * 0.1 below zero where PyTorch gives +4e-16
        n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
        wide = np.arange(n).astype(np.longdouble) * np.longdouble(float(vals[2]))
        arr = (wide + np.longdouble(float(vals[0]))).astype(np.float64).astype(npd)
    return _finish(arr, device, requires_grad)


def _steps_arg(fn, args, steps):
    """linspace's and logspace's ``steps``: an int, or a 0-d integer tensor read as one."""
    if hasattr(steps, "_data") and steps._data.ndim == 0 and steps._data.dtype.kind in "iu":
        steps = int(steps._host())
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise bad_call(fn, args)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    return steps


def linspace(start, end, steps, *, out=None, dtype=None, layout=None, device=None,
             pin_memory=False, requires_grad=False):
    steps = _steps_arg("linspace", (start, end, steps), steps)
    if out is not None:
        return write_out(out, linspace(start, end, steps, device=device,
                                       dtype=out_dtype(out, dtype, "linspace")))
    check_factory_kwargs(layout, pin_memory)
    arr = linspace_values(scalar_bound(start), scalar_bound(end), steps, _dt(dtype).np)
    return _finish(arr, device, requires_grad)


def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             pin_memory=False, requires_grad=False):
    steps = _steps_arg("logspace", (start, end, steps), steps)
    if out is not None:
        return write_out(out, logspace(start, end, steps, base, device=device,
                                       dtype=out_dtype(out, dtype, "logspace")))
    check_factory_kwargs(layout, pin_memory)
    arr = logspace_values(scalar_bound(start), scalar_bound(end), steps, scalar_bound(base),
                          _dt(dtype).np)
    return _finish(arr, device, requires_grad)


def eye(n, m=None, *, out=None, dtype=None, layout=None, device=None, pin_memory=False,
        requires_grad=False):
    if out is not None:
        return write_out(out, eye(n, m, device=device, dtype=out_dtype(out, dtype, "eye")))
    check_factory_kwargs(layout, pin_memory)
    for name, v in (("n", n), ("m", m)):
        if v is not None and v < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {v}")
    return _finish(np.eye(n, n if m is None else m, dtype=_dt(dtype).np), device, requires_grad)


# the random factories use the helpers above, so they are imported back after them
from ._creation_random import rand, randn, randint, randperm, normal, bernoulli, \
    multinomial  # noqa: E402,F401


# the legacy constructors build on the factories above, so they are imported back last
from ._legacy_types import legacy_new, _LegacyType, _legacy, _tensor_cls, FloatTensor, \
    DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor, \
    BoolTensor  # noqa: E402,F401
