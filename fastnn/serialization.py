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

Besides tensors, dicts (str or int keys), lists, tuples, sets, Size, int, float, str,
bool and None, a checkpoint may hold (format version "2", see ``_checkpoint_format``):
numpy arrays of every bool, int, uint (8 to 64 bits), float (16 to 64) and complex dtype
(complex ones stored as real/imaginary pairs along a last axis of 2), numpy scalars and
numpy dtypes of those (kept as numpy types), complex, bytes, bytearray, slice, fastnn
dtypes and devices, and namedtuples; each loads back as an equal object of the same type,
so ``np.random.set_state(fastnn.load(f)["np_rng"])`` works.  Files that use none of these
are written exactly as before (version "1"), and both versions load.

Namedtuples: loading never imports a class named by the file.  A namedtuple is stored
with its ``module.qualname`` and field names and comes back as that class only when the
caller allowed the class with :func:`add_safe_globals` (or the :class:`safe_globals`
context manager), the names PyTorch uses for its ``weights_only`` allow-list, and its
fields match; it is then built with ``tuple.__new__``, so none of the class's code runs.
Otherwise it loads as a plain tuple of the same items.

Also kept: collections.defaultdict (with a builtin default factory such as list or int)
and Counter, the ``_metadata`` of state dicts (so ``load_state_dict`` sees each module's
version), fastnn's own ``return_types`` named tuples, and the uninitialized parameters and
buffers of lazy modules (see ``_checkpoint_additions``).  Other subclasses of dict, list,
tuple and set raise TypeError rather than loading back as the plain container.

Identity and shared memory: one tensor object saved several times in one call (``[t, t]``,
``{"a": w, "b": w}``) loads as one object.  Tensors saved in one call whose memory overlaps
(a tensor and its slices or transposes, tied weights) are stored once and load back as
views of one block, so a write through one shows in the others, as with PyTorch.  When
one of them covers the rest contiguously it is stored as itself and the others reference
it; otherwise the block spanning them all is stored.  A tensor that overlaps nothing else
in the call is stored compactly, even when it views a larger base: ``save(x[:, 1])``
writes only that column and loads with stride (1,) where PyTorch, which writes the whole
storage, gives (3,); this keeps files small and a flat state_dict a plain safetensors
file.  Numpy arrays never share (PyTorch pickles each on its own too).

