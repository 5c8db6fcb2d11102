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
    finite = arr[np.isfinite(arr)]
    p = _opts["precision"]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
        return lambda x: _special(x) or f"{x:.0f}."
    amax = np.abs(finite).max() if finite.size else 0.0
    nz = np.abs(finite[finite != 0])
    amin = nz.min() if nz.size else 0.0
    sci = _opts["sci_mode"]
    if sci is None:
        sci = amax >= 1e8 or (amin and amin < 1e-4) or (amin and amax / amin > 1000)
    if sci:
        return lambda x: _special(x) or f"{x:.{p}e}"
    return lambda x: _special(x) or f"{x:.{p}f}"


def _special(x):
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    return None


def format_array(arr, indent):
    if arr.dtype.kind == "f":
        fmt = _float_formatter(arr.astype(np.float64))
    elif arr.dtype.kind == "b":
        fmt = lambda x: "True" if x else "False"  # noqa: E731
    else:
        fmt = lambda x: str(int(x))  # noqa: E731
    summarize = arr.size > _opts["threshold"]
    if arr.size:
        # PyTorch pads every element to the widest one so columns line up
        shown = arr if not summarize else _edges(arr, _opts["edgeitems"])
        width = max(len(fmt(x)) for x in shown.reshape(-1))
        base = fmt
        fmt = lambda x: base(x).rjust(width)  # noqa: E731
    return np.array2string(arr, separator=", ", prefix=" " * indent,
                           formatter={"all": fmt}, threshold=0 if summarize else arr.size + 1,
                           edgeitems=_opts["edgeitems"], max_line_width=_opts["linewidth"])


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
    if arr.size == 0 and arr.ndim == 1:
        body = "[]"
    else:
        body = format_array(arr, len(name) + 1)
    if arr.size == 0 and arr.shape != (0,):
        extras.append(f"size={tuple(arr.shape)}")
    if not default_like or (arr.size == 0 and d is not D.get_default_dtype()):
        extras.append(f"dtype={d}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        extras.append("requires_grad=True")
    return f"{name}({body}{''.join(', ' + e for e in extras)})"
