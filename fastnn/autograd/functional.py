"""Jacobian-style helpers built on ``autograd.grad``: vjp, jvp, jacobian, hessian, vhp, hvp.

Every helper works on Tensors, so with ``create_graph=True`` its result carries a graph
(through the higher-order rules) and can be differentiated again; hessian is the Jacobian of
the Jacobian, hvp uses the double-backward trick. ``vectorize=True`` is accepted and
computes the same result one ``autograd.grad`` call per row, as ``vectorize=False`` does.
"""
from ._functional_utils import (as_tuple, grad_preprocess, grad_postprocess, autograd_grad,
                                check_requires_grad, fill_in_zeros, jvp_by_rows,
                                lacks_graph_rule, tuple_postprocess, validate_v)
from .grad_mode import enable_grad, set_grad_enabled, is_grad_enabled

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]

_STRATEGY_HINT = ('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If '
                  'your function has more outputs than inputs, "forward-mode" tends to be more '
                  'performant. Otherwise, prefer to use "reverse-mode".')


def _zeros_like(t, requires_grad=False):
    from .._creation import zeros_like
    return zeros_like(t, requires_grad=requires_grad)


def _ones_like(t):
    from .._creation import ones_like
    return ones_like(t)


def _prepare_v(v, inputs, is_inputs_tuple, create_graph, fn_name):
    """v checked against the inputs' shapes, or the scalar-input default (None -> 1)."""
    if v is not None:
        _, v = as_tuple(v, "v", fn_name)
        v = grad_preprocess(v, create_graph=create_graph, need_graph=False)
        validate_v(v, inputs, is_inputs_tuple)
        return v
    if len(inputs) != 1 or inputs[0].numel() != 1:
        raise RuntimeError("The vector v can only be None if the input to the user-provided "
                           "function is a single Tensor with a single element.")
    return None



def _checked_inputs(inputs, create_graph, fn_name):
    """(was a tuple, the inputs as tensors that record a graph): every transform's start."""
    is_tuple, inputs = as_tuple(inputs, "inputs", fn_name)
    return is_tuple, grad_preprocess(inputs, create_graph=create_graph, need_graph=True)


def _checked_outputs(func, inputs, strict, fn_name):
    """(was a tuple, func's outputs), checked to require grad when ``strict``."""
    is_tuple, outputs = as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    check_requires_grad(outputs, "outputs", strict)
    return is_tuple, outputs

def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product, shaped like the inputs."""
    with enable_grad():
        is_inputs_tuple, inputs = _checked_inputs(inputs, create_graph, "vjp")
        is_outputs_tuple, outputs = _checked_outputs(func, inputs, strict, "vjp")
        if v is not None:
            _, v = as_tuple(v, "v", "vjp")
            v = grad_preprocess(v, create_graph=create_graph, need_graph=False)
            validate_v(v, outputs, is_outputs_tuple)
        elif len(outputs) != 1 or outputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the user-provided function "
                               "returns a single Tensor with a single element.")
    res = _backward((outputs, inputs, v), inputs, create_graph, strict, "back")
    return (tuple_postprocess(grad_postprocess(outputs, create_graph), is_outputs_tuple),
            tuple_postprocess(grad_postprocess(res, create_graph), is_inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, shaped like the outputs.

    Computed by the double-backward trick: the vjp with a dummy cotangent u is linear in u,
    and differentiating it with respect to u, seeded with v, gives J v. Without
    ``create_graph`` or ``strict``, a function using an op that has no second-order rule
    falls back to one first-order backward per output element."""
    with enable_grad():
        is_inputs_tuple, inputs = _checked_inputs(inputs, create_graph, "jvp")
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "jvp")
        is_outputs_tuple, outputs = _checked_outputs(func, inputs, strict, "jvp")
        dummy = tuple(_zeros_like(o, requires_grad=True) for o in outputs)
        try:
            grad_inputs = autograd_grad(outputs, inputs, dummy, create_graph=True)
        except NotImplementedError as e:
            if create_graph or strict or not lacks_graph_rule(e):
                raise
            grad_inputs = None  # an op without a second-order rule: use first-order rows
        check_requires_grad(grad_inputs or (), "grad_inputs", strict)
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        if grad_inputs is None:
            res = jvp_by_rows(outputs, inputs, v or tuple(_ones_like(t) for t in inputs))
        else:
            res = autograd_grad(grad_inputs, dummy, v, create_graph=create_graph)
        res = fill_in_zeros(res, outputs, strict, create_graph, "back_trick")
    return (tuple_postprocess(grad_postprocess(outputs, create_graph), is_outputs_tuple),
            tuple_postprocess(grad_postprocess(res, create_graph), is_outputs_tuple))


