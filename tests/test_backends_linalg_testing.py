"""fastnn.backends, fastnn.linalg and fastnn.testing, and the lazy submodule table."""
import math

import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradcheck


# ---- lazy submodules ---------------------------------------------------------------------
@pytest.mark.parametrize("name", fastnn._LAZY)
def test_every_lazy_submodule_imports(name):
    assert hasattr(fastnn, name)


def test_accelerator_picks_the_cpu_without_a_gpu(monkeypatch):
    import fastnn.cuda
    monkeypatch.setattr(fastnn.cuda, "is_available", lambda: False)
    acc = fastnn.accelerator
    device = acc.current_accelerator().type if acc.is_available() else "cpu"
    assert device == "cpu" and acc.current_accelerator() is None
    monkeypatch.setattr(fastnn.cuda, "is_available", lambda: True)
    assert acc.is_available() and acc.current_accelerator() == fastnn.device("cuda")


def test_unknown_attribute_is_attribute_error():
    assert not hasattr(fastnn, "nonexistent")
    assert not hasattr(fastnn, "bench")
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        fastnn.nonexistent


# ---- backends ----------------------------------------------------------------------------
def test_backends_flags_settable_and_queries():
    cudnn = fastnn.backends.cudnn
    saved = cudnn.benchmark, cudnn.deterministic
    try:
        cudnn.benchmark = True
        cudnn.deterministic = True
        assert fastnn.backends.cudnn.benchmark is True
        assert fastnn.backends.cudnn.deterministic is True
    finally:
        cudnn.benchmark, cudnn.deterministic = saved
    assert cudnn.enabled is True and cudnn.allow_tf32 is True
    assert cudnn.is_available() is False and cudnn.version() is None
    assert fastnn.backends.mps.is_available() is False
    assert fastnn.backends.mps.is_built() is False
    assert fastnn.backends.cuda.matmul.allow_tf32 is False
    assert fastnn.backends.mkldnn.is_available() is False


def test_backends_dotted_import():
    import fastnn.backends.cudnn as cudnn
    from fastnn.backends import mps
    assert cudnn is fastnn.backends.cudnn and mps is fastnn.backends.mps


def test_backends_openmp_matches_build():
    try:
        from fastnn import _core
    except ImportError:
        assert fastnn.backends.openmp.is_available() is False
        return
    assert fastnn.backends.openmp.is_available() is bool(_core.HAVE_OPENMP)


# ---- linalg ------------------------------------------------------------------------------
_X = np.random.default_rng(0).standard_normal((3, 4, 5))
_X[0, 0, 0] = 0.0

NORM_CASES = [
    ("vector_norm", {}), ("vector_norm", {"ord": 1, "dim": 1}),
    ("vector_norm", {"ord": math.inf, "dim": (0, 2), "keepdim": True}),
    ("vector_norm", {"ord": -math.inf, "dim": -1}), ("vector_norm", {"ord": 0, "dim": 2}),
    ("vector_norm", {"ord": 3.5}), ("vector_norm", {"keepdim": True}),
    ("matrix_norm", {}), ("matrix_norm", {"ord": 1}), ("matrix_norm", {"ord": -1, "dim": (0, 2)}),
    ("matrix_norm", {"ord": math.inf, "keepdim": True}), ("matrix_norm", {"ord": -math.inf}),
    ("norm", {}), ("norm", {"dim": (1, 2)}), ("norm", {"dim": 1, "ord": 1}),
    ("norm", {"dim": (0, 1), "ord": "fro"}),
]


@pytest.mark.parametrize("fn,kw", NORM_CASES)
def test_linalg_norms_match_torch(fn, kw):
    torch = pytest.importorskip("torch")
    tx = torch.tensor(_X, requires_grad=True)
    fx = fastnn.tensor(_X, requires_grad=True)
    ty, fy = getattr(torch.linalg, fn)(tx, **kw), getattr(fastnn.linalg, fn)(fx, **kw)
    assert tuple(fy.shape) == tuple(ty.shape) and fy.dtype == fastnn.float64
    np.testing.assert_allclose(fy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    ty.sum().backward()
    fy.sum().backward()
    assert (fx.grad is None) == (tx.grad is None)  # ord=0 sends no gradient back
    expected = tx.grad.numpy() if tx.grad is not None else np.zeros_like(_X)
    got = fx.grad.numpy() if fx.grad is not None else np.zeros_like(_X)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn,kw", [("vector_norm", {}), ("vector_norm", {"ord": 3, "dim": 0}),
                                   ("matrix_norm", {"ord": 1}), ("norm", {"dim": (0, 1)})])
def test_linalg_norms_gradcheck(fn, kw):
    x = fastnn.tensor(np.random.default_rng(1).standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda a: getattr(fastnn.linalg, fn)(a, **kw), (x,))


