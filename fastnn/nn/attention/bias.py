"""Causal attention masks that are described, not stored: ``causal_upper_left`` and
``causal_lower_right``, passed as ``attn_mask`` to scaled_dot_product_attention.

In fastnn a CausalBias is a small descriptor, not a Tensor: scaled_dot_product_attention
expands it into the boolean mask it stands for (``_materialize``).
"""
import warnings
from enum import IntEnum

__all__ = ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]


class CausalVariant(IntEnum):
    """Where the causal triangle is anchored when query and key lengths differ."""
    UPPER_LEFT = 1   # query i sees keys 0..i
    LOWER_RIGHT = 2  # the last query sees every key; earlier ones one key fewer each


class CausalBias:
    """A causal mask of shape ``(seq_len_q, seq_len_kv)`` for scaled_dot_product_attention."""

    def __init__(self, variant, seq_len_q, seq_len_kv):
        if not isinstance(variant, CausalVariant):
            raise AssertionError("variant must be a CausalVariant")
        self.variant = variant
        self.seq_len_q = seq_len_q
        self.seq_len_kv = seq_len_kv
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warnings.warn("Lower right causal bias will produce NaNs in the output when "
                          "seq_len_q > seq_len_kv!", stacklevel=3)

    def _materialize(self, device=None):
        """The boolean mask: True where a query may attend a key."""
        from ... import _creation
        from ..._dtype import bool_
        ones = _creation.ones((self.seq_len_q, self.seq_len_kv), dtype=bool_, device=device)
        if self.variant == CausalVariant.UPPER_LEFT:
            return ones.tril()
        return ones.tril(diagonal=self.seq_len_kv - self.seq_len_q)

    @property
    def shape(self):
        from ..._dtype import Size
        return Size((self.seq_len_q, self.seq_len_kv))

    def __repr__(self):
        return repr(self._materialize())


def causal_upper_left(*size):
    """Causal mask anchored at the top left: query ``i`` attends keys ``0..i``."""
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    return CausalBias(CausalVariant.UPPER_LEFT, size[0], size[1])


def causal_lower_right(*size):
    """Causal mask anchored at the bottom right: the last query attends every key."""
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    return CausalBias(CausalVariant.LOWER_RIGHT, size[0], size[1])
