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
key path and referenced by name.  Which tensors were Parameters or required grad
is listed in a separate ``__metadata__`` entry, so readers without it still load them.

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
import sys
import tempfile

import numpy as np

from ._checkpoint_format import (_CODES, _DEVICE_RE, _DTYPES, _FORMAT_KEY,  # noqa: F401
                                 _FORMAT_VERSION, _GRAD_KEY, _MAX_DEPTH, _MAX_HEADER, _RANK,
                                 _STRUCTURE_KEY, _Bad, _build, _by_offset, _foreign,
                                 _grad_meta, _parse_header, _parse_json, _short)

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


def _instance(obj, module, name):
    # classes are looked up only where already imported: no instance can exist otherwise,
    # and saving should not drag in (or half-import) the rest of fastnn
    mod = sys.modules.get(module)
    return mod is not None and isinstance(obj, getattr(mod, name, ()))


def _grad_flags(obj):
    """{"parameter", "requires_grad"} for a tensor that is a Parameter or needs grad."""
    rg = getattr(obj, "requires_grad", False) is True
    param = _instance(obj, "fastnn.nn.parameter", "Parameter")
    return {"parameter": param, "requires_grad": rg} if param or rg else None


def _restore_grad(t, flags):
    if flags["parameter"]:
        from fastnn.nn.parameter import Parameter
        return Parameter(t, requires_grad=flags["requires_grad"])
    return t.requires_grad_(True)


def _save_hint(obj):
    """How to save a module, optimizer or scheduler: through its state_dict."""
    if not callable(getattr(obj, "state_dict", None)):
        return ""
    var = ("model" if _instance(obj, "fastnn.nn.modules.module", "Module") else
           "optimizer" if _instance(obj, "fastnn.optim.optimizer", "Optimizer") else "obj")
    return (f"; fastnn never pickles whole objects: save {var}.state_dict() instead, then "
            f"rebuild the {type(obj).__name__} in code and call "
            f"{var}.load_state_dict(fastnn.load(path))")


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
        self.grad = {}  # names of tensors saved from Parameters or tensors needing grad
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
            node = self._tensor(arr, path)
            if arr is obj:  # a numpy array comes back as one, as with torch.load
                node["k"] = "array"
            flags = None if arr is obj else _grad_flags(obj)
            if flags:
                self.grad[node["name"]] = flags
            return node
        if isinstance(obj, (dict, list, tuple, set, frozenset)):
            if id(obj) in self._active:
                raise ValueError(f"fastnn.save: container at {_key_path(path)} contains itself")
            self._active.add(id(obj))
            try:
                return self._container(obj, path, depth)
            finally:
                self._active.discard(id(obj))
        raise TypeError(f"fastnn.save: cannot save object of type '{type(obj).__name__}' "
                        f"at {_key_path(path)}{_save_hint(obj)}")

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
        if isinstance(obj, (set, frozenset)):
            return {"k": "frozenset" if isinstance(obj, frozenset) else "set", "items": items}
        if not isinstance(obj, tuple):
            return items
        return {"k": "size" if _instance(obj, "fastnn._dtype", "Size") else "tuple", "items": items}

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
    if enc.grad:
        meta[_GRAD_KEY] = json.dumps(enc.grad, separators=(",", ":"), ensure_ascii=False)
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
    if not os.path.isdir(dirname):
        raise RuntimeError(f"Parent directory {dirname} does not exist.")
    # the temp file shares the target's directory so os.replace is a same-filesystem rename
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=dirname)
    except OSError as e:  # name the user's path, not the temp file they never chose
        raise type(e)(e.errno, e.strerror, path) from None
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


def save(obj, f, pickle_module=None, pickle_protocol=2, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False):
    """Write `obj` to `f`, a path or a writable binary file object.

    `obj` may be a tensor (or ndarray) or any nesting of dict / OrderedDict
    (str or int keys), list, tuple and Size holding tensors, int, float, str,
    bool and None; Parameters and tensors requiring grad load back as such.
    Anything else raises TypeError naming the key path, before any byte is
    written.  Saving to a path is atomic: either the new checkpoint is fully
    in place or the previous file is left untouched.  The remaining arguments
    are PyTorch's and are ignored: nothing is pickled.
    """
    del pickle_module, pickle_protocol, _use_new_zipfile_serialization, _disable_byteorder_record
    head, arrays = _serialize(obj)
    if _is_path(f):
        _atomic_write(f, head, arrays)
    else:
        _write(f, head, arrays)


# --- load ---

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
    head = _read_exact(fobj, 8)
    n = int.from_bytes(head, "little")
    if n > _MAX_HEADER or n > size - 8:
        why = _foreign(head, fobj)
        if why:
            raise _Bad(why)
    if n > _MAX_HEADER:
        raise _Bad(f"header length {n} exceeds the {_MAX_HEADER}-byte limit")
    if n > size - 8:
        raise _Bad(f"header length {n} exceeds the file size {size}")
    meta, entries = _parse_header(_read_exact(fobj, n), size - 8 - n)

    structure = plain = object()  # the structure itself may legitimately be None
    grad = {}
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
        if _GRAD_KEY in meta:
            grad = _grad_meta(meta, entries)
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
        t = _move(t, device)
        loaded[name] = _restore_grad(t, grad[name]) if name in grad and not as_numpy else t
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


def _label(f):
    if _is_path(f):
        return repr(os.fsdecode(f))
    name = getattr(f, "name", None)
    return repr(name) if isinstance(name, (str, bytes)) else f"<{type(f).__name__}>"


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         _as_numpy=False):
    """Read a checkpoint written by :func:`save` (or any safetensors file).

    `f` is a path or a readable binary file object (read from its current
    position).  `map_location` may be None, "cpu", "cuda[:N]", a device, a
    ``{"cpu": device}`` dict or a ``fn(tensor, "cpu")`` callable returning the
    tensor to use (None keeps it).  `pickle_module`, `weights_only` and `mmap`
    are accepted for PyTorch compatibility and ignored: loading never executes
    code, and tensors are always read into memory.

    A truncated, corrupted or hostile file raises ValueError naming the file
    and the problem.
    """
    del pickle_module, weights_only, mmap
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
