"""PyTorch's keyword names and aliases: shape methods, *_like factories, axis=/keepdims=,
max/min(other=), tensor_split, one_hot, addcmul_/addcdiv_, dot, pow/remainder(self=), numel,
rsub, Module.to(tensor=), and addmm's shape errors. Each call runs on fastnn and on PyTorch
where it is installed (the ``lib`` fixture)."""
import numpy as np
import pytest


def _x(lib):
    return lib.arange(12.).reshape(3, 4)


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("call, shape", [
    (lambda L, x: x.reshape(shape=(4, 3)), (4, 3)),
    (lambda L, x: L.reshape(input=x, shape=(4, 3)), (4, 3)),
    (lambda L, x: x.permute(dims=(1, 0)), (4, 3)),
    (lambda L, x: L.permute(input=x, dims=(1, 0)), (4, 3)),
    (lambda L, x: x.view(size=(4, 3)), (4, 3)),
    (lambda L, x: x.view(size=(2, -1)), (2, 6)),
    (lambda L, x: x.expand(size=(2, 3, 4)), (2, 3, 4)),
    (lambda L, x: L.broadcast_to(x, size=(2, 3, 4)), (2, 3, 4)),
    (lambda L, x: x.broadcast_to(size=(2, 3, 4)), (2, 3, 4)),
    (lambda L, x: x.repeat(repeats=(2, 1)), (6, 4)),
    (lambda L, x: x.swapaxes(axis0=0, axis1=1), (4, 3)),
    (lambda L, x: L.swapaxes(x, axis0=0, axis1=1), (4, 3)),
    (lambda L, x: x.swapdims(dim0=0, dim1=1), (4, 3)),
    (lambda L, x: x.sum_to_size(size=(1, 4)), (1, 4)),
])
def test_shape_keywords(lib, call, shape):
    x = _x(lib)
    out = call(lib, x)
    assert tuple(out.shape) == shape
    assert out.dtype == lib.float32


def test_view_dtype_keyword(lib):
    out = _x(lib).view(dtype=lib.int32)
    assert out.dtype == lib.int32 and tuple(out.shape) == (3, 4)


@pytest.mark.parametrize("call", [
    lambda L, x: x.split(split_size=2, dim=1),
    lambda L, x: L.split(x, split_size_or_sections=2, dim=1),
    lambda L, x: L.split(tensor=x, split_size_or_sections=2, dim=1),
])
def test_split_keywords(lib, call):
    parts = call(lib, _x(lib))
    assert [tuple(p.shape) for p in parts] == [(3, 2), (3, 2)]
    np.testing.assert_array_equal(_np(parts[1]), np.arange(12.).reshape(3, 4)[:, 2:])


@pytest.mark.parametrize("call, match", [
    (lambda L, x: x.reshape(), 'missing 1 required positional arguments: "shape"'),
    (lambda L, x: x.reshape(shape=(4, 3), foo=1), "unexpected keyword argument 'foo'"),
    (lambda L, x: x.reshape(2, shape=(4, 3)), "multiple values for argument 'shape'"),
    (lambda L, x: x.permute(), 'missing 1 required positional arguments: "dims"'),
    (lambda L, x: x.expand(sizes=(2, 3, 4)), 'missing 1 required positional arguments'),
    (lambda L, x: x.repeat(reps=(2, 1)), 'missing 1 required positional arguments'),
    (lambda L, x: x.view(), "view() received an invalid combination of arguments"),
    (lambda L, x: x.view(shape=(4, 3)), "view() received an invalid combination of arguments"),
    (lambda L, x: x.swapaxes(dim0=0, dim1=1), "swapaxes"),
    (lambda L, x: x.split(split_size_or_sections=2), "split_size_or_sections"),
    (lambda L, x: L.split(x, split_size=2), "split_size"),
])
def test_shape_keyword_errors(lib, call, match):
    with pytest.raises(TypeError, match=match.replace("(", r"\(").replace(")", r"\)")):
        call(lib, _x(lib))


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like",
                                  "randn_like"])
