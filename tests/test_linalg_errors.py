"""fastnn.linalg's errors: the same type as PyTorch's and the same message (checked against
PyTorch where it is installed, against the expected text otherwise)."""
import numpy as np
import pytest

import fastnn
import fastnn.linalg as LA


def _raises(fn, torch_mod, *arrays, exc=RuntimeError, match=None, **kw):
    """fn(fastnn, ...) raises exc; with PyTorch present, its message equals PyTorch's."""
    args = [fastnn.tensor(a) for a in arrays]
    with pytest.raises(exc) as ours:
        fn(fastnn, *args, **kw)
    if match is not None:
        assert match in str(ours.value)
    if torch_mod is not None:
        with pytest.raises(Exception) as theirs:
            fn(torch_mod, *[torch_mod.tensor(a) for a in arrays], **kw)
        assert isinstance(theirs.value, torch_mod.linalg.LinAlgError if exc is LA.LinAlgError
                          else exc)
        assert str(ours.value) == str(theirs.value).split("\n")[0]
    return ours.value


@pytest.fixture(params=["with_torch", "without_torch"])
def torch(request):
    return pytest.importorskip("torch") if request.param == "with_torch" else None


SQUARE = ["inv", "det", "slogdet", "cholesky", "matrix_exp", "inv_ex", "cholesky_ex"]
RECT = np.zeros((2, 3), np.float32)


@pytest.mark.parametrize("name", SQUARE + ["eigh"])
def test_non_square_and_vector(torch, name):
    fn = {"eigh": "linalg.eigh", "inv_ex": "linalg.inv", "cholesky_ex": "linalg.cholesky"}.get(
        name, f"linalg.{name}")
    _raises(lambda m, x: getattr(m.linalg, name)(x), torch, RECT,
            match=f"{fn}: A must be batches of square matrices, but they are 2 by 3 matrices")
    _raises(lambda m, x: getattr(m.linalg, name)(x), torch, np.ones(3, np.float32),
            match="must have at least 2 dimensions")


@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "cholesky", "svd", "qr", "solve"])
def test_integer_input(torch, name):
    args = [np.eye(3, dtype=np.int64)] + ([np.ones(3, np.float32)] if name == "solve" else [])
    _raises(lambda m, *xs: getattr(m.linalg, name)(*xs), torch, *args,
            match="Expected a floating point or complex tensor as input. Got Long")


def test_half_and_integer_kernels(torch):
    half = np.eye(3, dtype=np.float16)
    _raises(lambda m, x: m.linalg.inv(x), torch, half,
            match="linalg.inv: Low precision dtypes not supported. Got Half")
    _raises(lambda m, x: m.linalg.cholesky(x), torch, half, exc=NotImplementedError,
            match="\"cholesky_cpu\" not implemented for 'Half'")
    _raises(lambda m, x: m.linalg.eigh(x), torch, np.eye(3, dtype=np.int64),
            exc=NotImplementedError, match="not implemented for 'Long'")


def test_singular_inverse_and_solve(torch):
    sing = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
    err = _raises(lambda m, x: m.linalg.inv(x), torch, sing, exc=LA.LinAlgError,
                  match="The diagonal element 2 is zero")
    assert isinstance(err, RuntimeError)
    _raises(lambda m, x: m.linalg.inv(x), torch, np.stack([np.eye(2, dtype=np.float32), sing]),
            exc=LA.LinAlgError, match="(Batch element 1): The diagonal element 2 is zero")
    _raises(lambda m, x: m.linalg.inv(x), torch, np.zeros((3, 3), np.float32),
            exc=LA.LinAlgError, match="The diagonal element 1 is zero")
    _raises(lambda m, x, y: m.linalg.solve(x, y), torch, sing, np.ones(2, np.float32),
            exc=LA.LinAlgError, match="solver failed because the input matrix is singular")
    _raises(lambda m, x: m.inverse(x), torch, sing, exc=LA.LinAlgError)


def test_not_positive_definite(torch):
    bad = np.array([[1.0, 2.0], [2.0, 1.0]], np.float32)
    _raises(lambda m, x: m.linalg.cholesky(x), torch, bad, exc=LA.LinAlgError,
            match="not positive-definite (the leading minor of order 2 is not "
                  "positive-definite).")
    _raises(lambda m, x: m.linalg.cholesky(x), torch, -np.eye(3, dtype=np.float32),
            exc=LA.LinAlgError, match="leading minor of order 1")
    _raises(lambda m, x: m.linalg.cholesky(x), torch,
            np.stack([np.eye(2, dtype=np.float32), bad]), exc=LA.LinAlgError,
            match="(Batch element 1)")


