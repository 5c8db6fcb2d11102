"""What the checkpoint format gained after its first version-2 release.

* ``memo`` / ``again``: a tensor or Parameter saved more than once in one call
  (``{"a": w, "b": w}``) is written once inside a ``memo`` node with an id; later
  occurrences are ``again`` nodes naming that id, and all of them load as one object.
* ``defaultdict`` (its default factory taken from a fixed table of builtins, never
  imported by name) and ``counter`` (``collections.Counter``).
* ``lazy``: an uninitialized parameter or buffer of a lazy module, which has no data yet.

Files using these node kinds are version "2" files. Besides, the ``_metadata`` attribute of
OrderedDicts (module state dicts carry the per-module versions that ``load_state_dict`` hands
to ``_load_from_state_dict``) is stored in its own ``__metadata__`` entry, not in the
structure, so a flat state_dict stays a version-1 file that older readers load (without it).

Like the rest of the format, none of these makes loading import or run code named by
the file: factories and placeholder classes come from the tables below.
"""
import collections
import math

from ._checkpoint_format import _FASTNN_DTYPES, _Bad, _is_int, _parse_json, _short

# the default factories a defaultdict may be saved with, by the name the file stores
_FACTORIES = {"list": list, "dict": dict, "set": set, "int": int, "float": float,
              "str": str, "tuple": tuple, "bool": bool, "OrderedDict": collections.OrderedDict}
_FACTORY_NAMES = {v: k for k, v in _FACTORIES.items()}
# the inner node kinds a memo may wrap: the tensors that can be saved more than once
_MEMO_INNER = frozenset({"tensor", "view", "lazy"})
_LAZY_CLASSES = ("parameter", "buffer")


# --- save ---

def dict_kind(obj, where):
    """The node kind of a dict `obj`; TypeError for a subclass that would not come back."""
    cls = type(obj)
    if cls is dict:
        return "dict"
    if cls is collections.OrderedDict:
        return "odict"
    if cls is collections.defaultdict:
        if obj.default_factory is not None and obj.default_factory not in _FACTORY_NAMES:
            raise TypeError(f"fastnn.save: cannot save the defaultdict at {where}: its "
                            f"default_factory {obj.default_factory!r} is not one of "
                            f"{', '.join(_FACTORIES)} or None")
        return "defaultdict"
    if cls is collections.Counter:
        return "counter"
    raise subclass_error(obj, "dict", where)


def check_sequence_type(obj, base, where):
    """TypeError unless `obj` is exactly a list, set or frozenset (`base`)."""
    if type(obj) is not base:
        raise subclass_error(obj, base.__name__, where)


def subclass_error(obj, base, where):
    cls = type(obj)
    return TypeError(f"fastnn.save: cannot save object of type '{cls.__module__}."
                     f"{cls.__qualname__}' (a subclass of {base}) at {where}: it would load "
                     f"back as a plain {base}; convert it with {base}(...) first")


def dict_extras(encoder, obj, kind, node):
    """Add the fields a later dict kind carries besides its items."""
    if kind == "defaultdict":
        node["factory"] = _FACTORY_NAMES.get(obj.default_factory)
    if kind in ("defaultdict", "counter"):
        encoder.v2 = True
    return node


_META_SCALARS = (str, int, float, bool, type(None))


def _plain_meta(value, nested=True):
    """A finite scalar, or (one level deep) a dict of str to such scalars: spectral_norm
    keeps ``{"spectral_norm": {"weight.version": 1}}`` beside a module's version."""
    if isinstance(value, dict):
        return nested and all(isinstance(f, str) and _plain_meta(v, False)
                              for f, v in value.items())
    return isinstance(value, _META_SCALARS) and not (
        isinstance(value, float) and not math.isfinite(value))


def odict_metadata(obj, where):
    """The ``_metadata`` of OrderedDict `obj` as JSON-ready pairs, or None when it has none.

    Module state dicts hold ``{prefix: {"version": int, ...}}`` here; anything that is not
    such plain data raises TypeError rather than being dropped or mangled."""
    meta = getattr(obj, "_metadata", None)
    if meta is None:
        return None
    pairs = []
    if isinstance(meta, dict):
        for key, fields in meta.items():
            if not isinstance(key, str) or not isinstance(fields, dict) or not all(
                    isinstance(f, str) and _plain_meta(v) for f, v in fields.items()):
                break
            pairs.append([str(key), {str(f): dict(v) if isinstance(v, dict) else v
                                     for f, v in fields.items()}])
        else:
            return pairs
    raise TypeError(f"fastnn.save: cannot save the _metadata of the OrderedDict at {where}: "
                    "it must map str prefixes to dicts of str, int, float, bool or None "
                    "(or of dicts of those)")


