"""jvp, jacrev, jacfwd and hessian for fastnn.func, all in reverse mode.

fastnn has no forward-mode autodiff. ``jvp`` uses the double-vjp trick: the vjp with a dummy
cotangent u is linear in u, and differentiating it with respect to u, seeded with the
tangents, gives J t. That uses the second-order rules of the function's ops; for an op that
has none it falls back to one first-order backward per output element (unless the result
must carry a graph). ``jacfwd`` computes the same Jacobian as ``jacrev``, one backward per
output element.
"""
from ._pytree import tree_flatten, tree_unflatten
from ._transforms import (_Level, _check_outputs, _grads, _named, _replace_args,
                          _slice_argnums, _split_aux, _tensor_type, recording)


def _check_tensor_list(flat, api, argname):
    if not flat:
        raise RuntimeError(f"{api}: Expected {argname} to contain at least one Tensor.")
    for t in flat:
        if not isinstance(t, _tensor_type()):
            raise RuntimeError(f"{api}: Expected {argname} to only contain Tensors, got "
                               f"{type(t)}")


def _check_jvp_args(primals, tangents, api):
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    flat_p, p_spec = tree_flatten(primals)
    flat_t, t_spec = tree_flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, "
                           f"tangents also must be. Got primals with structure {p_spec} and "
                           f"tangents with structure {t_spec}")
    _check_tensor_list(flat_p, api, "primals")
    _check_tensor_list(flat_t, api, "tangents")
    for p, t in zip(flat_p, flat_t):
        _check_primal_dtype(p)
        if not (t.is_floating_point() or t.is_complex()):
            raise ValueError("Expected tangent to be floating point or complex, but got: "
                             f"{t.dtype}")
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError("Trying to set a forward gradient that has a different size than "
                               "that of the original Tensor, this is not supported. Tensor is "
                               f"of size {list(p.shape)} while the given forward gradient is "
                               f"of size {list(t.shape)}.")
    return flat_p, p_spec, flat_t


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """(func(*primals), J tangents[, aux]), by the double-vjp trick (see the module notes)."""
    from .._creation import zeros_like
    api = "jvp(f, primals, tangents)"
    flat_p, p_spec, flat_t = _check_jvp_args(primals, tangents, api)
    level = _Level()
    with recording():
        diff = [level.make_differentiable(p) for p in flat_p]
        out, aux = _split_aux(func(*tree_unflatten(diff, p_spec)), has_aux, api)
        flat_out, out_spec = tree_flatten(out)
        for o in flat_out:
            if not isinstance(o, _tensor_type()):
                raise RuntimeError(f"{api}: expected f(*args) to return only tensors, got "
                                   f"unsupported type {type(o)}")
        keep = level.needs_graph(flat_out) or any(t.requires_grad for t in flat_t)
        # integer outputs have zero tangents, as in PyTorch's forward mode
        real = [k for k, o in enumerate(flat_out) if o.is_floating_point() or o.is_complex()]
        got = [None] * len(flat_out)
        if real:
            part = _double_vjp([flat_out[k] for k in real], diff, flat_t, keep, strict)
            for k, r in zip(real, part):
                got[k] = r
    if strict and any(got[k] is None for k in real):
        raise RuntimeError("jvp(f, primals, tangents, strict=True): The output of f is "
                           "independent of the inputs. This is not allowed with strict=True.")
    res = [zeros_like(o) if r is None else r for r, o in zip(got, flat_out)]
    result = (level.release(out, keep), level.release(tree_unflatten(res, out_spec), keep))
    return result + (level.release(aux, keep),) if has_aux else result


