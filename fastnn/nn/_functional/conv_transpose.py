"""Transposed convolutions (conv_transpose1d/2d/3d), forward and backward, batched.

A transposed convolution is the input-gradient of a convolution: its forward multiplies the
input by the weight's transpose into columns and scatters them with col2im; its input
gradient is an ordinary convolution of the output gradient (im2col then GEMM), and its
weight gradient pairs the input with those same columns. The 1-D case runs as 2-D with a
height of one. 2-D float arrays whose geometry fits take the Cython im2col/col2im kernels of
fastnn._core; every other case (3-D included) takes the numpy path, one strided slice per
kernel offset, which the tests hold the fast one to.
"""
import numpy as np

from ...autograd.function import apply
from ...autograd.node import Node
from .conv import _check, check_bias_dtype, check_weight_dtype
from .misc import core, float_check, kernel_slices, nodes_dtype, ntuple, windows


def _split(window):
    """(ksize, stride, padding, dilation), each one entry per spatial dim."""
    nd = len(window) // 4
    return tuple(tuple(window[i * nd:(i + 1) * nd]) for i in range(4))


def _kernels_fit(dtype, image_hw, cols_hw, window):
    """True when fastnn._core's 2-D kernels map this image to exactly these columns."""
    if len(window) != 8 or core() is None or dtype not in nodes_dtype:
        return False
    return all((n + 2 * p - d * (k - 1) - 1) // s + 1 == o for n, o, k, s, p, d in
               zip(image_hw, cols_hw, *_split(window)))


def _im2col(img, cols_hw, window):
    """(C*prod(k), N, *cols_hw) columns of the (N, C, *spatial) image: each window's values."""
    ksize, stride, padding, dilation = _split(window)
    nd = len(ksize)
    n, c = img.shape[:2]
    rows = c * int(np.prod(ksize))
    if _kernels_fit(img.dtype, img.shape[2:], cols_hw, window):
        cols = np.empty((rows, n) + tuple(cols_hw), img.dtype)
        core().im2col2d(np.ascontiguousarray(img), cols, *window)
        return cols
    xp = np.pad(img, ((0, 0), (0, 0)) + tuple((p, p) for p in padding))
    win = windows(xp, ksize, stride, dilation, cols_hw)      # (N, C, *cols_hw, *ksize)
    order = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))
    return np.ascontiguousarray(win.transpose(order)).reshape((rows, n) + tuple(cols_hw))


def _col2im(cols, shape, window):
    """The (N, C, *spatial) image that sums every column value back where _im2col read it."""
    ksize, stride, padding, dilation = _split(window)
    n, c = shape[:2]
    cols_hw = cols.shape[2:]
    if _kernels_fit(cols.dtype, shape[2:], cols_hw, window):
        img = np.empty(shape, cols.dtype)
        core().col2im2d(np.ascontiguousarray(cols), img, *window)
        return img
    buf = np.zeros((c, n) + tuple(s + 2 * p for s, p in zip(shape[2:], padding)), cols.dtype)
    cs = cols.reshape((c,) + ksize + (n,) + tuple(cols_hw))
    every = slice(None)
    # one strided accumulate per kernel offset, never per pixel
    for offs, sl in kernel_slices(ksize, stride, dilation, cols_hw):
        buf[(every, every) + sl] += cs[(every,) + offs]
    inner = tuple(slice(p, p + s) for s, p in zip(shape[2:], padding))
    return np.ascontiguousarray(buf[(every, every) + inner].swapaxes(0, 1))


