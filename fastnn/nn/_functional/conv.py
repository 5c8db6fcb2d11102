"""Convolutions by im2col and BLAS products, forward and backward, batched (no per-sample
Python).

2-D float convolutions with symmetric padding (the training-loop case) take the Cython
im2col/col2im kernels; the numpy path below handles every other case and is the reference
the tests hold the fast one to.

The column matrix is laid out (C*K, N*L): channels and kernel offsets down, every output
position of every sample across, so that reading the input's windows copies long contiguous
runs. When the input's gradient is needed the columns are ordered batch-last and each
product is one large GEMM per group; otherwise each sample's block of columns feeds a batched
GEMM whose result is already in (N, O, L) order.
"""
import warnings

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ...autograd.function import apply
from ...autograd.node import Node
from ...tensor import Tensor
from .misc import core, kernel_slices, nodes_dtype, ntuple, out_size, type_title, windows
from ..._dtype import c_type_name
from ..._dtype import legacy_type_name as _legacy


def _pad_zeros(x, pads):
    """x with zeros around its spatial dims; pads is ((before, after), ...) per spatial dim."""
    if not any(b or a for b, a in pads):
        return x
    shape = x.shape[:2] + tuple(n + b + a for n, (b, a) in zip(x.shape[2:], pads))
    xp = np.zeros(shape, x.dtype)
    xp[(slice(None), slice(None)) + tuple(slice(b, b + n) for n, (b, _) in
                                          zip(x.shape[2:], pads))] = x
    return xp


