"""fastnn.linalg: vector and matrix norms, composed of differentiable Tensor ops.

Only the norms are provided: inverses, determinants, solves and the singular-value norms
(ord=2, -2, 'nuc') need factorizations that fastnn's autograd does not have yet.
"""
import math

from . import _dtype as D
from .tensor import Tensor

__all__ = ["norm", "vector_norm", "matrix_norm"]

_INF = math.inf


def _float_input(fn, x, dtype):
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    if not x.is_floating_point():
        raise RuntimeError(f"linalg.{fn}: Expected a floating point or complex tensor as "
                           f"input. Got {D.scalar_type_name(x._data.dtype)}")
    return x


def _ord(ord):
    return {"inf": _INF, "-inf": -_INF}.get(ord, ord) if isinstance(ord, str) else ord


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):
    """(sum |x|^ord)^(1/ord) over ``dim`` (all elements when None); ord may be +-inf or 0."""
    if out is not None:
        raise RuntimeError("linalg.vector_norm: out= is not supported by fastnn")
    x = _float_input("vector_norm", x, dtype)
    ord = _ord(ord)
    if isinstance(dim, int):
        dim = (dim,)
    if ord == -_INF:
        if x.numel() == 0:
            raise RuntimeError("linalg.vector_norm cannot compute the -inf norm on an empty "
                               "tensor because the operation does not have an identity")
        return x.abs().amin(dim=tuple(range(x.dim())) if dim is None else dim, keepdim=keepdim)
    if ord == 0:
        # the count of nonzeros: flat in x, so its gradient is zero (as in PyTorch)
        count = (x != 0).to(x.dtype).sum(dim=dim, keepdim=keepdim) if dim is not None \
            else (x != 0).to(x.dtype).sum()
        zero = (x * 0).sum(dim=dim, keepdim=keepdim) if dim is not None else (x * 0).sum()
        out = zero + count
    else:
        out = x.norm(p=ord, dim=dim, keepdim=keepdim)
    if dim is None and keepdim:
        out = out.reshape((1,) * x.dim())
    return out


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):
    """Frobenius, 1, -1, inf or -inf norm of the matrices over the two dims ``dim``."""
    if out is not None:
        raise RuntimeError("linalg.matrix_norm: out= is not supported by fastnn")
    A = _float_input("matrix_norm", A, dtype)
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {dim}")
    d0, d1 = (A._dim(d) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({d0}, {d1})")
    ord = _ord(ord)
    if ord == "fro":
        return A.norm(p=2, dim=(d0, d1), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs singular values, "
                                  "which fastnn does not compute; use ord='fro', 1, -1, inf "
                                  "or -inf")
    if ord not in (1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # ord +-1: extreme column sum (sum over rows d0); ord +-inf: extreme row sum
    over, across = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = A.abs().sum(dim=over, keepdim=True)
    out = sums.amax(dim=across, keepdim=True) if ord > 0 else \
        sums.amin(dim=across, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None, out=None):
    """vector_norm or matrix_norm, chosen by ``dim`` (or A's dims), as in torch.linalg.norm."""
    if out is not None:
        raise RuntimeError("linalg.norm: out= is not supported by fastnn")
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.norm(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(A).__name__}")
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or "
                               f"2. Got {list(dim)}")
    elif ord is not None:
        if A.dim() not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input "
                               f"must be 1D or 2D. Got {A.dim()}D.")
        dim = tuple(range(A.dim()))
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) and ord not in ("inf", "-inf"):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got {ord!r}")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