def _double_vjp(outs, ins, tangents, keep, strict):
    """J t for each output (None where it depends on no input)."""
    from ..autograd._functional_utils import autograd_grad, jvp_by_rows, lacks_graph_rule
    from .._creation import zeros_like
    dummies = [zeros_like(o, requires_grad=True) for o in outs]
    try:
        vjps = _grads(outs, ins, tuple(dummies), create_graph=True)
    except NotImplementedError as e:
        if keep or strict or not lacks_graph_rule(e):
            raise
        return jvp_by_rows(outs, ins, tangents)  # an op without a second-order rule
    live = [(g, t) for g, t in zip(vjps, tangents) if g.requires_grad]
    if not live:
        return (None,) * len(outs)
    return autograd_grad(tuple(g for g, _ in live), tuple(dummies), tuple(t for _, t in live),
                         create_graph=keep, retain_graph=True)


def _jacobian_rows(out, flat_in, keep):
    """d out / d each input, shaped out.shape + input.shape, one backward per element."""
    from .. import stack
    from .._creation import zeros
    rows = [[] for _ in flat_in]
    flat = out.reshape(-1)
    for j in range(out.numel()):
        for k, g in enumerate(_grads([flat[j]], flat_in, create_graph=keep)):
            rows[k].append(g)
    jac = []
    for r, t in zip(rows, flat_in):
        shape = tuple(out.shape) + tuple(t.shape)
        jac.append(stack(r).reshape(shape) if r else zeros(shape, dtype=t.dtype))
    return jac


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """A function returning the Jacobian of ``func`` w.r.t. argument(s) ``argnums``: for
    each output (pytrees allowed) a tree shaped like the differentiated arguments, each
    leaf of shape ``output.shape + input.shape``. ``chunk_size`` changes nothing here:
    rows are always computed one at a time."""
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    def wrapper(*args):
        level = _Level()
        with recording():
            diff = _differentiable_args(level, args, argnums)
            out = func(*_replace_args(args, diff, argnums))
            out, aux = _split_aux(out, has_aux, "vjp(f, *primals)")
            flat_out, out_spec = tree_flatten(out)
            _check_outputs(flat_out, "vjp(f, ...)")
            flat_in, in_spec = tree_flatten(diff)
            keep = level.needs_graph(flat_out)
            jac = [tree_unflatten(_jacobian_rows(o, flat_in, keep), in_spec) for o in flat_out]
        jac = level.release(tree_unflatten(jac, out_spec), keep)
        return (jac, level.release(aux, keep)) if has_aux else jac
    return _named(wrapper, func)


def _differentiable_args(level, args, argnums):
    from ._pytree import tree_map
    return tree_map(level.make_differentiable, _slice_argnums(args, argnums, False))


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian as ``jacrev`` computes it (fastnn has no forward mode, so this is the
    same reverse-mode computation; the values and structure match PyTorch's jacfwd).
    ``func`` runs once, so random ops draw the same numbers for every column (PyTorch's
    "same"); "error", the default, raises if ``func`` draws any."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    inner = jacrev(func, argnums, has_aux=has_aux)

    def wrapper(*args):
        from ._vmap import _RANDOM_IN_ERROR_MODE, _draws, _drew_since, _restore_draws
        for t in tree_flatten(_slice_argnums(args, argnums, False))[0]:
            _check_primal_dtype(t)
        if randomness != "error":
            return inner(*args)
        before = _draws()
        out = inner(*args)
        if _drew_since(before):  # PyTorch's forward mode runs under vmap, which would refuse
            _restore_draws(before)
            raise RuntimeError(_RANDOM_IN_ERROR_MODE)
        return out
    return _named(wrapper, func)


def _check_primal_dtype(t):
    """Forward mode (jvp, jacfwd) differentiates floating and complex inputs only."""
    if isinstance(t, _tensor_type()) and not (t.is_floating_point() or t.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {t.dtype}")


def hessian(func, argnums=0):
    """The Hessian of a scalar ``func`` w.r.t. argument(s) ``argnums``: the Jacobian of its
    Jacobian, shaped ``input.shape * 2`` for one Tensor argument."""
    return jacfwd(jacrev(func, argnums), argnums)
