"""fastnn.func.vmap (a loop over the batch) against torch.func.vmap: results and errors."""
import functools
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

_R = np.random.default_rng(11)
A = _R.standard_normal((4, 3))
B = _R.standard_normal((3, 4))
W = _R.standard_normal((2, 3))


def _t(lib, arr):
    return lib.tensor(arr, dtype=lib.float64)




def _compare(run):
    ours, want = run(fastnn), run(torch)
    a, b = _checks.flat(ours), _checks.flat(want)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def _dot(a, b):
    return (a * b).sum()


CASES = {
    "default": lambda lib: lib.func.vmap(lambda a: a.sin() * 2)(_t(lib, A)),
    "two_args": lambda lib: lib.func.vmap(_dot)(_t(lib, A), _t(lib, A) + 1),
    "in_dims_none": lambda lib: lib.func.vmap(lambda w, a: w @ a, in_dims=(None, 0))(
        _t(lib, W), _t(lib, A)),
    "in_dims_1": lambda lib: lib.func.vmap(_dot, in_dims=(0, 1))(_t(lib, A), _t(lib, B)),
    "in_dims_negative": lambda lib: lib.func.vmap(_dot, in_dims=(0, -1))(_t(lib, A),
                                                                         _t(lib, B)),
    "nested_in_dims": lambda lib: lib.func.vmap(lambda p, s: p[0] * p[1] + s,
                                                in_dims=((0, 1), None))(
        (_t(lib, A), _t(lib, B)), 2.0),
    "dict_input": lambda lib: lib.func.vmap(lambda d: d["x"] * d["y"])(
        {"x": _t(lib, A), "y": _t(lib, A) - 1}),
    "out_dims_1": lambda lib: lib.func.vmap(lambda a: a.exp(), out_dims=1)(_t(lib, A)),
    "out_dims_negative": lambda lib: lib.func.vmap(lambda a: a.unsqueeze(0), out_dims=-1)(
        _t(lib, A)),
    "tuple_output": lambda lib: lib.func.vmap(lambda a: (a.sum(), a * a))(_t(lib, A)),
    "tuple_out_dims": lambda lib: lib.func.vmap(lambda a: (a.sum(), a * a), out_dims=(0, 1))(
        _t(lib, A)),
    "out_dims_none_for_unbatched": lambda lib: lib.func.vmap(
        lambda a: (a * 2, lib.ones(2, dtype=lib.float64)), out_dims=(0, None))(_t(lib, A)),
    "kwargs_unbatched": lambda lib: lib.func.vmap(lambda a, scale=1.0: a * scale)(
        _t(lib, A), scale=_t(lib, [1.0, 2.0, 3.0])),
    "nested_vmap": lambda lib: lib.func.vmap(lib.func.vmap(_dot))(_t(lib, A), _t(lib, A)),
    "per_sample_grad": lambda lib: lib.func.vmap(
        lib.func.grad(lambda w, a: ((w @ a).tanh() ** 2).sum()), in_dims=(None, 0))(
        _t(lib, W), _t(lib, A)),
    "vmap_of_jacrev": lambda lib: lib.func.vmap(lib.func.jacrev(lambda a: a.sin() * a))(
        _t(lib, A)),
    "chunk_size": lambda lib: lib.func.vmap(lambda a: a.cos(), chunk_size=3)(_t(lib, A)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_matches_torch(name):
    _compare(CASES[name])


def test_vmap_output_is_differentiable():
    def run(lib):
        w = _t(lib, W).requires_grad_()
        out = lib.func.vmap(lambda a: (w @ a).tanh(), in_dims=0)(_t(lib, A))
        (g,) = lib.autograd.grad((out ** 2).sum(), w)
        return out, g
    _compare(run)


def test_randomness_same_replays_one_state():
    out = fastnn.func.vmap(lambda a: a + fastnn.rand(3), randomness="same")(fastnn.zeros(4, 3))
    assert np.allclose(out.numpy(), out.numpy()[0])
    diff = fastnn.func.vmap(lambda a: a + fastnn.rand(3), randomness="different")(
        fastnn.zeros(4, 3))
    assert not np.allclose(diff.numpy(), diff.numpy()[0])


def _add(a, b):
    return a + b


ERRORS = {
    "batch_sizes": lambda lib: lib.func.vmap(_add)(lib.ones(2), lib.ones(3)),
    "in_dims_too_long": lambda lib: lib.func.vmap(_add, in_dims=(0, 0, 0))(lib.ones(2),
                                                                          lib.ones(2)),
    "in_dims_out_of_range": lambda lib: lib.func.vmap(_add, in_dims=(0, 2))(lib.ones(2),
                                                                           lib.ones(2)),
    "in_dims_list": lambda lib: lib.func.vmap(_add, in_dims=[0, 0])(lib.ones(2), lib.ones(2)),
    "in_dims_string": lambda lib: lib.func.vmap(_add, in_dims=(0, "a"))(lib.ones(2),
                                                                        lib.ones(2)),
    "all_none": lambda lib: lib.func.vmap(_add, in_dims=(None, None))(lib.ones(2),
                                                                      lib.ones(2)),
    "no_inputs": lambda lib: lib.func.vmap(lambda: lib.ones(2))(),
    "non_tensor_batched": lambda lib: lib.func.vmap(_add)(lib.ones(2), 3.0),
    "out_dims_structure": lambda lib: lib.func.vmap(lambda a: (a, a), out_dims=(0, 0, 0))(
        lib.ones(2)),
    "out_dims_type": lambda lib: lib.func.vmap(lambda a: a, out_dims="x")(lib.ones(2)),
    "non_tensor_output": lambda lib: lib.func.vmap(lambda a: 3)(lib.ones(2)),
    "randomness": lambda lib: lib.func.vmap(_add, randomness="sometimes"),
    "chunk_size": lambda lib: lib.func.vmap(_add, chunk_size=0),
    "partial_name": lambda lib: lib.func.vmap(functools.partial(_add, b=1.0), in_dims=(0, 0))(
        lib.ones(2)),
}


test_errors_match_torch = _checks.errors_test(ERRORS)


def test_ensemble_with_stack_module_state_matches_torch():
    def run(lib):
        models = []
        for seed in range(3):
            m = lib.nn.Linear(3, 2).double()
            rng = np.random.default_rng(seed)
            with lib.no_grad():
                for p in m.parameters():
                    p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float64))
            models.append(m)
        params, buffers = lib.func.stack_module_state(models)
        assert params["weight"].requires_grad and params["weight"].grad_fn is None

        def call(p, b, x):
            return lib.func.functional_call(models[0], (p, b), (x,))
        out = lib.func.vmap(call, in_dims=(0, 0, None))(params, buffers, _t(lib, A))
        out.sum().backward()
        return out, params["weight"].grad
    _compare(run)


def test_stack_module_state_errors_match_torch():
    for make in (lambda lib: [], lambda lib: [lib.nn.Linear(2, 2), lib.nn.Linear(2, 2).eval()],
                 lambda lib: [lib.nn.Linear(2, 2), lib.nn.ReLU()]):
        with pytest.raises(Exception) as want:
            torch.func.stack_module_state(make(torch))
        with pytest.raises(type(want.value)) as got:
            fastnn.func.stack_module_state(make(fastnn))
        assert str(got.value) == str(want.value)
