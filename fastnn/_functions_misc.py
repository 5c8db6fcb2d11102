"""Top-level constants and small array helpers: pi, e, inf, nan, dstack, combinations,
unravel_index, ..."""
import itertools
import math
import sys
import types

import numpy as np

from ._version import __version__ as _fastnn_version

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None

# ``fastnn.version`` answers what ``torch.version`` does: fastnn runs on CPU, so cuda is None
version = types.ModuleType("fastnn.version", "Version facts of this fastnn build.")
version.__version__ = _fastnn_version
version.cuda = None
version.hip = None
version.git_version = "unknown"
version.debug = False
sys.modules.setdefault("fastnn.version", version)


def _tensor_method(name):
    def fn(input, *args, **kwargs):
        from .tensor import Tensor
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        return getattr(input, name)(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = f"``fastnn.{name}(x, ...)`` is ``x.{name}(...)``."
    return fn


_FORWARDED = ("diag_embed diagflat take take_along_dim index_fill index_copy scatter_reduce "
              "index_reduce "
              "unique_consecutive hsplit vsplit dsplit fmax fmin exp2 gcd lcm isposinf isneginf "
              "isreal lgamma digamma i0 mvlgamma acosh asinh atanh arccosh arcsinh arctanh "
              "addbmm addr is_signed is_complex broadcast_to diagonal_scatter select_scatter "
              "slice_scatter narrow_copy masked_scatter index_put index_put_ put "
              "split_with_sizes is_same_size conj resolve_conj resolve_neg is_conj is_neg "
              "conj_physical angle bitwise_and bitwise_or bitwise_xor bitwise_not").split()


def real(input):
    """The real part: the tensor itself, fastnn having no complex dtypes."""
    return input.real


def imag(input):
    return input.imag
_here = globals()
for _n in _FORWARDED:
    _here[_n] = _tensor_method(_n)
del _n, _here


def _scalar_first(name):
    """and/or/xor also take a Python number first (``bitwise_and(True, mask)``): they
    commute, so the tensor's method does the work."""
    method = _tensor_method(name)

    def fn(input, other, **kwargs):
        from .tensor import Tensor
        if not isinstance(input, Tensor) and isinstance(other, Tensor) and \
                isinstance(input, (bool, int, float)):
            return getattr(other, name)(input, **kwargs)
        return method(input, other, **kwargs)
    fn.__name__, fn.__doc__ = name, method.__doc__
    return fn


bitwise_and, bitwise_or, bitwise_xor = (_scalar_first(n) for n in
                                        ("bitwise_and", "bitwise_or", "bitwise_xor"))


def polygamma(n, input):
    """The n-th derivative of digamma, elementwise."""
    return input.polygamma(n)


def _seq(tensors, fn):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(fn(t) for t in tensors[0])
    if len(tensors) == 1:
        return fn(tensors[0])
    return tuple(fn(t) for t in tensors)


def _at1(t):
    return t.reshape(1) if t.dim() == 0 else t


def _at2(t):
    return t.reshape(1, -1) if t.dim() < 2 else t


def _at3(t):
    nd = t.dim()
    if nd == 0:
        return t.reshape(1, 1, 1)
    if nd == 1:
        return t.reshape(1, -1, 1)
    if nd == 2:
        return t.unsqueeze(-1)
    return t


def atleast_1d(*tensors):
    return _seq(tensors, _at1)


def atleast_2d(*tensors):
    return _seq(tensors, _at2)


def atleast_3d(*tensors):
    return _seq(tensors, _at3)


def dstack(tensors):
    """Stack along the third dim, after making every tensor at least 3-D."""
    from ._functions import cat
    if not isinstance(tensors, (list, tuple)):
        raise TypeError("dstack(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}")
    return cat([_at3(t) for t in tensors], 2)


def row_stack(tensors):
    from ._functions import vstack
    return vstack(tensors)


def combinations(input, r=2, with_replacement=False):
    """Rows of every length-r combination of a 1-D tensor's elements."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    from .tensor import _wrap
    n = input.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    rows = list(pick(range(n), r))
    if r == 0:
        return input.new_empty((0,))
    if not rows:
        return input.new_empty((0, r))
    idx = np.asarray(rows, np.int64)
    return input[_wrap(idx)]


__all__ = (["real", "imag", "pi", "e", "inf", "nan", "newaxis", "version", "polygamma",
            "atleast_1d", "atleast_2d", "atleast_3d", "dstack", "row_stack", "combinations",
            "unravel_index"]
           + _FORWARDED)


def unravel_index(indices, shape):
    """The coordinates (one int64 tensor per dimension of ``shape``) of flat ``indices`` in a
    C-ordered array of that shape; negative indices count from the end."""
    from .tensor import Tensor, _wrap
    if not isinstance(indices, Tensor):
        raise TypeError(f"unravel_index(): argument 'indices' must be Tensor, not "
                        f"{type(indices).__name__}")
    idx = indices._data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    if not shape:
        return ()
    size = int(np.prod(shape, dtype=np.int64))
    flat = np.asarray(idx, np.int64)
    if size:
        flat = flat % size  # -1 is the last element, as in PyTorch
    out = []
    for s in reversed(shape):
        out.append(flat % s if s else flat * 0)
        flat = flat // s if s else flat
    return tuple(_wrap(np.array(c, np.int64)) for c in reversed(out))
