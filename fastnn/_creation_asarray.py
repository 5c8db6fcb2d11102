"""``fastnn.asarray``: a tensor sharing ``obj``'s memory where it can, copying where asked.

A tensor ``obj`` keeps its autograd meaning: without ``requires_grad=`` the result is
``obj`` itself (or its differentiable copy/conversion), ``requires_grad=False`` detaches it.
``copy=False`` refuses whatever would need a copy (a dtype conversion, a Python sequence)."""
import warnings

import numpy as np

from . import _dtype as D

_UNSPECIFIED_REQUIRES_GRAD = (
    "fastnn.asarray: unspecified requires_grad now defaults to obj.requires_grad instead of "
    "False. Pass requires_grad=False explicitly to get the old behavior and silence this "
    "warning.")
_warned = []  # given once per program


def _cant_alias(src, dst):
    return ValueError(f"can't alias tensor with dtype '{D.scalar_type_name(src)}' into dtype "
                      f"'{D.scalar_type_name(dst)}'.")


def _from_tensor(obj, dtype, device, copy, requires_grad):
    dt = D.to_dtype(dtype) if dtype is not None else obj.dtype
    dev = None if device is None else (device if isinstance(device, D.device)
                                       else D.device(device))
    if dt != obj.dtype or (dev is not None and dev != obj.device):
        if copy is False:
            raise _cant_alias(obj._data.dtype, dt.np)
        t = obj.to(dtype=dt, device=dev)
    else:
        t = obj.clone() if copy else obj
    if requires_grad is None:
        if obj.requires_grad and not _warned:
            _warned.append(True)
            warnings.warn(_UNSPECIFIED_REQUIRES_GRAD, UserWarning, stacklevel=3)
        return t
    if not requires_grad:
        return t.detach() if t.requires_grad else t
    if not t.requires_grad:
        t.requires_grad_(True, _what="Only Tensors of floating point and complex dtype")
    return t


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    from .tensor import Tensor
    from ._creation import tensor, as_tensor
    if isinstance(obj, Tensor):
        return _from_tensor(obj, dtype, device, copy, requires_grad)
    if copy is False:
        if isinstance(obj, np.ndarray):
            if dtype is not None and D.to_dtype(dtype).np != obj.dtype:
                raise _cant_alias(obj.dtype, D.to_dtype(dtype).np)
        elif not hasattr(obj, "__dlpack__") and not hasattr(obj, "__array_interface__"):
            raise ValueError("can't alias arbitrary sequence into a tensor.")
    if copy:
        t = tensor(obj, dtype=dtype, device=device)
    elif hasattr(obj, "__dlpack__") and not isinstance(obj, np.ndarray):
        from ._dlpack import from_dlpack
        t = from_dlpack(obj)
        if dtype is not None or device is not None:
            t = t.to(dtype=dtype, device=device)
    else:
        t = as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        t.requires_grad_(True, _what="Only Tensors of floating point and complex dtype")
    return t
