"""vmap as a loop: ``func`` runs once per batch element and the results are stacked.

This gives vmap's results (and its argument checking and error messages) for any function
fastnn can run, including per-sample gradients (``vmap(grad(f), in_dims=(None, 0))``) and
nested vmaps, but it is not vectorized: the cost is ``batch_size`` calls of ``func``.
``chunk_size`` therefore changes nothing. Random ops are caught by a generator moving (the
default one or any passed as ``generator=``): ``randomness="error"`` raises once a call has
drawn numbers, "different" lets each element draw its own, and "same" replays one random
state for every element.
"""
import threading

from ._pytree import broadcast_to_and_flatten, tree_flatten, tree_unflatten, tree_map


def _name(func):
    if hasattr(func, "__name__"):
        return func.__name__
    import functools
    if isinstance(func, functools.partial):
        return f"functools.partial({_name(func.func)}, ...)"
    return repr(func)


def _tensor_type():
    from ..tensor import Tensor
    return Tensor


def _check_out_dims(out_dims, func):
    def check(x):
        if x is not None and not isinstance(x, int):
            raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims}): `out_dims` must "
                             "be an int, None or a python collection of ints representing "
                             "where in the outputs the vmapped dimension should appear.")
        return x
    if not isinstance(out_dims, int):
        tree_map(check, out_dims)


def _process_inputs(in_dims, args, func):
    """(batch size, flat in_dims, flat args, args spec), with PyTorch's checks."""
    head = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>): "
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(head + "expected `in_dims` to be int or a (potentially nested) tuple "
                         f"matching the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to "
                         "add inputs, or you are trying to vmap over a function with no "
                         "inputs. The latter is unsupported.")
    flat_args, spec = tree_flatten(args)
    flat_dims = broadcast_to_and_flatten(in_dims, spec)
    if flat_dims is None:
        raise ValueError(head + "in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {spec}.")
    for i, (arg, d) in enumerate(zip(flat_args, flat_dims)):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ValueError(head + f"Got in_dim={d} for an input but in_dim must be either an "
                             "integer dimension or None.")
        if not isinstance(arg, _tensor_type()):
            raise ValueError(head + f"Got in_dim={d} for an input but the input is of type "
                             f"{type(arg)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        if not -arg.dim() <= d < arg.dim():
            raise ValueError(head + f"Got in_dim={d} for some input, but that input is a Tensor "
                             f"of dimensionality {arg.dim()} so expected in_dim to satisfy "
                             f"-{arg.dim()} <= in_dim < {arg.dim()}.")
        flat_dims[i] = d % arg.dim()
    sizes = [a.shape[d] for a, d in zip(flat_args, flat_dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0], flat_dims, flat_args, spec


def _flat_out_dims(first, out_dims, func):
    flat, spec = tree_flatten(first)
    if isinstance(first, _tensor_type()):
        if isinstance(out_dims, tuple) and len(out_dims) == 1:
            return list(out_dims)
        if out_dims is None or isinstance(out_dims, int):
            return [out_dims]
        dims = None
    else:
        dims = broadcast_to_and_flatten(out_dims, spec)
    if dims is None:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is "
                         "not compatible with the structure of `outputs`. out_dims has "
                         f"structure {tree_flatten(out_dims)[1]} but outputs has structure "
                         f"{spec}.")
    return dims


def _combine(results, out_dims, func):
    """The per-element outputs stacked along each output's out_dim."""
    from .. import stack
    flat0, spec = tree_flatten(results[0])
    dims = _flat_out_dims(results[0], out_dims, func)
    columns = [tree_flatten(r)[0] for r in results]
    out = []
    for k, d in enumerate(dims):
        if d is None:
            if not all(_same(flat0[k], c[k]) for c in columns[1:]):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a "
                                 "BatchedTensor when out_dim is None")
            out.append(flat0[k])
            continue
        if not isinstance(flat0[k], _tensor_type()):
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                             f"Tensors, got type {type(flat0[k])}. Did you mean to set "
                             "out_dims= to None for output?")
        items = [c[k] for c in columns]
        out.append(stack(items, dim=d if d >= 0 else d + items[0].dim() + 1))
    return tree_unflatten(out, spec)


def _same(a, b):
    """Whether two elements' results for an unbatched output agree: PyTorch refuses an output
    that depends on the mapped inputs, which shows here as values differing between them."""
    if a is b:
        return True
    T = _tensor_type()
    if isinstance(a, T) and isinstance(b, T):
        import numpy as np
        return a.shape == b.shape and bool(np.array_equal(a.detach().numpy(), b.detach().numpy()))
    if isinstance(a, T) or isinstance(b, T):
        return False
    try:
        return bool(a == b)
    except Exception:  # values without a plain truth of equality: leave them be
        return True


