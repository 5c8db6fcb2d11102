"""Elementwise transforms (event_dim 0 unless stated): exp, power, sigmoid, tanh, abs and
affine maps, for ``fastnn.distributions.transforms``."""
import math
import numbers

import fastnn
import fastnn.nn.functional as F

from . import constraints
from .transforms import Transform, _Stateless, _widen
from .utils import broadcast_all

_LOG2 = math.log(2.0)


class ExpTransform(_Stateless):
    """y = exp(x)."""
    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """y = x ** exponent on the positive reals."""
    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)


    @property
    def sign(self):
        return self.exponent.sign()

    def __eq__(self, other):
        return (isinstance(other, PowerTransform)
                and bool(self.exponent.eq(other.exponent).all()))

    __hash__ = object.__hash__

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        # dy/dx = exponent * x^(exponent - 1) = exponent * y / x
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return fastnn.broadcast_shapes(tuple(shape), tuple(self.exponent.shape))

    inverse_shape = forward_shape


def _clipped_sigmoid(x):
    """sigmoid(x) kept inside (0, 1) by the smallest normal number and machine epsilon."""
    info = fastnn.finfo(x.dtype)
    return fastnn.sigmoid(x).clamp(min=info.tiny, max=1.0 - info.eps)


class SigmoidTransform(_Stateless):
    """y = 1 / (1 + exp(-x)), clipped away from 0 and 1."""
    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = +1

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        info = fastnn.finfo(y.dtype)
        y = y.clamp(min=info.tiny, max=1.0 - info.eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        # log sigmoid(x) + log sigmoid(-x)
        return -F.softplus(-x) - F.softplus(x)


class TanhTransform(_Stateless):
    """y = tanh(x).  The log-determinant log(1 - tanh(x)^2) is evaluated as
    2 (log 2 - x - softplus(-2x)), which stays finite for large |x|."""
    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return fastnn.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (_LOG2 - x - F.softplus(-2.0 * x))


class AbsTransform(_Stateless):
    """y = |x| (not injective: the inverse picks the non-negative root)."""
    domain = constraints.real
    codomain = constraints.positive

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """y = loc + scale * x, acting on events of ``event_dim`` rightmost dims."""
    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale = loc, scale
        self._event_dim = event_dim

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        return _widen(constraints.real, self._event_dim)

    codomain = domain


    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        for mine, theirs in ((self.loc, other.loc), (self.scale, other.scale)):
            if isinstance(mine, numbers.Number) and isinstance(theirs, numbers.Number):
                if mine != theirs:
                    return False
            elif not bool((mine == theirs).all()):
                return False
        return True

    __hash__ = object.__hash__

    @property
    def sign(self):
        """+1 or -1 as the map increases or decreases (0 for a zero scale); elementwise for
        a tensor scale."""
        if not isinstance(self.scale, numbers.Real):
            return self.scale.sign()
        s = float(self.scale)
        return (s > 0) - (s < 0)

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        shape = tuple(x.shape)
        if isinstance(self.scale, numbers.Real):
            out = fastnn.full_like(x, math.log(abs(self.scale)))
        else:
            out = self.scale.abs().log()
        if self._event_dim:
            lead = tuple(out.shape)[: out.dim() - self._event_dim]
            out = out.reshape(lead + (-1,)).sum(-1)
            shape = shape[: len(shape) - self._event_dim]
        return out.expand(shape)

    def forward_shape(self, shape):
        extra = [tuple(getattr(p, "shape", ())) for p in (self.loc, self.scale)]
        return fastnn.broadcast_shapes(tuple(shape), *extra)

    inverse_shape = forward_shape
