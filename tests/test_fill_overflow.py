"""threshold keeps NaN; fill values, where's scalars and tensor data that do not fit the
dtype raise PyTorch's RuntimeError ("value cannot be converted to type ... without
overflow") instead of wrapping, saturating to inf, or raising numpy's errors."""
import math

import numpy as np
import pytest

import fastnn as fn
import fastnn.nn.functional as F

NAN, INF = float("nan"), float("inf")


# ---- threshold ----------------------------------------------------------------------------
def test_threshold_keeps_nan_and_its_gradient():
    x = fn.tensor([NAN, 0.5, 2.0, INF, -INF], requires_grad=True)
    y = F.threshold(x, 1.0, -5.0)
    out = y.detach().numpy()
    assert math.isnan(out[0])
    np.testing.assert_array_equal(out[1:], [-5.0, 2.0, INF, -5.0])
    y.backward(fn.ones(5))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0, 1.0, 0.0])


@pytest.mark.parametrize("how", ["functional", "module", "inplace"])
def test_threshold_forms_keep_nan(how):
    x = fn.tensor([NAN, 0.5, 2.0])
    if how == "functional":
        y = F.threshold(x, 1.0, 7.0)
    elif how == "module":
        y = fn.nn.Threshold(1.0, 7.0)(x)
    else:
        y = F.threshold_(x.clone(), 1.0, 7.0)
    assert math.isnan(float(y[0]))
    assert y[1:].tolist() == [7.0, 2.0]


def test_threshold_second_order_keeps_nan_slope():
    x = fn.tensor([NAN, 0.5, 2.0], requires_grad=True)
    (g,) = fn.autograd.grad(F.threshold(x, 1.0, -5.0).sum(), x, create_graph=True)
    assert g.tolist() == [1.0, 0.0, 1.0]


def test_threshold_matches_torch_with_nan():
    torch = pytest.importorskip("torch")
    data = [NAN, -1.0, 0.0, 1.0, 3.0, INF, -INF]

    def run(m):
        x = m.tensor(data, requires_grad=True)
        y = m.nn.functional.threshold(x, 0.0, 9.0)
        y.backward(m.ones(len(data)))
        return y.detach().numpy(), x.grad.numpy()
    for ours, theirs in zip(run(fn), run(torch)):
        np.testing.assert_array_equal(ours, theirs)


# ---- values that do not fit: PyTorch's RuntimeError --------------------------------------
def _half(m):
    return m.zeros(3).half()


def _int8(m):
    return m.zeros(3, dtype=m.int8)


def _mask(m):
    return m.tensor([True, False, True])


OVERFLOWS = {
    # float16: finite values past 65504 raise; the message names c10::Half
    "masked_fill_half": (lambda m: _half(m).masked_fill(_mask(m), -1e9), "c10::Half"),
    "masked_fill_half_65505": (lambda m: _half(m).masked_fill(_mask(m), 65505.0), "c10::Half"),
    "masked_fill_half_int": (lambda m: _half(m).masked_fill(_mask(m), 100000), "c10::Half"),
    "masked_fill_half_tensor": (lambda m: _half(m).masked_fill(_mask(m), m.tensor(-1e9)),
                                "c10::Half"),
    "index_fill_half": (lambda m: _half(m).index_fill(0, m.tensor([0]), -1e9), "c10::Half"),
    "fill_half": (lambda m: _half(m).fill_(1e9), "c10::Half"),
    "full_half": (lambda m: m.full((2,), 1e9, dtype=m.float16), "c10::Half"),
    "full_half_int": (lambda m: m.full((2,), 70000, dtype=m.float16), "c10::Half"),
    "full_like_half": (lambda m: m.full_like(_half(m), 1e9), "c10::Half"),
    "new_full_half": (lambda m: _half(m).new_full((2,), 1e9), "c10::Half"),
    "pad_half": (lambda m: m.nn.functional.pad(_half(m), (1, 0), value=-1e9), "c10::Half"),
    "clamp_min_half": (lambda m: _half(m).clamp(min=-1e9), "c10::Half"),
    "clamp_max_half": (lambda m: _half(m).clamp(max=1e9), "c10::Half"),
    "clamp_inplace_half": (lambda m: _half(m).clamp_(min=-1e9), "c10::Half"),
    "threshold_value_half": (lambda m: m.nn.functional.threshold(_half(m), 0.0, 1e9),
                             "c10::Half"),
    "threshold_module_half": (lambda m: m.nn.Threshold(0.0, 1e9)(_half(m)), "c10::Half"),
    # float32: past 3.4e38
    "fill_float": (lambda m: m.zeros(3).fill_(1e39), "float"),
    "full_float": (lambda m: m.full((2,), 1e39), "float"),
    "masked_fill_float": (lambda m: m.zeros(3).masked_fill(_mask(m), 1e39), "float"),
    "clamp_float": (lambda m: m.zeros(3).clamp(min=-1e39), "float"),
    "pad_float": (lambda m: m.nn.functional.pad(m.zeros(3), (1, 1), value=1e39), "float"),
    # integer pads: no wrapping of negatives into unsigned, NaN and inf refused
    "pad_int8_300": (lambda m: m.nn.functional.pad(_int8(m), (1, 1), value=300), "int8_t"),
    "pad_int8_-129": (lambda m: m.nn.functional.pad(_int8(m), (1, 1), value=-129), "int8_t"),
    "pad_int8_inf": (lambda m: m.nn.functional.pad(_int8(m), (1, 1), value=INF), "int8_t"),
    "pad_int8_nan": (lambda m: m.nn.functional.pad(_int8(m), (1, 1), value=NAN), "int8_t"),
    "pad_int8_tensor": (lambda m: m.nn.functional.pad(_int8(m), (1, 1), value=m.tensor(300)),
                        "int8_t"),
    "pad_uint8_-1": (lambda m: m.nn.functional.pad(_int8(m).to(m.uint8), (1, 1), value=-1),
                     "uint8_t"),
    "pad_uint8_255.9": (lambda m: m.nn.functional.pad(_int8(m).to(m.uint8), (1, 1),
                                                      value=255.9), "uint8_t"),
    # where: a Python scalar must fit an integer result
    "where_int8": (lambda m: m.where(_mask(m), _int8(m), 300), "int8_t"),
    "where_int8_negative": (lambda m: m.where(_mask(m), _int8(m), -129), "int8_t"),
    "where_int8_left": (lambda m: m.where(_mask(m), 300, _int8(m)), "int8_t"),
    "where_uint8": (lambda m: m.where(_mask(m), _int8(m).to(m.uint8), 256), "uint8_t"),
    "where_int32": (lambda m: m.where(_mask(m), _int8(m).int(), 2 ** 40), "int"),
    # threshold on integers: value and threshold both checked
    "threshold_value_int8": (lambda m: m.nn.functional.threshold(_int8(m), 0, 300), "int8_t"),
    "threshold_int8": (lambda m: m.nn.functional.threshold(_int8(m), 300, 1), "int8_t"),
    "threshold_int8_nan": (lambda m: m.nn.functional.threshold(_int8(m), 0, NAN), "int8_t"),
    # tensor data: PyTorch's names here are numpy's
    "tensor_inf_int64": (lambda m: m.tensor(INF, dtype=m.int64), "int64"),
    "tensor_nan_int32": (lambda m: m.tensor(NAN, dtype=m.int32), "int32"),
    "tensor_list_inf_int64": (lambda m: m.tensor([INF], dtype=m.int64), "int64"),
    "tensor_list_nan_int64": (lambda m: m.tensor([1.0, NAN], dtype=m.int64), "int64"),
    "tensor_1e20_int32": (lambda m: m.tensor(1e20, dtype=m.int32), "int32"),
}


