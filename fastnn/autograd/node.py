"""Graph nodes: every differentiable op is a Node subclass with forward and backward on arrays.

An op's ``forward(*arrays, *args)`` computes its output array and saves what its backward
needs with ``self.save(...)``; ``backward(grad)`` returns one gradient array (or None) per
tensor input, computing only those that ``self.needs(i)`` says an edge will receive.
"""
import re
import weakref
from itertools import count
from sys import getrefcount

import numpy as np

from . import grad_mode

_state = grad_mode.state
_wrap = None  # fastnn.tensor sets this (the modules import each other)


class _Anomaly:
    enabled = False
    check_nan = True


anomaly = _Anomaly()


class _EngineMode:
    # True while a plain backward() runs: ops may then write leaf grads in place themselves
    direct = False
    # the nodes the latest backward pass started from, and a count of passes (multi-grad
    # hooks group the gradients of one pass)
    roots = ()
    passes = 0    # the id of the pass running now
    counter = 0   # ids handed out so far (never reused)
    # the id of the backward(create_graph=True) pass without inputs= running now, if any
    plain_graph_pass = None


engine_mode = _EngineMode()


_sequence = count()
new_sequence_number = _sequence.__next__


class Node:
    """Base graph node. ``_next[i]`` is the node that receives the gradient of input i."""
    _next = None          # None while no graph is recorded
    saved = ()
    _vcs = None           # [(version_counter, expected, array)] of saved tensors
    _freed = False
    _packed = None        # what saved_tensors_hooks' pack hook kept in place of ``saved``
    _pre_hooks = None     # hooks on the gradient flowing into this node (tensor hooks)
    _post_hooks = None    # hooks called with (grad_inputs, grad_outputs)
    _trace = None         # forward location, recorded under anomaly detection
    # creation order, stamped by whoever records the node (new_sequence_number()): a node is
    # always newer than the nodes of its inputs, the order backward() runs them in
    _seq = None

    def save(self, *arrays):
        if self._next is not None:
            self.saved = arrays

    @property
    def metadata(self):
        """A dict kept with the node, free for the user's notes (as PyTorch's)."""
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    def needs(self, i):
        return self._next[i] is not None

    _output_nr = 0  # which output of its op a tensor flowing into this node is

    @property
    def next_functions(self):
        return tuple((n, 0 if n is None else n._output_nr) for n in (self._next or ()))

    def _sequence_nr(self):
        """The node's creation order (backward runs newer nodes first)."""
        return self._seq

    def name(self):
        return type(self).__name__

    def register_hook(self, hook):
        """hook(grad_inputs, grad_outputs) runs after this node's backward."""
        from ..utils.hooks import RemovableHandle
        if self._post_hooks is None:
            self._post_hooks = {}
        return RemovableHandle(self._post_hooks, hook)

    def register_prehook(self, hook):
        """hook(grad_outputs) -> new grad_outputs or None, before this node's backward."""
        return self._register_grad_hook(_grad_fn_prehook(hook))

    def _register_grad_hook(self, hook):
        """A tensor hook (one gradient in, one or None out) on the gradient into this node."""
        from ..utils.hooks import RemovableHandle
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return RemovableHandle(self._pre_hooks, hook)

    def check_saved(self):
        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        for vc, expected, arr, producer in self._vcs:
            if vc[0] != expected:
                from ..tensor import _legacy_type_name
                if producer is True:
                    producer = self
                # PyTorch names the op whose output was modified, without "Backward0"
                made = "" if producer is None or type(producer) is AccumulateGrad else \
                    f", which is output 0 of {re.sub(r'Backward[0-9]*$', '', producer.name())},"
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{_legacy_type_name(arr)} "
                    f"[{', '.join(map(str, arr.shape))}]]{made} is at version {vc[0]}; expected "
                    f"version {expected} instead. {_version_hint()}")

    def release(self):
        if self.saved or self._packed is not None:
            self.saved = ()
            self._packed = None
            self._freed = True

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"


