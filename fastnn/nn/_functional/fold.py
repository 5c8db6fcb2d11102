"""unfold (im2col) and fold (col2im): sliding local blocks of a batched image and back.

Each is the other's adjoint, so each node's backward is the other's forward. Both run on the
im2col/col2im kernels of the transposed convolution.
"""
import collections.abc
import operator

import numpy as np

from ... import _dtype as D
from ...autograd.function import apply
from ...autograd.node import Node
from .conv_transpose import _col2im, _im2col


_ARG_ORDER = ("output_size", "kernel_size", "dilation", "padding", "stride")   # col2im's


def _int_entry(v, at, name, kernel):
    """One int of an argument; floats and other non-integers raise PyTorch's TypeError (so
    does a bool in first place, while a later one counts as an int)."""
    if hasattr(v, "__index__") and not (at == 0 and isinstance(v, bool)):
        return operator.index(v)
    if at == 0:
        # im2col takes no output_size, so its arguments sit one position earlier
        position = _ARG_ORDER.index(name) + (2 if kernel == "col2im" else 1)
        raise TypeError(f"{kernel}(): argument '{name}' (position {position}) must be tuple of "
                        f"ints, but found element of type {type(v).__name__} at pos 0")
    raise TypeError(f"{kernel}(): argument '{name}' failed to unpack the object at pos 2 with "
                    f"error \"type must be tuple of ints,but got {type(v).__name__}\"")


def _pair(x, name, kernel="im2col"):
    if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
        t = tuple(_int_entry(v, i, name, kernel) for i, v in enumerate(x))
        if len(t) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(t)}")
        return t
    return (_int_entry(x, 0, name, kernel),) * 2


def _params(kernel_size, dilation, padding, stride, kernel="im2col"):
    (kh, kw) = _pair(kernel_size, "kernel_size", kernel)
    (dh, dw) = _pair(dilation, "dilation", kernel)
    (ph, pw), (sh, sw) = _pair(padding, "padding", kernel), _pair(stride, "stride", kernel)
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kh} kernel_width: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {sh} "
                           f"stride_width: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dh} dilation_width: {dw}")
    if ph < 0 or pw < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {ph} "
                           f"pad_width: {pw}")
    return (kh, kw, sh, sw, ph, pw, dh, dw)


def _blocks(size, window):
    """The number of sliding blocks along each spatial dimension (C++ integer division)."""
    kh, kw, sh, sw, ph, pw, dh, dw = window
    out = []
    for n, k, s, p, d in zip(size, (kh, kw), (sh, sw), (ph, pw), (dh, dw)):
        a = n + 2 * p - (d * (k - 1) + 1)
        out.append((abs(a) // s) * (1 if a >= 0 else -1) + 1)
    return tuple(out)


def _shape_list(shape):
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _check_float(x, kernel):
    if x.dtype.kind not in "fb":  # bool blocks are copied (unfold) or OR-ed (fold)
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{D.scalar_type_name(x.dtype)}'")


class Im2ColBackward0(Node):
    """(N, C, H, W) -> (N, C*kh*kw, L): every sliding block as a column."""

    def forward(self, x, window, blocks):
        unbatched = x.ndim == 3
        x = x[None] if unbatched else x
        self.meta = (x.shape, window, unbatched)
        n, c = x.shape[:2]
        cols = _im2col(x, blocks, window)                     # (C*kh*kw, N, bh, bw)
        out = np.ascontiguousarray(
            cols.reshape(cols.shape[0], n, int(np.prod(blocks))).swapaxes(0, 1))
        return out[0] if unbatched else out

    def backward(self, g):
        shape, window, unbatched = self.meta
        gi = _fold_array(g[None] if unbatched else g, shape, window)
        return (gi[0] if unbatched else gi,)


class Col2ImBackward0(Node):
    """(N, C*kh*kw, L) -> (N, C, H, W): each column summed back into its block."""

    def forward(self, cols, shape, window, blocks):
        unbatched = cols.ndim == 2
        self.meta = (window, blocks, unbatched)
        out = _fold_array(cols[None] if unbatched else cols, shape, window, blocks)
        return out[0] if unbatched else out

    def backward(self, g):
        window, blocks, unbatched = self.meta
        g = g[None] if unbatched else g
        n = g.shape[0]
        cols = _im2col(np.ascontiguousarray(g), blocks, window)
        gc = np.ascontiguousarray(
            cols.reshape(cols.shape[0], n, int(np.prod(blocks))).swapaxes(0, 1))
        return (gc[0] if unbatched else gc,)


def _fold_array(cols, shape, window, blocks=None):
    if blocks is None:
        blocks = _blocks(shape[2:], window)
    n, ckk = cols.shape[:2]
    c6 = np.ascontiguousarray(cols.swapaxes(0, 1)).reshape((ckk, n) + tuple(blocks))
    return _col2im(c6, tuple(shape), window)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Extract sliding local blocks of a (N, C, H, W) or (C, H, W) input as columns."""
    window = _params(kernel_size, dilation, padding, stride)
    x = input
    nd = x.dim()
    if nd < 3:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, "
                         f"{max(nd, 1) - 1}], but got 2)")
    if nd > 4 or any(s == 0 for s in x.shape[nd - 3:]):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: "
                           f"{_shape_list(x.shape)}")
    _check_float(x._data, "im2col_out_cpu")
    blocks = _blocks(x.shape[-2:], window)
    if min(blocks) < 1:
        kh, kw, sh, sw, ph, pw, dh, dw = window
        raise RuntimeError(f"Given input with spatial size ({x.shape[-2]}, {x.shape[-1]}), "
                           f"kernel_size=({kh}, {kw}), dilation=({dh}, {dw}), padding=({ph}, "
                           f"{pw}), calculated shape of the array of sliding blocks as "
                           f"({blocks[0]}, {blocks[1]}), but its components must be at least "
                           f"one.")
    return apply(Im2ColBackward0, (x,), window, blocks)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding local blocks (N, C*kh*kw, L) or (C*kh*kw, L) into an image of output_size."""
    oh, ow = _pair(output_size, "output_size", "col2im")
    window = _params(kernel_size, dilation, padding, stride, "col2im")
    x = input
    nd = x.dim()
    if nd not in (2, 3) or any(s == 0 for s in x.shape[nd - 2:]):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 "
                           f"batch size and non-zero dimensions for input, but got: "
                           f"{_shape_list(x.shape)}")
    kh, kw, sh, sw, ph, pw, dh, dw = window
    ckk, length = x.shape[-2:]
    if ckk % (kh * kw):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={ckk} and kernel_size=({kh}, "
                           f"{kw}).")
    blocks = _blocks((oh, ow), window)
    if blocks[0] * blocks[1] != length or min(blocks) < 1:
        raise RuntimeError(f"Given output_size=({oh}, {ow}), kernel_size=({kh}, {kw}), "
                           f"dilation=({dh}, {dw}), padding=({ph}, {pw}), stride=({sh}, {sw}), "
                           f"expected size of input's dimension 2 to match the calculated number "
                           f"of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={length}.")
    _check_float(x._data, "col2im_out_cpu")
    shape = (x.shape[0] if nd == 3 else 1, ckk // (kh * kw), oh, ow)
    return apply(Col2ImBackward0, (x,), shape, window, blocks)


__all__ = ["fold", "unfold"]
