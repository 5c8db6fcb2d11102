"""Recording ops into the graph (``apply``) and user-defined ops (``Function``)."""
from . import grad_mode
from .engine import _edge, record_trace
from .fan import SlotBackward, route, unpack
from .node import Node, anomaly, new_sequence_number
from .saved_hooks import hooks as _saved_hooks, pack_node, pack_tensors, unpack_tensors
from .._fp_quiet import STATE as _fp_state, QUIET as _FP_QUIET

_state = grad_mode.state
_InferenceVersion = grad_mode.InferenceVersion
_wrap = None  # fastnn.tensor sets this (the modules import each other)


def apply(cls, inputs, *args):
    """Run ``cls().forward`` on the inputs' arrays; record a node when a grad is needed."""
    return apply_node(cls, inputs, *args)[0]


def apply_node(cls, inputs, *args):
    token = _fp_state.set(_FP_QUIET)  # numpy's floating-point warnings off, as PyTorch's ops
    try:
        node = cls()
        n = len(inputs)
        if n == 1:
            t0 = inputs[0]
            if not (t0._rg and _state.enabled):
                return _wrap(node.forward(t0._data, *args)), node
            node._next = (t0.grad_fn or _edge(t0),)
            node._seq = new_sequence_number()
            out_arr = node.forward(t0._data, *args)
        elif n == 2:
            t0, t1 = inputs
            if not ((t0._rg or t1._rg) and _state.enabled):
                return _wrap(node.forward(t0._data, t1._data, *args)), node
            node._next = (t0.grad_fn or _edge(t0), t1.grad_fn or _edge(t1))
            node._seq = new_sequence_number()
            out_arr = node.forward(t0._data, t1._data, *args)
        elif n == 3:  # linear and conv with a bias
            t0, t1, t2 = inputs
            if not ((t0._rg or t1._rg or t2._rg) and _state.enabled):
                return _wrap(node.forward(t0._data, t1._data, t2._data, *args)), node
            node._next = (t0.grad_fn or _edge(t0), t1.grad_fn or _edge(t1),
                          t2.grad_fn or _edge(t2))
            node._seq = new_sequence_number()
            out_arr = node.forward(t0._data, t1._data, t2._data, *args)
        else:
            record = False
            if _state.enabled:
                for t in inputs:
                    if t._rg:
                        record = True
                        break
            if not record:
                return _wrap(node.forward(*[t._data for t in inputs], *args)), node
            node._next = tuple([t.grad_fn or _edge(t) for t in inputs])
            node._seq = new_sequence_number()
            out_arr = node.forward(*[t._data for t in inputs], *args)
        out = _wrap(out_arr, node)
        if node.saved:
            vcs = []
            for s in node.saved:
                if s is out_arr:
                    vcs.append((out._vc, 0, s, True))  # True: this node's own output
                    continue
                for t in inputs:
                    if t._data is s:  # node.saved_version, inlined: every op passes here
                        vc = t._vc
                        if vc.__class__ is _InferenceVersion:
                            raise RuntimeError(grad_mode.SAVED_INFERENCE)
                        vcs.append((vc, vc[0], s, t.grad_fn))
                        break
            node._vcs = vcs
            if _saved_hooks.stack:
                pack_node(node, (*inputs, out))
        if anomaly.enabled:
            record_trace(node)
        return out, node
    finally:
        _fp_state.reset(token)