class ConvolutionBackward0(Node):
    """y = conv_transpose(x, w) + b over 1-3 spatial dims; inputs (x, w) or (x, w, b).

    x (N, Cin, *S), w (Cin, Cout/G, *k): the columns are w^T @ x per group, laid out
    (Cout*prod(k), N, *S), which col2im folds into the (N, Cout, *out) output.
    """

    def forward(self, *args):
        *arrays, (window, groups, out_hw) = args
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        n, cin = x.shape[:2]
        in_hw = tuple(x.shape[2:])
        cout = w.shape[1] * groups
        x2 = np.ascontiguousarray(x.swapaxes(0, 1)).reshape(
            groups, cin // groups, n * int(np.prod(in_hw)))
        w2 = w.reshape(groups, cin // groups, w.size // max(cin, 1))
        cols = np.matmul(w2.transpose(0, 2, 1), x2)             # (G, Cout/G*K, N*L)
        # explicit sizes: a -1 cannot be inferred when the batch is empty
        cols = cols.reshape((cols.shape[0] * cols.shape[1], n) + in_hw)
        y = _col2im(cols, (n, cout) + tuple(out_hw), window)
        if b is not None:
            y += b.reshape((1, cout) + (1,) * len(in_hw))
        self.meta = (window, groups, in_hw, b is not None)
        self.save(x2, w)
        return y

    def backward(self, g):
        x2, w = self.saved
        window, groups, in_hw, has_b = self.meta
        n = g.shape[0]
        cin = w.shape[0]
        gx = gw = gb = None
        if self.needs(0) or self.needs(1):
            per_group = w.size // max(cin, 1)                    # Cout/G * prod(k)
            cols = _im2col(g, in_hw, window).reshape(groups, per_group, x2.shape[-1])
            if self.needs(0):
                gx = np.matmul(w.reshape(groups, cin // groups, w.size // max(cin, 1)), cols)
                gx = np.ascontiguousarray(gx.reshape((cin, n) + in_hw).swapaxes(0, 1))
            if self.needs(1):
                gw = np.matmul(x2, cols.transpose(0, 2, 1)).reshape(w.shape)
        if has_b and self.needs(2):
            gb = g.sum(axis=(0,) + tuple(range(2, g.ndim)))
        return (gx, gw, gb) if has_b else (gx, gw)


def _check_transposed(input, weight, bias, groups, nd, name):
    _check(input, weight, None, nd, name, weight_dtype=False)
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
    # unlike the direct convolution, the weight's dtype is checked before the bias's
    check_weight_dtype(input._data, w)
    check_bias_dtype(input._data, bias)
    kernel = w.shape[2:]
    if 0 in kernel:
        if nd == 3:
            raise RuntimeError("non-empty 5D (n_output_plane x n_input_plane x kernel_depth x "
                               "kernel_height x kernel_width) tensor expected for weight, but "
                               f"got: {list(w.shape)}")
        kh, kw = (1,) + tuple(kernel) if nd == 1 else kernel   # 1-D runs as a 2-D of height 1
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kh} kernel_width: {kw}")
    if bias is not None:
        b = bias._data
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


_AXES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, dilation, groups,
                       names):
    """The shared body; x is batched, every argument has one entry per spatial dim, and
    ``names`` are the axis names the error messages use."""
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero, but got " + ", ".join(
            f"dilation_{a}: {d}" for a, d in zip(names, dilation)))
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           "got " + " ".join(f"{what}_{a}: {v}" for what, vals in
                                              (("output_padding", output_padding),
                                               ("stride", stride), ("dilation", dilation))
                                              for a, v in zip(names, vals)))
    ksize = weight._data.shape[2:]
    in_hw = x._data.shape[2:]
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
                   zip(in_hw, stride, padding, dilation, ksize, output_padding))
    if any(o <= 0 for o in out_hw):
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, in_hw))}). "
                           "Calculated output size per channel: "
                           f"({' x '.join(map(str, out_hw))}). Output size is too small")
    if type(x._data) is not np.ndarray:
        raise NotImplementedError("fastnn's transposed convolutions run on the CPU only")
    window = tuple(ksize) + tuple(stride) + tuple(padding) + tuple(dilation)
    tensors = (x, weight) if bias is None else (x, weight, bias)
    return apply(ConvolutionBackward0, tensors, (window, groups, out_hw))


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                    nd):
    """Check, batch, run, unbatch: the public functions' common path."""
    _check_transposed(input, weight, bias, groups, nd, f"conv_transpose{nd}d")
    float_check(input, f"slow_conv_transpose{max(nd, 2)}d_out_cpu")
    stride, padding, output_padding, dilation = _params(stride, padding, output_padding,
                                                        dilation, nd)
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    if nd == 1:   # run as 2-D with a height of one
        y = _conv_transpose_nd(x.unsqueeze(2), weight.unsqueeze(2), bias, (1,) + stride,
                               (0,) + padding, (0,) + output_padding, (1,) + dilation, groups,
                               _AXES[2]).squeeze(2)
    else:
        y = _conv_transpose_nd(x, weight, bias, stride, padding, output_padding, dilation,
                               groups, _AXES[nd])
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 1-D convolution of (N, Cin, L) or (Cin, L) input with (Cin, Cout/groups, k)
    weight; output length (L-1)*stride - 2*padding + dilation*(k-1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 2-D convolution of (N, Cin, H, W) or (Cin, H, W) input with
    (Cin, Cout/groups, kh, kw) weight; output sides (H-1)*stride - 2*padding +
    dilation*(kh-1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """Transposed 3-D convolution of (N, Cin, D, H, W) or (Cin, D, H, W) input with
    (Cin, Cout/groups, kd, kh, kw) weight; each output side (n-1)*stride - 2*padding +
    dilation*(k-1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 3)
