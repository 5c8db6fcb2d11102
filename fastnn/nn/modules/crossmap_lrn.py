"""CrossMapLRN2d: the legacy (Lua Torch) cross-channel response normalization.

Its channel window differs from LocalResponseNorm's: the running window starts with the
first ``(size - 1) // 2 + 1`` channels and never drops channel 0, and its backward uses a
centred window of ``size`` channels, not the exact gradient of the forward. fastnn keeps both
rules so that numbers and gradients agree with PyTorch's CrossMapLRN2d.
"""
import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node
from .module import Module

__all__ = ["CrossMapLRN2d"]


def _forward_window(channels, size):
    """0/1 matrix W: the forward's scale of channel c sums the squares of channels j, W[c, j]."""
    lead = int((size - 1) / 2 + 1)
    window = np.zeros((channels, channels))
    current = np.zeros(channels)
    current[:min(lead, channels)] = 1
    window[0] = current
    for c in range(1, channels):
        if c < channels - lead + 1:
            current[c + lead - 1] += 1
        if c > lead:
            current[c - lead] -= 1
        window[c] = current
    return window


def _backward_window(channels, size):
    """0/1 matrix: channel c's backward sums the ratios of channels c - p .. c - p + size - 1."""
    shift = int(size - (size - 1) / 2)
    c = np.arange(channels)[:, None]
    j = np.arange(channels)[None, :]
    return ((j >= c - shift) & (j <= c - shift + size - 1)).astype(np.float64)


def _mix(window, a):
    """Sum ``a``'s channels (axis 1) with the weights of ``window`` (channels x channels)."""
    return np.einsum("cj,njhw->nchw", window.astype(a.dtype, copy=False), a)


class CrossMapLRN2dBackward(Node):
    def forward(self, x, size, alpha, beta, k):
        channels = x.shape[1]
        scale = _mix(_forward_window(channels, size), x * x) * (alpha / size) + k
        out = np.power(scale, -beta) * x
        self.params = (size, alpha, beta)
        self.save(x, out, scale)
        return out

    def backward(self, g):
        x, out, scale = self.saved
        size, alpha, beta = self.params
        ratio = g * out / scale
        accum = _mix(_backward_window(x.shape[1], size), ratio)
        return (np.power(scale, -beta) * g - (2 * alpha * beta / size) * x * accum,)

    def name(self):
        return "CrossMapLRN2dBackward"


class CrossMapLRN2d(Module):
    """Legacy cross-channel LRN over 4-D input; prefer LocalResponseNorm in new code."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D "
                             "instead.")
        return apply(CrossMapLRN2dBackward, (input,), self.size, self.alpha, self.beta,
                     self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
