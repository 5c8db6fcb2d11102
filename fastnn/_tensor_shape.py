"""Views, reshaping and indexing as Tensor methods (a mixin of Tensor)."""
import math
import operator

import numpy as np

from ._tensor_argcheck import expand_target as _expand_target, flip_dims as _flip_dims, \
    negative_repeat as _negative_repeat, index_message as _index_message, \
    mask_type_name as _mask_type_name
from .autograd.function import apply
from .autograd.node import keep_saved
from .autograd import ops_shape as S
from .autograd.ops_math import relabel, CloneBackward0
from ._tensor_scatter import _index_tensor
from ._tensor_views import track_view
from ._tensor_math_checks import required_args
from .autograd.grad_mode import state as _grad_state
from ._dtype import scalar_type_name as _title
from ._tensor_layout import contiguous_format as _CONTIGUOUS
from ._tensor_index_keys import _index_arrays, _check_index, _check_index_types, _mask_mismatch, \
    check_empty_masks, drop_empty_ellipsis, _is_int, _split_int_indices

_COPY = operator.methodcaller("copy")  # a C-ordered copy (numpy's and the device arrays')


def _sizes(args):
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


def _as_view(out, src):
    """Mark ``out`` as a view of ``src``: shared version counter and base."""
    out._vc = src._vc
    root = out._base = src._base if src._base is not None else src
    if out.grad_fn is not None:
        if root.grad_fn is not None:
            track_view(root, out)  # an in-place op on the family then refreshes its history
    elif not root._rg and _grad_state.enabled:
        # a view of plain data: should an in-place op give the family a history later,
        # the view takes it too (PyTorch regenerates such views' grad_fn)
        out.__dict__["_plain_view"] = True
        track_view(root, out)
    return out


def _int_sizes(fn, arg, sizes):
    """Sizes as ints (0-d integer tensors count, through ``__index__``)."""
    if all(type(s) is int for s in sizes):
        return sizes
    out = []
    for s in sizes:
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"{fn}(): argument '{arg}' (position 1) must be tuple of ints, not "
                            f"{type(s).__name__}") from None
    return tuple(out)


def _keyword_sizes(fn, param, args, kw):
    """The sizes given by PyTorch's keyword (``x.reshape(shape=(4, 3))``) or positionally;
    only called when keywords were given or the sizes are missing, off the positional path."""
    if param in kw:
        if args:
            raise TypeError(f"{fn}() got multiple values for argument '{param}'")
        args = (kw.pop(param),)
    if not args:
        raise TypeError(f'{fn}() missing 1 required positional arguments: "{param}"')
    for name in kw:
        raise TypeError(f"{fn}() got an unexpected keyword argument '{name}'")
    return args


def _view_keywords(args, kw):
    """``x.view(size=...)`` or ``x.view(dtype=...)``: exactly one of them, nothing else."""
    if not args and len(kw) == 1 and ("size" in kw or "dtype" in kw):
        return tuple(kw.values())
    got = [type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kw.items()]
    raise TypeError(f"view() received an invalid combination of arguments - got "
                    f"({', '.join(got)}{', ' if got else ''}), but expected one of:\n"
                    f" * (torch.dtype dtype)\n * (tuple of ints size)\n")