def test_linalg_norm_hand_values():
    m = fastnn.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert fastnn.linalg.norm(m).item() == pytest.approx(math.sqrt(30))
    assert fastnn.linalg.norm(m, 1).item() == 6.0  # greatest column sum
    assert fastnn.linalg.norm(m, math.inf).item() == 7.0  # greatest row sum
    v = fastnn.tensor([3.0, -4.0])
    assert fastnn.linalg.norm(v).item() == 5.0
    assert fastnn.linalg.vector_norm(v, 0).item() == 2.0
    assert fastnn.linalg.vector_norm(v, dtype=fastnn.float64).dtype == fastnn.float64


def test_linalg_errors():
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as "
                                           "input. Got Long"):
        fastnn.linalg.norm(fastnn.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="must have at least 2 dimensions"):
        fastnn.linalg.matrix_norm(fastnn.ones(3))
    with pytest.raises(RuntimeError, match="must be 1D or 2D"):
        fastnn.linalg.norm(fastnn.ones(2, 2, 2), 2)
    # the singular-value norms are computed since fastnn.linalg gained svdvals
    assert float(fastnn.linalg.matrix_norm(fastnn.ones(2, 2), "nuc")) == pytest.approx(2.0)


# ---- testing.assert_close ----------------------------------------------------------------
from fastnn.testing import assert_close  # noqa: E402


def test_assert_close_default_tolerances_by_dtype():
    assert_close(fastnn.tensor([1.0]), fastnn.tensor([1.0 + 9e-6]))  # float32: atol 1e-5
    with pytest.raises(AssertionError):
        assert_close(fastnn.tensor([1.0]), fastnn.tensor([1.0 + 3e-5]))
    d = fastnn.float64
    assert_close(fastnn.tensor([1.0], dtype=d), fastnn.tensor([1.0 + 1.5e-7], dtype=d))
    with pytest.raises(AssertionError):
        assert_close(fastnn.tensor([1.0], dtype=d), fastnn.tensor([1.0 + 1e-6], dtype=d))
    with pytest.raises(AssertionError, match="not equal"):
        assert_close(fastnn.tensor([1, 2]), fastnn.tensor([1, 3]))


def test_assert_close_message_names_count_and_greatest_differences():
    with pytest.raises(AssertionError) as e:
        assert_close(fastnn.tensor([[1.0, 2.0], [3.0, 4.0]]),
                     fastnn.tensor([[1.0, 2.0], [3.0, 5.0]]))
    assert str(e.value) == (
        "Tensor-likes are not close!\n\nMismatched elements: 1 / 4 (25.0%)\n"
        "Greatest absolute difference: 1.0 at index (1, 1) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1, 1) "
        "(up to 1.3e-06 allowed)")


def test_assert_close_checks_shape_dtype_and_arguments():
    with pytest.raises(AssertionError, match="attribute 'shape'"):
        assert_close(fastnn.ones(2), fastnn.ones(3))
    with pytest.raises(AssertionError, match="attribute 'dtype'"):
        assert_close(fastnn.ones(2), fastnn.ones(2, dtype=fastnn.float64))
    assert_close(fastnn.ones(2), fastnn.ones(2, dtype=fastnn.float64), check_dtype=False)
    with pytest.raises(ValueError, match="got no atol"):
        assert_close(fastnn.ones(1), fastnn.ones(1), rtol=1.0)
    assert_close(fastnn.ones(1), fastnn.tensor([1.5]), rtol=0.0, atol=0.5)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(fastnn.ones(2), [1.0, 1.0])
    with pytest.raises(AssertionError, match="^custom$"):
        assert_close(fastnn.ones(1), fastnn.zeros(1), msg="custom")


def test_assert_close_nan_and_containers():
    nan = fastnn.tensor([1.0, float("nan")])
    with pytest.raises(AssertionError):
        assert_close(nan, nan)
    assert_close(nan, nan, equal_nan=True)
    assert_close({"a": [1.0, fastnn.ones(2)]}, {"a": [1.0, fastnn.ones(2)]})
    with pytest.raises(AssertionError, match=r"failure occurred for item \['a'\]\[1\]"):
        assert_close({"a": [1.0, 2.0]}, {"a": [1.0, 3.0]})
    with pytest.raises(AssertionError, match="length of the sequences mismatch: 2 != 3"):
        assert_close([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match=r"\(d\)types do not match"):
        assert_close(1, 1.0)


def test_assert_close_agrees_with_torch_messages():
    torch = pytest.importorskip("torch")
    pairs = [([1.0, 2.0, 3.0], [1.0, 2.0, 3.1], "float32"), ([0.0, 1.0], [1e-3, 1.0], "float32"),
             ([1.0, 2.0], [1.5, 2.0], "float64"), ([2.0], [1.0], "float64")]
    for a, b, dt in pairs:
        with pytest.raises(AssertionError) as ours:
            assert_close(fastnn.tensor(a, dtype=getattr(fastnn, dt)),
                         fastnn.tensor(b, dtype=getattr(fastnn, dt)))
        with pytest.raises(AssertionError) as theirs:
            torch.testing.assert_close(torch.tensor(a, dtype=getattr(torch, dt)),
                                       torch.tensor(b, dtype=getattr(torch, dt)))
        assert str(ours.value) == str(theirs.value)
