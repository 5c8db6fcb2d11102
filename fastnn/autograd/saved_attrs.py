"""``grad_fn._saved_<name>`` and ``grad_fn.metadata``: what a node saved for backward, by the
names PyTorch gives it, for code (and tutorials) that inspect the graph.

Only nodes whose saved values mean what PyTorch's do are listed; any other name raises
AttributeError as before. A name maps to a position in ``node.saved`` or to an attribute.
"""
from functools import lru_cache

_SELF, _OTHER, _RESULT = ("self", 0), ("other", 1), ("result", 0)

SAVED = {
    "MulBackward0": (_SELF, _OTHER),
    "DivBackward0": (_SELF, _OTHER),
    "PowBackward0": (_SELF, ("exponent", "e")),
    "ExpBackward0": (_RESULT,),
    "Expm1Backward0": (_RESULT,),
    "LogBackward0": (_SELF,),
    "Log1PBackward0": (_SELF,),
    "SqrtBackward0": (_RESULT,),
    "RsqrtBackward0": (_RESULT,),
    "SinBackward0": (_SELF,),
    "CosBackward0": (_SELF,),
    "AbsBackward0": (_SELF,),
    "TanhBackward0": (_RESULT,),
    "SigmoidBackward0": (_RESULT,),
}


@lru_cache(maxsize=None)
def _lookup(cls_name, name):
    for saved_name, where in SAVED.get(cls_name, ()):
        if saved_name == name:
            return where
    return None


def saved_attribute(node, attr):
    """The value behind ``node._saved_<name>`` / ``node._raw_saved_<name>``, or raise."""
    raw = attr.startswith("_raw_saved_")
    name = attr[len("_raw_saved_"):] if raw else attr[len("_saved_"):]
    where = _lookup(node.name(), name)
    if where is None:
        raise AttributeError(f"'{node.name()}' object has no attribute '{attr}'")
    if isinstance(where, str):  # a number the forward kept, such as an exponent
        return getattr(node, where)
    if node._freed:
        node.check_saved()  # PyTorch's "saved tensors ... already been freed" error
    saved = node.saved
    arr = saved[where] if where < len(saved) else None
    if arr is None:
        return None
    from ..tensor import _wrap
    return _wrap(arr)
