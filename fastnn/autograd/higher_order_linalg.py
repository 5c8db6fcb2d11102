"""Second-order rules of the triangular and Cholesky-factor solvers, eigvalsh and the LU
factorization, for ``create_graph=True`` (Hessians of MultivariateNormal log-probs, of
losses through lu_solve or cholesky_solve).

Each rule writes its node's first-order formula in differentiable Tensor ops: the solves go
through the same linalg functions (so the next order uses these rules again), a saved output
is linked back to its node, and a saved input to that input's gradient edge.
"""
import numpy as np

from .. import _linalg_lu as LU
from .. import _linalg_more as LM
from . import ops_decomp as D
from .higher_order import _fit, _input, _output, rule


def _T(x):
    return x.transpose(-1, -2)


def _tri(x, upper, strict=False):
    return x.triu(int(strict)) if upper else x.tril(-int(strict))


@rule(D.LinalgSolveTriangularBackward0)
def _solve_triangular(node, g):
    from .. import linalg
    t_arr, x_arr = node.saved
    a_shape, a_dt, b_shape, b_dt, upper, unit = node.meta
    # t holds A's triangle, which is all the forward read of A; solve_triangular reads the
    # same triangle again, so the gradient reaching A stays inside it
    t = _input(node, 0, t_arr)
    gb = linalg.solve_triangular(_T(t), g, upper=not upper, unitriangular=unit)
    ga = None
    if node._next[0] is not None:
        ga = _fit(_tri(-(gb.matmul(_T(_output(node, x_arr)))), upper, unit), a_shape, a_dt)
    return ga, (_fit(gb, b_shape, b_dt) if node._next[1] is not None else None)


def _dense_factor_grad(f, sym, upper):
    """The gradient of the whole factor for a symmetric gA (the first-order convention)."""
    return f.matmul(sym) if upper else sym.matmul(f)


@rule(LM.CholeskyInverseBackward0)
def _cholesky_inverse(node, g):
    f_arr, r_arr = node.saved
    f, r = _input(node, 0, f_arr), _output(node, r_arr)
    ga = -(r.matmul(g + _T(g)).matmul(r))
    return (_fit(_dense_factor_grad(f, ga, node.upper), f_arr.shape, f_arr.dtype),)


@rule(LM.CholeskySolveBackward0)
def _cholesky_solve(node, g):
    from .. import cholesky_solve
    f_arr, x_arr = node.saved
    b_shape, b_dt, f_shape, f_dt = node.meta
    f = _input(node, 1, f_arr)
    gb = cholesky_solve(g, f, upper=node.upper)
    gf = None
    if node._next[1] is not None:
        x = _output(node, x_arr)
        sym = -(gb.matmul(_T(x)) + x.matmul(_T(gb)))
        gf = _fit(_dense_factor_grad(f, sym, node.upper), f_shape, f_dt)
    return (_fit(gb, b_shape, b_dt) if node._next[0] is not None else None), gf


@rule(D.LinalgEigvalshBackward0)
def _eigvalsh(node, g):
    from .. import linalg
    v_arr, w_arr = node.saved[0], node.values
    # rebuild the (symmetric) input from its factors, linked to the input, and factor it
    # again so that V's own gradient reaches A; V diag(g) V^T does not depend on V's signs
    a = _input(node, 0, (v_arr * w_arr[..., None, :]) @ np.swapaxes(v_arr, -1, -2))
    _, v = linalg.eigh(a)
    return (v.mul(g.unsqueeze(-2)).matmul(_T(v)),)


@rule(LU.LinalgLuFactorExBackward0)
def _lu_factor(node, g):
    from .. import cat, eye, from_numpy, linalg
    lu_arr = node.saved[0]
    lu = _output(node, lu_arr)
    m, n = lu_arr.shape[-2:]
    k = min(m, n)
    low = lu[..., :, :k].tril(-1) + eye(m, k, dtype=lu.dtype)
    up = lu[..., :k, :].triu()
    gl, gu = g[..., :, :k].tril(-1), g[..., :k, :].triu()
    l1, l2, gl1, gl2 = low[..., :k, :], low[..., k:, :], gl[..., :k, :], gl[..., k:, :]
    u1, u2, gu1, gu2 = up[..., :k], up[..., k:], gu[..., :k], gu[..., k:]
    mid = (_T(l1).matmul(gl1) - gu2.matmul(_T(u2))).tril(-1) + \
        (gu1.matmul(_T(u1)) - _T(l2).matmul(gl2)).triu()

    def left_lt(x):   # L1^-T x
        return linalg.solve_triangular(_T(l1), x, upper=True, unitriangular=True)

    def right_ut(x):  # x U1^-T
        return linalg.solve_triangular(_T(u1), x, upper=False, left=False)
    top = left_lt(mid if n == k else cat([mid, gu2], -1))
    top = right_ut(top) if n == k else cat([right_ut(top[..., :k]), top[..., k:]], -1)
    gb = top if m == k else cat([top, right_ut(gl2)], -2)
    # undo the row permutation P: row perm[i] of A became row i of P^T A
    inverse = np.argsort(node.perm, axis=-1)
    shape = tuple(gb.shape)
    index = from_numpy(np.ascontiguousarray(
        np.broadcast_to(inverse[..., :, None], shape[:-2] + (m, shape[-1])), np.int64))
    return (_fit(gb.gather(-2, index), lu_arr.shape, lu_arr.dtype),)
