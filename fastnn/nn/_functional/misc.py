"""Shared helpers of the functional API, plus one_hot, pad, embedding and im2col windows."""
import collections.abc
import itertools
import numbers
import operator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ... import _dtype as D
from ...autograd.function import apply
from ...autograd.node import Node, keep_saved
from ...autograd.ops_math import name_by_use
from ...autograd.out_layout import is_channels_last
from ...autograd import grad_mode
from ..._dtype import scalar_type_name as type_title

_core_mod = []
nodes_dtype = (np.dtype(np.float32), np.dtype(np.float64))


def core():
    """The compiled kernels module, or None when it is not built (numpy paths are used)."""
    if not _core_mod:
        try:
            from ... import _core
        except ImportError:
            _core = None
        _core_mod.append(_core)
    return _core_mod[0]


def wrap(arr):
    from ...tensor import _wrap
    return _wrap(arr)


def float_check(t, kernel):
    if t._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{type_title(t._data.dtype)}'")


def ntuple(x, n, name="argument"):
    if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
        t = tuple(int(v) for v in x)
        if len(t) == 1:
            return t * n
        if len(t) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(t)}")
        return t
    return (int(x),) * n


def inplace(input, compute):
    """Run ``compute`` as an in-place op on ``input``, recording it when autograd needs it."""
    from ..._tensor_inplace import _record, _tracked, _write
    input._check_inplace()
    if _tracked(input):
        return _record(input, compute)
    with grad_mode.no_grad():
        res = compute(input.detach())
    _write(input, res._data)
    return input._bump()


# ---- one_hot ------------------------------------------------------------------------------
def one_hot(input, num_classes=-1):
    arr = input._data
    if arr.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if arr.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(arr.max()) + 1
    if arr.size:
        if arr.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if arr.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(arr.shape + (num_classes,), np.int64)
    np.put_along_axis(out, arr[..., None], 1, axis=-1)
    return wrap(out)


# ---- pad ----------------------------------------------------------------------------------
class ConstantPadNdBackward0(Node):
    def forward(self, a, pads, value):
        # pads: ((before, after), ...) per dim; negative entries crop
        src = tuple(slice(max(-b, 0), n - max(-e, 0)) for (b, e), n in zip(pads, a.shape))
        grown = tuple((max(b, 0), max(e, 0)) for b, e in pads)
        cut = a[src]
        self.meta = (a.shape, a.dtype, src, grown)
        if not any(b or e for b, e in grown):
            return cut.copy(order="K")  # a copy in the input's layout, as PyTorch clones
        # a grown result is C-ordered, or channels-last for a channels-last input
        if is_channels_last(a):  # padded in channels-last order, so its buffer is laid out so
            order = (0, *range(2, a.ndim), 1)
            out = np.pad(cut.transpose(order), [grown[d] for d in order], mode="constant",
                         constant_values=value)
            return out.transpose(np.argsort(order))
        out = np.pad(cut, grown, mode="constant", constant_values=value)
        return out if out.flags.c_contiguous else np.ascontiguousarray(out)

    def backward(self, g):
        shape, dt, src, grown = self.meta
        inner = tuple(slice(b, g.shape[i] - e) for i, (b, e) in enumerate(grown))
        out = np.zeros(shape, dt)
        out[src] = g[inner]
        return (out,)


_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_PAD_NAME = {"reflect": "ReflectionPad", "replicate": "ReplicationPad", "circular": "CircularPad"}


