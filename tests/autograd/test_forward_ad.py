"""autograd.forward_ad: dual tensors, checked by finite differences and against PyTorch."""
import numpy as np
import pytest

import fastnn
import fastnn.autograd.forward_ad as fwAD
from fastnn import nn


def _f64(*shape, seed=0):
    return fastnn.tensor(np.random.default_rng(seed).standard_normal(shape))


def _central_difference(fn, x, t, eps=1e-6):
    hi = fn(x + eps * t).detach().numpy()
    lo = fn(x - eps * t).detach().numpy()
    return (hi - lo) / (2 * eps)


@pytest.mark.parametrize("fn", [
    lambda x: x ** 2 + x.sin(),
    lambda x: (x.exp() * x.tanh()).softmax(-1).log().sum(0),
    lambda x: x @ x.T,
    lambda x: nn.functional.relu(x).mean(),
], ids=["elementwise", "softmax", "matmul", "reduction"])
def test_tangent_is_the_directional_derivative(fn):
    x, t = _f64(4, 3), _f64(4, 3, seed=1)
    with fwAD.dual_level():
        y = fn(fwAD.make_dual(x, t))
        primal, tangent = fwAD.unpack_dual(y)
    np.testing.assert_allclose(primal.numpy(), fn(x).numpy(), rtol=1e-12)
    np.testing.assert_allclose(tangent.numpy(), _central_difference(fn, x, t),
                               rtol=1e-6, atol=1e-8)


def test_tutorial_flow_and_level_lifetime():
    primal, tangent = fastnn.randn(10, 10), fastnn.randn(10, 10)
    with fwAD.dual_level() as level:
        assert level == 0
        dual = fwAD.make_dual(primal, tangent)
        assert fwAD.unpack_dual(dual).tangent is tangent
        assert fwAD.unpack_dual(fwAD.make_dual(primal, tangent.T)).tangent is not tangent
        plain = fastnn.randn(10, 10)
        out = dual ** 2 + plain ** 2
        np.testing.assert_allclose(fwAD.unpack_dual(out).tangent.numpy(),
                                   (2 * primal * tangent).numpy(), rtol=1e-6)
        assert fwAD.unpack_dual(plain).tangent is None
        assert fwAD.unpack_dual(dual.argmax()).tangent is None
        assert fwAD.unpack_dual(dual.detach()).tangent is None
        assert fwAD.unpack_dual(out).primal.requires_grad is False
    assert fwAD.unpack_dual(out).tangent is None  # the level is gone


def test_module_parameters_as_duals_match_the_linear_formula():
    model = nn.Linear(5, 4)
    x = fastnn.randn(16, 5)
    params = dict(model.named_parameters())
    tangents = {n: fastnn.randn(*p.shape) for n, p in params.items()}
    with fwAD.dual_level():
        duals = {n: fwAD.make_dual(p, tangents[n]) for n, p in params.items()}
        out = fastnn.func.functional_call(model, duals, (x,))
        jvp = fwAD.unpack_dual(out).tangent
    expected = x @ tangents["weight"].T + tangents["bias"]
    np.testing.assert_allclose(jvp.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_errors():
    x = fastnn.randn(3)
    with pytest.raises(RuntimeError, match="no level exists"):
        fwAD.make_dual(x, fastnn.ones(3))
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match=r"Tensor is of size \[3\] while the given "
                                               r"forward gradient is of size \[4\]"):
            fwAD.make_dual(x, fastnn.ones(4))
        with pytest.raises(ValueError, match="Expected primal to be floating point"):
            fwAD.make_dual(fastnn.arange(3), fastnn.ones(3))
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported"):
            with fwAD.dual_level():
                pass
        dual = fwAD.make_dual(x, fastnn.ones(3))
        with pytest.raises(RuntimeError, match="already has a forward gradient at the same "
                                               "level 0"):
            fwAD.make_dual(dual, fastnn.ones(3))
        assert fwAD.make_dual(x, fastnn.ones(3, dtype=fastnn.float64)).dtype == fastnn.float32


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    xs, ts, ws = (rng.standard_normal(s) for s in ((6, 4), (6, 4), (4, 3)))

    def run(lib, fw):
        with fw.dual_level():
            d = fw.make_dual(lib.tensor(xs), lib.tensor(ts))
            y = lib.nn.functional.gelu(d @ lib.tensor(ws)).logsumexp(-1)
            primal, tangent = fw.unpack_dual(y)
        return primal.numpy(), tangent.detach().numpy()

    import torch.autograd.forward_ad as torch_fw
    for got, want in zip(run(fastnn, fwAD), run(torch, torch_fw)):
        np.testing.assert_allclose(got, want, rtol=1e-10)
