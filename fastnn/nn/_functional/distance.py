"""cosine_similarity and pairwise_distance, composed of differentiable Tensor ops."""
from ... import _dtype as D
from ... import _functions


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2) / (max(|x1|, eps) * max(|x2|, eps)) along ``dim``, after broadcasting."""
    dt = D.promote_types(x1.dtype, x2.dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{D.scalar_type_name(dt.np)}")
    x1, x2 = _functions.broadcast_tensors(x1.to(dt), x2.to(dt))  # an int side joins in float

    def unit(x):
        # x / max(|x|, eps): each input is scaled by its own norm, which keeps the result in
        # [-1, 1]. The norm is taken of x divided by its largest |entry| (a constant to
        # autograd), so that squares of large entries cannot overflow to inf (nor small ones
        # vanish); the scale cancels out of the value and the gradient. The clamp at eps is
        # outside autograd, so the norm's gradient stays whole.
        if x.shape[dim] == 0:
            return x
        scale = x.detach().abs().amax(dim, keepdim=True)
        scale = scale.masked_fill(scale == 0, 1)
        x = x / scale
        n = x.norm(2, dim=dim, keepdim=True)
        return x / (n + (n.maximum(eps / scale) - n).detach())

    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps over the last dimension."""
    nd = max(x1.dim(), x2.dim())
    if nd == 0:
        return (x1 - x2 + eps).abs()
    from ...autograd.ops_math import relabel
    return relabel((x1 - x2 + eps).norm(p, dim=nd - 1, keepdim=keepdim), "NormBackward1")
