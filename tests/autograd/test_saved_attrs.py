"""grad_fn._saved_* and grad_fn.metadata, as PyTorch's autograd-mechanics tutorial uses them."""
import numpy as np
import pytest

import fastnn as torch


def test_saved_input_exponent_and_result():
    x = torch.randn(5, requires_grad=True)
    y = x.pow(2)
    assert x.equal(y.grad_fn._saved_self)
    assert y.grad_fn._saved_exponent == 2
    e = x.exp()
    assert e.equal(e.grad_fn._saved_result)
    assert isinstance(y.grad_fn._raw_saved_self, torch.Tensor)


@pytest.mark.parametrize("fn, attr", [
    (torch.sin, "_saved_self"), (torch.cos, "_saved_self"), (torch.log, "_saved_self"),
    (torch.abs, "_saved_self"), (torch.sqrt, "_saved_result"), (torch.tanh, "_saved_result"),
    (torch.sigmoid, "_saved_result"), (torch.rsqrt, "_saved_result"),
])
def test_each_listed_node(fn, attr):
    x = (torch.rand(4) + 1).requires_grad_()
    out = fn(x)
    expected = x if attr == "_saved_self" else out
    np.testing.assert_array_equal(getattr(out.grad_fn, attr).numpy(), expected.detach().numpy())


def test_unsaved_operand_is_none_and_freed_raises():
    x = torch.randn(3, requires_grad=True)
    m = x * torch.ones(3)
    assert m.grad_fn._saved_self is None  # not needed: ones() takes no gradient
    assert m.grad_fn._saved_other.equal(torch.ones(3))
    m.sum().backward()
    with pytest.raises(RuntimeError, match="already been freed"):
        m.grad_fn._saved_other


def test_unknown_names_and_metadata():
    y = torch.randn(2, requires_grad=True) * 2
    with pytest.raises(AttributeError, match="_saved_foo"):
        y.grad_fn._saved_foo
    assert not hasattr(y.grad_fn, "xyz")
    assert y.grad_fn.metadata == {}
    y.grad_fn.metadata["step"] = 3
    assert y.grad_fn.metadata == {"step": 3}
