"""Smaller Tensor methods and aliases: in-place comparisons, index_fill, take, unfold, ...

The elementwise ones live in _tensor_misc_math and the indexing ones in _tensor_misc_index;
MiscMixin gathers them. Every ``x.op_(...)`` goes through the Tensor's ``_unary_``/``_shape_``
so it keeps fastnn's in-place rules (version counter, leaf check, views, graph recording).
"""
import numpy as np

from ._tensor_misc_math import MiscMathMixin, _tensor_arg
from ._tensor_misc_index import MiscIndexMixin
from ._tensor_misc_legacy import MiscLegacyMixin
from ._tensor_shape import _sizes, _keyword_sizes


def _inplace(method):
    def op_(self, *args, **kwargs):
        if kwargs.get("dtype") is not None:  # cumsum_(dim, dtype=...) cannot change self's dtype
            _check_inplace_dtype(self, kwargs["dtype"])
        if method == "addmm":
            _check_addmm_shape(self, *args, **kwargs)
        return self._unary_(method, *args, **kwargs)
    return op_


def _check_addmm_shape(self, mat1=None, mat2=None, **_):
    # addmm_ names both sizes when its product cannot be written into self; malformed
    # operands are left to addmm's own checks
    if getattr(mat1, "ndim", 0) != 2 or getattr(mat2, "ndim", 0) != 2:
        return
    out = [mat1.shape[0], mat2.shape[1]]
    if out != list(self.shape):
        raise RuntimeError(f"Bad in-place call: input tensor size {list(self.shape)} and output "
                           f"tensor size {out} should match")


def _check_inplace_dtype(self, dtype):
    from . import _dtype as D
    wanted = D.to_dtype(dtype).np
    if wanted != self._data.dtype:
        names = ["long int" if d == np.int64 else D.c_type_name(d)
                 for d in (self._data.dtype, wanted)]
        raise RuntimeError(f"Bad in-place call: input tensor dtype {names[0]} and output tensor "
                           f"dtype {names[1]} should match")


def _split_dim(self, fn, least, dim, spec):
    nd = self._data.ndim
    if nd < least:
        raise RuntimeError(f"torch.{fn} requires a tensor with at least {least} dimension, but got "
                           f"a tensor with {nd} dimensions!")
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        size = self._data.shape[dim]
        if spec == 0 or size % spec:
            raise RuntimeError(f"torch.{fn} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the split_size "
                               f"{spec}!")
    return self.tensor_split(spec, dim)


