"""Boilerplate from course and notebook code: normal() with factory arguments (d2l's
linear regression from scratch), the determinism and thread getters, poisson,
cuda.is_bf16_supported."""
import numpy as np
import pytest

import fastnn


def test_normal_takes_factory_arguments():
    fastnn.manual_seed(0)
    w = fastnn.normal(0, 0.01, size=(2, 1), requires_grad=True)
    assert w.requires_grad and w.is_leaf and w.dtype == fastnn.float32
    assert tuple(w.shape) == (2, 1) and float(w.detach().abs().max()) < 0.1
    assert fastnn.normal(0, 1, size=(3,), dtype=fastnn.float64).dtype == fastnn.float64
    assert fastnn.normal(fastnn.zeros(2), 1.0).dtype == fastnn.float32


def test_determinism_and_thread_getters():
    try:
        assert not fastnn.are_deterministic_algorithms_enabled()
        fastnn.use_deterministic_algorithms(True, warn_only=True)
        assert fastnn.are_deterministic_algorithms_enabled()
        assert fastnn.is_deterministic_algorithms_warn_only_enabled()
    finally:
        fastnn.use_deterministic_algorithms(False)
    assert fastnn.get_num_interop_threads() >= 1


def test_poisson():
    fastnn.manual_seed(0)
    rates = fastnn.full((20000,), 3.0)
    draws = fastnn.poisson(rates)
    assert draws.dtype == fastnn.float32
    assert abs(float(draws.mean()) - 3.0) < 0.1 and abs(float(draws.var()) - 3.0) < 0.2
    assert np.all(draws.numpy() == np.round(draws.numpy()))
    with pytest.raises(RuntimeError, match="non-negative"):
        fastnn.poisson(fastnn.tensor([-1.0]))


def test_bf16_is_not_supported():
    assert fastnn.cuda.is_bf16_supported() is False


def test_legacy_constructor_shares_an_array_of_its_dtype():
    a = np.zeros(3, np.float32)
    t = fastnn.Tensor(a)
    a[0] = 1
    assert t.tolist() == [1, 0, 0]
    b = np.zeros(3)  # float64 data is converted, so it is a copy
    t2 = fastnn.Tensor(b)
    b[0] = 1
    assert t2.tolist() == [0, 0, 0] and t2.dtype == fastnn.float32
    c = np.zeros(2, np.int64)
    assert fastnn.LongTensor(c).dtype == fastnn.int64


def test_same_padding_with_an_even_kernel_warns():
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fastnn.nn.functional.conv1d(fastnn.ones(1, 1, 5), fastnn.ones(1, 1, 2), padding="same")
        fastnn.nn.functional.conv1d(fastnn.ones(1, 1, 5), fastnn.ones(1, 1, 3), padding="same")
    msgs = [str(w.message) for w in caught]
    assert msgs == ["Using padding='same' with even kernel lengths and odd dilation may require "
                    "a zero-padded copy of the input be created"]
