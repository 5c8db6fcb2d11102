"""Transposed convolutions (conv_transpose1d/2d), forward and backward, batched.

A transposed convolution is the input-gradient of a convolution: its forward multiplies the
input by the weight's transpose into columns and scatters them with col2im; its input
gradient is an ordinary convolution of the output gradient (im2col then GEMM), and its
weight gradient pairs the input with those same columns. The 1-D case runs as 2-D with a
height of one. Float arrays whose geometry fits take the Cython im2col/col2im kernels of
fastnn._core; every other case takes the numpy path, which the tests hold the fast one to.
"""
import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node
from .conv import _check
from .misc import core, kernel_slices, nodes_dtype, ntuple, windows
from ..._dtype import c_type_name as _short


def _kernels_fit(dtype, image_hw, cols_hw, window):
    """True when fastnn._core's 2-D kernels map this image to exactly these columns."""
    if core() is None or dtype not in nodes_dtype:
        return False
    kh, kw, sh, sw, ph, pw, dh, dw = window
    return all((n + 2 * p - d * (k - 1) - 1) // s + 1 == o for n, o, k, s, p, d in
               zip(image_hw, cols_hw, (kh, kw), (sh, sw), (ph, pw), (dh, dw)))


def _im2col(img, cols_hw, window):
    """(C*kh*kw, N, *cols_hw) columns of the (N, C, H, W) image: each window's values."""
    kh, kw, sh, sw, ph, pw, dh, dw = window
    n, c = img.shape[:2]
    if _kernels_fit(img.dtype, img.shape[2:], cols_hw, window):
        cols = np.empty((c * kh * kw, n) + tuple(cols_hw), img.dtype)
        core().im2col2d(np.ascontiguousarray(img), cols, *window)
        return cols
    xp = np.pad(img, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = windows(xp, (kh, kw), (sh, sw), (dh, dw), cols_hw)    # (N, C, OH, OW, kh, kw)
    return np.ascontiguousarray(win.transpose(1, 4, 5, 0, 2, 3)).reshape(
        (c * kh * kw, n) + tuple(cols_hw))


def _col2im(cols, shape, window):
    """The (N, C, H, W) image that sums every column value back where _im2col read it."""
    kh, kw, sh, sw, ph, pw, dh, dw = window
    n, c, h, w = shape
    cols_hw = cols.shape[2:]
    if _kernels_fit(cols.dtype, (h, w), cols_hw, window):
        img = np.empty(shape, cols.dtype)
        core().col2im2d(np.ascontiguousarray(cols), img, *window)
        return img
    buf = np.zeros((c, n, h + 2 * ph, w + 2 * pw), cols.dtype)
    c6 = cols.reshape((c, kh, kw, n) + tuple(cols_hw))
    # one strided accumulate per kernel offset, never per pixel
    for (a, b), sl in kernel_slices((kh, kw), (sh, sw), (dh, dw), cols_hw):
        buf[(slice(None), slice(None)) + sl] += c6[:, a, b]
    return np.ascontiguousarray(buf[:, :, ph:ph + h, pw:pw + w].swapaxes(0, 1))


class ConvolutionBackward0(Node):
    """y = conv_transpose2d(x, w) + b; inputs (x, w) or (x, w, b), then the params.

    x (N, Cin, H, W), w (Cin, Cout/G, kh, kw): the columns are w^T @ x per group, laid out
    (Cout*kh*kw, N, H, W), which col2im folds into the (N, Cout, OH, OW) output.
    """

    def forward(self, *args):
        *arrays, (window, groups, out_hw) = args
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        n, cin, h, wd = x.shape
        cout = w.shape[1] * groups
        x2 = np.ascontiguousarray(x.swapaxes(0, 1)).reshape(groups, cin // groups, n * h * wd)
        w2 = w.reshape(groups, cin // groups, -1)
        cols = np.matmul(w2.transpose(0, 2, 1), x2)             # (G, Cout/G*K, N*L)
        cols = cols.reshape((-1, n, h, wd))
        y = _col2im(cols, (n, cout) + tuple(out_hw), window)
        if b is not None:
            y += b.reshape(1, cout, 1, 1)
        self.meta = (window, groups, (h, wd), b is not None)
        self.save(x2, w)
        return y

    def backward(self, g):
        x2, w = self.saved
        window, groups, in_hw, has_b = self.meta
        n = g.shape[0]
        cin = w.shape[0]
        gx = gw = gb = None
        if self.needs(0) or self.needs(1):
            cols = _im2col(g, in_hw, window).reshape(groups, -1, x2.shape[-1])
            if self.needs(0):
                gx = np.matmul(w.reshape(groups, cin // groups, -1), cols)
                gx = np.ascontiguousarray(gx.reshape((cin, n) + in_hw).swapaxes(0, 1))
            if self.needs(1):
                gw = np.matmul(x2, cols.transpose(0, 2, 1)).reshape(w.shape)
        if has_b and self.needs(2):
            gb = g.sum(axis=(0, 2, 3))
        return (gx, gw, gb) if has_b else (gx, gw)


def _check_transposed(input, weight, bias, groups, nd, name):
    _check(input, weight, None, nd, name)
    w = weight._data
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if w.shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(w.shape)} instead")
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(w.shape)}] instead")
    xs = input._data.shape if input.dim() == nd + 2 else (1,) + input._data.shape
    if xs[1] != w.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected "
                           f"input{list(xs)} to have {w.shape[0]} channels, but got {xs[1]} "
                           "channels instead")
    if bias is not None:
        b = bias._data
        if b.dtype != input._data.dtype:
            raise RuntimeError(f"Input type ({_short(input._data.dtype)}) and bias type "
                               f"({_short(b.dtype)}) should be the same")
        cout = w.shape[1] * groups
        if b.ndim != 1 or b.shape[0] != cout:
            raise RuntimeError(f"Given transposed=1, weight of size {list(w.shape)}, expected "
                               f"bias to be 1-dimensional with {cout} elements, but got bias "
                               f"of size {list(b.shape)} instead")


def _params(stride, padding, output_padding, dilation, nd):
    for v, what in ((padding, "padding"), (output_padding, "output_padding")):
        if isinstance(v, str):
            raise TypeError(f"conv_transpose{nd}d(): argument '{what}' must be tuple of ints, "
                            "not str")
    return (ntuple(stride, nd, "stride"), ntuple(padding, nd, "padding"),
            ntuple(output_padding, nd, "output_padding"), ntuple(dilation, nd, "dilation"))


def _conv_transpose_2d(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """The shared 2-D body; x is batched and every argument is a pair."""
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dilation[0]}, dilation_width: {dilation[1]}")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           f"got output_padding_height: {output_padding[0]} "
                           f"output_padding_width: {output_padding[1]} stride_height: "
                           f"{stride[0]} stride_width: {stride[1]} dilation_height: "
                           f"{dilation[0]} dilation_width: {dilation[1]}")
    ksize = weight._data.shape[2:]
    in_hw = x._data.shape[2:]
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
                   zip(in_hw, stride, padding, dilation, ksize, output_padding))
    if any(o <= 0 for o in out_hw):
        raise RuntimeError(f"Given input size per channel: ({in_hw[0]} x {in_hw[1]}). "
                           f"Calculated output size per channel: ({out_hw[0]} x {out_hw[1]}). "
                           "Output size is too small")
    if type(x._data) is not np.ndarray:
        raise NotImplementedError("fastnn's transposed convolutions run on the CPU only")
    window = (ksize[0], ksize[1], stride[0], stride[1], padding[0], padding[1], dilation[0],
              dilation[1])
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return apply(ConvolutionBackward0, tensors, (window, groups, out_hw))


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution of (N, Cin, H, W) or (Cin, H, W) input with
    (Cin, Cout/groups, kh, kw) weight; output sides (H-1)*stride - 2*padding +
    dilation*(kh-1) + output_padding + 1."""
    _check_transposed(input, weight, bias, groups, 2, "conv_transpose2d")
    stride, padding, output_padding, dilation = _params(stride, padding, output_padding,
                                                        dilation, 2)
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    y = _conv_transpose_2d(x, weight, bias, stride, padding, output_padding, dilation, groups)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution of (N, Cin, L) or (Cin, L) input with (Cin, Cout/groups, k)
    weight; output length (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1."""
    _check_transposed(input, weight, bias, groups, 1, "conv_transpose1d")
    stride, padding, output_padding, dilation = _params(stride, padding, output_padding,
                                                        dilation, 1)
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    y = _conv_transpose_2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + stride,
                           (0,) + padding, (0,) + output_padding, (1,) + dilation, groups)
    y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y
