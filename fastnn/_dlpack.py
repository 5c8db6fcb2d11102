"""DLPack exchange: zero-copy with numpy and any other DLPack producer on the CPU."""
import numpy as np

_KDL_CPU, _KDL_CUDA = 1, 2


class DLPackExportError(BufferError, RuntimeError):
    """Export refused. PyTorch 2.13 raises BufferError here (the DLPack protocol's error) and
    older releases RuntimeError; being both, it satisfies handlers written for either."""


def from_dlpack(ext):
    """Wrap another library's array (numpy, PyTorch CPU, ...) without copying."""
    from .tensor import Tensor, _wrap
    if isinstance(ext, Tensor):
        return ext
    if hasattr(ext, "__cuda_array_interface__") and not hasattr(ext, "__dlpack__"):
        from .cuda import _backend
        return _wrap(_backend.from_cuda_array(ext))
    dev = ext.__dlpack_device__()[0] if hasattr(ext, "__dlpack_device__") else _KDL_CPU
    if dev != _KDL_CPU:
        from .cuda import _backend
        return _wrap(_backend.from_dlpack(ext))
    arr = np.from_dlpack(ext)
    from ._dtype import from_numpy_dtype
    from_numpy_dtype(arr.dtype)  # TypeError naming fastnn's dtypes for complex, uint16, ...
    return _wrap(arr)


def tensor_dlpack(t, stream=None, max_version=None, dl_device=None, copy=None):
    if t._rg:
        raise DLPackExportError("Can't export tensors that require gradient, use "
                                "tensor.detach()")
    arr = t._data
    if type(arr) is not np.ndarray:
        return arr.__dlpack__(stream=stream)
    kwargs = {}
    if max_version is not None:
        kwargs["max_version"] = max_version
    if copy is not None:
        kwargs["copy"] = copy
    if dl_device is not None:
        kwargs["dl_device"] = dl_device
    if not arr.flags.writeable:
        arr = arr.copy() if copy is not False else arr
    return arr.__dlpack__(**kwargs) if kwargs else arr.__dlpack__()


def tensor_dlpack_device(t):
    if type(t._data) is np.ndarray:
        return (_KDL_CPU, 0)
    return (_KDL_CUDA, t.device.index or 0)
