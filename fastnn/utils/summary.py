"""``fastnn.summary(model, input_size)``: a torchinfo-style table of a model's layers.

One forward pass (in eval mode, without gradients, on inputs drawn from a private RNG so the
global seed stream is untouched) is observed through forward hooks: every module call
becomes a row with its path in the model, its type, its output shape and its own parameter
count, followed by totals and a memory estimate.
"""
import numpy as np

from .. import _dtype as D

_MB = 1e6


class ModelSummary:
    """What ``summary`` found; ``str()`` (and ``repr()``) is the printed table."""

    def __init__(self, model_name, rows, total_params, trainable_params, input_bytes,
                 activation_bytes, param_bytes):
        self.model_name = model_name
        self.rows = rows  # dicts: path, type, depth, output_shape, num_params
        self.total_params = total_params
        self.trainable_params = trainable_params
        self.non_trainable_params = total_params - trainable_params
        self.input_bytes = input_bytes
        self.forward_backward_bytes = 2 * activation_bytes  # activations and their grads
        self.param_bytes = param_bytes
        self.total_bytes = input_bytes + self.forward_backward_bytes + param_bytes

    def __str__(self):
        headers = ("Layer (path)", "Type", "Output Shape", "Param #")
        cells = []
        for r in self.rows:
            n = r["num_params"]
            cells.append(("  " * r["depth"] + (r["path"] or self.model_name), r["type"],
                          r["output_shape"], n if isinstance(n, str) else f"{n:,}"))
        widths = [max([len(h)] + [len(c[i]) for c in cells]) + 3 for i, h in enumerate(headers)]
        rule = "=" * sum(widths)

        def line(values):
            return "".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()
        out = [rule, line(headers), rule, *(line(c) for c in cells), rule,
               f"Total params: {self.total_params:,}",
               f"Trainable params: {self.trainable_params:,}",
               f"Non-trainable params: {self.non_trainable_params:,}", rule,
               f"Input size (MB): {self.input_bytes / _MB:.2f}",
               f"Forward/backward pass size (MB): {self.forward_backward_bytes / _MB:.2f}",
               f"Params size (MB): {self.param_bytes / _MB:.2f}",
               f"Estimated Total Size (MB): {self.total_bytes / _MB:.2f}", rule]
        return "\n".join(out)

    __repr__ = __str__


def _shape_of(out):
    from ..tensor import Tensor
    if isinstance(out, Tensor):
        return list(out.shape)
    if isinstance(out, (tuple, list)):
        shapes = [_shape_of(o) for o in out]
        return [s for s in shapes if s is not None] or None
    if isinstance(out, dict):
        return _shape_of(list(out.values()))
    return None


def _nbytes(out):
    from ..tensor import Tensor
    if isinstance(out, Tensor):
        return out.nbytes
    if isinstance(out, (tuple, list)):
        return sum(_nbytes(o) for o in out)
    if isinstance(out, dict):
        return sum(_nbytes(o) for o in out.values())
    return 0


def _make_inputs(input_size, dtypes, device):
    from .._creation import _finish
    sizes = input_size
    if isinstance(sizes, (tuple, list, D.Size)) and all(isinstance(s, int) for s in sizes):
        sizes = [sizes]
    sizes = list(sizes)
    for s in sizes:
        if not (isinstance(s, (tuple, list, D.Size)) and all(isinstance(d, int) and d >= 0
                                                             for d in s)):
            raise TypeError("summary(): input_size must be a shape (a tuple of non-negative "
                            "ints, batch dimension first) or a list of shapes, one per input; "
                            f"got {input_size!r}")
    if dtypes is None:
        dtypes = [D.get_default_dtype()] * len(sizes)
    if len(dtypes) != len(sizes):
        raise ValueError(f"summary(): got {len(dtypes)} dtypes for {len(sizes)} inputs")
    rng = np.random.default_rng(0)  # private: the user's seeded stream is left alone
    inputs = []
    for s, dt in zip(sizes, dtypes):
        dt = D.to_dtype(dt)
        arr = rng.random(tuple(s)).astype(dt.np) if dt.is_floating_point \
            else np.zeros(tuple(s), dt.np)  # integer inputs (indices) are all valid as 0
        inputs.append(_finish(arr, device, False))
    return inputs


def summary(model, input_size=None, dtypes=None, device=None, *, input_data=None,
            depth=None, verbose=1):
    """Print (``verbose=1``) and return a ModelSummary of ``model``.

    ``input_size`` is one shape with the batch dimension, e.g. ``(1, 1, 28, 28)``, or a list
    of shapes for a multi-input forward; ``input_data`` passes real inputs instead. Without
    either, the table lists the modules and their parameters but no output shapes.
    """
    from ..nn.modules.module import Module
    from ..tensor import Tensor
    from ..autograd.grad_mode import no_grad
    if not isinstance(model, Module):
        raise TypeError(f"summary() expects a fastnn.nn.Module, got {type(model).__name__}")
    if input_data is not None:
        inputs = [input_data] if isinstance(input_data, Tensor) else list(input_data)
    elif input_size is not None:
        inputs = _make_inputs(input_size, dtypes, device)
    else:
        inputs = None
    paths = {id(m): p for p, m in model.named_modules()}
    rows, seen = [], set()

    def own_params(m):
        ps = [p for p in m._parameters.values() if p is not None]
        if not ps:
            return "--"
        if id(m) in seen:
            return "(recursive)"
        return sum(p.numel() for p in ps)

    def add_row(m, shape=None):
        path = paths.get(id(m), "")
        rows.append({"path": path, "type": type(m).__name__,
                     "depth": path.count(".") + 1 if path else 0,
                     "output_shape": "--" if shape is None else str(shape),
                     "num_params": own_params(m), "leaf": not m._modules, "module": m})
        seen.add(id(m))
        return rows[-1]

    activation = [0]
    if inputs is None:
        for m in model.modules():
            add_row(m)
    else:
        def pre(m, args):
            pending.append(add_row(m))

        def post(m, args, out):
            row = pending.pop()
            shape = _shape_of(out)
            row["output_shape"] = "--" if shape is None else str(shape)
            if row["leaf"]:
                activation[0] += _nbytes(out)
        pending = []
        handles = []
        modes = {id(m): m.training for m in model.modules()}
        try:
            for m in model.modules():
                handles.append(m.register_forward_pre_hook(pre))
                handles.append(m.register_forward_hook(post))
            model.eval()
            with no_grad():
                model(*inputs)
        finally:
            for h in handles:
                h.remove()
            for m in model.modules():
                m.training = modes[id(m)]
    if depth is not None:
        rows = [r for r in rows if r["depth"] <= depth]
    for r in rows:
        del r["module"]
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    input_bytes = sum(_nbytes(x) for x in inputs) if inputs else 0
    result = ModelSummary(type(model).__name__, rows, total, trainable, input_bytes,
                          activation[0], sum(p.nbytes for p in params))
    if verbose:
        print(result)
    return result
