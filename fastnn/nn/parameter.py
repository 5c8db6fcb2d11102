"""Parameter: a leaf Tensor that a Module registers automatically when assigned to it."""
import numpy as np

from .. import _dtype as D
from ..tensor import Tensor

_new = object.__new__


def _alias(cls, data):
    """A new leaf of class ``cls`` viewing ``data``'s storage (and its version counter)."""
    t = _new(cls)
    t._data = data._data
    t._rg = False
    t.grad_fn = None
    t._grad = None
    t._vc = data._vc
    return t


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``: shares ``data``'s storage, as a graph leaf.

    ``Parameter()`` is an empty tensor of the default dtype.
    """
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ..tensor import _wrap
            data = _wrap(np.empty(0, D.get_default_dtype().np))
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be a Tensor, not "
                            f"{type(data).__name__} (wrap arrays or lists with fastnn.tensor(...))")
        p = _alias(cls, data)
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo):
        # PyTorch copies values and the flag, not .grad; memo keeps shared parameters shared
        hit = memo.get(id(self))
        if hit is not None:
            return hit
        new = type(self)(self.detach().clone(), self._rg)
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (type(self), np.array(self._host()), self._rg))


def _rebuild_parameter(cls, arr, requires_grad):
    from ..tensor import _wrap
    return cls(_wrap(arr), requires_grad)


class Buffer(Tensor):
    """``Buffer(data, persistent=True)``: assigning one to a Module attribute registers a buffer."""
    __slots__ = ()

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from ..tensor import _wrap
            data = _wrap(np.empty(0, D.get_default_dtype().np))
        elif not isinstance(data, Tensor):
            raise TypeError(f"Buffer(): argument 'data' must be a Tensor, not "
                            f"{type(data).__name__}")
        b = _alias(cls, data)
        b.persistent = bool(persistent)
        return b

    def __reduce_ex__(self, proto):
        from ..tensor import _wrap
        return (Buffer, (_wrap(np.array(self._host())),), {"persistent": self.persistent})

    def __setstate__(self, state):
        self.persistent = state["persistent"]
