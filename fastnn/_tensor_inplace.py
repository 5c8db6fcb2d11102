"""In-place ops (trailing underscore) and ``__setitem__`` as Tensor methods."""
import numpy as np

from . import _dtype as D
from ._fp_quiet import quiet, restore
from .autograd import grad_mode
from .autograd.function import apply
from .autograd.node import keep_saved
from .autograd import ops_shape as S
from ._tensor_math import operands, _bool_sub_error
from ._tensor_index_keys import _index_arrays, _split_int_indices, check_empty_masks, \
    _check_index_types, drop_empty_ellipsis
from ._tensor_layout import writable_alias
from ._tensor_lerp import check_lerp, lerp_value
from ._tensor_convert import _move_array
from ._dtype import scalar_type_name as _title
from ._tensor_random import check_std, check_p, random_range
from ._tensor_argcheck import index_message
from ._scalar_fill import check_float_fits, checked_scalar, is_number
from ._inplace_dtypes import (BITWISE_METHODS, castable as _castable, inplace_operand,
                              scaled_by_alpha)
from ._inplace_record import _cast_error, _write, _inplace_error, _tracked, _record
from ._tensor_more import _inplace as _more_inplace

_state = grad_mode.state
_ndarray = np.ndarray


# addcmul_/addcdiv_ across dtypes: the out-of-place op (promoted dtype) written back
_ADDCMUL_, _ADDCDIV_ = _more_inplace("addcmul"), _more_inplace("addcdiv")


