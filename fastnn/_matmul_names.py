"""The autograd node name PyTorch shows for ``a @ b``, from the operands' shapes.

fastnn records every matmul as one node; PyTorch's shows the last step of the way it
computed the product (a dot, a matrix-vector product, a view of a folded batch, ...), and
learners see that name when printing the result.
"""


def matmul_node_name(sa, sb):
    na, nb = len(sa), len(sb)
    if na == 1 and nb == 1:
        return "DotBackward0"
    if na == 2 and nb == 2:
        return "MmBackward0"
    if na == 1 and nb == 2:
        return "SqueezeBackward4"
    if na == 2 and nb == 1:
        return "MvBackward0"
    if na == 3 and nb == 3 and sa[0] == 1 and sb[0] != 1:
        sa, na = sa[1:], 2  # a single 3-D batch is multiplied as a matrix
    if na == 2 and nb >= 3:
        # computed transposed, then made contiguous: a copy unless a row or column is single
        return "TransposeBackward0" if 1 in (sa[0], sb[-1]) else "CloneBackward0"
    return "UnsafeViewBackward0"
