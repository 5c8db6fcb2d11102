"""dtypes, devices and PyTorch's type-promotion rules."""
import operator

import numpy as np

__all__ = ["dtype", "float32", "float64", "float16", "int64", "int32", "int16", "int8",
           "uint8", "bool_", "device", "Size", "promote", "to_dtype", "get_default_dtype",
           "set_default_dtype"]

# category rank: bool < integer < floating, as in PyTorch's promotion lattice
_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type; wraps a numpy dtype and prints like PyTorch's."""
    __module__ = "fastnn"  # its public home, where pickle looks it up
    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point", "is_signed",
                 "is_complex")

    def __init__(self, name, np_type, category):
        self.name = name
        self.np = np.dtype(np_type)
        self.category = category
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == _FLOAT
        self.is_signed = self.np.kind in "fi"
        self.is_complex = False

    def __repr__(self):
        return "fastnn." + self.name

    def __reduce__(self):
        return (to_dtype, (self.name,))

    def to_real(self):
        return self

    @property
    def _legacy_name(self):
        return _LEGACY[self.name]


float32 = dtype("float32", np.float32, _FLOAT)
float64 = dtype("float64", np.float64, _FLOAT)
float16 = dtype("float16", np.float16, _FLOAT)
int64 = dtype("int64", np.int64, _INT)
int32 = dtype("int32", np.int32, _INT)
int16 = dtype("int16", np.int16, _INT)
int8 = dtype("int8", np.int8, _INT)
uint8 = dtype("uint8", np.uint8, _INT)
bool_ = dtype("bool", np.bool_, _BOOL)
# the wider unsigned types hold numpy data (uint16 token files, say) and convert to and from
# other dtypes; as in PyTorch they do not promote with other integer or bool types
uint16 = dtype("uint16", np.uint16, _INT)
uint32 = dtype("uint32", np.uint32, _INT)
uint64 = dtype("uint64", np.uint64, _INT)
_WIDE_UNSIGNED = (uint16, uint32, uint64)

_ALL = (float32, float64, float16, int64, int32, int16, int8, uint8, bool_) + _WIDE_UNSIGNED
_FROM_NP = {d.np: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64,
                 "int": int32, "short": int16})
_LEGACY = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
           "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
           "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
           "uint16": "UInt16Tensor", "uint32": "UInt32Tensor", "uint64": "UInt64Tensor"}

_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long",
            "int32": "int", "int16": "short", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "uint16": "uint16_t", "uint32": "uint32_t", "uint64": "uint64_t"}


def scalar_type_name(npd):
    """PyTorch's ScalarType name used in its messages: float32 -> 'Float'."""
    name = str(np.dtype(npd))
    return _LEGACY[name][:-len("Tensor")] if name in _LEGACY else name


def c_type_name(npd):
    """The C type PyTorch's kernels name in their messages: float64 -> 'double'."""
    name = str(np.dtype(npd))
    return _C_NAMES.get(name, name)


def legacy_type_name(npd):
    """PyTorch's legacy tensor type: float32 -> 'torch.FloatTensor'."""
    name = str(np.dtype(npd))
    return "torch." + _LEGACY[name] if name in _LEGACY else name


_default = [float32]


def get_default_dtype():
    return _default[0]


def set_default_dtype(d):
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def to_dtype(d):
    """Accept a fastnn dtype, a numpy dtype/type, a Python type or a name."""
    if type(d) is dtype:
        return d
    if d is float:  # PyTorch maps Python's float to float64, whatever the default dtype
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        r = _BY_NAME.get(d.replace("fastnn.", "").replace("torch.", ""))
        if r is not None:
            return r
    else:
        try:
            r = _FROM_NP.get(np.dtype(d))
        except TypeError:
            r = None
        if r is not None:
            return r
    raise TypeError(f"unsupported dtype: {d!r}")


def from_numpy_dtype(npd):
    r = _FROM_NP.get(npd)
    if r is None:
        if not npd.isnative:
            raise ValueError("given numpy array has byte order different from the native byte "
                             "order. Conversion between byte orders is currently not supported.")
        raise TypeError(
            f"can't convert np.ndarray of type {npd}. The only supported types are: "
            "float64, float32, float16, int64, int32, int16, int8, uint64, uint32, uint16, "
            "uint8, and bool.")
    return r


def promote_types(a, b):
    """Result dtype of two tensors of equal priority (PyTorch's lattice, not numpy's)."""
    if a is b:
        return a
    if (a in _WIDE_UNSIGNED or b in _WIDE_UNSIGNED) and \
            not (a.is_floating_point or b.is_floating_point):
        raise RuntimeError("Promotion for uint16, uint32, uint64 types is not supported, "
                           f"attempted to promote {scalar_type_name(a.np)} and "
                           f"{scalar_type_name(b.np)}")
    if a.category != b.category:
        return a if a.category > b.category else b
    return _FROM_NP[np.promote_types(a.np, b.np)]


