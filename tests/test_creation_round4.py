"""Tensor factories and the random API: out=, integer ranges, read-only numpy arrays,
normal's autograd, Generator checks, factory keywords (round 4 fixes)."""
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import _numpy_readonly, _tensor_from_list, _creation_asarray


def _values(t):
    return (str(t.dtype).split(".")[-1], tuple(t.shape), t.tolist())


# ---------------------------------------------------------------- out=

@pytest.mark.parametrize("call, expected", [
    (lambda o: fastnn.zeros(3, out=o), [0, 0, 0]),
    (lambda o: fastnn.ones(3, out=o), [1, 1, 1]),
    (lambda o: fastnn.full((3,), 2.5, out=o), [2, 2, 2]),
    (lambda o: fastnn.arange(3, out=o), [0, 1, 2]),
    (lambda o: fastnn.linspace(0, 1, 3, out=o), [0, 0, 1]),
    (lambda o: fastnn.logspace(0, 2, 3, out=o), [1, 10, 100]),
    (lambda o: fastnn.eye(3, out=o)[0], [1, 0, 0]),
])
def test_out_is_written_in_its_dtype(call, expected):
    out = fastnn.empty(3, dtype=fastnn.int64)
    r = call(out)
    assert r is out or r.data_ptr() == out.data_ptr()
    assert out.dtype == fastnn.int64
    assert r.tolist() == expected


def test_out_returns_out_itself_and_resizes():
    o = fastnn.zeros(5)
    r = fastnn.ones(2, 2, out=o)
    assert r is o and o.shape == (2, 2) and o.tolist() == [[1, 1], [1, 1]]
    x = fastnn.zeros(4)
    fastnn.ones(2, out=x[:2])
    assert x.tolist() == [1, 1, 0, 0]
    for fn in (fastnn.rand, fastnn.randn):
        o = fastnn.empty(0, dtype=fastnn.float64)
        assert fn(3, out=o) is o and o.shape == (3,) and o.dtype == fastnn.float64
    o = fastnn.empty(3)
    assert fastnn.randint(5, (3,), out=o) is o and ((o >= 0) & (o < 5)).all()
    assert sorted(fastnn.randperm(4, out=fastnn.empty(4)).tolist()) == [0, 1, 2, 3]
    assert fastnn.normal(0., 0., (2,), out=o).tolist() == [0, 0]
    assert fastnn.normal(fastnn.ones(3), 0., out=fastnn.empty(3, dtype=fastnn.float64)
                         ).tolist() == [1, 1, 1]
    with pytest.warns(UserWarning, match="deprecated"):
        assert fastnn.range(0, 2, out=o).tolist() == [0, 1, 2]


def test_empty_out_keeps_values_unless_resized():
    o = fastnn.arange(3)
    assert fastnn.empty(3, out=o) is o and o.tolist() == [0, 1, 2]
    assert fastnn.empty(2, 2, out=o) is o and o.shape == (2, 2)


