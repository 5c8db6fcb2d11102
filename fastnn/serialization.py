"""Checkpoint files behind ``fastnn.save`` and ``fastnn.load``.

Every checkpoint is a valid safetensors file:

    8 bytes   little-endian u64 N, the header length
    N bytes   UTF-8 JSON header, padded with spaces to a multiple of 8:
              {"__metadata__": {str: str},
               name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
    rest      the tensors' raw little-endian C-order bytes, back to back

so a flat ``{str: tensor}`` state_dict written here opens with the safetensors
package under its own key names, and a plain safetensors file loads here as a
dict of tensors.  Anything richer (optimizer state with int keys, lists,
tuples, scalars, strings, None) rides along as a JSON "structure" string in
``__metadata__``; tensors inside it are stored under names derived from their
key path and referenced by name.

Checkpoints travel between people, so loading treats the file as hostile: no
pickle, nothing executed, and every header field is checked against the real
file size before a single tensor byte is allocated.  Any malformed input ends
in ``ValueError`` naming the file.
"""

import collections
import io
import json
import math
import os
import re
import tempfile

import numpy as np

__all__ = ["save", "load"]


# --- the bridge to fastnn.tensor, kept tiny so it can track that class ---

def _to_array(obj):
    """The ndarray behind a tensor (or ndarray) `obj`; None when `obj` is not one."""
    if isinstance(obj, np.ndarray):
        return obj
    try:
        from fastnn.tensor import Tensor
    except ImportError:  # the Tensor class may not be importable in a partial build
        return None
    if not isinstance(obj, Tensor):
        return None
    t = obj.detach()
    if getattr(t, "is_cuda", False):
        t = t.cpu()
    return t.numpy()


def _from_array(arr):
    """Wrap a freshly read ndarray (which nobody else references) as a Tensor."""
    try:
        from fastnn.tensor import tensor_from_numpy
    except ImportError:  # until the tensor module grows it, the memory-sharing public path
        from fastnn._creation import from_numpy as tensor_from_numpy
    return tensor_from_numpy(arr)


def _move(tensor, device):
    """Place a freshly loaded CPU tensor on `device` (a validated device string).

    This is the single hook for non-CPU map_location targets; it defers to
    ``Tensor.to`` so the device logic lives in one place.
    """
    if device == "cpu":
        return tensor
    to = getattr(tensor, "to", None)
    if to is None:
        raise RuntimeError(f"fastnn.load: cannot move a {type(tensor).__name__} to {device!r}")
    return to(device)


# --- format constants ---

_FORMAT_KEY = "fastnn.format"
_STRUCTURE_KEY = "fastnn.structure"
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
_NODE_FIELDS = {"tensor": {"k", "name"}, "tuple": {"k", "items"}, "dict": {"k", "items"},
                "odict": {"k", "items"}, "float": {"k", "v"}}
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_DEVICE_RE = re.compile(r"(cpu|cuda(:[0-9]+)?)\Z")


def _is_path(f):
    return isinstance(f, (str, bytes, os.PathLike))


# --- save ---

def _key_path(path):
    return "key path " + "".join(f"[{k!r}]" for k in path) if path else "the top level"


def _check_str(s, path, what):
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"fastnn.save: {what} at {_key_path(path)} is not valid "
                         "UTF-8 (unpaired surrogate)") from None


