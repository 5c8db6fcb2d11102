"""Tensor's array interop (a mixin of Tensor): numpy(), __array__, DLPack, the array API's
namespace and to_device, and item()/tolist()/_host() for the values on the host."""
import numpy as np

_ndarray = np.ndarray


class InteropMixin:
    __slots__ = ()

    def numpy(self, *, force=False):
        if self._rg and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if type(self._data) is not _ndarray:
            from .nn.parameter import _Unmaterialized, _unmaterialized_error
            if isinstance(self._data, _Unmaterialized):  # a lazy module's tensor: no data yet
                raise _unmaterialized_error("numpy")
            if force:
                return self._data.copy_to_host()
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self.numpy()  # PyTorch's errors for a tensor that requires grad or is on a GPU
        if dtype is not None and arr.dtype != dtype:
            if copy is False:
                raise ValueError("Unable to avoid copy while creating an array as requested: "
                                 f"the tensor is {arr.dtype}, not {np.dtype(dtype)}")
            return arr.astype(dtype)
        return arr.copy() if copy else arr

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        from ._dlpack import tensor_dlpack
        return tensor_dlpack(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self):
        from ._dlpack import tensor_dlpack_device
        return tensor_dlpack_device(self)

    def __array_namespace__(self, *, api_version=None):
        from . import array_api
        return array_api.namespace(api_version)

    def to_device(self, device, /, *, stream=None):
        return self.to(device)

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               "Scalar")
        return self._host().reshape(-1)[0].item()

    def tolist(self):
        return self._host().tolist()

    def _host(self):
        d = self._data
        return d if type(d) is _ndarray else d.copy_to_host()
