"""What hooks may return: checked as PyTorch checks it, with PyTorch's messages."""
import pytest

import fastnn


def _xy():
    x = fastnn.ones(2, requires_grad=True)
    return x, x * 2


def test_tensor_hook_results_are_checked():
    x, y = _xy()
    y.register_hook(lambda g: fastnn.ones(3))
    with pytest.raises(RuntimeError, match="hook '<lambda>' has changed the size of value"):
        y.sum().backward()
    x, y = _xy()
    y.register_hook(lambda g: 3)
    with pytest.raises(TypeError, match="expected Variable, but hook returned 'int'"):
        y.sum().backward()
    x = fastnn.ones(2, requires_grad=True)
    x.register_hook(lambda g: fastnn.ones(3))
    with pytest.raises(RuntimeError, match="has changed the size of value"):
        (x * 2).sum().backward()


def test_grad_fn_prehook_takes_and_returns_tuples():
    x, y = _xy()
    seen = []
    y.grad_fn.register_prehook(lambda go: seen.append(type(go)) or (go[0] * 10,))
    y.sum().backward()
    assert seen == [tuple] and x.grad.tolist() == [20.0, 20.0]
    x, y = _xy()
    y.retain_grad()
    y.grad_fn.register_prehook(lambda go: None)
    y.register_hook(lambda g: g * 3)
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0] and y.grad.tolist() == [3.0, 3.0]


def test_grad_fn_prehook_result_errors():
    x, y = _xy()
    y.grad_fn.register_prehook(lambda go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match=r"has returned an incorrect number of values \(got 2, "
                                           r"but expected 1\)"):
        y.sum().backward()
    x, y = _xy()
    y.grad_fn.register_prehook(lambda go: go[0])
    with pytest.raises(TypeError, match="expected tuple, but hook returned 'Tensor'"):
        y.sum().backward()


def test_backward_with_empty_inputs_raises():
    x, y = _xy()
    with pytest.raises(RuntimeError, match="`inputs` argument to `backward\\(\\)` cannot be empty"):
        y.sum().backward(inputs=[])
