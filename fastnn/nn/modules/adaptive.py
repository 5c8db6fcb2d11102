"""AdaptiveLogSoftmaxWithLoss: a softmax over many classes split into frequency clusters.

The head scores the ``cutoffs[0]`` most frequent classes plus one entry per tail cluster;
each tail cluster scores its own classes through a narrower two-layer projection. The
log-probability of a tail class is its cluster's head entry plus its log-probability
inside the cluster.
"""
from collections import namedtuple

import numpy as np

from ... import _creation
from ..._functions import cat
from .._functional.activation import log_softmax
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


def _valid_cutoffs(cutoffs, n_classes):
    return (cutoffs == sorted(cutoffs) and min(cutoffs) > 0 and max(cutoffs) <= n_classes - 1
            and len(set(cutoffs)) == len(cutoffs) and all(int(c) == c for c in cutoffs))


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation for large output spaces (Grave et al., 2017).

    ``forward(input, target)`` returns ``(output, loss)``: the target classes' log-probabilities
    and their mean negative. ``log_prob`` gives every class's log-probability and ``predict``
    the most likely class.
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if not _valid_cutoffs(cutoffs, n_classes):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             "n_classes-1")
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            width = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                        Linear(hidden, width, bias=False, **factory)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def _check(self, input, target):
        if target.dim() == 1:
            if input.size(0) != target.size(0):
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input.dim() != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found inputs "
                                   f"with size {input.size()}")
        elif target.dim() == 0:
            if input.dim() != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found inputs "
                                   f"with size {input.size()}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")

    def forward(self, input, target):
        self._check(input, target)
        batched = target.dim() > 0
        if not batched:
            input, target = input.unsqueeze(0), target.unsqueeze(0)
        t = np.asarray(target._data)
        if t.size and (t.min() < 0 or t.max() >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                               f"values in range [{t.min()}, {t.max()}] were found. ")
        # which head entry each row reads: its own class, or its tail cluster's entry
        cluster = np.searchsorted(np.asarray(self.cutoffs), t, side="right")
        head_entry = np.where(cluster == 0, t, self.shortlist_size + cluster - 1)
        head_logprob = log_softmax(self.head(input), dim=1)
        output = head_logprob.gather(1, _index(head_entry[:, None])).squeeze(1)
        # tail rows add their log-probability inside the cluster; rows are gathered per
        # cluster, concatenated and put back in batch order
        pieces, order = [], []
        for i in range(1, self.n_clusters + 1):
            rows = np.nonzero(cluster == i)[0]
            if rows.size == 0:
                continue
            local = log_softmax(self.tail[i - 1](input.index_select(0, _index(rows))), dim=1)
            relative = (t[rows] - self.cutoffs[i - 1])[:, None]
            pieces.append(local.gather(1, _index(relative)).squeeze(1))
            order.append(rows)
        if pieces:
            shortlist = np.nonzero(cluster == 0)[0]
            pieces.append(_creation.zeros(shortlist.size, dtype=output.dtype))
            order.append(shortlist)
            back = np.argsort(np.concatenate(order), kind="stable")
            output = cat(pieces).index_select(0, _index(back)) + output
        loss = (-output).mean()
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _full_log_prob(self, input, head_output):
        head_logprob = log_softmax(head_output, dim=1)
        columns = [head_logprob[:, :self.shortlist_size]]
        for i, projection in enumerate(self.tail):
            in_cluster = log_softmax(projection(input), dim=1)
            columns.append(in_cluster + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(columns, 1)

    def log_prob(self, input):
        """Log-probabilities of all ``n_classes`` classes, shape ``(batch, n_classes)``."""
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most likely class of each row; equals ``log_prob(input).argmax(dim=1)``."""
        head_output = self.head(input)
        best = head_output.argmax(dim=1)
        outside = np.asarray(best._data) >= self.shortlist_size
        if not outside.any():
            return best
        if outside.all():
            return self._full_log_prob(input, head_output).argmax(dim=1)
        rows = _index(np.nonzero(outside)[0])
        full = self._full_log_prob(input.index_select(0, rows),
                                   head_output.index_select(0, rows))
        result = np.array(best._data)
        result[outside] = np.asarray(full.argmax(dim=1)._data)
        return _creation.tensor(result)


def _index(array):
    return _creation.tensor(np.ascontiguousarray(array, dtype=np.int64))
