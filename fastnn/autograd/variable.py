"""``Variable``: the pre-0.4 wrapper type, kept so legacy code keeps running.

Variables and Tensors are one type now: ``Variable(t, requires_grad=...)`` gives a Tensor
(a detached alias of ``t`` that shares its storage), and ``isinstance(x, Variable)`` is true
for every Tensor.
"""
import warnings


class VariableMeta(type):
    def __instancecheck__(cls, other):
        from ..tensor import Tensor
        return isinstance(other, Tensor)


class Variable(metaclass=VariableMeta):
    """Legacy constructor: returns a Tensor, never a Variable instance."""

    def __new__(cls, data=None, requires_grad=False, volatile=False):
        from ..tensor import Tensor
        from .._creation import tensor, empty
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with "
                          "torch.no_grad():` instead.", UserWarning, stacklevel=2)
        if data is None:
            t = empty(0)
        elif isinstance(data, Tensor):
            t = data.detach()  # a new leaf over the same storage, as Variable always gave
        else:
            t = tensor(data)  # fastnn also accepts array-likes here
        if requires_grad:
            t.requires_grad_(True)
        return t
