"""Recording ops into the graph (``apply``) and user-defined ops (``Function``)."""
from . import grad_mode
from .engine import _edge, record_trace
from .node import Node, anomaly, new_sequence_number

_state = grad_mode.state
_wrap = None  # fastnn.tensor sets this (the modules import each other)


def apply(cls, inputs, *args):
    """Run ``cls().forward`` on the inputs' arrays; record a node when a grad is needed."""
    return apply_node(cls, inputs, *args)[0]


def apply_node(cls, inputs, *args):
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
                vcs.append((out._vc, 0, s))
                continue
            for t in inputs:
                if t._data is s:
                    vcs.append((t._vc, t._vc[0], s))
                    break
        node._vcs = vcs
    if anomaly.enabled:
        record_trace(node)
    return out, node


class FunctionCtx(Node):
    """The ``ctx`` of a custom Function; it is also the graph node of its call."""

    def __init__(self):
        self._saved_tensors = ()
        self.needs_input_grad = ()
        self.materialize_grads = True
        self._non_diff = set()
        self._dirty = ()

    def save_for_backward(self, *tensors):
        self._saved_tensors = tensors
        self.saved = tuple(t._data for t in tensors if t is not None)
        self._vcs = [(t._vc, t._vc[0], t._data) for t in tensors if t is not None]

    @property
    def saved_tensors(self):
        if self._freed:
            self.check_saved()
        return self._saved_tensors

    def release(self):
        if self._saved_tensors:
            self._saved_tensors = ()
            self.saved = ()
            self._freed = True

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def name(self):
        return self._fn_cls.__name__ + "Backward"

    def backward(self, g):
        from ..tensor import _wrap
        import numpy as np
        grads = self._fn_cls.backward(self, _wrap(g))
        if not isinstance(grads, tuple):
            grads = (grads,)
        out = []
        for gi, slot in zip(grads, self._tensor_slots):
            if slot is None:
                continue
            out.append(None if gi is None else (gi._data if hasattr(gi._data, "device_spec") else
                                                np.asarray(gi._data)))
        if len(grads) < len(self._tensor_slots) and len(out) < len(self._next):
            raise RuntimeError(
                f"function {self.name()} returned an incorrect number of gradients "
                f"(expected {len(self._tensor_slots)}, got {len(grads)})")
        return tuple(out)


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call ``apply``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        ctx = FunctionCtx()
        ctx._seq = new_sequence_number()
        ctx._fn_cls = cls
        tensors = [a for a in args if isinstance(a, Tensor)]
        ctx._tensor_slots = [a if isinstance(a, Tensor) else None for a in args]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        record = _state.enabled and any(t._rg for t in tensors)
        with grad_mode.no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        if isinstance(out, tuple):
            if record:
                raise NotImplementedError(
                    f"{cls.__name__}.forward returned {len(out)} outputs: fastnn's custom "
                    "Functions support one differentiable output")
            return out
        if not record or not isinstance(out, Tensor) or id(out) in ctx._non_diff:
            return out
        ctx._next = tuple(_edge(t) for t in tensors)
        if any(out is t for t in tensors) and not any(out is d for d in ctx._dirty):
            out = out.view_as(out)
        out.grad_fn = ctx
        out._rg = True
        if anomaly.enabled:
            record_trace(ctx)
        return out


class once_differentiable:
    def __new__(cls, fn):
        return fn
