"""The Dirichlet distribution over probability vectors."""

import fastnn
import fastnn.nn.functional as F

from . import constraints
from ._special import digamma, lgamma
from ._gamma_rsample import standard_gamma_rsample
from .distribution import ExponentialFamily
from .utils import _normalized_draws, _unit_gamma_draws, xlogy

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """Dirichlet(concentration): density Gamma(a0) / prod Gamma(a_i) * prod x_i^(a_i - 1)
    on the simplex, a0 = sum a_i; the last dim of ``concentration`` is the event.
    ``sample`` normalises Gamma draws; ``rsample`` normalises reparameterized ones."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True
    _tensor_params = ("concentration",)

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = concentration.size()
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    @property
    def _total(self):
        return self.concentration.sum(-1, keepdim=True)

    @property
    def mean(self):
        return self.concentration / self._total

    @property
    def mode(self):
        """(a - 1)+ / sum (a - 1)+; when every a_i < 1, the first vertex (as PyTorch)."""
        a = self.concentration
        excess = (a - 1).clamp(min=0)
        spiky = (a < 1).all(-1, keepdim=True)
        denom = fastnn.where(spiky, fastnn.ones_like(self._total), excess.sum(-1, keepdim=True))
        first = fastnn.zeros(a.shape[:-1], dtype=fastnn.int64)
        vertex = F.one_hot(first, num_classes=a.shape[-1]).to(a.dtype)
        return fastnn.where(spiky, vertex, excess / denom)

    @property
    def variance(self):
        a, a0 = self.concentration, self._total
        return a * (a0 - a) / (a0.pow(2) * (a0 + 1))

    def rsample(self, sample_shape=()):
        g = standard_gamma_rsample(self.concentration, self._extended_shape(sample_shape))
        x = g / g.sum(-1, keepdim=True)
        info = fastnn.finfo(x.dtype)
        return x.clamp(min=info.tiny, max=1 - info.eps / 2)  # largest value below 1

    def sample(self, sample_shape=()):
        # independent Gamma(a_i, 1) draws divided by their sum are Dirichlet(a)
        g = _unit_gamma_draws(self.concentration, self._extended_shape(sample_shape))
        return _normalized_draws(g, g, self.concentration.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return (xlogy(a - 1, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))

    def entropy(self):
        """H = log B(a) + (a0 - k) psi(a0) - sum (a_i - 1) psi(a_i)."""
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return (lgamma(a).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0)
                - ((a - 1) * digamma(a)).sum(-1))