class FunctionCtx(Node):
    """The ``ctx`` of a custom Function; it is also the graph node of its call.

    Each Function gets its own subclass, named like PyTorch's (``MyFnBackward``).
    """
    _fn_cls = None
    _outputs = None  # (shape, dtype) per output of a tuple-returning forward, else None
    _recording = False   # whether this call records a graph (set before forward runs)
    _ctx_packed = None   # save_for_backward's tensors as saved_tensors_hooks packed them

    def __init__(self):
        self._saved_tensors = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_diff = set()
        self._dirty = ()

    def save_for_backward(self, *tensors):
        from ..tensor import Tensor
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        if _saved_hooks.stack and self._recording:
            # kept only as the pack hook's results, unpacked at each ``saved_tensors``
            self._saved_tensors, self.saved, self._vcs = (), (), ()
            self._ctx_packed = pack_tensors(tensors)
            return
        self._saved_tensors = tensors
        self.saved = tuple(t._data for t in tensors if t is not None)
        self._vcs = [(t._vc, t._vc[0], t._data, t.grad_fn) for t in tensors if t is not None]

    @property
    def saved_tensors(self):
        if self._freed:
            self.check_saved()
        if self._ctx_packed is not None:
            return unpack_tensors(self._ctx_packed)
        return self._saved_tensors

    def release(self):
        if self._saved_tensors or self._ctx_packed is not None:
            self._saved_tensors = ()
            self._ctx_packed = None
            self.saved = ()
            self._freed = True

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def backward(self, g):
        from ..tensor import _wrap
        import numpy as np
        if self._outputs is None:
            grads_out = (_wrap(g),)
        else:  # one gradient per output, zeros (or None) where an output got none
            grads_out = []
            for gi, (shape, dt) in zip(unpack(g, len(self._outputs)), self._outputs):
                if gi is None and self.materialize_grads and shape is not None:
                    gi = np.zeros(shape, dt)
                grads_out.append(None if gi is None else _wrap(gi))
        grads = backward_formula(self._fn_cls)(self, *grads_out)
        if not isinstance(grads, tuple):
            grads = (grads,)
        n_args = len(self._tensor_slots)
        if len(grads) < n_args or any(gi is not None for gi in grads[n_args:]):
            # one gradient (or None) per forward argument, tensor or not, as PyTorch requires;
            # extra ones that are not None are a bug in the Function too
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {n_args}, got {len(grads)})")
        out = []
        for i, (gi, slot) in enumerate(zip(grads, self._tensor_slots)):
            if slot is None:  # a non-tensor argument takes no gradient
                if gi is not None:
                    raise RuntimeError(
                        f"function {self.name()} returned a gradient different than None at "
                        f"position {i + 1}, but the corresponding forward input was not a "
                        "Variable")
                continue
            if gi is not None and not hasattr(gi, "_data"):
                raise RuntimeError(f"expected Variable or None (got {type(gi).__name__})")
            if gi is not None:
                gi = gi._data if hasattr(gi._data, "device_spec") else np.asarray(gi._data)
                if gi.shape != slot._data.shape:
                    gi = self._fit_grad(i, gi, slot._data.shape)
            out.append(gi)
        return tuple(out)

    def _fit_grad(self, i, g, shape):
        """A gradient the input's shape broadcasts to is summed down to it; others raise."""
        import numpy as np
        try:
            if np.broadcast_shapes(shape, g.shape) != g.shape:
                raise ValueError
        except ValueError:
            raise RuntimeError(f"Function {self.name()} returned an invalid gradient at index "
                               f"{i} - got {list(g.shape)} but expected shape compatible with "
                               f"{list(shape)}") from None
        from .ops_math import unbroadcast
        return unbroadcast(g, shape, g.dtype)


def _ctx_type(cls):
    t = cls.__dict__.get("_ctx_cls")
    if t is None:
        t = type(cls.__name__ + "Backward", (FunctionCtx,), {"_fn_cls": cls})
        cls._ctx_cls = t
    return t


def _slot_type(cls):
    """The node type of each output of a tuple-returning Function, named like its ctx."""
    t = cls.__dict__.get("_slot_cls")
    if t is None:
        t = type(cls.__name__ + "Backward", (SlotBackward,), {})
        cls._slot_cls = t
    return t


