"""The checkpoint format's constants and the checks every loaded header passes.

``fastnn.serialization`` writes and reads the files; this module holds what both share and
the validation of untrusted input: the header, the structure it describes and the grad
metadata, each refused with ``_Bad`` (which ``load`` turns into ``ValueError`` naming the
file). Nothing here imports code-execution helpers: loading never unpickles, and no class
is ever looked up by a name taken from the file (namedtuples come back only through the
caller's own allow-list).

Format versions: "1" files hold only the original node kinds; files that use any node added
later (views, numpy scalars, bytes, complex, slice, dtype, device, namedtuple, complex
arrays) are written as "2", so an older reader refuses them by version instead of by a
puzzling unknown node. The kinds of ``_checkpoint_additions`` (a tensor saved twice,
defaultdict, Counter, lazy placeholders) came later and are version 2 too: a reader from
before them refuses such a file as holding an unknown node. Both versions load here.
"""
import collections
import json
import math
import re

import numpy as np

_FORMAT_KEY = "fastnn.format"
_STRUCTURE_KEY = "fastnn.structure"
_GRAD_KEY = "fastnn.grad"   # {tensor name: {"parameter": bool, "requires_grad": bool}}
_GRAD_FIELDS = {"parameter", "requires_grad"}
# {str(index of an "odict" node, counted in build order): [[key, {field: scalar}], ...]}: the
# ``_metadata`` of module state dicts, apart from the structure so version-1 files keep it
_ODICT_META_KEY = "fastnn.odict_metadata"
_FORMAT_VERSION = "1"        # what a file using only the original node kinds is written as
_FORMAT_VERSION_2 = "2"      # what a file using any newer node kind is written as
_FORMAT_VERSIONS = (_FORMAT_VERSION, _FORMAT_VERSION_2)

_MAX_HEADER = 100_000_000    # the same cap the safetensors reader enforces
_MAX_DEPTH = 100             # logical nesting; real checkpoints use well under 10
_MAX_NDIM = 64               # numpy's own limit
_MAX_BYTES = 2 ** 62         # bigger than any real file; keeps numpy's size math in range

