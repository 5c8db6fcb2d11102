"""Module.to / float / double / half / cpu / cuda: parameters and buffers change in place.

Each Parameter object stays the same (optimizers holding it keep working); only its array
is replaced, and only when the dtype or device actually changes.
"""
from ... import _dtype as D
from ...autograd import grad_mode


def require_cuda():
    """Raise a clear RuntimeError unless a CUDA device can be used."""
    install = ("CUDA support is not installed in this fastnn: install it with "
               "`pip install fastnn[cuda]` (needs an NVIDIA GPU and driver), or keep the model "
               "on the CPU")
    try:
        from ... import cuda
        ok = cuda.is_available()
        runtime = getattr(cuda, "_numba_cuda", None)
    except (ImportError, AttributeError):
        raise RuntimeError(install) from None
    if not ok:
        if runtime is not None and runtime() is None:
            raise RuntimeError(install)
        raise RuntimeError("CUDA is not available: fastnn.cuda.is_available() is False (no "
                           "NVIDIA GPU or driver was found). Keep the model on the CPU, e.g. "
                           "device = 'cuda' if fastnn.cuda.is_available() else 'cpu'")


def _swap(t, new):
    if new is not t and new._data is not t._data:
        t._data = new._data
        t._vc[0] += 1


class ConvertMixin:

    def _apply(self, fn, recurse=True):
        """Apply ``fn`` (tensor -> tensor) to every parameter, gradient and buffer, in place."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        with grad_mode.no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                _swap(p, fn(p))
                if p._grad is not None:
                    _swap(p._grad, fn(p._grad))
            for b in self._buffers.values():
                if b is not None:
                    _swap(b, fn(b))
        return self

    def to(self, *args, **kwargs):
        from ..._tensor_convert import _parse_to
        kwargs = dict(kwargs)
        fmt = kwargs.pop("memory_format", None)
        if "tensor" in kwargs:  # to(tensor=t): t's dtype and device, as to(t)
            args = args + (kwargs.pop("tensor"),)
        # a copy flag, keyword or second positional bool, is refused even when False
        if "copy" in kwargs or sum(isinstance(a, bool) for a in args) > 1:
            raise RuntimeError(".to() does not accept copy argument")
        dtype, device, _ = _parse_to(args, kwargs)
        if kwargs:
            raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if dtype is not None:
            dtype = D.to_dtype(dtype)
            if not (dtype.is_floating_point or dtype.is_complex):
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but "
                                f"got desired dtype={dtype}")
        if device is not None and device.type == "cuda":
            require_cuda()

        def convert(t):
            # like PyTorch, a memory format applies to the 4-D and 5-D tensors only
            extra = {"memory_format": fmt} if fmt is not None and t.dim() in (4, 5) else {}
            if t.is_floating_point():
                return t.to(device=device, dtype=dtype, **extra)
            return t.to(device=device, **extra) if device is not None or extra else t
        return self._apply(convert)

    def to_empty(self, *, device, recurse=True):
        """Replace every parameter and buffer by an uninitialised tensor of the same shape and
        dtype on ``device`` (each Parameter object, and its requires_grad, is kept)."""
        from ... import _creation
        if device is not None:
            dev = device if isinstance(device, D.device) else D.device(device)
            if dev.type == "cuda":
                require_cuda()
        return self._apply(lambda t: _creation.empty_like(t, device=device), recurse=recurse)

    def _cast_floats(self, dtype):
        return self._apply(lambda t: t.to(dtype) if t.is_floating_point() else t)

    def float(self):
        return self._cast_floats(D.float32)

    def double(self):
        return self._cast_floats(D.float64)

    def half(self):
        return self._cast_floats(D.float16)

    def type(self, dst_type):
        return self._apply(lambda t: t.type(dst_type))

    def cpu(self):
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None):
        require_cuda()
        return self._apply(lambda t: t.cuda(device))