def _version_hint():
    # under anomaly mode the engine has warned with the forward trace of the failing op
    if anomaly.enabled:
        return ("Hint: the backtrace further above shows the operation that failed to compute "
                "its gradient. The variable in question was changed in there or anywhere later. "
                "Good luck!")
    return ("Hint: enable anomaly detection to find the operation that failed to compute its "
            "gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def save_unchecked(arr):
    """``arr`` for ``Node.save`` when only its shape matters to backward: a fresh view, which
    ``apply_node`` does not match to the input and so does not version-check (PyTorch does
    not save such an operand, and changing it in place before backward is allowed)."""
    return arr.view()


def saved_version(t, arr):
    """The entry ``check_saved`` compares for ``arr``, saved from tensor ``t``: its version
    counter, the version now, the array and its producer. Inference tensors cannot be saved."""
    vc = t._vc
    if vc.__class__ is grad_mode.InferenceVersion:
        raise RuntimeError(grad_mode.SAVED_INFERENCE)
    return (vc, vc[0], arr, t.grad_fn)


def keep_saved(out, *args):
    """Version-check what an op's node keeps as a plain array argument (an index, a target, a
    mask; ``args`` may hold non-tensors and one level of tuples, as an index expression does):
    changed in place before backward, it raises as a saved input does instead of giving a
    wrong gradient; an inference tensor is refused. Free when no graph was recorded."""
    node = out.grad_fn
    if node is not None:
        entries = [saved_version(t, t._data) for t in _tensors_in(args)]
        if entries:
            node._vcs = list(node._vcs) + entries if node._vcs else entries
    return out


def _tensors_in(args):
    for a in args:
        if isinstance(a, (tuple, list)):
            yield from (x for x in a if hasattr(x, "_vc"))
        elif hasattr(a, "_vc"):
            yield a


class AccumulateGrad(Node):
    """Sink node of a leaf: adds the incoming gradient into ``leaf.grad``."""

    def __init__(self, leaf):
        self.variable = leaf
        self._next = ()
        self.tensor_hooks = None

    def _sequence_nr(self):
        return 2 ** 64 - 1  # a leaf's sink ranks after every node, as in PyTorch

    def direct_target(self, shape, dt, array_type=np.ndarray, alloc=np.empty):
        """(array, accumulate) that an op may write this leaf's gradient into itself, or None.

        Lets a kernel accumulate straight into ``.grad`` (or the optimizer arena's slot)
        instead of allocating a gradient for the engine to add. The op then calls ``commit``.
        """
        if self.tensor_hooks or self._pre_hooks or self._post_hooks or not engine_mode.direct:
            return None  # hooks see (and may replace) the gradient before it is added
        leaf = self.variable
        if "_post_acc_hooks" in leaf.__dict__:
            return None  # the engine's sink sums every use first, then runs them once
        cur = leaf._grad
        if cur is None:
            slot = leaf._grad_slot  # the optimizer arena's slot, if packed
            if type(slot) is array_type and slot.dtype == dt and slot.shape == shape:
                return slot, False
            if not leaf._data.flags.c_contiguous:  # its gradient takes its layout: accumulate()
                return None
            return alloc(shape, dt), False
        arr = cur._data
        if type(arr) is array_type and arr.dtype == dt and arr.shape == shape and \
                arr.flags.c_contiguous and arr.flags.writeable:
            return arr, True
        return None

    def commit(self, arr, accumulated):
        leaf = self.variable
        if accumulated:
            leaf._grad._vc[0] += 1
        else:
            leaf._grad = _wrap(arr)
        if "_post_acc_hooks" in leaf.__dict__:
            _run_post_accumulate_hooks(leaf)

    def accumulate(self, g):
        """Add ``g`` into the leaf's grad. Hooks run in PyTorch's order: the leaf's tensor hooks,
        this node's prehooks, then (after adding) post-accumulate hooks and this node's hooks."""
        leaf = self.variable
        if self.tensor_hooks:
            g = run_tensor_hooks(self.tensor_hooks, g)
        if self._pre_hooks:
            g = run_tensor_hooks(self._pre_hooks, g)
        cur = leaf._grad
        dt = leaf._data.dtype
        if cur is None:
            # copy: the incoming array may be shared with a sibling's grad or be a broadcast view
            arr = leaf._grad_slot  # the optimizer arena's slot, if packed
            if arr is not None:
                np.copyto(arr, g.reshape(arr.shape), casting="unsafe")
            elif type(g) is np.ndarray or not hasattr(g, "device_spec"):
                data = leaf._data
                if data.flags.c_contiguous:  # the gradient takes the leaf's layout
                    arr = np.array(g, dtype=dt, order="C").reshape(data.shape)
                else:
                    arr = np.empty_like(data)
                    np.copyto(arr, g.reshape(data.shape), casting="unsafe")
            else:  # a CUDA array: copy on its device
                arr = g.astype(dt).reshape(leaf._data.shape)
            leaf._grad = _wrap(arr)
        else:
            cur_arr = cur._data
            if cur_arr.flags.writeable:
                np.add(cur_arr, g.reshape(cur_arr.shape), out=cur_arr, casting="unsafe")
            else:
                cur._data = cur_arr + g
            cur._vc[0] += 1
        if "_post_acc_hooks" in leaf.__dict__:
            _run_post_accumulate_hooks(leaf)
        if self._post_hooks:  # gradient-ready hooks: (grad_inputs=(), grad_outputs=(g,))
            from .engine import run_post_hooks
            run_post_hooks(self, (), g, as_arrays=True)


def _run_post_accumulate_hooks(leaf):
    for hook in list(leaf.__dict__["_post_acc_hooks"].values()):
        if hook(leaf) is not None:
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")


# Owners of gradient slots (the optimizer arenas), as {id: weak reference}: each is asked, at
# the start of every backward pass, to make sure no slot it is about to hand out still backs
# a kept gradient. (A plain dict: iterating a WeakSet costs microseconds per backward.)
slot_owners = {}


def add_slot_owner(owner):
    key = id(owner)
    slot_owners[key] = weakref.ref(owner, lambda _, key=key: slot_owners.pop(key, None))


def forget_grad(t):
    """``t.grad = None`` for zero_grad: a gradient tensor the caller kept (``g = p.grad``)
    gets its own copy, so the next backward may reuse the arena slot it was in."""
    g = t._grad
    t._grad = None
    # references: `g` and getrefcount's argument; more means the caller holds the tensor
    if g is not None and g._data is t.__dict__.get("_grad_slot") and getrefcount(g) > 2:
        g._data = g._data.copy()


def run_tensor_hooks(hooks, g):
    from ..tensor import Tensor, _wrap
    for hook in list(hooks.values()):
        r = hook(_wrap(g))
        if r is not None:
            if not isinstance(r, Tensor):
                raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
            if r._data.shape != g.shape:
                raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value")
            g = r._data
    return g


def _hook_name(hook):
    return getattr(getattr(hook, "_user_hook", hook), "__name__", type(hook).__name__)


def _grad_fn_prehook(hook):
    """A ``grad_fn.register_prehook`` hook (tuple of output grads in, tuple or None out) as
    the one-gradient tensor hook the engine runs."""
    def tensor_hook(g):
        out = hook((g,))
        if out is None:
            return None
        if not isinstance(out, tuple):
            raise TypeError(f"expected tuple, but hook returned '{type(out).__name__}'")
        if len(out) != 1:
            raise RuntimeError(f"hook '{_hook_name(hook)}' has returned an incorrect number of "
                               f"values (got {len(out)}, but expected 1)")
        return out[0] if out[0] is not None else g
    tensor_hook._user_hook = hook
    return tensor_hook


def capture_trace():
    """Where the forward op ran: the user's source line (outside fastnn) and module path."""
    import traceback
    from ..nn.modules.module import current_module_path
    frames = traceback.extract_stack()
    pkg = __name__.split(".")[0]
    user = [f for f in frames if f"/{pkg}/" not in f.filename.replace("\\", "/")]
    where = user[-1] if user else frames[-1]
    path = current_module_path()
    loc = f'File "{where.filename}", line {where.lineno}, in {where.name}\n    {where.line}'
    return (f"in module '{path}'\n" if path else "") + loc


def has_nan(arr):
    return arr is not None and arr.dtype.kind in "fc" and bool(np.isnan(arr).any())