def _select(arg, dim, index):
    return arg[(slice(None),) * dim + (index,)]


class _Levels(threading.local):
    depth = 0


_levels = _Levels()  # how many vmaps the calling thread is inside


def active():
    """Whether the calling thread is running a function under vmap."""
    return _levels.depth > 0


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``func`` mapped over dimension ``in_dims`` of its inputs (int, None, or a nested tuple
    matching the arguments), results stacked at ``out_dims``. A loop, not vectorized: see
    the module notes for what that means for ``chunk_size`` and ``randomness``. Keyword
    arguments are passed to every call unbatched."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if not (chunk_size is None or chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    def wrapped(*args, **kwargs):
        _check_out_dims(out_dims, func)
        size, dims, flat, spec = _process_inputs(in_dims, args, func)
        results = []
        state = _draws() if randomness == "same" else None
        _levels.depth = getattr(_levels, "depth", 0) + 1
        try:
            if size == 0:
                return _empty_batch(func, flat, dims, spec, kwargs, out_dims)
            for b in range(size):
                if state is not None:
                    _restore_draws(state)
                before = _draws() if randomness == "error" else None
                sliced = [a if d is None else _select(a, d, b) for a, d in zip(flat, dims)]
                results.append(func(*tree_unflatten(sliced, spec), **kwargs))
                if before is not None and _drew_since(before):
                    _restore_draws(before)
                    raise RuntimeError(_RANDOM_IN_ERROR_MODE)
        finally:
            _levels.depth -= 1
        return _combine(results, out_dims, func)

    wrapped.__name__ = _name(func)
    wrapped.__doc__ = getattr(func, "__doc__", None)
    return wrapped


def _empty_batch(func, flat, dims, spec, kwargs, out_dims):
    """The result of mapping over zero elements: ``func`` runs once on zero-filled stand-ins
    for one element, to learn the outputs' structure, shapes and dtypes, and each output
    mapped at an out_dim becomes an empty slice of it with a 0-sized dimension there. A
    floating stand-in is the input summed over its empty mapped dimension, so the results
    stay in the input's graph. The stand-in call's random draws are undone."""
    from .._creation import zeros
    stand_ins = []
    for a, d in zip(flat, dims):
        if d is not None:
            if a.is_floating_point() or a.is_complex():
                a = a.sum(d)
            else:
                a = zeros(tuple(a.shape[:d]) + tuple(a.shape[d + 1:]), dtype=a.dtype)
        stand_ins.append(a)
    before = _draws()
    try:
        sample = func(*tree_unflatten(stand_ins, spec), **kwargs)
    finally:
        _restore_draws(before)
    flat_out, out_spec = tree_flatten(sample)
    out = []
    for o, d in zip(flat_out, _flat_out_dims(sample, out_dims, func)):
        if d is not None:
            if not isinstance(o, _tensor_type()):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                                 f"Tensors, got type {type(o)}. Did you mean to set out_dims= "
                                 "to None for output?")
            d = d if d >= 0 else d + o.dim() + 1
            o = o.unsqueeze(d)[(slice(None),) * d + (slice(0, 0),)]
        out.append(o)
    return tree_unflatten(out, out_spec)


_RANDOM_IN_ERROR_MODE = (
    "vmap: called random operation while in randomness error mode. Please either use the "
    "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
    "of vmap")


def _draws():
    """Where every generator stands (explicit ones passed as ``generator=`` included): every
    random op fastnn runs advances one, which is how a random op is caught after the fact in
    randomness="error" mode, and what randomness="same" replays."""
    from ..random import live_generators
    # (a generator still being unpickled has no stream yet)
    return [(g, g.bitgen, g.np, g._seed, g.bitgen.state) for g in live_generators()
            if hasattr(g, "bitgen")]


def _drew_since(before):
    """Whether a generator of the snapshot ``before`` has drawn numbers since (generators
    made after it do not count; a reseed alone does not either)."""
    import numpy as np
    for g, bitgen, _, _, state in before:
        now = g.bitgen
        if now is bitgen:
            if now.state != state:
                return True
        elif now.state != np.random.PCG64(g._seed).state:
            return True
    return False


def _restore_draws(before):
    """Put every generator of the snapshot back where it stood."""
    for g, bitgen, np_gen, seed, state in before:
        bitgen.state = state
        if g.bitgen is not bitgen:
            g.bitgen, g.np, g._seed = bitgen, np_gen, seed
