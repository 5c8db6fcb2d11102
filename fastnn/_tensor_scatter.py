"""gather, scatter and scatter_add as Tensor methods (a mixin of Tensor), with PyTorch's
index checks: the index's own shape is the region read or written."""
from .autograd.function import apply
from .autograd.node import keep_saved
from .autograd import ops_shape as S
from .autograd.ops_math import relabel


def _index_tensor(fn, index):
    from .tensor import Tensor
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' (position 2) must be Tensor, not "
                        f"{type(index).__name__}")
    return index


def _gather_index(t, fn, d, index, src=None):
    """gather/scatter's index array, checked as PyTorch does: its own shape is the region."""
    idx = _index_tensor(fn, index)._data
    if idx.dtype.kind not in "iu" or idx.itemsize < 4:  # int32 and int64 only
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index")
    S.check_gather_index(fn, t._data.shape, d, idx, src)
    return idx


def _scalar_like(t, index):
    """PyTorch counts a 0-d input or index as 1-D in gather/scatter (a one-hot from a 0-d label)."""
    from .tensor import Tensor
    return (isinstance(index, Tensor) and t._data.ndim <= 1 and index._data.ndim <= 1
            and (t._data.ndim == 0 or index._data.ndim == 0))


class ScatterMixin:
    __slots__ = ()

    def gather(self, dim=None, index=None, *, sparse_grad=False, axis=None):
        """Values of ``self`` along ``dim`` at the positions ``index`` names.

        fastnn has no sparse tensors: with ``sparse_grad=True`` the input's gradient is the
        dense tensor holding the same values a sparse one would."""
        if dim is None or index is None:  # axis: numpy's name for dim
            dim = axis if dim is None else dim
            from ._tensor_math_checks import required_args
            required_args("gather", dim=dim, index=index)
        d = self._dim(dim)
        if _scalar_like(self, index):
            return self.reshape(-1).gather(d, index.reshape(-1)).reshape(index.shape)
        return keep_saved(apply(S.GatherBackward0, (self,), d,
                                _gather_index(self, "gather", d, index)), index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        from .tensor import Tensor
        from ._creation import full
        if reduce not in (None, "add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if src is None:
            src = value
        d = self._dim(dim)
        if _scalar_like(self, index):
            src1 = src.reshape(-1) if isinstance(src, Tensor) else src
            return self.reshape(-1).scatter(d, index.reshape(-1), src1,
                                            reduce=reduce).reshape(self.shape)
        isrc = src._data if isinstance(src, Tensor) else None
        idx = _gather_index(self, "scatter", d, index, isrc)
        if isrc is None:
            src = full(idx.shape, src, dtype=self.dtype)
        elif src._data.dtype != self._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
        node = S.ScatterAddBackward0 if reduce == "add" else S.ScatterBackward0
        out = keep_saved(apply(node, (self, src), d, idx, reduce), index)
        if isrc is None and reduce is None and out.grad_fn is not None:
            relabel(out, "ScatterBackward1")  # PyTorch's overload for a scalar value
        return out

    def scatter_add(self, dim, index, src):
        from .tensor import Tensor
        if not isinstance(src, Tensor):
            raise TypeError("scatter_add(): argument 'src' (position 3) must be Tensor, not "
                            f"{type(src).__name__}")
        return self.scatter(dim, index, src, reduce="add")
