"""The smaller public names of ``fastnn.serialization`` that PyTorch code reaches for:
location tags and their registry, load settings, warnings and helpers.

fastnn checkpoints hold no storages and no pickled globals, so these work on tensors
(anything with a ``.device``) and the settings only record what the caller chose.
"""
import contextlib
import enum
import mmap as _mmap
import os
import shutil
import tempfile

DEFAULT_PROTOCOL = 2


class SourceChangeWarning(Warning):
    """Kept for code that filters it; fastnn never pickles source, so it is never raised."""


# --- location tags: (priority, tagger, deserializer), lowest priority value first ---

def _cpu_tag(obj):
    if getattr(obj, "device", None) is not None and obj.device.type == "cpu":
        return "cpu"
    return None


def _cuda_tag(obj):
    dev = getattr(obj, "device", None)
    if dev is not None and dev.type == "cuda":
        return f"cuda:{dev.index or 0}"
    return None


def _cpu_restore(obj, location):
    return obj if location == "cpu" else None


def _cuda_restore(obj, location):
    if location.startswith("cuda"):
        return obj.to(location)
    return None


_package_registry = [(10, _cpu_tag, _cpu_restore), (20, _cuda_tag, _cuda_restore)]


def _typename(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def register_package(priority, tagger, deserializer):
    """Add a ``tagger(obj) -> str | None`` and ``deserializer(obj, location) -> obj | None``
    pair; lower `priority` values are tried first by :func:`location_tag` and
    :func:`default_restore_location`."""
    _package_registry.append((priority, tagger, deserializer))
    _package_registry.sort(key=lambda entry: entry[0])


def location_tag(storage):
    """The location string ("cpu", "cuda:0", ...) of a tensor, from the registered taggers."""
    for _, tagger, _ in _package_registry:
        location = tagger(storage)
        if location:
            return location
    raise RuntimeError("don't know how to determine data location of " + _typename(storage))


def default_restore_location(storage, location):
    """Move `storage` (a tensor) to `location` with the first registered deserializer that
    accepts it; usable as, or inside, a ``map_location`` callable."""
    for _, _, restore in _package_registry:
        result = restore(storage, location)
        if result is not None:
            return result
    raise RuntimeError(f"don't know how to restore data location of {_typename(storage)} "
                       f"(tagged with {location})")


def get_unsafe_globals_in_checkpoint(f):
    """The ``module.qualname`` of each namedtuple class in checkpoint `f` that :func:`load`
    would not restore as that class (not allowed by :func:`add_safe_globals`, nor one of
    fastnn's ``return_types``); those load as plain tuples.  A fastnn file names no other
    code, so for most checkpoints this is empty."""
    from .serialization import _SAFE_GLOBALS, _Bad, _is_path, _label, _return_type
    label = _label(f)
    try:
        if _is_path(f):
            with open(f, "rb") as fobj:
                structure = _read_structure(fobj)
        else:
            structure = _read_structure(f)
    except _Bad as e:
        raise ValueError(f"fastnn.get_unsafe_globals_in_checkpoint: {label}: {e}") from None
    found, stack = set(), [structure]
    while stack:  # iterative: the parsed JSON may nest as deep as the parser allowed
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("k") == "namedtuple" and isinstance(node.get("name"), str):
                name = node["name"]
                if name not in _SAFE_GLOBALS and _return_type(name) is None:
                    found.add(name)
            stack.extend(node.values())
    return sorted(found)


def _read_structure(fobj):
    """The parsed structure of a checkpoint's header (None for a plain safetensors file)."""
    from .serialization import _MAX_HEADER, _STRUCTURE_KEY, _Bad, _parse_json, _read_exact
    n = int.from_bytes(_read_exact(fobj, 8), "little")
    if n > _MAX_HEADER:
        raise _Bad(f"header length {n} exceeds the {_MAX_HEADER}-byte limit")
    try:
        header = _parse_json(_read_exact(fobj, n).decode("utf-8"), "header")
    except UnicodeDecodeError as e:
        raise _Bad(f"header is not UTF-8 ({e})") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get(_STRUCTURE_KEY), str):
        return None
    return _parse_json(meta[_STRUCTURE_KEY], "structure")


# --- load settings ---

class LoadEndianness(enum.Enum):
    NATIVE = 1
    LITTLE = 2
    BIG = 3


# fastnn files always record little-endian data, so this fallback never changes a load
_settings = {"endianness": LoadEndianness.NATIVE, "mmap_flags": _mmap.MAP_PRIVATE
             if hasattr(_mmap, "MAP_PRIVATE") else None}


def get_default_load_endianness():
    """The byte order assumed for files that do not record one."""
    return _settings["endianness"]


def set_default_load_endianness(endianness):
    """Set the byte order assumed for files that do not record one (a LoadEndianness or None)."""
    if not isinstance(endianness, LoadEndianness) and endianness is not None:
        raise TypeError("Invalid argument type in function set_default_load_endianness")
    _settings["endianness"] = endianness


class set_default_mmap_options:
    """Function or context manager recording the mmap flags for ``load(..., mmap=True)``
    (``mmap.MAP_PRIVATE`` or ``mmap.MAP_SHARED``); fastnn reads tensors into memory."""

    def __init__(self, flags):
        if os.name == "nt":
            raise RuntimeError("Changing the default mmap options is currently not supported "
                               "for Windows")
        if flags != _mmap.MAP_PRIVATE and flags != _mmap.MAP_SHARED:
            raise ValueError("Invalid argument in function set_default_mmap_options, expected "
                             f"mmap.MAP_PRIVATE or mmap.MAP_SHARED, but got {flags}")
        self.prev = _settings["mmap_flags"]
        _settings["mmap_flags"] = flags

    def __enter__(self):
        return None

    def __exit__(self, exc_type, exc_value, traceback):
        _settings["mmap_flags"] = self.prev


@contextlib.contextmanager
def mkdtemp():
    """A fresh temporary directory, removed with its contents when the block ends."""
    path = tempfile.mkdtemp()
    try:
        yield path
    finally:
        shutil.rmtree(path)
