"""``grad_fn._saved_<name>``: what a node saved for backward, by the names PyTorch gives it,
for code (and tutorials) that inspect the graph.

Only nodes whose saved values mean what PyTorch's do are listed; the names are installed as
properties on those classes (a ``__getattr__`` on Node would slow every attribute read on
nodes in the backward pass).
"""
from . import ops_math
from .saved_hooks import unpack_node

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


def _saved_value(node, where):
    if isinstance(where, str):  # a number the forward kept, such as an exponent
        return getattr(node, where)
    if node._freed:
        node.check_saved()  # PyTorch's "saved tensors ... already been freed" error
    saved = node.saved if node._packed is None else unpack_node(node._packed)
    arr = saved[where] if where < len(saved) else None
    if arr is None:
        return None
    from ..tensor import _wrap
    return _wrap(arr)


def _install():
    for cls_name, names in SAVED.items():
        cls = getattr(ops_math, cls_name)
        for name, where in names:
            prop = property(lambda node, w=where: _saved_value(node, w))
            setattr(cls, f"_saved_{name}", prop)
            setattr(cls, f"_raw_saved_{name}", prop)


_install()