def parse_odict_metadata(text, odict_count):
    """Validate the ``fastnn.odict_metadata`` entry against the structure's odict count."""
    raw = _parse_json(text, "odict metadata")
    if not isinstance(raw, dict):
        raise _Bad("odict metadata is not a JSON object")
    out = {}
    for index, pairs in raw.items():
        if not (index.isascii() and index.isdigit() and len(index) < 19) or \
                int(index) >= odict_count:
            raise _Bad(f"odict metadata names no OrderedDict of the structure: {_short(index)}")
        if not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
                and isinstance(p[1], dict)
                and all(_plain_meta(v) for v in p[1].values()) for p in pairs):
            raise _Bad(f"odict metadata {_short(index)} is not a list of [str, object of "
                       "scalars] pairs")
        out[int(index)] = pairs
    return out


def lazy_node(obj, param):
    """The node of an uninitialized (lazy) parameter or buffer: no data, just its kind."""
    name = obj.dtype.name if hasattr(obj.dtype, "name") else str(obj.dtype).split(".")[-1]
    return {"k": "lazy", "cls": "parameter" if param else "buffer", "dtype": name,
            "requires_grad": bool(obj.requires_grad)}


class Identity:
    """Tracks the objects met while saving, so one saved twice loads as one object."""

    def __init__(self):
        self.seen = {}  # id(obj) -> [obj (kept alive so the id stays unique), node, memo id]
        self.next_id = 0

    def again(self, obj):
        """The node for a repeat of `obj`, or None when it is met for the first time."""
        hit = self.seen.get(id(obj))
        if hit is None:
            return None
        if hit[2] is None:
            hit[2] = self.next_id
            self.next_id += 1
        return {"k": "again", "id": hit[2]}

    def first(self, obj, node):
        self.seen[id(obj)] = [obj, node, None]

    def wrap(self):
        """Turn the first node of every repeated object into its memo; True if any was."""
        for _, node, memo_id in self.seen.values():
            if memo_id is not None:
                inner = dict(node)
                node.clear()
                node.update(k="memo", id=memo_id, node=inner)
        return self.next_id > 0


# --- load ---

def build_added(builder, node, kind, depth):
    """Build a node of a later kind (already checked to have exactly its fields)."""
    if kind == "lazy":
        return _lazy(builder, node)
    if kind == "memo":
        memo_id, inner = node["id"], node["node"]
        if not _is_int(memo_id) or memo_id in builder.memo:
            raise _Bad(f"structure memo node has a bad or repeated id {_short(memo_id)}")
        if not isinstance(inner, dict) or inner.get("k") not in _MEMO_INNER:
            raise _Bad(f"structure memo node wraps {_short(inner)}, not a tensor")
        value = builder.memo[memo_id] = builder.build(inner, depth + 1)
        return value
    if kind == "again":
        memo_id = node["id"]
        if not _is_int(memo_id) or memo_id not in builder.memo:
            raise _Bad(f"structure again node names an undefined id {_short(memo_id)}")
        return builder.memo[memo_id]
    items = node["items"]
    if not isinstance(items, list):
        raise _Bad(f"structure {kind} node items is not a list")
    if kind == "defaultdict":
        name = node["factory"]
        if name is not None and (not isinstance(name, str) or name not in _FACTORIES):
            raise _Bad(f"structure defaultdict has an unknown default_factory {_short(name)}")
        return builder.fill_dict(collections.defaultdict(_FACTORIES.get(name)), items, depth)
    return builder.fill_dict(collections.Counter(), items, depth)  # counter


def _lazy(builder, node):
    cls, dtype, rg = node["cls"], node["dtype"], node["requires_grad"]
    if cls not in _LAZY_CLASSES or not isinstance(dtype, str) or dtype not in _FASTNN_DTYPES \
            or not isinstance(rg, bool):
        raise _Bad(f"structure has a bad lazy tensor node {_short(node)}")
    if builder.make is None:
        return None
    from fastnn import _dtype
    from fastnn.nn.parameter import UninitializedBuffer, UninitializedParameter
    make = UninitializedParameter if cls == "parameter" else UninitializedBuffer
    return make(requires_grad=rg, dtype=_dtype.to_dtype(dtype))