class _Encoder:
    """Turns a Python object into (structure JSON, {name: contiguous LE ndarray})."""

    def __init__(self):
        self.tensors = {}
        self._active = set()  # ids of containers on the current path, to catch cycles

    def _name(self, path):
        # names follow the key path so safetensors users see "model.fc.weight"
        base = ".".join(str(k) for k in path) or "tensor"
        name, n = base, 0
        while name in self.tensors or name == "__metadata__":
            n += 1
            name = f"{base}~{n}"
        return name

    def encode(self, obj, path=(), depth=0):
        if depth > _MAX_DEPTH:
            raise ValueError(f"fastnn.save: nesting deeper than {_MAX_DEPTH} at {_key_path(path)}")
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, (np.bool_, np.integer, np.floating)) and \
                isinstance(obj.item(), (bool, int, float)):
            # numpy scalars (an optimizer's step count, say) save as plain numbers
            return self.encode(obj.item(), path, depth)
        if isinstance(obj, int):
            try:
                str(obj)  # JSON needs the decimal form, which Python caps in length
            except ValueError:
                raise ValueError(f"fastnn.save: int at {_key_path(path)} has too many "
                                 "digits to store") from None
            return int(obj)
        if isinstance(obj, float):
            if math.isfinite(obj):
                return float(obj)
            return {"k": "float", "v": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
        if isinstance(obj, str):
            _check_str(obj, path, "string")
            return str(obj)
        arr = _to_array(obj)
        if arr is not None:
            return self._tensor(arr, path)
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._active:
                raise ValueError(f"fastnn.save: container at {_key_path(path)} contains itself")
            self._active.add(id(obj))
            try:
                return self._container(obj, path, depth)
            finally:
                self._active.discard(id(obj))
        raise TypeError(f"fastnn.save: cannot save object of type '{type(obj).__name__}' "
                        f"at {_key_path(path)}")

    def _container(self, obj, path, depth):
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(f"fastnn.save: cannot save dict key {k!r} of type "
                                    f"'{type(k).__name__}' at {_key_path(path)} "
                                    "(keys must be str or int)")
                if isinstance(k, str):
                    _check_str(k, path, "dict key")
                    k = str(k)
                else:
                    k = int(k)
                items.append([k, self.encode(v, path + (k,), depth + 1)])
            kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
            return {"k": kind, "items": items}
        items = [self.encode(v, path + (i,), depth + 1) for i, v in enumerate(obj)]
        return {"k": "tuple", "items": items} if isinstance(obj, tuple) else items

    def _tensor(self, arr, path):
        dt = arr.dtype.newbyteorder("<") if arr.dtype.kind in "biuf" else arr.dtype
        code = _CODES.get(dt)
        if code is None:
            raise TypeError(f"fastnn.save: cannot save tensor of dtype {arr.dtype} at "
                            f"{_key_path(path)} (supported: {', '.join(_DTYPES)})")
        if arr.dtype != dt or not arr.flags.c_contiguous:
            # one copy fixes both layout and big-endian input; np.ascontiguousarray
            # is avoided because it turns 0-d arrays into 1-d ones
            arr = np.array(arr, dtype=dt, order="C")
        name = self._name(path)
        self.tensors[name] = (code, arr)
        return {"k": "tensor", "name": name}


def _serialize(obj):
    """Validate `obj` and return (header bytes, [arrays in file order]); writes nothing."""
    enc = _Encoder()
    structure = enc.encode(obj)
    meta = {_FORMAT_KEY: _FORMAT_VERSION, _STRUCTURE_KEY: json.dumps(
        structure, separators=(",", ":"), ensure_ascii=False, allow_nan=False)}
    # the safetensors writer's order: widest dtypes first (so every tensor is aligned),
    # then by name; matching it makes a flat state_dict's file the same bytes
    order = sorted(enc.tensors, key=lambda n: (-_RANK[enc.tensors[n][0]], n))
    header, offset, arrays = {"__metadata__": meta}, 0, []
    for name in order:
        code, arr = enc.tensors[name]
        header[name] = {"dtype": code, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
        arrays.append(arr)
    raw = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw, arrays


def _write(fobj, head, arrays):
    fobj.write(head)
    for arr in arrays:
        if arr.size:
            fobj.write(memoryview(arr.reshape(-1).view(np.uint8)))


def _umask():
    try:  # Linux exposes the umask; elsewhere it can only be read by setting it
        with open("/proc/self/status") as fh:
            return next(int(ln.split()[1], 8) for ln in fh if ln.startswith("Umask:"))
    except (OSError, ValueError, IndexError, StopIteration):
        mask = os.umask(0o022)
        os.umask(mask)
        return mask


def _fsync_dir(dirname):
    # makes the rename itself durable; some platforms and filesystems refuse, and by
    # then the new file is already in place, so failure here is not an error
    if os.name == "nt":
        return
    try:
        fd = os.open(dirname, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def _atomic_write(path, head, arrays):
    path = os.path.abspath(os.fsdecode(path))
    dirname, base = os.path.split(path)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = 0o666 & ~_umask()
    # the temp file shares the target's directory so os.replace is a same-filesystem rename
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=dirname)
    try:
        with os.fdopen(fd, "wb") as fobj:
            _write(fobj, head, arrays)
            fobj.flush()
            os.fsync(fobj.fileno())
        try:
            os.chmod(tmp, mode)  # mkstemp's 0600 would otherwise leak onto the checkpoint
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(dirname)


def save(obj, f):
    """Write `obj` to `f`, a path or a writable binary file object.

    `obj` may be a tensor (or ndarray) or any nesting of dict / OrderedDict
    (str or int keys), list and tuple holding tensors, int, float, str, bool
    and None.  Anything else raises TypeError naming the key path, before any
    byte is written.  Saving to a path is atomic: either the new checkpoint
    is fully in place or the previous file is left untouched.
    """
    head, arrays = _serialize(obj)
    if _is_path(f):
        _atomic_write(f, head, arrays)
    else:
        _write(f, head, arrays)


# --- load ---

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
    if kind == "tensor":
        name = node["name"]
        if not isinstance(name, str) or name not in tensors:
            raise _Bad(f"structure references missing tensor {_short(name)}")
        used.add(name)
        return tensors[name]
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


def _read_into(fobj, arr):
    """Fill `arr`, whose size the caller validated, straight from `fobj`."""
    view = memoryview(arr.reshape(-1).view(np.uint8))
    if not hasattr(fobj, "readinto"):  # a minimal file-like: accept one transient copy
        view[:] = _read_exact(fobj, len(view))
        return
    got = 0
    while got < len(view):
        n = fobj.readinto(view[got:])
        if not n:
            raise _Bad(f"file ended {len(view) - got} bytes early while reading tensor data")
        got += n


def _device_of(map_location):
    if map_location is None or callable(map_location):
        return "cpu"
    if isinstance(map_location, dict):
        map_location = map_location.get("cpu", "cpu")
    dev = str(map_location)
    if not _DEVICE_RE.match(dev):
        raise ValueError(f"fastnn.load: unsupported map_location {map_location!r}")
    return dev


def _load_stream(fobj, size, map_location, device, as_numpy):
    if size < 8:
        raise _Bad(f"only {size} bytes; too short for a checkpoint")
    n = int.from_bytes(_read_exact(fobj, 8), "little")
    if n > _MAX_HEADER:
        raise _Bad(f"header length {n} exceeds the {_MAX_HEADER}-byte limit")
    if n > size - 8:
        raise _Bad(f"header length {n} exceeds the file size {size}")
    meta, entries = _parse_header(_read_exact(fobj, n), size - 8 - n)

    structure = plain = object()  # the structure itself may legitimately be None
    if _FORMAT_KEY in meta:
        if meta[_FORMAT_KEY] != _FORMAT_VERSION:
            raise _Bad(f"unsupported fastnn checkpoint version {_short(meta[_FORMAT_KEY])}")
        if _STRUCTURE_KEY not in meta:
            raise _Bad("fastnn checkpoint without a structure")
        structure = _parse_json(meta[_STRUCTURE_KEY], "structure")
        # a dry run with placeholders validates the whole tree before data is read
        used = set()
        _build(structure, dict.fromkeys(e[0] for e in entries), used)
        unused = {e[0] for e in entries} - used
        if unused:
            raise _Bad(f"tensor {_short(min(unused))} is not referenced by the structure")
    elif _STRUCTURE_KEY in meta:
        raise _Bad("structure present without a format version")

    arrays = {}
    for name, dt, shape, _, _ in _by_offset(entries):  # file order: reads stay sequential
        arr = arrays[name] = np.empty(shape, dtype=dt)
        if arr.size:
            _read_into(fobj, arr)
        if dt.kind == "b" and arr.size and arr.view(np.uint8).max() > 1:
            raise _Bad(f"tensor {_short(name)}: bool data holds bytes other than 0 and 1")
    loaded = {}
    for name, _, _, _, _ in entries:
        t = arrays.pop(name)
        t = t if as_numpy else _from_array(t)
        if callable(map_location):
            moved = map_location(t, "cpu")  # torch's (storage, location) convention
            t = t if moved is None else moved
        loaded[name] = _move(t, device)
    if structure is plain:
        return loaded
    return _build(structure, loaded, set())


def _read_exact(fobj, n):
    parts, got = [], 0
    while got < n:  # raw streams may return short reads before the real end
        chunk = fobj.read(n - got)
        if not chunk:
            raise _Bad(f"file ended {n - got} bytes early")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _short(x, limit=60):
    s = repr(x)
    return s if len(s) <= limit else s[:limit] + "..."


def _label(f):
    if _is_path(f):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, (str, bytes)) else f"<{type(f).__name__}>"


def load(f, map_location=None, *, weights_only=None, _as_numpy=False):
    """Read a checkpoint written by :func:`save` (or any safetensors file).

    `f` is a path or a readable binary file object (read from its current
    position).  `map_location` may be None, "cpu", "cuda[:N]", a device, a
    ``{"cpu": device}`` dict or a ``fn(tensor, "cpu")`` callable returning the
    tensor to use (None keeps it).  `weights_only` is accepted for PyTorch
    compatibility and ignored: loading never executes code.

    A truncated, corrupted or hostile file raises ValueError naming the file
    and the problem.
    """
    del weights_only
    label = _label(f)
    device = _device_of(map_location)
    try:
        if _is_path(f):
            with open(f, "rb") as fobj:
                return _load_stream(fobj, os.fstat(fobj.fileno()).st_size, map_location, device,
                                    _as_numpy)
        seekable = getattr(f, "seekable", None)
        if seekable is not None and seekable():
            start = f.tell()
            f.seek(0, os.SEEK_END)
            size = f.tell() - start
            f.seek(start)
            return _load_stream(f, size, map_location, device, _as_numpy)
        # without seeking the size is unknowable, so slurp: memory stays bounded by the
        # bytes that really exist rather than by what the header claims
        data = f.read()
        return _load_stream(io.BytesIO(data), len(data), map_location, device, _as_numpy)
    except _Bad as e:
        raise ValueError(f"fastnn.load: {label}: {e}") from None
