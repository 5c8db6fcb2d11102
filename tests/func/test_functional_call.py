"""fastnn.func.functional_call and nn.utils.stateless.functional_call, MAML included."""
import importlib.util
import pathlib

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

_spec = importlib.util.spec_from_file_location(
    "func_checks", pathlib.Path(__file__).with_name("func_checks.py"))
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BN_X = np.random.default_rng(5).standard_normal((5, 3))


def _mlp(lib, seed=0):
    rng = np.random.default_rng(seed)
    model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3)).double()
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)) * 0.5, dtype=lib.float64))
    return model


def _data(lib, n, seed):
    rng = np.random.default_rng(seed)
    return (lib.tensor(rng.standard_normal((n, 4)), dtype=lib.float64),
            lib.tensor(rng.integers(0, 3, n), dtype=lib.int64))


def _maml(lib, steps=2, lr=0.1):
    model = _mlp(lib)
    ce = lib.nn.functional.cross_entropy
    x, y = _data(lib, 5, 1)
    xq, yq = _data(lib, 6, 2)
    params = dict(model.named_parameters())
    fast = params
    for _ in range(steps):
        loss = ce(lib.func.functional_call(model, fast, (x,)), y)
        grads = lib.autograd.grad(loss, list(fast.values()), create_graph=True)
        fast = {n: p - lr * g for (n, p), g in zip(fast.items(), grads)}
    query = ce(lib.func.functional_call(model, fast, (xq,)), yq)
    query.backward()
    assert all(model.get_parameter(n) is p for n, p in params.items())
    return [query.detach()] + [p.grad for p in model.parameters()]


