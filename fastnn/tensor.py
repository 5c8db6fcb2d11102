"""Tensor: an array (numpy, or a device array for CUDA) plus autograd bookkeeping.

Views share their base's storage and version counter, so an in-place change through any of
them invalidates saved values that backward would otherwise silently misuse.
"""
import warnings

import numpy as np

from . import _dtype as D
from .autograd import grad_mode
from .autograd.engine import _edge, run_backward
from .autograd.node import forget_grad
from ._tensor_math import MathMixin
from ._tensor_compare import CompareMixin
from ._tensor_reduce import ReduceMixin
from ._tensor_shape import ShapeMixin
from ._tensor_inplace import InplaceMixin
from ._tensor_convert import ConvertMixin
from ._tensor_extra import ExtraMixin
from ._tensor_more import MoreMixin
from ._tensor_linalg import LinalgMixin
from ._tensor_select import SelectMixin
from ._tensor_misc import MiscMixin
from ._tensor_hooks import HooksMixin
from ._tensor_scatter import ScatterMixin
from ._tensor_layout import LayoutMixin, index_dim
from ._tensor_format import format_tensor
from ._tensor_interop import InteropMixin

_state = grad_mode.state
InferenceVersion = grad_mode.InferenceVersion
_new = object.__new__
_ndarray = np.ndarray


def _wrap(arr, fn=None):
    if type(arr) is not _ndarray and isinstance(arr, np.generic):
        arr = np.asarray(arr)  # numpy returns scalars from 0-d math; keep arrays throughout
    t = _new(Tensor)
    t._data = arr
    t._rg = fn is not None
    t.grad_fn = fn
    t._grad = None
    t._vc = [0]
    return t


def _wrap_inference(arr, fn=None):
    # _wrap's code while some thread is in inference mode (see grad_mode._set_inference)
    if type(arr) is not _ndarray and isinstance(arr, np.generic):
        arr = np.asarray(arr)
    t = _new(Tensor)
    t._data = arr
    t._rg = fn is not None
    t.grad_fn = fn
    t._grad = None
    t._vc = InferenceVersion((0,)) if _state.inference else [0]
    return t


grad_mode.register_inference_variant(_wrap, _wrap_inference)

_INPLACE_INFERENCE = ("Inplace update to inference tensor outside InferenceMode is not allowed."
                      "You can make a clone to get a normal tensor before doing inplace update."
                      "See https://github.com/pytorch/rfcs/pull/17 for more details.")


def _ctype(npd):
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "uint8": "unsigned char", "bool": "bool", "float16": "c10::Half"}.get(str(npd),
                                                                                   str(npd))


def _legacy_type_name(arr):
    return D.legacy_type_name(arr.dtype)