def _forward_signature(cls):
    import inspect
    sig = cls.__dict__.get("_forward_sig")
    if sig is None or sig[0] is not cls.forward:
        sig = (cls.forward, inspect.signature(cls.forward))
        cls._forward_sig = sig
    return sig[1]


def _bind_with_defaults(cls, args, kwargs):
    """(positional arguments, keyword-only ones) of a call to ``forward``, defaults filled in."""
    bound = _forward_signature(cls).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.args, bound.kwargs


def _keywords_as_positions(cls, args, kwargs, skip_ctx):
    """``args`` extended by the keyword arguments, each at its position in ``forward``'s
    signature: a Function's inputs are positional, so tensors passed by keyword take part in
    autograd like the others (``needs_input_grad`` and backward's results follow that order)."""
    import inspect
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    try:
        params = [p.name for p in _forward_signature(cls).parameters.values()
                  if p.kind in kinds]
    except (TypeError, ValueError):
        params = []
    if skip_ctx:
        params = params[1:]
    slots = list(args)
    for name, value in kwargs.items():
        if name not in params:
            raise TypeError(f"forward() got an unexpected keyword argument '{name}'")
        pos = params.index(name)
        if pos < len(args):
            raise TypeError(f"forward() got multiple values for argument '{name}'")
        slots.extend([_UNSET] * (pos + 1 - len(slots)))
        slots[pos] = value
    for pos, value in enumerate(slots):
        if value is _UNSET:
            raise TypeError(f"forward() missing required argument: '{params[pos]}' "
                            f"(position {pos})")
    return tuple(slots)


_UNSET = object()


class Function:
    """A user-defined op: static ``forward`` and ``backward(ctx, *grads)``; call ``apply``.

    ``forward(ctx, *args)`` saves what backward needs on ``ctx``; or, PyTorch's newer style,
    ``forward(*args)`` with a separate ``setup_context(ctx, inputs, output)``. ``forward`` may
    return one tensor or a tuple; backward then receives one gradient per output.
    """

    def __init__(self, *args, **kwargs):
        import warnings
        warnings.warn(f"{self.__class__} should not be instantiated. Methods on autograd "
                      "functions are all static, so you should invoke them on the class itself. "
                      "Instantiating an autograd function will raise an error in a future "
                      "version of PyTorch.", DeprecationWarning, stacklevel=2)

    def __call__(self, *args, **kwargs):
        # the pre-static style, ``MyFn()(x)``, is not supported: ``MyFn.apply(x)`` is
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward  # either name may define the backward formula (see backward_formula)

    @staticmethod
    def jvp(ctx, *grad_inputs):
        # fastnn's forward-mode AD goes through backward (double vjp) and never calls this
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        separate = cls.setup_context is not Function.setup_context
        if separate:  # setup_context sees every argument, defaults included
            args, kwargs = _bind_with_defaults(cls, args, kwargs)
        if kwargs:
            args = _keywords_as_positions(cls, args, kwargs, skip_ctx=not separate)
        ctx = _ctx_type(cls)()
        ctx._seq = new_sequence_number()
        tensors = [a for a in args if isinstance(a, Tensor)]
        ctx._tensor_slots = [a if isinstance(a, Tensor) else None for a in args]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = _state.enabled and any(t._rg for t in tensors)
        ctx._recording = record
        with grad_mode.no_grad():
            if separate:
                out = cls.forward(*args)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args)
        if ctx._dirty:
            _bump_dirty(ctx, out)
        if not record:
            return out
        for t in ctx._dirty:
            if t.grad_fn is None and t._rg:
                raise RuntimeError("a leaf Variable that requires grad has been used in an "
                                   "in-place operation.")
        for t in ctx._saved_tensors:
            if t is not None and t._vc.__class__ is _InferenceVersion:
                raise RuntimeError(grad_mode.SAVED_INFERENCE)
        many = isinstance(out, tuple)
        outs = list(out) if many else [out]
        diff = [isinstance(o, Tensor) and id(o) not in ctx._non_diff and
                o._data.dtype.kind == "f" for o in outs]
        if not any(diff):
            return out
        ctx._next = tuple(_edge(t) for t in tensors)
        for k, o in enumerate(outs):
            if not diff[k] or any(o is d for d in ctx._dirty):
                continue
            if any(o is t for t in tensors):
                o = outs[k] = o.view_as(o)  # an input returned as is: a new tensor in the graph
            if o._base is not None:
                # in-place on it would record over the custom backward: _inplace_record refuses
                o.__dict__["_multi_out" if many else "_custom_fn_view"] = (cls.__name__, k)
        if many:
            ctx._outputs = tuple((tuple(o.shape), o._data.dtype) if isinstance(o, Tensor)
                                 else (None, None) for o in outs)
            route(ctx, [o if d else None for o, d in zip(outs, diff)], _slot_type(cls))
        else:
            from .._tensor_views import move_history, refresh_views
            move_history(outs[0], ctx)  # retain_grad follows the new history too
            if "_views" in outs[0].__dict__:  # modified in place: its views follow
                refresh_views(outs[0])
        if anomaly.enabled:
            record_trace(ctx)
        if not many:
            return outs[0]
        return tuple(outs) if type(out) is tuple else type(out)(*outs)  # a namedtuple


