"""``F._Reduction``: the integer codes of the loss reductions and the mapping of the
deprecated ``size_average`` / ``reduce`` flags, for code written against PyTorch's helpers."""
import warnings

from ._functional.loss import legacy_reduction

_CODES = {"none": 0, "mean": 1, "sum": 2}


def get_enum(reduction):
    """0, 1 or 2 for 'none', 'mean' or 'sum' (the old 'elementwise_mean' is 'mean')."""
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use "
                      "reduction='mean' instead.", stacklevel=2)
        return 1
    code = _CODES.get(reduction) if isinstance(reduction, str) else None
    if code is None:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return code


def legacy_get_string(size_average, reduce, emit_warning=True):
    """The ``reduction`` string that the deprecated flags stand for (None counts as True)."""
    return legacy_reduction(size_average, reduce, emit_warning)


def legacy_get_enum(size_average, reduce, emit_warning=True):
    return get_enum(legacy_reduction(size_average, reduce, emit_warning))
