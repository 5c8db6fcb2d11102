"""Result dtypes and error types/messages of less common layers: rms_norm, instance/group/
batch norm with mixed dtypes, broadcast errors, float-only activations on integer input,
bool unfold/fold, cosine_similarity without overflow, Hardtanh limits, and a few names."""
import pickle
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F


def _outcome(fn):
    """The result's dtype name, or the exception's type and message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return str(fn().dtype).split(".")[-1]
        except Exception as e:  # noqa: BLE001 - the error itself is what is compared
            return f"{type(e).__name__}: {e}"


# ---- rms_norm: the result has the input's dtype --------------------------------------------
@pytest.mark.parametrize("x_dt,w_dt", [("float16", "float32"), ("float16", "float16"),
                                       ("float32", "float64"), ("float64", "float32"),
                                       ("float32", None), ("float16", None)])
def test_rms_norm_dtype_follows_input(x_dt, w_dt):
    x = fastnn.tensor(np.random.default_rng(0).standard_normal((3, 8))).to(getattr(fastnn, x_dt))
    w = None if w_dt is None else fastnn.ones(8, dtype=getattr(fastnn, w_dt))
    assert F.rms_norm(x, (8,), w).dtype == x.dtype


def test_rms_norm_module_float16_input():
    assert fastnn.nn.RMSNorm(4)(fastnn.ones(2, 4, dtype=fastnn.float16)).dtype == fastnn.float16


@pytest.mark.parametrize("x_dt,w_dt", [("float16", "float32"), ("float16", "float16"),
                                       ("float32", "float64"), ("float64", "float32")])
def test_rms_norm_values_match_torch(x_dt, w_dt):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((30, 8)) * 3, rng.standard_normal(8)
    out = []
    for T in (torch, fastnn):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = T.nn.functional.rms_norm(T.tensor(x).to(getattr(T, x_dt)), (8,),
                                         T.tensor(w).to(getattr(T, w_dt)))
        out.append((str(y.dtype).split(".")[-1], y.double().numpy()))
    assert out[0][0] == out[1][0]
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=2e-3 if "16" in x_dt else 1e-6,
                               atol=2e-3 if "16" in x_dt else 1e-6)


# ---- instance / group / batch norm with mixed dtypes ---------------------------------------
_SAME = "RuntimeError: mixed dtype (CPU): all inputs must share same datatype."
_FLOAT = "RuntimeError: mixed dtype (CPU): expect parameter to have scalar type of Float"


def _norm_cases(T):
    Fn = T.nn.functional
    f = T.tensor(np.random.default_rng(2).standard_normal((2, 3, 4, 4)), dtype=T.float32)
    h, d = f.half(), f.double()
    w32 = T.ones(3)
    w64, w16 = w32.double(), w32.half()
    return {
        "in h w32": lambda: Fn.instance_norm(h, weight=w32, bias=w32),
        "in h w16": lambda: Fn.instance_norm(h, weight=w16, bias=w16),
        "in d w32": lambda: Fn.instance_norm(d, weight=w32, bias=w32),
        "in d w32 only": lambda: Fn.instance_norm(d, weight=w32),
        "in f w64": lambda: Fn.instance_norm(f, weight=w64, bias=w64),
        "in h w64": lambda: Fn.instance_norm(h, weight=w64, bias=w64),
        "in f w16": lambda: Fn.instance_norm(f, weight=w16, bias=w16),
        "in h running w32": lambda: Fn.instance_norm(h, T.zeros(3), T.ones(3), w32, w32),
        "in d running32": lambda: Fn.instance_norm(d, T.zeros(3), T.ones(3)),
        "in d eval running32": lambda: Fn.instance_norm(d, T.zeros(3), T.ones(3),
                                                        use_input_stats=False),
        "in long": lambda: Fn.instance_norm(h.long()),
        "gn h w32": lambda: Fn.group_norm(h, 1, w32, w32),
        "gn d w32": lambda: Fn.group_norm(d, 1, w32, w32),
        "gn f w64": lambda: Fn.group_norm(f, 1, w64, w64),
        "gn h w64": lambda: Fn.group_norm(h, 1, w64, w64),
        "gn f w16": lambda: Fn.group_norm(f, 1, w16, w16),
        "gn d w32 b16": lambda: Fn.group_norm(d, 1, w32, w16),
        "bn d w32": lambda: Fn.batch_norm(d, None, None, w32, w32, True),
        "bn f w64": lambda: Fn.batch_norm(f, None, None, w64, w64, True),
        "bn f w16": lambda: Fn.batch_norm(f, None, None, w16, w16, True),
        "ln d w32": lambda: Fn.layer_norm(d, (4,), T.ones(4)),
        "ln d w16": lambda: Fn.layer_norm(d, (4,), T.ones(4).half()),
        "ln h w64": lambda: Fn.layer_norm(h, (4,), T.ones(4).double()),
        "module in2d h": lambda: T.nn.InstanceNorm2d(3, affine=True)(h),
        "module in2d h tracked": lambda: T.nn.InstanceNorm2d(3, affine=True,
                                                             track_running_stats=True)(h),
    }


_EXPECTED_NORM = {
    "in h w32": "float16", "in h w16": "float16", "in d w32": _SAME, "in d w32 only": _SAME,
    "in f w64": _FLOAT, "in h w64": _FLOAT, "in f w16": _FLOAT, "in h running w32": "float16",
    "in d running32": "float64", "in d eval running32": "float64",
    "in long": "NotImplementedError: \"batch_norm\" not implemented for 'Long'",
    "gn h w32": "float16", "gn d w32": _SAME, "gn f w64": _FLOAT, "gn h w64": _FLOAT,
    "gn f w16": _FLOAT, "gn d w32 b16": _FLOAT, "bn d w32": _SAME, "bn f w64": _FLOAT,
    "bn f w16": _FLOAT, "ln d w32": _SAME, "ln d w16": _FLOAT, "ln h w64": _FLOAT,
    "module in2d h": "float16", "module in2d h tracked": "float16",
}


@pytest.mark.parametrize("case", sorted(_EXPECTED_NORM))
def test_norm_mixed_dtypes(case):
    assert _outcome(_norm_cases(fastnn)[case]) == _EXPECTED_NORM[case]


@pytest.mark.parametrize("case", sorted(_EXPECTED_NORM))
def test_norm_mixed_dtypes_match_torch(case):
    torch = pytest.importorskip("torch")
    assert _outcome(_norm_cases(fastnn)[case]) == _outcome(_norm_cases(torch)[case])


def test_instance_norm_float16_affine_values():
    rng = np.random.default_rng(3)
    x = fastnn.tensor(rng.standard_normal((2, 3, 4, 4)), dtype=fastnn.float32)
    w = fastnn.tensor(rng.standard_normal(3), dtype=fastnn.float32)
    b = fastnn.tensor(rng.standard_normal(3), dtype=fastnn.float32)
    y16 = F.instance_norm(x.half(), weight=w, bias=b)
    y32 = F.instance_norm(x.half().float(), weight=w, bias=b)
    np.testing.assert_allclose(y16.float().numpy(), y32.numpy(), rtol=1e-2, atol=1e-2)


def test_instance_norm_dtype_error_leaves_running_stats_alone():
    rm, rv = fastnn.zeros(3, dtype=fastnn.float64), fastnn.ones(3, dtype=fastnn.float64)
    x = fastnn.randn(2, 3, 4).double() + 5
    with pytest.raises(RuntimeError, match="all inputs must share same datatype"):
        F.instance_norm(x, rm, rv, weight=fastnn.ones(3))
    assert rm.tolist() == [0.0, 0.0, 0.0]


# ---- broadcast errors ----------------------------------------------------------------------
@pytest.mark.parametrize("shapes,message", [
    (((2, 3), (2, 4)), "The size of tensor a (3) must match the size of tensor b (4) at "
                       "non-singleton dimension 1"),
    (((3,), (4,)), "The size of tensor a (3) must match the size of tensor b (4) at "
                   "non-singleton dimension 0"),
    (((2, 1), (3,), (4, 1, 5)), "The size of tensor a (3) must match the size of tensor b (5) "
                                "at non-singleton dimension 2"),
])
def test_broadcast_tensors_error(shapes, message):
    with pytest.raises(RuntimeError) as info:
        fastnn.broadcast_tensors(*[fastnn.zeros(s) for s in shapes])
    assert str(info.value) == message


def test_broadcast_tensors_empty_and_cosine_similarity_error():
    assert fastnn.broadcast_tensors() == ()
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1"):
        F.cosine_similarity(fastnn.zeros(2, 3), fastnn.zeros(2, 4))


# ---- float-only activations on integer / bool input ----------------------------------------
_KERNELS = {
    "softplus": "softplus_cpu", "logsigmoid": "log_sigmoid_cpu", "elu": "elu_cpu",
    "hardswish": "hardswish_cpu", "hardsigmoid": "hardsigmoid_cpu",
    "leaky_relu": "leaky_relu_cpu", "hardshrink": "hardshrink_cpu",
    "softshrink": "softshrink_check", "silu": "silu_cpu", "mish": "mish_cpu",
    "selu": "elu_cpu", "celu": "elu_cpu", "glu": "glu_cpu", "rrelu": "leaky_relu_cpu",
}
_TITLES = {"int64": "Long", "int32": "Int", "uint8": "Byte", "bool": "Bool"}


@pytest.mark.parametrize("dtype", sorted(_TITLES))
@pytest.mark.parametrize("name", sorted(_KERNELS))
def test_float_only_activation_refuses_integers(name, dtype):
    x = fastnn.tensor([[0, 1, 3, 4]]).to(getattr(fastnn, dtype))
    with pytest.raises(NotImplementedError) as info:
        getattr(F, name)(x)
    assert str(info.value) == f"\"{_KERNELS[name]}\" not implemented for '{_TITLES[dtype]}'"


@pytest.mark.parametrize("name", ["elu", "leaky_relu", "silu", "selu", "celu", "hardswish",
                                  "hardsigmoid"])
def test_inplace_activation_refuses_integers(name):
    x = fastnn.tensor([1, 2])
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        getattr(F, name)(x, inplace=True)
    assert x.tolist() == [1, 2]


def test_activation_modules_and_training_rrelu_refuse_integers():
    with pytest.raises(NotImplementedError, match='"silu_cpu" not implemented for \'Long\''):
        fastnn.nn.SiLU()(fastnn.tensor([1]))
    with pytest.raises(NotImplementedError, match="rrelu_with_noise_out_cpu"):
        F.rrelu(fastnn.tensor([1, 2]), training=True)


def test_hardtanh_threshold_integer_rules():
    with pytest.raises(RuntimeError, match="Bool inputs not supported for hardtanh"):
        F.relu6(fastnn.tensor([True]))
    with pytest.raises(RuntimeError, match="cannot do hardtanh on an unsigned type with "
                                           "negative limits"):
        F.hardtanh(fastnn.tensor([1, 2], dtype=fastnn.uint8))
    assert F.relu6(fastnn.tensor([1, 9], dtype=fastnn.uint8)).tolist() == [1, 6]
    with pytest.raises(NotImplementedError, match="\"threshold_cpu\" not implemented for 'Bool'"):
        F.threshold(fastnn.tensor([True]), 0, 1)
    assert F.hardtanh(fastnn.tensor([-3, 0, 3]), -2, 2).tolist() == [-2, 0, 2]


@pytest.mark.parametrize("name", ["softplus", "silu", "mish", "selu", "glu", "hardshrink",
                                  "softmin"])
def test_activation_integer_errors_match_torch(name):
    torch = pytest.importorskip("torch")
    args = (-1,) if name == "softmin" else ()
    outs = [_outcome(lambda T=T: getattr(T.nn.functional, name)(
        T.tensor([[-2, 0, 3, 4]]).to(dt), *args)) for T, dt in
        ((torch, torch.int32), (fastnn, fastnn.int32))]
    assert outs[0] == outs[1]
    outs = [_outcome(lambda T=T: getattr(T.nn.functional, name)(
        T.tensor([[True, False]]), *args)) for T in (torch, fastnn)]
    assert outs[0] == outs[1]


def test_float_activations_unchanged():
    x = fastnn.tensor([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(F.softplus(x).numpy(), np.log1p(np.exp([-1.0, 0.0, 2.0])),
                               rtol=1e-6)
    np.testing.assert_allclose(F.elu(x).numpy(), [np.expm1(-1.0), 0.0, 2.0], rtol=1e-6)


# ---- unfold / fold of bool input -----------------------------------------------------------
def test_unfold_bool():
    y = F.unfold(fastnn.ones(1, 1, 3, 3, dtype=fastnn.bool), 2)
    assert y.shape == (1, 4, 4) and y.dtype == fastnn.bool and bool(y.all())
    assert fastnn.nn.Unfold(2)(fastnn.ones(1, 3, 3, dtype=fastnn.bool)).dtype == fastnn.bool
    with pytest.raises(NotImplementedError, match="\"im2col_out_cpu\" not implemented for 'Long'"):
        F.unfold(fastnn.ones(1, 1, 3, 3, dtype=fastnn.int64), 2)


def test_fold_bool_ors_overlaps():
    cols = fastnn.zeros(1, 4, 4, dtype=fastnn.bool)
    cols[0, 0, 0] = True  # block 0's top-left pixel
    y = F.fold(cols, (3, 3), 2)
    assert y.dtype == fastnn.bool and y.sum().item() == 1 and bool(y[0, 0, 0, 0])
    assert bool(F.fold(fastnn.ones(1, 4, 4, dtype=fastnn.bool), (3, 3), 2).all())
    with pytest.raises(NotImplementedError, match="\"col2im_out_cpu\" not implemented for 'Byte'"):
        F.fold(fastnn.ones(1, 4, 4, dtype=fastnn.uint8), (3, 3), 2)


@pytest.mark.parametrize("seed", range(6))
def test_unfold_fold_bool_match_torch(seed):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    h, w = rng.integers(3, 7, 2)
    k, s, p, d = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2)), 1
    a = rng.random((2, 3, h, w)) > 0.5
    tu = torch.nn.functional.unfold(torch.tensor(a), k, d, p, s)
    fu = F.unfold(fastnn.tensor(a), k, d, p, s)
    np.testing.assert_array_equal(fu.numpy(), tu.numpy())
    c = rng.random(tuple(tu.shape)) > 0.7
    tf = torch.nn.functional.fold(torch.tensor(c), (int(h), int(w)), k, d, p, s)
    ff = F.fold(fastnn.tensor(c), (int(h), int(w)), k, d, p, s)
    assert ff.dtype == fastnn.bool
    np.testing.assert_array_equal(ff.numpy(), tf.numpy())


# ---- cosine_similarity without overflow ----------------------------------------------------
@pytest.mark.parametrize("scale", [1e19, 1e30, 1e-6])
def test_cosine_similarity_extreme_magnitudes(scale):
    # squares of 3e19 overflow float32: the vectors' norms must be taken without them
    x = fastnn.tensor([[3.0 * scale, 4.0 * scale]])
    y = F.cosine_similarity(x, x)
    assert not bool(y.isnan().any())
    np.testing.assert_allclose(y.numpy(), [1.0], rtol=1e-6)


def test_cosine_similarity_eps_clamp_and_zeros():
    x = fastnn.tensor([[3e-30, 4e-30]])
    # norms below eps are clamped to eps: the similarity is tiny, as in PyTorch
    assert abs(F.cosine_similarity(x, x).item()) < 1e-40
    assert F.cosine_similarity(fastnn.zeros(2, 3), fastnn.ones(2, 3)).tolist() == [0.0, 0.0]
    assert F.cosine_similarity(fastnn.zeros(2, 0), fastnn.zeros(2, 0)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shapes,dim,eps", [(((4, 5), (4, 5)), 1, 1e-8),
                                            (((3, 1, 6), (1, 4, 6)), -1, 1e-8),
                                            (((2, 3, 4), (2, 3, 4)), 0, 1e-8),
                                            (((5, 3), (5, 3)), 1, 10.0)])
def test_cosine_similarity_values_and_grads_match_torch(dtype, shapes, dim, eps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a, b = (rng.standard_normal(s) for s in shapes)
    a[0] = 0.0  # a zero vector (clamped norm)
    res = []
    for T in (torch, fastnn):
        ta = T.tensor(a, dtype=getattr(T, dtype), requires_grad=True)
        tb = T.tensor(b, dtype=getattr(T, dtype), requires_grad=True)
        y = T.nn.functional.cosine_similarity(ta, tb, dim=dim, eps=eps)
        (y * T.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        res.append((y.detach().numpy(), ta.grad.numpy(), tb.grad.numpy()))
    tol = 1e-5 if dtype == "float32" else 1e-12
    for t_arr, f_arr in zip(*res):
        np.testing.assert_allclose(f_arr, t_arr, rtol=tol, atol=tol)


# ---- Hardtanh limits and missing names -----------------------------------------------------
def test_hardtanh_module_limits_assert():
    with pytest.raises(AssertionError, match=r"max_val \(1\) must be greater than min_val \(2\)"):
        fastnn.nn.Hardtanh(2, 1)
    with pytest.raises(AssertionError):
        fastnn.nn.Hardtanh(1.0, 1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(fastnn.zeros(2), 2, 1)


def test_missing_names():
    from fastnn.nn.modules.linear import NonDynamicallyQuantizableLinear
    from fastnn.nn.modules.padding import _ReflectionPadNd
    mha = fastnn.nn.MultiheadAttention(4, 2)
    assert type(mha.out_proj) is NonDynamicallyQuantizableLinear
    assert isinstance(mha.out_proj, fastnn.nn.Linear)
    assert type(pickle.loads(pickle.dumps(mha)).out_proj) is NonDynamicallyQuantizableLinear
    for cls in (fastnn.nn.ReflectionPad1d, fastnn.nn.ReflectionPad2d, fastnn.nn.ReflectionPad3d):
        assert issubclass(cls, _ReflectionPadNd)
    x = fastnn.arange(12.0).reshape(1, 4, 3)
    assert fastnn.native_channel_shuffle(x, 2)[0, :, 0].tolist() == [0.0, 6.0, 3.0, 9.0]
    with pytest.raises(RuntimeError, match="Number of channels must be divisible by groups. "
                                           "Got 4 channels and 3 groups."):
        fastnn.native_channel_shuffle(x, 3)
