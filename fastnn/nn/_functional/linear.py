"""F.linear: the fused Cython addmm path for 2-D float input, with grads written in place.

Backward writes a parameter's weight and bias gradients straight into its ``.grad`` (or the
optimizer arena's grad slot) with BLAS ``beta=1`` accumulation instead of allocating a
gradient, returning it to the engine and adding it.
"""
import numpy as np

from ...autograd.function import apply
from ...autograd.node import AccumulateGrad, Node, save_unchecked
from ...autograd.ops_math import ReluBackward0, relabel, renamed
from ...tensor import Tensor
from ..._dtype import scalar_type_name as _title
from ..._tensor_math import check_same_device

try:
    from ... import _core
except ImportError:  # a source checkout without the compiled extension
    _core = None

_ndarray = np.ndarray


class TBackward0:
    """What PyTorch's graph shows between a linear node and its weight (``TBackward0``); the
    fused kernel needs no such node, so it exists only when the graph is inspected."""

    def __init__(self, weight_node):
        self.next_functions = ((weight_node, 0),)

    def name(self):
        return "TBackward0"

    def __repr__(self):
        return f"<TBackward0 object at {hex(id(self))}>"


class AddmmBackward0(Node):
    """out = x @ w.T + b for contiguous 2-D float x."""

    @property
    def next_functions(self):
        # PyTorch's order and nodes: (bias, input, weight.T) for addmm, (input, weight.T) for mm
        nxt = self._next or ()
        if len(nxt) < 2:
            return super().next_functions
        shown = ((nxt[0], 0), (TBackward0(nxt[1]), 0))
        return ((nxt[2], 0),) + shown if len(nxt) > 2 else shown

    def name(self):
        return "AddmmBackward0" if len(self._next or ()) != 2 else "MmBackward0"

    def forward(self, x, w, b=None, relu=False):
        out = np.empty((x.shape[0], w.shape[0]), x.dtype)
        if relu:  # linear_relu below: the ReLU node that follows only records itself
            _core.linear_relu_forward(x, w, b, out)
        else:
            _core.linear_forward(x, w, b, out)
        nxt = self._next
        if nxt is not None and (nxt[0] is None or nxt[1] is None):  # gx or gw not wanted
            self.save(x if nxt[1] is not None else save_unchecked(x),
                      w if nxt[0] is not None else save_unchecked(w))
        else:
            self.save(x, w)
        return out

    def backward(self, g):
        x, w = self.saved
        if not g.flags.c_contiguous:
            g = np.ascontiguousarray(g)
        nxt = self._next
        gx = np.empty(x.shape, x.dtype) if nxt[0] is not None else None
        gw, gb = linear_grads(g, x, w, gx, nxt[1], nxt[2] if len(nxt) > 2 else None)
        return (gx, gw, gb) if len(nxt) > 2 else (gx, gw)


def _grad_target(nxt, shape, dt):
    """(array, accumulate, direct): the leaf's own ``.grad`` (or arena slot) when it may be
    written in place, else a fresh array for the engine."""
    direct = nxt.direct_target(shape, dt) if type(nxt) is AccumulateGrad else None
    if direct:
        return direct[0], direct[1], True
    return np.empty(shape, dt), False, False


def linear_grads(g, x, w, gx, w_next, b_next):
    """gx = g @ w (into ``gx`` when given), gw = g.T @ x, gb = g.sum(0) for the edges that
    want them, written straight into the leaves' ``.grad`` where they allow it (BLAS
    ``beta=1`` accumulation). Returns (gw, gb), None for what was written in place."""
    gw = gb = None
    acc_w = acc_b = w_direct = b_direct = False
    if w_next is not None:
        gw, acc_w, w_direct = _grad_target(w_next, w.shape, w.dtype)
    if b_next is not None:
        gb, acc_b, b_direct = _grad_target(b_next, (w.shape[0],), w.dtype)
    _core.linear_backward(g, x, w, gx, gw, gb, acc_w, acc_b)
    if w_direct:
        w_next.commit(gw, acc_w)
        gw = None
    if b_direct:
        b_next.commit(gb, acc_b)
        gb = None
    return gw, gb


