"""Argument normalisers shared by fastnn's layers (``_pair`` and kin) and a checkpoint helper.

Nothing here is a layer, so ``fastnn.nn`` re-exports none of it.
"""
from collections import abc

__all__ = []


def _ntuple(n, name="parse"):
    """A converter: iterables become tuples as they are, anything else is repeated ``n`` times.

    Layers accept ``kernel_size=3`` and ``kernel_size=(3, 5)`` alike; this lets them store one
    shape of value either way.
    """
    def parse(value):
        if isinstance(value, abc.Iterable):
            return tuple(value)
        return (value,) * n

    parse.__name__ = name
    return parse


_single, _pair, _triple, _quadruple = (_ntuple(count, label) for count, label in
                                       ((1, "_single"), (2, "_pair"), (3, "_triple"),
                                        (4, "_quadruple")))


def _reverse_repeat_tuple(values, times):
    """Each item of ``values``, last first, ``times`` times over.

    A layer stores padding per dimension first-to-last, while F.pad wants (left, right) pairs
    starting from the last dimension.
    """
    out = []
    for item in values[::-1]:
        out.extend([item] * times)
    return tuple(out)


def _list_with_default(out_size, defaults):
    """Adaptive pooling's output size, with each ``None`` filled from the input's trailing dims."""
    if isinstance(out_size, int):
        return out_size
    wanted = len(out_size)
    if wanted >= len(defaults):
        raise ValueError(f"Input dimension should be at least {len(out_size) + 1}")
    tail = defaults[len(defaults) - wanted:]
    return [size if size is not None else fallback for size, fallback in zip(out_size, tail)]


def consume_prefix_in_state_dict_if_present(state_dict, prefix):
    """Drop ``prefix`` (typically ``"module."`` from a data-parallel wrapper) from the keys.

    Works in place on the state dict and on its ``_metadata``, so a checkpoint saved from a
    wrapped model loads into the bare one.
    """
    cut = len(prefix)
    for old in [k for k in state_dict.keys() if k.startswith(prefix)]:
        state_dict[old[cut:]] = state_dict.pop(old)

    meta = getattr(state_dict, "_metadata", None)
    if meta is None:
        return
    # the wrapper's own entry '' stays; the wrapped model's entry ('module') becomes the root
    root_name = prefix.replace(".", "")
    moving = [k for k in meta.keys() if k != "" and (k == root_name or k.startswith(prefix))]
    for old in moving:
        meta[old[cut:]] = meta.pop(old)
