"""``out=`` for the tensor factories (zeros, full, arange, rand, ...).

A factory called with ``out=`` builds its result in ``out``'s dtype (unless ``dtype=`` names
the same one) and then writes it into ``out``, resizing ``out`` when the shape differs, and
returns ``out`` itself. Only arange and range warn on a resize, as in PyTorch."""
import warnings

import numpy as np

from . import _dtype as D


def out_dtype(out, dtype, fn):
    """The dtype ``fn`` builds its result in when it writes into ``out`` (after checking
    ``out`` and ``dtype`` as PyTorch does)."""
    from .tensor import Tensor
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if dtype is not None:
        dt = D.to_dtype(dtype)
        if dt != out.dtype:
            raise RuntimeError(f"dtype {D.scalar_type_name(dt.np)} does not match dtype of out "
                               f"parameter ({D.scalar_type_name(out._data.dtype)})")
    if out.requires_grad:
        check_out_grad(out, f"aten::{fn}")
    return out.dtype


def out_grad_error(fn):
    return RuntimeError(f"{fn}(): functions with out=... arguments don't support automatic "
                        "differentiation, but one of the arguments requires grad.")


def check_out_grad(out, fn):
    """PyTorch refuses, in grad mode, to write into an ``out`` that requires grad (its graph
    would describe the old values); under no_grad it is allowed."""
    from .autograd.grad_mode import is_grad_enabled
    if out.requires_grad and is_grad_enabled():
        raise out_grad_error(fn)


def resize_out(out, result):
    """``result`` written into ``out`` re-viewed with its shape as ``resize_`` does: in out's
    own storage when that is large enough (its views and base then see the result), else in
    a new, larger one."""
    if out._rg or type(out._data) is not np.ndarray:
        # resize_ refuses these (an out requiring grad is only reached under no_grad, where
        # PyTorch resizes it too): out takes fresh memory
        out._data = result.to(out.dtype)._data.copy()
        out._vc[0] += 1
    else:
        out.resize_(tuple(result.shape))
        out.copy_(result)


def write_out(out, result, range_warning=False):
    """``result`` written into ``out`` (resized to ``result``'s shape when it differs)."""
    from .autograd.grad_mode import no_grad
    shape = tuple(result.shape)
    with no_grad():
        if tuple(out.shape) == shape:
            out.copy_(result)
            return out
        if range_warning and out.numel():
            warnings.warn(f"The number of elements in the out tensor of shape "
                          f"{list(out.shape)} is {out.numel()} which does not match the "
                          f"computed number of elements {result.numel()}. Note that this may "
                          "occur as a result of rounding error. The out tensor will be resized "
                          f"to a tensor of shape {shape}.",
                          UserWarning, stacklevel=3)
        resize_out(out, result)
    return out


def check_factory_kwargs(layout, pin_memory):
    """``layout=`` and ``pin_memory=`` of a factory: fastnn builds only strided tensors, and
    pinned memory needs an accelerator, as in PyTorch."""
    if layout is not None and layout is not D.strided:
        if not isinstance(layout, D.layout):
            raise TypeError(f"argument 'layout' must be torch.layout, not "
                            f"{type(layout).__name__}")
        raise NotImplementedError(f"fastnn builds only strided tensors; layout {layout} is "
                                  "not supported")
    if pin_memory:
        from . import cuda
        if not cuda.is_available():
            raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; "
                               "no pinned memory allocator is available on this system.")
