"""fastnn.func: PyTorch's function transforms (torch.func) over fastnn's autograd.

``grad``, ``grad_and_value``, ``vjp``, ``jacrev`` and ``hessian`` compute what PyTorch's do and
nest (``grad(grad(f))``) through higher-order gradients. Where PyTorch uses forward mode or
batching, fastnn computes the same values another way: ``jvp`` by the double-vjp trick,
``jacfwd`` in reverse mode, ``linearize`` from one recorded double-vjp graph, and ``vmap`` as
a loop over the batch (see each docstring).
"""
from ._transforms import grad, grad_and_value, vjp
from ._jacobians import jvp, jacrev, jacfwd, hessian
from ._vmap import vmap
from ._extras import linearize, functionalize, debug_unwrap, replace_all_batch_norm_modules_

__all__ = ["functional_call", "stack_module_state", "grad", "grad_and_value", "vjp", "jvp",
           "jacrev", "jacfwd", "hessian", "vmap", "linearize", "functionalize", "debug_unwrap",
           "replace_all_batch_norm_modules_"]


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` run with the given tensors in place of its parameters and
    buffers, by dotted name ("0.weight"); the module's own tensors are back afterwards, even
    if the call raises, and gradients flow to the given tensors.

    ``parameter_and_buffer_dicts`` is a dict or a sequence of dicts (their keys must not
    repeat). ``args`` that is not a tuple is the single positional argument. With
    ``tie_weights`` a value given for one of several tied names serves all of them;
    ``strict`` requires exactly the module's parameter and buffer names."""
    from collections.abc import Sequence
    from ..nn.utils.stateless import _functional_call
    if isinstance(parameter_and_buffer_dicts, dict):
        values = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        seen, repeated = set(), []
        for d in parameter_and_buffer_dicts:
            for k in d:
                if k in seen and k not in repeated:
                    repeated.append(k)
                seen.add(k)
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        values = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts)}")
    return _functional_call(module, values, args, kwargs, tie_weights=tie_weights,
                            strict=strict)


def stack_module_state(models):
    """(params, buffers): each name's tensors from ``models`` (same class, same mode) stacked
    along a new first dimension, for ensembling with ``vmap`` and ``functional_call``. The
    stacked parameters are new leaves (they require grad if the originals do)."""
    from .. import stack
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if any(type(m) is not type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named):
        tables = [dict(n) for n in named]
        out = {}
        for name in tables[0]:
            tensors = [t[name] for t in tables]
            needs = {t.requires_grad for t in tensors}
            if len(needs) != 1:
                raise RuntimeError(f"Expected {name} from each model to have the same "
                                   ".requires_grad")
            value = stack([t.detach() for t in tensors])
            out[name] = value.requires_grad_() if needs.pop() else value
        return out
    return (stacked(m.named_parameters() for m in models),
            stacked(m.named_buffers() for m in models))
