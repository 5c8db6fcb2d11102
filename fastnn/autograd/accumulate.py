"""float16 arithmetic the way PyTorch computes it: in float32, rounded once at the end.

numpy adds float16 terms in float16 wherever its pairwise summation does not apply (along
non-innermost axes, in ``np.add.at``, in einsum), and such a sum stalls once its terms fall
below half a unit in the last place: 0.1s stop at 256, 1s at 2048."""
import numpy as np

HALF = np.dtype(np.float16)


def widen_half(a):
    """float16 reductions accumulate in float32 (as PyTorch does); other dtypes pass."""
    return a.astype(np.float32) if a.dtype == HALF else a


def in_float32(fn, *args):
    """``fn(*args)`` with its float16 array arguments computed in float32 and the result
    rounded to float16 once (numpy would round every intermediate)."""
    wide = [a.astype(np.float32) if getattr(a, "dtype", None) == HALF else a for a in args]
    return fn(*wide).astype(HALF)


def half_sum(a, axes, keepdims=False):
    """A float16 sum over ``axes`` accumulated in float32 and rounded once."""
    return np.add.reduce(a, axes, np.float32, None, keepdims).astype(HALF)


def sum_axes(a, axes, keepdims=False):
    """``a.sum(axes)``, with float16 accumulated in float32."""
    if a.dtype == HALF:
        return half_sum(a, axes, keepdims)
    return a.sum(axis=axes, keepdims=keepdims)


def add_at(out, where, values):
    """``np.add.at(out, where, values)``; a float16 ``out`` accumulates in float32 and is
    rounded once at the end, as PyTorch's scatter-adds do."""
    if out.dtype != HALF:
        np.add.at(out, where, values)
        return
    wide = out.astype(np.float32)
    np.add.at(wide, where, values)
    out[...] = wide
