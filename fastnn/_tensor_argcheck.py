"""Argument checks for shape methods (expand, repeat, flip), kept apart from the methods."""


def expand_target(shp, sizes):
    """The shape ``expand(*sizes)`` gives a tensor of shape ``shp``; errors as PyTorch's.

    Dims are checked from the last to the first, so the message names the same dim."""
    lead = len(sizes) - len(shp)
    target = tuple(sizes)
    if -1 in target:
        head = target[:lead]
        if -1 in head:
            raise RuntimeError("The expanded size of the tensor (-1) isn't allowed in a "
                               f"leading, non-existing dimension {lead - 1 - head[::-1].index(-1)}")
        target = head + tuple(s if t == -1 else t for s, t in zip(shp, target[lead:]))
    if target[lead:] != tuple(shp):
        for i in range(len(shp) - 1, -1, -1):
            s = shp[i]
            if s != 1 and s != target[i + lead]:
                raise RuntimeError(f"The expanded size of the tensor ({target[i + lead]}) must "
                                   f"match the existing size ({s}) at non-singleton dimension "
                                   f"{i + lead}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                                   f"{list(shp)}")
    if target and min(target) < 0:
        raise RuntimeError("numel: integer multiplication overflow")
    return target


def negative_repeat(shape, reps):
    """Raise the error of ``repeat``/``tile`` with a negative count."""
    full = (1,) * (len(reps) - len(shape)) + tuple(shape)
    out = [a * r for a, r in zip(full, reps)]
    neg = next((n for n in out if n < 0), min(reps))
    raise RuntimeError(f"Trying to create tensor with negative dimension {neg}: {out}")


def flip_dims(dims, kw):
    """The dims of ``flip``: one sequence, varargs ``flip(0, 1)``, or ``dims=``."""
    if kw:
        extra = [k for k in kw if k != "dims"]
        if extra:
            raise TypeError(f"flip() got an unexpected keyword argument '{extra[0]}'")
        if dims:
            raise TypeError("flip() got multiple values for argument 'dims'")
        dims = kw["dims"]
    elif not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    elif len(dims) == 1:
        dims = dims[0]
    return tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)


def bool_matmul_error(nda, ndb):
    """matmul/mm/bmm have no Bool kernel: the error names the kernel PyTorch would run."""
    if ndb >= 3:
        kernel = "bmm"
    elif ndb == 1:
        kernel = "dot" if nda == 1 else "addmv_impl_cpu"
    else:
        kernel = "addmm_impl_cpu_"
    return NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def check_bmm(a, b, title):
    """bmm's checks past the 3-D ones: batch2's first two dims, then matching dtypes."""
    want = [a.shape[0], a.shape[2]]
    if list(b.shape[:2]) != want:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"{want} but got: {list(b.shape[:2])}.")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {title(a.dtype)} but found {title(b.dtype)}")
    if a.dtype.kind == "b" and a.shape[2]:
        raise bool_matmul_error(3, 3)


def index_message(msg):
    """numpy's indexing error text in PyTorch's words: "dimension" for "axis", and
    broadcast shapes written as lists ("[2], [3]" for "(2,) (3,)")."""
    msg = msg.replace("axis", "dimension").rstrip()
    if "indexing arrays could not be broadcast" in msg:
        head, _, shapes = msg.partition("with shapes ")
        dims = [s.strip("(),").replace(",", ", ") for s in shapes.split(") (")]
        msg = head.replace("arrays", "tensors") + "with shapes " + ", ".join(
            "[" + ", ".join(x.strip() for x in d.split(",") if x.strip()) + "]" for d in dims)
    return msg


def mask_type_name(npd):
    """The C++ type name PyTorch's masked_fill error gives a mask's dtype."""
    from ._dtype import c_type_name
    return {"int64": "long int", "int16": "short int"}.get(npd.name) or c_type_name(npd)
