"""The LKJ distribution over Cholesky factors of correlation matrices."""
import math

import fastnn

from . import constraints
from ._special import lgamma
from .beta import Beta
from .distribution import Distribution
from .utils import broadcast_all
from .wishart import _mvlgamma

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """LKJCholesky(dim, concentration=1.0): L with L L^T a dim x dim correlation matrix of
    density proportional to det(L L^T)^(concentration - 1).  Draws use the onion method:
    row i is sqrt(y_i) times a uniform direction, y_i ~ Beta, and a positive diagonal entry
    that gives the row unit norm."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError("Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        marginal = self.concentration + 0.5 * (dim - 2)
        offset = fastnn.arange(dim - 1, dtype=self.concentration.dtype)
        offset = fastnn.cat([fastnn.zeros(1, dtype=offset.dtype), offset])
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset)
        super().__init__(self.concentration.size(), (dim, dim), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = tuple(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(batch_shape + (self.dim,))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        with fastnn.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            normal = fastnn.randn(tuple(self._extended_shape(sample_shape)),
                                  dtype=y.dtype).tril(-1)
            norm = normal.norm(dim=-1, keepdim=True)
            # row 0 has no entries below the diagonal: its direction is the zero vector
            direction = normal / fastnn.where(norm > 0, norm, fastnn.ones_like(norm))
            w = y.sqrt() * direction
            tiny = fastnn.finfo(w.dtype).tiny
            diag = (1 - (w * w).sum(-1)).clamp(min=tiny).sqrt()
            return w + fastnn.diag_embed(diag)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diag = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = fastnn.arange(2, self.dim + 1, dtype=self.concentration.dtype)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        normalizer = (0.5 * dm1 * math.log(math.pi) + _mvlgamma(alpha - 0.5, dm1)
                      - lgamma(alpha) * dm1)
        return unnormalized - normalizer