Checkpoints travel between people, so loading treats the file as hostile: no
pickle, nothing executed, and every header field is checked against the real
file size before a single tensor byte is allocated.  Any malformed input ends
in ``ValueError`` naming the file.
"""

import io
import os
import stat
import tempfile
import warnings

import numpy as np

from ._checkpoint_encode import (_from_array, _is_path, _move, _restore_grad,  # noqa: F401
                                 _serialize, _strided)
from ._checkpoint_format import (_CODES, _COMPLEX_OF, _DEVICE_RE, _DTYPES,  # noqa: F401
                                 _FORMAT_KEY, _FORMAT_VERSIONS, _GRAD_KEY, _MAX_DEPTH,
                                 _MAX_HEADER, _ODICT_META_KEY, _STRUCTURE_KEY, _TENSOR_CODES,
                                 _Bad, _Builder,
                                 _by_offset, _foreign, _grad_meta, _parse_header, _parse_json,
                                 _short)
from ._checkpoint_additions import parse_odict_metadata
from ._checkpoint_api import (DEFAULT_PROTOCOL, LoadEndianness, SourceChangeWarning,  # noqa: F401
                              default_restore_location, get_default_load_endianness,
                              get_unsafe_globals_in_checkpoint, location_tag, mkdtemp,
                              register_package, set_default_load_endianness,
                              set_default_mmap_options)

__all__ = ["save", "load", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
           "safe_globals", "SourceChangeWarning", "mkdtemp", "location_tag",
           "default_restore_location", "LoadEndianness",
           "get_default_load_endianness", "set_default_load_endianness",
           "set_default_mmap_options", "register_package", "get_unsafe_globals_in_checkpoint"]


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


def _write_in_place(path, head, arrays):
    """Write straight into `path`, as PyTorch always does: not atomic, but the only way to
    write through a FIFO or device, keep hard links shared, or save in a read-only folder."""
    with open(path, "wb") as fobj:
        _write(fobj, head, arrays)
        fobj.flush()
        try:
            os.fsync(fobj.fileno())
        except OSError:  # pipes and devices cannot be synced
            pass


def _atomic_write(path, head, arrays):
    user_path = os.fsdecode(path)
    # resolving symlinks writes through them: latest.pt -> ckpt_100.pt stays a link
    path = os.path.realpath(user_path)
    dirname = os.path.dirname(path)
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise RuntimeError(f"File {user_path} cannot be opened: Is a directory")
    if st is not None and (not stat.S_ISREG(st.st_mode) or st.st_nlink > 1):
        # a rename would cut the other hard links loose or replace the FIFO / device node
        return _write_in_place(path, head, arrays)
    mode = st.st_mode & 0o7777 if st is not None else 0o666 & ~_umask()
    if not os.path.isdir(dirname):
        raise RuntimeError(f"Parent directory {dirname} does not exist.")
    # the temp file shares the target's directory so os.replace is a same-filesystem rename;
    # its name is short so that a target name near the 255-byte limit still works
    try:
        fd, tmp = tempfile.mkstemp(prefix=".fastnn-", suffix=".tmp", dir=dirname)
    except OSError as e:
        if st is not None:  # e.g. a writable file in a read-only folder
            return _write_in_place(path, head, arrays)
        raise type(e)(e.errno, e.strerror, user_path) from None  # not the temp file's name
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
    (str or int keys), list, tuple, namedtuple, set and Size holding tensors,
    int, float, complex, str, bytes, bool, None, slices, numpy scalars and
    dtypes, fastnn dtypes and devices; Parameters and tensors requiring grad
    load back as such, and tensors that overlap in memory load back sharing it
    (see the module docstring).
    Anything else raises TypeError naming the key path, before any byte is
    written.  Saving to a path writes through symlinks and is atomic for a
    regular file: either the new checkpoint is fully in place or the previous
    file is left untouched.  A FIFO, a device, a file with other hard links, or
    a file in a folder where no temporary file can be made is written in place,
    as PyTorch does.  The remaining arguments are PyTorch's and are ignored:
    nothing is pickled.
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
    grad, odict_meta = {}, {}
    info = {e[0]: (_CODES[e[1]], e[2]) for e in entries}
    if _FORMAT_KEY in meta:
        if meta[_FORMAT_KEY] not in _FORMAT_VERSIONS:
            raise _Bad(f"unsupported fastnn checkpoint version {_short(meta[_FORMAT_KEY])}")
        if _STRUCTURE_KEY not in meta:
            raise _Bad("fastnn checkpoint without a structure")
        structure = _parse_json(meta[_STRUCTURE_KEY], "structure")
        # a dry run with placeholders validates the whole tree before data is read
        dry = _Builder(info)
        dry.build(structure)
        unused = set(info) - dry.used
        if unused:
            raise _Bad(f"tensor {_short(min(unused))} is not referenced by the structure")
        if _GRAD_KEY in meta:
            grad = _grad_meta(meta, entries)
        if _ODICT_META_KEY in meta:
            odict_meta = parse_odict_metadata(meta[_ODICT_META_KEY], dry.odicts)
    elif _STRUCTURE_KEY in meta:
        raise _Bad("structure present without a format version")
    elif not as_numpy:
        for name, (code, _) in info.items():
            if code not in _TENSOR_CODES:
                raise _Bad(f"tensor {_short(name)}: dtype {code} cannot be loaded as a tensor")

    arrays = {}
    for name, dt, shape, _, _ in _by_offset(entries):  # file order: reads stay sequential
        arr = arrays[name] = np.empty(shape, dtype=dt)
        if arr.size:
            _read_into(fobj, arr)
        if dt.kind == "b" and arr.size and arr.view(np.uint8).max() > 1:
            raise _Bad(f"tensor {_short(name)}: bool data holds bytes other than 0 and 1")
    make = _Maker(arrays, info, grad, map_location, device, as_numpy)
    if structure is plain:
        return {e[0]: make.tensor(e[0]) for e in entries}
    builder = _Builder(info, make)
    builder.odict_meta = odict_meta
    return builder.build(structure)


class _Maker:
    """Turns the validated references of a structure into objects, given the data read."""

    def __init__(self, arrays, info, grad, map_location, device, as_numpy):
        self.arrays, self.info, self.grad = arrays, info, grad
        self.map_location, self.where, self.as_numpy = map_location, device, as_numpy
        self.raw = {}    # name -> the CPU tensor over the stored data (the views' base)
        self.done = {}   # name -> the finished object every "tensor" reference shares

    def _raw(self, name):
        t = self.raw.get(name)
        if t is None:
            arr = self.arrays[name]
            t = self.raw[name] = arr if self.as_numpy else _from_array(arr)
        return t

    def _finish(self, t, flags):
        if callable(self.map_location):
            moved = self.map_location(t, "cpu")  # torch's (storage, location) convention
            t = t if moved is None else moved
        t = _move(t, self.where)
        return _restore_grad(t, flags) if flags and not self.as_numpy else t

    def tensor(self, name):
        if name not in self.done:
            if self.info[name][0] not in _TENSOR_CODES:  # only a plain file in numpy mode
                self.done[name] = self.arrays[name]
            else:
                self.done[name] = self._finish(self._raw(name), self.grad.get(name))
        return self.done[name]

    def array(self, name):
        if self.info[name][0] not in _TENSOR_CODES:  # numpy-only dtypes skip map_location
            return self.arrays[name]
        v = self.tensor(name)
        if isinstance(v, np.ndarray):
            return v
        v = v.detach()
        return (v.cpu() if hasattr(v, "cpu") else v).numpy()

    def carray(self, name):
        arr = self.arrays[name]
        return arr.view(_COMPLEX_OF[self.info[name][0]]).reshape(arr.shape[:-1])

    def bytes(self, name, mutable):
        data = self.arrays[name].tobytes()
        return bytearray(data) if mutable else data

    def view(self, name, offset, shape, stride, flags):
        flat = self.arrays[name].reshape(-1)  # read fresh, so C-contiguous: no copy
        arr = _strided(flat, offset, shape, [s * flat.itemsize for s in stride])
        base = self._raw(name)
        if self.as_numpy:
            return self._finish(arr, None)
        t = _from_array(arr)
        t._vc = base._vc  # a view: one version counter, and the stored block as its base
        t._base = base
        return self._finish(t, flags)

    def dtype(self, name):
        from fastnn import _dtype
        return _dtype.to_dtype(name)

    def device(self, spec):
        from fastnn._dtype import device
        return device(spec)

    def namedtuple(self, name, fields, values):
        cls = _SAFE_GLOBALS.get(name) or _return_type(name)
        if isinstance(cls, type) and issubclass(cls, tuple) and \
                tuple(getattr(cls, "_fields", ())) == fields:
            return tuple.__new__(cls, values)  # no constructor of the class runs
        return values


def _return_type(name):
    """fastnn's own ``return_types`` class called `name` (``fastnn.return_types.max``), or
    None; these are always allowed, since they are fastnn's and run no code when built."""
    prefix = "fastnn.return_types."
    attr = name[len(prefix):] if name.startswith(prefix) else ""
    if not attr.isidentifier() or attr.startswith("_"):
        return None
    from fastnn import return_types
    cls = getattr(return_types, attr, None)
    return cls if isinstance(cls, type) and cls.__module__ == "fastnn.return_types" else None


