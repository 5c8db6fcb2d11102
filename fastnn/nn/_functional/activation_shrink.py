"""Shrinkage activations (hardshrink, softshrink, tanhshrink) and randomized leaky ReLU."""
import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node
from ...random import draw_uniform
from ..._functions import _takes_out
from .misc import float_check, inplace as _run_inplace


class HardshrinkBackward0(Node):
    def forward(self, a, lambd):
        self.lambd = lambd
        self.save(a)
        return np.where((a >= -lambd) & (a <= lambd), 0, a).astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        keep = ~((a >= -self.lambd) & (a <= self.lambd))  # NaN passes its gradient through
        return (np.where(keep, g, 0).astype(g.dtype, copy=False),)


class SoftshrinkBackward0(Node):
    def forward(self, a, lambd):
        self.lambd = lambd
        self.save(a)
        t = a.dtype.type(lambd) if a.dtype.kind == "f" else lambd
        # a - a is 0 in the dead zone and keeps NaN as NaN
        y = np.where(a > lambd, a - t, np.where(a < -lambd, a + t, a - a))
        return y.astype(a.dtype, copy=False)

    def backward(self, g):
        a = self.saved[0]
        keep = ~((a >= -self.lambd) & (a <= self.lambd))  # NaN passes its gradient through
        return (np.where(keep, g, 0).astype(g.dtype, copy=False),)


class RreluWithNoiseBackward0(Node):
    """y = x * noise, the noise being 1 where x > 0 and the negative slope elsewhere."""

    def forward(self, a, noise):
        self.noise = noise
        # PyTorch's rrelu writes a C-ordered result whatever the input's layout
        return np.multiply(a, noise, order="C").astype(a.dtype, copy=False)

    def backward(self, g):
        return ((g * self.noise).astype(g.dtype, copy=False),)


@_takes_out
def hardshrink(input, lambd=0.5):
    """x where |x| > lambd, else 0."""
    if input._data.dtype.kind in "biu":
        float_check(input, "hardshrink_cpu")
    return apply(HardshrinkBackward0, (input,), float(lambd))


def softshrink(input, lambd=0.5):
    """x - lambd where x > lambd, x + lambd where x < -lambd, else 0."""
    dt = input._data.dtype
    if dt.kind in "biu":
        float_check(input, "softshrink_check")
    top = np.finfo(dt).max if dt.kind == "f" else np.finfo(np.float32).max
    if not 0 <= lambd <= top:
        from ..._dtype import scalar_type_name
        raise RuntimeError(f"lambda must be in range [0, {top:g}] for input dtype "
                           f"{scalar_type_name(dt)}, but found {lambd:g}")
    return apply(SoftshrinkBackward0, (input,), float(lambd))


def tanhshrink(input):
    """x - tanh(x)."""
    return input - input.tanh()


def _rrelu_noise(a, lower, upper, training):
    """Per-element slopes: U(lower, upper) draws in training, their mean in eval; 1 for x > 0."""
    dt = a.dtype
    if training:
        slope = draw_uniform(a.shape, dt)
        slope *= dt.type(upper - lower)
        slope += dt.type(lower)
    else:
        slope = dt.type((lower + upper) / 2)
    return np.where(a > 0, dt.type(1), slope).astype(dt, copy=False)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """x where x > 0, else a * x with a ~ U(lower, upper) in training, (lower + upper) / 2 in
    eval."""
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    # eval mode is a leaky_relu with the mean slope, and its kernel is what refuses
    float_check(input, "rrelu_with_noise_out_cpu" if training else "leaky_relu_cpu")

    def fn(t):
        return apply(RreluWithNoiseBackward0, (t,),
                     _rrelu_noise(t._data, float(lower), float(upper), training))
    return _run_inplace(input, fn) if inplace else fn(input)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return rrelu(input, lower, upper, training, True)