def _bump_dirty(ctx, out):
    """``mark_dirty``'s tensors must be outputs; each counts one more in-place change (the
    Function's), and what the forward saved of them expects that new version."""
    outs = out if isinstance(out, tuple) else (out,)
    dirty = ctx._dirty
    if not all(any(t is o for o in outs) for t in dirty):
        raise RuntimeError("Some elements marked as dirty during the forward method were not "
                           "returned as output. The inputs that are modified inplace must all be "
                           "outputs of the Function.")
    counters = []
    for t in dirty:
        vc = t._vc
        if not any(vc is c for c in counters):  # (two views may share one counter)
            vc[0] += 1
            counters.append(vc)
    if ctx._vcs:
        ctx._vcs = [(vc, vc[0] if any(vc is c for c in counters) else v, arr, made)
                    for vc, v, arr, made in ctx._vcs]


def backward_formula(cls):
    """A Function's ``backward``, or its ``vjp`` when only that one is defined."""
    fn = cls.backward
    return cls.vjp if fn is _BASE_BACKWARD else fn


_BASE_BACKWARD = Function.backward


class DelayedError(Node):
    """The node of gradients computed by a ``once_differentiable`` backward: differentiating
    them again raises."""

    def name(self):
        return "Error"

    def backward(self, g):
        raise RuntimeError(_TWICE)


_TWICE = "trying to differentiate twice a function that was marked with @once_differentiable"


def _delayed_error_rule(node, g):
    raise RuntimeError(_TWICE)


def once_differentiable(fn):
    """Decorates a Function's backward that cannot itself be differentiated: it runs without
    recording, and its results, when a graph was asked for, raise if differentiated."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        from ..tensor import Tensor
        with grad_mode.no_grad():
            outputs = fn(ctx, *args)
        tracked = [a for a in args if isinstance(a, Tensor) and a._rg]
        if not (_state.enabled and tracked):
            return outputs
        from .higher_order import _RULES
        _RULES.setdefault(DelayedError, _delayed_error_rule)
        many = isinstance(outputs, tuple)
        marked = []
        for o in (outputs if many else (outputs,)):
            if isinstance(o, Tensor) and o._data.dtype.kind in "fc":
                node = DelayedError()
                node._next = tuple(_edge(a) for a in tracked)
                node._seq = new_sequence_number()
                o = _wrap(o._data, node)
            marked.append(o)
        return tuple(marked) if many else marked[0]
    return wrapper


from .function_legacy import BackwardCFunction, InplaceFunction, NestedIOFunction  # noqa: E402,F401