# listed in the safetensors writer's dtype order, which also orders the file's tensors
_DTYPES = {
    "BOOL": np.dtype("bool"), "U8": np.dtype("u1"), "I8": np.dtype("i1"), "I16": np.dtype("<i2"),
    "U16": np.dtype("<u2"), "F16": np.dtype("<f2"), "I32": np.dtype("<i4"),
    "U32": np.dtype("<u4"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"),
    "I64": np.dtype("<i8"), "U64": np.dtype("<u8"),
}
_CODES = {dt: code for code, dt in _DTYPES.items()}
_RANK = {code: i for i, code in enumerate(_DTYPES)}
# the dtypes a fastnn tensor can have (every one the format names); a file holding one of
# the wide unsigned ones is written as version 2, since version-1 readers refuse them
_V1_TENSOR_CODES = frozenset({"BOOL", "U8", "I8", "I16", "F16", "I32", "F32", "F64", "I64"})
_TENSOR_CODES = _V1_TENSOR_CODES | {"U16", "U32", "U64"}
# complex numpy arrays are stored as their real and imaginary parts along a last axis of 2
_COMPLEX_OF = {"F32": np.dtype("<c8"), "F64": np.dtype("<c16")}
_REAL_OF = {np.dtype("<c8"): "F32", np.dtype("<c16"): "F64"}
# numpy scalar and numpy dtype names the structure may carry (a fixed table, never imported)
_NP_NAMES = {n: np.dtype(n) for n in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128")}

_TENSOR_FIELDS = {"dtype", "shape", "data_offsets"}
_NODE_FIELDS = {"tensor": {"k", "name"}, "array": {"k", "name"}, "tuple": {"k", "items"},
                "dict": {"k", "items"}, "odict": {"k", "items"}, "float": {"k", "v"},
                "size": {"k", "items"}, "set": {"k", "items"}, "frozenset": {"k", "items"},
                # version 2
                "view": {"k", "name", "offset", "shape", "stride", "grad"},
                "carray": {"k", "name"}, "npscalar": {"k", "dtype", "v"},
                "npdtype": {"k", "v"}, "dtype": {"k", "v"}, "device": {"k", "v"},
                "complex": {"k", "v"}, "bytes": {"k", "name"}, "bytearray": {"k", "name"},
                "slice": {"k", "items"}, "namedtuple": {"k", "name", "fields", "items"},
                # version 2, added later (built by _checkpoint_additions)
                "memo": {"k", "id", "node"}, "again": {"k", "id"},
                "defaultdict": {"k", "factory", "items"}, "counter": {"k", "items"},
                "lazy": {"k", "cls", "dtype", "requires_grad"}}
_ADDED_KINDS = frozenset({"memo", "again", "defaultdict", "counter", "lazy"})
# node kinds that hold no child nodes and are rebuilt by the _Builder method of their name
_LEAVES = frozenset({"tensor", "array", "carray", "bytes", "bytearray", "view", "npscalar",
                     "complex", "npdtype", "dtype", "device"})
_V1_KINDS = frozenset({"tensor", "array", "tuple", "dict", "odict", "float", "size", "set",
                       "frozenset"})
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_DEVICE_RE = re.compile(r"(cpu|cuda(:[0-9]+)?)\Z")
# fastnn's dtype names (fastnn._dtype's own table holds the objects)
_FASTNN_DTYPES = frozenset({"float32", "float64", "float16", "int64", "int32", "int16", "int8",
                            "uint8", "bool"})


class _Bad(Exception):
    """A validation failure; load() turns it into ValueError naming the file."""


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise _Bad(f"duplicate JSON key {k!r}")
        d[k] = v
    return d


def _reject_constant(name):
    raise _Bad(f"non-standard JSON constant {name}")


def _parse_json(text, what):
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)
    except RecursionError:
        raise _Bad(f"{what} JSON is nested too deeply") from None
    except ValueError as e:  # json.JSONDecodeError, oversize int literals
        raise _Bad(f"{what} is not valid JSON ({e})") from None


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _parse_header(raw, data_len):
    """Validate the header; return (metadata, [(name, dtype, shape, begin, end)] in header order)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _Bad(f"header is not UTF-8 ({e})") from None
    header = _parse_json(text, "header")
    if not isinstance(header, dict):
        raise _Bad("header is not a JSON object")
    meta = header.pop("__metadata__", None)
    meta = {} if meta is None else meta
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _Bad("__metadata__ is not an object of strings")
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != _TENSOR_FIELDS:
            raise _Bad(f"tensor {_short(name)}: entry must have exactly the fields "
                       "dtype, shape, data_offsets")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _DTYPES:
            raise _Bad(f"tensor {_short(name)}: unsupported dtype {code!r}")
        dt = _DTYPES[code]
        if (not isinstance(shape, list) or len(shape) > _MAX_NDIM
                or not all(_is_int(d) and d >= 0 for d in shape)):
            raise _Bad(f"tensor {_short(name)}: shape must be a list of at most {_MAX_NDIM} "
                       "non-negative ints")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_int(o) for o in offsets)):
            raise _Bad(f"tensor {_short(name)}: data_offsets must be two ints")
        begin, end = offsets
        if not 0 <= begin <= end <= data_len:
            raise _Bad(f"tensor {_short(name)}: data_offsets {_short(offsets)} outside the "
                       f"{data_len}-byte data section")
        # Python ints never overflow; the extent bound also rules out huge zero-size
        # shapes that numpy itself could not describe
        nbytes, extent = dt.itemsize, dt.itemsize
        for d in shape:
            nbytes *= d
            extent *= max(d, 1)
            if extent > _MAX_BYTES:
                raise _Bad(f"tensor {_short(name)}: shape {_short(shape)} is impossibly large")
        if nbytes != end - begin:
            raise _Bad(f"tensor {_short(name)}: shape {_short(shape)} of {code} needs "
                       f"{nbytes} bytes but data_offsets span {end - begin}")
        entries.append((name, dt, tuple(shape), begin, end))
    pos = 0
    for name, _, _, begin, end in _by_offset(entries):
        if begin != pos:
            raise _Bad(f"tensor {_short(name)}: data_offsets start at {begin}, expected {pos} "
                       "(tensors must be contiguous and must not overlap)")
        pos = end
    if pos != data_len:
        raise _Bad(f"tensors cover {pos} bytes but the data section holds {data_len}")
    return meta, entries


def _by_offset(entries):
    return sorted(entries, key=lambda e: (e[3], e[4]))


class _Builder:
    """Rebuilds a structure tree from validated nodes.

    `entries` maps each stored name to its (dtype code, shape). `make` turns validated
    references (tensors, arrays, views, bytes, dtypes, devices, namedtuples) into objects;
    without it the builder is the dry run that checks the whole tree and returns
    placeholders. `used` collects the stored names the tree references.
    """

    def __init__(self, entries, make=None):
        self.entries = entries
        self.make = make
        self.used = set()
        self.memo = {}  # "memo" node id -> the object every "again" node with that id shares
        self.odicts = 0  # "odict" nodes met so far
        self.odict_meta = {}  # odict index -> its validated _metadata pairs

    def build(self, node, depth=0):
        if depth > _MAX_DEPTH:
            raise _Bad(f"structure nested deeper than {_MAX_DEPTH}")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.build(x, depth + 1) for x in node]
        kind = node.get("k")  # a dict, since JSON gives nothing else
        if not isinstance(kind, str) or kind not in _NODE_FIELDS or set(node) != _NODE_FIELDS[kind]:
            raise _Bad(f"structure has an unknown node {_short(node)}")
        if kind in _LEAVES:
            return getattr(self, "_" + kind)(node)
        if kind in _ADDED_KINDS:
            from ._checkpoint_additions import build_added
            return build_added(self, node, kind, depth)
        if kind == "float":
            v = node["v"]
            if not isinstance(v, str) or v not in _SPECIAL_FLOATS:
                raise _Bad(f"structure has a bad float node {_short(node)}")
            return _SPECIAL_FLOATS[v]
        items = node["items"]
        if not isinstance(items, list):
            raise _Bad(f"structure {kind} node items is not a list")
        if kind == "tuple":
            return tuple(self.build(x, depth + 1) for x in items)
        if kind in ("set", "frozenset"):
            try:
                return (set if kind == "set" else frozenset)(
                    self.build(x, depth + 1) for x in items)
            except TypeError:
                raise _Bad(f"structure {kind} node holds an unhashable item") from None
        if kind == "size":
            if not all(_is_int(x) and x >= 0 for x in items):
                raise _Bad(f"structure size node {_short(items)} is not a list of non-negative "
                           "ints")
            return _size(items)
        if kind == "slice":
            if len(items) != 3:
                raise _Bad("structure slice node must hold start, stop and step")
            return slice(*(self.build(x, depth + 1) for x in items))
        if kind == "namedtuple":
            return self._namedtuple(node, items, depth)
        if kind == "dict":
            return self.fill_dict({}, items, depth)
        index = self.odicts  # counted before the items, as the writer numbered them
        self.odicts += 1
        out = self.fill_dict(collections.OrderedDict(), items, depth)
        if index in self.odict_meta:
            out._metadata = collections.OrderedDict(
                (k, dict(v)) for k, v in self.odict_meta[index])
        return out

    def fill_dict(self, out, items, depth):
        """Put a dict node's validated [key, value] pairs into `out`, an empty dict."""
        for pair in items:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Bad("structure dict item is not a [key, value] pair")
            k = pair[0]
            if not (isinstance(k, str) or _is_int(k)):
                raise _Bad(f"structure dict key {_short(k)} is not a str or int")
            if k in out:
                raise _Bad(f"structure dict repeats key {_short(k)}")
            out[k] = self.build(pair[1], depth + 1)
        return out

    # --- leaves that reference stored data ---

    def _ref(self, node, allowed=None, what=""):
        name = node["name"]
        if not isinstance(name, str) or name not in self.entries:
            raise _Bad(f"structure references missing tensor {_short(name)}")
        code, shape = self.entries[name]
        if allowed is not None and code not in allowed:
            raise _Bad(f"tensor {_short(name)}: dtype {code} cannot be loaded as {what}")
        self.used.add(name)
        return name, code, shape

    def _tensor(self, node):
        name, _, _ = self._ref(node, _TENSOR_CODES, "a tensor")
        return None if self.make is None else self.make.tensor(name)

    def _array(self, node):
        name, _, _ = self._ref(node)
        return None if self.make is None else self.make.array(name)

    def _carray(self, node):
        name, _, shape = self._ref(node, _COMPLEX_OF, "a complex array")
        if not shape or shape[-1] != 2:
            raise _Bad(f"tensor {_short(name)}: a complex array's last axis must be 2 long")
        return None if self.make is None else self.make.carray(name)

    def _bytes(self, node, mutable=False):
        name, _, shape = self._ref(node, ("U8",), "bytes")
        if len(shape) != 1:
            raise _Bad(f"tensor {_short(name)}: bytes must be stored 1-dimensional")
        return None if self.make is None else self.make.bytes(name, mutable)

    def _bytearray(self, node):
        return self._bytes(node, True)

    def _view(self, node):
        name, code, base_shape = self._ref(node, _TENSOR_CODES, "a tensor")
        offset, shape, stride, grad = node["offset"], node["shape"], node["stride"], node["grad"]
        if (not isinstance(shape, list) or len(shape) > _MAX_NDIM
                or not all(_is_int(d) and d >= 0 for d in shape)):
            raise _Bad(f"view of {_short(name)}: shape must be a list of at most {_MAX_NDIM} "
                       "non-negative ints")
        if (not isinstance(stride, list) or len(stride) != len(shape)
                or not all(_is_int(s) and 0 <= s <= _MAX_BYTES for s in stride)):
            raise _Bad(f"view of {_short(name)}: stride must be a list of non-negative ints, "
                       "one per dimension")
        numel = 1
        for d in base_shape:
            numel *= d
        extent = _DTYPES[code].itemsize
        for d in shape:
            extent *= max(d, 1)
            if extent > _MAX_BYTES:
                raise _Bad(f"view of {_short(name)}: shape {_short(shape)} is impossibly large")
        if not _is_int(offset) or offset < 0:
            raise _Bad(f"view of {_short(name)}: offset must be a non-negative int")
        empty = 0 in shape
        last = offset + sum((d - 1) * s for d, s in zip(shape, stride)) if not empty else offset
        if last > numel or (last == numel and not empty):
            raise _Bad(f"view of {_short(name)}: elements up to {last} lie outside its "
                       f"{numel} stored elements")
        if grad is not None:
            _check_flags(grad, name, code)
        if self.make is None:
            return None
        return self.make.view(name, offset, tuple(shape), tuple(stride), grad)

    # --- leaves held in the structure itself ---

    def _npscalar(self, node):
        name, v = node["dtype"], node["v"]
        if not isinstance(name, str) or name not in _NP_NAMES:
            raise _Bad(f"structure numpy scalar has an unknown dtype {_short(name)}")
        dt = _NP_NAMES[name]
        if dt.kind == "b":
            if not isinstance(v, bool):
                raise _Bad(f"structure numpy {name} scalar {_short(v)} is not a bool")
            return dt.type(v)
        if dt.kind in "iu":
            info = np.iinfo(dt)
            if not _is_int(v) or not info.min <= v <= info.max:
                raise _Bad(f"structure numpy {name} scalar {_short(v)} is not an int in range")
            return dt.type(v)
        if dt.kind == "f":
            return _np_float(dt, _number(v, name))
        if not isinstance(v, list) or len(v) != 2:
            raise _Bad(f"structure numpy {name} scalar {_short(v)} is not a [real, imag] pair")
        part = np.dtype(dt.char.lower())  # the matching real dtype
        re_, im = (_np_float(part, _number(x, name)) for x in v)
        return dt.type(complex(re_, im))

    def _complex(self, node):
        v = node["v"]
        if not isinstance(v, list) or len(v) != 2:
            raise _Bad(f"structure complex node {_short(v)} is not a [real, imag] pair")
        return complex(_number(v[0], "complex"), _number(v[1], "complex"))

    def _npdtype(self, node):
        v = node["v"]
        if not isinstance(v, str) or v not in _NP_NAMES:
            raise _Bad(f"structure has an unknown numpy dtype {_short(v)}")
        return _NP_NAMES[v]

    def _dtype(self, node):
        v = node["v"]
        if not isinstance(v, str) or v not in _FASTNN_DTYPES:
            raise _Bad(f"structure has an unknown dtype {_short(v)}")
        return None if self.make is None else self.make.dtype(v)

    def _device(self, node):
        v = node["v"]
        if not isinstance(v, str) or not _DEVICE_RE.match(v):
            raise _Bad(f"structure has an unsupported device {_short(v)}")
        return None if self.make is None else self.make.device(v)

    def _namedtuple(self, node, items, depth):
        name, fields = node["name"], node["fields"]
        if not isinstance(name, str) or not isinstance(fields, list) or \
                not all(isinstance(f, str) for f in fields) or len(fields) != len(items):
            raise _Bad("structure namedtuple node needs a str name and one str field per item")
        values = tuple(self.build(x, depth + 1) for x in items)
        return values if self.make is None else self.make.namedtuple(name, tuple(fields), values)


def _number(v, what):
    """A float from a JSON number or one of the special-value tokens."""
    if isinstance(v, str) and v in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[v]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _Bad(f"structure {what} value {_short(v)} is not a number")
    try:
        return float(v)
    except OverflowError:
        raise _Bad(f"structure {what} value {_short(v)} is out of range") from None


def _np_float(dt, x):
    with np.errstate(over="ignore"):
        out = dt.type(x)
    if math.isfinite(x) and not np.isfinite(out):
        raise _Bad(f"structure numpy {dt.name} value {_short(x)} is out of range")
    return out


def _float_token(x):
    """The JSON form of a float: itself when finite, else one of the special tokens."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _check_flags(f, name, code):
    if (not isinstance(f, dict) or set(f) != _GRAD_FIELDS
            or not all(isinstance(v, bool) for v in f.values())):
        raise _Bad(f"grad metadata for {_short(name)} must have exactly the bool fields "
                   "parameter, requires_grad")
    if f["requires_grad"] and _DTYPES[code].kind != "f":
        raise _Bad(f"tensor {_short(name)}: only floating point tensors can require grad")


def _size(items):
    try:
        from fastnn._dtype import Size
    except ImportError:  # the numpy-only path needs no fastnn types
        return tuple(items)
    return Size(items)


def _grad_meta(meta, entries):
    """The validated {tensor name: flags} of Parameters and tensors that required grad."""
    flags = _parse_json(meta[_GRAD_KEY], "grad metadata")
    codes = {e[0]: _CODES[e[1]] for e in entries}
    if not isinstance(flags, dict):
        raise _Bad("grad metadata is not a JSON object")
    for name, f in flags.items():
        if name not in codes:
            _check_flags(f, name, "F32")
            raise _Bad(f"grad metadata names missing tensor {_short(name)}")
        _check_flags(f, name, codes[name])
    return flags


def _foreign(head, fobj):
    """Why a file with an impossible header length is some other known format, or None."""
    if head[:4] == b"PK\x03\x04":
        # the first member's name: torch.save writes "<name>/data.pkl", numpy.savez "*.npy"
        rest = fobj.read(256)
        first = rest[22:22 + int.from_bytes(rest[18:20], "little")] if len(rest) >= 22 else b""
        if first.endswith(b".npy"):
            return ("this is a numpy .npz archive, which fastnn.load does not read: load it with "
                    "numpy.load and wrap the arrays with fastnn.from_numpy")
        kind = "PyTorch checkpoint (torch.save's zip format)" if first.endswith(b".pkl") \
            else "zip archive, probably a PyTorch checkpoint (torch.save's format)"
    elif head[0] == 0x80 and 2 <= head[1] <= 5:
        kind = "pickle, probably a PyTorch checkpoint (torch.save's legacy format)"
    else:
        return None
    return (f"this is a {kind}; fastnn does not load those, since unpickling can run arbitrary "
            "code. Export the tensors from PyTorch instead, e.g. with "
            "safetensors.torch.save_file(model.state_dict(), 'model.safetensors'), which "
            "fastnn.load reads, or with numpy.savez")


def _short(x, limit=60):
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."
