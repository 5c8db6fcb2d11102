"""EmbeddingBag: per-bag sums, means or maxima of embedding rows.

Reducing inside the lookup means the (bags x bag size x dim) tensor of gathered rows is never
built, which is the point of the layer over ``Embedding`` followed by a reduction.
"""
from ... import _creation
from ...autograd.grad_mode import no_grad
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["EmbeddingBag"]


def _checked_padding_idx(padding_idx, num_embeddings):
    """``padding_idx`` as a non-negative row index (negative values count from the end)."""
    if padding_idx is None:
        return None
    if padding_idx >= num_embeddings or padding_idx < -num_embeddings:
        raise AssertionError("padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


class EmbeddingBag(Module):
    """A table of ``num_embeddings`` rows of size ``embedding_dim``, reduced per bag.

    Bags are given either as a 2-D ``input`` (one bag per row) or as a 1-D ``input`` with
    ``offsets`` marking where each bag starts; ``mode`` is "sum", "mean" or "max". Rows equal
    to ``padding_idx`` are left out of the reduction and their entry gets no gradient.
    """
    __constants__ = ["num_embeddings", "embedding_dim", "max_norm", "norm_type",
                     "scale_grad_by_freq", "mode", "sparse", "include_last_offset",
                     "padding_idx"]

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _checked_padding_idx(padding_idx, num_embeddings)
        table_shape = (num_embeddings, embedding_dim)
        if _weight is not None:
            # a caller-supplied table is used as it is, padding row included
            if tuple(_weight.shape) != table_shape:
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(_weight)
        else:
            self.weight = Parameter(_creation.empty(table_shape, device=device, dtype=dtype))
            self.reset_parameters()
        self.mode, self.sparse = mode, sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self):
        """Standard-normal rows, with the padding row (if any) zeroed."""
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self):
        if self.padding_idx is None:
            return
        with no_grad():
            self.weight[self.padding_idx].fill_(0)

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, max_norm=self.max_norm,
                               norm_type=self.norm_type,
                               scale_grad_by_freq=self.scale_grad_by_freq, mode=self.mode,
                               sparse=self.sparse, per_sample_weights=per_sample_weights,
                               include_last_offset=self.include_last_offset,
                               padding_idx=self.padding_idx)

    def extra_repr(self):
        # only the settings that differ from the defaults are shown, mode always
        parts = [repr(self.num_embeddings), repr(self.embedding_dim)]
        optional = (("max_norm", self.max_norm, self.max_norm is not None),
                    ("norm_type", self.norm_type, self.norm_type != 2),
                    ("scale_grad_by_freq", self.scale_grad_by_freq,
                     self.scale_grad_by_freq is not False),
                    ("mode", self.mode, True),
                    ("padding_idx", self.padding_idx, self.padding_idx is not None))
        parts += [f"{key}={value!r}" for key, value, shown in optional if shown]
        return ", ".join(parts)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """A bag layer over the given 2-D table; ``freeze`` keeps it out of training."""
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        num_rows, row_size = embeddings.shape
        layer = cls(num_rows, row_size, max_norm=max_norm, norm_type=norm_type,
                    scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                    _weight=embeddings, include_last_offset=include_last_offset,
                    padding_idx=padding_idx)
        layer.weight.requires_grad = not freeze
        return layer
