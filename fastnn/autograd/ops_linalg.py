"""Matrix products."""
import numpy as np

from .node import Node, save_unchecked
from .ops_math import unbroadcast


def _swap(x):
    return np.swapaxes(x, -1, -2)


def _col_major(x):
    """Whether 2-D ``x`` is a transposed C-ordered matrix (laid out column by column)."""
    flags = x.flags
    return flags.f_contiguous and not flags.c_contiguous


class MmBackward0(Node):
    """matmul with NumPy's rules for 1-D and batched (broadcast) operands."""

    def forward(self, a, b):
        self.meta = (a.shape, a.dtype, b.shape, b.dtype)
        nxt = self._next
        if nxt is not None and (nxt[0] is None or nxt[1] is None):  # ga or gb not wanted
            self.save(a if nxt[1] is not None else save_unchecked(a),
                      b if nxt[0] is not None else save_unchecked(b))
        else:
            self.save(a, b)
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.saved
        a_shape, a_dt, b_shape, b_dt = self.meta
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        # put back the dims that 1-D operands dropped (b's last, then a's second to last)
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]
        ga = gb = None
        # A 2-D operand's gradient takes its layout: for a transposed matrix the transposed
        # product is computed and transposed back (same FLOPs), so that the gradient of the
        # matrix it was transposed from comes out C-ordered. Batched operands keep C order.
        if self.needs(0):
            if a.ndim == 2 and b.ndim == 2 and _col_major(a):
                ga = unbroadcast(np.matmul(b2, _swap(g2)), (a_shape[1], a_shape[0]), a_dt).T
            else:
                ga = unbroadcast(np.matmul(g2, _swap(b2)), a2.shape, a_dt).reshape(a_shape)
        if self.needs(1):
            if b.ndim == 2 and _col_major(b):
                gb = unbroadcast(np.matmul(_swap(g2), a2), (b_shape[1], b_shape[0]), b_dt).T
            else:
                gb = unbroadcast(np.matmul(_swap(a2), g2), b2.shape, b_dt).reshape(b_shape)
        return ga, gb


class AddmmBackward0(Node):
    """beta * input + alpha * (mat1 @ mat2)"""

    def forward(self, inp, m1, m2, beta, alpha):
        self.meta = (inp.shape, inp.dtype)
        self.beta, self.alpha = beta, alpha
        self.save(m1, m2)
        out = np.matmul(m1, m2)
        if alpha != 1:
            out *= alpha
        if beta == 0:
            return out + np.zeros_like(inp)
        out += inp if beta == 1 else beta * inp
        return out

    def backward(self, g):
        m1, m2 = self.saved
        gi = g1 = g2 = None
        if self.needs(0):
            gi = unbroadcast(g if self.beta == 1 else g * self.beta, *self.meta)
        ga = g if self.alpha == 1 else g * self.alpha
        # each matrix's gradient in that matrix's layout, as in MmBackward0
        if self.needs(1):
            g1 = (m2 @ ga.T).T if _col_major(m1) else ga @ m2.T
        if self.needs(2):
            g2 = (ga.T @ m1).T if _col_major(m2) else m1.T @ ga
        return gi, g1, g2
