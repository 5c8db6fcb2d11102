"""Shared pieces of the fastnn.func tests: flattening results, and PyTorch's errors."""
import numpy as np
import pytest

import fastnn


def flat(t):
    """Arrays of a (nested) result, in a fixed order, for comparison."""
    if isinstance(t, (tuple, list)):
        return [u for e in t for u in flat(e)]
    if isinstance(t, dict):
        return [u for k in sorted(t) for u in flat(t[k])]
    return [t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)]


def errors_test(errors):
    """A test that each ``errors[name](lib)`` raises PyTorch's exception type and text."""
    @pytest.mark.parametrize("name", sorted(errors))
    def test_errors_match_torch(name):
        torch = pytest.importorskip("torch")
        with pytest.raises(Exception) as want:
            errors[name](torch)
        with pytest.raises(type(want.value)) as got:
            errors[name](fastnn)
        assert str(got.value) == str(want.value).replace("torch.", "fastnn.")
    return test_errors_match_torch
