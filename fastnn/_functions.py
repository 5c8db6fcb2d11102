"""Module-level functions (``fastnn.exp(x)``, ``fastnn.cat(...)``): thin over Tensor methods.

This module defines ``any``, ``all``, ``sum``, ``min``, ``max``, ``abs``, ``round`` and ``pow``
as fastnn functions: code here must reach Python's own through ``_builtins``.
"""
import builtins as _builtins
import numbers

import numpy as np

from . import _dtype as D
from .autograd.function import apply
from .autograd.node import keep_saved
from .autograd import ops_shape as S
from .autograd import ops_math as M
from ._tensor_math import operands, check_same_device
from ._dtype import scalar_type_name as _title
from ._creation_out import check_out_grad, out_grad_error, resize_out


def _tensor_cls():
    from .tensor import Tensor
    return Tensor


def _takes_out(fn):
    """Adds PyTorch's ``out=`` keyword to a module-level function."""
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        name = wrapper.__name__  # the public name (_method renames the wrapper)
        if isinstance(out, _tensor_cls()):  # reductions' own out= dtype rules
            from ._reduce_out import prepare
            args, kwargs = prepare(name, args, kwargs, out)
        return _into(out, fn(*args, **kwargs), name)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


def _method(name):
    @_takes_out
    def fn(input, *args, **kwargs):
        Tensor = _tensor_cls()
        if not isinstance(input, Tensor):
            from ._creation import tensor
            input = tensor(input)
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"``fastnn.{name}(input, ...)`` is ``input.{name}(...)``."
    return fn


def _into(out, result, fn):
    """PyTorch's ``out=``: ``result`` written into ``out`` (resized when its shape differs)."""
    Tensor = _tensor_cls()
    if isinstance(result, tuple):  # (values, indices) results take a tuple of outs
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{fn}(): argument 'out' must be a tuple of {len(result)} Tensors")
        for o, r in zip(out, result):  # each part of a multi-output op takes its exact dtype
            if isinstance(o, Tensor) and o._rg:  # refused before any part is written
                check_out_grad(o, fn)
            if isinstance(o, Tensor) and isinstance(r, Tensor) and o.dtype != r.dtype:
                raise RuntimeError(f"Expected out tensor to have dtype "
                                   f"{D.c_type_name(r._data.dtype)}, but got "
                                   f"{D.c_type_name(o._data.dtype)} instead")
        parts = [_into(o, r, fn) for o, r in zip(out, result)]
        return type(result)(*parts) if hasattr(result, "_fields") else tuple(parts)
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if not isinstance(result, Tensor):
        raise TypeError(f"{fn}(): does not take an 'out' argument")
    if result.requires_grad:
        raise out_grad_error(fn)
    if out._rg:  # a graph recorded on out would go stale: PyTorch refuses in grad mode
        check_out_grad(out, fn)
    src, dst = result._data.dtype, out._data.dtype
    if not np.can_cast(src, dst, "same_kind") and fn != "bernoulli":  # 0/1 draws fit any out
        if fn in _CONCATENATING:
            raise TypeError(f"torch.cat(): input types can't be cast to the desired output "
                            f"type {_title(dst)}")
        raise RuntimeError(f"result type {_title(src)} can't be cast to the desired output "
                           f"type {_title(dst)}")
    from .autograd.grad_mode import no_grad
    with no_grad():
        if tuple(out.shape) != tuple(result.shape):
            if out.numel():
                import warnings
                warnings.warn(f"An output with one or more elements was resized since it had "
                              f"shape {list(out.shape)}, which does not match the required "
                              f"output shape {list(result.shape)}.", UserWarning, stacklevel=3)
            resize_out(out, result)
        else:
            out.copy_(result)
    return out


# the functions that concatenate through cat, whose out= casting error is cat's TypeError
_CONCATENATING = frozenset(("cat", "concat", "concatenate", "stack", "hstack", "vstack",
                            "dstack", "column_stack", "row_stack"))

