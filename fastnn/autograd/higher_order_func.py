"""Second-order rules of the matrix functions and factorizations (matrix_exp, pinv, eigh,
cholesky, qr, svd, svdvals), for ``create_graph=True`` and so for Hessians of losses that use
them.

Each rule writes the node's first-order formula in differentiable Tensor ops. Where that
formula needs factors the node saved only as arrays (singular and eigen vectors, Q and R), the rule
recomputes the factorization from the linked input, so its gradient flows through the
factorization's node again, and through this rule at the next order.
"""
import numpy as np

from . import ops_decomp as D
from .fan import unpack
from .higher_order import _fit, _input, _output, rule


def _T(x):
    return x.transpose(-1, -2)


def _eye_like(x):
    from .. import eye
    return eye(x.shape[-1], dtype=x.dtype)


@rule(D.LinalgMatrixExpBackward0)
def _matrix_exp(node, g):
    from .. import cat, linalg
    a = node.saved[0]
    at = _T(_input(node, 0, a))
    shape = tuple(np.broadcast_shapes(a.shape, tuple(g.shape)))
    at, g = at.expand(shape), g.expand(shape)
    n = shape[-1]
    zero = g.new_zeros(shape)
    big = cat([cat([at, g], -1), cat([zero, at], -1)], -2)  # [[A^T, G], [0, A^T]]
    return (_fit(linalg.matrix_exp(big)[..., :n, n:], a.shape, a.dtype),)


@rule(D.LinalgPinvBackward0)
def _pinv(node, g):
    a_arr, p_arr = node.saved
    a, p = _input(node, 0, a_arr), _output(node, p_arr)
    pt, gt = _T(p), _T(g)
    out = -(pt.matmul(g).matmul(pt))
    out = out + (gt.matmul(p) - a.matmul(p.matmul(gt).matmul(p))).matmul(pt)
    return (out + pt.matmul(p.matmul(gt - gt.matmul(p).matmul(a))),)


@rule(D.LinalgEighBackward0)
def _eigh(node, g):
    from .. import diag_embed, linalg, where
    w_arr, v_arr = node.saved
    # A is taken to be symmetric, as the first-order formula does: rebuild it from w and V
    a = _input(node, 0, (v_arr * w_arr[..., None, :]) @ np.swapaxes(v_arr, -1, -2))
    w, v = linalg.eigh(a)
    # the recomputed eigenvectors may come back with other signs than the saved ones
    signs = np.sign(((v.detach().numpy() * v_arr).sum(-2)))
    v = v * v.new_tensor(np.where(signs == 0, 1, signs)).unsqueeze(-2)
    gw, gv = unpack(g, 2)
    mid = diag_embed(gw) if gw is not None else v.new_zeros(tuple(v.shape))
    if gv is not None:
        gap = w.unsqueeze(-2) - w.unsqueeze(-1)  # w_j - w_i
        off = ~_eye_like(v).bool()
        f = where(off, 1.0 / where(off, gap, gap.new_ones(())), gap.new_zeros(()))
        mid = mid + f * _T(v).matmul(gv)
    ga = v.matmul(mid).matmul(_T(v))
    return (0.5 * (ga + _T(ga)),)


@rule(D.LinalgCholeskyExBackward0)
def _cholesky(node, g):
    from .. import diag_embed, linalg
    out = _output(node, np.swapaxes(node.saved[0], -1, -2) if node.upper else node.saved[0])
    low = _T(out) if node.upper else out
    gl = _T(g) if node.upper else g
    p = _T(low).matmul(gl).tril()
    p = p - 0.5 * diag_embed(p.diagonal(dim1=-2, dim2=-1))
    inv = linalg.inv(low)
    s = _T(inv).matmul(p).matmul(inv)
    return (0.5 * (s + _T(s)),)


