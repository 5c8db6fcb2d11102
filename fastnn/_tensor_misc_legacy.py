"""Older Tensor spellings that classic PyTorch code still uses (a mixin of Tensor):
``x.new(2, 3)``, ``x.char()``, ``x.bernoulli()``, ``x.unsafe_chunk(2)``, ``x.unsafe_split(2)``.
"""
import numpy as np

from . import _dtype as D


def _unsafe(pieces):
    # the pieces show the unsafe split's node, and in-place ops on them are allowed (the
    # split's own pieces refuse them)
    if pieces and pieces[0].grad_fn is not None:
        from .autograd.ops_math import relabel
        for p in pieces:
            relabel(p, "UnsafeSplitBackward0")
            p.__dict__.pop("_multi_out", None)
    return pieces


class MiscLegacyMixin:
    __slots__ = ()

    def new(self, *args, **kwargs):
        """Legacy constructor of a tensor of self's dtype and device: ``x.new(2, 3)`` (sizes),
        ``x.new([1, 2])`` (data) or ``x.new()`` (empty)."""
        from ._creation import legacy_new
        from .tensor import Tensor
        kwargs.setdefault("device", self.device)
        return legacy_new(Tensor, self.dtype, args, kwargs)  # a plain tensor, even from a Parameter

    def char(self):
        return self.to(D.int8)

    def bernoulli(self, p=None, *, generator=None):
        from ._creation import bernoulli
        return bernoulli(self, p, generator=generator)

    def unsafe_chunk(self, chunks, dim=0):
        return _unsafe(self.chunk(chunks, dim))

    def unsafe_split(self, split_size, dim=0):
        if isinstance(split_size, bool) or not isinstance(split_size, (int, np.integer)):
            raise TypeError("unsafe_split(): argument 'split_size' (position 1) must be int, "
                            f"not {type(split_size).__name__}")
        return _unsafe(self.split(split_size, dim))