_NAMES = """add sub mul div true_divide pow maximum minimum floor_divide remainder fmod matmul mm bmm
dot neg negative abs absolute sign exp expm1 log log1p sqrt rsqrt sin cos tanh sigmoid relu square
reciprocal clamp clip clamp_min clamp_max floor ceil round trunc lerp sum mean var std prod max min
amax amin argmax argmin all any count_nonzero logsumexp softmax log_softmax cumsum norm eq ne lt le
gt ge greater less greater_equal less_equal not_equal logical_and logical_or logical_xor logical_not
isnan isinf isfinite equal isclose allclose reshape flatten unflatten squeeze unsqueeze permute
transpose swapaxes swapdims t flip narrow select chunk split unbind index_select
gather scatter scatter_add masked_fill clone numel detach is_floating_point sort argsort
topk argwhere unique bincount cumprod masked_select diag diagonal trace roll tile index_add log2
log10 tan asin acos atan arcsin arccos arctan sinh cosh atan2 arctan2 deg2rad rad2deg movedim
moveaxis ravel mv ger cross""".split()

_ns = {}
for _n in _NAMES:
    _ns[_n] = _method(_n)
globals().update(_ns)
multiply, subtract, divide = _ns["mul"], _ns["sub"], _ns["div"]


def _number_first(fn, second):
    """``fn`` also taking PyTorch's (Number self, Tensor ...) overload by keyword:
    ``fastnn.pow(self=2, exponent=x)``."""
    def wrapper(*args, **kwargs):
        if "self" in kwargs and not args:
            base = kwargs.pop("self")
            if isinstance(base, _tensor_cls()) or second not in kwargs:
                raise TypeError(f"{fn.__name__}() received an invalid combination of arguments"
                                f" - got self={type(base).__name__}, but expected one of:\n"
                                f" * (Tensor input, Tensor {second})\n"
                                f" * (Number self, Tensor {second})\n")
            args = (base,)
        return fn(*args, **kwargs)
    wrapper.__name__, wrapper.__doc__, wrapper.__wrapped__ = fn.__name__, fn.__doc__, fn
    return wrapper


def _pow(input, exponent, *args, **kwargs):
    # a Number base is PyTorch's (Number self, Tensor exponent) overload: ``base ** exponent``
    Tensor = _tensor_cls()
    if isinstance(input, numbers.Number) and isinstance(exponent, Tensor) and not args and \
            kwargs.get("out") is None:
        return exponent.__rpow__(input)
    return _ns["pow"](input, exponent, *args, **kwargs)


_pow.__name__, _pow.__doc__ = "pow", _ns["pow"].__doc__
pow = _number_first(_pow, "exponent")
remainder = _number_first(_ns["remainder"], "other")


def split(tensor, split_size_or_sections, dim=0):
    """``tensor.split(...)``, with PyTorch's parameter names for the function form."""
    return tensor.split(split_size_or_sections, dim)

_CROSS_WITHOUT_DIM = (
    "Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the "
    "dim explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to "
    "agree with that of linalg.cross in a future release.")


@_takes_out
def cross(input, other, dim=None):
    """The cross product along ``dim``; without it (deprecated, warns) the first dim of size
    3. ``input.cross(other)`` picks the same dim without warning, as in PyTorch."""
    if dim is None:
        import warnings
        warnings.warn(_CROSS_WITHOUT_DIM, UserWarning, stacklevel=3)  # past the out= wrapper
    return _ns["cross"].__wrapped__(input, other, dim)  # the plain forward to the method


@_takes_out
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    return input.addmm(mat1, mat2, beta=beta, alpha=alpha)


def _check_seq(tensors, fn):
    Tensor = _tensor_cls()
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fn}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    if not tensors:
        if fn == "stack":
            raise RuntimeError("stack expects a non-empty TensorList")
        raise ValueError(f"{fn}(): expected a non-empty list of Tensors")
    for t in tensors[1:]:
        check_same_device(tensors[0], t)


