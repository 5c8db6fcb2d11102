"""grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian over ``autograd.grad``.

Each transform gives the differentiated arguments fresh Tensor objects: an argument that
already carries a graph (an outer transform's input, a model parameter) is aliased so the
result stays connected to it, any other is detached into a new leaf. The backward pass
records its own graph (``create_graph=True``) only when the function's output reaches a leaf
other than those new ones, that is when someone outside can differentiate the result again:
that is what makes ``grad(grad(f))`` and MAML-style outer gradients work, while a top-level
call returns plain Tensors and needs no second-order rules.
"""
from ..autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,
                                  is_inference_mode_enabled)
from ._pytree import tree_flatten, tree_unflatten, tree_map, treespec_pprint


def _tensor_type():
    from ..tensor import Tensor
    return Tensor


class recording:
    """Grad mode on for a transform's body. Inside ``inference_mode`` the body also leaves
    inference mode (as ``inference_mode(False)`` does): there ``enable_grad`` alone records
    nothing, and the transforms must differentiate and return normal Tensors anyway."""

    def __enter__(self):
        self._mode = inference_mode(False) if is_inference_mode_enabled() else enable_grad()
        self._mode.__enter__()

    def __exit__(self, *exc):
        return self._mode.__exit__(*exc)


# ---- argnums ---------------------------------------------------------------------------------

def _wrap_argnum(argnum, num_args):
    if not isinstance(argnum, int):
        raise RuntimeError(f"argnum must be int, got: {type(argnum)}")
    if -num_args <= argnum < num_args:
        return argnum % num_args
    raise RuntimeError(f"Got argnum={argnum}, but only {num_args} positional inputs")


def _slice_argnums(args, argnums, as_tuple=True):
    """The arguments selected by ``argnums`` (a tuple of them when argnums is a tuple)."""
    if not isinstance(argnums, (int, tuple)):
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    if isinstance(argnums, int):
        idx = _wrap_argnum(argnums, len(args))
        return (args[idx],) if as_tuple else args[idx]
    idxs = tuple(_wrap_argnum(a, len(args)) for a in argnums)
    if not idxs:
        raise RuntimeError("argnums must be non-empty")
    if len(set(idxs)) != len(idxs):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(args[i] for i in idxs)


def _replace_args(args, new, argnums):
    if isinstance(argnums, int):
        idx = _wrap_argnum(argnums, len(args))
        return tuple(new if i == idx else a for i, a in enumerate(args))
    pos = {_wrap_argnum(a, len(args)): k for k, a in enumerate(argnums)}
    return tuple(new[pos[i]] if i in pos else a for i, a in enumerate(args))


# ---- differentiable inputs and whether results need a graph ----------------------------------

class _Level:
    """The fresh input leaves of one transform call, and whether to link results outward."""

    def __init__(self):
        self.link = is_grad_enabled()
        self.fresh = set()

    def make_differentiable(self, t):
        if not isinstance(t, _tensor_type()):
            raise ValueError(f"Thing passed to transform API must be Tensor, got {type(t)}")
        if self.link and t.requires_grad:
            return t.view_as(t)
        leaf = t.detach()
        if leaf.is_inference():  # made under inference_mode: a normal copy can require grad
            leaf = leaf.clone()
        leaf = leaf.requires_grad_(True)
        self.fresh.add(id(leaf))
        return leaf

    def needs_graph(self, tensors):
        """Whether any of ``tensors`` depends on a leaf from outside this call."""
        from ..autograd._functional_utils import reaches_other_leaf
        return self.link and reaches_other_leaf(
            [t for t in tensors if isinstance(t, _tensor_type())], self.fresh)

    def release(self, tree, keep_graph):
        """Results as the caller should see them: detached unless they link outward."""
        if keep_graph:
            return tree
        return tree_map(lambda x: x.detach() if isinstance(x, _tensor_type()) else x, tree)