@pytest.mark.parametrize("steps", [1, 2])
def test_maml_outer_gradients_match_torch(steps):
    for a, b in zip(_maml(fastnn, steps), _maml(torch, steps)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_maml_with_func_grad_matches_torch():
    def run(lib):
        model = _mlp(lib)
        ce = lib.nn.functional.cross_entropy
        x, y = _data(lib, 5, 1)
        xq, yq = _data(lib, 6, 2)
        params = dict(model.named_parameters())

        def loss(p, a, b):
            return ce(lib.func.functional_call(model, p, (a,)), b)
        g = lib.func.grad(loss)(params, x, y)
        fast = {n: params[n] - 0.1 * g[n] for n in params}
        loss(fast, xq, yq).backward()
        return [g[n] for n in sorted(g)] + [p.grad for p in model.parameters()]
    for a, b in zip(run(fastnn), run(torch)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_swaps_nested_names_and_restores():
    model = _mlp(fastnn)
    x, _ = _data(fastnn, 3, 4)
    before = {n: p for n, p in model.named_parameters()}
    zeros = {n: fastnn.zeros_like(p) for n, p in before.items()}
    out = fastnn.func.functional_call(model, zeros, x)
    np.testing.assert_array_equal(out.numpy(), np.zeros((3, 3)))
    assert all(model.get_parameter(n) is p for n, p in before.items())
    assert model[0].weight is before["0.weight"]
    # a partial dict swaps only the given names
    half = fastnn.func.functional_call(model, {"2.bias": fastnn.ones(3, dtype=fastnn.float64)},
                                       (x,))
    want = (model(x) - model[2].bias + 1).detach().numpy()
    np.testing.assert_allclose(half.detach().numpy(), want)


def test_restores_when_the_call_raises():
    model = _mlp(fastnn)
    w = model[0].weight
    with pytest.raises(RuntimeError):
        fastnn.func.functional_call(model, {"0.weight": fastnn.zeros(8, 4, dtype=fastnn.float64)},
                                    (fastnn.ones(2, 5, dtype=fastnn.float64),))
    assert model[0].weight is w and model[0]._parameters["weight"] is w


def test_buffers_args_and_kwargs_match_torch():
    def run(lib):
        lib.manual_seed(0)
        bn = lib.nn.BatchNorm1d(3).double()
        x = lib.tensor(BN_X, dtype=lib.float64)
        mean = lib.zeros(3, dtype=lib.float64)
        values = {"running_mean": mean, "weight": lib.full((3,), 2.0, dtype=lib.float64)}
        out = lib.func.functional_call(bn, values, args=(), kwargs={"input": x})
        # the module's own buffer is untouched, the given one took the update
        return out, values["running_mean"], bn.running_mean, bn.weight
    for a, b in zip(run(fastnn), run(torch)):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


class _Tied:
    @staticmethod
    def make(lib):
        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(2, 2, bias=False)
                self.b = lib.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight

            def forward(self, x):
                return self.b(self.a(x))
        m = Tied().double()
        with lib.no_grad():
            m.a.weight.copy_(lib.tensor([[1.0, 2.0], [-1.0, 0.5]], dtype=lib.float64))
        return m


@pytest.mark.parametrize("tie", [True, False])
def test_tied_weights_match_torch(tie):
    def run(lib):
        m = _Tied.make(lib)
        x = lib.ones(1, 2, dtype=lib.float64)
        return lib.func.functional_call(m, {"a.weight": lib.eye(2, dtype=lib.float64) * 3},
                                        (x,), tie_weights=tie)
    ours, want = run(fastnn), run(torch)
    np.testing.assert_allclose(ours.detach().numpy(), want.detach().numpy())


ERRORS = {
    "tied_conflict": lambda lib: lib.func.functional_call(
        _Tied.make(lib), {"a.weight": lib.eye(2), "b.weight": lib.ones(2, 2)},
        (lib.ones(1, 2),)),
    "strict_missing_unexpected": lambda lib: lib.func.functional_call(
        lib.nn.Linear(2, 2), {"weight": lib.ones(2, 2), "extra": lib.ones(1)},
        (lib.ones(1, 2),), strict=True),
    "repeated_keys": lambda lib: lib.func.functional_call(
        lib.nn.Linear(2, 2), ({"weight": lib.ones(2, 2)}, {"weight": lib.ones(2, 2)}),
        (lib.ones(1, 2),)),
    "not_dicts": lambda lib: lib.func.functional_call(lib.nn.Linear(2, 2), [1],
                                                      (lib.ones(1, 2),)),
    "bad_container": lambda lib: lib.func.functional_call(lib.nn.Linear(2, 2), 3,
                                                          (lib.ones(1, 2),)),
    "missing_submodule": lambda lib: lib.func.functional_call(
        lib.nn.Linear(2, 2), {"sub.weight": lib.ones(2, 2)}, (lib.ones(1, 2),)),
}


test_errors_match_torch = _checks.errors_test(ERRORS)


def test_sequence_of_dicts_and_unknown_names():
    lin = fastnn.nn.Linear(2, 2).double()
    w, b = fastnn.eye(2, dtype=fastnn.float64), fastnn.ones(2, dtype=fastnn.float64)
    out = fastnn.func.functional_call(lin, ({"weight": w}, {"bias": b}),
                                      (fastnn.tensor([[1.0, 2.0]], dtype=fastnn.float64),))
    np.testing.assert_allclose(out.numpy(), [[2.0, 3.0]])
    # a name the module lacks is set for the call and removed afterwards, as in PyTorch
    fastnn.func.functional_call(lin, {"scale": fastnn.ones(1)}, (fastnn.ones(1, 2).double(),))
    assert not hasattr(lin, "scale")


def test_stateless_spelling_warns_and_matches():
    import fastnn.nn.utils.stateless as stateless
    assert fastnn.nn.utils.stateless is stateless
    lin = fastnn.nn.Linear(2, 2).double()
    values = {"weight": fastnn.eye(2, dtype=fastnn.float64),
              "bias": fastnn.zeros(2, dtype=fastnn.float64)}
    x = fastnn.tensor([[1.0, -2.0]], dtype=fastnn.float64)
    with pytest.warns(FutureWarning, match="fastnn.func.functional_call"):
        out = stateless.functional_call(lin, values, x)
    np.testing.assert_allclose(out.numpy(), x.numpy())
    assert lin.weight is not values["weight"]
