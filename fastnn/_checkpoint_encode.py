"""The writing half of ``fastnn.save``: walks the object, checks every value, finds
tensors that share memory and lays out the safetensors header (see ``serialization``)."""
import json
import math
import os
import sys

import numpy as np

from . import _checkpoint_additions as more
from ._checkpoint_format import (_CODES, _DEVICE_RE, _DTYPES, _FASTNN_DTYPES, _FORMAT_KEY,
                                 _FORMAT_VERSION, _FORMAT_VERSION_2, _GRAD_KEY, _MAX_DEPTH,
                                 _NP_NAMES, _ODICT_META_KEY, _RANK, _REAL_OF, _STRUCTURE_KEY,
                                 _TENSOR_CODES, _V1_TENSOR_CODES,
                                 _float_token)

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


class _Member:
    """A tensor met while encoding: where it sits in memory, decided on once all are seen."""
    __slots__ = ("node", "arr", "path", "flags", "name", "order", "lo", "hi")

    def __init__(self, node, arr, path, flags, name, order):
        self.node, self.arr, self.path, self.flags, self.name = node, arr, path, flags, name
        self.order = order
        self.lo = self.hi = None


def _span(arr):
    """[lo, hi) byte addresses `arr` touches, or None when it cannot join a shared storage
    (empty, a dtype the format stores differently, negative or misaligned strides)."""
    if not arr.size or _CODES.get(arr.dtype) not in _TENSOR_CODES:
        return None
    size = arr.itemsize
    if any(s < 0 or s % size for s in arr.strides):
        return None
    lo = arr.__array_interface__["data"][0]
    return lo, lo + sum((n - 1) * s for n, s in zip(arr.shape, arr.strides)) + size