# linear without a bias: PyTorch records a plain matrix product
MmBackward0 = renamed(AddmmBackward0, "MmBackward0")


def _check(input, weight, bias):
    if not isinstance(input, Tensor):
        raise TypeError(f"linear(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if not isinstance(weight, Tensor):
        raise TypeError(f"linear(): argument 'weight' (position 2) must be Tensor, not "
                        f"{type(weight).__name__}")
    check_same_device(input, weight)
    if bias is not None:
        check_same_device(input, bias)
    x, w = input._data, weight._data
    if w.ndim == 1:  # a single output feature, as input @ weight (a bias cannot join it)
        if bias is not None:
            raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
        if x.ndim == 0:
            raise RuntimeError("both arguments to linear need to be at least 1D, but they "
                               "are 0D and 1D")
        return
    if w.ndim != 2:
        raise RuntimeError(f"linear(): expected weight to be 2-D, but got {w.ndim}-D")
    if x.ndim == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D "
                           "and 2D")
    if x.shape[-1] != w.shape[1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} "
                           f"and {w.shape[1]}x{w.shape[0]})")
    if x.dtype != w.dtype or (bias is not None and bias._data.dtype != w.dtype):
        other = bias._data.dtype if x.dtype == w.dtype else w.dtype
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{_title(x.dtype)} and {_title(other)}")
    if bias is not None:
        _check_bias(bias._data.shape, x.shape[:-1], w.shape[0])


def _check_bias(bshape, lead, out_features):
    """PyTorch's rule: a bias expands to the (rows, out_features) result (any broadcastable
    shape for an input of more than 2 dimensions)."""
    if len(bshape) > 1 and len(lead) > 1:  # added to the product as by add_
        target = tuple(lead) + (out_features,)
        try:
            both = np.broadcast_shapes(target, bshape)
        except ValueError:
            raise RuntimeError(f"The size of tensor a ({out_features}) must match the size of "
                               f"tensor b ({bshape[-1]}) at non-singleton dimension "
                               f"{len(target) - 1}") from None
        if both != target:
            raise RuntimeError(f"output with shape {list(target)} doesn't match the broadcast "
                               f"shape {list(both)}")
        return
    target = [int(np.prod(lead)) if lead else 1, out_features]
    if len(bshape) > 2:
        raise RuntimeError(f"expand(torch.FloatTensor{{{list(bshape)}}}, size={target}): the "
                           "number of sizes provided (2) must be greater or equal to the number "
                           f"of dimensions in the tensor ({len(bshape)})")
    for k in range(1, len(bshape) + 1):
        have, want = bshape[-k], target[-k]
        if have != 1 and have != want:
            raise RuntimeError(f"The expanded size of the tensor ({want}) must match the "
                               f"existing size ({have}) at non-singleton dimension "
                               f"{2 - k}.  Target sizes: {target}.  Tensor sizes: "
                               f"{list(bshape)}")


_FAST_DT = (np.dtype(np.float32), np.dtype(np.float64))


