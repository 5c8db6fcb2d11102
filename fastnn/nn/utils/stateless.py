"""Calling a module with other parameter and buffer values than its own (functional_call).

The module's tensors are swapped for the given ones by name ("0.weight", "encoder.bias"),
the module runs, and the originals go back even when the call raises. Gradients then flow
to the given tensors, which is what meta-learning (MAML) and ``fastnn.func`` need.
"""
import contextlib
import warnings

__all__ = ["functional_call"]

_MISSING = object()


def _tied_names(module):
    """For each parameter/buffer name that shares its tensor with another name, the set of
    all names of that tensor."""
    by_tensor = {}
    for name, t in _named_tensors(module):
        by_tensor.setdefault(id(t), set()).add(name)
    return {n: names for names in by_tensor.values() if len(names) > 1 for n in names}


def _named_tensors(module):
    yield from module.named_parameters(remove_duplicate=False)
    yield from module.named_buffers(remove_duplicate=False)


def _untie(module, values):
    """``values`` with every tied name filled in from the one the caller gave; giving two
    different tensors for names that are tied is an error."""
    tied = _tied_names(module)
    given = [n for n in values if n in tied]
    for name in given:
        group = tied[name]
        chosen = {id(values[n]) for n in group if n in values}
        if len(chosen) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(group)}, "
                             "which are tied. Consider using tie_weights=False")
    out = dict(values)
    for name in given:
        for other in tied[name]:
            out[other] = values[name]
    return out


def _check_strict(module, values):
    valid = {n for n, _ in _named_tensors(module)}
    missing, unexpected = sorted(valid - set(values)), sorted(set(values) - valid)
    msgs = []
    if unexpected:
        msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if msgs:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
            module._get_name(), "\n\t".join(msgs)))


def _owner(module, path):
    """(submodule, attribute name) for a dotted name like "layer1.0.weight"."""
    from ..modules.module import Module
    *parts, attr = path.split(".")
    mod = module
    for part in parts:
        try:
            nxt = getattr(mod, part)
        except AttributeError as e:
            raise AttributeError(f"{mod._get_name()} has no attribute `{part}`") from e
        if not isinstance(nxt, Module):
            raise TypeError(f"submodule `{part}`: {nxt} is not an instance of "
                            "fastnn.nn.Module")
        mod = nxt
    if attr == "":
        raise KeyError('tensor name can\'t be empty string ""')
    return mod, attr


def _swap(module, path, value):
    """Put ``value`` at ``path`` and return what was there (_MISSING if nothing was)."""
    from ...tensor import Tensor
    if value is not _MISSING and value is not None and not isinstance(value, Tensor):
        raise TypeError(f"{value} is not an instance of fastnn.Tensor")
    mod, name = _owner(module, path)
    for registry in (mod._parameters, mod._buffers):
        if name in registry:
            orig = registry[name]
            if value is _MISSING:
                del registry[name]
            else:
                registry[name] = value  # the registry mirrors it into the attribute
            return orig
    orig = getattr(mod, name, _MISSING)
    if orig is not _MISSING and orig is not None and not isinstance(orig, Tensor):
        raise TypeError(f"attribute `{name}`: {orig} is not an instance of fastnn.Tensor")
    if value is not _MISSING:
        setattr(mod, name, value)
    elif hasattr(mod, name):
        delattr(mod, name)
    return orig


def _swap_all(module, values):
    done = {}
    try:
        for name, value in values.items():
            done[name] = _swap(module, name, value)
    except Exception:
        for name, orig in done.items():
            _swap(module, name, orig)
        raise
    return done


@contextlib.contextmanager
def reparametrize_module(module, parameters_and_buffers, tie_weights=False, strict=False,
                         stack_weights=False):
    """Within the block, ``module`` sees the given tensors in place of its own.

    ``stack_weights`` puts the originals back in the reverse order of the swaps, which
    matters when several names reach the same tensor slot."""
    values = _untie(module, parameters_and_buffers) if tie_weights else parameters_and_buffers
    if strict:
        _check_strict(module, values)
    originals = {}
    try:
        originals = _swap_all(module, values)
        yield
    finally:
        if stack_weights:
            originals = dict(reversed(originals.items()))
        current = _swap_all(module, originals)
        # a module that reassigned one of them (self.count = self.count + 1) leaves the new
        # value in the caller's dict, as PyTorch does
        parameters_and_buffers.update({k: current[k] for k in parameters_and_buffers
                                       if k in current})


_reparametrize_module = reparametrize_module  # PyTorch's (private) name of the context


def _functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                     tie_weights=True, strict=False):
    kwargs = {} if kwargs is None else kwargs
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights,
                              strict=strict):
        return module(*args, **kwargs)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """``module(*args, **kwargs)`` with the named tensors in place of its parameters and
    buffers (deprecated spelling of ``fastnn.func.functional_call``, as in PyTorch).

    ``args`` that is not a tuple is passed as the single argument. With ``tie_weights`` a
    value given for one of several tied names is used for all of them; ``strict`` requires
    exactly the module's names."""
    warnings.warn("`fastnn.nn.utils.stateless.functional_call` is deprecated as of PyTorch "
                  "2.0 and will be removed in a future version. Please use "
                  "`fastnn.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)
