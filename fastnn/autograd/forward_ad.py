"""Forward-mode AD with dual tensors (``autograd.forward_ad``), PyTorch's API.

``make_dual(x, t)`` inside ``dual_level()`` returns a tensor that carries the tangent ``t``;
``unpack_dual(y)`` returns ``(primal, tangent)`` with ``tangent`` = J t, the directional
derivative of ``y`` along the tangents of every dual it depends on.

fastnn computes the tangent when it is asked for, from the reverse-mode graph, by the
double-vjp trick (the same as ``func.jvp``): a dual is a graph leaf, and ``unpack_dual``
runs two reverse passes over the ops between the duals and ``y``. The values equal forward
mode's; the differences a user can see: a dual tensor reports ``requires_grad=True``, ops
run under ``no_grad`` carry no tangent, and a custom Function needs a ``backward`` (its
``jvp`` is not used).
"""
from typing import NamedTuple

from . import grad_mode

__all__ = ["dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual",
           "UnpackedDualTensor"]


class UnpackedDualTensor(NamedTuple):
    primal: object
    tangent: object


class _DualLevel:
    def __init__(self, index):
        self.index = index
        self.tangents = {}   # id(dual) -> (dual, tangent)


_levels = []


def enter_dual_level():
    """Open the (single) forward-AD level; returns its index."""
    if _levels:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _levels.append(_DualLevel(0))
    return 0


def exit_dual_level(*, level=None):
    """Close the level: its duals lose their tangents."""
    if not _levels or (level is not None and level != _levels[-1].index):
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that "
                           "was created. This is not supported.")
    _levels.pop()


class dual_level:
    """Context manager (and decorator) for a forward-AD level: ``with dual_level(): ...``."""

    def __enter__(self):
        return enter_dual_level()

    def __exit__(self, *exc):
        exit_dual_level()

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with dual_level():
                return fn(*args, **kwargs)
        return wrapper


def _level(level):
    if not _levels or (level is not None and level != _levels[-1].index):
        return None
    return _levels[-1]


def make_dual(tensor, tangent, *, level=None):
    """A tensor equal to ``tensor`` that carries ``tangent`` as its forward gradient."""
    from ..tensor import Tensor
    lv = _level(level)
    if lv is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, "
                           "make sure to enter_dual_level() first.")
    for name, t in (("tensor", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    if not tensor.is_floating_point():
        raise ValueError(f"Expected primal to be floating point or complex, but got: "
                         f"{tensor.dtype}")
    if not tangent.is_floating_point():
        raise ValueError(f"Expected tangent to be floating point or complex, but got: "
                         f"{tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than "
                           "that of the original Tensor, this is not supported. Tensor is of "
                           f"size {list(tensor.shape)} while the given forward gradient is of "
                           f"size {list(tangent.shape)}.")
    if id(tensor) in lv.tangents and lv.tangents[id(tensor)][0] is tensor:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {lv.index} is not supported.")
    with grad_mode.enable_grad():
        # a leaf of its own (or, for a tensor with a history, a view that keeps it)
        dual = tensor.view_as(tensor) if tensor.requires_grad else \
            tensor.detach().requires_grad_(True)
    if tangent.dtype != tensor.dtype or tangent.stride() != tensor.stride():
        # PyTorch keeps a tangent of the primal's dtype and layout
        tangent = tangent.detach().to(tensor.dtype).contiguous()
    lv.tangents[id(dual)] = (dual, tangent)
    return dual


def unpack_dual(tensor, *, level=None):
    """``(primal, tangent)`` of ``tensor`` at the level; tangent None where it has none."""
    lv = _level(level)
    entry = lv.tangents.get(id(tensor)) if lv is not None else None
    if entry is not None and entry[0] is tensor:
        return UnpackedDualTensor(_primal(tensor, lv), entry[1])
    if lv is None or not lv.tangents or tensor.grad_fn is None or \
            not tensor.is_floating_point():
        return UnpackedDualTensor(_primal(tensor, lv), None)
    return UnpackedDualTensor(_primal(tensor, lv), _tangent_of(tensor, lv))


def _primal(tensor, lv):
    """The value without its tangent: detached, unless it also has a backward-mode history
    that does not come from the level's duals (a parameter that requires grad)."""
    if tensor.grad_fn is None and not tensor.requires_grad:
        return tensor
    return tensor.view_as(tensor) if _links_outward(tensor, lv) else tensor.detach()


def _links_outward(tensor, lv):
    from ._functional_utils import reaches_other_leaf
    duals = {id(d) for d, _ in lv.tangents.values()} if lv is not None else set()
    return reaches_other_leaf([tensor], duals)


def _tangent_of(y, lv):
    """J t of ``y`` over the level's duals (None if it depends on none): d/du of
    <vjp(y, duals, u), tangents>, with u a zero cotangent (two reverse passes)."""
    from .. import autograd, zeros_like
    duals, tangents = zip(*lv.tangents.values())
    u = zeros_like(y, requires_grad=True)
    with grad_mode.enable_grad():
        vjps = autograd.grad(y, duals, u, create_graph=True, allow_unused=True)
        live = [(g, t) for g, t in zip(vjps, tangents) if g is not None and g.requires_grad]
        if not live:
            return None if all(g is None for g in vjps) else zeros_like(y).detach()
        (jvp,) = autograd.grad([g for g, _ in live], u, [t for _, t in live],
                               allow_unused=True)
    return zeros_like(y).detach() if jvp is None else jvp.detach()
