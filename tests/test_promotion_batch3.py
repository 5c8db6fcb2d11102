"""Type promotion with scalars, in-place casts, fills and dtype= of accumulating reductions."""
import math
import warnings

import numpy as np
import pytest

import fastnn


def _lib(name):
    return fastnn if name == "fastnn" else pytest.importorskip("torch")


def _result(fn, lib):
    """(dtype name, values) or (exception type name, message) of fn(lib)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib)
    except Exception as e:  # noqa: BLE001 - the exception itself is compared
        return type(e).__name__, str(e)
    if hasattr(out, "dtype"):
        return str(out.dtype).split(".")[-1], out.tolist()
    return type(out).__name__, out


def _same(fn):
    torch = pytest.importorskip("torch")
    got, want = _result(fn, fastnn), _result(fn, torch)
    assert got[0] == want[0], (got, want)
    if isinstance(want[1], str):
        assert got[1] == want[1]
    else:
        np.testing.assert_allclose(np.asarray(got[1], float), np.asarray(want[1], float),
                                   rtol=1e-6)
        signs = np.signbit(np.asarray(got[1], float)), np.signbit(np.asarray(want[1], float))
        assert (signs[0] == signs[1]).all(), (got, want)


def _t(lib, values, dtype):
    return lib.tensor(values, dtype=getattr(lib, dtype))


# ---- 1. an int scalar never wraps through the tensor's int dtype before true division ----
DIVISIONS = {
    "int16/32768": lambda L: _t(L, [16384], "int16") / 32768,
    "uint8/256": lambda L: _t(L, [128], "uint8") / 256,
    "uint8/-2": lambda L: _t(L, [10], "uint8") / -2,
    "int32/1e10": lambda L: _t(L, [1000], "int32") / 10 ** 10,
    "1e10/int32": lambda L: 10 ** 10 / _t(L, [1000], "int32"),
    "256/uint8": lambda L: 256 / _t(L, [128], "uint8"),
    "div": lambda L: L.div(_t(L, [128], "uint8"), 256),
    "true_divide": lambda L: L.true_divide(_t(L, [128], "uint8"), 256),
    "uint16": lambda L: _t(L, [35000], "uint16") / 70000,
    "uint32": lambda L: _t(L, [5], "uint32") / -1,
    "uint64": lambda L: _t(L, [5], "uint64") / -1,
    "int8/2**63": lambda L: _t(L, [1], "int8") / 2 ** 63,
    "int8/2**64": lambda L: _t(L, [1], "int8") / 2 ** 64,
    "xlogy": lambda L: L.xlogy(_t(L, [2], "int8"), 1000),
    "xlogy scalar first": lambda L: L.xlogy(1000, _t(L, [2], "int8")),
    "xlogy 0-d int8": lambda L: L.xlogy(_t(L, [0, 1, 5], "uint8"), _t(L, -3, "int8")),
    "copysign": lambda L: L.copysign(_t(L, [2], "int8"), -1000),
    "copysign 0-d int8": lambda L: L.copysign(_t(L, [0, 1, 5], "uint8"), _t(L, -3, "int8")),
    # + - * // % keep the int dtype and wrap the scalar, as PyTorch's kernels do
    "int8+300": lambda L: _t(L, [1], "int8") + 300,
    "int8*300": lambda L: _t(L, [1], "int8") * 300,
    "300-int8": lambda L: 300 - _t(L, [1], "int8"),
    "int8//300": lambda L: _t(L, [100], "int8") // 300,
    "uint8**300": lambda L: _t(L, [2], "uint8") ** 300,
}


@pytest.mark.parametrize("case", sorted(DIVISIONS))
def test_int_scalar_in_float_ops_matches_torch(case):
    _same(DIVISIONS[case])


def test_int_scalar_true_division_without_torch():
    assert (_t(fastnn, [16384], "int16") / 32768).tolist() == [0.5]
    assert (_t(fastnn, [128], "uint8") / 256).tolist() == [0.5]
    assert (_t(fastnn, [10], "uint8") / -2).tolist() == [-5.0]
    assert (10 ** 10 / _t(fastnn, [1000], "int32")).tolist() == [1e7]
    assert fastnn.xlogy(_t(fastnn, [2], "int8"), 1000).dtype == fastnn.float32


# ---- 2/3. in-place ops cast any result of the same or a lower category into self ----------
def _inplace(method, *args, **kw):
    def run(L, start):
        t = L.tensor(start[0], dtype=getattr(L, start[1]))
        getattr(t, method)(*[a(L) if callable(a) else a for a in args], **kw)
        return t
    return run


_LONG = lambda *v: (lambda L: L.tensor(list(v)))  # noqa: E731
INPLACE = {
    "add_ long": ("add_", ([1, 2], "uint8"), _LONG(1, -3), {}),
    "__iadd__ long": ("__iadd__", ([1, 2], "uint8"), _LONG(1, 1), {}),
    "sub_ 0-d": ("sub_", ([1, 2], "uint8"), lambda L: L.tensor(-1), {}),
    "add_ int8": ("add_", ([1, 2], "uint8"), lambda L: _t(L, [-1, 1], "int8"), {}),
    "mul_": ("mul_", ([100, 2], "uint8"), _LONG(3, -1), {}),
    "add_ alpha": ("add_", ([100, 2], "uint8"), _LONG(3, -1), {"alpha": -2}),
    "add_ alpha 300": ("add_", ([1], "uint8"), lambda L: _t(L, [1], "uint8"), {"alpha": 300}),
    "floor_divide_": ("floor_divide_", ([100, 7], "uint8"), _LONG(3, -2), {}),
    "remainder_": ("remainder_", ([100, 7], "uint8"), _LONG(3, -2), {}),
    "fmod_": ("fmod_", ([100, 7], "uint8"), _LONG(3, -2), {}),
    "div_ floor": ("div_", ([100, 7], "uint8"), _LONG(3, -2), {"rounding_mode": "floor"}),
    "div_ trunc": ("div_", ([100, 7], "uint8"), _LONG(3, -2), {"rounding_mode": "trunc"}),
    "div_ true": ("div_", ([1, 2], "uint8"), _LONG(1, 1), {}),
    "pow_ long": ("pow_", ([2, 3], "uint8"), _LONG(3, 2), {}),
    "pow_ negative exponents": ("pow_", ([2, 3], "int64"), _LONG(-1, 2), {}),
    "pow_ -1 scalar": ("pow_", ([2, 3], "int64"), -1, {}),
    "pow_ bool True": ("pow_", ([True, False], "bool"), True, {}),
    "pow_ bool False": ("pow_", ([True, False], "bool"), False, {}),
    "pow_ bool 2": ("pow_", ([True, False], "bool"), 2, {}),
    "__iand__": ("__iand__", ([255, 3], "uint8"), _LONG(-2, 1), {}),
    "bitwise_xor_": ("bitwise_xor_", ([255, 3], "uint8"), _LONG(-2, 1), {}),
    "__ilshift__": ("__ilshift__", ([255, 3], "uint8"), _LONG(1, 2), {}),
    "__ior__ half into bool": ("__ior__", ([True, False], "bool"),
                               lambda L: _t(L, [1.0, 0.0], "float16"), {}),
    "clamp_ long bounds": ("clamp_", ([2, 200], "uint8"), lambda L: L.tensor(-5),
                           lambda L: L.tensor(100)),
    "add_ float raises": ("add_", ([1, 2], "uint8"), lambda L: L.tensor([1.0, 1.0]), {}),
    "add_ long into bool": ("add_", ([True, False], "bool"), _LONG(1, 1), {}),
    "sub_ bool": ("sub_", ([1, 2], "uint8"), lambda L: L.tensor([True, False]), {}),
    "add_ int32 into int8": ("add_", ([100, 2], "int8"), lambda L: _t(L, [100, 1], "int32"),
                             {}),
    "add_ float64 into float32": ("add_", ([1.0], "float32"),
                                  lambda L: _t(L, [1e-9], "float64"), {}),
    "addcmul_ long": ("addcmul_", ([1], "uint8"), _LONG(300), _LONG(300)),
    "addcmul_ value .5": ("addcmul_", ([0], "int64"), _LONG(3), _LONG(1)),
    "addcmul_ int16 into float": ("addcmul_", ([0.0], "float32"),
                                  lambda L: _t(L, [300], "int16"),
                                  lambda L: _t(L, [300], "int16")),
    "addcdiv_ float into long": ("addcdiv_", ([0], "int64"), lambda L: L.tensor([3.0]),
                                 lambda L: L.tensor([2.0])),
}


@pytest.mark.parametrize("case", sorted(INPLACE))
def test_inplace_casts_match_torch(case):
    method, start, *args = INPLACE[case]
    kw = args.pop() if isinstance(args[-1], dict) else {}
    if case == "addcmul_ value .5":
        kw = {"value": 0.5}
    _same(lambda L: _inplace(method, *args, **kw)(L, start))


def test_inplace_casts_without_torch():
    img = fastnn.tensor([1, 2], dtype=fastnn.uint8)
    img += fastnn.tensor([1, 1])
    assert img.dtype == fastnn.uint8 and img.tolist() == [2, 3]
    img.sub_(fastnn.tensor(-1))
    assert img.tolist() == [3, 4]
    assert fastnn.tensor([2, 3]).pow_(fastnn.tensor([-1, 2])).tolist() == [0, 9]
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Byte"):
        img += fastnn.tensor([0.5, 0.5])


def test_inplace_float_paths_keep_autograd():
    w = fastnn.ones(3, requires_grad=True)
    x = w * 1.0
    x.add_(fastnn.tensor([1.0, 2.0, 3.0], dtype=fastnn.float64), alpha=2)
    x.addcmul_(fastnn.tensor([1, 2, 3], dtype=fastnn.int16), w, value=0.5)
    x.sum().backward()
    assert x.dtype == fastnn.float32
    assert w.grad.tolist() == [1.5, 2.0, 2.5]


# ---- 4. addcmul/addcdiv compute in the promoted dtype ------------------------------------
ADDC = {
    "int16 product": lambda L: L.addcmul(L.zeros(1), _t(L, [300], "int16"), _t(L, [300], "int16")),
    "float16 product": lambda L: L.addcmul(L.zeros(1), _t(L, [300.0], "float16"),
                                           _t(L, [300.0], "float16")),
    "uint8 bool": lambda L: L.addcmul(_t(L, [1], "uint8"), L.tensor([True]), L.tensor([True])),
    "int value .5": lambda L: L.addcmul(L.tensor([1]), L.tensor([1]), L.tensor([1]), value=0.5),
    "uint8 value -1": lambda L: L.addcmul(_t(L, [1], "uint8"), _t(L, [3], "uint8"),
                                          _t(L, [1], "uint8"), value=-1),
    "0-d float64": lambda L: L.addcmul(L.tensor([1.0]), L.tensor(3.0, dtype=L.float64),
                                       L.tensor([1.0 / 3])),
    "value tensor": lambda L: L.addcmul(L.tensor([1.0]), L.tensor([3.0]), L.tensor([1.0]),
                                        value=L.tensor(2.0)),
    "bool": lambda L: L.addcmul(L.tensor([True]), L.tensor([True]), L.tensor([True])),
    "addcdiv float16": lambda L: L.addcdiv(L.zeros(1), _t(L, [60000.0], "float16"),
                                           _t(L, [0.01], "float16")),
    "addcdiv long input": lambda L: L.addcdiv(L.tensor([0]), L.tensor([3.0]), L.tensor([2]),
                                              value=0.5),
    "addcdiv ints": lambda L: L.addcdiv(L.tensor([0.0]), L.tensor([3]), L.tensor([2])),
}


@pytest.mark.parametrize("case", sorted(ADDC))
def test_addcmul_addcdiv_match_torch(case):
    _same(ADDC[case])


def test_addcmul_grad_and_name():
    a = fastnn.tensor([2.0], requires_grad=True)
    out = fastnn.addcmul(fastnn.zeros(1), a, fastnn.tensor([300], dtype=fastnn.int16), value=2)
    assert out.tolist() == [1200.0]
    assert type(out.grad_fn).__name__ == "AddcmulBackward0"
    out.backward()
    assert a.grad.tolist() == [600.0]


# ---- 5. comparisons compare in the promoted dtype ----------------------------------------
COMPARES = {
    "float32 > 0-d float64": lambda L: L.tensor([0.1]) > L.tensor(0.1, dtype=L.float64),
    "0-d float64 < float32": lambda L: L.tensor(0.1, dtype=L.float64) < L.tensor([0.1]),
    "ne": lambda L: L.ne(L.tensor([0.1]), L.tensor(0.1, dtype=L.float64)),
    "int32 > float": lambda L: _t(L, [16777217], "int32") > 16777216.0,
    "uint8 == 0-d int8": lambda L: _t(L, [253, 5], "uint8") == _t(L, -3, "int8"),
    "uint8 >= 0-d long": lambda L: L.ge(_t(L, [253], "uint8"), L.tensor(-3)),
    "float32 == float64 1-d": lambda L: L.tensor([0.1]) == L.tensor([0.1], dtype=L.float64),
}


@pytest.mark.parametrize("case", sorted(COMPARES))
def test_comparisons_match_torch(case):
    _same(COMPARES[case])


def test_comparison_in_promoted_dtype_without_torch():
    assert (fastnn.tensor([0.1]) > fastnn.tensor(0.1, dtype=fastnn.float64)).tolist() == [False]
    assert (_t(fastnn, [253, 5], "uint8") == _t(fastnn, -3, "int8")).tolist() == [True, False]


# ---- 6. dtype= of prod/cumprod/cumsum/nansum; all/any of uint8 -----------------------------
REDUCTIONS = {
    "prod int32 dim": lambda L: _t(L, [[1, 2]], "int32").prod(1, dtype=L.int32),
    "prod int32": lambda L: _t(L, [[1, 2]], "int32").prod(dtype=L.int32),
    "prod uint8": lambda L: _t(L, [200, 2], "uint8").prod(dtype=L.uint8),
    "prod int16": lambda L: _t(L, [200, 2], "uint8").prod(dtype=L.int16),
    "prod bool": lambda L: L.tensor([True, True]).prod(dtype=L.bool),
    "torch.prod": lambda L: L.prod(_t(L, [[1, 2]], "int32"), 1, dtype=L.int32),
    "cumsum uint8": lambda L: _t(L, [200, 100], "uint8").cumsum(0, dtype=L.uint8),
    "cumsum int8": lambda L: _t(L, [200, 100], "uint8").cumsum(0, dtype=L.int8),
    "cumsum bool dtype": lambda L: L.tensor([True, True]).cumsum(0, dtype=L.bool),
    "cumsum bool": lambda L: L.tensor([[True, False], [True, True]]).cumsum(0),
    "cumsum 0-d": lambda L: _t(L, 200, "uint8").cumsum(0, dtype=L.uint8),
    "torch.cumsum": lambda L: L.cumsum(_t(L, [200, 100], "uint8"), 0, dtype=L.uint8),
    "cumprod uint8": lambda L: _t(L, [200, 2], "uint8").cumprod(0, dtype=L.uint8),
    "cumprod int16": lambda L: _t(L, [300, 300], "int32").cumprod(0, dtype=L.int16),
    "cumprod bool": lambda L: L.tensor([True, True]).cumprod(0, dtype=L.bool),
    "nansum uint8": lambda L: _t(L, [200, 100], "uint8").nansum(dtype=L.uint8),
    "nansum int32": lambda L: _t(L, [1, 2], "int32").nansum(dtype=L.int32),
    "all uint8": lambda L: _t(L, [1, 2], "uint8").all(),
    "any uint8 dim": lambda L: _t(L, [1, 0], "uint8").any(dim=0),
    "all int8": lambda L: _t(L, [1, 2], "int8").all(),
    "any float": lambda L: L.tensor([1.0, 2.0]).any(0),
}


@pytest.mark.parametrize("case", sorted(REDUCTIONS))
def test_reduction_dtypes_match_torch(case):
    _same(REDUCTIONS[case])


def test_reduction_dtypes_without_torch():
    assert _t(fastnn, [200, 100], "uint8").cumsum(0, dtype=fastnn.uint8).tolist() == [200, 44]
    assert _t(fastnn, [1, 2], "uint8").all().dtype == fastnn.uint8


# ---- 7. alpha= ---------------------------------------------------------------------------
ALPHAS = {
    "0-d tensor": lambda L: L.add(L.tensor([1.0, 2.0]), L.tensor([1.0, 1.0]),
                                  alpha=L.tensor(2.0)),
    "sub 0-d tensor": lambda L: L.sub(L.tensor([1.0, 2.0]), L.tensor([1.0, 1.0]),
                                      alpha=L.tensor(2.0)),
    "method 0-d int tensor": lambda L: L.tensor([1.0]).add(L.tensor([1.0]), alpha=L.tensor(2)),
    "add_ 0-d tensor": lambda L: L.tensor([1.0]).add_(L.tensor([1.0]), alpha=L.tensor(2.0)),
    "1-d tensor": lambda L: L.add(L.tensor([1.0]), L.tensor([1.0]), alpha=L.tensor([2.0])),
    "float tensor alpha on ints": lambda L: L.add(L.tensor([1]), L.tensor([1]),
                                                  alpha=L.tensor(2.0)),
    "bool with int alpha": lambda L: L.add(L.tensor([True, False]), L.tensor([True, False]),
                                           alpha=2),
    "bool with alpha 0": lambda L: L.add(L.tensor([True, False]), L.tensor([True, False]),
                                         alpha=0),
    "float alpha on ints": lambda L: L.add(L.tensor([1, 2]), L.tensor([1, 1]), alpha=0.5),
    "float alpha 1.0 on ints": lambda L: L.add(L.tensor([1, 2]), L.tensor([1, 1]), alpha=1.0),
    "sub float alpha on ints": lambda L: L.sub(L.tensor([1, 2]), L.tensor([1, 1]), alpha=0.5),
    "add_ float alpha on ints": lambda L: L.tensor([1]).add_(L.tensor([1]), alpha=0.5),
    "bool alpha on floats": lambda L: L.add(L.tensor([1.0]), L.tensor([1.0]), alpha=True),
    "bool alpha on ints": lambda L: L.add(L.tensor([1]), L.tensor([1]), alpha=True),
    "uint8 alpha -2": lambda L: L.add(_t(L, [1, 200], "uint8"), 2, alpha=-2),
    "uint8 tensor alpha -2": lambda L: L.add(_t(L, [1, 200], "uint8"), _t(L, [2, 2], "uint8"),
                                             alpha=-2),
    "uint8 alpha 300": lambda L: L.add(_t(L, [1], "uint8"), _t(L, [2], "uint8"), alpha=300),
    "uint8 sub alpha -2": lambda L: L.sub(_t(L, [1, 200], "uint8"), _t(L, [2, 2], "uint8"),
                                          alpha=-2),
    "complex alpha": lambda L: L.add(L.tensor([1.0]), L.tensor([1.0]), alpha=1j),
}


@pytest.mark.parametrize("case", sorted(ALPHAS))
def test_alpha_matches_torch(case):
    _same(ALPHAS[case])


def test_tensor_alpha_prints_and_differentiates():
    a = fastnn.tensor([1.0, 2.0], requires_grad=True)
    out = fastnn.add(a, fastnn.tensor([1.0, 1.0]), alpha=fastnn.tensor(2.0))
    assert "tensor([3., 4.]" in repr(out)
    b = fastnn.tensor([1.0, 1.0], requires_grad=True)
    fastnn.sub(a, b, alpha=fastnn.tensor(3.0)).sum().backward()
    assert b.grad.tolist() == [-3.0, -3.0]


# ---- 8. fills: PyTorch's range check; negative ints wrap into unsigned dtypes -------------
def _setitem(index, value, values=(1, 2), dtype="uint8"):
    def run(L):
        t = _t(L, list(values), dtype)
        t[index(L) if callable(index) else index] = value
        return t
    return run


_MASK = lambda L: L.tensor([True, False])  # noqa: E731
FILLS = {
    "fill_ -1": lambda L: _t(L, [1, 2], "uint8").fill_(-1),
    "fill_ -255": lambda L: _t(L, [1, 2], "uint8").fill_(-255),
    "fill_ -256": lambda L: _t(L, [1, 2], "uint8").fill_(-256),
    "fill_ 256": lambda L: _t(L, [1, 2], "uint8").fill_(256),
    "int8 fill_ 200": lambda L: _t(L, [1, 2], "int8").fill_(200),
    "int8 fill_ 300.": lambda L: _t(L, [1, 2], "int8").fill_(300.0),
    "int8 fill_ 1.5": lambda L: _t(L, [1, 2], "int8").fill_(1.5),
    "uint8 fill_ -0.5": lambda L: _t(L, [1, 2], "uint8").fill_(-0.5),
    "int32 fill_ 2**40": lambda L: _t(L, [1], "int32").fill_(2 ** 40),
    "uint32 fill_ -70000": lambda L: _t(L, [1], "uint32").fill_(-70000),
    "long fill_ nan": lambda L: L.tensor([1, 2]).fill_(float("nan")),
    "long fill_ inf": lambda L: L.tensor([1, 2]).fill_(float("inf")),
    "long fill_ 2**63": lambda L: L.tensor([1, 2]).fill_(2 ** 63),
    "long fill_ 2**64": lambda L: L.tensor([1, 2]).fill_(2 ** 64),
    "fill_ 0-d tensor -1": lambda L: _t(L, [1, 2], "uint8").fill_(L.tensor(-1)),
    "bool fill_ 2": lambda L: L.tensor([True, False]).fill_(2),
    "masked_fill -1": lambda L: _t(L, [1, 2], "uint8").masked_fill(_MASK(L), -1),
    "masked_fill_ -1": lambda L: _t(L, [1, 2], "uint8").masked_fill_(_MASK(L), -1),
    "masked_fill 256": lambda L: _t(L, [1, 2], "uint8").masked_fill(_MASK(L), 256),
    "int8 masked_fill 200": lambda L: _t(L, [1, 2], "int8").masked_fill(_MASK(L), 200),
    "long masked_fill -inf": lambda L: L.tensor([1, 2]).masked_fill(_MASK(L), float("-inf")),
    "long masked_fill 1.5": lambda L: L.tensor([1, 2]).masked_fill(_MASK(L), 1.5),
    "masked_fill 0-d -1": lambda L: _t(L, [1, 2], "uint8").masked_fill(_MASK(L), L.tensor(-1)),
    "t[mask] = -1": _setitem(_MASK, -1),
    "t[0] = -1": _setitem(0, -1),
    "t[:] = -1": _setitem(slice(None), -1),
    "t[mask] = 256": _setitem(_MASK, 256),
    "int8 t[0] = 200": _setitem(0, 200, dtype="int8"),
    "long t[0] = inf": _setitem(0, float("inf"), dtype="int64"),
    "long t[[0]] = inf": _setitem([0], float("inf"), dtype="int64"),
    "long t[0] = 1.5": _setitem(0, 1.5, dtype="int64"),
    "uint8 t[0] = 2**64": _setitem(0, 2 ** 64),
    "full_like -1": lambda L: L.full_like(_t(L, [1, 2], "uint8"), -1),
    "full_like 256": lambda L: L.full_like(_t(L, [1, 2], "uint8"), 256),
    "full_like long nan": lambda L: L.full_like(L.tensor([1, 2]), float("nan")),
    "full_like long 1.5": lambda L: L.full_like(L.tensor([1, 2]), 1.5),
    "full uint8 -1": lambda L: L.full((2,), -1, dtype=L.uint8),
    "full int8 200": lambda L: L.full((2,), 200, dtype=L.int8),
    "new_full -1": lambda L: _t(L, [1, 2], "uint8").new_full((2,), -1),
    "new_full int8 200": lambda L: _t(L, [1, 2], "int8").new_full((2,), 200),
    "clamp max -1": lambda L: _t(L, [1, 2], "uint8").clamp(max=-1),
    "clamp min -1": lambda L: _t(L, [1, 2], "uint8").clamp(min=-1),
    "clamp max 300": lambda L: _t(L, [1, 200], "uint8").clamp(max=300),
    "clamp_ max -1": lambda L: _t(L, [1, 2], "uint8").clamp_(None, -1),
    "int8 clamp max 200": lambda L: _t(L, [1, 2], "int8").clamp(max=200),
    "index_fill -1": lambda L: _t(L, [1, 2], "uint8").index_fill(0, L.tensor([0]), -1),
    "int8 index_fill 200": lambda L: _t(L, [1, 2], "int8").index_fill(0, L.tensor([0]), 200),
}


@pytest.mark.parametrize("case", sorted(FILLS))
def test_fills_match_torch(case):
    _same(FILLS[case])


def test_fills_without_torch():
    assert _t(fastnn, [1, 2], "uint8").fill_(-1).tolist() == [255, 255]
    with pytest.raises(RuntimeError, match="value cannot be converted to type int8_t without "
                                           "overflow"):
        _t(fastnn, [1, 2], "int8").fill_(200)
    with pytest.raises(RuntimeError, match="int64_t"):
        fastnn.tensor([1]).masked_fill(fastnn.tensor([True]), float("-inf"))


# ---- 9. where with a uint8 condition -----------------------------------------------------
def test_where_uint8_condition_warns_once_and_works():
    from fastnn import _functions
    _functions._UINT8_CONDITION_WARNED.clear()
    cond = _t(fastnn, [1, 0], "uint8")
    with pytest.warns(UserWarning, match="where received a uint8 condition tensor. This "
                                         "behavior is deprecated"):
        out = fastnn.where(cond, 1.0, 2.0)
    assert out.dtype == fastnn.float32 and out.tolist() == [1.0, 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fastnn.tensor([1.0, 1.0]).where(cond, 2.0).tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="dtype Char"):
        fastnn.where(_t(fastnn, [1, 0], "int8"), 1.0, 2.0)


# ---- 10. small ones ----------------------------------------------------------------------
SMALL = {
    "ldexp float16": lambda L: L.ldexp(_t(L, [1.0], "float16"), L.tensor([2])),
    "ldexp ints": lambda L: L.ldexp(L.tensor([1]), L.tensor([2])),
    "ldexp float32 float64": lambda L: L.ldexp(L.tensor([1.0]), _t(L, [2.0], "float64")),
    "ldexp float16 0-d float32": lambda L: L.ldexp(_t(L, [1.0], "float16"), L.tensor(2.0)),
    "bitwise_and scalar first": lambda L: L.bitwise_and(True, L.tensor([True, False])),
    "bitwise_or scalar first": lambda L: L.bitwise_or(True, L.tensor([True, False])),
    "bitwise_xor scalar first": lambda L: L.bitwise_xor(True, L.tensor([True, False])),
    "bitwise_and int first uint8": lambda L: L.bitwise_and(3, _t(L, [1, 2], "uint8")),
    "bitwise_and float first": lambda L: L.bitwise_and(2.5, L.tensor([True, False])),
    "full numpy int32": lambda L: L.full((2,), np.int32(3)),
    "full numpy float16": lambda L: L.full((2,), np.float16(2.5)),
    "full numpy float64": lambda L: L.full((2,), np.float64(2.5)),
    "full numpy bool": lambda L: L.full((2,), np.bool_(True)),
    "remainder zero sign": lambda L: L.remainder(L.tensor([2.0, -2.0, 3.0]), -1.0),
    "remainder zero sign 2": lambda L: L.remainder(L.tensor([2.0, -2.0]), 1.0),
    "rmod zero sign": lambda L: -2.0 % L.tensor([1.0]),
    "fmod zero sign": lambda L: L.fmod(L.tensor([-2.0]), 1.0),
}


@pytest.mark.parametrize("case", sorted(SMALL))
def test_small_promotions_match_torch(case):
    _same(SMALL[case])


def test_remainder_zero_sign_without_torch():
    out = fastnn.remainder(fastnn.tensor([2.0]), -1.0).tolist()[0]
    assert out == 0.0 and math.copysign(1.0, out) == 1.0
    assert fastnn.full((2,), np.int32(3)).dtype == fastnn.int64