def test_ex_variants_report_info_instead():
    bad = fastnn.stack([fastnn.eye(3), fastnn.tensor([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]])])
    L, info = LA.cholesky_ex(bad)
    assert info.tolist() == [0, 2] and np.isnan(L[1].numpy()).all()
    np.testing.assert_array_equal(L[0].numpy(), np.eye(3))
    with pytest.raises(LA.LinAlgError):
        LA.cholesky_ex(bad, check_errors=True)
    inv, info = LA.inv_ex(fastnn.tensor([[[1.0, 2], [2, 4]], [[2.0, 0], [0, 4]]]))
    assert info.tolist() == [2, 0]
    np.testing.assert_allclose(inv[1].numpy(), [[0.5, 0], [0, 0.25]])


def test_shape_and_dtype_mismatches(torch):
    eye = np.eye(3, dtype=np.float32)
    _raises(lambda m, x, y: m.linalg.solve(x, y), torch, eye, np.ones((2, 1), np.float32),
            match="Incompatible shapes of A and B for the equation AX = B (3x3 and 2x1)")
    _raises(lambda m, x, y: m.linalg.solve(x, y), torch, eye, np.ones(4, np.float32),
            match="(3x3 and 4x1)")
    _raises(lambda m, x, y: m.linalg.solve(x, y), torch, eye, np.ones(3),
            match="Expected A and B to have the same dtype")
    _raises(lambda m, x, y: m.linalg.solve_triangular(x, y, upper=True, left=False), torch,
            eye, np.ones((2, 2), np.float32), match="XA = B (3x3 and 2x2)")
    _raises(lambda m, x, y: m.linalg.solve_triangular(x, y, upper=True), torch, eye,
            np.ones(3, np.float32), match="The input tensor B must have at least 2 dimensions")
    _raises(lambda m, x, y: m.linalg.lstsq(x, y), torch, np.ones((4, 3), np.float32),
            np.ones((3, 2), np.float32), match="input.size(-2) should match other.size(-2)")
    _raises(lambda m, x, y: m.linalg.lstsq(x, y, driver="foo"), torch, eye, eye,
            match="parameter `driver` should be one of")
    _raises(lambda m, x, y: m.cholesky_solve(x, y), torch, np.ones(3, np.float32), eye,
            match="b should have at least 2 dimensions")
    _raises(lambda m, x, y: m.cholesky_solve(x, y), torch, np.ones((2, 1), np.float32), eye,
            match="each A matrix is 3 by 3 but each b matrix is 2 by 1")


def test_argument_errors(torch):
    x = np.eye(3, dtype=np.float32)
    _raises(lambda m, a: m.linalg.qr(a, mode="x"), torch, x, match="unrecognized mode 'x'")
    _raises(lambda m, a: m.linalg.eigh(a, UPLO="X"), torch, x,
            match="Expected UPLO argument to be 'L' or 'U', but got X")
    _raises(lambda m, a, b: m.linalg.cross(a, b), torch, np.ones(4, np.float32),
            np.ones(4, np.float32), match="inputs dimension -1 must have length 3. Got 4 and 4")
    _raises(lambda m, a: m.linalg.multi_dot([a]), torch, x, match="expected at least 2 tensors")
    _raises(lambda m, a, b: m.linalg.multi_dot([a, b]), torch, x, np.ones((4, 3), np.float32),
            match="tensors 0 and 1 with shapes [3, 3] and [4, 3] cannot be multiplied")
    _raises(lambda m, a, b: m.linalg.multi_dot([a, b]), torch, np.ones((2, 3, 3), np.float32),
            x, match="the first tensor must be 1D or 2D but got 3D")


def test_complex_results_are_refused():
    for fn in (LA.eig, LA.eigvals):
        with pytest.raises(RuntimeError, match="no complex dtype"):
            fn(fastnn.eye(3))


def test_backward_limits():
    x = fastnn.randn(4, 2, dtype=fastnn.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        LA.qr(x, mode="complete").Q.sum().backward()
