"""Reparameterized Gamma draws: the sample is a differentiable function of the
concentration through implicit differentiation of the Gamma CDF, P(a, z) = u, so
dz/da = -(dP/da) / (dP/dz) (fastnn._special_gammainc computes it)."""
import numpy as np

import fastnn
from fastnn._special_gammainc import standard_gamma_sample_grad
from fastnn.autograd import Function

from .utils import _unit_gamma_draws

__all__ = ["standard_gamma_rsample"]


class _StandardGamma(Function):
    """Gamma(a, 1) draws of a's shape, with d draw / d a in backward."""

    @staticmethod
    def forward(ctx, concentration):
        drawn = _unit_gamma_draws(concentration, concentration.shape)
        # tiny shapes can underflow to 0, outside the support's log density
        drawn = np.maximum(drawn, fastnn.finfo(concentration.dtype).tiny)
        sample = fastnn.tensor(np.asarray(drawn, dtype=np.float64), dtype=concentration.dtype)
        ctx.save_for_backward(concentration, sample)
        return sample

    @staticmethod
    def backward(ctx, grad):
        concentration, sample = ctx.saved_tensors
        slope = standard_gamma_sample_grad(concentration.detach().numpy(),
                                           sample.detach().numpy())
        return grad * fastnn.tensor(slope, dtype=concentration.dtype)


def standard_gamma_rsample(concentration, shape):
    """Gamma(concentration, 1) draws of ``shape`` (concentration broadcast to it),
    differentiable in ``concentration``."""
    return _StandardGamma.apply(concentration.expand(tuple(shape)))
