"""Top-level sequence ops with PyTorch's low-level (``torch.*``) signatures: ``embedding``
(weight first), ``embedding_renorm_``, ``ctc_loss`` (integer reduction) and the one-step
recurrent cells. Each one adapts its arguments and runs fastnn's functional code."""
import numpy as np

from ..modules.rnn_cell import _gru_step, _lstm_step, _rnn_relu_step, _rnn_tanh_step
from . import linear as _linear
from .loss_ctc import ctc_loss as _ctc_loss
from .misc import embedding as _embedding, embedding_renorm_ as _renorm

__all__ = ["embedding", "embedding_renorm_", "ctc_loss", "lstm_cell", "gru_cell",
           "rnn_tanh_cell", "rnn_relu_cell"]


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` picked by ``indices``; ``padding_idx`` outside [0, rows) (the
    default -1 included) means no padding row."""
    rows = weight.shape[0] if weight.dim() == 2 else 0
    pad = padding_idx if 0 <= padding_idx < rows else None
    return _embedding(indices, weight, padding_idx=pad, scale_grad_by_freq=scale_grad_by_freq,
                      sparse=sparse)


def embedding_renorm_(input, indices, max_norm, norm_type):
    """Scale, in place, each row of ``input`` named by ``indices`` whose ``norm_type``-norm
    exceeds ``max_norm`` down to that norm; returns ``input``."""
    input._check_inplace()
    idx = indices._data
    if idx.dtype.kind not in "iu" or idx.dtype == np.uint8:
        raise RuntimeError("Expected tensor for argument #2 'indices' to have one of the "
                           "following scalar types: Long, Int; but got "
                           f"{indices.type()} instead (while checking arguments for "
                           "embedding_renorm_)")
    idx = idx.reshape(-1)                    # indices of any shape name rows
    rows = input.shape[0]
    bad = idx[(idx < -rows) | (idx >= rows)]
    if bad.size:
        raise IndexError(f"select(): index {int(bad[0])} out of range for tensor of size "
                         f"{list(input.shape)} at dimension 0")
    _renorm(input, np.where(idx < 0, idx + rows, idx), max_norm, norm_type)
    return input


_CTC_REDUCTIONS = {1: "mean", 2: "sum"}   # any other integer: one loss per sample


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    """``nn.functional.ctc_loss`` with ``reduction`` as an integer: 1 mean, 2 sum, any other
    value one loss per sample. Left out, it gives per-sample losses, as PyTorch's
    ``torch.ctc_loss`` does in practice (its binding reads the declared Mean default as 0)."""
    if isinstance(reduction, bool) or not isinstance(reduction, (int, np.integer)):
        raise TypeError(f"ctc_loss(): argument 'reduction' must be int, not "
                        f"{type(reduction).__name__}")
    return _ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank,
                     reduction=_CTC_REDUCTIONS.get(int(reduction), "none"),
                     zero_infinity=zero_infinity)


def _input_projection(input, w_ih, b_ih):
    return _linear.linear(input, w_ih, b_ih)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step on a batch: returns the new (h, c)."""
    if not isinstance(hx, (tuple, list)):
        raise TypeError(f"lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, "
                        f"not {type(hx).__name__}")
    if len(hx) != 2:
        raise RuntimeError("lstm_cell expects two hidden states")
    return _lstm_step(_input_projection(input, w_ih, b_ih), tuple(hx), w_hh, b_hh)


def _single_state_cell(name, step):
    def cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
        from ...tensor import Tensor
        if not isinstance(hx, Tensor):
            raise TypeError(f"{name}(): argument 'hx' (position 2) must be Tensor, not "
                            f"{type(hx).__name__}")
        return step(_input_projection(input, w_ih, b_ih), (hx,), w_hh, b_hh)[0]
    cell.__name__ = cell.__qualname__ = name
    cell.__doc__ = f"One {name[:-5].upper().replace('_', ' ')} step on a batch: the new h."
    return cell


gru_cell = _single_state_cell("gru_cell", _gru_step)
rnn_tanh_cell = _single_state_cell("rnn_tanh_cell", _rnn_tanh_step)
rnn_relu_cell = _single_state_cell("rnn_relu_cell", _rnn_relu_step)