class _Encoder:
    """Turns a Python object into (structure JSON, {name: contiguous LE ndarray})."""

    def __init__(self):
        self.tensors = {}  # name -> (code, array); None while a tensor's name is reserved
        self.grad = {}  # names of tensors saved from Parameters or tensors needing grad
        self.members = []  # the tensors, laid out by finish() once sharing is known
        self.v2 = False  # whether any node kind newer than format version 1 was written
        self.identity = more.Identity()  # tensors saved twice load as one object
        self.odicts = 0  # "odict" nodes begun so far: their index in build order
        self.odict_meta = {}  # odict index -> its _metadata pairs
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
        if isinstance(obj, (np.bool_, np.number)):  # before int/float: np.float64 is a float
            return self._np_scalar(obj, path)
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
            return {"k": "float", "v": _float_token(obj)}
        if isinstance(obj, complex):
            self.v2 = True
            return {"k": "complex", "v": [_float_token(obj.real), _float_token(obj.imag)]}
        if isinstance(obj, str):
            _check_str(obj, path, "string")
            return str(obj)
        if isinstance(obj, (bytes, bytearray)):
            self.v2 = True
            name = self._name(path)
            self.tensors[name] = ("U8", np.frombuffer(bytes(obj), np.uint8))
            return {"k": "bytearray" if isinstance(obj, bytearray) else "bytes", "name": name}
        if isinstance(obj, slice):
            self.v2 = True
            return {"k": "slice", "items": [
                self.encode(v, path + (f, ), depth + 1)
                for f, v in (("start", obj.start), ("stop", obj.stop), ("step", obj.step))]}
        if _instance(obj, "fastnn._dtype", "dtype") and obj.name in _FASTNN_DTYPES:
            self.v2 = True
            return {"k": "dtype", "v": obj.name}
        if _instance(obj, "fastnn._dtype", "device") and _DEVICE_RE.match(str(obj)):
            self.v2 = True
            return {"k": "device", "v": str(obj)}
        if isinstance(obj, np.dtype) and _NP_NAMES.get(obj.name) == obj:
            self.v2 = True
            return {"k": "npdtype", "v": obj.name}
        again = self.identity.again(obj)
        if again is not None:  # only tensors are ever recorded
            self.v2 = True
            return again
        if _instance(obj, "fastnn.nn.parameter", "UninitializedTensorMixin"):
            self.v2 = True
            node = more.lazy_node(obj, _instance(obj, "fastnn.nn.parameter", "Parameter"))
            self.identity.first(obj, node)
            return node
        arr = _to_array(obj)
        if arr is not None:
            if arr is obj:  # a numpy array comes back as one, as with torch.load
                return self._array(arr, path)
            name = self._name(path)
            self.tensors[name] = None  # reserved; finish() decides how it is stored
            node = {"k": "tensor", "name": name}
            self.identity.first(obj, node)
            self.members.append(_Member(node, arr, path, _grad_flags(obj), name,
                                        len(self.members)))
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

    def _np_scalar(self, obj, path):
        name = obj.dtype.name
        if _NP_NAMES.get(name) != obj.dtype:
            raise TypeError(f"fastnn.save: cannot save numpy scalar of dtype {obj.dtype} at "
                            f"{_key_path(path)} (supported: {', '.join(_NP_NAMES)})")
        self.v2 = True
        kind = obj.dtype.kind
        v = (bool(obj) if kind == "b" else int(obj) if kind in "iu" else
             _float_token(obj) if kind == "f" else [_float_token(obj.real), _float_token(obj.imag)])
        return {"k": "npscalar", "dtype": name, "v": v}

    def _container(self, obj, path, depth):
        if isinstance(obj, dict):
            kind = more.dict_kind(obj, _key_path(path))
            if kind == "odict":
                meta = more.odict_metadata(obj, _key_path(path))
                if meta is not None:
                    self.odict_meta[self.odicts] = meta
                self.odicts += 1
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
            return more.dict_extras(self, obj, kind, {"k": kind, "items": items})
        if not isinstance(obj, tuple):
            more.check_sequence_type(obj, list if isinstance(obj, list) else
                                   frozenset if isinstance(obj, frozenset) else set,
                                   _key_path(path))
        items = [self.encode(v, path + (i,), depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, (set, frozenset)):
            return {"k": "frozenset" if isinstance(obj, frozenset) else "set", "items": items}
        if not isinstance(obj, tuple):
            return items
        if _instance(obj, "fastnn._dtype", "Size"):
            return {"k": "size", "items": items}
        fields = getattr(type(obj), "_fields", None)
        if isinstance(fields, tuple) and len(fields) == len(obj) and \
                all(isinstance(f, str) for f in fields):
            for f in fields:
                _check_str(f, path, "namedtuple field")
            cls = type(obj)
            qual = f"{cls.__module__}.{cls.__qualname__}"
            _check_str(qual, path, "namedtuple name")
            self.v2 = True
            return {"k": "namedtuple", "name": qual, "fields": list(fields), "items": items}
        if type(obj) is not tuple:
            raise more.subclass_error(obj, "tuple", _key_path(path))
        return {"k": "tuple", "items": items}

    def _array(self, arr, path):
        real = _REAL_OF.get(arr.dtype.newbyteorder("<")) if arr.dtype.kind == "c" else None
        if real is None:
            node = self._tensor(arr, path)
            return {"k": "array", "name": node["name"]}
        # complex: the real and imaginary parts side by side along a new last axis
        flat = np.array(arr, dtype=arr.dtype.newbyteorder("<"), order="C").reshape(-1)
        self.v2 = True
        node = self._tensor(flat.view(_DTYPES[real]).reshape(arr.shape + (2,)), path)
        return {"k": "carray", "name": node["name"]}

    def _tensor(self, arr, path, name=None):
        dt = arr.dtype.newbyteorder("<") if arr.dtype.kind in "biuf" else arr.dtype
        code = _CODES.get(dt)
        if code is None:
            raise TypeError(f"fastnn.save: cannot save tensor of dtype {arr.dtype} at "
                            f"{_key_path(path)} (supported: {', '.join(_DTYPES)}, "
                            "complex64, complex128)")
        if arr.dtype != dt or not arr.flags.c_contiguous:
            # one copy fixes both layout and big-endian input; np.ascontiguousarray
            # is avoided because it turns 0-d arrays into 1-d ones
            arr = np.array(arr, dtype=dt, order="C")
        name = self._name(path) if name is None else name
        self.tensors[name] = (code, arr)
        if code not in _V1_TENSOR_CODES:
            self.v2 = True
        return {"name": name, "dtype": code}

    def finish(self):
        """Lay out the tensors met: each alone, or one storage per group that overlaps.

        Tensors whose memory overlaps (a tensor and its slices, the same tensor twice)
        share one stored block and come back sharing memory; the block is the covering
        tensor itself when one covers the rest contiguously, else the span they touch.
        Any other tensor is stored compactly on its own, even when it views a larger base.
        """
        shared, groups = [], []
        for m in self.members:
            span = _span(m.arr)
            if span is None:
                self._alone(m)
            else:
                m.lo, m.hi = span
                shared.append(m)
        shared.sort(key=lambda m: (m.arr.dtype.str, m.lo))
        end = None  # the end of the last group's span
        for m in shared:
            if groups and groups[-1][0].arr.dtype == m.arr.dtype and m.lo < end:
                groups[-1].append(m)
                end = max(end, m.hi)
            else:
                groups.append([m])
                end = m.hi
        for g in groups:
            lo, size = g[0].lo, g[0].arr.itemsize
            if len(g) == 1 or any((m.lo - lo) % size for m in g):
                for m in g:
                    self._alone(m)
                continue
            self.v2 = True
            hi = max(m.hi for m in g)
            g.sort(key=lambda m: m.order)  # the first met covers, when several could
            cover = next((m for m in g if m.lo == lo and m.arr.nbytes == hi - lo
                          and m.arr.flags.c_contiguous), None)
            if cover is not None:
                self._alone(cover)
                store = cover.name
            else:
                block = _block(g, lo, hi)
                store = self._name(g[0].path + ("storage",))
                self._tensor(block, g[0].path, store)
            for m in g:
                if m is cover:
                    continue
                del self.tensors[m.name]
                m.node.clear()
                m.node.update(k="view", name=store, offset=(m.lo - lo) // size,
                              shape=list(m.arr.shape), stride=[s // size for s in m.arr.strides],
                              grad=m.flags)

    def _alone(self, m):
        self._tensor(m.arr, m.path, m.name)
        if m.flags:
            self.grad[m.name] = m.flags


def _block(group, lo, hi):
    """The bytes [lo, hi) that a group of overlapping tensors spans, as a 1-d array.

    When the memory all of them view is one contiguous numpy array, the block is read from
    it, gaps between the tensors included (as PyTorch stores a whole storage); otherwise
    the tensors' elements are gathered into zeros.
    """
    dt, size = group[0].arr.dtype, group[0].arr.itemsize
    root = group[0].arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    start = root.__array_interface__["data"][0]
    if root.flags.c_contiguous and start <= lo and hi <= start + root.nbytes:
        raw = root.reshape(-1).view(np.uint8)[lo - start:hi - start]
        return np.frombuffer(raw.tobytes(), dtype=dt)
    block = np.zeros((hi - lo) // size, dt)
    for m in group:
        _strided(block, (m.lo - lo) // size, m.arr.shape, m.arr.strides)[...] = m.arr
    return block


def _strided(flat, offset, shape, byte_strides):
    """A view of `flat` (1-d, C-contiguous) from element `offset` with the given layout."""
    return np.lib.stride_tricks.as_strided(flat[offset:], shape, byte_strides)


def _serialize(obj):
    """Validate `obj` and return (header bytes, [arrays in file order]); writes nothing."""
    enc = _Encoder()
    structure = enc.encode(obj)
    enc.finish()
    if enc.identity.wrap():
        enc.v2 = True
    version = _FORMAT_VERSION_2 if enc.v2 else _FORMAT_VERSION
    meta = {_FORMAT_KEY: version, _STRUCTURE_KEY: json.dumps(
        structure, separators=(",", ":"), ensure_ascii=False, allow_nan=False)}
    if enc.grad:
        meta[_GRAD_KEY] = json.dumps(enc.grad, separators=(",", ":"), ensure_ascii=False)
    if enc.odict_meta:
        meta[_ODICT_META_KEY] = json.dumps({str(i): pairs for i, pairs in enc.odict_meta.items()},
                                           separators=(",", ":"), ensure_ascii=False)
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

