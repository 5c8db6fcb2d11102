"""CudaArray: the ``_data`` of a CUDA tensor, a strided view of a flat device buffer.

It speaks enough of numpy's ndarray interface (attributes, methods, operators, and the NEP 13
and NEP 18 protocols through ``_dispatch``) that fastnn's autograd ops, written against numpy,
run unchanged on the GPU: ``np.add(a, b)`` on CudaArrays launches a kernel and returns a
CudaArray. Views (slices, transposes, broadcasts, reshapes of contiguous data) share the
buffer and cost no kernel.
"""
import numpy as np

from . import _backend as B
from . import kernels_elementwise as E
from ._layout import contiguous_strides, collapse, axis_index as _axis, fill_shape, \
    nocopy_strides


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "writeable", "owndata")

    def __init__(self, c, f, w, own):
        self.c_contiguous, self.f_contiguous, self.writeable, self.owndata = c, f, w, own

    @property
    def contiguous(self):
        return self.c_contiguous

    def __getitem__(self, key):
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "C": "c_contiguous",
                              "F_CONTIGUOUS": "f_contiguous", "F": "f_contiguous",
                              "WRITEABLE": "writeable", "OWNDATA": "owndata"}[key.upper()])


class CudaArray:
    """A view (offset, shape, element strides) of a Storage's flat device buffer."""
    __slots__ = ("st", "off", "shape", "est", "dtype", "_base", "__weakref__")
    __array_priority__ = 2000

    def __init__(self, st, off, shape, est, dtype, base=None):
        self.st = st
        self.off = off
        self.shape = shape
        self.est = contiguous_strides(shape) if est is None else est
        self.dtype = dtype
        self._base = base

    # ---- attributes -----------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.dtype.itemsize

    @property
    def strides(self):
        return tuple(s * self.dtype.itemsize for s in self.est)

    @property
    def device_spec(self):
        return B.DEVICE

    device = device_spec

    @property
    def base(self):
        return self._base

    def is_c_contiguous(self):
        st = 1
        for s, e in zip(reversed(self.shape), reversed(self.est)):
            if s != 1 and e != st:
                return False
            st *= s
        return True

    @property
    def flags(self):
        c = self.is_c_contiguous()
        f = self.ndim <= 1 and c or self.T.is_c_contiguous()
        writeable = all(e != 0 or s <= 1 for s, e in zip(self.shape, self.est))
        return _Flags(c, f, writeable, self._base is None)

    @property
    def T(self):
        return self.transpose()

    @property
    def mT(self):
        return self.swapaxes(-1, -2)

    def data_ptr(self):
        return self.__cuda_array_interface__["data"][0]

    @property
    def __cuda_array_interface__(self):
        dev = self.st.dev
        ptr = dev.__cuda_array_interface__["data"][0] if not B.SIMULATOR else id(dev)
        return {"shape": self.shape, "strides": None if self.is_c_contiguous() else self.strides,
                "typestr": self.dtype.str, "data": (ptr + self.off * self.itemsize, False),
                "version": 3}

    def __dlpack__(self, stream=None, **kwargs):
        raise BufferError("fastnn's CUDA arrays are shared through __cuda_array_interface__ "
                          "(CuPy, numba, PyTorch's torch.as_tensor), not DLPack; or use .cpu()")

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __repr__(self):
        return f"CudaArray({self.copy_to_host()!r}, device='{B.DEVICE}')"

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to "
                        "copy the tensor to host memory first.")

    def __bool__(self):
        if self.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        return int(self.item())

    # ---- host transfers -------------------------------------------------------------
    def copy_to_host(self):
        src = self if self.is_c_contiguous() else self.copy()
        n = src.size
        if n == 0:
            return np.empty(self.shape, self.dtype)
        host = src.st.dev[src.off:src.off + n].copy_to_host()
        B.check_errors()
        return host.reshape(self.shape)

    def item(self, *args):
        return self.copy_to_host().item(*args)

    def tolist(self):
        return self.copy_to_host().tolist()

    def copy_from_host(self, arr):
        """Write host values (broadcast, cast) into this view."""
        host = np.ascontiguousarray(np.broadcast_to(np.asarray(arr), self.shape), self.dtype)
        n = self.size
        if n == 0:
            return self
        if self.is_c_contiguous():
            self.st.dev[self.off:self.off + n].copy_to_device(host.reshape(-1))
        else:
            tmp = from_host(host)
            assign(self, tmp)
        return self

    # ---- copies and casts -----------------------------------------------------------
    def copy(self, order="C"):
        out = empty(self.shape, self.dtype)
        assign(out, self)
        return out

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        dtype = np.dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        out = empty(self.shape, dtype)
        assign(out, self)
        return out

    def fill(self, value):
        n = self.size
        if n:
            shape, (st,) = collapse(self.shape, self.est)
            E.fill(n, shape, (self.st.dev, self.off, st), self.dtype.type(value))

    def view(self, dtype=None):
        if dtype is None or np.dtype(dtype) == self.dtype:
            return CudaArray(self.st, self.off, self.shape, self.est, self.dtype, self._root())
        dtype = np.dtype(dtype)
        if dtype.itemsize != self.dtype.itemsize or not self.is_c_contiguous():
            raise ValueError("fastnn's CUDA arrays reinterpret only contiguous data between "
                             "dtypes of one size")
        flat = self.st.dev[self.off:self.off + self.size].view(dtype)
        return CudaArray(B.Storage(flat, None), 0, self.shape, None, dtype, self._root())

    def _root(self):
        return self if self._base is None else self._base

    # ---- views ----------------------------------------------------------------------
    def reshape(self, *shape, order="C", copy=None):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        shape = fill_shape(tuple(int(s) for s in shape), self.size)
        est = nocopy_strides(self.shape, self.est, shape)
        if est is None:
            if copy is False:
                raise ValueError("cannot reshape this non-contiguous CUDA array without copying")
            src = self.copy()
            return CudaArray(src.st, 0, shape, None, self.dtype)
        return CudaArray(self.st, self.off, shape, est, self.dtype, self._root())

    def ravel(self):
        return self.reshape(-1)

    def flatten(self):
        return self.copy().reshape(-1)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(self.ndim)))
        axes = tuple(_axis(a, self.ndim) for a in axes)
        return CudaArray(self.st, self.off, tuple(self.shape[a] for a in axes),
                         tuple(self.est[a] for a in axes), self.dtype, self._root())

    def swapaxes(self, a, b):
        perm = list(range(self.ndim))
        a, b = _axis(a, self.ndim), _axis(b, self.ndim)
        perm[a], perm[b] = perm[b], perm[a]
        return self.transpose(perm)

    def squeeze(self, axis=None):
        if axis is None:
            axes = {i for i, s in enumerate(self.shape) if s == 1}
        else:
            axes = {_axis(a, self.ndim) for a in (axis if isinstance(axis, (tuple, list))
                                                  else (axis,))}
            for a in axes:
                if self.shape[a] != 1:
                    raise ValueError("cannot select an axis to squeeze out which has size not "
                                     "equal to one")
        keep = [i for i in range(self.ndim) if i not in axes]
        return CudaArray(self.st, self.off, tuple(self.shape[i] for i in keep),
                         tuple(self.est[i] for i in keep), self.dtype, self._root())

    def broadcast_to(self, shape):
        shape = tuple(int(s) for s in shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError("input operand has more dimensions than allowed by the axis "
                             "remapping")
        est = [0] * lead
        for i, (s, e) in enumerate(zip(self.shape, self.est)):
            t = shape[lead + i]
            if s == t:
                est.append(e)
            elif s == 1:
                est.append(0)
            else:
                raise ValueError(f"operands could not be broadcast together with remapped "
                                 f"shapes [original->remapped]: {self.shape} and "
                                 f"requested shape {shape}")
        return CudaArray(self.st, self.off, shape, tuple(est), self.dtype, self._root())

    # ---- indexing -------------------------------------------------------------------
    def __getitem__(self, idx):
        from ._index import getitem
        return getitem(self, idx)

    def __setitem__(self, idx, value):
        from ._index import setitem
        setitem(self, idx, value)

    # ---- reductions -----------------------------------------------------------------
    def sum(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce("sum", self, axis, keepdims, dtype, out)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce("mean", self, axis, keepdims, dtype, out)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce("prod", self, axis, keepdims, dtype, out)

    def max(self, axis=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce("max", self, axis, keepdims, None, out)

    def min(self, axis=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce("min", self, axis, keepdims, None, out)

    def all(self, axis=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce("all", self, axis, keepdims, None, out)

    def any(self, axis=None, out=None, keepdims=False, **kw):
        from ._reduce import reduce
        return reduce("any", self, axis, keepdims, None, out)

    def argmax(self, axis=None, out=None, keepdims=False):
        from ._reduce import arg_extreme
        return arg_extreme(self, axis, keepdims, True)

    def argmin(self, axis=None, out=None, keepdims=False):
        from ._reduce import arg_extreme
        return arg_extreme(self, axis, keepdims, False)

    def erf(self):
        """The error function (numpy has no ufunc for it; fastnn's GELU calls this)."""
        from ._dispatch import unary
        return unary("erf", self)

    # ---- fused row ops (called by fastnn's softmax nodes) ---------------------------
    def softmax(self, axis):
        from ._nn import softmax_array
        return softmax_array(self, axis)

    def log_softmax(self, axis):
        from ._nn import softmax_array
        return softmax_array(self, axis, log=True)

    def softmax_backward(self, y, axis, log=False):
        """The gradient through softmax (or log-softmax) output y; self is the incoming one."""
        from ._nn import softmax_backward_array
        return softmax_backward_array(self, y, axis, log)

    def relu_backward(self, y):
        """The gradient through relu output y (self is the incoming one), in one launch."""
        from ._dispatch import binary
        return binary("threshold_grad", self, y)

    # ---- numpy protocols ------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from ._dispatch import array_ufunc
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from ._dispatch import array_function
        return array_function(func, types, args, kwargs)


def _op(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


def _iop(ufunc):
    def f(self, other):
        ufunc(self, other, out=self, casting="same_kind")
        return self
    return f


for _name, _uf in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide), ("floordiv", np.floor_divide),
                   ("mod", np.remainder), ("pow", np.power), ("matmul", np.matmul),
                   ("and", np.bitwise_and), ("or", np.bitwise_or), ("xor", np.bitwise_xor)):
    setattr(CudaArray, f"__{_name}__", _op(_uf))
    setattr(CudaArray, f"__r{_name}__", _op(_uf, True))
    setattr(CudaArray, f"__i{_name}__", _iop(_uf))
for _name, _uf in (("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                   ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)):
    setattr(CudaArray, f"__{_name}__", _op(_uf))
CudaArray.__neg__ = lambda self: np.negative(self)
CudaArray.__pos__ = lambda self: self
CudaArray.__abs__ = lambda self: np.absolute(self)
CudaArray.__invert__ = lambda self: np.invert(self)
CudaArray.__hash__ = object.__hash__


# ---- construction and copying ------------------------------------------------------------
def empty(shape, dtype):
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    n = 1
    for s in shape:
        n *= s
    return CudaArray(B.alloc(n, dtype), 0, shape, None, dtype)


def full(shape, value, dtype):
    out = empty(shape, dtype)
    out.fill(value)
    return out


def from_host(arr):
    arr = np.ascontiguousarray(arr)
    out = empty(arr.shape, arr.dtype)
    if arr.size:
        out.st.dev[:arr.size].copy_to_device(arr.reshape(-1))
    return out


def arange(n, dtype=np.int64, start=0, step=1):
    out = empty((n,), dtype)
    if n:
        E.arange(n, out.st.dev, out.dtype.type(start), out.dtype.type(step))
    return out


def assign(dst, src):
    """dst[...] = src (src a CudaArray broadcastable to dst, cast to dst's dtype)."""
    n = dst.size
    if n == 0:
        return
    if src.shape != dst.shape:
        src = src.broadcast_to(dst.shape)
    shape, (so, sa) = collapse(dst.shape, dst.est, src.est)
    E.unary("copy", n, shape, (dst.st.dev, dst.off, so), (src.st.dev, src.off, sa))