class MiscMixin(MiscMathMixin, MiscIndexMixin, MiscLegacyMixin):
    __slots__ = ()

    # ---- device and storage facts -----------------------------------------------------
    @property
    def is_cpu(self):
        return self.device.type == "cpu"

    def get_device(self):
        return -1 if self.device.type == "cpu" else (self.device.index or 0)

    # layouts and backends fastnn does not have: code that asks gets PyTorch's answer for a
    # dense tensor
    is_sparse = is_sparse_csr = is_quantized = is_meta = is_nested = is_mkldnn = False
    is_mps = is_xpu = is_xla = is_ipu = is_vulkan = is_maia = is_mtia = False

    @property
    def output_nr(self):
        """Which output of the op that made it this tensor is (0 for a leaf)."""
        fn = self.grad_fn
        if fn is None:
            return 0
        piece = self.__dict__.get("_multi_out")  # a piece of split/unbind, or of a Function
        return piece[1] if piece is not None else fn._output_nr

    def _is_view(self):
        return self._base is not None

    def to_dense(self, dtype=None, *, masked_grad=None):
        """Self (a dense tensor already), or a copy in ``dtype``."""
        return self if dtype is None else self.to(dtype)

    def dim_order(self):
        """Dimensions from outermost to innermost in memory (by decreasing stride)."""
        strides = self.stride()
        return tuple(sorted(range(self.dim()), key=lambda d: -strides[d]))

    def is_pinned(self, device=None):
        """Always False: fastnn has no page-locked host memory."""
        return False

    def pin_memory(self, device=None):
        """Self for a CPU tensor: fastnn has no page-locked memory to move it into.
        Without an accelerator it raises, as PyTorch does."""
        if self.device.type != "cpu":
            raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be "
                               "pinned")
        from . import cuda
        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return self

    def storage_offset(self):
        """Elements between the start of the storage this tensor views and its first element."""
        if type(self._data) is np.ndarray:
            from ._tensor_layout import storage_of
            return storage_of(self)[1]
        root = self._base if self._base is not None else self
        if root is self:
            return 0
        return (self.data_ptr() - root.data_ptr()) // self._data.itemsize

    @property
    def mH(self):
        if self._data.ndim < 2:
            raise RuntimeError("tensor.mH is only supported on matrices or batches of matrices. "
                               f"Got {self._data.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self):
        nd = self._data.ndim
        if nd == 0:
            return self
        if nd != 2:
            hint = (" For batches of matrices, consider using tensor.mH" if nd > 2 else "")
            raise RuntimeError("tensor.H is only supported on matrices (2-D tensors). Got "
                               f"{nd}-D tensor.{hint}")
        return self.transpose(0, 1)

    # ---- arithmetic aliases -----------------------------------------------------------
    def divide(self, other, *, rounding_mode=None):
        return self.div(other, rounding_mode=rounding_mode)

    def divide_(self, other, *, rounding_mode=None):
        if rounding_mode is None:
            return self.div_(other)
        return self._unary_("div", other, rounding_mode=rounding_mode)

    def multiply(self, other):
        return self.mul(other)

    def multiply_(self, other):
        return self.mul_(other)

    def subtract(self, other, *, alpha=1):
        return self.sub(other, alpha=alpha)

    def subtract_(self, other, *, alpha=1):
        return self.sub_(other, alpha=alpha)

    def true_divide_(self, other):
        return self.div_(other)

    def float_power_(self, exponent):
        if self._data.dtype != np.float64:
            from ._dtype import scalar_type_name
            raise RuntimeError("the base given to float_power_ has dtype "
                               f"{scalar_type_name(self._data.dtype)} but the operation's result "
                               "requires dtype Double")
        return self._unary_("float_power", exponent)

    def swapaxes_(self, axis0, axis1):
        return self._shape_("transpose", axis0, axis1)

    def swapdims_(self, dim0, dim1):
        return self._shape_("transpose", dim0, dim1)

    # ---- matrix products with an added term -------------------------------------------
    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        for name, b in (("batch1", batch1), ("batch2", batch2)):
            if b.dim() != 3:
                raise RuntimeError(f"{name} must be a 3D tensor")
        from .autograd.ops_math import relabel
        from ._functions_more import _beta_add
        return relabel(_beta_add(self, (batch1 @ batch2).sum(0), beta, alpha), "AddbmmBackward0")

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        for name, v in (("vec1", vec1), ("vec2", vec2)):
            if v.dim() != 1:
                raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.dim()}-D")
        from .autograd.ops_math import relabel
        from ._functions_more import _beta_add
        return relabel(_beta_add(self, vec1.outer(vec2), beta, alpha), "AddrBackward0")

    # ---- diagonals --------------------------------------------------------------------
    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        from .autograd.function import apply
        from .autograd import ops_misc as M
        nd = self._data.ndim + 1
        d1, d2 = self._dim(dim1, nd), self._dim(dim2, nd)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return apply(M.DiagEmbedBackward1, (self,), int(offset), d1, d2)

    def diagflat(self, offset=0):
        return self.reshape(-1).diag_embed(offset, 0, 1)

    # ---- splitting --------------------------------------------------------------------
    def hsplit(self, indices_or_sections):
        d = 1 if self._data.ndim >= 2 else 0
        return _split_dim(self, "hsplit", 1, d, indices_or_sections)

    def vsplit(self, indices_or_sections):
        return _split_dim(self, "vsplit", 2, 0, indices_or_sections)

    def dsplit(self, indices_or_sections):
        return _split_dim(self, "dsplit", 3, 2, indices_or_sections)

    def split_with_sizes(self, split_sizes, dim=0):
        d = self._dim(dim)
        sizes = [int(s) for s in split_sizes]
        if sum(sizes) != self._data.shape[d]:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                               f"{self._data.shape[d]} (input tensor's size at dimension {d}), "
                               f"but got split_sizes={sizes}")
        return self.split(sizes, d)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        from .tensor import _wrap
        a = self._host() if hasattr(self, "_host") else self._data
        if dim is None:
            rows = a.reshape(-1)
            first = np.ones(rows.shape[0], bool)
            first[1:] = rows[1:] != rows[:-1]
            out = rows[first]
            inv_shape = a.shape
        else:
            d = self._dim(dim)
            if 0 in a.shape[:d] + a.shape[d + 1:]:
                raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                                   "unique cannot be applied")
            moved = np.moveaxis(a, d, 0)
            flat = moved.reshape(moved.shape[0], int(np.prod(moved.shape[1:])))
            first = np.ones(flat.shape[0], bool)
            first[1:] = (flat[1:] != flat[:-1]).any(axis=1)
            out = np.moveaxis(moved[first], 0, d)
            inv_shape = (a.shape[d],)
        res = [_wrap(np.ascontiguousarray(out))]
        if return_inverse:
            res.append(_wrap((np.cumsum(first) - 1).astype(np.int64).reshape(inv_shape)))
        if return_counts:
            starts = np.flatnonzero(first)
            res.append(_wrap(np.diff(np.append(starts, first.shape[0])).astype(np.int64)))
        return res[0] if len(res) == 1 else tuple(res)

    def histogram(self, bins=100, *, range=None, weight=None, density=False):
        from ._functions_hist import histogram
        return histogram(self, bins, range=range, weight=weight, density=density)

    # ---- small queries and copies -----------------------------------------------------
    def is_same_size(self, other):
        _tensor_arg("is_same_size", "other", 1, other)
        return tuple(self.shape) == tuple(other.shape)

    def is_nonzero(self):
        n = self._data.size
        if n == 0:
            raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
        if n > 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def narrow_copy(self, dim, start, length):
        return self.narrow(dim, start, length).clone()

    def sum_to_size(self, *size, **kw):
        if kw or not size:  # PyTorch's keyword form: x.sum_to_size(size=(1, 4))
            size = _keyword_sizes("sum_to_size", "size", size, kw)
        size = tuple(_sizes(size))
        shape = tuple(self._data.shape)
        lead = len(shape) - len(size)
        if lead < 0 or any(s != 1 and s != t for s, t in zip(size, shape[lead:])):
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size "
                               f"{{{list(shape)}}}.")
        out = self
        if lead:
            out = out.sum(tuple(range(lead)))
        keep = tuple(i for i, (s, t) in enumerate(zip(size, shape[lead:])) if s == 1 and t != 1)
        if keep:
            out = out.sum(keep, keepdim=True)
        return out

    def new_empty_strided(self, size, stride, *, dtype=None, device=None, requires_grad=False,
                          layout=None, pin_memory=False):
        from .tensor import _wrap
        size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
        if len(size) != len(stride):
            raise RuntimeError("mismatch in length of strides and shape")
        base = self.new_empty((1,), dtype=dtype, device=device)
        npdt = base._data.dtype
        span = 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
        buf = np.empty(max(span, 1), npdt)
        arr = np.lib.stride_tricks.as_strided(buf, size, [s * npdt.itemsize for s in stride])
        out = _wrap(arr if type(base._data) is np.ndarray else base._data.__class__(arr))
        return out.requires_grad_(requires_grad)

    def apply_(self, callable):
        if type(self._data) is not np.ndarray:
            raise TypeError("apply_ is only implemented on CPU tensors")
        if self._rg:
            raise RuntimeError("Can't call apply_() on Variable that requires grad. Use "
                               "var.detach().apply_() instead.")
        self._check_inplace()
        with np.nditer(self._data, flags=["refs_ok"], op_flags=["readwrite"]) as it:
            for v in it:
                v[...] = callable(v.item())
        return self._bump()

    def hardshrink(self, lambd=0.5):
        from .nn._functional.activation_shrink import hardshrink
        return hardshrink(self, lambd)

    def prelu(self, weight):
        from .nn._functional.activation import prelu
        return prelu(self, weight)


