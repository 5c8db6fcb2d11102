"""PyTorch-style printing: ``tensor([[ 0.1000, -2.0000]], requires_grad=True)``."""
import numpy as np

from . import _dtype as D

_opts = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    if profile == "default":
        _opts.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        _opts.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        _opts.update(precision=4, threshold=2 ** 62, edgeitems=3, linewidth=80)
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            _opts[k] = v
    _opts["sci_mode"] = sci_mode


def _float_formatter(arr):
    """PyTorch's choice of format, from the nonzero finite values that will be shown."""
    finite = arr[np.isfinite(arr)]
    p = _opts["precision"]
    nz = np.abs(finite[finite != 0])
    int_mode = bool(np.all(finite == np.ceil(finite)))
    # with no nonzero finite value to show, PyTorch prints the integer form whatever sci_mode
    sci = _opts["sci_mode"] if nz.size else False
    if sci is None:
        amax, amin = (nz.max(), nz.min()) if nz.size else (0.0, 0.0)
        sci = bool(nz.size) and (amax / amin > 1000 or amax > 1e8 or
                                 (not int_mode and amin < 1e-4))
    if sci:
        return lambda x: _special(x) or f"{x:.{p}e}"
    if int_mode:
        return lambda x: _special(x) or f"{x:.0f}."
    return lambda x: _special(x) or f"{x:.{p}f}"


def _special(x):
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return None


def format_array(arr, indent):
    summarize = arr.size > _opts["threshold"]
    shown = arr if not summarize else _edges(arr, _opts["edgeitems"])
    if arr.dtype.kind == "f":
        fmt = _float_formatter(shown.astype(np.float64))
    elif arr.dtype.kind == "b":
        fmt = lambda x: "True" if x else "False"  # noqa: E731
    else:
        fmt = lambda x: str(int(x))  # noqa: E731
    if arr.size == 0:
        return "[]"
    # PyTorch pads every element to the widest one so columns line up; for floats only the
    # nonzero finite values count (so nan/inf/0 never widen a column), and that width also
    # sets how many elements a line holds
    vals = shown.reshape(-1)
    if arr.dtype.kind == "f":
        vals = vals[np.isfinite(vals) & (vals != 0)]
    width = max((len(fmt(x)) for x in vals), default=1)
    base = fmt
    fmt = lambda x: base(x).rjust(width)  # noqa: E731
    if arr.ndim == 0:
        return fmt(arr.item())
    return _nested(arr, indent, summarize, fmt, width)


def _nested(arr, indent, summarize, fmt, width):
    """PyTorch's layout: rows wrap at a fixed count of elements per line (from the line
    width, the indent and the common element width), sub-arrays are separated by a comma
    and one newline per remaining dimension, and summarized runs show as ``...``."""
    k = _opts["edgeitems"]
    cut = summarize and arr.shape[0] > 2 * k
    if arr.ndim == 1:
        vals = [fmt(x) for x in (arr[:k] if cut else arr).tolist()]
        if cut:
            vals += [" ..."] + [fmt(x) for x in arr[-k:].tolist()]
        per_line = max(1, (_opts["linewidth"] - indent) // (width + 2))
        lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(k) if cut else range(arr.shape[0])
    parts = [_nested(arr[i], indent + 1, summarize, fmt, width) for i in rows]
    if cut:
        parts += ["..."] + [_nested(arr[i], indent + 1, summarize, fmt, width)
                            for i in range(arr.shape[0] - k, arr.shape[0])]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _edges(arr, k):
    for ax in range(arr.ndim):
        if arr.shape[ax] > 2 * k:
            arr = np.concatenate([np.take(arr, range(k), ax),
                                  np.take(arr, range(arr.shape[ax] - k, arr.shape[ax]), ax)], ax)
    return arr


def format_tensor(t, name="tensor"):
    arr = t._host()
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    d = D._FROM_NP.get(arr.dtype)
    default_like = d is D.get_default_dtype() or d is D.int64 or d is D.bool_
    body = format_array(arr, len(name) + 1)
    if arr.size == 0 and arr.shape != (0,):
        extras.append(f"size={tuple(arr.shape)}")
    if not default_like or (arr.size == 0 and d is not D.get_default_dtype()):
        extras.append(f"dtype={d}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        extras.append("requires_grad=True")
    return _with_suffixes(f"{name}({body}", extras, len(name) + 1)


def _with_suffixes(text, extras, indent):
    """Append ``, dtype=...`` and the like, moving one to a new line when it would pass the
    print width (the last line's length counts the ", " and ")" around it)."""
    parts = [text]
    last = len(text) - text.rfind("\n") + 1
    for e in extras:
        if last + len(e) + 2 > _opts["linewidth"]:
            parts.append(",\n" + " " * indent + e)
            last = indent + len(e)
        else:
            parts.append(", " + e)
            last += len(e) + 2
    return "".join(parts) + ")"