def test_like_factories_take_input(lib, name):
    out = getattr(lib, name)(input=_x(lib), dtype=lib.float64)
    assert out.dtype == lib.float64 and tuple(out.shape) == (3, 4)


def test_full_and_randint_like_take_input(lib):
    full = lib.full_like(input=_x(lib), fill_value=2)
    np.testing.assert_array_equal(_np(full), np.full((3, 4), 2.0, np.float32))
    ints = lib.randint_like(input=_x(lib), high=3)
    assert tuple(ints.shape) == (3, 4) and float(ints.max()) < 3


@pytest.mark.parametrize("name", ["median", "nanmedian", "nansum", "nanmean", "std_mean",
                                  "var_mean"])
def test_axis_keepdims_aliases(lib, name):
    x = _x(lib)
    plain = getattr(lib, name)(x, 1, keepdim=True)
    aliased = getattr(lib, name)(x, axis=1, keepdims=True)
    first = lambda r: r[0] if isinstance(r, tuple) else r  # noqa: E731
    assert tuple(first(aliased).shape) == (3, 1)
    np.testing.assert_allclose(_np(first(aliased)), _np(first(plain)))
    if name in ("median", "nanmedian", "nansum", "nanmean"):
        method = getattr(x, name)(axis=1, keepdims=True)
        np.testing.assert_allclose(_np(first(method)), _np(first(plain)))


@pytest.mark.parametrize("name", ["cumprod", "count_nonzero"])
def test_axis_alias_without_keepdims(lib, name):
    x = _x(lib) + 1
    np.testing.assert_array_equal(_np(getattr(x, name)(axis=1)), _np(getattr(x, name)(1)))
    np.testing.assert_array_equal(_np(getattr(lib, name)(x, axis=1)), _np(getattr(x, name)(1)))
    with pytest.raises(TypeError):
        getattr(x, name)(1, keepdims=True)


@pytest.mark.parametrize("name, pick", [("max", np.maximum), ("min", np.minimum)])
def test_max_min_other_keyword(lib, name, pick):
    x = _x(lib).requires_grad_()
    y = _x(lib).flip(0)
    out = getattr(lib, name)(input=x, other=y)
    np.testing.assert_array_equal(_np(out), pick(_np(x), _np(y)))
    np.testing.assert_array_equal(_np(getattr(x, name)(other=y)), _np(out))
    out.sum().backward()
    assert x.grad is not None and tuple(x.grad.shape) == (3, 4)


@pytest.mark.parametrize("call, shapes", [
    (lambda L, x: L.tensor_split(x, sections=2, dim=1), [(3, 2), (3, 2)]),
    (lambda L, x: L.tensor_split(x, indices=[1, 3], dim=1), [(3, 1), (3, 2), (3, 1)]),
    (lambda L, x: x.tensor_split(indices=[1]), [(1, 4), (2, 4)]),
    (lambda L, x: x.tensor_split(sections=2), [(2, 4), (1, 4)]),
    (lambda L, x: L.tensor_split(input=x, sections=2), [(2, 4), (1, 4)]),
    (lambda L, x: L.tensor_split(x, 2, 1), [(3, 2), (3, 2)]),
    (lambda L, x: x.tensor_split(L.tensor(2), dim=1), [(3, 2), (3, 2)]),
    (lambda L, x: x.tensor_split(tensor_indices_or_sections=L.tensor([1])), [(1, 4), (2, 4)]),
])
def test_tensor_split_keywords(lib, call, shapes):
    assert [tuple(p.shape) for p in call(lib, _x(lib))] == shapes


@pytest.mark.parametrize("call", [
    lambda L, x: L.tensor_split(x, indices_or_sections=2),
    lambda L, x: x.tensor_split(indices_or_sections=2),
    lambda L, x: x.tensor_split(),
    lambda L, x: x.tensor_split(sections=2, indices=[1]),
])
def test_tensor_split_keyword_errors(lib, call):
    with pytest.raises(TypeError, match="tensor_split"):
        call(lib, _x(lib))