# in-place forms: x.name_(...) = x.method(...) written back, with the usual rules
_INPLACE = {
    "eq_": "eq", "ne_": "ne", "lt_": "lt", "le_": "le", "gt_": "gt", "ge_": "ge",
    "greater_": "gt", "less_": "lt", "greater_equal_": "ge", "less_equal_": "le",
    "not_equal_": "ne", "logical_and_": "logical_and", "logical_or_": "logical_or",
    "logical_xor_": "logical_xor", "logical_not_": "logical_not",
    "bitwise_and_": "bitwise_and", "bitwise_or_": "bitwise_or", "bitwise_xor_": "bitwise_xor",
    "bitwise_not_": "bitwise_not", "absolute_": "abs", "negative_": "neg",
    "asin_": "asin", "acos_": "acos", "atan_": "atan", "sinh_": "sinh", "cosh_": "cosh",
    "tan_": "tan", "atan2_": "atan2", "arcsin_": "asin", "arccos_": "acos", "arctan_": "atan",
    "arctan2_": "atan2", "asinh_": "asinh", "acosh_": "acosh", "atanh_": "atanh",
    "arcsinh_": "asinh", "arccosh_": "acosh", "arctanh_": "atanh",
    "log2_": "log2", "log10_": "log10", "cumsum_": "cumsum", "cumprod_": "cumprod",
    "deg2rad_": "deg2rad", "rad2deg_": "rad2deg", "copysign_": "copysign", "logit_": "logit",
    "sinc_": "sinc", "renorm_": "renorm", "ldexp_": "ldexp", "fix_": "fix",
    "nextafter_": "nextafter", "sgn_": "sgn", "heaviside_": "heaviside",
    "lgamma_": "lgamma", "digamma_": "digamma", "polygamma_": "polygamma", "i0_": "i0",
    "mvlgamma_": "mvlgamma", "exp2_": "exp2", "gcd_": "gcd", "lcm_": "lcm",
    "addbmm_": "addbmm", "addr_": "addr", "addmm_": "addmm",
    "bitwise_left_shift_": "bitwise_left_shift", "bitwise_right_shift_": "bitwise_right_shift",
    "__ilshift__": "__lshift__", "__irshift__": "__rshift__",
}
for _name, _method in _INPLACE.items():
    _f = _inplace(_method)
    _f.__name__ = _name
    _f.__doc__ = f"In-place ``x.{_method}(...)``."
    setattr(MiscMixin, _name, _f)
del _name, _method, _f