def _grads(outputs, inputs, grad_outputs=None, create_graph=False):
    """autograd.grad over the differentiable outputs, zeros for unused inputs."""
    from ..autograd._functional_utils import autograd_grad
    from .._creation import zeros_like
    got = autograd_grad(tuple(outputs), tuple(inputs), grad_outputs, create_graph=create_graph,
                        retain_graph=True)
    return [zeros_like(t) if g is None else g for g, t in zip(got, inputs)]


def _split_aux(out, has_aux, api):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) "
                           "if has_aux is True")
    for leaf in tree_flatten(out[1])[0]:
        if not isinstance(leaf, _tensor_type()):  # PyTorch unwraps aux as Tensors only
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    return out


# ---- grad ------------------------------------------------------------------------------------

def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient of ``func`` w.r.t. ``argnums``, value of ``func``);
    ``func`` must return a scalar Tensor (or ``(scalar, aux)`` with ``has_aux``)."""
    def wrapper(*args, **kwargs):
        level = _Level()
        with recording():
            diff = tree_map(level.make_differentiable, _slice_argnums(args, argnums, False))
            out = func(*_replace_args(args, diff, argnums), **kwargs)
            out, aux = _split_aux(out, has_aux, "grad_and_value(f)(*args)")
            if not isinstance(out, _tensor_type()):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out)}")
            if out.dim() != 0:
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"scalar Tensor, got tensor with {out.dim()} dims. Maybe "
                                   "you wanted to use the vjp or jacrev APIs instead?")
            flat, spec = tree_flatten(diff)
            keep = level.needs_graph([out])
            g = tree_unflatten(_grads([out], flat, create_graph=keep), spec)
        value = level.release(out, keep)
        if has_aux:
            return g, (value, level.release(aux, keep))
        return g, value
    return _named(wrapper, func)


def grad(func, argnums=0, has_aux=False):
    """A function returning the gradient of the scalar ``func`` w.r.t. argument(s)
    ``argnums`` (pytrees of Tensors allowed), plus ``aux`` with ``has_aux``. Nests:
    ``grad(grad(f))`` is the second derivative."""
    gv = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g
    return _named(wrapper, func)


def _named(wrapper, func):
    """``wrapper`` carrying ``func``'s name, qualified name and docstring (so a TypeError
    about its arguments names ``func``)."""
    import functools
    try:
        functools.update_wrapper(wrapper, func)
    except (AttributeError, TypeError):
        pass
    if not hasattr(func, "__name__"):
        wrapper.__name__ = wrapper.__qualname__ = type(func).__name__
    return wrapper


# ---- vjp -------------------------------------------------------------------------------------

def _check_outputs(flat_out, api):
    for o in flat_out:
        if not isinstance(o, _tensor_type()):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, got "
                               f"unsupported type {type(o)}")
        if not o.is_floating_point() and not o.is_complex():
            raise RuntimeError(f"{api}: All outputs of f must be floating-point or complex "
                               f"Tensors, got Tensor with dtype {o.dtype}")


def vjp(func, *primals, has_aux=False):
    """(func(*primals), vjp_fn[, aux]): ``vjp_fn(cotangents)`` returns a tuple with the
    vector-Jacobian product for each primal; it may be called any number of times."""
    level = _Level()
    with recording():
        diff = tree_map(level.make_differentiable, primals)
        out, aux = _split_aux(func(*diff), has_aux, "vjp(f, *primals)")
        flat_out, out_spec = tree_flatten(out)
        _check_outputs(flat_out, "vjp(f, ...)")
        flat_in, in_spec = tree_flatten(diff)
        keep = level.needs_graph(flat_out)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        flat_cot, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as "
                               "pytree structure of outputs to the function. cotangents: "
                               f"{treespec_pprint(cot_spec)}, primal output: "
                               f"{treespec_pprint(out_spec)}")
        graph = create_graph
        if graph is None:
            graph = keep or (is_grad_enabled() and any(
                isinstance(c, _tensor_type()) and c.requires_grad for c in flat_cot))
        with recording():
            g = _grads(flat_out, flat_in, tuple(flat_cot), create_graph=graph)
        return level.release(tree_unflatten(g, in_spec), graph)

    result = (level.release(out, keep), vjp_fn)
    return result + (level.release(aux, keep),) if has_aux else result