def test_one_hot_input_keyword(lib):
    F = lib.nn.functional
    out = F.one_hot(input=lib.tensor([1, 2]), num_classes=4)
    np.testing.assert_array_equal(_np(out), np.eye(4, dtype=np.int64)[[1, 2]])
    with pytest.raises(TypeError):
        F.one_hot(tensor=lib.tensor([1, 2]), num_classes=4)


@pytest.mark.parametrize("name, expect", [
    ("addcmul_", lambda x, a, b: x + 0.5 * a * b),
    ("addcdiv_", lambda x, a, b: x + 0.5 * a / b),
])
def test_addc_inplace_keywords(lib, name, expect):
    x, a, b = _x(lib), _x(lib).flip(0), _x(lib) + 1
    want = expect(_np(x), _np(a), _np(b))
    getattr(x, name)(tensor1=a, tensor2=b, value=0.5)
    np.testing.assert_allclose(_np(x), want, rtol=1e-6)


def test_dot_tensor_keyword(lib):
    v = lib.arange(4.)
    assert float(v.dot(tensor=v)) == 14.0
    assert float(lib.dot(input=v, tensor=v)) == 14.0
    with pytest.raises(TypeError):
        v.dot(other=v)


@pytest.mark.parametrize("call, expect", [
    (lambda L, x: L.pow(self=2, exponent=x), lambda a: 2.0 ** a),
    (lambda L, x: L.remainder(self=2, other=x + 1), lambda a: np.remainder(2.0, a + 1)),
    (lambda L, x: L.pow(input=x, exponent=2), lambda a: a ** 2),
])
def test_number_first_overloads(lib, call, expect):
    x = _x(lib)
    out = call(lib, x)
    assert out.dtype == lib.float32
    np.testing.assert_allclose(_np(out), expect(_np(x)), rtol=1e-6)


def test_number_first_rejects_tensor_self(lib):
    with pytest.raises(TypeError):
        lib.pow(self=_x(lib), exponent=2)


def test_query_functions_take_input(lib):
    x = _x(lib)
    assert lib.numel(input=x) == 12
    assert lib.is_floating_point(input=x) is True
    assert lib.is_inference(input=x) is False


def test_rsub(lib):
    x = _x(lib).requires_grad_()
    y = _x(lib).flip(0)
    out = lib.rsub(x, y, alpha=2)
    np.testing.assert_allclose(_np(out), _np(y) - 2 * _np(x))
    assert type(out.grad_fn).__name__ == "RsubBackward0"
    out.sum().backward()
    np.testing.assert_allclose(_np(x.grad), np.full((3, 4), -2.0))
    scalar = lib.rsub(x, 2, alpha=3)
    np.testing.assert_allclose(_np(scalar), 2 - 3 * _np(x))
    assert type(scalar.grad_fn).__name__ == "RsubBackward1"
    ints = lib.rsub(lib.arange(4), 2, alpha=3)
    assert ints.dtype == lib.int64 and ints.tolist() == [2, -1, -4, -7]
    with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
        lib.rsub(lib.arange(4), lib.arange(4), alpha=2.5)


def test_module_to_tensor_keyword(lib):
    layer = lib.nn.Linear(2, 2).to(tensor=lib.zeros(1, dtype=lib.float64))
    assert layer.weight.dtype == lib.float64


@pytest.mark.parametrize("call", [
    lambda L, x: L.addmm(x, L.ones(4, 4), L.ones(4, 4)),
    lambda L, x: x.addmm(mat1=L.ones(4, 4), mat2=L.ones(4, 4), beta=0.5, alpha=2),
    lambda L, x: L.addmm(L.ones(2, 4), L.ones(3, 4), L.ones(4, 4)),
])
def test_addmm_shape_mismatch_is_runtime_error(lib, call):
    with pytest.raises(RuntimeError, match="The expanded size of the tensor"):
        call(lib, _x(lib))


def test_addmm_broadcasts_input(lib):
    out = lib.addmm(lib.ones(4), lib.ones(3, 4), lib.ones(4, 4))
    np.testing.assert_array_equal(_np(out), np.full((3, 4), 5.0, np.float32))


