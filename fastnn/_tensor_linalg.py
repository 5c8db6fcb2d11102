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

    def adjoint(self):
        """The transpose of the last two dims (a view)."""
        from ._linalg_more import adjoint
        return adjoint(self)

    def lu(self, pivot=True, get_infos=False):
        """(LU, pivots) (and infos with get_infos) of self = P L U."""
        from ._linalg_lu import lu
        return lu(self, pivot, get_infos)

    def lu_solve(self, LU_data, LU_pivots):
        """X with A X = self for A = P L U given by lu."""
        from ._linalg_lu import lu_solve
        return lu_solve(self, LU_data, LU_pivots)

    def triangular_solve(self, A, upper=True, transpose=False, unitriangular=False):
        """(X, A's copy) with T X = self, T a triangle of A."""
        from ._linalg_more import triangular_solve
        return triangular_solve(self, A, upper, transpose, unitriangular)

    def geqrf(self):
        """(a, tau): LAPACK's packed QR."""
        from ._linalg_more import geqrf
        return geqrf(self)

    def orgqr(self, input2):
        """The Q of geqrf's (self, tau = input2)."""
        from ._linalg_more import orgqr
        return orgqr(self, input2)

    def ormqr(self, input2, input3, left=True, transpose=False):
        """Q input3 (or its variants) for the Q of geqrf's (self, tau = input2)."""
        from ._linalg_more import ormqr
        return ormqr(self, input2, input3, left, transpose)