class InplaceMixin:
    __slots__ = ()

    def _binary_(self, ufunc, method, other, **kw):
        self._check_inplace()
        if _tracked(self, (other,)):
            return _record(self, lambda a: getattr(a, method)(other, **kw))
        a, b, dt = operands(self, other)
        barr = b._data
        if dt is not None or barr.dtype != self._data.dtype:
            barr, dt = inplace_operand(self, barr, dt, ufunc)
        elif ufunc is np.true_divide and barr.dtype.kind in "biu":
            raise _cast_error(self, D.get_default_dtype().np)
        alpha = kw.get("alpha", 1)
        if type(alpha) is not int or alpha != 1:
            barr = barr * alpha if type(alpha) is float and barr.dtype.kind == "f" else \
                scaled_by_alpha(barr, alpha)
        token = quiet()
        try:
            ufunc(self._data, barr, out=self._data, dtype=dt, casting="unsafe")
        except ValueError as e:
            raise _inplace_error(self, barr, e) from None
        finally:
            restore(token)
        return self._bump()

    def add_(self, other, *, alpha=1):
        return self._binary_(np.add, "add", other, alpha=alpha)

    def sub_(self, other, *, alpha=1):
        if self._data.dtype.kind == "b" or type(other) is bool or \
                getattr(getattr(other, "_data", None), "dtype", None) == np.bool_:
            _bool_sub_error(self, operands(self, other)[1])
        return self._binary_(np.subtract, "sub", other, alpha=alpha)

    def mul_(self, other):
        return self._binary_(np.multiply, "mul", other)

    def div_(self, other, *, rounding_mode=None):
        if rounding_mode is not None:
            return self._unary_("div", other, rounding_mode=rounding_mode)
        return self._binary_(np.true_divide, "div", other)

    def pow_(self, exponent):
        if self._data.dtype.kind in "biu":  # negative integer exponents, bool ** bool
            return self._unary_("pow", exponent)
        return self._binary_(np.power, "pow", exponent)

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    def _unary_(self, method, *args, **kw):
        """self = self.method(*args): recorded when self or a tensor argument needs a grad."""
        self._check_inplace()
        if method in BITWISE_METHODS and args:  # the cast error before the kernel's dtype error
            dt = operands(self, args[0])[2]
            if dt is not None and not _castable(dt, self._data.dtype):
                raise _cast_error(self, dt)
        if _tracked(self, args):
            return _record(self, lambda a: getattr(a, method)(*args, **kw))
        _write(self, getattr(self.detach(), method)(*args, **kw)._data)
        return self._bump()

    def neg_(self):
        return self._unary_("neg")

    def abs_(self):
        return self._unary_("abs")

    def exp_(self):
        return self._unary_("exp")

    def log_(self):
        return self._unary_("log")

    def sqrt_(self):
        return self._unary_("sqrt")

    def sigmoid_(self):
        return self._unary_("sigmoid")

    def tanh_(self):
        return self._unary_("tanh")

    def relu_(self):
        return self._unary_("relu")

    def clamp_(self, min=None, max=None):
        return self._unary_("clamp", min, max)

    clip_ = clamp_

    def clamp_min_(self, min):
        return self._unary_("clamp", min, None)

    def clamp_max_(self, max):
        return self._unary_("clamp", None, max)

    def sin_(self):
        return self._unary_("sin")

    def cos_(self):
        return self._unary_("cos")

    def rsqrt_(self):
        return self._unary_("rsqrt")

    def reciprocal_(self):
        return self._unary_("reciprocal")

    def square_(self):
        return self._unary_("square")

    def sign_(self):
        return self._unary_("sign")

    def floor_(self):
        return self._unary_("floor")

    def ceil_(self):
        return self._unary_("ceil")

    def round_(self, decimals=0):
        return self._unary_("round", decimals=decimals)

    def trunc_(self):
        return self._unary_("trunc")

    def log1p_(self):
        return self._unary_("log1p")

    def expm1_(self):
        return self._unary_("expm1")

    def remainder_(self, other):
        return self._unary_("remainder", other)

    def fmod_(self, other):
        return self._unary_("fmod", other)

    def floor_divide_(self, other):
        return self._unary_("floor_divide", other)

    __imod__ = remainder_
    __ifloordiv__ = floor_divide_

    def __iand__(self, other):
        return self._unary_("__and__", other)

    def __ior__(self, other):
        return self._unary_("__or__", other)

    def __ixor__(self, other):
        return self._unary_("__xor__", other)

    def _shape_(self, method, *args):
        """unsqueeze_/t_/...: self becomes the reshaped view (a new history node if tracked)."""
        self._check_inplace()
        out = getattr(self.detach() if not _tracked(self) else self, method)(*args)
        self._data = out._data
        if _tracked(self):
            self.grad_fn = out.grad_fn
        return self._bump()

    def unsqueeze_(self, dim):
        return self._shape_("unsqueeze", dim)

    def squeeze_(self, dim=None):
        return self._shape_("squeeze", dim)

    def t_(self):
        return self._shape_("t")

    def transpose_(self, dim0, dim1):
        return self._shape_("transpose", dim0, dim1)

    def masked_fill_(self, mask, value):
        return self._unary_("masked_fill", mask, value)

    def triu_(self, diagonal=0):
        return self._unary_("triu", diagonal)

    def tril_(self, diagonal=0):
        return self._unary_("tril", diagonal)

    def lerp_(self, end, weight):
        check_lerp(self, end, weight, "lerp_")
        if isinstance(weight, (int, float)) and abs(weight) < 0.5:
            return self.add_((end - self) * weight)  # the usual EMA step
        return self.copy_(lerp_value(self, end, weight))

    def addcmul_(self, tensor1, tensor2, *, value=1):
        own = self._data.dtype
        if tensor1._data.dtype == own and tensor2._data.dtype == own and own.kind == "f":
            return self.add_(tensor1 * tensor2 * value)  # the optimizers' common case
        return _ADDCMUL_(self, tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        own = self._data.dtype
        if tensor1._data.dtype == own and tensor2._data.dtype == own and own.kind == "f":
            return self.add_(tensor1 / tensor2 * value)
        return _ADDCDIV_(self, tensor1, tensor2, value=value)

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return self._unary_("scatter", dim, index, src if value is None else value, reduce=reduce)

    def scatter_add_(self, dim, index, src):
        return self._unary_("scatter_add", dim, index, src)

    def index_fill_(self, dim, index, value):
        idx = index._data
        if idx.ndim > 1:
            raise RuntimeError("Index has to be a vector/scalar")
        if idx.dtype != np.int64:
            raise IndexError("index_fill_(): Expected dtype int64 for index.")
        if getattr(value, "ndim", 0) and hasattr(value, "_data"):
            raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        self._check_inplace()
        check_float_fits(value, self._data.dtype)  # as fill_: 1e9 does not fit float16
        sl = [slice(None)] * self._data.ndim
        sl[self._dim(dim)] = index._data
        self[tuple(sl)] = value
        return self

    def fill_(self, value):
        self._check_inplace()
        from .tensor import Tensor
        if isinstance(value, Tensor):
            if value._data.ndim:
                raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor "
                                   f"with {value._data.ndim} dimensions.")
            if _tracked(self, (value,)):
                self[...] = value
                return self
            value = value.item()
        else:  # a number (not a tensor's value) must fit a float16/float32 tensor
            check_float_fits(value, self._data.dtype)
        if _tracked(self):
            self[...] = value
            return self
        target = self._data
        if target.dtype.kind in "iu" and is_number(value):
            value = checked_scalar(value, target.dtype)  # wraps -1 into uint8, checks range
        if not target.flags.writeable:  # an expanded tensor: every alias takes the value
            target = writable_alias(target)
            if not target.flags.writeable:
                _write(self, np.asarray(value))  # raises PyTorch's error
        target[...] = value
        return self._bump()

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src, non_blocking=False):
        self._check_inplace()
        from .tensor import Tensor
        if _tracked(self, (src,)) and isinstance(src, Tensor):
            self[...] = src
            return self
        arr = src._data if isinstance(src, Tensor) else np.asarray(src)
        if type(arr) is not type(self._data):
            arr = _move_array(arr, self.device)
        try:
            np.copyto(self._data, arr, casting="unsafe")
        except ValueError as e:
            raise _inplace_error(self, arr, e) from None
        return self._bump()

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        from .random import fill_uniform
        self._check_inplace()
        _check_random_dtype(self, "check_uniform_bounds")
        if a > b:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                               f"from={a} > to={b}")
        fill_uniform(self._data, a, b, generator)
        return self._bump()

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        from .random import fill_normal
        self._check_inplace()
        _check_random_dtype(self, "normal_kernel_cpu")
        check_std(std)
        fill_normal(self._data, mean, std, generator)
        return self._bump()

    def bernoulli_(self, p=0.5, *, generator=None):
        from .random import draw_uniform
        self._check_inplace()
        if hasattr(p, "_data"):
            p = p._host()
            check_p(None, p)
        else:
            check_p(p)
        self._data[...] = draw_uniform(self._data.shape, self._data.dtype, generator) < p
        return self._bump()

    def random_(self, low=None, high=None, *, generator=None, to=None):
        from .random import get_generator
        if to is not None:  # PyTorch's keyword name of the upper bound
            low, high = (0, to) if low is None else (low, to)
        low, high = random_range(self._data, low, high)
        self._check_inplace()
        self._data[...] = get_generator(generator).np.integers(low, high, self._data.shape,
                                                               np.int64, endpoint=True)
        return self._bump()

    def __setitem__(self, index, value):
        from .tensor import Tensor
        if value is None or isinstance(value, str):
            raise TypeError(f"can't assign a {type(value).__name__} to a "
                            f"torch.{D._LEGACY[self.dtype.name]}")
        if index is False or index is True:  # a bare bool: write nothing, or as x[None] = v
            if index is False:
                return
            index = None
        idx = _index_arrays(index)
        if self._rg and self.grad_fn is None and _state.enabled and _writes_through_view(idx):
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in "
                               "an in-place operation.")
        self._check_inplace()
        split = None if S.is_basic_index(idx) else _split_int_indices(idx)
        if split is None and type(idx) is not int and not S.is_basic_index(idx):
            _check_index_types(idx)
            check_empty_masks(self, idx)
            idx = drop_empty_ellipsis(self, idx)
        if split is not None:  # integers first, then the advanced indices (PyTorch's order)
            self[split[0]][split[1]] = value
            return
        if isinstance(value, (Tensor, _ndarray)) and value.ndim and value.shape[0] == 1:
            value = _drop_leading_ones(value)
        if _tracked(self, (value,)):
            if not isinstance(value, Tensor):
                from ._creation import tensor
                value = tensor(value, dtype=self.dtype)
            v = value if value._data.dtype == self._data.dtype else value.to(self.dtype)
            try:
                _record(self, lambda a: keep_saved(apply(S.IndexPutBackward0, (a, v), idx, False),
                                                   index))
            except ValueError as e:
                raise _setitem_error(self, idx, v, e) from None
            return
        arr = value._data if isinstance(value, Tensor) else value
        target = self._data
        if target.dtype.kind in "iu" and is_number(value):
            if isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:
                raise ValueError("Overflow when unpacking long long")
            arr = checked_scalar(value, target.dtype)
        if not target.flags.writeable:  # an expanded tensor: write through its shared memory
            target = writable_alias(target, idx if S.is_basic_index(idx) else None)
        try:
            target[idx] = arr
        except IndexError as e:
            raise IndexError(index_message(str(e))) from None
        except (ValueError, TypeError) as e:  # numpy's TypeError: a mask write of a 2-d value
            raise _setitem_error(self, idx, arr, e) from None
        self._bump()

    def index_put_(self, indices, values, accumulate=False):
        idx = _index_arrays(tuple(indices))
        if accumulate:
            self._check_inplace()
            try:
                if _tracked(self, (values,)):
                    return _record(self, lambda a: keep_saved(
                        apply(S.IndexPutBackward0, (a, values), idx, True), tuple(indices)))
                np.add.at(self._data, idx, values._data)
            except IndexError as e:
                raise IndexError(index_message(str(e))) from None
            return self._bump()
        self[tuple(indices)] = values
        return self


