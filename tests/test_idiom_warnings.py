"""Warnings PyTorch gives in everyday code: pin_memory without an accelerator, the
deprecated upsample functions; WeightedRandomSampler keeps its weights as a tensor."""
import warnings

import pytest

import fastnn
import fastnn.nn.functional as F
from fastnn.utils.data import DataLoader, TensorDataset, WeightedRandomSampler


def _warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught if w.category is UserWarning]


@pytest.mark.skipif(fastnn.cuda.is_available(), reason="an accelerator is present")
def test_pin_memory_without_accelerator_warns():
    dl = DataLoader(TensorDataset(fastnn.ones(4, 2)), batch_size=2, pin_memory=True)
    msgs = _warnings(lambda: list(dl))
    assert msgs == ["'pin_memory' argument is set as true but no accelerator is found, then "
                    "device pinned memory won't be used."]
    assert _warnings(lambda: list(DataLoader(TensorDataset(fastnn.ones(4, 2))))) == []


@pytest.mark.parametrize("name", ["upsample", "upsample_nearest", "upsample_bilinear"])
def test_deprecated_upsample_functions_warn(name):
    x = fastnn.ones(1, 1, 2, 2)
    msgs = _warnings(lambda: getattr(F, name)(x, scale_factor=2))
    assert msgs == [f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` "
                    "instead."]
    assert _warnings(lambda: F.interpolate(x, scale_factor=2)) == []


def test_weighted_sampler_weights_are_a_float64_tensor():
    s = WeightedRandomSampler([1, 2, 3], 4)
    assert isinstance(s.weights, fastnn.Tensor) and s.weights.dtype == fastnn.float64
    assert len(list(s)) == 4
