"""Recurrent layers: RNN, LSTM and GRU (their one-step cells are in rnn_cell.py).

A sequence layer computes the input projections of all time steps with one matmul per layer
and direction; the recurrent part then runs, for CPU float32/float64 without projections, as
one fused graph node per layer and direction (``_functional/rnn_fused.py``, compiled loop
over time). Everything else takes the composite path, ``_run_direction``: every step
composed of differentiable Tensor ops (``F.linear``, ``sigmoid``, ``tanh``, ``relu``,
slicing and ``cat``), a Python loop over time. The composite path is the reference the
fused one is tested against.

Internally a sequence is always in the packed layout of ``PackedSequence``: the steps one
after another, ``batch_sizes[t]`` rows at step ``t``, the longest sequences first. A padded
batch is the special case where every step has the full batch.
"""
import itertools
import math
import numbers
import warnings

from ... import _creation
from .. import functional as F
from .. import init
from .._functional import rnn_fused
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


from .rnn_cell import (_STEPS, _cat, RNNCellBase, RNNCell, LSTMCell,  # noqa: F401
                       GRUCell)


def _apply_permutation(tensor, permutation, dim=1):
    """Reorder ``tensor`` along ``dim`` (the batch dimension of a hidden state) by
    ``permutation``; kept at module level because user code imports it from here."""
    return tensor.index_select(dim, permutation)


def apply_permutation(tensor, permutation, dim=1):
    """Deprecated public spelling of ``_apply_permutation``."""
    warnings.warn("`apply_permutation` is deprecated, please use "
                  "`tensor.index_select(dim, permutation)` instead", FutureWarning,
                  stacklevel=2)
    return _apply_permutation(tensor, permutation, dim)


def _run_direction(step, weights, gi, batch_sizes, offsets, state0, reverse):
    """Run one direction of one layer over packed steps; ``state0`` is a tuple of (B, *)
    initial states. Returns the packed outputs and the tuple of final states (B, *)."""
    w_hh, b_hh, w_hr = weights
    n_steps = len(batch_sizes)
    outs = []
    if not reverse:
        state, done = state0, []
        for t in range(n_steps):
            bs = batch_sizes[t]
            if bs < state[0].shape[0]:  # the shortest sequences end here: keep their states
                done.append(tuple(s[bs:] for s in state))
                state = tuple(s[:bs] for s in state)
            state = step(gi[offsets[t]:offsets[t] + bs], state, w_hh, b_hh, w_hr)
            outs.append(state[0])
        done.append(state)
        final = tuple(_cat([d[k] for d in reversed(done)], 0) for k in range(len(state)))
    else:
        state = tuple(s[:batch_sizes[-1]] for s in state0)
        for t in reversed(range(n_steps)):
            bs, have = batch_sizes[t], state[0].shape[0]
            if bs > have:  # longer sequences start here, from their initial states
                state = tuple(_cat([s, s0[have:bs]], 0) for s, s0 in zip(state, state0))
            state = step(gi[offsets[t]:offsets[t] + bs], state, w_hh, b_hh, w_hr)
            outs.append(state[0])
        outs.reverse()
        final = state
    return _cat(outs, 0), final


