"""fastnn.testing.assert_close: PyTorch's closeness check, tolerances and messages.

Tensors (and numpy arrays) are compared elementwise with |actual - expected| <= atol +
rtol * |expected|, the default tolerances chosen by dtype; Python scalars, sequences and
mappings are compared item by item, a failure naming the item it occurred for.
"""
import collections.abc
import math

import numpy as np

from . import _dtype as D
from .tensor import Tensor

__all__ = ["assert_close"]

# PyTorch's defaults (rtol, atol); every other dtype is compared exactly
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
    np.dtype(np.complex64): (1.3e-6, 1e-5),
    np.dtype(np.complex128): (1e-7, 1e-7),
}


class _Mismatch(Exception):
    """A failure whose message is final, raised as AssertionError at the top level."""


def _default_tolerances(*dtypes):
    tols = [_TOLERANCES.get(np.dtype(d), (0.0, 0.0)) for d in dtypes]
    return max(t[0] for t in tols), max(t[1] for t in tols)


def _mismatch_msg(identifier, extra, abs_diff, abs_idx, atol, rel_diff, rel_idx, rtol):
    equality = rtol == 0 and atol == 0

    def line(kind, diff, idx, tol):
        msg = (f"{kind.title()} difference: {diff}" if idx is None
               else f"Greatest {kind} difference: {diff} at index {idx}")
        return msg + ("" if equality else f" (up to {tol} allowed)") + "\n"

    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n{extra.strip()}\n"
    msg += line("absolute", abs_diff, abs_idx, atol)
    msg += line("relative", rel_diff, rel_idx, rtol)
    return msg.strip()


def _scalar_msg(actual, expected, rtol, atol):
    abs_diff = abs(actual - expected)
    rel_diff = math.inf if expected == 0 else abs_diff / abs(expected)
    return _mismatch_msg("Scalars", f"Expected {expected} but got {actual}.", abs_diff, None,
                         atol, rel_diff, None, rtol)


def _as_array(x):
    return np.asarray(x._data if isinstance(x, Tensor) else x)


def _dtype_repr(npd):
    return repr(D._FROM_NP[npd]) if npd in D._FROM_NP else str(npd)


def _compare_arrays(actual, expected, rtol, atol, equal_nan, check_dtype):
    a, e = _as_array(actual), _as_array(expected)
    if a.shape != e.shape:
        raise _Mismatch(f"The values for attribute 'shape' do not match: "
                        f"{D.Size(a.shape)!r} != {D.Size(e.shape)!r}.")
    if check_dtype and a.dtype != e.dtype:
        raise _Mismatch(f"The values for attribute 'dtype' do not match: "
                        f"{_dtype_repr(a.dtype)} != {_dtype_repr(e.dtype)}.")
    if rtol is None:
        rtol, atol = _default_tolerances(a.dtype, e.dtype)
    common = np.promote_types(a.dtype, e.dtype)
    if common.kind in "biu":  # exact, and with room for the difference
        a, e = a.astype(np.int64), e.astype(np.int64)
        matches = a == e
    else:
        a, e = a.astype(common, copy=False), e.astype(common, copy=False)
        with np.errstate(all="ignore"):
            matches = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if matches.all():
        return
    if a.ndim == 0:
        raise _Mismatch(_scalar_msg(a.item(), e.item(), rtol, atol))
    total, bad = matches.size, int(matches.size - matches.sum())
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a.ravel() - e.ravel())
        abs_diff[matches.ravel()] = 0
        rel_diff = abs_diff / np.abs(e.ravel())
    rel_diff[matches.ravel()] = 0
    ia, ir = int(np.nanargmax(abs_diff)), int(np.nanargmax(rel_diff))
    # a NaN difference is the greatest, as torch.max reports it
    if np.isnan(abs_diff).any():
        ia = int(np.flatnonzero(np.isnan(abs_diff))[0])
    if np.isnan(rel_diff).any():
        ir = int(np.flatnonzero(np.isnan(rel_diff))[0])
    index = lambda i: tuple(int(v) for v in np.unravel_index(i, a.shape))  # noqa: E731
    raise _Mismatch(_mismatch_msg("Tensor-likes", f"Mismatched elements: {bad} / {total} "
                                  f"({bad / total:.1%})", abs_diff[ia].item(), index(ia), atol,
                                  rel_diff[ir].item(), index(ir), rtol))


def _compare_scalars(actual, expected, rtol, atol, equal_nan, check_dtype):
    if isinstance(actual, bool) or isinstance(expected, bool):
        if not (isinstance(actual, bool) and isinstance(expected, bool)):
            raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
        if actual is not expected:
            raise _Mismatch(f"Booleans mismatch: {actual} is not {expected}")
        return
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    if rtol is None:  # Python scalars hold float64 (complex128) values
        exact = isinstance(actual, int) and isinstance(expected, int)
        rtol, atol = (0.0, 0.0) if exact else (1e-7, 1e-7)
    if actual == expected or (equal_nan and actual != actual and expected != expected):
        return
    if abs(actual - expected) <= atol + rtol * abs(expected):
        return
    raise _Mismatch(_scalar_msg(actual, expected, rtol, atol))


def _is_tensor_like(x):
    return isinstance(x, (Tensor, np.ndarray))


def _compare(actual, expected, path, opts):
    try:
        if _is_tensor_like(actual) and _is_tensor_like(expected):
            if type(actual) is not type(expected):
                raise TypeError(f"No comparison pair was able to handle inputs of type "
                                f"{type(actual)} and {type(expected)}.")
            return _compare_arrays(actual, expected, *opts)
        numbers = (int, float, complex, np.number, np.bool_)
        if isinstance(actual, numbers) and isinstance(expected, numbers):
            a = actual.item() if isinstance(actual, np.generic) else actual
            e = expected.item() if isinstance(expected, np.generic) else expected
            return _compare_scalars(a, e, *opts)
    except _Mismatch as e:
        msg = str(e)
        if path:
            msg += "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in path)
        raise _Mismatch(msg) from None
    seq = collections.abc.Sequence
    if isinstance(actual, seq) and isinstance(expected, seq) and \
            not isinstance(actual, (str, bytes)) and not isinstance(expected, (str, bytes)):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != "
                            f"{len(expected)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, path + (i,), opts)
        return
    if isinstance(actual, collections.abc.Mapping) and \
            isinstance(expected, collections.abc.Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the "
                            f"actual mapping: {missing}\nAdditional keys in the actual mapping: "
                            f"{extra}")
        for k in expected:
            _compare(actual[k], expected[k], path + (k,), opts)
        return
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close (see the module doc).

    Without ``rtol``/``atol`` the tolerances follow the dtype: float32 1.3e-6/1e-5, float64
    1e-7/1e-7, float16 1e-3/1e-5, integers and bools exact. ``msg`` replaces the message
    (a callable receives the default one).
    """
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    try:
        _compare(actual, expected, (), (rtol, atol, equal_nan, check_dtype))
    except _Mismatch as e:
        text = str(e)
        if msg is not None:
            text = msg(text) if callable(msg) else msg
        raise AssertionError(text) from None
