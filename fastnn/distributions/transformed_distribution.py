"""TransformedDistribution: a base distribution pushed through a list of transforms.

If X ~ base and Y = f_n(...f_1(X)), then log p(Y) = log p_base(X) - sum_i log|J_i|, each
Jacobian term summed over the event dims it does not already cover.  ``rsample`` keeps the
base's reparameterisation, so gradients reach the base's parameters through every map.
"""
import fastnn
from fastnn import Size

from . import constraints
from .distribution import Distribution
from .independent import Independent
from .transforms import ComposeTransform, Transform
from .utils import _size, _sum_rightmost

__all__ = ["TransformedDistribution"]

_PACKAGE = __name__.rpartition(".")[0] + "."


class TransformedDistribution(Distribution):
    """TransformedDistribution(base_distribution, transforms): ``transforms`` is one
    Transform or a list of them, applied in order to draws of the base."""
    arg_constraints = {}

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
            self.transforms = transforms
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")

        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        chain = ComposeTransform(self.transforms)
        if len(base_shape) < chain.domain.event_dim:
            raise ValueError("base_distribution needs to have shape with size at least "
                             f"{chain.domain.event_dim}, but got {Size(base_shape)}.")
        out_shape = tuple(chain.forward_shape(base_shape))
        wanted_base = tuple(chain.inverse_shape(out_shape))
        if wanted_base != base_shape:
            # parameters of the transforms broadcast the base to a larger batch
            keep = len(wanted_base) - base_event_dim
            base_distribution = base_distribution.expand(Size(wanted_base[:keep]))
        extra = chain.domain.event_dim - base_event_dim
        if extra > 0:
            base_distribution = Independent(base_distribution, extra)
        self.base_dist = base_distribution

        event_dim = chain.codomain.event_dim + max(base_event_dim - chain.domain.event_dim, 0)
        cut = len(out_shape) - event_dim
        super().__init__(Size(out_shape[:cut]), Size(out_shape[cut:]),
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        # the nearest fastnn class (a subclass such as Gumbel, or this one) is rebuilt
        known = next(c for c in type(self).__mro__ if c.__module__.startswith(_PACKAGE))
        new = self._get_checked_instance(known, _instance)
        shape = _size(batch_shape)
        inner = tuple(self.base_dist.batch_shape)[len(self.batch_shape):]
        new.base_dist = self.base_dist.expand(Size(tuple(shape) + inner))
        new.transforms = self.transforms
        Distribution.__init__(new, shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        found = self.transforms[-1].codomain
        extra = len(self.event_shape) - found.event_dim
        return constraints.independent(found, extra) if extra > 0 else found

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def _push(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def sample(self, sample_shape=Size()):
        with fastnn.no_grad():
            return self._push(self.base_dist.sample(sample_shape))

    def rsample(self, sample_shape=Size()):
        return self._push(self.base_dist.rsample(sample_shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = value
        dims = len(self.event_shape)
        total = 0.0
        for t in reversed(self.transforms):
            x = t.inv(y)
            dims += t.domain.event_dim - t.codomain.event_dim
            total = total - _sum_rightmost(t.log_abs_det_jacobian(x, y),
                                           dims - t.domain.event_dim)
            y = x
        base = self.base_dist.log_prob(y)
        return total + _sum_rightmost(base, dims - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        """For a decreasing chain the base's cdf becomes one minus itself."""
        sign = 1
        for t in self.transforms:
            sign = sign * t.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        for t in reversed(self.transforms):
            value = t.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        x = self.base_dist.icdf(self._monotonize_cdf(value))
        return self._push(x)