def test_arange_out_resize_warns_other_factories_do_not():
    o = fastnn.zeros(1)
    with pytest.warns(UserWarning, match="The number of elements in the out tensor of shape "
                                         r"\[1\] is 1 which does not match the computed "
                                         "number of elements 3"):
        assert fastnn.arange(3, out=o) is o
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fastnn.zeros(2, out=fastnn.zeros(3))
        fastnn.arange(3, out=fastnn.empty(0))


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: fastnn.zeros(3, out=fastnn.empty(3), dtype=fastnn.float64), RuntimeError,
     "dtype Double does not match dtype of out parameter (Float)"),
    (lambda: fastnn.rand(3, out=fastnn.empty(3, dtype=fastnn.int64)), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda: fastnn.randn(3, out=fastnn.empty(3, dtype=fastnn.int64)), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda: fastnn.normal(fastnn.zeros(3), 1., out=fastnn.empty(3, dtype=fastnn.int64)),
     NotImplementedError, "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda: fastnn.ones(3, out=fastnn.empty(3, requires_grad=True)), RuntimeError,
     "aten::ones(): functions with out=... arguments don't support automatic "
     "differentiation, but one of the arguments requires grad."),
    (lambda: fastnn.zeros(3, out=[1]), TypeError,
     "zeros(): argument 'out' must be Tensor, not list"),
    (lambda: fastnn.arange(0, 1, 0.25, out=fastnn.empty(3, dtype=fastnn.int64)), ValueError,
     "step must be nonzero"),
])
def test_out_errors(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == msg


# ---------------------------------------------------------------- integer ranges

@pytest.mark.parametrize("call, expected", [
    (lambda L: L.arange(-2.5, 2, dtype=L.int32), [-2, -1, 0, 1, 2]),
    (lambda L: L.arange(-2.5, 2, dtype=L.int64), [-2, -1, 0, 1]),
    (lambda L: L.arange(0, 5, 1.5, dtype=L.int64), [0, 1, 2, 3, 4]),
    (lambda L: L.arange(0, 5, 1.5, dtype=L.int32), [0, 1, 2, 3]),
    (lambda L: L.arange(2.7, dtype=L.int64), [0, 1]),
    (lambda L: L.arange(2.7, dtype=L.int32), [0, 1, 2]),
    (lambda L: L.arange(5, 0, -1.5, dtype=L.int64), [5, 4, 3, 2, 1]),
    (lambda L: L.arange(0, 5, 0.5, dtype=L.int16), [0] * 10),
    (lambda L: L.logspace(0.5, 2.5, 3, dtype=L.int64), [1, 10, 100]),
    (lambda L: L.logspace(0, 2, 3, base=2.5, dtype=L.int64), [1, 2, 6]),
    (lambda L: L.logspace(-0.4, -3.17, 1, dtype=L.int64), [0]),
    (lambda L: L.linspace(0., 1.93, 7, dtype=L.int32), [0, 0, 0, 0, 0, 0, 1]),
    (lambda L: L.linspace(-1.5, 3.7, 5, dtype=L.int64), [-1, 0, 1, 2, 3]),
    (lambda L: L.linspace(2.2, -6.39, 11, dtype=L.int64),
     [2, 1, 0, 0, -1, -1, -2, -3, -4, -5, -6]),
    (lambda L: L.arange(np.float32(2.5)).dtype == L.float32, True),
    (lambda L: L.arange(np.int32(3)).dtype == L.int64, True),
    (lambda L: L.arange(end=4), [0, 1, 2, 3]),
    (lambda L: L.arange(1, end=4), [1, 2, 3]),
    (lambda L: L.linspace(L.tensor(0.), L.tensor(1.), 3), [0, 0.5, 1]),
    (lambda L: L.logspace(L.tensor(0.), L.tensor(1), 2), [1, 10]),
    (lambda L: L.linspace(np.float32(0), np.int64(4), 3, dtype=L.int64), [0, 2, 4]),
])
def test_ranges(call, expected):
    r = call(fastnn)
    assert (r.tolist() if hasattr(r, "tolist") else r) == expected


def test_integer_range_errors():
    with pytest.raises(ValueError, match="step must be nonzero"):
        fastnn.arange(0, 5, 0.5, dtype=fastnn.int64)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        fastnn.arange(0, 5, 0)
    with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent"):
        fastnn.arange(0, 5, -0.5, dtype=fastnn.int64)
    with pytest.raises(NotImplementedError, match="\"arange_cpu\" not implemented for 'Bool'"):
        fastnn.arange(3, dtype=fastnn.bool)


def test_integer_linspace_logspace_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for _ in range(300):
        a, b = (round(float(v), 2) for v in rng.uniform(-60, 60, 2))
        n = int(rng.integers(1, 40))
        for name in ("int64", "int32"):
            assert fastnn.linspace(a, b, n, dtype=getattr(fastnn, name)).tolist() == \
                torch.linspace(a, b, n, dtype=getattr(torch, name)).tolist()
        assert fastnn.logspace(a / 10, b / 10, n, dtype=fastnn.int64).tolist() == \
            torch.logspace(a / 10, b / 10, n, dtype=torch.int64).tolist()
        step = round(float(rng.uniform(1, 4)), 2) * (1 if b >= a else -1)
        for name in ("int64", "int32"):
            assert fastnn.arange(a, b, step, dtype=getattr(fastnn, name)).tolist() == \
                torch.arange(a, b, step, dtype=getattr(torch, name)).tolist()


# ---------------------------------------------------------------- normal's autograd

def test_normal_with_tensor_arguments_is_recorded_with_zero_grads():
    m = fastnn.zeros(3, requires_grad=True)
    r = fastnn.normal(m, 2.)
    assert r.requires_grad and r.grad_fn.name() == "NormalBackward1"
    r.sum().backward()
    assert m.grad.tolist() == [0, 0, 0]
    s = fastnn.full((2, 1), 2., requires_grad=True)
    m = fastnn.zeros(3, requires_grad=True)
    r = fastnn.normal(m, s)
    assert r.shape == (2, 3) and r.grad_fn.name() == "NormalBackward3"
    r.sum().backward()
    assert m.grad.tolist() == [0, 0, 0] and s.grad.tolist() == [[0], [0]]
    s = fastnn.ones(3, requires_grad=True)
    fastnn.normal(1., s).sum().backward()
    assert s.grad.tolist() == [0, 0, 0]
    assert not fastnn.normal(fastnn.zeros(2), 1.).requires_grad


def test_normal_dtypes_and_errors():
    assert fastnn.normal(fastnn.zeros(3, dtype=fastnn.float64), fastnn.ones(3)).dtype == \
        fastnn.float64
    assert fastnn.normal(fastnn.zeros(3), fastnn.ones(3, dtype=fastnn.float64)).dtype == \
        fastnn.float32
    msg = "\"normal_kernel_cpu\" not implemented for 'Long'"
    with pytest.raises(NotImplementedError, match=msg):
        fastnn.normal(fastnn.zeros(3, dtype=fastnn.int64), 1.)
    with pytest.raises(NotImplementedError, match=msg):
        fastnn.normal(0., fastnn.ones(3, dtype=fastnn.int64))
    with pytest.raises(NotImplementedError, match="bernoulli_tensor_cpu_p_"):
        fastnn.bernoulli(fastnn.zeros(3, dtype=fastnn.int64))
    with pytest.raises(NotImplementedError, match="\"poisson_cpu\" not implemented for 'Long'"):
        fastnn.poisson(fastnn.zeros(3, dtype=fastnn.int64))
    assert fastnn.bernoulli(fastnn.zeros(3, dtype=fastnn.int64), 0.5).dtype == fastnn.int64


# ---------------------------------------------------------------- read-only numpy arrays

def test_read_only_array_is_shared_writably_with_a_warning(monkeypatch):
    monkeypatch.setattr(_numpy_readonly, "_warned", set())
    a = np.arange(3.)
    a.flags.writeable = False
    with pytest.warns(UserWarning, match="The given NumPy array is not writable, and fastnn "
                                         "does not support non-writable tensors"):
        t = fastnn.from_numpy(a)
    t.add_(1)
    assert a.tolist() == [1, 2, 3] and not a.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per program
        fastnn.as_tensor(a)[0] = 7
    assert a[0] == 7
    assert fastnn.asarray(a).tolist() == [7, 2, 3]


def test_unwritable_memory_is_copied_with_a_warning(monkeypatch):
    monkeypatch.setattr(_numpy_readonly, "_warned", set())
    b = np.frombuffer(bytes(24), np.float64)
    with pytest.warns(UserWarning, match="holds a copy"):
        t = fastnn.as_tensor(b)
    t.add_(1)
    assert t.tolist() == [1, 1, 1] and b.tolist() == [0, 0, 0]


# ---------------------------------------------------------------- fork_rng and Generator

def test_fork_rng_restores_the_cpu_stream():
    fastnn.manual_seed(0)
    fastnn.rand(2)
    with fastnn.random.fork_rng():
        fastnn.rand(5)
    after = fastnn.rand(2).tolist()
    fastnn.manual_seed(0)
    fastnn.rand(2)
    assert fastnn.rand(2).tolist() == after
    with fastnn.random.fork_rng(enabled=False):
        fastnn.rand(1)
    with fastnn.random.fork_rng(devices=[], device_type="cuda"):
        pass


@pytest.mark.parametrize("call, exc, msg", [
    (lambda: fastnn.Generator(device="meta"), RuntimeError,
     "META device type not an accelerator."),
    (lambda: fastnn.Generator().manual_seed(3.5), RuntimeError,
     "manual_seed expected a long, but got float"),
    (lambda: fastnn.Generator().manual_seed(fastnn.tensor(3)), RuntimeError,
     "manual_seed expected a long, but got Tensor"),
    (lambda: fastnn.Generator().manual_seed("a"), RuntimeError,
     "manual_seed expected a long, but got str"),
    (lambda: fastnn.Generator().manual_seed(True), RuntimeError,
     "manual_seed expected a long, but got bool"),
    (lambda: fastnn.manual_seed(2 ** 64), ValueError, "Overflow when unpacking long long"),
    (lambda: fastnn.manual_seed(-2 ** 63 - 1), ValueError,
     "Overflow when unpacking long long"),
])
def test_generator_errors(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == msg


def test_generator_device_and_seeds():
    assert isinstance(fastnn.Generator().device, fastnn.device)
    assert fastnn.Generator("cpu").device == fastnn.device("cpu")
    if not fastnn.cuda.is_available():
        with pytest.raises(RuntimeError):
            fastnn.Generator(device="cuda")
    assert fastnn.Generator().manual_seed(2 ** 64 - 1).initial_seed() == 2 ** 64 - 1
    assert fastnn.Generator().manual_seed(-1).initial_seed() == 2 ** 64 - 1
    fastnn.manual_seed(3.5)  # the module-level function takes int(seed), as in PyTorch
    assert fastnn.initial_seed() == 3


# ---------------------------------------------------------------- factory keywords

def test_layout_pin_memory_and_generator_keywords():
    x = fastnn.ones(2)
    kw = dict(layout=fastnn.strided, pin_memory=False)
    for r in (fastnn.zeros(2, **kw), fastnn.ones(2, **kw), fastnn.empty(2, **kw),
              fastnn.full((2,), 1., **kw), fastnn.rand(2, **kw), fastnn.randn(2, **kw),
              fastnn.arange(2, **kw), fastnn.linspace(0, 1, 2, **kw),
              fastnn.logspace(0, 1, 2, **kw), fastnn.eye(2, 1, **kw),
              fastnn.randint(3, (2,), **kw), fastnn.randperm(2, **kw),
              fastnn.zeros_like(x, **kw), fastnn.ones_like(x, **kw), fastnn.empty_like(x, **kw),
              fastnn.full_like(x, 2, **kw), fastnn.rand_like(x, **kw), fastnn.randn_like(x, **kw),
              fastnn.randint_like(x, 3, **kw), x.new_zeros(2, **kw), x.new_ones(2, **kw),
              x.new_empty(2, **kw), x.new_full((2,), 1, **kw), fastnn.normal(0., 1., (2,), **kw)):
        assert r.layout == fastnn.strided and r.numel() == 2
    assert fastnn.scalar_tensor(3, **kw).item() == 3
    assert fastnn.zeros(2, layout=None).shape == (2,)
    with pytest.raises(NotImplementedError):
        fastnn.zeros(2, layout=fastnn.sparse_coo)
    if not fastnn.cuda.is_available():
        with pytest.raises(RuntimeError, match="pin_memory=True requires"):
            fastnn.zeros(2, pin_memory=True)
    g1, g2 = fastnn.Generator().manual_seed(1), fastnn.Generator().manual_seed(1)
    for fn in (fastnn.rand_like, fastnn.randn_like):
        assert fn(x, generator=g1).tolist() == fn(x, generator=g2).tolist()
    assert fastnn.randint_like(x, 9, generator=g1).tolist() == \
        fastnn.randint_like(x, 9, generator=g2).tolist()


def test_new_factories_take_size_keyword():
    x = fastnn.ones(2)
    assert _values(x.new_zeros(size=(2, 3))) == ("float32", (2, 3), [[0] * 3] * 2)
    assert x.new_ones(size=(2,)).tolist() == [1, 1]
    assert x.new_empty(size=(2, 3)).shape == (2, 3)
    assert x.new_full(size=(2,), fill_value=4).tolist() == [4, 4]
    assert x.new_zeros([2, 3]).shape == (2, 3) and x.new_zeros(2, 3).shape == (2, 3)
    with pytest.raises(TypeError, match='new_zeros\\(\\) missing 1 required positional '
                                        'arguments: "size"'):
        x.new_zeros()


def test_random_bounds():
    assert fastnn.zeros(100).random_(0, to=5).max() < 5
    assert fastnn.zeros(100).random_(to=3).max() < 3
    cases = [(lambda: fastnn.randint(0, 200, (3,), dtype=fastnn.int8),
              "to - 1 is out of bounds for signed char"),
             (lambda: fastnn.randint(-200, 2, (3,), dtype=fastnn.int8),
              "from is out of bounds for signed char"),
             (lambda: fastnn.randint(-1, 3, (3,), dtype=fastnn.uint8),
              "from is out of bounds for unsigned char"),
             (lambda: fastnn.randint(0, 3, (3,), dtype=fastnn.bool),
              "to - 1 is out of bounds for bool"),
             (lambda: fastnn.randint(0, 2 ** 40, (3,), dtype=fastnn.int32),
              "to - 1 is out of bounds for int"),
             (lambda: fastnn.zeros(3, dtype=fastnn.uint8).random_(0, 257),
              "to - 1 is out of bounds for unsigned char"),
             (lambda: fastnn.zeros(3, dtype=fastnn.int8).random_(200),
              "to - 1 is out of bounds for signed char")]
    for call, msg in cases:
        with pytest.raises(RuntimeError) as info:
            call()
        assert str(info.value) == msg
    assert fastnn.randint(0, 256, (50,), dtype=fastnn.uint8).max() <= 255
    assert fastnn.randint(0, 2, (3,), dtype=fastnn.bool).dtype == fastnn.bool
    with pytest.warns(UserWarning, match=r"to - 1 is out of bounds \[-\(2\^24\), 2\^24\]"):
        fastnn.randint(0, 2 ** 24 + 2, (3,), dtype=fastnn.float32)
    for args in ((0.5, 10.5, (3,)), (0, 10, 3)):
        with pytest.raises(TypeError, match="randint\\(\\) received an invalid combination"):
            fastnn.randint(*args)


def test_half_rand_stays_below_one():
    fastnn.manual_seed(0)
    assert (fastnn.rand(400000, dtype=fastnn.float16) < 1).all()
    assert (fastnn.empty(400000, dtype=fastnn.float16).uniform_() < 1).all()
    assert (fastnn.rand(400000) < 1).all()


# ---------------------------------------------------------------- asarray and tensor(list)

def test_asarray_follows_requires_grad_and_copy(monkeypatch):
    monkeypatch.setattr(_creation_asarray, "_warned", [])
    a = fastnn.ones(2, requires_grad=True)
    d = fastnn.asarray(a, requires_grad=False)
    assert not d.requires_grad and d.data_ptr() == a.data_ptr()
    with pytest.warns(UserWarning, match="unspecified requires_grad"):
        assert fastnn.asarray(a) is a
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no copy-construct warning from copy=True
        c = fastnn.asarray(a, copy=True)
        assert c.requires_grad and c.grad_fn is not None and c.data_ptr() != a.data_ptr()
        b = fastnn.ones(2)
        assert fastnn.asarray(b, copy=True).data_ptr() != b.data_ptr()
    for call, msg in [
            (lambda: fastnn.asarray(np.ones(2), dtype=fastnn.float32, copy=False),
             "can't alias tensor with dtype 'Double' into dtype 'Float'."),
            (lambda: fastnn.asarray(fastnn.ones(2), dtype=fastnn.float64, copy=False),
             "can't alias tensor with dtype 'Float' into dtype 'Double'."),
            (lambda: fastnn.asarray([1, 2], copy=False),
             "can't alias arbitrary sequence into a tensor.")]:
        with pytest.raises(ValueError) as info:
            call()
        assert str(info.value) == msg
    assert fastnn.asarray(np.ones(2, np.float32), dtype=fastnn.float32, copy=False).shape == (2,)


def test_tensor_from_a_list_of_tensors(monkeypatch):
    monkeypatch.setattr(_tensor_from_list, "_warned", set())
    t = fastnn.tensor
    assert _values(t([t([1.]), t([2.])])) == ("float32", (2,), [1, 2])
    assert _values(t([t([[1.]]), t([2.])])) == ("float32", (2,), [1, 2])
    assert _values(t([t([1], dtype=fastnn.int32), t([2.5])])) == ("float32", (2,), [1, 2.5])
    assert _values(t([[t(1), 2], [3, t([4])]])) == ("int64", (2, 2), [[1, 2], [3, 4]])
    assert t([t(2 ** 40), 3]).tolist() == [2 ** 40, 3]
    with pytest.raises(ValueError, match="only one element tensors can be converted to Python "
                                         "scalars"):
        t([t([1., 2.]), t([3., 4.])])
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True to a "
                                         "scalar may lead to unexpected behavior"):
        r = t([t(1., requires_grad=True), t([2.])])
    assert not r.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per program, as in PyTorch
        t([t([1.], requires_grad=True), 2.])
