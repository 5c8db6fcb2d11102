"""Window functions for spectral code (``fastnn.hann_window`` and friends), PyTorch's
definitions: ``periodic=True`` (the default) gives the first N points of the N + 1 point
symmetric window, as spectral analysis wants."""
import numpy as np

from . import _dtype as D

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


def _window(fn, length, periodic, dtype, device, requires_grad, shape):
    """Checks, then ``shape(n, denominator)`` over n = 0..length-1 in float64, cast."""
    from ._creation import _dt, _finish
    dt = _dt(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{fn} expects floating point dtypes, got: "
                           f"TensorOptions(dtype={D.c_type_name(dt.np)}, device=cpu)")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise TypeError(f"{fn}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(length).__name__}")
    if length < 0:
        raise RuntimeError(f"{fn} requires non-negative window_length, got "
                           f"window_length={length}")
    if length <= 1:
        arr = np.ones(length)
    else:
        arr = shape(np.arange(length, dtype=np.float64), length if periodic else length - 1)
    return _finish(arr.astype(dt.np), device, requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, pin_memory=False, requires_grad=False):
    """w[n] = alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, d: alpha - beta * np.cos(2 * np.pi * n / d))


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                pin_memory=False, requires_grad=False):
    """w[n] = 0.5 - 0.5 cos(2 pi n / (N - 1)) = sin^2(pi n / (N - 1))."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, d: 0.5 - 0.5 * np.cos(2 * np.pi * n / d))


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """w[n] = 0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, d: 0.42 - 0.5 * np.cos(2 * np.pi * n / d) +
                   0.08 * np.cos(4 * np.pi * n / d))


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    pin_memory=False, requires_grad=False):
    """w[n] = 1 - |2n / (N - 1) - 1| (a triangle)."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   lambda n, d: 1 - np.abs(2 * n / d - 1))


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, pin_memory=False, requires_grad=False):
    """w[n] = I0(beta sqrt(1 - (2n / (N - 1) - 1)^2)) / I0(beta)."""
    def shape(n, d):
        r = 2 * n / d - 1
        return np.i0(beta * np.sqrt(np.maximum(1 - r * r, 0))) / np.i0(beta)
    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   shape)
