"""Shape and stride arithmetic for CudaArray views (element strides, numpy's rules)."""
import numpy as np


def contiguous_strides(shape):
    st, acc = [], 1
    for s in reversed(shape):
        st.append(acc)
        acc *= s
    return tuple(reversed(st))


def collapse(shape, *strides):
    """Merge dimensions that every operand walks contiguously; drop size-1 dimensions."""
    keep = [i for i, s in enumerate(shape) if s != 1]
    if not keep:
        return (1,), [(0,)] * len(strides)
    sizes = [shape[keep[0]]]
    outs = [[st[keep[0]]] for st in strides]
    for i in keep[1:]:
        s = shape[i]
        if all(o[-1] == st[i] * s for o, st in zip(outs, strides)):
            sizes[-1] *= s
            for o, st in zip(outs, strides):
                o[-1] = st[i]
        else:
            sizes.append(s)
            for o, st in zip(outs, strides):
                o.append(st[i])
    return tuple(sizes), [tuple(o) for o in outs]


def axis_index(a, ndim):
    if not -ndim <= a < max(ndim, 1):
        raise np.exceptions.AxisError(a, ndim)
    return a % ndim if ndim else 0


def fill_shape(shape, n):
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or n % known or shape.count(-1) > 1:
            raise ValueError(f"cannot reshape array of size {n} into shape {shape}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    total = 1
    for s in shape:
        total *= s
    if total != n:
        raise ValueError(f"cannot reshape array of size {n} into shape {shape}")
    return shape


def nocopy_strides(old_shape, old_st, new_shape):
    """Element strides viewing old data in new_shape without a copy, or None (numpy's rule)."""
    old = [(s, e) for s, e in zip(old_shape, old_st) if s != 1]
    new = [s for s in new_shape if s != 1]
    out = []
    oi = ni = 0
    while oi < len(old) and ni < len(new):
        np_, op_ = new[ni], old[oi][0]
        oj, nj = oi + 1, ni + 1
        while np_ != op_:
            if np_ < op_:
                np_ *= new[nj]
                nj += 1
            else:
                op_ *= old[oj][0]
                oj += 1
        for k in range(oi, oj - 1):
            if old[k][1] != old[k + 1][1] * old[k + 1][0]:
                return None
        st = old[oj - 1][1]
        chunk = []
        for k in range(nj - 1, ni - 1, -1):
            chunk.append(st)
            st *= new[k]
        out.extend(reversed(chunk))
        oi, ni = oj, nj
    if ni < len(new) or oi < len(old):
        return None
    res, it = [], iter(out)
    total = 1
    for s in new_shape:
        total *= s
    for s in new_shape:
        res.append(next(it) if s != 1 else 0)
    if total == 0:
        return contiguous_strides(new_shape)
    return tuple(res)
