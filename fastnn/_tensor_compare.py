"""Comparisons, logic, bitwise ops and closeness tests as Tensor methods (a mixin of Tensor).

None of them is differentiable: each returns a bool (or integer) tensor outside the graph.
"""
import numpy as np

from . import _dtype as D
from . import _tensor_math as _tm
from ._tensor_math import broadcast_error, operands


def _nograd(arr):
    return _tm._nograd(arr)


class CompareMixin:
    __slots__ = ()

    def _cmp(self, other, ufunc):
        a, b, dt = operands(self, other)
        x, y = a._data, b._data
        if x.dtype != y.dtype:  # compare in the promoted dtype, not numpy's wider one
            rdt = dt if dt is not None else x.dtype
            x = x if x.dtype == rdt else x.astype(rdt)
            y = y if y.dtype == rdt else y.astype(rdt)
        try:
            return _nograd(ufunc(x, y))
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def eq(self, other):
        return self._cmp(other, np.equal)

    def ne(self, other):
        return self._cmp(other, np.not_equal)

    def __eq__(self, other):
        # `t == None` is False and `t in [None, t]` works, as with PyTorch
        if other is None or isinstance(other, str):
            return NotImplemented
        return self._cmp(other, np.equal)

    def __ne__(self, other):
        if other is None or isinstance(other, str):
            return NotImplemented
        return self._cmp(other, np.not_equal)

    def lt(self, other):
        return self._cmp(other, np.less)

    def le(self, other):
        return self._cmp(other, np.less_equal)

    def gt(self, other):
        return self._cmp(other, np.greater)

    def ge(self, other):
        return self._cmp(other, np.greater_equal)

    __lt__ = lt
    __le__ = le
    __gt__ = gt
    __ge__ = ge
    greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne

    def logical_and(self, other):
        return self._cmp(other, np.logical_and)

    def logical_or(self, other):
        return self._cmp(other, np.logical_or)

    def logical_xor(self, other):
        return self._cmp(other, np.logical_xor)

    def logical_not(self):
        return _nograd(np.logical_not(self._data))

    def __and__(self, other):
        return self._bitwise(other, np.bitwise_and, "bitwise_and_cpu")

    def __or__(self, other):
        return self._bitwise(other, np.bitwise_or, "bitwise_or_cpu")

    def __xor__(self, other):
        return self._bitwise(other, np.bitwise_xor, "bitwise_xor_cpu")

    def _bitwise(self, other, fn, kernel, bool_ok=True, reverse=False):
        """An integer op on self and other converted to their promoted dtype (a 0-d tensor or a
        Python int follows self's dtype, as in PyTorch); integers only (and bools unless
        ``bool_ok`` is false)."""
        a, b, dt = operands(self, other)
        for t in (a, b):
            if t._data.dtype.kind in "fc":
                raise NotImplementedError(f'"{kernel}" not implemented for '
                                          f"'{D.scalar_type_name(t._data.dtype)}'")
        if dt is not None:
            a_arr, b_arr = a._data.astype(dt, copy=False), np.asarray(b._data).astype(dt, copy=False)
        else:
            a_arr, b_arr = a._data, b._data
        if not bool_ok and a_arr.dtype.kind == "b":
            raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")
        if reverse:
            a_arr, b_arr = b_arr, a_arr
        try:
            return _nograd(fn(a_arr, b_arr))
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                            "tensors")
        return _nograd(np.invert(self._data))

    def isnan(self):
        return _nograd(np.isnan(self._data))

    def isinf(self):
        return _nograd(np.isinf(self._data))

    def isfinite(self):
        return _nograd(np.isfinite(self._data))

    def equal(self, other):
        return self._data.shape == other._data.shape and bool(np.all(
            self._host() == other._host()))

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        if isinstance(other, _tm.Tensor) and other._data.dtype != self._data.dtype:
            raise RuntimeError(f"{D.scalar_type_name(self._data.dtype)} did not match "
                               f"{D.scalar_type_name(other._data.dtype)}")
        a, b, _ = operands(self, other)
        try:
            return _nograd(np.isclose(a._data, b._data, rtol=rtol, atol=atol,
                                      equal_nan=equal_nan))
        except ValueError as e:
            raise broadcast_error(a, b, e) from None

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return bool(self.isclose(other, rtol, atol, equal_nan).all())