def _drop_leading_ones(value):
    """``x[0] = t`` with t of shape [1]: leading size-1 dims of a value never block a write."""
    k = 0
    while k < value.ndim and value.shape[k] == 1:
        k += 1
    return value.reshape(tuple(value.shape[k:]))


def _setitem_error(self, idx, value, err):
    """PyTorch's wording when a value does not broadcast to the indexed region."""
    from .tensor import Tensor
    from ._creation import tensor
    try:
        target = self._data[idx].shape
        v = value if isinstance(value, Tensor) else tensor(np.asarray(value))
    except Exception:  # noqa: BLE001 - keep numpy's own message then
        return RuntimeError(str(err))
    if S.is_basic_index(idx):
        try:
            v.expand(target)
        except RuntimeError as e:
            return e
    return RuntimeError(f"shape mismatch: value tensor of shape {list(v.shape)} cannot be "
                        f"broadcast to indexing result of shape {list(target)}")


def _check_random_dtype(t, kernel):
    if t._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for "
                                  f"'{_title(t._data.dtype)}'")


def _writes_through_view(idx):
    """Whether ``t[idx] = v`` takes a view of ``t`` first (an int, None or a partial slice
    anywhere in the index): PyTorch then names the view in its leaf error."""
    for k in (idx if isinstance(idx, tuple) else (idx,)):
        if k is None or isinstance(k, (int, np.integer)) and not isinstance(k, bool) or \
                isinstance(k, slice) and k != slice(None):
            return True
    return False
