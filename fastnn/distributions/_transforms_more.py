"""Softplus, positive-definite, CDF, concatenated/stacked and correlation-Cholesky
transforms, for ``fastnn.distributions.transforms``."""
import math

import fastnn
import fastnn.nn.functional as F

from . import constraints
from ._transforms_vector import LowerCholeskyTransform
from .transforms import Transform, _Stateless
from .utils import _sum_rightmost


class SoftplusTransform(_Stateless):
    """y = log(1 + exp(x))."""
    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def _call(self, x):
        return F.softplus(x)

    def _inverse(self, y):
        # x = y + log(1 - e^-y), accurate for small and large y
        return (-y).expm1().neg().log() + y

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x)


class PositiveDefiniteTransform(_Stateless):
    """Unconstrained square matrix -> L L^T with L = LowerCholeskyTransform()(x)."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def _call(self, x):
        lower = LowerCholeskyTransform()(x)
        return lower @ lower.mT

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(fastnn.linalg.cholesky(y))


class CumulativeDistributionTransform(Transform):
    """x -> distribution.cdf(x), onto the unit interval (inverse: icdf)."""
    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return type(self)(self.distribution, cache_size=cache_size)


def _check_dim(dim, x):
    if not -x.dim() <= dim < x.dim():
        raise IndexError(f"Dimension out of range (expected to be in range of "
                         f"[{-x.dim()}, {x.dim() - 1}], but got {dim})")


class CatTransform(Transform):
    """``tseq[i]`` applied to the i-th block (``lengths[i]`` wide, default 1) along ``dim``."""

    def __init__(self, tseq, dim=0, lengths=None, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise ValueError("CatTransform: expected one length per transform")
        self.dim = dim

    @property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @property
    def length(self):
        return sum(self.lengths)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _blocks(self, x):
        _check_dim(self.dim, x)
        if x.size(self.dim) != self.length:
            raise ValueError(f"CatTransform: expected size {self.length} along dim "
                             f"{self.dim}, got {x.size(self.dim)}")
        start = 0
        for transform, length in zip(self.transforms, self.lengths):
            yield transform, x.narrow(self.dim, start, length)
            start += length

    def _call(self, x):
        return fastnn.cat([t(block) for t, block in self._blocks(x)], self.dim)

    def _inverse(self, y):
        return fastnn.cat([t.inv(block) for t, block in self._blocks(y)], self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = []
        for (t, xs), (_, ys) in zip(self._blocks(x), self._blocks(y)):
            part = t.log_abs_det_jacobian(xs, ys)
            parts.append(_sum_rightmost(part, self.event_dim - t.event_dim))
        dim = self.dim - x.dim() if self.dim >= 0 else self.dim
        dim += self.event_dim
        # blocks along a batch dim stay side by side; along an event dim they add up
        return fastnn.cat(parts, dim) if dim < 0 else sum(parts)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """``tseq[i]`` applied to the i-th slice along ``dim``."""

    def __init__(self, tseq, dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slices(self, z):
        _check_dim(self.dim, z)
        if z.size(self.dim) != len(self.transforms):
            raise ValueError(f"StackTransform: expected {len(self.transforms)} slices along "
                             f"dim {self.dim}, got {z.size(self.dim)}")
        return [z.select(self.dim, i) for i in range(z.size(self.dim))]

    def _call(self, x):
        return fastnn.stack([t(s) for s, t in zip(self._slices(x), self.transforms)],
                            self.dim)

    def _inverse(self, y):
        return fastnn.stack([t.inv(s) for s, t in zip(self._slices(y), self.transforms)],
                            self.dim)

    def log_abs_det_jacobian(self, x, y):
        parts = [t.log_abs_det_jacobian(xs, ys) for xs, ys, t
                 in zip(self._slices(x), self._slices(y), self.transforms)]
        return fastnn.stack(parts, self.dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)


def _strict_lower_placement(n, dtype, diag=-1):
    """(m, n*n) 0/1 matrix putting a vector of the (row-major) entries below diagonal
    ``diag`` + 1 into a flattened n x n matrix; its transpose reads them back."""
    rows = [(i, j) for i in range(n) for j in range(n) if j < i + diag + 1]
    place = fastnn.zeros((len(rows), n * n), dtype=dtype)
    for k, (i, j) in enumerate(rows):
        place[k, i * n + j] = 1.0
    return place


def _side_from_count(count):
    side = round((0.25 + 2 * count) ** 0.5 + 0.5)
    if side * (side - 1) // 2 != count:
        raise ValueError("Input is not a flattened lower-diagonal number")
    return side


class CorrCholeskyTransform(_Stateless):
    """A vector of D(D-1)/2 reals -> the Cholesky factor of a D x D correlation matrix:
    tanh maps each entry into (-1, 1), then each row is filled stick-breaking style so that
    it has unit norm."""
    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        eps = fastnn.finfo(x.dtype).eps
        partial = x.tanh().clamp(min=-1 + eps, max=1 - eps)
        n = _side_from_count(x.shape[-1])
        place = _strict_lower_placement(n, x.dtype)
        r = (partial @ place).reshape(tuple(x.shape[:-1]) + (n, n))
        remaining = (1 - r * r).sqrt().cumprod(-1)
        r = r + fastnn.eye(n, dtype=x.dtype)
        return r * F.pad(remaining[..., :-1], [1, 0], value=1)

    def _inverse(self, y):
        n = y.shape[-1]
        flat = tuple(y.shape[:-2]) + (n * n,)
        left = 1 - (y * y).cumsum(-1)
        left_before = F.pad(left[..., :-1], [1, 0], value=1)
        read = _strict_lower_placement(n, y.dtype).mT
        t = (y.reshape(flat) @ read) / (left_before.reshape(flat) @ read).sqrt()
        return (t.log1p() - (-t).log1p()) / 2

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        n = y.shape[-1]
        left = 1 - (y * y).cumsum(-1)
        read = _strict_lower_placement(n, y.dtype, diag=-2).mT
        stick = 0.5 * (left.reshape(tuple(y.shape[:-2]) + (n * n,)) @ read).log().sum(-1)
        tanh_part = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(-1)
        return stick + tanh_part

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        side = _side_from_count(shape[-1])
        return tuple(shape[:-1]) + (side, side)

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        n = shape[-1]
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)