@rule(D.LinalgQrBackward0)
def _qr(node, g):
    from .. import cat, linalg
    a_arr, q_arr, r_arr = node.saved
    m, n = a_arr.shape[-2:]
    if node.mode == "r" or (node.mode == "complete" and m > n):
        return D.LinalgQrBackward0.backward(node, g)  # raises PyTorch's error
    a = _input(node, 0, a_arr)
    q, r = linalg.qr(a)
    gq, gr = unpack(g, 2)
    gq = q.new_zeros(tuple(q.shape)) if gq is None else gq
    gr = r.new_zeros(tuple(r.shape)) if gr is None else gr
    if m >= n:
        return (_qr_back(q, r, gq, gr),)
    # wide: A = [A1 A2] with A1 = Q R1 square and R2 = Q^T A2
    a2, gr2 = a[..., m:], gr[..., m:]
    ga1 = _qr_back(q, r[..., :m], gq + a2.matmul(_T(gr2)), gr[..., :m])
    return (cat([ga1, q.matmul(gr2)], -1),)


def _qr_back(q, r, gq, gr):
    """The tall case: gA = (gQ + Q N) R^-T, N the upper triangle of gR R^T - Q^T gQ copied
    into the lower one."""
    from .. import linalg
    mm = gr.matmul(_T(r)) - _T(q).matmul(gq)
    nn = mm.triu() + _T(mm.triu(1))
    # X R^-T as the solution of R X^T = (gQ + Q N)^T
    return _T(linalg.solve(r, _T(gq + q.matmul(nn))))


def _aligned_svd(node, u_arr, s_arr, vh_arr):
    """U, S, V^T (reduced) recomputed from the linked input rebuilt from the saved factors,
    each singular pair's sign matched to the saved one."""
    from .. import linalg
    a = _input(node, 0, (u_arr * s_arr[..., None, :]) @ vh_arr)
    u, s, vh = linalg.svd(a, full_matrices=False)
    signs = np.sign((u.detach().numpy() * u_arr).sum(-2))
    signs = u.new_tensor(np.where(signs == 0, 1, signs))
    return u * signs.unsqueeze(-2), s, vh * signs.unsqueeze(-1)


@rule(D.LinalgSvdBackward0)
def _svd(node, g):
    from .. import diag_embed, where
    u_arr, s_arr, vh_arr = node.saved
    k = s_arr.shape[-1]
    u, s, vh = _aligned_svd(node, u_arr[..., :, :k], s_arr, vh_arr[..., :k, :])
    gu, gs, gvh = unpack(g, 3)
    # with full_matrices the extra columns are an arbitrary basis: their grads are ignored
    gu = None if gu is None else gu[..., :, :k]
    gvh = None if gvh is None else gvh[..., :k, :]
    mid = diag_embed(gs) if gs is not None else s.new_zeros(tuple(s.shape) + (k,))
    if gu is None and gvh is None:
        return (u.matmul(mid).matmul(vh),)
    sq = s * s
    gap = sq.unsqueeze(-2) - sq.unsqueeze(-1)  # s_j^2 - s_i^2
    off = ~_eye_like(mid).bool()
    f = where(off, 1.0 / where(off, gap, gap.new_ones(())), gap.new_zeros(()))
    m, n, out = u.shape[-2], vh.shape[-1], None
    if gu is not None:
        j = _T(u).matmul(gu)
        mid = mid + (f * (j - _T(j))) * s.unsqueeze(-2)
        if m > k:
            out = ((gu - u.matmul(j)) / s.unsqueeze(-2)).matmul(vh)
    if gvh is not None:
        gv, v = _T(gvh), _T(vh)
        j = vh.matmul(gv)
        mid = mid + s.unsqueeze(-1) * (f * (j - _T(j)))
        if n > k:
            extra = (u / s.unsqueeze(-2)).matmul(_T(gv - v.matmul(j)))
            out = extra if out is None else out + extra
    ga = u.matmul(mid).matmul(vh)
    return (ga if out is None else ga + out,)


@rule(D.LinalgSvdvalsBackward0)
def _svdvals(node, g):
    u_arr, s_arr, vh_arr = node.saved
    # gA = U diag(g) V^T, with U and V^T recomputed so that their own gradients reach A
    u, _, vh = _aligned_svd(node, u_arr, s_arr, vh_arr)
    return ((u * g.unsqueeze(-2)).matmul(vh),)
