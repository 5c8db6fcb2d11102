"""retain_graph with create_graph=True (the graph is freed when retain_graph=False is passed),
and backward(create_graph=True) through a reentrant checkpoint."""
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.utils.checkpoint import checkpoint

SECOND_TIME = "Trying to backward through the graph a second time"


@pytest.fixture(autouse=True)
def _quiet_cycle_warning():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
        yield


def _leaf():
    return fastnn.tensor([1.0, 2.0, 3.0], requires_grad=True)


def test_grad_create_graph_without_retain_frees_the_graph():
    x = _leaf()
    out = (x ** 3).sum()
    (g,) = fastnn.autograd.grad(out, x, create_graph=True, retain_graph=False)
    np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0, 27.0])
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        fastnn.autograd.grad(out, x)
    # the gradient's own graph reads only x, so it can still be differentiated
    (h,) = fastnn.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0, 18.0])


@pytest.mark.parametrize("retain_graph", [None, True])
def test_grad_create_graph_retains_by_default(retain_graph):
    x = _leaf()
    out = (x ** 3).sum()
    fastnn.autograd.grad(out, x, create_graph=True, retain_graph=retain_graph)
    (again,) = fastnn.autograd.grad(out, x)
    np.testing.assert_allclose(again.numpy(), [3.0, 12.0, 27.0])


def test_backward_create_graph_without_retain_frees_the_graph():
    x = _leaf()
    out = (x ** 3).sum()
    out.backward(create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        out.backward()


def test_backward_create_graph_retains_by_default():
    x = _leaf()
    out = (x ** 3).sum()
    out.backward(create_graph=True)
    x.grad = None
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0, 27.0])


def test_second_order_through_a_freed_saved_output_raises():
    # exp's gradient reads exp's output, whose node was freed with the graph
    x = _leaf()
    (g,) = fastnn.autograd.grad(x.exp().sum(), x, create_graph=True, retain_graph=False)
    with pytest.raises(RuntimeError, match=SECOND_TIME):
        fastnn.autograd.grad(g.sum(), x)


def test_freeing_matches_torch():
    torch = pytest.importorskip("torch")
    outcomes = []
    for lib in (torch, fastnn):
        x = lib.tensor([0.5, 1.5], requires_grad=True)
        outcome = []
        for fn in (lambda t: (t ** 3).sum(), lambda t: t.exp().sum()):
            out = fn(x)
            (g,) = lib.autograd.grad(out, x, create_graph=True, retain_graph=False)
            for again in (lambda: lib.autograd.grad(out, x), lambda: lib.autograd.grad(g.sum(), x)):
                try:
                    outcome.append(np.round(again()[0].numpy(), 10).tolist())
                except RuntimeError as e:
                    outcome.append(str(e)[:50])
        outcomes.append(outcome)
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("retain_graph", [None, True, False])
def test_backward_create_graph_through_reentrant_checkpoint(retain_graph):
    x = _leaf()
    out = checkpoint(lambda a: a.pow(3), x, use_reentrant=True)
    out.sum().backward(create_graph=True, retain_graph=retain_graph)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0, 27.0])
    # the checkpoint's backward runs a plain first-order pass: its gradient has no graph
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_reentrant_checkpoint_gradient_adds_to_a_graphed_path():
    x = _leaf()
    out = checkpoint(lambda a: a.pow(3), x, use_reentrant=True)
    (out.sum() + (x ** 2).sum()).backward(create_graph=True)
    np.testing.assert_allclose(x.grad.detach().numpy(), [5.0, 16.0, 33.0])
    assert x.grad.grad_fn is not None  # from the x ** 2 path
    (h,) = fastnn.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(h.numpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("call", ["grad", "grad_create_graph", "inputs"])
def test_reentrant_checkpoint_still_refuses_grad_and_inputs(call):
    x = _leaf()
    out = checkpoint(lambda a: a.pow(3), x, use_reentrant=True).sum()
    with pytest.raises(RuntimeError, match="use_reentrant=True, torch.utils.checkpoint is "
                                           "incompatible with .grad\\(\\)"):
        if call == "grad":
            fastnn.autograd.grad(out, x)
        elif call == "grad_create_graph":
            fastnn.autograd.grad(out, x, create_graph=True)
        else:
            out.backward(create_graph=True, inputs=[x])


def test_reentrant_checkpoint_create_graph_matches_torch():
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (torch, fastnn):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = lib.utils.checkpoint.checkpoint(lambda a: a.pow(3), x, use_reentrant=True)
        out.sum().backward(create_graph=True)
        grads.append((x.grad.detach().numpy(), x.grad.requires_grad))
    np.testing.assert_allclose(grads[1][0], grads[0][0])
    assert grads[1][1] == grads[0][1]
