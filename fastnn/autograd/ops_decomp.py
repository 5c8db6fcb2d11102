"""Matrix inverses, determinants, solves and factorizations (forward through numpy.linalg).

Every op works on stacks of matrices (..., m, n). Backward formulas come from the
differentials of the defining identities (A A^-1 = I, A = QR, A = U S V^T, ...); F below is
the usual matrix with F_ij = 1 / (d_j - d_i) off the diagonal and 0 on it.
Factorizations with several differentiable outputs gather their gradients through
``fan.route`` (see ``apply_multi``).
"""
import numpy as np

from . import grad_mode, node as _node
from .engine import _edge, record_trace
from .fan import SlotBackward, route, unpack
from .node import Node, anomaly, new_sequence_number
from .ops_math import renamed, unbroadcast
from .saved_hooks import hooks as saved_hooks, pack_node

_state = grad_mode.state


class LinAlgError(RuntimeError):
    """A matrix that a fastnn.linalg routine cannot factor (singular, not positive-definite)."""


def _T(x):
    return np.swapaxes(x, -1, -2)


def _diag_embed(v):
    out = np.zeros(v.shape + v.shape[-1:], v.dtype)
    i = np.arange(v.shape[-1])
    out[..., i, i] = v
    return out


def _gap_inverse(d):
    """F_ij = 1 / (d_j - d_i) for i != j, 0 on the diagonal (inf where values repeat)."""
    diff = d[..., None, :] - d[..., :, None]
    n = d.shape[-1]
    diff[..., np.arange(n), np.arange(n)] = np.inf
    with np.errstate(divide="ignore"):
        return 1.0 / diff


def _right_inv_T(z, r):
    """z R^-T for square R: (R^-1 z^T)^T."""
    return _T(np.linalg.solve(r, _T(z)))


def apply_multi(cls, inputs, *args):
    """Run a node whose forward returns a tuple of arrays; the outputs named differentiable by
    ``node.diff`` feed it as slots, so backward receives one gradient per output."""
    node = cls()
    record = _state.enabled and any(t._rg for t in inputs)
    if record:
        node._next = tuple(t.grad_fn or _edge(t) for t in inputs)
        node._seq = new_sequence_number()
    arrs = node.forward(*[t._data for t in inputs], *args)
    wrap = _node._wrap
    outs = [wrap(a) for a in arrs]
    if record:
        # each output's node takes the op's class name, as PyTorch shows it
        route(node, [o if d else None for o, d in zip(outs, node.diff)],
              renamed(SlotBackward, node.name()))
        vcs = []
        for s in node.saved:
            owners = [t for t in inputs if t._data is s] + [o for o in outs if o._data is s]
            if owners:
                vcs.append(_node.saved_version(owners[0], s))
        node._vcs = vcs
        if saved_hooks.stack:
            pack_node(node, (*inputs, *outs))
        if anomaly.enabled:
            record_trace(node)
    return outs


# ---- inverse, determinant, solves ------------------------------------------------------------
class LinalgInvExBackward0(Node):
    """Y = A^-1: dY = -Y dA Y, so gA = -Y^T G Y^T."""

    def forward(self, a, invert):
        y = invert(a)
        self.save(y)
        return y

    def backward(self, g):
        yt = _T(self.saved[0])
        return (-(yt @ g @ yt),)


def cofactor(a):
    """adj(A)^T = det(U) det(V) U adj(S) V^T from the SVD: defined for singular A too."""
    u, s, vh = np.linalg.svd(a)
    n = s.shape[-1]
    ones = np.ones(s.shape[:-1] + (1,), s.dtype)
    left = np.cumprod(np.concatenate([ones, s[..., :-1]], -1), -1)   # prod_{j<i} s_j
    right = np.cumprod(np.concatenate([ones, s[..., :0:-1]], -1), -1)[..., ::-1]
    adj_s = left * right if n else s
    sign = np.linalg.det(u) * np.linalg.det(vh)
    return sign[..., None, None] * ((u * adj_s[..., None, :]) @ vh)


class LinalgDetBackward0(Node):
    """d det(A) = <cof(A), dA>: gA = g cof(A)."""

    def forward(self, a):
        self.save(a)
        return np.linalg.det(a)

    def backward(self, g):
        return (np.asarray(g)[..., None, None] * cofactor(self.saved[0]),)


