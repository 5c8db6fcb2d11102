"""Nested Python containers (tuples, lists, dicts, namedtuples) flattened to their leaves.

Just enough of a pytree for fastnn.func: flatten, unflatten, map, and broadcasting a prefix
tree (vmap's ``in_dims``/``out_dims``) over a structure. TreeSpec prints as PyTorch's does, so
structure-mismatch messages read the same.
"""
from collections import OrderedDict


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _children(node):
    """(type, context, children) of a container node, or None for a leaf."""
    if _is_namedtuple(node):
        return type(node), type(node), list(node)
    if type(node) in (tuple, list):
        return type(node), None, list(node)
    if type(node) in (dict, OrderedDict):
        keys = list(node.keys())
        return type(node), keys, [node[k] for k in keys]
    return None


class TreeSpec:
    """The shape of a container tree; a leaf spec has ``type`` None."""
    __slots__ = ("type", "context", "children")

    def __init__(self, type_=None, context=None, children=()):
        self.type, self.context, self.children = type_, context, list(children)

    def is_leaf(self):
        return self.type is None

    @property
    def num_leaves(self):
        return 1 if self.is_leaf() else sum(c.num_leaves for c in self.children)

    def __eq__(self, other):
        return (isinstance(other, TreeSpec) and self.type is other.type and
                self.context == other.context and self.children == other.children)

    def __hash__(self):
        return hash((self.type, len(self.children)))

    def __repr__(self, indent=0):
        if self.is_leaf():
            return "*"
        indent += 2
        kids = (",\n" + " " * indent).join(c.__repr__(indent) for c in self.children)
        return f"TreeSpec({self.type.__name__}, {self.context}, [{kids}])"


def tree_flatten(tree):
    """(list of leaves, TreeSpec)."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(node, leaves):
    parts = _children(node)
    if parts is None:
        leaves.append(node)
        return TreeSpec()
    type_, context, kids = parts
    return TreeSpec(type_, context, [_flatten(k, leaves) for k in kids])


def tree_unflatten(leaves, spec):
    it = iter(leaves)
    return _build(spec, it)


def _build(spec, it):
    if spec.is_leaf():
        return next(it)
    kids = [_build(c, it) for c in spec.children]
    if spec.type in (dict, OrderedDict):
        return spec.type(zip(spec.context, kids))
    if spec.type is not tuple and issubclass(spec.type, tuple):  # namedtuple
        return spec.type(*kids)
    return spec.type(kids)


def tree_map(fn, tree):
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def broadcast_to_and_flatten(prefix, spec):
    """The prefix tree's leaves repeated over ``spec``'s leaves below them, or None when
    the prefix's structure does not match ``spec``."""
    out = []
    return out if _broadcast(prefix, spec, out) else None


def _broadcast(prefix, spec, out):
    parts = _children(prefix)
    if parts is None:
        out.extend([prefix] * spec.num_leaves)
        return True
    type_, context, kids = parts
    if spec.is_leaf() or len(kids) != len(spec.children):
        return False
    if (type_ in (dict, OrderedDict)) != (spec.type in (dict, OrderedDict)):
        return False
    if context is not None and spec.type in (dict, OrderedDict):
        if set(context) != set(spec.context):
            return False
        kids = [prefix[k] for k in spec.context]
    elif not isinstance(prefix, (tuple, list)) or \
            (isinstance(prefix, tuple) != issubclass(spec.type, tuple)):
        return False
    return all(_broadcast(k, c, out) for k, c in zip(kids, spec.children))


def treespec_pprint(spec):
    """A spec written like the value it describes, leaves as ``*``: ``(*, [*, *])``."""
    if spec.is_leaf():
        return "*"
    kids = [treespec_pprint(c) for c in spec.children]
    if spec.type in (dict, OrderedDict):
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(spec.context, kids)) + "}"
    if spec.type is list:
        return "[" + ", ".join(kids) + "]"
    if spec.type is tuple:
        return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"
    return f"{spec.type.__name__}(" + ", ".join(kids) + ")"
