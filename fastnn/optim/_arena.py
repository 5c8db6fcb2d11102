"""Contiguous parameter arenas: one flat array holds every parameter of a group.

Packing copies each parameter's values into a flat array and rebinds ``p._data`` to a view of
its slice, so the tensor, its shape and its values are unchanged for the user while one kernel
call can update the whole group.  A matching flat gradient array gives every parameter a
``_grad_slot`` that autograd writes the first gradient of a backward pass into.  Optimizer
state (momentum, moments, step counts) lives in flat arrays of the same layout, and
``optimizer.state[p]`` holds tensors viewing them.

Only memory that nothing else reaches is packed (see ``_private``), and a gradient the user
kept from an earlier backward keeps its values (see ``Arena.check_slots``), so the arena
is invisible to user code. The optimizer never trusts a view blindly: before each step it checks by identity that
``p._data`` and ``p.grad._data`` are still the arena's views (a user may assign ``p.data`` or
``p.grad``), and state tensors that were replaced are copied back in.
"""
import weakref
from sys import getrefcount

import numpy as np

from ..autograd.node import add_slot_owner
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


def _private(params):
    """ids of the parameters whose memory only parameters among ``params`` reach.

    Packing moves a parameter's values, which is unseen only when nothing else sees that
    memory: no other tensor sharing the array, no numpy array from ``from_numpy``, no view
    taken before the optimizer existed. A view is private when every reference to its base
    is a parameter in ``params`` (the arena of an optimizer that is gone, say).
    """
    params = list({id(p): p for p in params}.values())
    views = {}
    for p in params:
        b = getattr(p._data, "base", None)
        if type(p._data) is np.ndarray and b is not None:
            views[id(b)] = views.get(id(b), 0) + 1
    b = None
    out = set()
    for p in params:
        d = p._data
        if type(d) is not np.ndarray:
            out.add(id(p))  # a device array: packing keeps it on its device
        elif getrefcount(d) <= 3:  # p._data, d and getrefcount's argument
            b = d.base
            if b is None or getrefcount(b) <= views[id(b)] + 2:
                out.add(id(p))
            b = None
    return out


def packable(p, private):
    d = p._data
    # a non-contiguous parameter (a transposed view, say) keeps its own strides, as in
    # PyTorch: packing would make it contiguous, so it is stepped on its own
    return (type(d) is np.ndarray or hasattr(d, "device_spec")) and d.dtype in _PACKABLE and \
        d.flags.c_contiguous and \
        id(p) in private and owner(p) is None


def any_packable(params):
    private = _private(params)
    return any(packable(p, private) for p in params)


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
        self.views = []
        ref = weakref.ref(self)
        for p, (lo, hi) in zip(self.params, self.bounds):
            view = self.data[lo:hi].reshape(p._data.shape)
            np.copyto(view, p._data)
            p._data = view
            p.__dict__["_arena_ref"] = ref
            self.views.append(view)
        self._new_grad(_flat_zeros(first, total))
        self.bufs = {}        # state name -> flat array
        self.buf_t = {}       # state name -> per-parameter view tensors
        self.step_dtype = step_dtype
        self.steps = None
        self.step_t = None
        add_slot_owner(self)

    def _new_grad(self, flat):
        """Make ``flat`` the gradient array and hand every parameter its slot of it.

        A live gradient (one being accumulated into) keeps its old memory: a kernel may
        already hold that slot as its output, and the optimizer steps such a parameter on
        its own until its gradient is next cleared.
        """
        old = getattr(self, "gviews", None)
        self.grad = flat
        self.gviews = []
        for i, (p, (lo, hi)) in enumerate(zip(self.params, self.bounds)):
            slot = flat[lo:hi].reshape(self.views[i].shape)
            self.gviews.append(slot)
            if old is None or p.__dict__.get("_grad_slot") is old[i]:
                p._grad_slot = slot
        # every slot and every view of one refers to the array owning the memory; more
        # references than ours mean someone kept a gradient from an earlier backward
        self._grad_owner = flat if flat.base is None else flat.base
        self._grad_refs = getrefcount(self._grad_owner)

    def check_slots(self):
        """At the start of each backward pass, before any gradient is written into the arena.

        A gradient the user kept (``g = p.grad``, ``p.grad.detach()``, ``.numpy()``, a view)
        must keep its values, as a fresh gradient tensor would in PyTorch: if the memory of
        a slot is still reachable, the gradients get new memory.
        """
        if self._kept():
            self._new_grad(_flat_zeros(self.grad, self.grad.size))

    def _kept(self):
        if type(self.grad) is np.ndarray and getrefcount(self._grad_owner) > self._grad_refs:
            return True  # a view of some slot (views of views all refer to the owner)
        params, gviews = self.params, self.gviews
        for i in range(len(params)):  # (not zip: its reused result tuple holds a reference)
            slot = gviews[i]
            g = params[i]._grad
            # the gviews list, p's attribute, `slot` and getrefcount's argument, and the
            # live gradient of p when there is one
            if getrefcount(slot) > (5 if g is not None and g._data is slot else 4):
                return True
        return False

    def release(self):
        """Stop claiming the parameters (their values stay where they are); their gradient
        slots go too, since a kept gradient may still live in one."""
        for p, slot in zip(self.params, self.gviews):
            if p.__dict__.get("_arena_ref") is not None and p.__dict__["_arena_ref"]() is self:
                del p.__dict__["_arena_ref"]
            if p.__dict__.get("_grad_slot") is slot:
                del p.__dict__["_grad_slot"]

    def __del__(self):  # the optimizer is gone
        try:
            self.release()
        except Exception:  # interpreter shutdown: nothing left to protect
            pass

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
    private = _private(params)
    for p in params:
        if id(p) in seen or not packable(p, private):
            loose.append(p)
            continue
        seen.add(id(p))
        by_dtype.setdefault((type(p._data), p._data.dtype), []).append(p)  # one per device
    arenas = [Arena(ps, step_dtype) for ps in by_dtype.values()]
    return arenas, loose
