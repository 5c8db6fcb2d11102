"""``fastnn.normal`` with a tensor mean and/or std: one draw per broadcast element.

The result is recorded in the autograd graph as in PyTorch, whose backward of a normal
sample passes zero gradients to ``mean`` and ``std`` (the draw is not reparameterized)."""
import numpy as np

from . import _dtype as D
from .autograd.function import apply
from .autograd.node import Node
from .random import draw_normal


def _host(a):
    return a if type(a) is np.ndarray else a.copy_to_host()


class _NormalSample(Node):
    """PyTorch gives a sample's mean and std zero gradients (the draw is not
    reparameterized); ``forward`` records the shapes they take."""
    shapes = ()

    def backward(self, g):
        return tuple(np.zeros(shape, g.dtype) for shape in self.shapes)


class NormalBackward1(_NormalSample):
    """mean a tensor, std a number."""

    def forward(self, mean, std, generator):
        mean = _host(mean)
        self.shapes = (mean.shape,)
        z = draw_normal(mean.shape, mean.dtype, generator)
        return (z * std + mean).astype(mean.dtype, copy=False)


class NormalBackward2(_NormalSample):
    """mean a number, std a tensor."""

    def forward(self, std, mean, generator):
        std = _host(std)
        self.shapes = (std.shape,)
        z = draw_normal(std.shape, std.dtype, generator)
        return (z * std + mean).astype(std.dtype, copy=False)


class NormalBackward3(_NormalSample):
    """mean and std both tensors (broadcast together); the result takes mean's dtype."""

    def forward(self, mean, std, generator):
        mean, std = _host(mean), _host(std)
        self.shapes = (mean.shape, std.shape)
        shape = np.broadcast_shapes(mean.shape, std.shape)
        z = draw_normal(shape, mean.dtype, generator)
        return (z * std + mean).astype(mean.dtype, copy=False)


def check_floating(npd):
    if npd.kind not in "fc":
        raise NotImplementedError("\"normal_kernel_cpu\" not implemented for "
                                  f"'{D.scalar_type_name(npd)}'")


def normal_from_tensors(mean, std, generator, is_tensor):
    """A sample of N(mean, std) where at least one of them is a tensor."""
    if is_tensor(mean) and is_tensor(std):
        check_floating(mean._data.dtype)
        return apply(NormalBackward3, (mean, std), generator)
    if is_tensor(mean):
        check_floating(mean._data.dtype)
        return apply(NormalBackward1, (mean,), float(std), generator)
    check_floating(std._data.dtype)
    return apply(NormalBackward2, (std,), float(mean), generator)