class ConvolutionBackward0(Node):
    """y = conv(x, w) + b over nd spatial dims; inputs (x, w) or (x, w, b), then the params.

    Columns run over (sample, position) pairs. When the input's gradient will be needed they
    are ordered position-major, sample-minor ("batch last"): col2im then adds K slices whose
    contiguous runs span a whole output row of every sample, instead of one short output row.
    """

    def forward(self, *args):
        *arrays, (stride, pads, dilation, groups) = args
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        nd = w.ndim - 2
        n, c = x.shape[:2]
        o = w.shape[0]
        ksize = w.shape[2:]
        xp = _pad_zeros(x, pads)
        out = tuple(out_size(s, k, st, 0, d) for s, k, st, d in
                    zip(xp.shape[2:], ksize, stride, dilation))
        L = int(np.prod(out))
        K = int(np.prod(ksize))
        last = self._next is not None and self._next[0] is not None and n > 1
        if last:
            xt = np.ascontiguousarray(np.moveaxis(xp, 0, -1))     # (C, *spatial, N)
            st = xt.strides
            win = as_strided(xt, (c,) + tuple(ksize) + out + (n,),
                             (st[0],) + tuple(st[1 + i] * dilation[i] for i in range(nd)) +
                             tuple(st[1 + i] * stride[i] for i in range(nd)) + (st[-1],),
                             writeable=False)
        else:
            win = windows(xp, ksize, stride, dilation, out).transpose(
                (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd)))
        cols = np.ascontiguousarray(win).reshape(groups, (c // groups) * K, n * L)
        w2 = w.reshape(groups, o // groups, -1)
        if last:
            prod = np.matmul(w2[0], cols[0]) if groups == 1 else np.matmul(w2, cols)
            y = np.empty((n, o, L), np.result_type(x, w))
            src = prod.reshape(o, L, n).transpose(2, 0, 1)
            if b is not None:
                np.add(src, b.reshape(1, o, 1), out=y)
            else:
                np.copyto(y, src)
        else:
            # one product per sample, each reading its columns in place, lands in (N, O, L)
            # order directly: no reordering pass over the output
            y = np.matmul(w2, self._per_sample(cols, n, L)).reshape(n, o, L)
            if b is not None:
                y += b.reshape(1, o, 1)
        self.meta = (x.shape, xp.shape, pads, stride, dilation, groups, out, b is not None, last)
        self.save(cols, w, x)  # x: for create_graph, which needs the input itself
        return y.reshape((n, o) + out)

    @staticmethod
    def _per_sample(cols, n, L):
        """(G, CgK, N*L) columns viewed as (N, G, CgK, L): one BLAS operand per sample."""
        return cols.reshape(cols.shape[:2] + (n, L)).transpose(2, 0, 1, 3)

    def backward(self, g):
        cols, w, _ = self.saved
        x_shape, xp_shape, pads, stride, dilation, groups, out, has_b, last = self.meta
        n, c = x_shape[:2]
        o = w.shape[0]
        L = int(np.prod(out))
        g3 = g.reshape(n, o, L)
        gx = gw = gb = None
        if last or self.needs(0) or (self.needs(1) and o > L):
            g2 = np.ascontiguousarray(g3.transpose((1, 2, 0) if last else (1, 0, 2)))
            g2 = g2.reshape(groups, o // groups, n * L)
            if self.needs(1):
                gw = np.matmul(g2, cols.transpose(0, 2, 1)).reshape(w.shape)
        elif self.needs(1):
            # per-sample products summed: the (N, O, CgK) partials are no larger than cols
            g4 = g3.reshape(n, groups, o // groups, L)
            gw = np.matmul(g4, self._per_sample(cols, n, L).transpose(0, 1, 3, 2)).sum(0)
            gw = gw.reshape(w.shape)
        if has_b and self.needs(2):
            gb = g3.sum(axis=(0, 2))
        if self.needs(0):
            w2 = w.reshape(groups, o // groups, -1)
            gcols = np.matmul(w2.transpose(0, 2, 1), g2)        # (G, Cg*K, N*L)
            ksize = tuple(w.shape[2:])
            every = slice(None)
            if last:
                gcols = gcols.reshape((c,) + ksize + out + (n,))
                gxt = np.zeros((c,) + tuple(xp_shape[2:]) + (n,), gcols.dtype)
                at = lambda sl: (every,) + sl + (every,)  # noqa: E731
            else:
                gcols = gcols.reshape((c,) + ksize + (n,) + out)
                gxt = np.zeros((c, n) + tuple(xp_shape[2:]), gcols.dtype)
                at = lambda sl: (every, every) + sl  # noqa: E731
            # col2im: one strided accumulate per kernel offset (K of them), never per pixel
            for offs, sl in kernel_slices(ksize, stride, dilation, out):
                gxt[at(sl)] += gcols[(every,) + offs]
            inner = gxt[at(tuple(slice(bf, bf + s) for s, (bf, _) in zip(x_shape[2:], pads)))]
            gx = np.ascontiguousarray(np.moveaxis(inner, -1, 0) if last else
                                      inner.swapaxes(0, 1))
        return (gx, gw, gb) if has_b else (gx, gw)


def _group_matmul(a, b):
    """a @ b for (G, M, K) and (G, K, N) stacks; one group goes straight to fastnn's gemm.

    That is MKL where installed, so a network's convolutions and linear layers share one
    BLAS and one thread pool instead of alternating between two.
    """
    a0, b0 = a[0], b[0]
    if (a.shape[0] == 1 and a.dtype == b.dtype and a.dtype.char in "fd"
            and all(m.flags.c_contiguous or m.flags.f_contiguous for m in (a0, b0))):
        out = np.empty((1, a.shape[1], b.shape[2]), a.dtype)
        core().matmul_into(a0, b0, out[0])
        return out
    return np.matmul(a, b)


class Conv2dColumnsBackward(Node):
    """The 2-D case through fastnn._core: columns (C*kh*kw, N, OH, OW), one GEMM per group.

    The product (O, N, OH*OW) is reordered to (N, O, OH*OW) in one copy of long runs, with
    the bias added on the way; backward reorders the gradient the same way, and col2im adds
    the input gradient straight into an unpadded array.
    """

    def forward(self, *args):
        *arrays, (stride, pads, dilation, groups) = args
        x, w = np.ascontiguousarray(arrays[0]), arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        n, c = x.shape[:2]
        o, _, kh, kw = w.shape
        window = (kh, kw, stride[0], stride[1], pads[0][0], pads[1][0], dilation[0],
                  dilation[1])
        oh, ow = (out_size(s, k, st, p[0] + p[1], d) for s, k, st, p, d in
                  zip(x.shape[2:], (kh, kw), stride, pads, dilation))
        cols = np.empty((c * kh * kw, n, oh, ow), x.dtype)
        core().im2col2d(x, cols, *window)
        prod = _group_matmul(w.reshape(groups, o // groups, -1),
                             cols.reshape(groups, c // groups * kh * kw, n * oh * ow))
        src = prod.reshape(o, n, oh * ow).swapaxes(0, 1)
        y = np.empty((n, o, oh * ow), x.dtype)
        if b is not None:
            np.add(src, b.reshape(1, o, 1), out=y)
        else:
            np.copyto(y, src)
        self.meta = (x.shape, window, groups, b is not None)
        self.save(cols, w, x)  # x: for create_graph, which needs the input itself
        return y.reshape(n, o, oh, ow)

    def backward(self, g):
        cols, w, _ = self.saved
        x_shape, window, groups, has_b = self.meta
        n, o, oh, ow = g.shape
        g2 = np.ascontiguousarray(g.reshape(n, o, oh * ow).swapaxes(0, 1))
        g2 = g2.reshape(groups, o // groups, n * oh * ow)
        gx = gw = gb = None
        if self.needs(1):
            gw = _group_matmul(g2, cols.reshape(groups, -1, n * oh * ow).transpose(0, 2, 1)) \
                if n else np.zeros(w.shape, g.dtype)
            gw = gw.reshape(w.shape)
        if has_b and self.needs(2):
            gb = g2.reshape(o, n * oh * ow).sum(axis=1)
        if self.needs(0):
            gcols = _group_matmul(w.reshape(groups, o // groups, -1).transpose(0, 2, 1), g2)
            gx = np.empty(x_shape, g.dtype)
            core().col2im2d(gcols.reshape(cols.shape), gx, *window)
        return (gx, gw, gb) if has_b else (gx, gw)


# PyTorch's name for every convolution node; name() reports the class name
Conv2dColumnsBackward.__name__ = Conv2dColumnsBackward.__qualname__ = "ConvolutionBackward0"


def _columns_kernels_apply(x, weight, pads):
    """True when the Cython 2-D path handles this convolution."""
    return (weight.dim() == 4 and x._data.dtype in nodes_dtype and
            all(before == after for before, after in pads) and core() is not None)


def _same_pads(ksize, dilation):
    pads = []
    for k, d in zip(ksize, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _check(input, weight, bias, nd, name, weight_dtype=True):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments: argument "
                        f"'input' must be Tensor, not {type(input).__name__}")
    if not isinstance(weight, Tensor):
        raise TypeError(f"{name}() received an invalid combination of arguments: argument "
                        f"'weight' must be Tensor, not {type(weight).__name__}")
    x, w = input._data, weight._data
    # as in PyTorch, a bias of another dtype than the input is reported before anything else
    check_bias_dtype(x, bias)
    if w.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional "
                           f"input to {name}, but got weight of size {list(w.shape)} instead")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{name}, but got input of size: {list(x.shape)}")
    if weight_dtype:
        check_weight_dtype(x, w)
    if bias is not None:
        b = bias._data
        if b.ndim != 1 or b.shape[0] != w.shape[0]:
            raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be "
                               f"1-dimensional with {w.shape[0]} elements, but got bias of "
                               f"size {list(b.shape)} instead")


# the C names PyTorch's convolution messages print where they differ from c_type_name's
_CONV_C_NAMES = {"long": "long int", "short": "short int", "complex64": "c10::complex<float>",
                 "complex128": "c10::complex<double>"}


def _short(dt):
    name = c_type_name(dt)
    return _CONV_C_NAMES.get(name, name)


def check_bias_dtype(x, bias):
    """A bias must have the input's dtype (PyTorch checks this before anything else)."""
    if bias is not None and bias._data.dtype != x.dtype:
        raise RuntimeError(f"Input type ({_short(x.dtype)}) and bias type "
                           f"({_short(bias._data.dtype)}) should be the same")


def check_weight_dtype(x, w):
    """The input and weight arrays must share a dtype."""
    if x.dtype != w.dtype:
        # PyTorch's wording depends on the kernel it picks; this follows its CPU choice
        if x.dtype.kind != "f" or w.dtype.kind != "f" or x.dtype.itemsize > w.dtype.itemsize:
            raise RuntimeError(f"expected scalar type {type_title(x.dtype)} but found "
                               f"{type_title(w.dtype)}")
        raise RuntimeError(f"Input type ({_legacy(x.dtype)}) and weight type "
                           f"({_legacy(w.dtype)}) should be the same")


def _conv(input, weight, bias, stride, padding, dilation, groups, nd, name):
    _check(input, weight, bias, nd, name)
    if input._data.dtype.kind == "b":
        raise NotImplementedError(f'"{"compute_columns3d" if nd == 3 else "slow_conv2d_cpu"}" '
                                  "not implemented for 'Bool'")
    stride = ntuple(stride, nd, "stride")
    dilation = ntuple(dilation, nd, "dilation")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    w = weight._data
    ksize = w.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_pads(ksize, dilation)
            if any(before != after for before, after in pads):
                warnings.warn("Using padding='same' with even kernel lengths and odd dilation "
                              "may require a zero-padded copy of the input be created",
                              UserWarning, stacklevel=3)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = ntuple(padding, nd, "padding")
        if any(v < 0 for v in p):
            raise RuntimeError("negative padding is not supported")
        pads = tuple((v, v) for v in p)
    if not isinstance(groups, int) or groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    o = w.shape[0]
    if o < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {list(w.shape)} instead")
    if o % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(w.shape)}] instead")
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    xs = x._data.shape
    if xs[1] != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                           f"input{list(xs)} to have {w.shape[1] * groups} channels, but got "
                           f"{xs[1]} channels instead")
    padded = tuple(s + b + a for s, (b, a) in zip(xs[2:], pads))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(ksize, dilation))
    if any(p < e for p, e in zip(padded, extent)):
        raise RuntimeError(f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, extent))}). Kernel size can't be greater "
                           "than actual input size")
    if type(x._data) is not np.ndarray:
        from ...cuda._nn import conv as cuda_conv  # im2col + GEMM kernels on the GPU
        y = cuda_conv(x, weight, bias, stride, pads, dilation, groups, nd)
        return y.squeeze(0) if unbatched else y
    tensors = (x, weight) if bias is None else (x, weight, bias)
    node = Conv2dColumnsBackward if _columns_kernels_apply(x, weight, pads) else \
        ConvolutionBackward0
    y = apply(node, tensors, (stride, pads, dilation, groups))
    return y.squeeze(0) if unbatched else y


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of (N, C, H, W) or (C, H, W) input with (O, C/groups, kh, kw) weight."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of (N, C, L) or (C, L) input with (O, C/groups, k) weight."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of (N, C, D, H, W) or (C, D, H, W) input."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")