def _addmm_ready(x, w, b):
    """Whether AddmmBackward0's kernel takes these arrays as they are (b may be None)."""
    dt = x.dtype
    return type(x) is _ndarray and type(w) is _ndarray and dt in _FAST_DT and w.dtype is dt \
        and x.ndim == 2 and \
        w.ndim == 2 and x.shape[1] == w.shape[1] and x.flags.c_contiguous and \
        w.flags.c_contiguous and \
        (b is None or (type(b) is _ndarray and b.dtype is dt and b.shape == (w.shape[0],)))


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias, over the last dimension of input."""
    if _core is not None and isinstance(input, Tensor) and isinstance(weight, Tensor):
        # the training-loop case first: everything the checks below would accept
        if bias is None:
            if _addmm_ready(input._data, weight._data, None):
                return apply(MmBackward0, (input, weight))
        elif isinstance(bias, Tensor) and _addmm_ready(input._data, weight._data, bias._data):
            return apply(AddmmBackward0, (input, weight, bias))
    _check(input, weight, bias)
    x, w = input._data, weight._data
    if w.ndim == 1:
        return input.matmul(weight)
    if x.dtype.kind == "b":
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    if _core is None or type(x) is not _ndarray or x.dtype.kind != "f" or \
            x.dtype.itemsize not in (4, 8) or \
            (bias is not None and bias._data.shape != (w.shape[0],)):
        if type(x) is not _ndarray and hasattr(x, "device_spec") and x.dtype.kind == "f" and \
                (bias is None or bias._data.shape == (w.shape[0],)):
            from ...cuda._nn import linear as cuda_linear  # one fused GEMM on the GPU
            return cuda_linear(input, weight, bias)
        out = input.matmul(weight.t())
        return out if bias is None else out + bias
    if x.ndim == 2 and x.flags.c_contiguous and w.flags.c_contiguous:
        if bias is None:
            return apply(MmBackward0, (input, weight))
        return apply(AddmmBackward0, (input, weight, bias))
    lead = x.shape[:-1]
    flat = input.reshape(-1, x.shape[-1]) if x.ndim != 2 else input
    if not w.flags.c_contiguous or (x.ndim == 2 and not x.flags.c_contiguous):
        # a transposed operand: the generic product nodes give its gradient its layout
        wt = weight.t()
        out = flat.matmul(wt) if bias is None else bias.addmm(flat, wt)
    else:
        if not flat._data.flags.c_contiguous:
            flat = flat.contiguous()
        out = apply(MmBackward0, (flat, weight)) if bias is None else \
            apply(AddmmBackward0, (flat, weight, bias))
    if x.ndim == 2:
        return out
    out = out.reshape(lead + (w.shape[0],))
    if bias is None and out.grad_fn is not None:  # the node PyTorch's matmul ends with
        relabel(out, "UnsafeViewBackward0" if x.ndim > 2 else "SqueezeBackward4")
    return out


def linear_relu(input, weight, bias):
    """relu(linear(input, weight, bias)) in one kernel pass, or None where that does not apply.

    The graph is the one the two calls record (AddmmBackward0 feeding ReluBackward0); only
    the pre-activation, which nobody else sees, is never written out.
    """
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor) and
            isinstance(bias, Tensor)):
        return None
    if _core is not None and _addmm_ready(input._data, weight._data, bias._data):
        pre = apply(AddmmBackward0, (input, weight, bias), True)
        return apply(ReluBackward0, (pre,), True)
    if hasattr(input._data, "device_spec"):  # on the GPU: the ReLU in the GEMM's epilogue
        from ...cuda._nn import linear_relu as cuda_linear_relu
        return cuda_linear_relu(input, weight, bias)
    return None


def _bilinear_check(x1, x2, weight, bias):
    if x1.dim() != x2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {x1.dim()} and "
                           f"{x2.dim()}")
    for i in range(x1.dim() - 1):
        if x1.shape[i] != x2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: "
                               f"got {x1.shape[i]} and {x2.shape[i]}")
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): expected weight to be 3-D, but got {weight.dim()}-D")
    for k, x in ((1, x1), (2, x2)):
        if x.shape[-1] != weight.shape[k]:
            raise RuntimeError(f"bilinear(): input{k} size does not match weight size: got "
                               f"{x.shape[-1]} but expected {weight.shape[k]}")
    if bias is not None and bias.numel() != weight.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got "
                           f"{bias.numel()} but expected {weight.shape[0]}")


def bilinear(input1, input2, weight, bias=None):
    """y[..., o] = x1[...] @ W[o] @ x2[...] + b[o], over matching leading dims (or none)."""
    _bilinear_check(input1, input2, weight, bias)
    out_f, in1, in2 = weight.shape
    lead = tuple(input1.shape[:-1])
    x1 = input1.reshape(-1, in1)
    x2 = input2.reshape(-1, in2)
    # one GEMM: x1 @ W viewed as (in1, out * in2), then the dot with x2 per output feature
    w = weight.permute(1, 0, 2).reshape(in1, out_f * in2)
    out = ((x1 @ w).reshape(-1, out_f, in2) * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (out_f,))
