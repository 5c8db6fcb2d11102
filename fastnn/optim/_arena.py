"""Contiguous parameter arenas: one flat array holds every parameter of a group.

Packing copies each parameter's values into a flat array and rebinds ``p._data`` to a view of
its slice, so the tensor, its shape and its values are unchanged for the user while one kernel
call can update the whole group.  A matching flat gradient array gives every parameter a
``_grad_slot`` that autograd writes the first gradient of a backward pass into.  Optimizer
state (momentum, moments, step counts) lives in flat arrays of the same layout, and
``optimizer.state[p]`` holds tensors viewing them.

The optimizer never trusts a view blindly: before each step it checks by identity that
``p._data`` and ``p.grad._data`` are still the arena's views (a user may assign ``p.data`` or
``p.grad``), and state tensors that were replaced are copied back in.
"""
import weakref

import numpy as np

from ..tensor import _wrap

_PACKABLE = (np.dtype(np.float32), np.dtype(np.float64))
_ALIGN = 64  # bytes: one cache line, two AVX registers


def _flat_zeros(like, n):
    """n zeros of like's dtype on like's device; in host memory from an _ALIGN-byte boundary."""
    if type(like) is not np.ndarray:  # a GPU arena: the flat arrays live on the device
        return np.zeros_like(like, shape=(n,))
    size = n * like.dtype.itemsize
    raw = np.zeros(size + _ALIGN, dtype=np.uint8)
    skip = -raw.ctypes.data % _ALIGN
    return raw[skip:skip + size].view(like.dtype)


def owner(p):
    """The live arena whose view ``p`` still is, or None."""
    ref = p.__dict__.get("_arena_ref")
    arena = ref() if ref is not None else None
    if arena is None:
        return None
    i = arena.index.get(id(p))
    if i is None or arena.params[i] is not p or p._data is not arena.views[i]:
        return None
    return arena


def packable(p):
    d = p._data
    return (type(d) is np.ndarray or hasattr(d, "device_spec")) and d.dtype in _PACKABLE and \
        owner(p) is None


class Arena:
    """Parameters of one dtype, packed back to back in ``data``; gradients in ``grad``."""

    def __init__(self, params, step_dtype):
        self.params = list(params)
        self.index = {id(p): i for i, p in enumerate(self.params)}
        dtype = self.params[0]._data.dtype
        # each parameter starts on a 64-byte boundary: a slice after an odd-sized bias would
        # otherwise leave the next weight misaligned for the kernels and BLAS reading it
        step = max(1, _ALIGN // dtype.itemsize)
        self.bounds, total = [], 0
        for p in self.params:
            lo = -(-total // step) * step
            total = lo + p._data.size
            self.bounds.append((lo, total))
        first = self.params[0]._data
        # gaps stay zero in every flat array, so a whole-arena update leaves them zero
        self.data = _flat_zeros(first, total)
        self.grad = _flat_zeros(first, total)
        self.views, self.gviews = [], []
        ref = weakref.ref(self)
        for p, (lo, hi) in zip(self.params, self.bounds):
            shape = p._data.shape
            view = self.data[lo:hi].reshape(shape)
            np.copyto(view, p._data)
            p._data = view
            p._grad_slot = self.grad[lo:hi].reshape(shape)
            p.__dict__["_arena_ref"] = ref
            self.views.append(view)
            self.gviews.append(p._grad_slot)
        self.bufs = {}        # state name -> flat array
        self.buf_t = {}       # state name -> per-parameter view tensors
        self.step_dtype = step_dtype
        self.steps = None
        self.step_t = None

    def release(self):
        """Stop claiming the parameters (their values stay where they are)."""
        for p in self.params:
            if p.__dict__.get("_arena_ref") is not None and p.__dict__["_arena_ref"]() is self:
                del p.__dict__["_arena_ref"]

    def buffer(self, key):
        """Per-parameter view tensors of state array ``key`` (allocated zeroed on first use)."""
        ts = self.buf_t.get(key)
        if ts is None:
            flat = _flat_zeros(self.data, self.data.size)
            ts = [_wrap(flat[lo:hi].reshape(v.shape))
                  for (lo, hi), v in zip(self.bounds, self.views)]
            self.bufs[key] = flat
            self.buf_t[key] = ts
        return ts

    def step_tensors(self):
        if self.step_t is None:
            self.steps = np.zeros(len(self.params), dtype=self.step_dtype)
            self.step_t = [_wrap(self.steps[i:i + 1].reshape(())) for i in range(len(self.params))]
        return self.step_t

    def span(self, flat, i0, i1):
        """Parameters i0..i1-1 of a flat array (with the zero gaps between them)."""
        return flat[self.bounds[i0][0]:self.bounds[i1 - 1][1]]


def pack_group(params, step_dtype):
    """Arenas (one per dtype) for the packable parameters; returns (arenas, loose params)."""
    by_dtype, loose, seen = {}, [], set()
    for p in params:
        if id(p) in seen or not packable(p):
            loose.append(p)
            continue
        seen.add(id(p))
        by_dtype.setdefault((type(p._data), p._data.dtype), []).append(p)  # one per device
    arenas = [Arena(ps, step_dtype) for ps in by_dtype.values()]
    return arenas, loose
