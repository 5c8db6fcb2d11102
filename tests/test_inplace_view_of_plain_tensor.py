"""In-place ops that write a tensor needing grad into a view of a tensor that does not: the
base takes the history (PyTorch's CopySlices), so its later use sends gradient back."""
import numpy as np
import pytest

import fastnn

CASES = {
    "add_": lambda b, w: b[1].add_(w),
    "copy_": lambda b, w: b[1].copy_(w * 2),
    "transposed_mul_": lambda b, w: b.t()[0, 1:].add_(1).mul_(w),
    "unsqueezed_add_": lambda b, w: b.unsqueeze(0).add_(w),
    "slice_setitem": lambda b, w: b[1:2].copy_(w[None]),
}


def _run(lib, name):
    w = lib.tensor([1.0, 2.0], requires_grad=True)
    b = lib.zeros(3, 2)
    CASES[name](b, w)
    loss = (b * b).sum()
    assert b.requires_grad and b.grad_fn is not None
    loss.backward()
    return w.grad.numpy().copy(), b.detach().numpy().copy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_base_takes_the_history(name):
    grad, values = _run(fastnn, name)
    assert np.abs(grad).sum() > 0


def test_add_into_row_gives_the_right_gradient():
    grad, values = _run(fastnn, "add_")
    np.testing.assert_array_equal(values, [[0, 0], [1, 2], [0, 0]])
    np.testing.assert_array_equal(grad, [2, 4])  # d/dw sum(w**2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = _run(fastnn, name), _run(torch, name)
    np.testing.assert_allclose(ours[0], theirs[0])
    np.testing.assert_allclose(ours[1], theirs[1])


def test_rnn_style_output_buffer():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (fastnn, torch):
        lib.manual_seed(0)
        w = lib.tensor([[0.5, -0.2], [0.1, 0.3]], requires_grad=True)
        h = lib.tensor([1.0, -1.0])
        out = lib.zeros(4, 2)
        for t in range(4):
            h = (w @ h).tanh()
            out[t].copy_(h)
        out.pow(2).sum().backward()
        grads.append(w.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5)
