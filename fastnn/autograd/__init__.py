"""Reverse-mode automatic differentiation."""
import numpy as np

from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,  # noqa: F401
                        is_grad_enabled, set_multithreading_enabled, is_multithreading_enabled)
from .function import Function, FunctionCtx, once_differentiable  # noqa: F401
from .anomaly_mode import (detect_anomaly, set_detect_anomaly, is_anomaly_enabled,  # noqa: F401
                           is_anomaly_check_nan_enabled)
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from . import functional  # noqa: F401
from . import graph  # noqa: F401
from . import forward_ad  # noqa: F401
from . import saved_attrs  # noqa: F401  (grad_fn._saved_* properties)
from .graph import GradientEdge
from .variable import Variable  # noqa: F401
from .engine import start_pass, end_pass

__all__ = ["backward", "grad", "Variable", "Function", "no_grad", "enable_grad",
           "set_grad_enabled", "inference_mode", "gradcheck", "detect_anomaly",
           "set_detect_anomaly"]


def _as_list(x):
    from ..tensor import Tensor
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, Tensor) or not hasattr(x, "__iter__"):
        return [x]
    return list(x)  # any other iterable: model.parameters(), dict.values()


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate d(tensors)/d(leaf) into each leaf's ``.grad``."""
    from ..tensor import run_root_backward
    tensors = _as_list(tensors)
    grads = _check_grads(_as_list(grad_tensors) or [None] * len(tensors), tensors)
    if create_graph:  # the graph is kept unless retain_graph=False is passed explicitly
        _graph_backward(tensors, grads, inputs, retain_graph is None or bool(retain_graph))
        return
    retain = bool(retain_graph)
    roots, root_grads, run = run_root_backward(tensors, grads, retain)
    if inputs is not None:
        from .engine import _edge
        ins = _as_list(inputs)
        captured = run(roots, root_grads, retain, capture={_edge(t): i for i, t in enumerate(ins)})
        for t in ins:
            g = captured.get(_edge(t))
            if g is not None:
                _edge_accumulate(t, g)
        return
    run(roots, root_grads, retain)


def _check_grads(grads, tensors):
    from ..tensor import Tensor
    if len(grads) != len(tensors):
        raise RuntimeError(f"got {len(tensors)} tensors and {len(grads)} gradients")
    for g in grads:
        if g is not None and not isinstance(g, Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got "
                            f"{type(g).__name__}")
    return grads