# --- the namedtuple allow-list ---

_SAFE_GLOBALS = {}  # "module.qualname" -> the class the caller allowed


def add_safe_globals(safe_globals):
    """Allow these namedtuple classes to be restored by :func:`load`.

    Each item is a class or a ``(class, "module.qualname")`` pair. A saved namedtuple
    comes back as its class only when that class was allowed here and has the same
    fields; otherwise it loads as a plain tuple. The file never names code to import.
    """
    for item in safe_globals:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
            obj, name = item
        else:
            obj = item
            name = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
        _SAFE_GLOBALS[name] = obj


def get_safe_globals():
    """The allowed classes, as added."""
    return list(_SAFE_GLOBALS.values())


def clear_safe_globals():
    """Forget every allowed class."""
    _SAFE_GLOBALS.clear()


class safe_globals:
    """``with safe_globals([Point]): fastnn.load(f)`` allows classes for the block only."""

    def __init__(self, safe_globals):
        self.items = list(safe_globals)
        self.saved = None

    def __enter__(self):
        self.saved = dict(_SAFE_GLOBALS)
        add_safe_globals(self.items)
        return self

    def __exit__(self, *exc):
        _SAFE_GLOBALS.clear()
        _SAFE_GLOBALS.update(self.saved)
        return False


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


# the keyword arguments pickle's Unpickler takes, which load() accepts and ignores
_PICKLE_LOAD_ARGS = frozenset({"encoding", "errors", "fix_imports", "buffers"})


def _check_pickle_load_args(args, weights_only):
    if not args:
        return
    if weights_only is False:
        for name in args:
            if name not in _PICKLE_LOAD_ARGS:
                raise TypeError(f"'{name}' is an invalid keyword argument for Unpickler()")
        return
    warnings.warn("pickle_load_args only works if `weights_only=False`.", UserWarning,
                  stacklevel=3)
    for name in args:
        if name != "encoding":  # the one PyTorch's weights-only reader also takes
            raise TypeError(f"Unpickler.__init__() got an unexpected keyword argument '{name}'")


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         _as_numpy=False, **pickle_load_args):
    """Read a checkpoint written by :func:`save` (or any safetensors file).

    `f` is a path or a readable binary file object (read from its current
    position).  `map_location` may be None, "cpu", "cuda[:N]", a device, a
    ``{"cpu": device}`` dict or a ``fn(tensor, "cpu")`` callable returning the
    tensor to use (None keeps it).  `pickle_module`, `weights_only`, `mmap`
    and pickle's keyword arguments (``encoding=``, ...) are accepted for
    PyTorch compatibility and ignored: loading never executes code, and
    tensors are always read into memory.

    A truncated, corrupted or hostile file raises ValueError naming the file
    and the problem.
    """
    _check_pickle_load_args(pickle_load_args, weights_only)
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