def inverse_T(a):
    """A^-T, with infinities (not an error) where A is singular."""
    try:
        return _T(np.linalg.inv(a))
    except np.linalg.LinAlgError:
        u, s, vh = np.linalg.svd(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (u / s[..., None, :]) @ vh


class LinalgSlogdetBackward0(Node):
    """(sign, log|det A|); d log|det A| = <A^-T, dA>, the sign is piecewise constant."""
    diff = (False, True)

    def forward(self, a):
        self.save(a)
        sign, logabs = np.linalg.slogdet(a)
        return np.asarray(sign), np.asarray(logabs)

    def backward(self, g):
        gl = unpack(g, 2)[1]
        if gl is None:
            return (None,)
        return (np.asarray(gl)[..., None, None] * inverse_T(self.saved[0]),)


class LinalgSolveExBackward0(Node):
    """X = A^-1 B (batch dims broadcast): gB = A^-T G, gA = -gB X^T."""

    def forward(self, a, b, solve):
        self.meta = (a.shape, a.dtype, b.shape, b.dtype)
        x = solve(a, b)
        self.save(a, x)
        return x

    def backward(self, g):
        a, x = self.saved
        a_shape, a_dt, b_shape, b_dt = self.meta
        gb = np.linalg.solve(_T(a), g)
        ga = unbroadcast(-(gb @ _T(x)), a_shape, a_dt) if self.needs(0) else None
        return ga, (unbroadcast(gb, b_shape, b_dt) if self.needs(1) else None)


def triangle(a, upper, unit):
    t = np.triu(a) if upper else np.tril(a)
    if unit:
        i = np.arange(a.shape[-1])
        t[..., i, i] = 1
    return t


def substitute(t, b, upper):
    """Row-by-row substitution, vectorised over batches and columns; a zero on the diagonal
    gives inf/nan in the rows that depend on it, as a triangular BLAS solve would."""
    n = t.shape[-1]
    shape = np.broadcast_shapes(t.shape[:-2], b.shape[:-2]) + b.shape[-2:]
    x = np.zeros(shape, np.result_type(t, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            s = (t[..., i:i + 1, :] @ x)[..., 0, :]
            x[..., i, :] = (b[..., i, :] - s) / t[..., i, i, None]
    return x


def solve_tri(t, b, upper):
    diag = np.diagonal(t, 0, -2, -1)
    if diag.size and (diag == 0).any():
        return substitute(t, b, upper)
    return np.linalg.solve(t, b)


class LinalgSolveTriangularBackward0(Node):
    """X = T^-1 B with T the (unit) triangle of A: gB = T^-T G, gA = that triangle of
    -gB X^T (the strict one when the diagonal is implied)."""

    def forward(self, a, b, upper, unit):
        self.meta = (a.shape, a.dtype, b.shape, b.dtype, upper, unit)
        t = triangle(a, upper, unit)
        x = solve_tri(t, b, upper)
        self.save(t, x)
        return x

    def backward(self, g):
        t, x = self.saved
        a_shape, a_dt, b_shape, b_dt, upper, unit = self.meta
        gb = solve_tri(_T(t), g, not upper)
        ga = None
        if self.needs(0):
            ga = -(gb @ _T(x))
            ga = np.triu(ga, int(unit)) if upper else np.tril(ga, -int(unit))
            ga = unbroadcast(ga, a_shape, a_dt)
        return ga, (unbroadcast(gb, b_shape, b_dt) if self.needs(1) else None)


# ---- factorizations ----------------------------------------------------------------------
class LinalgCholeskyExBackward0(Node):
    """A = L L^T: dL = L Phi(L^-1 dA L^-T) with Phi = lower triangle, diagonal halved; so
    gA = sym(L^-T Phi(L^T gL) L^-1)."""

    def forward(self, a, upper, factor):
        self.upper = upper
        low = factor(a)
        self.save(low)
        return _T(low) if upper else low

    def backward(self, g):
        low = self.saved[0]
        gl = _T(g) if self.upper else g
        p = np.tril(_T(low) @ gl)
        i = np.arange(p.shape[-1])
        p[..., i, i] *= 0.5
        lt = _T(low)
        s = _T(np.linalg.solve(lt, _T(np.linalg.solve(lt, p))))
        return (0.5 * (s + _T(s)),)


def _qr_back(q, r, gq, gr):
    """A = QR with m >= n: gA = (gQ + Q N) R^-T, N = copy of triu(M) into the lower part,
    M = gR R^T - Q^T gQ (from dR R^-1 upper and Q^T dQ antisymmetric)."""
    m = gr @ _T(r) - _T(q) @ gq
    n = np.triu(m) + _T(np.triu(m, 1))
    return _right_inv_T(gq + q @ n, r)


class LinalgQrBackward0(Node):
    diff = (True, True)

    def forward(self, a, mode):
        self.mode = mode
        if mode == "r":
            r = np.linalg.qr(a, mode="r")
            q = np.zeros((0,), a.dtype)
        else:
            q, r = np.linalg.qr(a, mode=mode)
        self.save(a, q, r)
        return q, r

    def backward(self, g):
        a, q, r = self.saved
        if self.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Use linalg.qr(A, mode='reduced') to "
                               "differentiate through linalg.qr.")
        m, n = a.shape[-2:]
        if self.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        gq, gr = unpack(g, 2)
        gq = np.zeros_like(q) if gq is None else gq
        gr = np.zeros_like(r) if gr is None else gr
        if m >= n:
            return (_qr_back(q, r, gq, gr),)
        # wide: A = [A1 A2] with A1 = Q R1 square and R2 = Q^T A2
        a2, gr2 = a[..., m:], gr[..., m:]
        ga1 = _qr_back(q, r[..., :m], gq + a2 @ _T(gr2), gr[..., :m])
        return (np.concatenate([ga1, q @ gr2], -1),)


def svd_back(u, s, vh, gu, gs, gvh):
    """A = U S V^T (reduced, k = min(m, n) values, assumed distinct and nonzero):
    gA = U [sk(F o U^T gU) S + diag(gS) + S sk(F o V^T gV)] V^T plus the parts of gU, gV
    outside span(U), span(V); sk(X) = X - X^T, F_ij = 1/(s_j^2 - s_i^2)."""
    v = _T(vh)
    mid = _diag_embed(gs) if gs is not None else np.zeros(s.shape + s.shape[-1:], s.dtype)
    if gu is None and gvh is None:
        return u @ mid @ vh
    f = _gap_inverse(s * s)
    m, n = u.shape[-2], v.shape[-2]
    k = s.shape[-1]
    out = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if gu is not None:
            j = _T(u) @ gu
            mid = mid + (f * (j - _T(j))) * s[..., None, :]
            if m > k:
                out = out + ((gu - u @ j) / s[..., None, :]) @ vh
        if gvh is not None:
            gv = _T(gvh)
            j = vh @ gv
            mid = mid + s[..., :, None] * (f * (j - _T(j)))
            if n > k:
                out = out + (u / s[..., None, :]) @ _T(gv - v @ j)
    return u @ mid @ vh + out


def _column_major(m):
    """A copy of the matrices ``m`` with each laid out column by column."""
    return np.ascontiguousarray(np.swapaxes(m, -1, -2)).swapaxes(-1, -2)


class LinalgSvdBackward0(Node):
    diff = (True, True, True)

    def forward(self, a, full):
        u, s, vh = np.linalg.svd(a, full_matrices=full)
        self.save(u, s, vh)
        # U and Vh come column-major, as LAPACK writes them in PyTorch (torch.svd's V = Vh^H
        # is then C-ordered)
        return _column_major(u), s, _column_major(vh)

    def backward(self, g):
        u, s, vh = self.saved
        gu, gs, gvh = unpack(g, 3)
        k = s.shape[-1]
        # with full_matrices the extra columns are an arbitrary basis: their grads are ignored
        u, vh = u[..., :, :k], vh[..., :k, :]
        gu = None if gu is None else gu[..., :, :k]
        gvh = None if gvh is None else gvh[..., :k, :]
        return (svd_back(u, s, vh, gu, gs, gvh),)


class LinalgSvdvalsBackward0(Node):
    """gA = U diag(g) V^T (the vectors are computed only when a gradient is recorded)."""

    def forward(self, a):
        if self._next is None:
            return np.linalg.svd(a, compute_uv=False)
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        self.save(u, s, vh)  # S too: the second-order rule rebuilds A from all three
        return s

    def backward(self, g):
        u, _, vh = self.saved
        return ((u * g[..., None, :]) @ vh,)


class LinalgEighBackward0(Node):
    """A = V diag(w) V^T: gA = sym(V (diag(gw) + F o V^T gV) V^T), F_ij = 1/(w_j - w_i)
    (symmetrised, as A is taken to be symmetric)."""
    diff = (True, True)

    def forward(self, a, uplo):
        w, v = np.linalg.eigh(a, UPLO=uplo)
        self.save(w, v)
        return w, v

    def backward(self, g):
        w, v = self.saved
        gw, gv = unpack(g, 2)
        mid = _diag_embed(gw) if gw is not None else np.zeros(v.shape, v.dtype)
        if gv is not None:
            with np.errstate(invalid="ignore"):
                mid = mid + _gap_inverse(w) * (_T(v) @ gv)
        ga = v @ mid @ _T(v)
        return (0.5 * (ga + _T(ga)),)


class LinalgEigvalshBackward0(Node):
    """gA = V diag(g) V^T."""

    def forward(self, a, uplo):
        if self._next is None:
            return np.linalg.eigvalsh(a, UPLO=uplo)
        w, v = np.linalg.eigh(a, UPLO=uplo)
        self.save(v)
        self.values = w  # with V, rebuilds A for the second-order rule
        return w

    def backward(self, g):
        v = self.saved[0]
        return ((v * g[..., None, :]) @ _T(v),)


def pinv_array(a, atol, rtol, hermitian):
    """A^+ from the SVD (or eigh when A is symmetric), dropping values <= max(atol, rtol s_1)."""
    if hermitian:
        w, v = np.linalg.eigh(a)
        s, u, vh = np.abs(w), v * np.sign(w)[..., None, :], _T(v)
    else:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
    smax = s.max(-1, keepdims=True, initial=0.0)
    keep = s > np.maximum(atol, rtol * smax)
    with np.errstate(divide="ignore"):
        inv_s = np.where(keep, 1.0 / np.where(keep, s, 1), 0).astype(s.dtype)
    return (_T(vh) * inv_s[..., None, :]) @ _T(u)


class LinalgPinvBackward0(Node):
    """P = A^+ at constant rank: gA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""

    def forward(self, a, atol, rtol, hermitian):
        p = pinv_array(a, atol, rtol, hermitian)
        self.save(a, p)
        return p

    def backward(self, g):
        a, p = self.saved
        pt, gt = _T(p), _T(g)
        out = -(pt @ g @ pt)
        out = out + (gt @ p - a @ (p @ gt @ p)) @ pt
        return (out + pt @ (p @ (gt - (gt @ p) @ a)),)


# ---- matrix exponential ------------------------------------------------------------------
def expm(a):
    """exp(A) by scaling and squaring: degree-18 Taylor on A / 2^s with |A / 2^s|_inf <= 1/2,
    in float64, then squared s times (per matrix)."""
    x = a.astype(np.float64)
    n = x.shape[-1]
    if x.size == 0:
        return np.zeros_like(a)
    norm = np.abs(x).sum(-1).max(-1)
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / 0.5))).astype(np.int64)
    x = x / np.exp2(s)[..., None, None]
    eye = np.eye(n)
    e = eye + x / 18
    for k in range(17, 0, -1):
        e = eye + (x @ e) / k
    for j in range(int(s.max(initial=0))):
        e = np.where((j < s)[..., None, None], e @ e, e)
    return e.astype(a.dtype)


class LinalgMatrixExpBackward0(Node):
    """The Frechet derivative: gA is the upper right block of exp([[A^T, G], [0, A^T]])."""

    def forward(self, a):
        self.save(a)
        return expm(a)

    def backward(self, g):
        at = _T(self.saved[0])
        n = at.shape[-1]
        shape = np.broadcast_shapes(at.shape, g.shape)
        big = np.zeros(shape[:-2] + (2 * n, 2 * n), at.dtype)
        big[..., :n, :n] = at
        big[..., n:, n:] = at
        big[..., :n, n:] = g
        return (expm(big)[..., :n, n:],)
