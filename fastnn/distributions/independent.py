"""Independent: reinterpret batch dimensions of a distribution as event dimensions."""
from . import constraints
from .distribution import Distribution
from .utils import _concat_shapes, _sum_rightmost

__all__ = ["Independent"]


class Independent(Distribution):
    """``Independent(Normal(loc, scale), 1)`` is a diagonal Gaussian over vectors: log_prob
    and entropy sum over the ``reinterpreted_batch_ndims`` rightmost batch dimensions."""
    arg_constraints = {}
    _plain_state = ("reinterpreted_batch_ndims",)

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        inner_batch = tuple(base_distribution.batch_shape)
        if reinterpreted_batch_ndims > len(inner_batch):
            raise ValueError(
                "Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), "
                f"actual {reinterpreted_batch_ndims} vs {len(inner_batch)}")
        self.base_dist, self.reinterpreted_batch_ndims = (base_distribution,
                                                          reinterpreted_batch_ndims)
        # move the split point between batch and event left by the reinterpreted dims
        split = len(inner_batch) - reinterpreted_batch_ndims
        event = _concat_shapes(inner_batch[split:], base_distribution.event_shape)
        super().__init__(inner_batch[:split], event, validate_args=validate_args)

    def _expand_state(self, new, batch_shape):
        moved = self._event_shape[: self.reinterpreted_batch_ndims]
        new.base_dist = self.base_dist.expand(_concat_shapes(batch_shape, moved))

    has_rsample = property(lambda self: self.base_dist.has_rsample)

    @property
    def has_enumerate_support(self):
        # enumerating would mean a cartesian product over the reinterpreted dims
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @constraints.dependent_property
    def support(self):
        inner = self.base_dist.support
        n = self.reinterpreted_batch_ndims
        return constraints.independent(inner, n) if n else inner

    mean = property(lambda self: self.base_dist.mean)
    mode = property(lambda self: self.base_dist.mode)
    variance = property(lambda self: self.base_dist.variance)

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def _fold(self, per_element):
        return _sum_rightmost(per_element, self.reinterpreted_batch_ndims)

    def log_prob(self, value):
        return self._fold(self.base_dist.log_prob(value))

    def entropy(self):
        return self._fold(self.base_dist.entropy())

    def enumerate_support(self, expand=True):
        if self.reinterpreted_batch_ndims != 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_dist}, {self.reinterpreted_batch_ndims})"
