"""Connectionist temporal classification loss: ``ctc_loss`` and its graph node.

The loss of one sample is -log of the total probability of every alignment of its target
to its input frames, summed by the forward (alpha) recursion over the extended label
sequence ``blank, l1, blank, l2, ..., lS, blank``; the backward (beta) recursion gives the
occupancy of each label at each frame, and with it the gradient. Everything runs in log
space. The compiled kernel (``_core.ctc_loss_forward`` / ``ctc_loss_backward``) is used when
built; the numpy path below loops over frames and is vectorized over batch and labels.
"""
import numpy as np

from ...autograd.engine import _edge
from ...autograd.function import apply
from ...autograd.higher_order import rule
from ...autograd.node import Node, new_sequence_number
from ...tensor import Tensor
from .loss import _REDUCTIONS
from .misc import core, type_title

_CHECKED = " (while checking arguments for ctc_loss_allocate_outputs)"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ---- numpy reference path --------------------------------------------------------------------
def _lse3(a, b, c):
    return np.logaddexp(np.logaddexp(a, b), c)


def _shift(a, k, fill):
    """a moved k places right along the last axis, the vacated places set to fill."""
    out = np.empty_like(a)
    out[..., :k] = fill
    out[..., k:] = a[..., :-k] if k else a
    return out


def _skip_mask(ext):
    """skip[n, s]: whether a path may jump from s - 2 straight to s (distinct labels)."""
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]
    return skip


def _gathered(lp, ext):
    """lpe[t, n, s] = lp[t, n, ext[n, s]]: each frame's log-probability of each label."""
    return lp[:, np.arange(lp.shape[1])[:, None], ext]


def _nll_from_alpha(alpha, il, tl):
    n_idx = np.arange(il.shape[0])
    last = np.maximum(il - 1, 0)
    end = alpha[last, n_idx, 2 * tl]
    before = np.where(tl > 0, alpha[last, n_idx, np.maximum(2 * tl - 1, 0)], -np.inf)
    nll = -np.logaddexp(end, before)
    # no frames at all: an empty target is certain, any other impossible
    return np.where(il == 0, np.where(tl == 0, 0.0, np.inf), nll).astype(alpha.dtype)


def ctc_alpha_numpy(lp, ext, il, tl):
    """(alpha (T, N, L), nll (N,)): log forward variables and each sample's loss."""
    t_max = lp.shape[0]
    lpe = _gathered(lp, ext)
    skip = _skip_mask(ext)
    ninf = lp.dtype.type(-np.inf)
    alpha = np.empty(lpe.shape, lp.dtype)
    s_idx = np.arange(ext.shape[1])
    start = (s_idx[None, :] <= 1) & (s_idx[None, :] <= 2 * tl[:, None])
    if t_max:
        alpha[0] = np.where(start, lpe[0], ninf)
    with np.errstate(invalid="ignore"):  # -inf + -inf from impossible prefixes
        for t in range(1, t_max):
            prev = alpha[t - 1]
            two = np.where(skip, _shift(prev, 2, ninf), ninf)
            alpha[t] = _lse3(prev, _shift(prev, 1, ninf), two) + lpe[t]
    return alpha, _nll_from_alpha(alpha, il, tl)


