"""Tensor methods for the functions of fastnn._functions_linalg (a mixin of Tensor)."""


def _F():
    from . import _functions_linalg
    return _functions_linalg


class LinalgMixin:
    __slots__ = ()

    def inverse(self):
        """self^-1."""
        return _F().inverse(self)

    def det(self):
        """det(self)."""
        return _F().det(self)

    def logdet(self):
        """log det(self) (nan for a negative determinant)."""
        return _F().logdet(self)

    def slogdet(self):
        """(sign, log|det|)."""
        return _F().slogdet(self)

    def pinverse(self, rcond=1e-15, hermitian=False):
        """The pseudoinverse self^+."""
        return _F().pinverse(self, rcond, hermitian)

    def svd(self, some=True, compute_uv=True):
        """(U, S, V) with self = U diag(S) V^T."""
        return _F().svd(self, some, compute_uv)

    def qr(self, some=True):
        """(Q, R) with self = QR."""
        return _F().qr(self, some)

    def cholesky(self, upper=False):
        """The Cholesky factor L (or U = L^T)."""
        return _F().cholesky(self, upper)

    def cholesky_solve(self, input2, upper=False):
        """X with (L L^T) X = self, L = input2."""
        return _F().cholesky_solve(self, input2, upper)

    def cholesky_inverse(self, upper=False):
        """(L L^T)^-1 with L = self."""
        return _F().cholesky_inverse(self, upper)

    def matrix_exp(self):
        """exp(self) of the matrices."""
        return _F().matrix_exp(self)
