"""The in-place spellings of activations that otherwise take ``inplace=True``
(``F.hardtanh_``, ``F.selu_``, ``F.celu_``) and ``F.native_channel_shuffle``."""
from .activation import celu, hardtanh, selu
from .upsampling import channel_shuffle


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In-place hardtanh: clamp ``input`` to [min_val, max_val] and return it."""
    return hardtanh(input, min_val, max_val, inplace=True)


def selu_(input):
    """In-place selu."""
    return selu(input, inplace=True)


def celu_(input, alpha=1.0):
    """In-place celu."""
    return celu(input, alpha, inplace=True)


def native_channel_shuffle(input, groups):
    """channel_shuffle under its native-kernel name: same result and checks."""
    return channel_shuffle(input, groups)
