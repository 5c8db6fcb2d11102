"""fastnn._foreach_*: list versions of the tensor ops, against PyTorch's."""
import numpy as np
import pytest

import fastnn


def _lists(lib):
    return ([lib.tensor([1.0, 2.0, 3.0]), lib.tensor([[0.5, -1.0], [2.0, 4.0]])],
            [lib.tensor([0.5, 0.5, 0.5]), lib.tensor([[1.0, 1.0], [-1.0, 2.0]])])


CASES = {
    "add_scalar": lambda lib, a, b: lib._foreach_add(a, 1.5),
    "add_list_alpha": lambda lib, a, b: lib._foreach_add(a, b, alpha=2),
    "add_scalar_list": lambda lib, a, b: lib._foreach_add(a, [1.0, 2.0]),
    "sub": lambda lib, a, b: lib._foreach_sub(a, b),
    "mul_scalar": lambda lib, a, b: lib._foreach_mul(a, 0.99),
    "mul_tensor": lambda lib, a, b: lib._foreach_mul(a, lib.tensor(2.0)),
    "div": lambda lib, a, b: lib._foreach_div(a, b),
    "lerp": lambda lib, a, b: lib._foreach_lerp(a, b, 0.1),
    "addcmul": lambda lib, a, b: lib._foreach_addcmul(a, b, b, value=0.5),
    "addcdiv": lambda lib, a, b: lib._foreach_addcdiv(a, b, a, value=2),
    "sqrt": lambda lib, a, b: lib._foreach_sqrt(lib._foreach_abs(a)),
    "neg": lambda lib, a, b: lib._foreach_neg(a),
    "maximum": lambda lib, a, b: lib._foreach_maximum(a, b),
    "clamp_min": lambda lib, a, b: lib._foreach_clamp_min(a, 0.7),
    "pow": lambda lib, a, b: lib._foreach_pow(a, 2),
    "norm": lambda lib, a, b: lib._foreach_norm(a),
    "norm_1": lambda lib, a, b: lib._foreach_norm(a, 1),
    "norm_inf": lambda lib, a, b: lib._foreach_norm(a, float("inf")),
}
INPLACE = {
    "add_": lambda lib, a, b: lib._foreach_add_(a, b, alpha=0.5),
    "mul_": lambda lib, a, b: lib._foreach_mul_(a, 0.9),
    "lerp_": lambda lib, a, b: lib._foreach_lerp_(a, b, 0.25),  # an EMA update
    "addcmul_": lambda lib, a, b: lib._foreach_addcmul_(a, b, b, value=-1),
    "zero_": lambda lib, a, b: lib._foreach_zero_(a),
    "copy_": lambda lib, a, b: lib._foreach_copy_(a, b),
    "exp_": lambda lib, a, b: lib._foreach_exp_(a),
}


def _arrays(ts):
    return [np.asarray(t.tolist()) for t in ts]


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_of_place(name):
    torch = pytest.importorskip("torch")
    got = [_arrays(CASES[name](lib, *_lists(lib))) for lib in (fastnn, torch)]
    for ours, theirs in zip(*got):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place(name):
    torch = pytest.importorskip("torch")
    got = []
    for lib in (fastnn, torch):
        a, b = _lists(lib)
        assert INPLACE[name](lib, a, b) is a
        got.append(_arrays(a))
    for ours, theirs in zip(*got):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_length_mismatch_and_empty_lists():
    a, b = _lists(fastnn)
    with pytest.raises(RuntimeError, match="Tensor lists must have the same number of tensors, "
                                           "got 2 and 1"):
        fastnn._foreach_add(a, b[:1])
    with pytest.raises(RuntimeError, match="at least one tensor"):
        fastnn._foreach_mul([], 2.0)


def test_out_of_place_ops_record_gradients():
    w = fastnn.tensor([1.0, 2.0], requires_grad=True)
    (y,) = fastnn._foreach_mul([w], 3.0)
    y.sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_ema_of_parameters_under_no_grad():
    fastnn.manual_seed(0)
    net, ema = fastnn.nn.Linear(3, 2), fastnn.nn.Linear(3, 2)
    before = [p.detach().clone() for p in ema.parameters()]
    with fastnn.no_grad():
        fastnn._foreach_lerp_(list(ema.parameters()), list(net.parameters()), 0.1)
    for e, b, n in zip(ema.parameters(), before, net.parameters()):
        np.testing.assert_allclose(e.detach().numpy(),
                                   b.numpy() + 0.1 * (n.detach().numpy() - b.numpy()), rtol=1e-6)