def _check_jacobian_args(create_graph, strict, vectorize, strategy):
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(_STRATEGY_HINT)
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                "fastnn.autograd.functional.jacobian: `create_graph=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `create_graph=False` or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError(
                "fastnn.autograd.functional.jacobian: `strict=True` and "
                '`strategy="forward-mode"` are not supported together (yet). Please either '
                'set `strict=False` or `strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or "
                                      "forward-over-reverse Hessian is only implemented for "
                                      "`vectorize=True`.")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs, nested by output then input as PyTorch nests it.

    Always computed in reverse mode, one ``autograd.grad`` per output element:
    ``vectorize=True`` and ``strategy="forward-mode"`` (which PyTorch allows only with
    ``vectorize=True``) give the same values without vectorizing."""
    _check_jacobian_args(create_graph, strict, vectorize, strategy)
    with enable_grad():
        is_inputs_tuple, inputs = _checked_inputs(inputs, create_graph, "jacobian")
        is_outputs_tuple, outputs = _checked_outputs(func, inputs, strict, "jacobian")
        if vectorize and strict and strategy == "reverse-mode":
            raise RuntimeError("fastnn.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either "
                               "set `strict=False` or `vectorize=False`.")
        jac = tuple(_jacobian_of_output(i, out, inputs, create_graph, strict)
                    for i, out in enumerate(outputs))
        jac = grad_postprocess(jac, create_graph)
    return tuple_postprocess(jac, (is_outputs_tuple, is_inputs_tuple))


def _jacobian_of_output(i, out, inputs, create_graph, strict):
    """The Jacobians of output ``i`` with respect to every input, one row per element."""
    rows = tuple([] for _ in inputs)
    flat = out.reshape(-1)
    for j in range(out.numel()):
        vj = autograd_grad((flat[j],), inputs, retain_graph=True, create_graph=create_graph)
        for k, (g, inp) in enumerate(zip(vj, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(f"Output {i} of the user-provided function is "
                                       f"independent of input {k}. This is not allowed in "
                                       "strict mode.")
                g = _zeros_like(inp)
            elif strict and create_graph and not g.requires_grad:
                # PyTorch names the output index here
                raise RuntimeError("The jacobian of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode when "
                                   "create_graph=True.")
            rows[k].append(g)
    return tuple(_assemble(r, out, inp) for r, inp in zip(rows, inputs))


def _assemble(rows, out, inp):
    from .. import stack
    from .._creation import zeros
    shape = tuple(out.shape) + tuple(inp.shape)
    return stack(rows).reshape(shape) if rows else zeros(shape, dtype=inp.dtype)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its (graph-carrying) Jacobian.

    A single input gives one Tensor of shape ``input.shape * 2``; a tuple of inputs gives
    ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``. ``vectorize=True`` and the
    "forward-mode" outer strategy compute the same values in reverse mode, row by row."""
    is_inputs_tuple, inputs = as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or '
                             '"reverse-mode".')

    def single_output(*inp):
        out = func(*inp)
        is_out_tuple, t_out = as_tuple(out, "outputs of the user-provided function", "hessian")
        check_requires_grad(t_out, "outputs", strict)
        if is_out_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               "contain a single element")
        return out.squeeze()

    def jac_func(*inp):
        if outer_jacobian_strategy == "forward-mode":
            inp = tuple(t.requires_grad_(True) for t in inp)
        jac = jacobian(single_output, inp, create_graph=True)
        check_requires_grad(jac, "jacobian", strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict,
                   vectorize=vectorize, strategy=outer_jacobian_strategy)
    return tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def _first_backward(func, inputs, v, create_graph, strict, fn_name):
    """Shared start of vhp and hvp: checked inputs and v, the output, and its gradient
    computed with a graph (so it can be differentiated again)."""
    is_inputs_tuple, inputs = _checked_inputs(inputs, create_graph, fn_name)
    v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, fn_name)
    is_outputs_tuple, outputs = _checked_outputs(func, inputs, strict, fn_name)
    if is_outputs_tuple:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].numel() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should "
                           "contain a single element")
    jac = autograd_grad(outputs, inputs, create_graph=True)
    check_requires_grad(jac, "jacobian", strict)
    return is_inputs_tuple, inputs, v, outputs, is_outputs_tuple, jac


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for a scalar function: one backward through its gradient."""
    with enable_grad():
        is_inputs_tuple, inputs, v, outputs, is_outputs_tuple, jac = _first_backward(
            func, inputs, v, create_graph, strict, "vhp")
    res = _backward((jac, inputs, v), inputs, create_graph, strict, "double_back")
    return (tuple_postprocess(grad_postprocess(outputs, create_graph), is_outputs_tuple),
            tuple_postprocess(grad_postprocess(res, create_graph), is_inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) for a scalar function, by the double-backward trick (for a twice
    continuously differentiable function it equals vhp, which needs one backward less)."""
    with enable_grad():
        is_inputs_tuple, inputs, v, outputs, is_outputs_tuple, jac = _first_backward(
            func, inputs, v, create_graph, strict, "hvp")
        dummy = tuple(_zeros_like(t, requires_grad=True) for t in inputs)
        double_back = autograd_grad(jac, inputs, dummy, create_graph=True)
        check_requires_grad(jac, "hessian", strict)
    res = _backward((double_back, dummy, v), inputs, create_graph, strict, "double_back_trick")
    return (tuple_postprocess(grad_postprocess(outputs, create_graph), is_outputs_tuple),
            tuple_postprocess(grad_postprocess(res, create_graph), is_inputs_tuple))


def _backward(grad_args, inputs, create_graph, strict, stage):
    """autograd.grad(*grad_args), a graph kept only when asked for, zeros for unused inputs."""
    outputs, wrt, v = grad_args
    with set_grad_enabled(True if create_graph else is_grad_enabled()):
        res = autograd_grad(outputs, wrt, v, create_graph=create_graph)
        return fill_in_zeros(res, inputs, strict, create_graph, stage)