def scalar_category(x):
    if isinstance(x, (bool, np.bool_)):
        return _BOOL
    if isinstance(x, (int, np.integer)):
        return _INT
    return _FLOAT


def promote_scalar(d, x):
    """dtype of `tensor(d) op python_scalar`: the scalar only lifts the category."""
    cat = scalar_category(x)
    if cat <= d.category:
        return d
    return get_default_dtype() if cat == _FLOAT else int64


def promote(a_dtype, a_ndim, b_dtype, b_ndim):
    """Tensor-tensor promotion where a 0-dim tensor acts like a scalar of its category."""
    if a_dtype is b_dtype:
        return a_dtype
    if (a_ndim == 0) == (b_ndim == 0):
        return promote_types(a_dtype, b_dtype)
    dim_d, zero_d = (a_dtype, b_dtype) if b_ndim == 0 else (b_dtype, a_dtype)
    if zero_d.category > dim_d.category:
        return zero_d
    return dim_d


class device:
    """A device spec: ``device('cpu')``, ``device('cuda:0')``, ``device('cuda', 0)``."""
    __module__ = "fastnn"  # its public home, where pickle looks it up
    __slots__ = ("type", "index")

    def __init__(self, spec, index=None):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            if isinstance(spec, int):
                if spec < 0:
                    raise RuntimeError("Device index must not be negative")
                self.type, self.index = "cuda", spec
                return
            raise TypeError(f"device() received an invalid combination of arguments - got ({type(spec).__name__})")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {spec}")
        if idx:
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{spec}'")
            if index is not None:
                raise RuntimeError(f"Invalid device string: '{spec}' with index {index}")
            index = int(idx)
        if index is not None:
            index = operator.index(index)
            if index < 0:
                raise RuntimeError("Device index must not be negative")
        self.type, self.index = kind, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (str(self),))

    # ``with fastnn.device("cuda"):`` makes it the default device until the block ends
    def __enter__(self):
        from ._creation import _enter_default_device
        _enter_default_device(self)
        return self

    def __exit__(self, *exc):
        from ._creation import _exit_default_device
        _exit_default_device()
        return False


CPU = device("cpu")


class layout:
    """How a tensor's elements are stored: fastnn tensors are all ``fastnn.strided``."""
    __module__ = "fastnn"  # its public home, where pickle looks it up
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "fastnn." + self.name

    def __reduce__(self):
        return (_layout_named, (self.name,))


strided = layout("strided")
sparse_coo = layout("sparse_coo")  # named only: fastnn has no sparse tensors
_LAYOUTS = {"strided": strided, "sparse_coo": sparse_coo}


def _layout_named(name):
    return _LAYOUTS[name]


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``fastnn.Size([2, 3])``."""
    __module__ = "fastnn"  # its public home, where pickle looks it up
    __slots__ = ()

    def __repr__(self):
        return f"fastnn.Size([{', '.join(str(int(s)) for s in self)}])"

    def numel(self):
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r

    # joining or repeating shapes gives a shape, as in PyTorch
    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        r = tuple.__mul__(self, n)
        return r if r is NotImplemented else Size(r)

    __rmul__ = __mul__


class finfo:
    """Machine limits of a floating dtype: ``fastnn.finfo(fastnn.float32).eps``."""

    def __init__(self, type=None):
        d = get_default_dtype() if type is None else to_dtype(type)
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use "
                            "torch.iinfo to handle 'torch.finfo'")
        fi = np.finfo(d.np)
        self.bits = int(fi.bits)
        self.eps = float(fi.eps)
        self.max = float(fi.max)
        self.min = float(fi.min)
        self.tiny = self.smallest_normal = float(fi.smallest_normal)
        self.resolution = 10.0 ** -int(fi.precision)
        self.dtype = d.name

    def __eq__(self, other):
        return isinstance(other, finfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("finfo", self.dtype))

    def __repr__(self):
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype: ``fastnn.iinfo(fastnn.int32).max``."""

    def __init__(self, type):
        d = to_dtype(type)
        if d is bool_:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.category != _INT:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo "
                            "to handle 'torch.iinfo'")
        ii = np.iinfo(d.np)
        self.bits = int(ii.bits)
        self.max = int(ii.max)
        self.min = int(ii.min)
        self.dtype = d.name

    def __eq__(self, other):
        return isinstance(other, iinfo) and other.dtype == self.dtype

    def __hash__(self):
        return hash(("iinfo", self.dtype))

    def __repr__(self):
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
