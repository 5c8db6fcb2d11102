"""The rarer classes of ``torch.autograd.function``, for code that names them.

``BackwardCFunction`` is the type of a custom Function's graph node: ``isinstance`` is true
for the node of every ``Function.apply`` call (each output's ``grad_fn``) and for the ``ctx``
its forward receives, which in fastnn are the same object or route to it.
"""
from .fan import SlotBackward
from .function import Function, FunctionCtx, backward_formula


class _FunctionNodeType(type):
    def __instancecheck__(cls, node):
        if isinstance(node, SlotBackward):  # an output of a tuple-returning Function
            nxt = node.__dict__.get("_next")
            node = nxt[0] if nxt else None
        return isinstance(node, FunctionCtx)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, FunctionCtx)


class BackwardCFunction(metaclass=_FunctionNodeType):
    """The graph node of a custom Function call (see the module docstring)."""

    @staticmethod
    def apply(ctx, *grad_outputs):
        """The Function's backward (or vjp) on ``grad_outputs``."""
        return backward_formula(ctx._fn_cls)(ctx, *grad_outputs)


class InplaceFunction(Function):
    """A Function that may work in place, as its ``inplace`` flag says."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace


class NestedIOFunction(Function):
    """The legacy Function style whose forward and backward take nested structures; fastnn
    keeps the class for code that subclasses it, and runs only the new-style API."""

    def forward_extended(self, *input):
        raise NotImplementedError

    def backward_extended(self, *grad_output):
        raise NotImplementedError