class _IndexPadBackward(Node):
    """reflect / replicate / circular: a gather along each padded dim; backward scatters."""

    def forward(self, a, pads, mode):
        self.mode_name = f"{_PAD_NAME[mode]}{len(pads)}DBackward0"
        name_by_use(self)
        lead = a.ndim - len(pads)
        self.maps = []
        out = a
        for i, (b, e) in enumerate(pads):
            ax = lead + i
            n = a.shape[ax]
            # negative amounts crop: PyTorch wraps what is left after cropping, but reflects
            # and replicates the uncropped input before cropping
            cut_b, cut_e, grow = max(-b, 0), max(-e, 0), (max(b, 0), max(e, 0))
            if mode == "circular":
                idx = np.pad(np.arange(cut_b, n - cut_e), grow, mode="wrap")
            else:
                idx = np.pad(np.arange(n), grow, mode=_NP_MODE[mode])
                idx = idx[cut_b:len(idx) - cut_e]
            self.maps.append((ax, n, idx))
            out = np.take(out, idx, axis=ax)
        self.dt = a.dtype
        return out

    def name(self):
        return self.mode_name

    def backward(self, g):
        for ax, n, idx in reversed(self.maps):
            moved = np.moveaxis(g, ax, 0)
            acc = np.zeros((n,) + moved.shape[1:], g.dtype)
            np.add.at(acc, idx, moved)
            g = np.moveaxis(acc, 0, ax)
        return (np.ascontiguousarray(g, dtype=self.dt),)


_NONCONST_HELP = ("Supported combinations for non-constant padding:\n"
                  "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                  "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                  "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _pad_ints(pad):
    """The pad sizes as ints; non-integers are refused with PyTorch's TypeError."""
    sizes = []
    for i, p in enumerate(pad):
        try:
            sizes.append(operator.index(p))
        except TypeError:
            kind = type(p).__name__
            if i == 0:
                raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but "
                                f"found element of type {kind} at pos 0") from None
            raise TypeError(f"pad(): argument 'pad' failed to unpack the object at pos 2 with "
                            f"error \"type must be tuple of ints,but got {kind}\"") from None
    return sizes


def _is_fill_value(value):
    """Whether value can fill padding: a real number (or a tensor holding one)."""
    from ...tensor import Tensor
    if isinstance(value, (complex, np.complexfloating)):
        return False
    return isinstance(value, (numbers.Number, np.bool_, Tensor))


def _checked_pad_value(value, dt):
    """PyTorch's overflow error for a padding value the input's dtype cannot hold (-1 into
    uint8 included); a tensor counts by its value."""
    from ...tensor import Tensor
    from ..._scalar_fill import checked_scalar, is_number
    number = value.item() if isinstance(value, Tensor) and value.numel() == 1 else value
    if dt.kind in "iuf" and is_number(number) and not isinstance(number, (bool, np.bool_)):
        checked_scalar(number, dt, wrap_negative=False)
    return value


