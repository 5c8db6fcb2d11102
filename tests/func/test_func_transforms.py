"""fastnn.func grad, grad_and_value, vjp, jvp, jacrev, jacfwd and hessian against torch.func."""
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

_R = np.random.default_rng(7)
X = _R.standard_normal(3)
Y = _R.standard_normal((2, 3))


def _x(lib):
    return lib.tensor(X, dtype=lib.float64)


def _y(lib):
    return lib.tensor(Y, dtype=lib.float64)




def _structure(t):
    if isinstance(t, (tuple, list)):
        return (type(t).__name__,) + tuple(_structure(i) for i in t)
    if isinstance(t, dict):
        return tuple((k, _structure(t[k])) for k in sorted(t))
    return tuple(t.shape)


def _compare(run):
    ours, want = run(fastnn), run(torch)
    assert _structure(ours) == _structure(want)
    for a, b in zip(_checks.flat(ours), _checks.flat(want)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    return ours


def _cubic(a):
    return (a.sin() * a ** 3).sum()


def _two(a, b):
    return (b @ a).exp().sum() + (a * a).sum()


CASES = {
    "grad": lambda lib: lib.func.grad(_cubic)(_x(lib)),
    "grad_argnum_1": lambda lib: lib.func.grad(_two, argnums=1)(_x(lib), _y(lib)),
    "grad_argnums": lambda lib: lib.func.grad(_two, argnums=(0, 1))(_x(lib), _y(lib)),
    "grad_negative_argnum": lambda lib: lib.func.grad(_two, argnums=-1)(_x(lib), _y(lib)),
    "grad_dict": lambda lib: lib.func.grad(lambda p: (p["w"] @ p["b"]).tanh().sum())(
        {"w": _y(lib), "b": _x(lib)}),
    "grad_unused_arg_is_zero": lambda lib: lib.func.grad(lambda a, b: (a * 2).sum(),
                                                         argnums=(0, 1))(_x(lib), _y(lib)),
    "grad_and_value": lambda lib: lib.func.grad_and_value(_cubic)(_x(lib)),
    "grad_has_aux": lambda lib: lib.func.grad(lambda a: (_cubic(a), a.cos()),
                                              has_aux=True)(_x(lib)),
    "grad_and_value_aux": lambda lib: lib.func.grad_and_value(
        lambda a: (_cubic(a), {"c": a.cos()}), has_aux=True)(_x(lib)),
    "grad_of_grad": lambda lib: lib.func.grad(lib.func.grad(lambda a: a.sin() * a ** 3))(
        lib.tensor(0.7, dtype=lib.float64)),
    "grad_of_grad_of_grad": lambda lib: lib.func.grad(lib.func.grad(lib.func.grad(
        lambda a: a.exp() * a ** 2)))(lib.tensor(0.3, dtype=lib.float64)),
    "vjp": lambda lib: _vjp_case(lib),
    "jvp": lambda lib: lib.func.jvp(lambda a, b: (b @ a).sin(), (_x(lib), _y(lib)),
                                    (_x(lib) * 2, _y(lib) + 1)),
    "jvp_tuple_out": lambda lib: lib.func.jvp(lambda a: (a.exp(), (a * a).sum()), (_x(lib),),
                                              (lib.ones(3, dtype=lib.float64),)),
    "jvp_constant_out": lambda lib: lib.func.jvp(lambda a: lib.ones(2, dtype=lib.float64),
                                                 (_x(lib),), (_x(lib),)),
    "jvp_prod_where": lambda lib: lib.func.jvp(
        lambda a: (a.prod() * a, lib.where(a > 0, a, a * a)), (_x(lib),), (_x(lib) + 1,)),
    "jacrev": lambda lib: lib.func.jacrev(lambda a: (_y(lib) @ a).sin())(_x(lib)),
    "jacrev_argnums": lambda lib: lib.func.jacrev(lambda a, b: (b @ a).sin(),
                                                  argnums=(0, 1))(_x(lib), _y(lib)),
    "jacrev_tuple_out": lambda lib: lib.func.jacrev(lambda a: (a.exp(), a.sum()))(_x(lib)),
    "jacrev_dict_in": lambda lib: lib.func.jacrev(lambda p: p["w"] @ p["b"])(
        {"w": _y(lib), "b": _x(lib)}),
    "jacrev_aux": lambda lib: lib.func.jacrev(lambda a: (a.exp(), a.sum()), has_aux=True)(
        _x(lib)),
    "jacfwd": lambda lib: lib.func.jacfwd(lambda a, b: (b @ a).tanh(), argnums=1)(_x(lib),
                                                                                   _y(lib)),
    "hessian": lambda lib: lib.func.hessian(_two)(_x(lib), _y(lib)),
    "hessian_argnums": lambda lib: lib.func.hessian(_two, argnums=(0, 1))(_x(lib), _y(lib)),
    "jacrev_of_jacrev": lambda lib: lib.func.jacrev(lib.func.jacrev(_cubic))(_x(lib)),
}


def _vjp_case(lib):
    out, fn = lib.func.vjp(lambda a, b: (b @ a, a.exp()), _x(lib), _y(lib))
    return out, fn((lib.ones(2, dtype=lib.float64), _x(lib)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_transform_matches_torch(name):
    _compare(CASES[name])


def test_top_level_results_carry_no_graph():
    x = _x(fastnn)
    assert not fastnn.func.grad(_cubic)(x).requires_grad
    g, v = fastnn.func.grad_and_value(_cubic)(x)
    assert not g.requires_grad and not v.requires_grad
    assert not fastnn.func.jacrev(lambda a: a.exp())(x).requires_grad
    assert not fastnn.func.hessian(_cubic)(x).requires_grad
    out, fn = fastnn.func.vjp(lambda a: a.exp(), x)
    assert not out.requires_grad and not fn(x)[0].requires_grad


def test_grad_through_a_captured_parameter():
    # the result stays differentiable with respect to tensors from outside the transform
    def run(lib):
        w = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        g = lib.func.grad(lambda a: (a.sin() * w * a).sum())(_x(lib))
        (gw,) = lib.autograd.grad(g.sum(), w)
        return g, gw
    _compare(run)


def test_grad_of_parameters_that_require_grad():
    def run(lib):
        w = lib.tensor(Y, dtype=lib.float64, requires_grad=True)
        g = lib.func.grad(lambda p: ((p @ _x(lib)).tanh() ** 2).sum())(w)
        assert g.requires_grad
        (gg,) = lib.autograd.grad((g * g).sum(), w)
        return g, gg
    _compare(run)


def test_grad_of_grad_matches_finite_differences():
    f = fastnn.func.grad(fastnn.func.grad(lambda a: a.sin() * a ** 3))
    g1 = fastnn.func.grad(lambda a: a.sin() * a ** 3)
    eps, x0 = 1e-6, 0.7
    fd = (g1(fastnn.tensor(x0 + eps, dtype=fastnn.float64)).item()
          - g1(fastnn.tensor(x0 - eps, dtype=fastnn.float64)).item()) / (2 * eps)
    assert f(fastnn.tensor(x0, dtype=fastnn.float64)).item() == pytest.approx(fd, rel=1e-7)


def test_vjp_fn_can_be_called_repeatedly():
    out, fn = fastnn.func.vjp(lambda a: a.exp(), _x(fastnn))
    a, b = fn(fastnn.ones(3, dtype=fastnn.float64)), fn(_x(fastnn))
    np.testing.assert_allclose(a[0].numpy(), np.exp(X))
    np.testing.assert_allclose(b[0].numpy(), np.exp(X) * X)


ERRORS = {
    "argnum_out_of_range": lambda lib: lib.func.grad(_cubic, argnums=2)(_x(lib)),
    "argnums_repeated": lambda lib: lib.func.grad(_cubic, argnums=(0, 0))(_x(lib)),
    "argnums_empty": lambda lib: lib.func.grad(_cubic, argnums=())(_x(lib)),
    "argnums_float": lambda lib: lib.func.grad(_cubic, argnums=1.0)(_x(lib)),
    "non_scalar_output": lambda lib: lib.func.grad(lambda a: a * 2)(_x(lib)),
    "non_tensor_output": lambda lib: lib.func.grad(lambda a: 3)(_x(lib)),
    "non_tensor_input": lambda lib: lib.func.grad(_cubic)(3.0),
    "aux_not_a_pair": lambda lib: lib.func.grad(_cubic, has_aux=True)(_x(lib)),
    "vjp_cotangent_structure": lambda lib: lib.func.vjp(lambda a: (a, a.sum()), _x(lib))[1](
        _x(lib)),
    "vjp_integer_output": lambda lib: lib.func.vjp(lambda a: a.long(), _x(lib)),
    "jvp_primals_not_tuple": lambda lib: lib.func.jvp(_cubic, _x(lib), _x(lib)),
    "jvp_structure": lambda lib: lib.func.jvp(_cubic, (_x(lib),), [_x(lib)]),
    "jvp_tangent_shape": lambda lib: lib.func.jvp(_cubic, (_x(lib),), (lib.ones(4),)),
    "jvp_strict_constant": lambda lib: lib.func.jvp(lambda a: lib.ones(2), (_x(lib),),
                                                    (_x(lib),), strict=True),
    "jacrev_chunk_size": lambda lib: lib.func.jacrev(_cubic, chunk_size=0)(_x(lib)),
}


test_errors_match_torch = _checks.errors_test(ERRORS)


def test_jvp_falls_back_to_first_order_for_an_op_without_a_second_order_rule(monkeypatch):
    from fastnn.autograd import higher_order, ops_math
    monkeypatch.delitem(higher_order._RULES, ops_math.SinBackward0)
    _compare(lambda lib: lib.func.jvp(lambda a, b: ((b @ a).sin(), a.sin().sum()),
                                      (_x(lib), _y(lib)), (_x(lib) * 2, _y(lib) + 1)))
    # a result that must carry a graph cannot fall back
    w = fastnn.tensor(X, dtype=fastnn.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="SinBackward0"):
        fastnn.func.jvp(lambda a: (a * w).sin(), (_x(fastnn),), (_x(fastnn),))