def _edge_accumulate(t, g):
    from .engine import _edge
    from .node import AccumulateGrad
    node = _edge(t)
    if isinstance(node, AccumulateGrad):
        node.accumulate(g)
    else:
        from ..tensor import _wrap
        t._grad = _wrap(g.copy()) if t._grad is None else _wrap(t._grad._data + g)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated into ``.grad``)."""
    from ..tensor import run_root_backward, _wrap
    from .engine import _edge
    from .node import run_tensor_hooks
    from ..tensor import Tensor
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    outs = _as_list(outputs)
    ins = [inputs] if isinstance(inputs, GradientEdge) else _as_list(inputs)
    if not ins:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    for t in ins:
        if not isinstance(t, (Tensor, GradientEdge)):
            raise RuntimeError("all inputs have to be Tensors or GradientEdges, but got "
                               f"{type(t).__name__}")
    gos = _check_grads(_as_list(grad_outputs) or [None] * len(outs), outs)
    if is_grads_batched:  # one backward per row of grad_outputs
        from ._functional_utils import batched_grad
        return batched_grad(grad, outs, ins, gos, retain_graph, create_graph,
                            allow_unused=allow_unused, materialize_grads=materialize_grads)
    roots, root_grads, run = run_root_backward(outs, gos, bool(retain_graph))
    for t in ins:
        if isinstance(t, Tensor) and not t._rg:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    nodes = [t.node if isinstance(t, GradientEdge) else _edge(t) for t in ins]
    if create_graph:
        from .higher_order import run_graph_backward
        prev_pass = start_pass(roots)
        try:
            retain = True if retain_graph is None else bool(retain_graph)
            captured = run_graph_backward(roots, _root_tensors(outs, gos), capture=set(nodes),
                                          retain_graph=retain)
        finally:
            end_pass(prev_pass)
    else:
        captured = run(roots, root_grads, bool(retain_graph), capture=set(nodes))
    result = []
    for i, (t, node) in enumerate(zip(ins, nodes)):
        g = captured.get(node)
        if g is None:
            if materialize_grads and isinstance(t, Tensor):
                result.append(_wrap(np.zeros_like(t._data)))
                continue
            if not allow_unused:
                raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is the "
                                   "desired behavior.")
            result.append(None)
        elif isinstance(t, GradientEdge):  # the gradient the edge's node received, as is
            result.append(g if create_graph else _wrap(np.array(g)))
        elif create_graph:
            from .higher_order import _fit, _run_hooks
            g = _fit(g, t._data.shape, t._data.dtype)
            if getattr(node, "tensor_hooks", None):  # a leaf's own hooks see its gradient
                g = _run_hooks(node.tensor_hooks, g)
            result.append(g)
        else:
            g = np.broadcast_to(g, t._data.shape).astype(t._data.dtype)
            if getattr(node, "tensor_hooks", None):
                g = run_tensor_hooks(node.tensor_hooks, g)
            result.append(_wrap(g))
    return tuple(result)


def _root_tensors(outs, gos):
    """The seeds of a graph-recording pass: the given grad_outputs, or ones."""
    from .._creation import ones_like
    # a seed of another dtype is cast to its output's (run_root_backward has checked it)
    return [ones_like(o.detach()) if g is None else g if g.dtype == o.dtype else g.to(o.dtype)
            for o, g in zip(outs, gos)]


_CYCLE_WARNED = []  # PyTorch gives this warning once per process


def _graph_backward(tensors, grads, inputs, retain_graph=True):
    """backward(create_graph=True): leaves get gradients that carry a graph."""
    if not _CYCLE_WARNED:
        _CYCLE_WARNED.append(True)
        import warnings
        warnings.warn("Using backward() with create_graph=True will create a reference cycle "
                      "between the parameter and its gradient which can cause a memory leak. "
                      "We recommend using autograd.grad when creating the graph to avoid this. "
                      "If you have to use this function, make sure to reset the .grad fields of "
                      "your parameters to None after use to break the cycle and avoid the leak.",
                      UserWarning, stacklevel=3)
    from ..tensor import run_root_backward
    from .engine import _edge
    from .higher_order import run_graph_backward, _accumulate
    roots, _, _ = run_root_backward(tensors, grads, True)  # checks shapes and scalars
    seeds = _root_tensors(tensors, grads)
    from .node import engine_mode
    prev_pass = start_pass(roots)
    prev_plain = engine_mode.plain_graph_pass
    try:
        if inputs is None:
            # a plain backward(): reentrant checkpoints may run their own backward inside it
            engine_mode.plain_graph_pass = engine_mode.passes
            run_graph_backward(roots, seeds, retain_graph=retain_graph)
            return
        ins = _as_list(inputs)
        captured = run_graph_backward(roots, seeds, capture={_edge(t) for t in ins},
                                      retain_graph=retain_graph)
    finally:
        engine_mode.plain_graph_pass = prev_plain
        end_pass(prev_pass)
    for t in ins:
        g = captured.get(_edge(t))
        if g is not None:
            node = _edge(t)
            if hasattr(node, "variable"):
                _accumulate(node, g)
            else:
                t._grad = g if t._grad is None else t._grad + g


def __getattr__(name):
    if name == "profiler":  # loaded on first use
        import importlib
        return importlib.import_module(".profiler", __name__)
    if name == "DeviceType":
        from ..profiler._events import DeviceType
        return DeviceType
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