def pad(input, pad, mode="constant", value=None):
    pad = _pad_ints(pad)
    if value is not None and not _is_fill_value(value):
        raise TypeError(f"pad(): argument 'value' (position 4) must be float, not "
                        f"{type(value).__name__}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    nd = input.dim()
    if k > nd:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(pad)} and input of "
                           f"dimension {nd}")
    # PyTorch lists the last dim first: (left, right, top, bottom, ...)
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in range(k))[::-1]
    if mode == "constant":
        shape = input.shape
        for (b, e), n in zip(pairs, shape[nd - k:]):
            if n + b + e < 0 or (b < 0 and -b > n) or (e < 0 and -e > n):
                raise RuntimeError("narrow(): length must be non-negative.")
        full = ((0, 0),) * (nd - k) + pairs
        if value is not None:
            value = _checked_pad_value(value, input._data.dtype)
        return apply(ConstantPadNdBackward0, (input,), full, 0 if value is None else value)
    if mode not in _NP_MODE:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if k not in (1, 2, 3) or nd not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {nd}D input "
                                  f"tensor.\n{_NONCONST_HELP}")
    shape = input.shape
    if any(n == 0 for n in shape[1:]):
        raise RuntimeError(f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 "
                           "batch size and other non-zero dimensions for input, but got: "
                           f"{list(shape)}")
    for i, ((b, e), n) in enumerate(zip(pairs, shape[nd - k:])):
        dim = nd - k + i
        if mode == "reflect" and (b >= n or e >= n):
            arg = 2 * (k - i)
            raise RuntimeError(f"Argument #{arg + 2}: Padding size should be less than the "
                               "corresponding input dimension, but got: padding "
                               f"({b}, {e}) at dimension {dim} of input {list(shape)}")
        if mode == "circular" and (b > n or e > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
    return apply(_IndexPadBackward, (input,), pairs, mode)


# ---- normalize ----------------------------------------------------------------------------
def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """input / max(||input||_p over dim, eps), broadcast back along dim."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    res = input / denom
    if out is not None:
        out.copy_(res)
        return out
    return res


# ---- embedding ----------------------------------------------------------------------------
class EmbeddingBackward0(Node):
    def forward(self, weight, idx, padding_idx, scale_grad_by_freq=False):
        self.meta = (weight.shape, weight.dtype, padding_idx, scale_grad_by_freq)
        self.idx = idx
        return weight[idx]

    def backward(self, g):
        shape, dt, padding_idx, by_freq = self.meta
        flat = self.idx.reshape(-1)
        rows = g.reshape(-1, shape[1])
        if by_freq:
            # each row's gradient is divided by how often its index occurs in the batch
            counts = np.bincount(flat, minlength=shape[0])
            rows = rows / counts[flat].astype(rows.dtype)[:, None]
        if padding_idx is not None:
            keep = flat != padding_idx
            flat, rows = flat[keep], rows[keep]
        out = np.zeros(shape, dt)
        np.add.at(out, flat, rows)
        return (out,)


def _check_indices(arr, fn):
    if arr.dtype.kind not in "iu" or arr.dtype == np.uint8:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"torch.{D._LEGACY.get(str(arr.dtype), 'Tensor')} instead (while "
                           f"checking arguments for {fn})")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    idx = input._data
    _check_indices(idx, "embedding")
    w = weight._data
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    n = w.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError("index out of range in self")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = padding_idx % n
    if sparse:
        raise NotImplementedError("embedding(): sparse=True is not supported: fastnn has no "
                                  "sparse tensors, so the weight's gradient is always dense; "
                                  "pass sparse=False (and use a dense optimizer such as "
                                  "fastnn.optim.Adam instead of SparseAdam)")
    if max_norm is not None:
        embedding_renorm_(weight, idx, max_norm, norm_type)
    return keep_saved(apply(EmbeddingBackward0, (weight,), idx.astype(np.int64, copy=False),
                            padding_idx, bool(scale_grad_by_freq)), input)


def embedding_renorm_(weight, idx, max_norm, norm_type):
    """Scale the referenced rows whose norm exceeds max_norm down to it, in place (no grad)."""
    rows = np.unique(idx)
    w = weight._data
    norms = np.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        scale = max_norm / (norms[big] + 1e-7)
        w[rows[big]] = (w[rows[big]] * scale[:, None]).astype(w.dtype)
        weight._bump()


# ---- im2col windows -----------------------------------------------------------------------
def out_size(n, k, stride, pad_total, dilation):
    return (n + pad_total - dilation * (k - 1) - 1) // stride + 1


def windows(x, ksize, stride, dilation, out):
    """Read-only view (N, C, *out, *ksize) of every kernel window of the (padded) input x."""
    nd = len(ksize)
    st = x.strides
    shape = x.shape[:2] + tuple(out) + tuple(ksize)
    strides = st[:2] + tuple(st[2 + i] * stride[i] for i in range(nd)) + \
        tuple(st[2 + i] * dilation[i] for i in range(nd))
    return as_strided(x, shape, strides, writeable=False)


def kernel_slices(ksize, stride, dilation, out):
    """For each kernel offset, the strided slices of the padded input it reads."""
    for offs in itertools.product(*(range(k) for k in ksize)):
        yield offs, tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                          for o, d, s, n in zip(offs, dilation, stride, out))