def ctc_grad_numpy(lp, ext, il, tl, nll, alpha, scale, zero_infinity):
    """d loss / d log_probs with each sample's gradient scaled by scale[n]: exp(lp) minus
    each label's occupancy on the frames of the sample, zero on the frames past its end."""
    t_max, n, c = lp.shape
    lpe = _gathered(lp, ext)
    skip = _skip_mask(ext)
    ninf = lp.dtype.type(-np.inf)
    s_idx = np.arange(ext.shape[1])
    final = (s_idx[None, :] == 2 * tl[:, None]) | (s_idx[None, :] == 2 * tl[:, None] - 1)
    skip_next = np.zeros(ext.shape, bool)
    skip_next[:, :-2] = skip[:, 2:]
    beta = np.empty(lpe.shape, lp.dtype)
    nxt = np.full(ext.shape, ninf, lp.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        for t in range(t_max - 1, -1, -1):
            one = np.empty_like(nxt)
            one[:, :-1] = nxt[:, 1:]
            one[:, -1] = ninf
            two = np.full_like(nxt, ninf)
            two[:, :-2] = nxt[:, 2:]
            two = np.where(skip_next, two, ninf)
            rec = _lse3(nxt, one, two) + lpe[t]
            here = np.where((t == il - 1)[:, None] & final, lpe[t], ninf)
            nxt = beta[t] = np.where((t < il - 1)[:, None], rec, here)
        # posterior occupancy of position s at frame t, summed per class below
        occ = np.exp(alpha + beta - lpe + nll[None, :, None])
    flat = ((np.arange(t_max)[:, None, None] * n + np.arange(n)[None, :, None]) * c +
            ext[None, :, :])
    occ_c = np.bincount(flat.ravel(), weights=np.nan_to_num(occ, nan=0.0).ravel(),
                        minlength=t_max * n * c).reshape(t_max, n, c)
    with np.errstate(invalid="ignore"):
        g = (np.exp(lp) - occ_c) * scale[None, :, None]
    live = np.arange(t_max)[:, None] < il[None, :]
    g = np.where(live[:, :, None], g, 0)
    bad = np.isinf(nll)
    if bad.any():
        # an impossible sample: no gradient at all under zero_infinity, else NaN on its frames
        fill = 0.0 if zero_infinity else np.nan
        g = np.where((live & bad[None, :])[:, :, None], fill, g)
    return g.astype(lp.dtype, copy=False)


# ---- the graph node --------------------------------------------------------------------------
def _fast(lp):
    k = core()
    if k is None or not hasattr(k, "ctc_loss_forward"):
        return None
    return k


class CtcLossBackward0(Node):
    """ctc_loss on (T, N, C) log-probabilities; extended labels, lengths and options are
    fixed arguments. Returns the per-sample losses or their reduction."""

    def forward(self, lp, ext, il, tl, blank, reduction, zero_infinity, unbatched):
        shape = lp.shape
        x = lp.reshape(shape[0], 1, shape[1]) if unbatched else lp
        k = _fast(x)
        if k is not None:
            x = np.ascontiguousarray(x)
            alpha = np.empty((x.shape[0], x.shape[1], ext.shape[1]), x.dtype)
            nll = np.empty(x.shape[1], x.dtype)
            k.ctc_loss_forward(x, ext, il, tl, alpha, nll)
        else:
            alpha, nll = ctc_alpha_numpy(x, ext, il, tl)
        self.meta = (shape, ext, il, tl, nll, reduction, zero_infinity, unbatched)
        self.save(lp)
        self.alpha = alpha if self._next is not None else None
        loss = np.where(np.isinf(nll), 0, nll) if zero_infinity else nll
        if reduction == "none":
            return (loss[0] if unbatched else loss).astype(lp.dtype, copy=False)
        if reduction == "sum":
            return np.asarray(loss.sum(), lp.dtype)
        return np.asarray((loss / np.maximum(tl, 1)).mean(), lp.dtype)

    def backward(self, g):
        shape, ext, il, tl, nll, reduction, zero_infinity, unbatched = self.meta
        lp = self.saved[0]
        dt = lp.dtype
        x = lp.reshape(shape[0], 1, shape[1]) if unbatched else lp
        n = x.shape[1]
        if reduction == "none":
            scale = np.asarray(g, dt).reshape(n)
        elif reduction == "sum":
            scale = np.full(n, np.asarray(g).reshape(()), dt)
        else:
            scale = (np.asarray(g).reshape(()) / (np.maximum(tl, 1) * n)).astype(dt)
        k = _fast(x)
        if k is not None:
            out = np.empty(x.shape, dt)
            k.ctc_loss_backward(np.ascontiguousarray(x), ext, il, tl, nll, self.alpha,
                                np.ascontiguousarray(scale), bool(zero_infinity), out)
        else:
            out = ctc_grad_numpy(x, ext, il, tl, nll, self.alpha, scale, zero_infinity)
        return (out.reshape(shape),)

    def release(self):
        super().release()
        self.alpha = None


# ---- create_graph=True: a first-order gradient that refuses a second derivative -------------
_NO_SECOND_DERIVATIVE = "derivative for aten::_ctc_loss_backward is not implemented"


class _CtcGradientNotDifferentiable(Node):
    """The node of a CTC gradient computed with ``create_graph=True``: the gradient itself is
    exact, but differentiating it again raises (as in PyTorch, not earlier)."""

    def name(self):
        return "NotImplemented"

    def backward(self, g):
        raise RuntimeError(_NO_SECOND_DERIVATIVE)


@rule(_CtcGradientNotDifferentiable)
def _refuse_second_derivative(node, g):
    raise RuntimeError(_NO_SECOND_DERIVATIVE)


@rule(CtcLossBackward0)
def _ctc_gradient_with_graph(node, g):
    from ...tensor import _wrap
    grad = node.backward(np.asarray(g._data))[0]
    edges = [e for e in (node._next[0], g.grad_fn or (_edge(g) if g._rg else None))
             if e is not None]
    if not edges:
        return (_wrap(grad),)
    err = _CtcGradientNotDifferentiable()
    err._next = tuple(edges)
    err._seq = new_sequence_number()
    return (_wrap(grad, err),)


# ---- argument checks -------------------------------------------------------------------------
def _type_error(log_probs, targets, input_lengths, target_lengths):
    got = ", ".join(type(v).__name__ for v in (log_probs, targets, input_lengths,
                                               target_lengths))
    return TypeError(
        f"ctc_loss() received an invalid combination of arguments - got ({got}, int, int, "
        "bool), but expected one of:\n * (Tensor log_probs, Tensor targets, tuple of ints "
        "input_lengths, tuple of ints target_lengths, int blank, int reduction, bool "
        "zero_infinity)\n * (Tensor log_probs, Tensor targets, Tensor input_lengths, Tensor "
        "target_lengths, int blank, int reduction, bool zero_infinity)")


def _int_seq(v):
    if not isinstance(v, (list, tuple)):
        return None
    out = []
    for e in v:
        if isinstance(e, (bool, np.bool_)) or not isinstance(e, (int, np.integer)):
            if isinstance(e, Tensor) and e.dim() == 0 and e._data.dtype.kind in "iu":
                out.append(int(e.item()))
                continue
            return None
        out.append(int(e))
    return np.asarray(out, np.int64).reshape(len(out))


def _lengths(log_probs, targets, input_lengths, target_lengths):
    if isinstance(input_lengths, Tensor) and isinstance(target_lengths, Tensor):
        for name, t in (("input_lengths", input_lengths), ("target_lengths", target_lengths)):
            if t._data.dtype.kind not in "iu":   # bool is not integral here either
                raise RuntimeError(f"{name} must be integral")
        return (np.asarray(input_lengths._data).astype(np.int64).reshape(-1),
                np.asarray(target_lengths._data).astype(np.int64).reshape(-1))
    il, tl = _int_seq(input_lengths), _int_seq(target_lengths)
    if il is None or tl is None:
        raise _type_error(log_probs, targets, input_lengths, target_lengths)
    return il, tl


def _dims_error(want, got, arg):
    return RuntimeError(f"Expected {want}, but got {got}-dimensional tensor for argument "
                        f"{arg}{_CHECKED}")


def _extended(tg, tl, offsets, blank, c):
    """(N, 2 * max(tl) + 1) extended labels: blank, l1, blank, ..., blank (blank-padded)."""
    n = tl.shape[0]
    s_max = int(tl.max()) if n else 0
    ext = np.full((n, 2 * s_max + 1), blank, np.int64)
    if s_max:
        pos = np.arange(s_max)
        keep = pos[None, :] < tl[:, None]
        src = offsets[:, None] + pos[None, :]
        lab = tg.reshape(-1)[np.where(keep, src, 0)] if tg.size else np.zeros(keep.shape,
                                                                            np.int64)
        bad = keep & ((lab < 0) | (lab >= c))
        if bad.any():
            raise IndexError(f"ctc_loss(): target value {lab[bad][0]} is out of bounds for "
                             f"{c} classes")
        ext[:, 1::2] = np.where(keep, lab, blank)
    return ext


def _check(log_probs, targets, il, tl, blank):
    """PyTorch's argument checks, in its order; returns (extended labels, unbatched)."""
    x = log_probs._data
    if x.size == 0:
        raise RuntimeError("log_probs tensor must not be empty")
    if x.dtype not in _FLOATS:
        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for "
                                  f"'{type_title(x.dtype)}'")
    unbatched = x.ndim != 3
    if unbatched and x.ndim != 2:
        raise _dims_error("3-dimensional tensor", x.ndim + 1, "#1 'log_probs'")
    tg = np.asarray(targets._data)
    if not 1 <= tg.ndim <= 2:
        raise _dims_error("1 to 2 dimensions", tg.ndim, "#2 'targets'")
    n = 1 if unbatched else x.shape[1]
    c = x.shape[-1]
    t_max = x.shape[0]
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    if il.shape[0] != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.shape[0] != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    for v in tl:
        if v < 0:
            raise RuntimeError(f"Expected target_lengths to have value at least 0, but got "
                               f"value {v}{_CHECKED}")
    if tg.ndim == 1:
        total = int(tl.sum())
        if tg.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got "
                               f"size {tg.shape[0]} for argument #2 'targets'{_CHECKED}")
        offsets = np.concatenate(([0], np.cumsum(tl)[:-1])).astype(np.int64)
    else:
        if tg.shape[0] != n:
            raise RuntimeError(f"Expected tensor to have size {n} at dimension 0, but got "
                               f"size {tg.shape[0]} for argument #2 'targets'{_CHECKED}")
        s_max = int(tl.max()) if n else 0
        if tg.shape[1] < s_max:
            raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension "
                               f"1, but got size {tg.shape[1]} for argument #2 "
                               f"'targets'{_CHECKED}")
        offsets = np.arange(n, dtype=np.int64) * tg.shape[1]
    for v in il:
        if v < 0:
            raise RuntimeError(f"Expected input_lengths to have value at least 0, but got "
                               f"value {v}{_CHECKED}")
        if v > t_max:
            raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but "
                               f"got value {v}{_CHECKED}")
    labels = tg.astype(np.int64) if tg.dtype != np.int64 else tg
    return _extended(labels, tl, offsets, blank, c), unbatched


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """The CTC loss of (T, N, C) (or unbatched (T, C)) log-probabilities against targets
    padded to (N, S) or concatenated to (sum(target_lengths),); ``mean`` divides each loss
    by its target length (at least 1) before averaging over the batch."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    for name, t in (("log_probs", log_probs), ("targets", targets)):
        if not isinstance(t, Tensor):
            raise TypeError(f"ctc_loss(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if type(log_probs._data) is not np.ndarray:
        raise NotImplementedError("ctc_loss: only CPU tensors are supported")
    il, tl = _lengths(log_probs, targets, input_lengths, target_lengths)
    ext, unbatched = _check(log_probs, targets, il, tl, int(blank))
    return apply(CtcLossBackward0, (log_probs,), ext, np.ascontiguousarray(il),
                 np.ascontiguousarray(tl), int(blank), reduction, bool(zero_infinity),
                 unbatched)


__all__ = ["ctc_loss"]
