"""The checkpoint format's constants and the checks every loaded header passes.

``fastnn.serialization`` writes and reads the files; this module holds what both share and
the validation of untrusted input: the header, the structure it describes and the grad
metadata, each refused with ``_Bad`` (which ``load`` turns into ``ValueError`` naming the
file). Nothing here imports code-execution helpers: loading never unpickles.
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
_FORMAT_VERSION = "1"

_MAX_HEADER = 100_000_000    # the same cap the safetensors reader enforces
_MAX_DEPTH = 100             # logical nesting; real checkpoints use well under 10
_MAX_NDIM = 64               # numpy's own limit
_MAX_BYTES = 2 ** 62         # bigger than any real file; keeps numpy's size math in range

# listed in the safetensors writer's dtype order, which also orders the file's tensors
_DTYPES = {
    "BOOL": np.dtype("bool"), "U8": np.dtype("u1"), "I8": np.dtype("i1"), "I16": np.dtype("<i2"),
    "F16": np.dtype("<f2"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"), "I64": np.dtype("<i8"),
}
_CODES = {dt: code for code, dt in _DTYPES.items()}
_RANK = {code: i for i, code in enumerate(_DTYPES)}

_TENSOR_FIELDS = {"dtype", "shape", "data_offsets"}
_NODE_FIELDS = {"tensor": {"k", "name"}, "array": {"k", "name"}, "tuple": {"k", "items"},
                "dict": {"k", "items"}, "odict": {"k", "items"}, "float": {"k", "v"},
                "size": {"k", "items"}, "set": {"k", "items"}, "frozenset": {"k", "items"}}
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_DEVICE_RE = re.compile(r"(cpu|cuda(:[0-9]+)?)\Z")


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


def _build(node, tensors, used, depth=0):
    """Rebuild one structure node; `tensors` maps stored names to values, `used` collects
    the names referenced."""
    if depth > _MAX_DEPTH:
        raise _Bad(f"structure nested deeper than {_MAX_DEPTH}")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_build(x, tensors, used, depth + 1) for x in node]
    kind = node.get("k")  # a dict, since JSON gives nothing else
    if not isinstance(kind, str) or kind not in _NODE_FIELDS or set(node) != _NODE_FIELDS[kind]:
        raise _Bad(f"structure has an unknown node {_short(node)}")
    if kind in ("tensor", "array"):
        name = node["name"]
        if not isinstance(name, str) or name not in tensors:
            raise _Bad(f"structure references missing tensor {_short(name)}")
        used.add(name)
        return tensors[name] if kind == "tensor" else _as_ndarray(tensors[name])
    if kind == "float":
        v = node["v"]
        if not isinstance(v, str) or v not in _SPECIAL_FLOATS:
            raise _Bad(f"structure has a bad float node {_short(node)}")
        return _SPECIAL_FLOATS[v]
    items = node["items"]
    if not isinstance(items, list):
        raise _Bad(f"structure {kind} node items is not a list")
    if kind == "tuple":
        return tuple(_build(x, tensors, used, depth + 1) for x in items)
    if kind in ("set", "frozenset"):
        try:
            return (set if kind == "set" else frozenset)(
                _build(x, tensors, used, depth + 1) for x in items)
        except TypeError:
            raise _Bad(f"structure {kind} node holds an unhashable item") from None
    if kind == "size":
        if not all(_is_int(x) and x >= 0 for x in items):
            raise _Bad(f"structure size node {_short(items)} is not a list of non-negative ints")
        return _size(items)
    out = collections.OrderedDict() if kind == "odict" else {}
    for pair in items:
        if not isinstance(pair, list) or len(pair) != 2:
            raise _Bad("structure dict item is not a [key, value] pair")
        k = pair[0]
        if not (isinstance(k, str) or _is_int(k)):
            raise _Bad(f"structure dict key {_short(k)} is not a str or int")
        if k in out:
            raise _Bad(f"structure dict repeats key {_short(k)}")
        out[k] = _build(pair[1], tensors, used, depth + 1)
    return out


def _as_ndarray(v):
    """A saved numpy array as numpy again, wherever map_location put its tensor."""
    if v is None or isinstance(v, np.ndarray):
        return v
    v = v.detach()
    return (v.cpu() if hasattr(v, "cpu") else v).numpy()


def _size(items):
    try:
        from fastnn._dtype import Size
    except ImportError:  # the numpy-only path needs no fastnn types
        return tuple(items)
    return Size(items)


def _grad_meta(meta, entries):
    """The validated {tensor name: flags} of Parameters and tensors that required grad."""
    flags = _parse_json(meta[_GRAD_KEY], "grad metadata")
    kinds = {e[0]: e[1].kind for e in entries}
    if not isinstance(flags, dict):
        raise _Bad("grad metadata is not a JSON object")
    for name, f in flags.items():
        if (not isinstance(f, dict) or set(f) != _GRAD_FIELDS
                or not all(isinstance(v, bool) for v in f.values())):
            raise _Bad(f"grad metadata for {_short(name)} must have exactly the bool fields "
                       "parameter, requires_grad")
        if name not in kinds:
            raise _Bad(f"grad metadata names missing tensor {_short(name)}")
        if f["requires_grad"] and kinds[name] != "f":
            raise _Bad(f"tensor {_short(name)}: only floating point tensors can require grad")
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