class Tensor(InteropMixin, MathMixin, CompareMixin, ReduceMixin, ShapeMixin, InplaceMixin,
             ConvertMixin, ExtraMixin, MoreMixin, LinalgMixin, SelectMixin, MiscMixin,
             HooksMixin, ScatterMixin, LayoutMixin):
    """A multi-dimensional array with autograd, speaking PyTorch's and the array API's names."""
    __slots__ = ("_data", "_rg", "grad_fn", "_grad", "_vc", "__dict__", "__weakref__")
    __module__ = "fastnn"  # prints as fastnn.Tensor, and pickle finds it there
    # rarely set, so they live in the instance dict with class-level defaults
    _base = None
    _acc = None
    _retain = None
    _grad_slot = None
    __array_priority__ = 1000

    def __new__(cls, *args, **kwargs):
        # legacy constructor: Tensor(2, 3) -> uninitialised sizes; Tensor([1, 2]) -> data
        from ._creation import legacy_new
        return legacy_new(cls, D.get_default_dtype(), args, kwargs)

    def __init__(self, *args, **kwargs):
        pass

    # ---- core attributes -------------------------------------------------------------
    @property
    def data(self):
        t = _wrap(self._data)
        if self._vc.__class__ is InferenceVersion:
            t._vc = InferenceVersion((0,))
        return t

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        if value._data is not self._data:
            self.__dict__.pop("_grad_slot", None)  # new storage leaves the optimizer's arena
        self._data = value._data
        self._vc = InferenceVersion((0,)) if self._vc.__class__ is InferenceVersion else [0]

    @property
    def requires_grad(self):
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value, _what="only Tensors of floating point and complex dtype")

    def requires_grad_(self, requires_grad=True, *, _what="only Tensors of floating point dtype"):
        # (PyTorch words the integer error differently on each path: _what carries it)
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"{_what} can require gradients")
        if requires_grad and self.is_inference() and not _state.inference:
            raise RuntimeError("Setting requires_grad=True on inference tensor outside "
                               "InferenceMode is not allowed.")
        self._rg = requires_grad
        return self

    @property
    def grad(self):
        g = self._grad
        if g is None and self.grad_fn is not None and self._retain is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed "
                "want the .grad field to be populated for a non-leaf Tensor, use .retain_grad() "
                "on the non-leaf Tensor. If you access the non-leaf Tensor by mistake, make sure "
                "you access the leaf Tensor instead.", UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_ctype(value._data.dtype)}' "
                    f"to a tensor with dtype '{_ctype(self._data.dtype)}'. Please ensure that "
                    "the gradient and the tensor have the same dtype")
        if self._grad is not None and value is not self._grad:
            forget_grad(self)
        self._grad = value

    @grad.deleter
    def grad(self):  # `del p.grad` clears it, as in PyTorch
        forget_grad(self)

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def _version(self):
        vc = self._vc
        if vc.__class__ is InferenceVersion:
            raise RuntimeError("Inference tensors do not track version counter.")
        return vc[0]

    def is_inference(self):
        return self._vc.__class__ is InferenceVersion

    @property
    def dtype(self):
        return D._FROM_NP[self._data.dtype]

    @property
    def device(self):
        if type(self._data) is _ndarray:
            return D.CPU
        return self._data.device_spec

    @property
    def is_cuda(self):
        return self.device.type == "cuda"

    @property
    def layout(self):
        return D.strided

    @property
    def shape(self):
        return D.Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return D.Size(self._data.shape)
        return self._data.shape[self._dim(dim)]

    def dim(self):
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self):
        return self._data.ndim

    def numel(self):
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        return self._data.itemsize

    @property
    def itemsize(self):
        return self._data.itemsize

    @property
    def nbytes(self):
        return self._data.nbytes

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def is_contiguous(self, memory_format=None):
        if memory_format is None:
            return bool(self._data.flags.c_contiguous)
        from ._tensor_layout import in_format
        return in_format(self._data, memory_format)

    def stride(self, dim=None):
        st = tuple(s // self._data.itemsize for s in self._data.strides)
        return st if dim is None else st[self._dim(dim)]

    def data_ptr(self):
        return self._data.__array_interface__["data"][0] if type(self._data) is _ndarray \
            else self._data.data_ptr()

    def storage(self):
        """The elements of the storage this tensor views (shared memory; see ``_storage``)."""
        from ._storage import typed_storage
        return typed_storage(self)

    def untyped_storage(self):
        """The bytes of the storage this tensor views (shared memory)."""
        from ._storage import untyped_storage
        return untyped_storage(self)

    def _dim(self, dim, ndim=None):
        n = self._data.ndim if ndim is None else ndim
        lo, hi = (-n, n - 1) if n else (-1, 0)
        if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
            dim = index_dim(dim)  # a one-element integer tensor, or a TypeError
        if dim < lo or dim > hi:
            raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}],"
                             f" but got {dim})")
        return dim % n if n else 0

    # ---- conversion -----------------------------------------------------------------
    def __array_wrap__(self, array, context=None, return_scalar=False):
        # a numpy ufunc applied to a tensor gives a tensor back (np.exp(t)), as in PyTorch,
        # which also turns boolean results into uint8
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return _wrap(np.asarray(array))

    @property
    def mT(self):
        if self._data.ndim < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self._data.ndim}-D tensor.")
        return self.transpose(-2, -1)

    def __float__(self):
        if self._rg and not _warned_scalar and _state.enabled:  # PyTorch: only in grad mode
            _warn_scalar_once()
        return float(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def _scalar(self):
        if self._data.size != 1:  # PyTorch's float()/int() error (item() raises RuntimeError)
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            what = "more than one value" if self._data.size else "no values"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self.item())

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # identity hash in C (PyTorch hashes by id too): optimizer state and memo dicts key on
    # tensors, and a Python-level __hash__ costs a frame per lookup
    __hash__ = object.__hash__

    def __contains__(self, element):
        if isinstance(element, (Tensor, int, float, bool, np.number, np.bool_)):
            return bool((self == element).any())
        raise RuntimeError("Tensor.__contains__ only supports Tensor or scalar, but you passed in "
                           f"a {type(element)}.")

    def __repr__(self, *, tensor_contents=None):
        return format_tensor(self)

    def __format__(self, spec):
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, proto):
        # pickling (for multiprocessing and deepcopy of modules): values, dtype, grad flag
        return (_rebuild, (type(self), np.array(self._host()), self._rg))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.")
        new = _rebuild(type(self), self._data.copy(), self._rg)
        memo[id(self)] = new
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        return new

    # ---- autograd -------------------------------------------------------------------
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        fn, arr = self.grad_fn, self._data
        if gradient is None and inputs is None and not create_graph and fn is not None and \
                type(arr) is _ndarray and arr.size == 1 and arr.dtype.kind == "f":
            # loss.backward(): the general route below checks what cannot go wrong here
            seed = np.empty(arr.shape, arr.dtype)
            seed.fill(1)  # np.ones is a Python-level wrapper: twice the cost at this size
            run_backward([fn], [seed], bool(retain_graph))
            return
        from .autograd import backward
        if inputs is not None and not isinstance(inputs, Tensor) and len(inputs) == 0:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
        if gradient is not None and not isinstance(gradient, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got "
                            f"{type(gradient).__name__}")
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self):
        t = _wrap(self._data)
        t._vc = self._vc
        return t

    def detach_(self):
        if self._base is not None and self._base._rg:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._rg = False
        return self

    # ---- in-place bookkeeping -------------------------------------------------------
    def _check_inplace(self):
        if self._vc.__class__ is InferenceVersion and not _state.inference:
            raise RuntimeError(_INPLACE_INFERENCE)
        if _state.enabled:
            if self.grad_fn is None and self._rg:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            base = self._base
            if base is not None and base._rg:
                if "_custom_fn_view" in self.__dict__:  # before the leaf check, as PyTorch
                    from ._inplace_record import custom_function_view_error
                    raise custom_function_view_error(*self.__dict__["_custom_fn_view"])
                if base.grad_fn is None:
                    raise RuntimeError("a view of a leaf Variable that requires grad is being "
                                       "used in an in-place operation.")
                if self.grad_fn is None:
                    raise RuntimeError(
                        "A view was created in no_grad mode and is being modified inplace with "
                        "grad mode enabled. Given that this use case is ambiguous and "
                        "error-prone, it is forbidden. You can clarify your code by moving both "
                        "the view and the inplace either both inside the no_grad block (if you "
                        "don't want the inplace to be tracked) or both outside (if you want the "
                        "inplace to be tracked).")

    def _bump(self):
        self._vc[0] += 1
        return self


