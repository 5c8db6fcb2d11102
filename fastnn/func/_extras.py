"""The rest of fastnn.func's surface: linearize, functionalize, debug_unwrap and
replace_all_batch_norm_modules_.

fastnn runs eagerly on plain Tensors, so functionalize and debug_unwrap have nothing to
rewrite or unwrap; linearize records the function's double-vjp graph once and answers every
``jvp_fn`` call from it.
"""
from ._pytree import tree_flatten, tree_unflatten
from ._transforms import _Level, _grads, _named, recording


def linearize(func, *primals):
    """(func(*primals), jvp_fn): ``jvp_fn(*tangents)`` is the Jacobian-vector product at
    ``primals``, as ``jvp(func, primals, tangents)[1]`` would give, without running ``func``
    again (where its ops have second-order rules)."""
    from .._creation import zeros_like
    from ..autograd._functional_utils import autograd_grad, jvp_by_rows, lacks_graph_rule
    from ._jacobians import _check_primal_dtype
    flat_p, p_spec = tree_flatten(primals)
    for p in flat_p:
        _check_primal_dtype(p)
    level = _Level()
    with recording():
        diff = [level.make_differentiable(p) for p in flat_p]
        output = func(*tree_unflatten(diff, p_spec))
        flat_out, out_spec = tree_flatten(output)
        keep = level.needs_graph(flat_out)
        real = [k for k, o in enumerate(flat_out) if o.is_floating_point() or o.is_complex()]
        dummies = [zeros_like(flat_out[k], requires_grad=True) for k in real]
        try:
            vjps = _grads([flat_out[k] for k in real], diff, tuple(dummies), create_graph=True)
        except NotImplementedError as e:
            if keep or not lacks_graph_rule(e):
                raise
            vjps = None  # an op without a second-order rule: first-order rows per call

    def jvp_fn(*tangents):
        flat_t, t_spec = tree_flatten(tangents)
        if t_spec != p_spec:
            raise RuntimeError(f"Expected the tangents {t_spec} to have the same argspec as "
                               f"the primals {p_spec}")
        _check_tangents(flat_t, flat_p)
        with recording():
            outs = [flat_out[k] for k in real]
            if vjps is None:
                got = jvp_by_rows(outs, diff, flat_t)
            else:
                live = [(g, t) for g, t in zip(vjps, flat_t) if g.requires_grad]
                got = (None,) * len(outs)
                if live:
                    got = autograd_grad(tuple(g for g, _ in live), tuple(dummies),
                                        tuple(t for _, t in live), create_graph=keep,
                                        retain_graph=True)
        res = [zeros_like(o) for o in flat_out]
        for k, r in zip(real, got):
            if r is not None:
                res[k] = r
        return level.release(tree_unflatten(res, out_spec), keep)

    return level.release(output, keep), jvp_fn


def _check_tangents(flat_t, flat_p):
    for idx, (t, p) in enumerate(zip(flat_t, flat_p)):
        for what, have, want in (("shape", t.shape, p.shape), ("device", t.device, p.device),
                                 ("dtype", t.dtype, p.dtype)):
            if have != want:
                raise RuntimeError(f"tangent:{idx} with {what} {have} in flattened pytree "
                                   f"doesn't match the {what} {want} of the corresponding "
                                   "primal.")


def functionalize(func, *, remove="mutations"):
    """``func`` itself: fastnn has no graph capture for which in-place ops would need
    rewriting, and running them eagerly gives the results functionalization preserves."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for "
            f"remove={remove}. Valid options are:\n     remove='mutations': all inplace and "
            "out= operators will be removed from the program, and replaced with their "
            "out-of-place equivalents.\n     remove='mutations_and_views': In addition to the "
            "above, all aliasing operators {view} will be replaced with their non-aliasing "
            "counterparts, {view}_copy.\n")

    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return _named(wrapper, func)


def debug_unwrap(tensor, *, recurse=True):
    """``tensor``: fastnn's transforms run on plain Tensors, so there is no wrapper to remove."""
    return tensor


def replace_all_batch_norm_modules_(root):
    """In place: every batch-norm layer in ``root`` stops tracking running statistics (its
    running buffers become None), so it always normalizes with the batch's own statistics,
    which is what per-sample gradients under vmap need. Returns ``root``."""
    from ..nn.modules.instancenorm import _InstanceNorm
    from ..nn.modules.normalization import _BatchNorm
    for m in root.modules():
        if isinstance(m, _BatchNorm) and not isinstance(m, _InstanceNorm) and \
                m.track_running_stats:
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root
