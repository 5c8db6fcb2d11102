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
            p.requires_grad_(True, _what="Only Tensors of floating point and complex dtype")
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


# ---- lazy (uninitialized) parameters and buffers ------------------------------------------
_SHAPE_MSG = ("Can't access the shape of an uninitialized parameter or buffer. This error "
              "usually happens in `load_state_dict` when trying to load an uninitialized "
              "parameter into an initialized one. Call `forward` to initialize the parameters "
              "before accessing their attributes.")


def _unmaterialized_error(what):
    return ValueError(f"Attempted to use an uninitialized parameter in {what}. This error "
                      "happens when you are using a `LazyModule` or explicitly manipulating "
                      "`fastnn.nn.parameter.UninitializedParameter` objects. When using "
                      "LazyModules call `forward` with a dummy batch to initialize the "
                      "parameters before calling fastnn functions")


class _Unmaterialized(np.ndarray):
    """The empty placeholder array of a lazy tensor: any numpy computation on it raises.

    Being a subclass (not ``np.ndarray`` itself) also keeps optimizers from packing it into
    a parameter arena; once materialized the parameter is packed like any other.
    """

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise _unmaterialized_error(f"numpy.{ufunc.__name__}")

    def __array_function__(self, func, types, args, kwargs):
        raise _unmaterialized_error(f"numpy.{func.__name__}")


def _placeholder(dtype):
    # built directly (not a view), so it has no base array for the arena checks to follow
    return _Unmaterialized((0,), dtype=(dtype or D.get_default_dtype()).np)


class UninitializedTensorMixin:
    """Shared by the lazy placeholders: no shape until ``materialize(shape)``."""
    __slots__ = ()
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Give the tensor storage of ``shape`` (uninitialized values), in place; the object
        then becomes ``cls_to_become``, so anything holding it (an optimizer) keeps working."""
        from .. import _creation
        if isinstance(shape, int):
            shape = (shape,)
        dtype = dtype if dtype is not None else self.dtype
        new = _creation.empty(tuple(shape), dtype=dtype, device=device)
        self.__dict__.pop("_arena_ref", None)
        self.__dict__.pop("_grad_slot", None)
        self._data = new._data
        self._vc[0] += 1
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(_SHAPE_MSG)

    def dim(self):
        raise _unmaterialized_error("dim")

    ndimension = dim

    @property
    def ndim(self):
        raise _unmaterialized_error("ndim")

    def numel(self):
        raise _unmaterialized_error("numel")

    nelement = numel

    @property
    def device(self):
        return D.CPU

    @property
    def data(self):
        # an empty stand-in: in-place initialisers on it (``p.data.normal_()``) do nothing
        from ..tensor import _wrap
        return _wrap(np.empty(0, self._data.dtype))

    @data.setter
    def data(self, value):
        Tensor.data.fset(self, value)

    def to(self, *args, **kwargs):
        """A placeholder of the new dtype (``module.double()`` works before the first call)."""
        from .._tensor_convert import _parse_to
        dtype, _, _ = _parse_to(args, dict(kwargs))
        if dtype is None or D.to_dtype(dtype) == self.dtype:
            return self
        return _rebuild_uninitialized(type(self), self._rg, D.to_dtype(dtype).np,
                                      *self._rebuild_args()[3:])

    def __repr__(self):
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        hit = memo.get(id(self))
        if hit is None:
            hit = memo[id(self)] = _rebuild_uninitialized(*self._rebuild_args())
        return hit

    def _rebuild_args(self):
        return (type(self), self._rg, str(self._data.dtype))

    def __reduce_ex__(self, proto):
        return (_rebuild_uninitialized, self._rebuild_args())


def _rebuild_uninitialized(cls, requires_grad, np_dtype, *rest):
    return cls(requires_grad, None, D._FROM_NP[np.dtype(np_dtype)], *rest)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter with no shape yet (lazy modules); ``materialize`` turns it into a Parameter."""
    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad=True, device=None, dtype=None):
        p = _new(cls)
        p._data = _placeholder(D.to_dtype(dtype) if dtype is not None else None)
        p._rg = bool(requires_grad)
        p.grad_fn = None
        p._grad = None
        p._vc = [0]
        return p


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer with no shape yet (lazy modules); ``materialize`` turns it into a Tensor."""
    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad=False, device=None, dtype=None, persistent=True):
        b = _new(cls)
        b._data = _placeholder(D.to_dtype(dtype) if dtype is not None else None)
        b._rg = bool(requires_grad)
        b.grad_fn = None
        b._grad = None
        b._vc = [0]
        b.persistent = bool(persistent)
        return b

    def __init__(self, *args, **kwargs):
        pass

    def _rebuild_args(self):
        return (type(self), self._rg, str(self._data.dtype), self.persistent)


def is_lazy(param):
    """Whether ``param`` is a lazy placeholder still waiting for its shape."""
    return isinstance(param, UninitializedTensorMixin)