@pytest.mark.parametrize("case", sorted(OVERFLOWS))
def test_overflowing_value_raises(case):
    make, type_name = OVERFLOWS[case]
    with pytest.raises(RuntimeError) as info:
        make(fn)
    assert str(info.value) == f"value cannot be converted to type {type_name} without overflow"


@pytest.mark.parametrize("case", sorted(OVERFLOWS))
def test_overflowing_value_matches_torch(case):
    torch = pytest.importorskip("torch")
    make, _ = OVERFLOWS[case]
    with pytest.raises(RuntimeError) as theirs:
        make(torch)
    with pytest.raises(RuntimeError) as ours:
        make(fn)
    assert str(ours.value) == str(theirs.value)


FITS = {
    # infinities, NaN and the largest finite value fit float16; tensors and setitem are cast
    "masked_fill_inf": lambda m: _half(m).masked_fill(_mask(m), INF),
    "masked_fill_nan": lambda m: _half(m).masked_fill(_mask(m), NAN),
    "masked_fill_max": lambda m: _half(m).masked_fill(_mask(m), 65504.0),
    "full_inf": lambda m: m.full((2,), -INF, dtype=m.float16),
    "fill_tensor": lambda m: _half(m).fill_(m.tensor(1e9)),
    "pad_inf": lambda m: m.nn.functional.pad(_half(m), (1, 1), value=INF),
    "pad_nan": lambda m: m.nn.functional.pad(_half(m), (1, 1), value=NAN),
    "pad_int8_truncates": lambda m: m.nn.functional.pad(_int8(m), (1, 1), value=2.5),
    "pad_int8_true": lambda m: m.nn.functional.pad(_int8(m), (1, 1), value=True),
    "where_half": lambda m: m.where(_mask(m), _half(m), 1e9),
    "where_uint8_wraps": lambda m: m.where(_mask(m), _int8(m).to(m.uint8), -1),
    "where_int8_float": lambda m: m.where(_mask(m), _int8(m), 2.5),
    "where_int8_bool": lambda m: m.where(_mask(m), _int8(m), True),
    "where_int8_tensor_wraps": lambda m: m.where(_mask(m), _int8(m), m.tensor(300)),
    "threshold_half_threshold": lambda m: m.nn.functional.threshold(_half(m), 1e9, 0.0),
    "threshold_uint8_wraps": lambda m: m.nn.functional.threshold(
        m.tensor([1, 5, 3], dtype=m.uint8), 2, -1),
    "threshold_uint8_threshold_wraps": lambda m: m.nn.functional.threshold(
        m.tensor([1, 5, 3], dtype=m.uint8), -1, 0),
    "tensor_half_inf": lambda m: m.tensor([1e9], dtype=m.float16),
    "full_float64": lambda m: m.full((2,), 1e308, dtype=m.float64),
}


# numpy warns where a tensor's value or where's scalar saturates to inf
_SATURATES = pytest.mark.filterwarnings("ignore:overflow encountered in cast")


@_SATURATES
@pytest.mark.parametrize("case", sorted(FITS))
def test_fitting_values_work(case):
    out = FITS[case](fn)
    assert out.numel() > 0


@_SATURATES
@pytest.mark.parametrize("case", sorted(FITS))
def test_fitting_values_match_torch(case):
    torch = pytest.importorskip("torch")
    ours, theirs = FITS[case](fn), FITS[case](torch)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_tensor_past_int64_keeps_its_value_error():
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        fn.tensor([2 ** 70], dtype=fn.int64)
