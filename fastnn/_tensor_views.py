"""Keeping a view family's histories consistent after in-place ops.

A view of a tensor with history carries a grad_fn derived from its base's history at the time
the view was made. When the base (or another view of it) is later modified in place, the base
gets a new history, and every other live view must take its gradient through that new history
too: each gets a fresh as_strided node on the base, as PyTorch's AsStridedBackward0 does.

Views register themselves (weakly) on their base when both carry history, and views of plain
data (made with grad mode on) too: should the data get a history later through an in-place
op, those views take it as well. Views of leaves cost nothing extra.
"""
from weakref import ref as _ref

import numpy as np

from .autograd import ops_shape as S
from .autograd.function import apply

_ndarray = np.ndarray


def track_view(root, view):
    """Remember ``view`` (made from ``root``'s history) so an in-place op can refresh it."""
    d = root.__dict__
    refs = d.get("_views")
    if refs is None:
        d["_views"] = [_ref(view)]
        return
    refs.append(_ref(view))
    n = len(refs)
    if n >= 32 and not n & (n - 1):  # now and then, forget views that are gone
        refs[:] = [r for r in refs if r() is not None]


def refresh_views(root, keep=None):
    """Give every live view of ``root`` (except ``keep``) a grad_fn on root's new history."""
    refs = root.__dict__.get("_views")
    if not refs:
        return
    live = []
    for r in refs:
        v = r()
        if v is None or v._base is not root:
            continue
        live.append(r)
        if v is keep or (v.grad_fn is None and not v.__dict__.pop("_plain_view", False)):
            continue  # (a view made under no_grad stays without history)
        node = _strided_node(root, v)
        if node is not None:
            move_history(v, node)
    refs[:] = live


def move_history(t, node):
    """``t.grad_fn = node``; a retain_grad() on ``t`` follows it to the new node."""
    old = t._retain
    t.grad_fn = node
    t._rg = True
    if old is not None:
        old.remove()
        t.__dict__.pop("_retain", None)
        t.retain_grad()


def _strided_node(root, view):
    """An AsStridedBackward0 node reading ``view``'s elements out of ``root``'s history."""
    from ._tensor_layout import storage_of
    a, r = view._data, root._data
    if type(a) is not _ndarray or type(r) is not _ndarray or a.dtype != r.dtype or \
            not np.may_share_memory(a, r):
        return None
    isz = a.itemsize
    if any(s < 0 or s % isz for s in a.strides + r.strides):
        return None
    flat, root_offset = storage_of(root)
    _, offset = storage_of(view)
    stride = tuple(s // isz for s in a.strides)
    geometry = (r.shape, tuple(s // isz for s in r.strides), root_offset)
    return apply(S.AsStridedBackward0, (root,), flat, a.shape, stride, offset, geometry).grad_fn


def multi_output_error(fn, k):
    """In-place on a piece of split/unbind (tagged ``_multi_out``) while its grad is tracked."""
    return RuntimeError(f"Output {k} of {fn} is a view and is being modified inplace. This view "
                        "is the output of a function that returns multiple views. Such "
                        "functions do not allow the output views to be modified inplace. You "
                        "should replace the inplace operation by an out-of-place one.")