@pytest.mark.parametrize("call", [
    lambda L, x: x.addmm_(L.ones(4, 4), L.ones(4, 4)),
    lambda L, x: x.addmm_(mat1=L.ones(3, 2), mat2=L.ones(2, 5)),
    lambda L, x: L.ones(1, 4).addmm_(L.ones(3, 2), L.ones(2, 4)),
])
def test_addmm_inplace_mismatch_names_both_sizes(lib, call):
    with pytest.raises(RuntimeError, match=r"Bad in-place call: input tensor size \[\d, 4\] and "
                                           r"output tensor size \[\d, \d\] should match"):
        call(lib, _x(lib))


@pytest.mark.parametrize("call", [
    lambda L: L.addmv(L.ones(4, 4), L.ones(4, 4), L.ones(4)),
    lambda L: L.ones(4, 4).addmv(L.ones(4, 4), L.ones(4)),
    lambda L: L.addmv(L.ones(4), L.ones(4, 4), L.ones(4, 4)),
])
def test_addmv_needs_vector_matrix_vector(lib, call):
    with pytest.raises(RuntimeError, match="vector \\+ matrix @ vector expected"):
        call(lib)


def test_addmv_scalar_and_one_element_inputs_broadcast(lib):
    for bias in (lib.tensor(1.), lib.ones(1)):
        out = lib.addmv(bias, lib.ones(4, 4), lib.ones(4))
        np.testing.assert_array_equal(_np(out), np.full(4, 5.0, np.float32))


@pytest.mark.parametrize("call, kernel", [
    (lambda L, b: L.round(b), "round_vml_cpu"),
    (lambda L, b: b.round(), "round_vml_cpu"),
    (lambda L, b: b.round(decimals=1), "round_cpu"),
    (lambda L, b: L.floor(b), "floor_vml_cpu"),
    (lambda L, b: L.ceil(b), "ceil_vml_cpu"),
    (lambda L, b: L.trunc(b), "trunc_vml_cpu"),
    (lambda L, b: L.fix(b), "trunc_vml_cpu"),
    (lambda L, b: b.clone().floor_(), "floor_vml_cpu"),
    (lambda L, b: b.clone().round_(), "round_vml_cpu"),
])
def test_rounding_bool_not_implemented(lib, call, kernel):
    with pytest.raises(NotImplementedError, match=f"\"{kernel}\" not implemented for 'Bool'"):
        call(lib, _x(lib) > 3)


def test_round_decimals_on_integers_not_implemented(lib):
    ints = lib.arange(12)
    np.testing.assert_array_equal(_np(lib.round(ints)), np.arange(12))
    with pytest.raises(NotImplementedError, match="\"round_cpu\" not implemented for 'Long'"):
        lib.round(ints, decimals=1)
    with pytest.raises(NotImplementedError, match="'Long'"):
        ints.round(decimals=-1)


def test_round_decimals_is_keyword_only(lib):
    x = _x(lib) / 7
    np.testing.assert_allclose(_np(x.round(decimals=1)), np.round(_np(x), 1))
    np.testing.assert_allclose(_np(x.clone().round_(decimals=1)), np.round(_np(x), 1))
    with pytest.raises(TypeError):
        x.round(1)
    with pytest.raises(TypeError):
        lib.round(x, 1)


@pytest.mark.parametrize("name", ["cumsum_", "cumprod_"])
@pytest.mark.parametrize("src, dtype, names", [
    ("float32", "float64", ("float", "double")),
    ("int64", "float32", ("long int", "float")),
])
def test_inplace_scan_keeps_dtype(lib, name, src, dtype, names):
    x = lib.ones(3, 4, dtype=getattr(lib, src))
    with pytest.raises(RuntimeError, match=f"Bad in-place call: input tensor dtype {names[0]} "
                                           f"and output tensor dtype {names[1]} should match"):
        getattr(x, name)(dim=1, dtype=getattr(lib, dtype))
    same = getattr(x, name)(1, dtype=getattr(lib, src))
    assert same is x and x.dtype == getattr(lib, src)
