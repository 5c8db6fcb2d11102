"""Finite-difference checks (float64) of every differentiable core op."""
import importlib.util
import pathlib

import pytest

import fastnn
from fastnn.autograd import gradcheck
from fastnn.autograd.gradcheck import GradcheckError

# the shared case table sits beside this file (tests are not a package: load it by path)
_spec = importlib.util.spec_from_file_location(
    "autograd_op_cases", pathlib.Path(__file__).with_name("op_cases.py"))
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
CASES, make_inputs = _cases.CASES, _cases.make_inputs


@pytest.mark.parametrize("name,fn,specs", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, specs):
    inputs = make_inputs(specs, fastnn, "float64")
    assert gradcheck(lambda *xs: fn(fastnn, *xs), tuple(inputs), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name,fn,specs", [c for c in CASES if len(c[2]) > 1],
                         ids=[c[0] for c in CASES if len(c[2]) > 1])
def test_gradcheck_with_one_input_constant(name, fn, specs):
    """Only the first input requires grad: the others' gradients are never needed."""
    inputs = make_inputs(specs, fastnn, "float64")
    for t in inputs[1:]:
        t.requires_grad_(False)
    assert gradcheck(lambda *xs: fn(fastnn, *xs), tuple(inputs))


def test_gradcheck_catches_a_wrong_backward():
    class BadSquare(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * g * x

    x = fastnn.rand(3, dtype=fastnn.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(BadSquare.apply, (x,))
    assert gradcheck(BadSquare.apply, (x,), raise_exception=False) is False
    assert isinstance(GradcheckError("x"), RuntimeError)


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda x: x * 2, (fastnn.ones(2, dtype=fastnn.float64),))


def test_gradcheck_warns_on_single_precision():
    x = fastnn.rand(2, requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision floating point"):
        gradcheck(lambda t: t * 2, (x,), atol=1e-2, rtol=1e-2, eps=1e-3)


def test_gradgradcheck_of_a_linear_function():
    # the first gradient is constant in the input: its Jacobian is zero, not missing
    x = fastnn.randn(3, 3, dtype=fastnn.float64, requires_grad=True)
    assert fastnn.autograd.gradgradcheck(lambda t: t * 2 + 1, x)
    assert fastnn.autograd.gradgradcheck(lambda t: fastnn.einsum("ii->i", t), x)
    assert fastnn.autograd.gradgradcheck(lambda t: (t * t, t * 3), x)
