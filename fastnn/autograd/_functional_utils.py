"""Argument checks and plumbing shared by ``autograd.functional`` and ``fastnn.func``.

The error messages follow PyTorch's wording, so code that matches on them keeps working.
"""


def as_tuple(inp, arg_name, fn_name):
    """(was it a tuple, the Tensors as a tuple), rejecting anything but Tensors."""
    from ..tensor import Tensor
    is_tuple = isinstance(inp, tuple)
    items = inp if is_tuple else (inp,)
    for i, el in enumerate(items):
        if not isinstance(el, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {arg_name}"
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but {where} has type {type(el)}.")
    return is_tuple, items


def tuple_postprocess(res, to_unpack):
    """Undo as_tuple: unwrap single-element levels that were not tuples to begin with."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def grad_preprocess(inputs, create_graph, need_graph):
    """Fresh Tensor objects for the inputs: with create_graph an input that requires grad is
    aliased differentiably (so results stay connected to it), otherwise detached. A fresh
    object also tells apart the argument from the same Tensor captured by the function."""
    res = []
    for t in inputs:
        if create_graph and t.requires_grad:
            res.append(t.view_as(t))
        else:
            res.append(t.detach().requires_grad_(need_graph))
    return tuple(res)


def grad_postprocess(items, create_graph):
    """Results detached unless the caller asked for a graph (nested tuples included)."""
    from ..tensor import Tensor
    if items and isinstance(items[0], Tensor):
        return items if create_graph else tuple(t.detach() for t in items)
    return tuple(grad_postprocess(t, create_graph) for t in items)


def validate_v(v, other, is_other_tuple):
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but "
                               f"got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(f"{prepend}v has invalid size: should be {el_other.size()} but "
                               f"got {el_v.size()}.")


_NOT_DIFFERENTIABLE = {
    "hessian": ("The hessian of the user-provided function with respect to input {i} is "
                "independent of the input. This is not allowed in strict mode. You should ensure "
                "that your function is thrice differentiable and that the hessian depends on the "
                "inputs."),
    "jacobian": ("While computing the hessian, found that the jacobian of the user-provided "
                 "function with respect to input {i} is independent of the input. This is not "
                 "allowed in strict mode. You should ensure that your function is twice "
                 "differentiable and that the jacobian depends on the inputs (this would be "
                 "violated by a linear function for example)."),
    "grad_inputs": ("The gradient with respect to input {i} is independent of the inputs of "
                    "the user-provided function. This is not allowed in strict mode."),
    "outputs": ("Output {i} of the user-provided function does not require gradients. The "
                "outputs must be computed in a differentiable manner from the input when "
                "running in strict mode."),
}


def check_requires_grad(items, kind, strict):
    """Strict mode: every item must exist and carry a graph back to the inputs."""
    if not strict:
        return
    for i, t in enumerate(items):
        if t is None:
            raise RuntimeError(f"The output of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode.")
        if not t.requires_grad:
            raise RuntimeError(_NOT_DIFFERENTIABLE[kind].format(i=i))


def autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """autograd.grad over the outputs that require grad; None for unused inputs (and for all
    of them when no output is differentiable)."""
    from . import grad
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)


_MISSING_GRAD = {
    "back": ("The output of the user-provided function is independent of input {i}. This is "
             "not allowed in strict mode."),
    "back_trick": ("The gradient with respect to the input is independent of entry {i} in the "
                   "grad_outputs when using the double backward trick to compute forward mode "
                   "gradients. This is not allowed in strict mode."),
    "double_back": ("The jacobian of the user-provided function is independent of input {i}. "
                    "This is not allowed in strict mode."),
    "double_back_trick": ("The hessian of the user-provided function is independent of entry "
                          "{i} in the grad_jacobian. This is not allowed in strict mode as it "
                          "prevents from using the double backward trick to replace forward "
                          "mode AD."),
}


def fill_in_zeros(grads, refs, strict, create_graph, stage):
    """Zeros (shaped like ``refs``) for missing gradients, or strict mode's errors."""
    from .._creation import zeros_like
    res = []
    for i, g in enumerate(grads):
        if g is None:
            if strict:
                raise RuntimeError(_MISSING_GRAD[stage].format(i=i))
            g = zeros_like(refs[i])
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(f"The {what} of the user-provided function is independent of "
                               f"input {i}. This is not allowed in strict mode when "
                               "create_graph=True.")
        res.append(g)
    return tuple(res)


def lacks_graph_rule(err):
    """Whether ``err`` is the higher-order engine's "no rule for this op" error."""
    return isinstance(err, NotImplementedError) and str(err).startswith("create_graph=True")


def jvp_by_rows(outputs, inputs, tangents):
    """J v for each output from one first-order backward per output element: the fallback
    when the double-backward trick meets an op without a higher-order rule. An output that
    depends on no input gives None."""
    from .. import stack
    res = []
    for o in outputs:
        if not o.requires_grad:
            res.append(None)
            continue
        flat, vals, used = o.reshape(-1), [], False
        for j in range(o.numel()):
            grads = autograd_grad((flat[j],), inputs, retain_graph=True)
            used = used or any(g is not None for g in grads)
            terms = [(g * t).sum() for g, t in zip(grads, tangents) if g is not None]
            vals.append(sum(terms[1:], terms[0]) if terms else o.new_zeros(()))
        res.append(stack(vals).reshape(o.shape).detach() if used and vals else None)
    return tuple(res)


def batched_grad(grad, outputs, inputs, grad_outputs, retain_graph, create_graph,
                 allow_unused, materialize_grads):
    """``autograd.grad(..., is_grads_batched=True)``: one backward per row of the
    grad_outputs (their first dimension is the batch), the results stacked along dim 0. As
    in PyTorch, a materialized gradient of an unused input is unbatched zeros."""
    from .. import stack
    from .._creation import zeros_like
    for i, (o, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None or g.dim() == 0:
            raise RuntimeError("vmap(vjp, in_dims=0, ...)(<inputs>): Got in_dim=0 for some "
                               "input, but that input is a Tensor of dimensionality 0 so "
                               "expected in_dim to satisfy 0 <= in_dim < 0.")
        if tuple(g.shape[1:]) != tuple(o.shape):
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each "
                "grad_output as the batch dimension. The sizes of the remaining dimensions are "
                "expected to match the shape of corresponding output, but a mismatch was "
                f"detected: grad_output[{i}] has a shape of {g.shape[1:]} and output[{i}] has "
                f"a shape of {o.shape}. If you only want some tensors in `grad_output` to be "
                "considered batched, consider using vmap.")
    sizes = [g.shape[0] for g in grad_outputs]
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    if retain_graph is None:
        retain_graph = create_graph
    rows = [grad(outputs, inputs, [g[b] for g in grad_outputs],
                 retain_graph=retain_graph or b < sizes[0] - 1, create_graph=create_graph,
                 allow_unused=allow_unused or materialize_grads)
            for b in range(sizes[0])]
    res = [None if col[0] is None else stack(col) for col in zip(*rows)]
    if materialize_grads:
        res = [zeros_like(t, requires_grad=create_graph) if r is None else r
               for r, t in zip(res, inputs)]
    return tuple(res)


def reaches_other_leaf(tensors, own_leaves):
    """Whether the graph of any of ``tensors`` reaches a leaf whose id is not in
    ``own_leaves`` (a transform's results then stay linked to the caller's graph)."""
    from .engine import _edge
    from .node import AccumulateGrad
    stack = [_edge(t) for t in tensors if hasattr(t, "_vc")]
    seen = set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if isinstance(node, AccumulateGrad):
            if id(node.variable) not in own_leaves:
                return True
            continue
        stack.extend(node._next)
    return False
