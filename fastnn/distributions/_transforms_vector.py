"""Transforms acting on whole vectors or matrices: reshape, softmax, stick-breaking and
the lower-Cholesky map, for ``fastnn.distributions.transforms``."""
import fastnn
import fastnn.nn.functional as F

from . import constraints
from ._transforms_elementwise import _clipped_sigmoid
from .transforms import Transform, _Stateless


class ReshapeTransform(Transform):
    """Reshape the rightmost ``in_shape`` dims to ``out_shape`` (same element count);
    volume preserving, so the log-determinant is zero over the batch."""
    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape = fastnn.Size(tuple(in_shape))
        self.out_shape = fastnn.Size(tuple(out_shape))
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    domain = property(lambda self: constraints.independent(constraints.real,
                                                           len(self.in_shape)))
    codomain = property(lambda self: constraints.independent(constraints.real,
                                                             len(self.out_shape)))


    @staticmethod
    def _swap(t, old, new):
        lead = tuple(t.shape)[: t.dim() - len(old)]
        return t.reshape(lead + tuple(new))

    def _call(self, x):
        return self._swap(x, self.in_shape, self.out_shape)

    def _inverse(self, y):
        return self._swap(y, self.out_shape, self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        lead = tuple(x.shape)[: x.dim() - len(self.in_shape)]
        return fastnn.zeros(lead, dtype=x.dtype)

    @staticmethod
    def _reshape_shape(shape, old, new):
        shape = tuple(shape)
        if len(shape) < len(old):
            raise ValueError("Too few dimensions on input")
        cut = len(shape) - len(old)
        if shape[cut:] != tuple(old):
            raise ValueError(f"Shape mismatch: expected {shape[cut:]} but got {tuple(old)}")
        return shape[:cut] + tuple(new)

    def forward_shape(self, shape):
        return self._reshape_shape(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return self._reshape_shape(shape, self.out_shape, self.in_shape)


class SoftmaxTransform(_Stateless):
    """Unconstrained vectors to the simplex by softmax (not injective; the inverse is the
    log, one of the many preimages)."""
    domain = constraints.real_vector
    codomain = constraints.simplex

    def _call(self, x):
        return fastnn.softmax(x, -1)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return shape

    inverse_shape = forward_shape


def _stick_offsets(k, like):
    """log(k), log(k - 1), ..., log(1): centres the stick-breaking logits so that x = 0
    maps to the uniform point of the simplex."""
    return fastnn.arange(k, 0, -1, dtype=like.dtype).log()


class StickBreakingTransform(_Stateless):
    """R^(K-1) to the K-simplex: each coordinate takes a sigmoid fraction of the stick
    that is left.  Bijective, with a closed-form triangular Jacobian."""
    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def _call(self, x):
        z = _clipped_sigmoid(x - _stick_offsets(x.shape[-1], x))
        left = (1 - z).cumprod(-1)
        return F.pad(z, [0, 1], value=1) * F.pad(left, [1, 0], value=1)

    def _inverse(self, y):
        head = y[..., :-1]
        rest = (1 - head.cumsum(-1)).clamp(min=fastnn.finfo(y.dtype).tiny)
        return head.log() - rest.log() + _stick_offsets(head.shape[-1], y)

    def log_abs_det_jacobian(self, x, y):
        shifted = x - _stick_offsets(x.shape[-1], x)
        return (-shifted + F.logsigmoid(shifted) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return fastnn.Size(tuple(shape)[:-1] + (shape[-1] + 1,))

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return fastnn.Size(tuple(shape)[:-1] + (shape[-1] - 1,))


class LowerCholeskyTransform(_Stateless):
    """Square matrices to lower-triangular ones with a positive (exponentiated) diagonal."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def _call(self, x):
        return x.tril(-1) + fastnn.diag_embed(x.diagonal(dim1=-2, dim2=-1).exp())

    def _inverse(self, y):
        return y.tril(-1) + fastnn.diag_embed(y.diagonal(dim1=-2, dim2=-1).log())