def _rebuild(cls, arr, requires_grad):
    t = _wrap(arr)
    if cls is not Tensor:
        t.__class__ = cls
    if requires_grad:
        t._rg = True
    return t


def run_root_backward(tensors, grads, retain_graph):
    roots, root_grads = [], []
    for i, (t, g) in enumerate(zip(tensors, grads)):
        node = _edge(t)
        if node is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if t._data.dtype.kind != "f":
                raise RuntimeError("grad can be implicitly created only for real scalar outputs "
                                   f"but got {t.dtype}")
            ga = np.ones_like(t._data)
        else:
            ga = g._data if isinstance(g, Tensor) else np.asarray(g, dtype=t._data.dtype)
            if ga.shape != t._data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                                   f"{D.Size(ga.shape)} and output[{i}] has a shape of "
                                   f"{D.Size(t._data.shape)}.")
            if ga.dtype != t._data.dtype:  # each seed is cast to its output's dtype first
                ga = _seed_as_output(ga, t, i)
        roots.append(node)
        root_grads.append(ga)
    return roots, root_grads, run_backward


def _seed_as_output(ga, t, i):
    """A seed gradient cast to the dtype of the output it seeds (complex seeds must match)."""
    if ga.dtype.kind == "c" or t._data.dtype.kind == "c":
        raise RuntimeError("For complex Tensors, both grad_output and output are required to "
                           f"have the same dtype. Mismatch in dtype: grad_output[{i}] has a "
                           f"dtype of {D._FROM_NP[ga.dtype]} and output[{i}] has a dtype of "
                           f"{t.dtype}.")
    return ga.astype(t._data.dtype)


def _bind():
    # modules that tensor.py imports cannot import it back at load time: hand them the names
    from .autograd import function, node
    from . import _tensor_math
    function._wrap = _wrap
    node._wrap = _wrap
    _tensor_math.Tensor = Tensor
    _tensor_math._wrap = _wrap


_bind()


_warned_scalar = False


def _warn_scalar_once():
    # PyTorch says this once per process, however many call sites convert
    global _warned_scalar
    _warned_scalar = True
    warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to "
                  "unexpected behavior.\nConsider using tensor.detach() first.",
                  UserWarning, stacklevel=3)