class ShapeMixin:
    __slots__ = ()

    def view(self, *shape, **kw):
        from ._dtype import to_dtype
        if kw or not shape:
            shape = _view_keywords(shape, kw)
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list, np.integer)):
            dt = to_dtype(shape[0])
            try:
                arr = self._data.view(dt.np)
            except ValueError:
                ratio = max(dt.np.itemsize, self._data.itemsize) // min(dt.np.itemsize,
                                                                          self._data.itemsize)
                raise RuntimeError(
                    f"self.size(-1) must be divisible by {ratio} to view "
                    f"{_title(self._data.dtype)} as {_title(dt.np)} (different element sizes), "
                    f"but got {self._data.shape[-1] if self._data.ndim else 1}") from None
            return _as_view(_nograd_wrap(arr), self)
        shape = self._check_shape(_int_sizes("view", "size", _sizes(shape)))
        try:
            out = apply(S.ViewBackward0, (self,), shape)
        except ValueError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        return _as_view(out, self)

    def _check_shape(self, shape):
        n = self._data.size
        known, infer = 1, None
        for i, s in enumerate(shape):
            if s == -1:
                if infer is not None:
                    raise RuntimeError("only one dimension can be inferred")
                infer = i
            elif s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            else:
                known *= s
        if (infer is None and known != n) or (infer is not None and (known == 0 or n % known)):
            raise RuntimeError(f"shape '[{', '.join(map(str, shape))}]' is invalid for input of "
                               f"size {n}")
        return tuple(int(s) for s in shape)

    def reshape(self, *shape, **kw):
        if kw or not shape:
            shape = _keyword_sizes("reshape", "shape", shape, kw)
        shape = self._check_shape(_int_sizes("reshape", "shape", _sizes(shape)))
        out = apply(S.ReshapeAliasBackward0, (self,), shape)
        if out._data.base is not None and np.may_share_memory(out._data, self._data):
            return _as_view(out, self)
        return _named(out, "UnsafeViewBackward0")

    def view_as(self, other):
        return self.view(other._data.shape)

    def reshape_as(self, other):
        return self.reshape(other._data.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        nd = self._data.ndim
        if nd == 0:
            self._dim(start_dim), self._dim(end_dim)  # only -1 and 0 name a 0-d tensor's dim
            return self.reshape(1)
        s, e = self._dim(start_dim), self._dim(end_dim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shp = self._data.shape
        return self.reshape(shp[:s] + (math.prod(shp[s:e + 1]),) + shp[e + 1:])

    def unflatten(self, dim, sizes):
        d = self._dim(dim)
        shp = self._data.shape
        sizes = tuple(sizes)
        if -1 in sizes:
            known = math.prod(s for s in sizes if s != -1)
            sizes = tuple(shp[d] // known if s == -1 else s for s in sizes)
        if math.prod(sizes) != shp[d]:
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the"
                               f" size of dim {dim} ({shp[d]}) in the input tensor")
        return self.view(shp[:d] + sizes + shp[d + 1:])

    def squeeze(self, dim=None, *, axis=None):
        dim = dim if dim is not None else axis
        shp = self._data.shape
        if dim is None:
            new = tuple(s for s in shp if s != 1)
        elif isinstance(dim, (tuple, list)):
            dims = set()
            for d in dim:
                d = self._dim(d)
                if d in dims:
                    raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
                dims.add(d)
            new = tuple(s for i, s in enumerate(shp) if not (i in dims and s == 1))
        else:
            d = self._dim(dim)
            new = tuple(s for i, s in enumerate(shp) if not (i == d and s == 1))
        node = S.SqueezeBackward0 if dim is None else S.SqueezeBackward1
        return _as_view(apply(node, (self,), new), self)

    def unsqueeze(self, dim=None, *, axis=None):
        if dim is None:
            if axis is None:
                raise TypeError('unsqueeze() missing 1 required positional arguments: "dim"')
            dim = axis
        d = self._dim(dim, self._data.ndim + 1)
        shp = self._data.shape
        return _as_view(apply(S.UnsqueezeBackward0, (self,), shp[:d] + (1,) + shp[d:]), self)

    def permute(self, *dims, **kw):
        if kw or not dims:
            dims = _keyword_sizes("permute", "dims", dims, kw)
        dims = _sizes(dims)
        if len(dims) != self._data.ndim:
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                               f"does not match the length of the desired ordering of dimensions"
                               f" i.e. input.dim() = {self._data.ndim} is not equal to "
                               f"len(dims) = {len(dims)}")
        dims = tuple(self._dim(d) for d in dims)
        if len(set(dims)) != len(dims):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return _as_view(apply(S.PermuteBackward0, (self,), dims), self)

    def transpose(self, dim0, dim1):
        nd = self._data.ndim
        if nd == 0:
            self._dim(dim0), self._dim(dim1)  # only -1 and 0 name a 0-d tensor's dim
            return self.view(())
        perm = list(range(nd))
        a, b = self._dim(dim0), self._dim(dim1)
        perm[a], perm[b] = perm[b], perm[a]
        return _as_view(apply(S.TransposeBackward0, (self,), tuple(perm)), self)

    swapdims = transpose

    def swapaxes(self, axis0, axis1):
        return self.transpose(axis0, axis1)

    def t(self):
        if self._data.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                               f"{self._data.ndim}D")
        if self._data.ndim < 2:
            return self
        return _as_view(apply(S.TBackward0, (self,), (1, 0)), self)

    @property
    def T(self):
        nd = self._data.ndim
        if nd != 2:
            _warn_deprecated_T(nd)
        return self.permute(tuple(reversed(range(nd))))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def expand(self, *sizes, **kw):
        if kw or not sizes:
            kw.pop("implicit", None)  # PyTorch's flag for its tracer: no effect on the result
            sizes = _keyword_sizes("expand", "size", sizes, kw)
        sizes = _int_sizes("expand", "size", _sizes(sizes))
        shp = self._data.shape
        if len(sizes) < len(shp):
            raise RuntimeError(
                f"expand({self.type()}{{{list(shp)}}}, size={list(sizes)}): the number of sizes "
                f"provided ({len(sizes)}) must be greater or equal to the number of dimensions "
                f"in the tensor ({len(shp)})")
        target = _expand_target(shp, sizes)
        return _as_view(apply(S.ExpandBackward0, (self,), target), self)

    def expand_as(self, other):
        return self.expand(other._data.shape)

    def broadcast_to(self, size):
        return self.expand(size)

    def repeat(self, *reps, **kw):
        if kw or not reps:
            reps = _keyword_sizes("repeat", "repeats", reps, kw)
        reps = _sizes(reps)
        if len(reps) < self._data.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                               "number of dimensions of tensor")
        if min(reps, default=0) < 0:
            _negative_repeat(self._data.shape, reps)
        return apply(S.RepeatBackward0, (self,), reps)

    def flip(self, *dims, **kw):
        axes = tuple(self._dim(d) for d in _flip_dims(dims, kw))
        for i, d in enumerate(axes):
            if d in axes[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
        # dim 0 of a 0-d tensor has nothing to reverse
        return apply(S.FlipBackward0, (self,), axes if self._data.ndim else ())

    def narrow(self, dim=None, start=None, length=None, *, axis=None):
        if dim is None or start is None or length is None:  # axis: numpy's name for dim
            dim = axis if dim is None else dim
            required_args("narrow", dim=dim, start=start, length=length)
        d = self._dim(dim)
        size = self._data.shape[d]
        if not -size <= start <= size:
            raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                             f"but got {start})")
        if length < 0:
            raise RuntimeError("narrow(): length must be non-negative.")
        if start < 0:
            start += size
        if start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                               f"({size}).")
        idx = (slice(None),) * d + (slice(start, start + length),)
        return self[idx]

    def select(self, dim=None, index=None, *, axis=None):
        """self[..., index, ...] with ``index`` at dimension ``dim``: a view one dim smaller."""
        if dim is None or index is None:  # axis: numpy's name for dim
            dim = axis if dim is None else dim
            required_args("select", dim=dim, index=index)
        if not self._data.ndim:
            raise IndexError("select() cannot be applied to a 0-dim tensor.")
        d = self._dim(dim)
        size = self._data.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size "
                             f"{list(self._data.shape)} at dimension {d}")
        return self[(slice(None),) * d + (int(index),)]

    def chunk(self, chunks, dim=0, *, axis=None):
        if axis is not None:  # numpy's name for dim
            dim = axis
        if not _is_int(chunks):
            raise TypeError(f"chunk(): argument 'chunks' (position 1) must be int, not "
                            f"{type(chunks).__name__}")
        if not self._data.ndim:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        if chunks <= 0:
            raise RuntimeError("chunk expects `chunks` to be greater than 0, got: "
                               f"{chunks}")
        size = self._data.shape[self._dim(dim)]
        step = -(-size // chunks) if size else 1
        return self.split(step, dim)

    def split(self, split_size, dim=0):
        if not _is_int(split_size) and not (
                isinstance(split_size, (list, tuple)) and
                all(_is_int(s) for s in split_size)):
            raise TypeError("split_with_sizes(): argument 'split_sizes' (position 2) must be "
                            f"tuple of ints, not {type(split_size).__name__}")
        if not self._data.ndim:
            raise RuntimeError("split expects at least a 1-dimensional tensor")
        d = self._dim(dim)
        size = self._data.shape[d]
        if isinstance(split_size, (int, np.integer)):
            step = split_size
            if step <= 0 and size:
                raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {size}")
            bounds = [(i, min(i + step, size)) for i in range(0, size, step)] or [(0, 0)]
        else:
            secs = list(split_size)
            if sum(secs) != size:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                                   f"{size} (input tensor's size at dimension {d}), but got "
                                   f"split_sizes={secs}")
            starts = np.cumsum([0] + secs[:-1])
            bounds = [(int(s), int(s) + n) for s, n in zip(starts, secs)]
        pre = (slice(None),) * d
        pieces = tuple(self[pre + (slice(a, b),)] for a, b in bounds)
        if pieces[0].grad_fn is not None:  # each piece shows the split, as in PyTorch
            name = "SplitBackward0" if isinstance(split_size, (int, np.integer)) \
                else "SplitWithSizesBackward0"
            for k, p in enumerate(pieces):
                relabel(p, name)
                p.__dict__["_multi_out"] = (name[:-9], k)  # in-place on it then raises
        return pieces

    def unbind(self, dim=0, *, axis=None):
        d = self._dim(dim if axis is None else axis)
        pre = (slice(None),) * d
        pieces = tuple(self[pre + (i,)] for i in range(self._data.shape[d]))
        if pieces and pieces[0].grad_fn is not None:
            for k, p in enumerate(pieces):
                relabel(p, "UnbindBackward0")
                p.__dict__["_multi_out"] = ("Unbind", k)
        return pieces

    def __getitem__(self, index):
        idx = _index_arrays(index)
        basic = S.is_basic_index(idx)
        if basic:
            _check_index(self, idx)
            node = S.basic_index_node(idx) if self._rg else S.IndexBackward0
            return _as_view(apply(node, (self,), idx, True), self)
        _check_index_types(idx)
        check_empty_masks(self, idx)
        idx = drop_empty_ellipsis(self, idx)
        split = _split_int_indices(idx)
        if split is not None:  # PyTorch applies integers first, then the advanced indices
            return keep_saved(self[split[0]][split[1]], index)
        try:
            return keep_saved(apply(S.IndexBackward0, (self,), idx, False), index)
        except IndexError as e:
            raise IndexError(_mask_mismatch(self, idx) or _index_message(str(e))) from None

    def index_select(self, dim=None, index=None, *, axis=None):
        if dim is None or index is None:  # axis: numpy's name for dim
            dim = axis if dim is None else dim
            required_args("index_select", dim=dim, index=index)
        d = self._dim(dim)
        idx = _index_tensor("index_select", index)._data
        if idx.ndim > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        if idx.dtype.kind not in "iu" or idx.itemsize < 4:
            raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
        size = self._data.shape[d] if self._data.ndim else 1
        if not self._data.ndim and idx.size != 1:
            raise RuntimeError("index_select(): Index to scalar can have only 1 value, got "
                               f"{idx.size} value(s)")
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            if d == 1:  # PyTorch's kernel for dim 1 words it its own way
                bad = idx.reshape(-1)[(idx.reshape(-1) < 0) | (idx.reshape(-1) >= size)][0]
                raise RuntimeError(f"INDICES element is out of DATA bounds, id={int(bad)} "
                                   f"axis_dim={size}")
            raise IndexError("index out of range in self")
        return keep_saved(apply(S.IndexSelectBackward0, (self,), d, idx.reshape(-1)), index)

    def masked_fill(self, mask, value):
        from .tensor import Tensor
        m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != bool:
            raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with "
                               f"dtype {_mask_type_name(m.dtype)}")
        if isinstance(value, Tensor):
            if value._data.ndim:
                raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but "
                                   f"got tensor with {value._data.ndim} dimension(s).")
            if value._rg:  # the value gets the gradient of every position it filled
                v = value if value._data.dtype == self._data.dtype else value.to(self.dtype)
                return keep_saved(apply(S.MaskedFillBackward1, (self, v), m), mask)
            value = value.item()
        if not isinstance(value, (int, float, bool, np.generic)):
            raise TypeError("masked_fill(): argument 'value' must be Number or Tensor, not "
                            f"{type(value).__name__}")
        if self._data.dtype.kind in "iuf":
            from ._scalar_fill import checked_scalar
            value = checked_scalar(value, self._data.dtype)  # PyTorch's range check and wrap
        try:
            return keep_saved(apply(S.MaskedFillBackward0, (self,), m, value), mask)
        except ValueError as e:
            from ._tensor_math import broadcast_error, Const
            raise broadcast_error(Const(m), self, e) from None

    def triu(self, diagonal=0):
        return _tri(self, diagonal, True)

    def tril(self, diagonal=0):
        return _tri(self, diagonal, False)

    def where(self, condition, other):
        from ._functions import where
        return where(condition, self, other)

    def contiguous(self, memory_format=None):
        if memory_format is None or memory_format is _CONTIGUOUS:
            return self if self._data.flags.c_contiguous else apply(CloneBackward0, (self,), _COPY)
        from ._tensor_layout import contiguous_as
        return contiguous_as(self, memory_format)


def _tri(t, k, upper):
    if t._data.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                           "dimensions")
    return apply(S.TriuBackward0 if upper else S.TrilBackward0, (t,), int(k), upper)


def _named(out, name):
    """Give a composite's node PyTorch's name for the op (it shows in ``grad_fn=<...>``)."""
    if out.grad_fn is not None:
        out.grad_fn.alias = name
        S.name_by_use(out.grad_fn)
    return out


def _nograd_wrap(arr):
    from .tensor import _wrap
    return _wrap(arr)


def _warn_deprecated_T(nd):
    import warnings
    if nd == 0:
        msg = ("Tensor.T is deprecated on 0-D tensors. This function is the identity in these "
               "cases.")
    else:
        msg = ("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
               "deprecated and it will throw an error in a future release. Consider `x.mT` to "
               "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
               "to reverse the dimensions of a tensor.")
    warnings.warn(msg, UserWarning, stacklevel=3)  # past the property, at the user's x.T