def _common(tensors):
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = D.promote_types(dt, t.dtype)
    return [t if t.dtype is dt else t.to(dt) for t in tensors]


@_takes_out
def cat(tensors, dim=0, *, axis=None):
    _check_seq(tensors, "cat")
    if axis is not None:
        dim = axis
    for i, t in enumerate(tensors):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated")
    # legacy rule: 1-D empty tensors are skipped, but still take part in type promotion
    tensors = _common(list(tensors))
    tensors = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or \
        list(tensors[:1])
    d = tensors[0]._dim(dim)
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        s = t._data.shape
        if len(s) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} and "
                               f"{len(s)}")
        for k in range(len(s)):
            if k != d and s[k] != ref[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref[k]} but got size {s[k]} for tensor "
                                   f"number {i} in the list.")
    return apply(S.CatBackward0, tuple(tensors), d)


concat = concatenate = cat


@_takes_out
def stack(tensors, dim=0, *, axis=None):
    _check_seq(tensors, "stack")
    if axis is not None:
        dim = axis
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(ref)} at entry 0 and {list(t._data.shape)} at entry {i}")
    d = tensors[0]._dim(dim, len(ref) + 1)
    return apply(S.StackBackward0, tuple(_common(tensors)), d)


@_takes_out
def hstack(tensors):
    return cat(tensors, 1 if tensors[0].dim() > 1 else 0)


@_takes_out
def vstack(tensors):
    return cat([t if t.dim() > 1 else t.unsqueeze(0) for t in tensors], 0)


@_takes_out
def where(condition, input=None, other=None):
    Tensor = _tensor_cls()
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if input is None and other is None:
        from .tensor import _wrap
        return tuple(_wrap(i) for i in np.nonzero(np.atleast_1d(cond)))
    if cond.dtype == np.uint8:  # still accepted, with a deprecation warning (once, as PyTorch)
        _warn_uint8_condition()
        cond = cond.astype(bool)
    if cond.dtype != bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_title(cond.dtype)}")
    if not isinstance(input, Tensor):
        if isinstance(other, Tensor):
            b, a, dt = operands(other, input)
        else:
            from ._creation import tensor
            a, b, dt = operands(tensor(input), other)
    else:
        a, b, dt = operands(input, other)
    if dt is not None:
        a = a.to(D._FROM_NP[np.dtype(dt)]) if isinstance(a, Tensor) else a
        b = b.to(D._FROM_NP[np.dtype(dt)]) if isinstance(b, Tensor) else b
    if not isinstance(a, Tensor):
        from .tensor import _wrap
        a = _wrap(np.asarray(a._data))
    if not isinstance(b, Tensor):
        from .tensor import _wrap
        b = _wrap(np.asarray(b._data, a._data.dtype))
    if a._data.dtype.kind in "iu":  # a Python number must fit the integer result
        from ._scalar_fill import checked_scalar, is_number
        for v in (input, other):
            if is_number(v):
                checked_scalar(v, a._data.dtype)
    _check_broadcast(cond.shape, a._data.shape, b._data.shape)
    return keep_saved(apply(M.WhereBackward0, (a, b), cond), condition)


_UINT8_CONDITION_WARNED = []


def _warn_uint8_condition():
    if not _UINT8_CONDITION_WARNED:
        _UINT8_CONDITION_WARNED.append(True)
        import warnings
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and "
                      "will be removed in a future version of PyTorch. Use a boolean condition "
                      "instead.", UserWarning, stacklevel=4)


def _check_broadcast(*shapes):
    """PyTorch's RuntimeError for shapes that do not broadcast together."""
    out = shapes[0]
    for s in shapes[1:]:
        for i in range(1, _builtins.min(len(out), len(s)) + 1):
            x, y = out[-i], s[-i]
            if x != y and x != 1 and y != 1:
                dim = _builtins.max(len(out), len(s)) - i
                raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b "
                                   f"({y}) at non-singleton dimension {dim}")
        out = np.broadcast_shapes(out, s)
    return out


