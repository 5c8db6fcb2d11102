"""Factories, dtype inference, legacy constructors, Size and the random number generator."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

FLOATS = [fastnn.float32, fastnn.float64]
DTYPES = [fastnn.float32, fastnn.float64, fastnn.int64, fastnn.int32, fastnn.uint8, fastnn.bool]


def tdt(d):
    """The torch dtype of the same name."""
    return getattr(torch, d.name)


def same(a, b):
    """fastnn tensor ``a`` equals torch tensor ``b`` in dtype, shape and values."""
    assert a.dtype.name == str(b.dtype).split(".")[1]
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.numpy().astype(np.float64), b.numpy().astype(np.float64),
                               rtol=1e-6, atol=1e-7)


# ---- dtype inference -----------------------------------------------------------------
@pytest.mark.parametrize("data", [
    [1, 2], [1.0, 2], [True, False], [[1, 2], [3, 4]], 3, 2.5, True, [], [[]], [1, 2.5, True],
    (1, 2), [(1, 2), (3, 4)], np.array([1, 2], np.int32), np.array([1.5], np.float64),
    np.array([1, 0], np.uint8), np.array([True]), np.float32(2.0), np.int64(3),
])
def test_tensor_infers_dtype_like_torch(data):
    same(fastnn.tensor(data), torch.tensor(data))


def test_tensor_from_tensors_and_nested_lists():
    a = fastnn.tensor([fastnn.tensor(1.0), fastnn.tensor(2.0)])
    assert a.dtype == fastnn.float32 and a.tolist() == [1.0, 2.0]
    src = fastnn.ones(2)
    c = fastnn.tensor(src)
    c[0] = 5
    assert src[0].item() == 1  # tensor() always copies


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_with_dtype(dtype):
    same(fastnn.tensor([0, 1, 2], dtype=dtype), torch.tensor([0, 1, 2], dtype=tdt(dtype)))


def test_default_dtype_governs_float_inference():
    try:
        fastnn.set_default_dtype(fastnn.float64)
        assert fastnn.get_default_dtype() is fastnn.float64
        assert fastnn.tensor([1.5]).dtype == fastnn.float64
        assert fastnn.zeros(2).dtype == fastnn.float64
        assert fastnn.tensor([1]).dtype == fastnn.int64
    finally:
        fastnn.set_default_dtype(fastnn.float32)
    with pytest.raises(TypeError, match="only floating-point types"):
        fastnn.set_default_dtype(fastnn.int64)


def test_dtype_aliases():
    assert fastnn.float is fastnn.float32 and fastnn.double is fastnn.float64
    assert fastnn.long is fastnn.int64 and fastnn.int is fastnn.int32
    assert fastnn.half is fastnn.float16 and fastnn.short is fastnn.int16
    assert repr(fastnn.float32) == "fastnn.float32"
    assert fastnn.float32.is_floating_point and not fastnn.int64.is_floating_point
    assert fastnn.float64.itemsize == 8


# ---- factories -----------------------------------------------------------------------
SIZED = ["zeros", "ones", "empty", "rand", "randn"]


@pytest.mark.parametrize("name", SIZED)
@pytest.mark.parametrize("size", [((),), (3,), (2, 3), ((2, 3),), ([2, 0],)])
def test_sized_factories_shape_and_dtype(name, size):
    fn = getattr(fastnn, name)
    t = fn(*size)
    ref = getattr(torch, name)(*size)
    assert t.shape == tuple(ref.shape) and isinstance(t.shape, fastnn.Size)
    assert t.dtype == fastnn.float32
    for dt in FLOATS:
        t = fn(*size, dtype=dt, device="cpu", requires_grad=True)
        assert t.dtype is dt and t.requires_grad and t.is_leaf and t.grad_fn is None
        assert t.device == fastnn.device("cpu") and str(t.device) == "cpu"


def test_values_of_constant_factories():
    same(fastnn.zeros(2, 3, dtype=fastnn.int32), torch.zeros(2, 3, dtype=torch.int32))
    same(fastnn.ones(4, dtype=fastnn.bool), torch.ones(4, dtype=torch.bool))
    for v in (3, 2.5, True):
        same(fastnn.full((2, 2), v), torch.full((2, 2), v))
    same(fastnn.full([3], 7, dtype=fastnn.float64), torch.full([3], 7, dtype=torch.float64))
    same(fastnn.eye(3), torch.eye(3))
    same(fastnn.eye(2, 4, dtype=fastnn.int64), torch.eye(2, 4, dtype=torch.int64))


@pytest.mark.parametrize("args,kw", [
    ((5,), {}), ((1, 4), {}), ((0, 1, 0.25), {}), ((5.0,), {}), ((10, 0, -3), {}),
    ((1, 4), {"dtype": "float64"}), ((0, 2, 0.5), {"dtype": "float64"}),
])
def test_arange(args, kw):
    if "dtype" in kw:
        kw = {"dtype": getattr(fastnn, kw["dtype"])}
        tkw = {"dtype": getattr(torch, kw["dtype"].name)}
    else:
        tkw = {}
    same(fastnn.arange(*args, **kw), torch.arange(*args, **tkw))


@pytest.mark.parametrize("args", [(0, 1, 5), (-2, 2, 1), (3, -1, 9), (0, 1, 0)])
def test_linspace(args):
    same(fastnn.linspace(*args), torch.linspace(*args))
    same(fastnn.linspace(*args, dtype=fastnn.float64), torch.linspace(*args, dtype=torch.float64))


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like",
                                  "randn_like"])
def test_like_factories(name):
    x = fastnn.ones(2, 3, dtype=fastnn.float64)
    t = getattr(fastnn, name)(x)
    assert t.shape == (2, 3) and t.dtype == fastnn.float64 and not t.requires_grad
    t = getattr(fastnn, name)(x, dtype=fastnn.float32, requires_grad=True)
    assert t.dtype == fastnn.float32 and t.requires_grad
    f = fastnn.full_like(x, 7)
    assert f.dtype == fastnn.float64 and f.tolist() == [[7.0] * 3] * 2
    r = fastnn.randint_like(x, 3, 5)
    assert r.dtype == fastnn.float64 and ((r >= 3) & (r < 5)).all()


def test_from_numpy_shares_memory():
    arr = np.arange(6.0).reshape(2, 3)
    t = fastnn.from_numpy(arr)
    assert t.dtype == fastnn.float64
    arr[0, 0] = 42
    t[1, 2] = -1
    assert t[0, 0].item() == 42 and arr[1, 2] == -1
    assert np.shares_memory(t.numpy(), arr)


def test_as_tensor_and_asarray_share_when_possible():
    arr = np.ones(3, np.float32)
    for fn in (fastnn.as_tensor, fastnn.asarray):
        t = fn(arr)
        arr[0] = 5
        assert t[0].item() == 5
    copy = fastnn.as_tensor(arr, dtype=fastnn.float64)
    arr[1] = 9
    assert copy[1].item() == 1 and copy.dtype == fastnn.float64
    assert fastnn.asarray([1, 2]).dtype == fastnn.int64
    assert fastnn.asarray(arr, copy=True).numpy() is not arr
    t = fastnn.ones(2)
    assert fastnn.as_tensor(t) is t
    assert fastnn.asarray([1.0], requires_grad=True).requires_grad


# ---- legacy constructors, Variable, Size -------------------------------------------
LEGACY = [("FloatTensor", "float32"), ("DoubleTensor", "float64"), ("LongTensor", "int64"),
          ("IntTensor", "int32"), ("ByteTensor", "uint8"), ("BoolTensor", "bool")]


@pytest.mark.parametrize("name,dt", LEGACY)
def test_legacy_constructors(name, dt):
    ctor = getattr(fastnn, name)
    sized = ctor(2, 3)
    assert sized.shape == (2, 3) and sized.dtype.name == dt
    assert isinstance(sized, fastnn.Tensor)
    same(ctor([1, 0, 1]), getattr(torch, name)([1, 0, 1]))
    assert ctor(fastnn.Size([4])).shape == (4,)
    assert ctor().shape == (0,)
    assert sized.type() == f"torch.{name}"
    # the constructor is also a type, as in PyTorch
    assert isinstance(sized, ctor)
    assert not isinstance(sized.to(fastnn.int8), ctor) and not isinstance([1], ctor)
    assert fastnn.ones(2, dtype=fastnn.int8).type(ctor).dtype.name == dt
    assert repr(ctor) == f"<class 'fastnn.{name}'>"


def test_tensor_class_constructor():
    t = fastnn.Tensor(2, 3)
    assert t.shape == (2, 3) and t.dtype == fastnn.float32
    same(fastnn.Tensor([1, 2]), torch.Tensor([1, 2]))
    assert fastnn.Tensor().shape == (0,)
    assert isinstance(fastnn.zeros(1), fastnn.Tensor)
    assert isinstance(fastnn.tensor(1) + 1, fastnn.Tensor)
    assert not isinstance(np.zeros(1), fastnn.Tensor)
    assert fastnn.is_tensor(fastnn.ones(1)) and not fastnn.is_tensor([1])


def test_variable_returns_tensor():
    v = fastnn.autograd.Variable(fastnn.ones(2), requires_grad=True)
    assert isinstance(v, fastnn.Tensor) and v.requires_grad and v.is_leaf
    w = fastnn.autograd.Variable(fastnn.ones(2))
    assert not w.requires_grad
    (v * 3).sum().backward()
    assert v.grad.tolist() == [3.0, 3.0]
    assert isinstance(fastnn.autograd.Variable([1.0, 2.0]), fastnn.Tensor)


def test_size_is_a_tuple():
    s = fastnn.zeros(2, 3, 4).shape
    assert isinstance(s, tuple) and isinstance(s, fastnn.Size)
    assert s == (2, 3, 4) and s[0] == 2 and s[-1] == 4
    assert isinstance(s[1:], fastnn.Size) and s[1:] == (3, 4)
    assert repr(s) == "fastnn.Size([2, 3, 4])" and s.numel() == 24
    assert fastnn.zeros(2, 3).size() == s[:2] and fastnn.zeros(2, 3).size(1) == 3
    assert fastnn.zeros(2, 3).size(-1) == 3
    a, b = fastnn.zeros(5, 6).shape
    assert (a, b) == (5, 6) and fastnn.zeros(*s).shape == s
    assert fastnn.Size([2, 3]) + (4,) == (2, 3, 4)


# ---- random ------------------------------------------------------------------------
def _draw_all():
    return [fastnn.rand(3, 2), fastnn.randn(4), fastnn.randint(0, 10, (5,)), fastnn.randperm(7),
            fastnn.rand(2, dtype=fastnn.float64), fastnn.empty(3).uniform_(-1, 1),
            fastnn.empty(3).normal_(2, 3)]


def test_manual_seed_reproduces_every_factory():
    fastnn.manual_seed(1234)
    first = _draw_all()
    fastnn.manual_seed(1234)
    second = _draw_all()
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and fastnn.equal(a, b)
    fastnn.manual_seed(4321)
    assert not fastnn.equal(fastnn.rand(3, 2), first[0])


def test_rng_state_restores_exactly():
    fastnn.manual_seed(7)
    fastnn.randn(5)  # move the stream away from the seed's start
    state = fastnn.get_rng_state()
    assert state.dtype == fastnn.uint8 and state.dim() == 1
    first = _draw_all()
    fastnn.set_rng_state(state)
    second = _draw_all()
    for a, b in zip(first, second):
        assert fastnn.equal(a, b)
    # an odd number of 32-bit draws leaves a buffered half word: state must hold it too
    fastnn.randint(0, 2 ** 31, (1,), dtype=fastnn.int32)
    fastnn.rand(1)
    st = fastnn.get_rng_state()
    x = fastnn.rand(9)
    fastnn.set_rng_state(st)
    assert fastnn.equal(x, fastnn.rand(9))
    assert fastnn.initial_seed() == 7


def test_generator_objects_are_independent():
    g = fastnn.Generator().manual_seed(3)
    a = fastnn.rand(4, generator=g)
    fastnn.manual_seed(0)
    g2 = fastnn.Generator().manual_seed(3)
    assert fastnn.equal(a, fastnn.rand(4, generator=g2))
    st = g.get_state()
    b = fastnn.randn(3, generator=g)
    g.set_state(st)
    assert fastnn.equal(b, fastnn.randn(3, generator=g))


def test_random_ranges_and_dtypes():
    fastnn.manual_seed(0)
    u = fastnn.rand(1000)
    assert float(u.min()) >= 0 and float(u.max()) < 1
    r = fastnn.randint(3, 8, (1000,))
    assert r.dtype == fastnn.int64 and int(r.min()) == 3 and int(r.max()) == 7
    assert fastnn.randint(5, (2, 2)).shape == (2, 2)
    assert fastnn.randint(0, 5, (3,), dtype=fastnn.int32).dtype == fastnn.int32
    p = fastnn.randperm(50)
    assert sorted(p.tolist()) == list(range(50)) and p.dtype == fastnn.int64
    n = fastnn.randn(20000, dtype=fastnn.float64)
    assert abs(float(n.mean())) < 0.05 and abs(float(n.std()) - 1) < 0.05
    x = fastnn.empty(20000).uniform_(2, 4)
    assert float(x.min()) >= 2 and float(x.max()) < 4


# ---- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,msg", [
    (lambda: fastnn.zeros(-1, 2), RuntimeError, "negative dimension"),
    (lambda: fastnn.zeros(2.5), TypeError, "must be tuple of ints, not float"),
    (lambda: fastnn.ones("a"), TypeError, "must be tuple of ints, not str"),
    (lambda: fastnn.tensor([[1, 2], [3]]), ValueError, r"expected sequence of length 2 at dim 1 "
                                                       r"\(got 1\)"),
    (lambda: fastnn.tensor("abc"), TypeError, "invalid data type 'str'"),
    (lambda: fastnn.tensor([object()]), RuntimeError, "Could not infer dtype of object"),
    (lambda: fastnn.rand(2, dtype=fastnn.int64), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda: fastnn.randn(2, dtype=fastnn.int32), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Int'"),
    (lambda: fastnn.randint(5, 2, (3,)), RuntimeError, "expects 'from' to be less than 'to'"),
    (lambda: fastnn.randperm(-1), RuntimeError, "negative dimension -1"),
    (lambda: fastnn.arange(0, 1, 0), RuntimeError, "step must be nonzero"),
    (lambda: fastnn.arange(1, 0, 1), RuntimeError,
     "upper bound and lower bound inconsistent with step sign"),
    (lambda: fastnn.linspace(0, 1, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda: fastnn.eye(-1), RuntimeError, "n must be greater or equal to 0, got -1"),
    (lambda: fastnn.full((2,), "a"), TypeError, "'fill_value' .* must be Number, not str"),
    (lambda: fastnn.from_numpy([1, 2]), TypeError, r"expected np.ndarray \(got list\)"),
    (lambda: fastnn.from_numpy(np.array(["a"])), TypeError, "can't convert np.ndarray of type"),
    (lambda: fastnn.tensor([1], dtype="foo"), TypeError, "dtype"),
    (lambda: fastnn.tensor([1], device="tpu"), RuntimeError,
     "Expected one of cpu, cuda device type at start of device string: tpu"),
    (lambda: fastnn.tensor([1], device="cuda:x"), RuntimeError, "Invalid device string: 'cuda:x'"),
    (lambda: fastnn.zeros(2, dtype=fastnn.int64, requires_grad=True), RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
    (lambda: fastnn.tensor([1]).requires_grad_(), RuntimeError,
     "only Tensors of floating point dtype can require gradients"),
    (lambda: fastnn.tensor([1, 2], requires_grad=True), RuntimeError,
     "Only Tensors of floating point"),
    (lambda: fastnn.set_rng_state(fastnn.zeros(3, dtype=fastnn.uint8)), RuntimeError,
     "RNG state"),
    (lambda: fastnn.set_rng_state([1, 2]), TypeError, "expected a torch.ByteTensor, but got list"),
    (lambda: fastnn.manual_seed("x"), ValueError, "invalid literal"),
    (lambda: fastnn.FloatTensor(2, "a"), TypeError, "new()"),
    (lambda: fastnn.Tensor(2.5), TypeError, r"data must be a sequence \(got float\)"),
])
def test_factory_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_cuda_without_a_gpu_is_a_clear_error():
    available = getattr(fastnn.cuda, "is_available", lambda: False)
    if available():
        pytest.skip("a CUDA device is present")
    for call in (lambda: fastnn.ones(2).to("cuda"), lambda: fastnn.zeros(2, device="cuda"),
                 lambda: fastnn.ones(2).cuda()):
        with pytest.raises(RuntimeError, match="CUDA"):
            call()