class RNNBase(Module):
    """The shared machinery of RNN, LSTM and GRU: parameters, checks and the time loop."""
    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        factory = {"device": device, "dtype": dtype}
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or \
                isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                                  ("input_size", input_size, int),
                                  ("hidden_size", hidden_size, int)):
            if not isinstance(value, kind):
                raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                                f"{type(value).__name__}")
            if kind is int and value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
        if mode not in gates:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size = gates[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih_l{}{}", (gate_size, layer_input)),
                          ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                names = []
                for fmt, shape in shapes:
                    name = fmt.format(layer, suffix)
                    setattr(self, name, Parameter(_creation.empty(shape, **factory)))
                    names.append(name)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self):
        """Nothing to do: the CPU kernels read each weight where it lives (kept so that
        code written for cuDNN runs unchanged)."""

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights_names(self):
        """Every weight's name, layer by layer and direction by direction (PyTorch's order:
        weight_ih, weight_hh, bias_ih, bias_hh, weight_hr)."""
        return [name for names in self._all_weights for name in names]

    @property
    def _flat_weights(self):
        """The weights named by ``_flat_weights_names`` (read afresh, so a weight replaced by
        assignment shows up here)."""
        return [getattr(self, name, None) for name in self._flat_weights_names]

    def _init_flat_weights(self):
        """Nothing to refresh: ``_flat_weights`` is always read from the attributes."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- checks, with PyTorch's wording

    def check_input(self, input, batch_sizes):
        w = getattr(self, self._all_weights[0][0])
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError("input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def _batch(self, input, batch_sizes):
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.size(0) if self.batch_first else input.size(1)

    def get_expected_hidden_size(self, input, batch_sizes):
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, self._batch(input, batch_sizes), size)

    def check_hidden_size(self, hx, expected_hidden_size,
                          msg="Expected hidden size {}, got {}"):
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx.index_select(1, permutation)

    # ---- the forward pass shared by the three layers

    def _zeros(self, input, batch, size=None):
        num_directions = 2 if self.bidirectional else 1
        return _creation.zeros(self.num_layers * num_directions, batch, size or self.hidden_size,
                               dtype=input.dtype)

    _initial_state = _zeros

    def _unbatch_hidden(self, hx, batched):
        if not batched:
            if hx.dim() != 2:
                raise RuntimeError("For unbatched 2-D input, hx should also be 2-D but got "
                                   f"{hx.dim()}-D tensor")
            return hx.unsqueeze(1)
        if hx.dim() != 3:
            raise RuntimeError("For batched 3-D input, hx should also be 3-D but got "
                               f"{hx.dim()}-D tensor")
        return hx

    def _forward(self, input, hx, states):
        """``states`` (1, or 2 for LSTM) splits ``hx`` into a tuple of state tensors."""
        orig = input
        if isinstance(orig, PackedSequence):
            input, batch_sizes, sorted_indices, unsorted_indices = orig
            if hx is None:
                hx = self._initial_state(input, int(batch_sizes[0]))
            else:
                hx = self.permute_hidden(hx, sorted_indices)
            self.check_forward_args(input, hx, batch_sizes)
            sizes = [int(b) for b in batch_sizes.tolist()]
            data = input
        else:
            if input.dim() not in (2, 3):
                label = "RNN" if self.mode.startswith("RNN") else self.mode
                extra = " tensor" if label == "RNN" else ""
                raise ValueError(f"{label}: Expected input to be 2D or 3D, got "
                                 f"{input.dim()}D{extra} instead")
            batched = input.dim() == 3
            batch_dim = 0 if self.batch_first else 1
            if not batched:
                input = input.unsqueeze(batch_dim)
            if hx is None:
                hx = self._initial_state(input, self._batch(input, None))
            else:
                hx = self._unbatch_hidden(hx, batched)
            self.check_forward_args(input, hx, None)
            x = input.transpose(0, 1) if self.batch_first else input
            steps, batch = x.shape[0], x.shape[1]
            if steps == 0:
                raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
            sizes = [batch] * steps
            data = x.reshape(steps * batch, x.shape[2])
        out, hidden = self._run(data, sizes, hx if states == 2 else (hx,))
        if isinstance(orig, PackedSequence):
            hidden = hidden if states == 2 else hidden[0]
            return (PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices),
                    self.permute_hidden(hidden, unsorted_indices))
        out = out.reshape(steps, batch, out.shape[-1])
        if self.batch_first:
            out = out.transpose(0, 1)
        if out.grad_fn is not None:
            _show_output_node(out, self.mode, self.batch_first, self.bidirectional)
        if not batched:
            out = out.squeeze(batch_dim)
            hidden = tuple(h.squeeze(1) for h in hidden)
        return out, (hidden if states == 2 else hidden[0])

    def _run(self, data, batch_sizes, hx):
        """All layers and directions over packed ``data``; ``hx`` is a tuple of
        (layers * directions, B, *) states. Returns packed outputs and final states."""
        from ... import stack
        step = _STEPS[self.mode]
        offsets = [0, *itertools.accumulate(batch_sizes)][:-1]
        finals = [[] for _ in hx]
        layer_input = data
        num_directions = 2 if self.bidirectional else 1
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                layer_input = F.dropout(layer_input, self.dropout, True)
            outs = []
            for direction in range(num_directions):
                index = layer * num_directions + direction
                p = {n.split("_l")[0]: getattr(self, n) for n in self._all_weights[index]}
                w_ih, w_hh, w_hr = p["weight_ih"], p["weight_hh"], p.get("weight_hr")
                b_ih, b_hh = p.get("bias_ih"), p.get("bias_hh")
                gi = F.linear(layer_input, w_ih, b_ih)
                state0 = tuple(h[index] for h in hx)
                if w_hr is None and rnn_fused.usable(gi, state0, w_hh, b_hh):
                    out, final = rnn_fused.run(self.mode, gi, state0, w_hh, b_hh, batch_sizes,
                                               direction == 1)
                else:
                    out, final = _run_direction(step, (w_hh, b_hh, w_hr), gi, batch_sizes,
                                                offsets, state0, direction == 1)
                outs.append(out)
                for k, f in enumerate(final):
                    finals[k].append(f)
            layer_input = _cat(outs, 1)
        return layer_input, tuple(stack(f, 0) for f in finals)


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(modes[self.nonlinearity], *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward(input, hx, 1)


class LSTM(RNNBase):
    """Long short-term memory; gates i, f, g, o; optional projection of h (``proj_size``)."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input, batch_sizes):
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, self._batch(input, batch_sizes),
                self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes):
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)

    def _initial_state(self, input, batch):
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return self._zeros(input, batch, size), self._zeros(input, batch, self.hidden_size)

    def _unbatch_hidden(self, hx, batched):
        if batched:
            if hx[0].dim() != 3 or hx[1].dim() != 3:
                raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but "
                                   f"got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            return hx
        if hx[0].dim() != 2 or hx[1].dim() != 2:
            raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but got "
                               f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
        return hx[0].unsqueeze(1), hx[1].unsqueeze(1)

    def forward(self, input, hx=None):
        return self._forward(input, hx, 2)


class GRU(RNNBase):
    """Gated recurrent unit; gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn))."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._forward(input, hx, 1)


# ---- cells


def _show_output_node(out, mode, batch_first, bidirectional):
    """Give a batched output the node name PyTorch's CPU kernels leave on it."""
    from ...autograd.ops_math import relabel
    lstm = mode == "LSTM"
    if batch_first:
        name = "TransposeBackward0" if lstm else "TransposeBackward1"
    elif bidirectional:
        name = "CatBackward0"
    else:
        name = "MkldnnRnnLayerBackward0" if lstm else "StackBackward0"
    relabel(out, name)