@_takes_out
def nonzero(input, *, as_tuple=False):
    return input.nonzero(as_tuple=as_tuple)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 0-d or 1-d tensors: expanded views, so gradients flow back."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        import warnings
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f'received: {indexing}')
    for t in tensors:
        if t.dtype is not tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.dim() > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
        check_same_device(tensors[0], t)
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for t, ax in zip(tensors, axes):
        shape[ax] = t.numel()
    out = []
    for t, ax in zip(tensors, axes):
        view = [1] * len(tensors)
        view[ax] = -1
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


def broadcast_tensors(*tensors):
    if not tensors:
        return ()
    shape = _check_broadcast(*(t._data.shape for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def broadcast_shapes(*shapes):
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    out = ()
    for k, s in enumerate(shapes):
        try:
            out = np.broadcast_shapes(out, s)
        except ValueError:
            bad = next(d for d in range(1, _builtins.min(len(out), len(s)) + 1)
                       if s[-d] not in (1, out[-d]) and out[-d] != 1)
            raise RuntimeError(f"Attempting to broadcast a dimension of length {s[-bad]} at "
                               f"-{bad}! Mismatching argument at index {k} had {s}; but expected "
                               f"shape should be broadcastable to {list(out)}") from None
    return D.Size(out)


def einsum(*args):
    """``einsum(equation, *operands)``, ``einsum(equation, [operands])`` or the sublist form
    ``einsum(op0, sub0, op1, sub1, ..., [out])``; differentiable in every operand."""
    from .autograd.ops_einsum import EinsumBackward0, cached_plan, sublist_equation
    Tensor = _tensor_cls()
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], Tensor):
        equation, operands_ = sublist_equation(args)
    else:
        equation, operands_ = args[0], args[1:]
        if not isinstance(equation, str):
            raise TypeError("einsum(): argument 'equation' (position 1) must be str, not "
                            f"{type(equation).__name__}")
        if len(operands_) == 1 and isinstance(operands_[0], (list, tuple)):
            operands_ = operands_[0]
    operands_ = tuple(operands_)
    for i, t in enumerate(operands_):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type(t).__name__}")
    if not operands_:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    p = cached_plan(equation, tuple(t._data.shape for t in operands_))
    first = operands_[0]
    for t in operands_[1:]:
        check_same_device(first, t)
        if t._data.dtype != first._data.dtype:
            raise RuntimeError(f"expected scalar type {_title(first._data.dtype)} but found "
                               f"{_title(t._data.dtype)}")
    if len(operands_) == 1 and len(set(p.subs[0])) > len(p.out) and \
            first._data.dtype.kind in "biu" and first._data.dtype != np.int64:
        operands_ = (first.to(D.int64),)  # a summing einsum of one operand adds up as sum does
    out = apply(EinsumBackward0, operands_, p)
    if out.grad_fn is not None:
        M.relabel(out, _einsum_node_name(p))
    return out


def _einsum_node_name(plan):
    """PyTorch's last step of an einsum: a sum or a permute of one operand; a product viewed
    back from a batched matmul when indices are summed, else an elementwise product."""
    summed = bool(set("".join(plan.subs)) - set(plan.out))
    if len(plan.subs) == 1:
        return "SumBackward1" if summed else "PermuteBackward0"
    return "ViewBackward0" if summed else "MulBackward0"


def is_tensor(obj):
    return isinstance(obj, _tensor_cls())


def is_nonzero(input):
    return bool(input)


@_takes_out
def repeat_interleave(input, repeats=None, dim=None, *, output_size=None, axis=None):
    return input.repeat_interleave(repeats, dim, output_size=output_size, axis=axis)


@_takes_out
def tril(input, diagonal=0):
    return input.tril(diagonal)


@_takes_out
def triu(input, diagonal=0):
    return input.triu(diagonal)


@_takes_out
def outer(input, vec2):
    return input.outer(vec2)
