"""Variable-length sequences for the recurrent layers: padding and ``PackedSequence``.

A ``PackedSequence`` holds the time steps of a batch of sequences sorted by decreasing
length, step after step: ``data`` is ``(sum(lengths), *)`` and ``batch_sizes[t]`` says how
many sequences are still running at step ``t``. Everything here is built from differentiable
Tensor ops (slicing, ``cat``, ``stack``, ``index_select``), so gradients flow through packing
and unpacking.
"""
from collections import namedtuple
from collections.abc import Iterable

from ... import _creation
from ... import _dtype
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]

_PackedSequenceBase = namedtuple("PackedSequence_",
                                 ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def _cat(tensors, dim=0):
    from ... import cat
    return tensors[0] if len(tensors) == 1 else cat(tensors, dim)


def _stack(tensors, dim=0):
    from ... import stack
    return stack(tensors, dim)


class PackedSequence(_PackedSequenceBase):
    """The packed time steps of a batch of sequences; made by ``pack_padded_sequence`` or
    ``pack_sequence`` and accepted by ``RNN``, ``LSTM`` and ``GRU``."""
    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    # dtype casts touch only ``data``: batch_sizes and the permutations stay int64
    def double(self):
        return self.to(dtype=_dtype.float64)

    def float(self):
        return self.to(dtype=_dtype.float32)

    def half(self):
        return self.to(dtype=_dtype.float16)

    def long(self):
        return self.to(dtype=_dtype.int64)

    def int(self):
        return self.to(dtype=_dtype.int32)

    def short(self):
        return self.to(dtype=_dtype.int16)

    def char(self):
        return self.to(dtype=_dtype.int8)

    def byte(self):
        return self.to(dtype=_dtype.uint8)

    def cuda(self, *args, **kwargs):
        return type(self)(self.data.cuda(*args, **kwargs), self.batch_sizes,
                          self.sorted_indices, self.unsorted_indices)

    def pin_memory(self):
        return type(self)(self.data.pin_memory(), self.batch_sizes, self.sorted_indices,
                          self.unsorted_indices)

    def cpu(self, *args, **kwargs):
        return self

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    from ... import argsort
    return argsort(permutation)


def _lengths_list(lengths):
    if isinstance(lengths, Tensor):
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def _nesting_depth(lengths):
    """How many dimensions ``lengths`` would have as a tensor."""
    if isinstance(lengths, Tensor):
        return lengths.dim()
    if isinstance(lengths, (list, tuple)):
        return 1 + (_nesting_depth(lengths[0]) if len(lengths) else 0)
    if lengths is None:
        raise TypeError("'NoneType' object cannot be interpreted as an integer")
    return getattr(lengths, "ndim", 0)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) whose sequence
    ``b`` has ``lengths[b]`` valid steps. With ``enforce_sorted`` the lengths must be in
    decreasing order; otherwise the batch is sorted here and the order remembered."""
    ndim = _nesting_depth(lengths)
    if not enforce_sorted and ndim > 1:     # the sorting permutation is not a vector
        raise IndexError("index_select(): Index is supposed to be a vector")
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if ndim != 1:
        raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{ndim}D cpu Long tensor")
    lens = _lengths_list(lengths)
    sorted_indices = None
    if not enforce_sorted:
        order = sorted(range(len(lens)), key=lambda b: -lens[b])  # stable, like a sort
        lens = [lens[b] for b in order]
        sorted_indices = _creation.tensor(order, dtype=_int64())
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    batch = input.shape[1]
    if len(lens) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={batch})")
    if enforce_sorted and any(lens[i] < lens[i + 1] for i in range(len(lens) - 1)):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if lens and lens[0] > input.shape[0]:
        raise RuntimeError(f"The longest sequence has length {lens[0]}, but the input has "
                           f"only {input.shape[0]} time steps")
    steps = lens[0] if lens else 0
    batch_sizes = [sum(1 for n in lens if n > t) for t in range(steps)]
    data = _cat([input[t, :bs] for t, bs in enumerate(batch_sizes)], 0)
    return PackedSequence(data, _creation.tensor(batch_sizes, dtype=_int64()), sorted_indices,
                          None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``, padded positions
    filled with ``padding_value`` and the batch back in its original order."""
    batch_sizes = _lengths_list(sequence.batch_sizes)
    max_len = len(batch_sizes)
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = total_length
    data = sequence.data
    batch = batch_sizes[0] if batch_sizes else 0
    rest = tuple(data.shape[1:])
    steps, offset = [], 0
    for bs in batch_sizes:
        piece = data[offset:offset + bs]
        offset += bs
        if bs < batch:
            piece = _cat([piece, _creation.full((batch - bs,) + rest, padding_value,
                                                dtype=data.dtype)], 0)
        steps.append(piece)
    if max_len > len(batch_sizes):
        pad = _creation.full((max_len - len(batch_sizes), batch) + rest, padding_value,
                             dtype=data.dtype)
        padded = _cat([_stack(steps, 0), pad], 0) if steps else pad
    else:
        padded = _stack(steps, 0)
    if batch_first:
        padded = padded.transpose(0, 1)
    lengths = [sum(1 for bs in batch_sizes if bs > b) for b in range(batch)]
    if sequence.unsorted_indices is not None:
        order = [int(i) for i in sequence.unsorted_indices.tolist()]
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = [lengths[i] for i in order]
    return padded, _creation.tensor(lengths, dtype=_int64())


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shapes ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)`` with
    ``batch_first``), filling with ``padding_value`` on ``padding_side``."""
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "
                           f"of type: {type(sequences)}")
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError("Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(s).__name__}")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if sequences[0].dim() == 0:
        raise RuntimeError("ArrayRef: invalid slice, N = 1; size = 0")
    if any(s.dim() == 0 for s in sequences):
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    # the result takes the first sequence's dtype; the others (and the padding) are cast
    dtype = sequences[0].dtype
    sequences = tuple(s if s.dtype == dtype else s.to(dtype) for s in sequences)
    rest = tuple(sequences[0].shape[1:])
    for s in sequences[1:]:
        if tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: all sequences must have the same trailing "
                               f"dimensions, got {list(rest)} and {list(s.shape[1:])}")
    max_len = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        n = max_len - s.shape[0]
        if n:
            pad = _creation.full((n,) + rest, padding_value, dtype=s.dtype)
            s = _cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return _stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences that ``pad_sequence`` padded, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :n] for b, n in enumerate(_lengths_list(lengths))]


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors of shapes ``(L_i, *)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences packed in ``packed_sequences``, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def _int64():
    from ... import int64
    return int64
