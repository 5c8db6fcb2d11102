"""Tensor methods for the functions of fastnn._functions_more (a mixin of Tensor):
``x.erf()``, ``x.nan_to_num_()``, ``x.addcmul_(a, b)``, ... each the module function applied
to the tensor; the ``_`` forms write the result back into it.
"""


def _forward(name):
    def method(self, *args, **kwargs):
        from . import _functions_more as M
        return getattr(M, name)(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"``x.{name}(...)`` is ``fastnn.{name}(x, ...)``."
    return method


def _inplace(name):
    def method(self, *args, **kwargs):
        from . import _functions_more as M
        from ._tensor_inplace import _record, _tracked, _write
        fn = getattr(M, name)
        self._check_inplace()
        if _tracked(self, tuple(args) + tuple(kwargs.values())):
            # recorded like the built-in in-place ops: the result is computed from a copy
            # that keeps self's history, so the values the new node saved stay intact
            return _record(self, lambda alias: fn(alias, *args, **kwargs))
        _write(self, fn(self.detach(), *args, **kwargs)._data)  # refuses float into int
        return self._bump()
    method.__name__ = name + "_"
    method.__doc__ = f"In-place ``x.{name}(...)``."
    return method


_METHODS = ("nan_to_num logaddexp xlogy hypot frac signbit heaviside erf erfc erfinv addcmul "
            "addcdiv baddbmm addmv kron matrix_power rot90 fliplr flipud histc logcumsumexp "
            "nansum nanmean dist cov corrcoef igamma igammac").split()
# (addcmul_/addcdiv_ live on InplaceMixin, which keeps a fast path for the optimizers)
_INPLACE = "nan_to_num xlogy hypot frac erf erfc erfinv baddbmm addmv igamma igammac".split()


class MoreMixin:
    __slots__ = ()


for _n in _METHODS:
    setattr(MoreMixin, _n, _forward(_n))
for _n in _INPLACE:
    setattr(MoreMixin, _n + "_", _inplace(_n))
del _n
