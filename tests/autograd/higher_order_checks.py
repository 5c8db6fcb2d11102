"""Shared checks of the create_graph=True tests: the rules' gradients against the engine's,
and double backward against PyTorch."""
import numpy as np
import pytest

import fastnn


def first_grads_agree(fn, xs):
    """The rules' gradients (create_graph=True) equal the engine's plain ones."""
    plain = fastnn.autograd.grad(fn(*xs), xs, allow_unused=True, materialize_grads=True)
    graph = fastnn.autograd.grad(fn(*xs), xs, create_graph=True, allow_unused=True,
                                 materialize_grads=True)
    for p, q in zip(plain, graph):
        np.testing.assert_allclose(q.detach().numpy(), p.numpy(), rtol=1e-10, atol=1e-12)
    return True


def double_backward(lib, fn, arrays, seed=5):
    """Gradients g of fn's output, then the gradients of sum(w * g) for fixed weights w."""
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    gs = lib.autograd.grad(fn(lib, *xs), xs, create_graph=True)
    rng = np.random.default_rng(seed)
    total = sum((g * lib.tensor(rng.standard_normal(tuple(g.shape)))).sum() for g in gs)
    second = lib.autograd.grad(total, xs, allow_unused=True)
    return [g.detach().numpy() for g in gs] + [
        np.zeros(a.shape) if s is None else s.numpy() for s, a in zip(second, arrays)]


def matches_torch(fn, arrays, rtol=1e-9, atol=1e-11):
    torch = pytest.importorskip("torch")
    ours = double_backward(fastnn, fn, arrays)
    want = double_backward(torch, fn, arrays)
    for a, b in zip(ours, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return True


def case_tests(cases, arrays, seeds, rtol=1e-9, no_torch=()):
    """The three checks of every entry of ``cases`` ({name: (fn(lib, *xs), *shapes)}) as
    test functions: finite differences, the engine's first gradients, PyTorch's double
    backward. ``arrays(name, seed)`` draws an entry's inputs; ``seeds`` are (ours, torch's)."""
    from fastnn.autograd import gradgradcheck

    def tensors(name):
        return [fastnn.tensor(a, requires_grad=True) for a in arrays(name, seeds[0])]

    def ours(name):
        fn = cases[name][0]
        return lambda *xs: fn(fastnn, *xs)

    @pytest.mark.parametrize("name", sorted(cases))
    def test_second_derivatives_match_finite_differences(name):
        assert gradgradcheck(ours(name), tensors(name))

    @pytest.mark.parametrize("name", sorted(cases))
    def test_first_derivatives_match_the_engine(name):
        assert first_grads_agree(ours(name), tensors(name))

    @pytest.mark.parametrize("name", sorted(set(cases) - set(no_torch)))
    def test_double_backward_matches_torch(name):
        assert matches_torch(cases[name][0], arrays(name, seeds[1]), rtol=rtol)

    return (test_second_derivatives_match_finite_differences,
            test_first_derivatives_match_the_engine, test_double_backward_matches_torch)
