"""Gradients of several outputs into one node.

The engine's nodes have one output each, so a node that needs the gradients of n outputs at
once (a custom Function returning a tuple, a module's full backward hook) receives them
through n identity "slot" nodes: each slot passes its gradient on as a ``Pack`` keyed by
its output index, the engine merges packs with ``+`` like any gradient, and the gathering
node reads every output's gradient (or None) from one pack.
"""
from .node import Node, new_sequence_number


class Pack:
    __slots__ = ("grads",)

    def __init__(self, i, g):
        self.grads = {i: g}

    def __add__(self, other):
        for i, g in other.grads.items():  # two paths into one output: their sum
            mine = self.grads.get(i)
            self.grads[i] = g if mine is None else mine + g
        return self


class SlotBackward(Node):
    """Output ``index`` of a gathering node; shows the gathering node's name, and reads its
    attributes (a custom Function's ``ctx`` fields, ``saved_tensors``) through to it."""
    index = 0

    @property
    def _output_nr(self):
        return self.index

    def name(self):
        return self._next[0].name()

    def __getattr__(self, name):
        nxt = self.__dict__.get("_next")
        if not nxt or name.startswith("__"):
            raise AttributeError(name)
        return getattr(nxt[0], name)

    def register_hook(self, hook):
        # the outputs share one node, as in PyTorch: its hooks see every output's gradient
        return self._next[0].register_hook(hook)

    def backward(self, g):
        return (Pack(self.index, g),)


def route(gather, outputs, slot_type=SlotBackward):
    """Make output i of ``outputs`` (tensors, or None to skip) feed ``gather`` as slot i."""
    for i, o in enumerate(outputs):
        if o is None:
            continue
        slot = slot_type()
        slot._seq = new_sequence_number()  # newer than the gather, so it runs first
        slot._next = (gather,)
        slot.index = i
        o.grad_fn = slot
        o._rg = True


def unpack(pack, n):
    """The n per-output gradients a gathering node received (None for outputs without one)."""
    if type(pack) is not Pack:  # a single output: its gradient as it came
        return (pack,) + (None,) * (n - 1)
    return tuple(pack.grads.get(i) for i in range(n))
