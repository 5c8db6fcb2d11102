"""numpy's floating-point warnings switched off inside fastnn's ops.

PyTorch returns inf and nan quietly (``log(0)``, ``0/0``, overflow); numpy warns. A warnings
filter cannot hide them reliably: test runners such as pytest reset the filters around each
test, and a suite run with ``-W error`` would then fail on a legitimate ``log(0)``. numpy keeps
its error state in a context variable, so fastnn sets it for the duration of an op and restores
it after: the user's own numpy code keeps the settings the user chose, except inside tensor
hooks and custom Function backwards, which run within the quiet backward pass. Setting the
variable costs well under a microsecond, where ``np.errstate`` costs about three.
"""
import functools


class _NoState:
    """Stands in for numpy's context variable on numpy < 2.0 (the warnings stay visible)."""

    def set(self, value):
        return None

    def reset(self, token):
        pass


try:  # numpy >= 2.0 keeps the state in a context variable
    from numpy._core._multiarray_umath import _extobj_contextvar as STATE
    from numpy._core._multiarray_umath import _make_extobj
    QUIET = _make_extobj(all="ignore")
except (ImportError, AttributeError, TypeError):
    STATE, QUIET = _NoState(), None

# hot paths (apply, the backward engine) call STATE.set(QUIET) / STATE.reset(token) inline


def quiet():
    """Switch numpy's floating-point warnings off; returns the token for ``restore``."""
    return STATE.set(QUIET)


def restore(token):
    STATE.reset(token)


def quietly(fn):
    """``fn`` run with numpy's floating-point warnings off (for numpy code outside ``apply``)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        token = quiet()
        try:
            return fn(*args, **kwargs)
        finally:
            restore(token)
    return run
