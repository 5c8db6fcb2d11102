"""autograd.functional.hessian, hvp and vhp against PyTorch and finite differences."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

_R = np.random.default_rng(3)
X = _R.standard_normal(3)
Y = _R.standard_normal((2, 3))
V = _R.standard_normal(3)
VY = _R.standard_normal((2, 3))

# scalar functions of one input, and of two (a tuple of inputs)
ONE = {
    "cubic_sin": lambda lib: (lambda a: (a.sin() * a ** 3).sum()),
    "log_sum_exp": lambda lib: (lambda a: a.exp().sum().log()),
    "quadratic": lambda lib: (lambda a: (a.unsqueeze(0) * a.unsqueeze(1)).sum() * 0.5),
    "tanh_norm": lambda lib: (lambda a: (a * a).sum().sqrt().tanh()),
}
TWO = {
    "bilinear_exp": lambda lib: (lambda a, b: ((b @ a).exp()).sum() + (a ** 3).sum()),
    "mixed": lambda lib: (lambda a, b: (b.tanh() ** 2).sum() * (a * a).sum().exp()),
    "unused_second": lambda lib: (lambda a, b: (a ** 4).sum()),
}


def _inputs(lib, two):
    x = lib.tensor(X, dtype=lib.float64)
    return (x, lib.tensor(Y, dtype=lib.float64)) if two else x


def _vs(lib, two):
    v = lib.tensor(V, dtype=lib.float64)
    return (v, lib.tensor(VY, dtype=lib.float64)) if two else v


def _flat(x):
    if isinstance(x, tuple):
        return [v for item in x for v in _flat(item)]
    return [x.detach().numpy()]


def _structure(x):
    return tuple(_structure(i) for i in x) if isinstance(x, tuple) else tuple(x.shape)


def _compare(run):
    ours, want = run(fastnn), run(torch)
    assert _structure(ours) == _structure(want)
    for a, b in zip(_flat(ours), _flat(want)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    return ours


CASES = [(n, False) for n in sorted(ONE)] + [(n, True) for n in sorted(TWO)]


def _fn(lib, name, two):
    return (TWO if two else ONE)[name](lib)


@pytest.mark.parametrize("name,two", CASES)
def test_hessian_matches_torch(name, two):
    _compare(lambda lib: lib.autograd.functional.hessian(_fn(lib, name, two), _inputs(lib, two)))


@pytest.mark.parametrize("name,two", CASES)
@pytest.mark.parametrize("helper", ["hvp", "vhp"])
def test_hvp_and_vhp_match_torch(name, two, helper):
    _compare(lambda lib: getattr(lib.autograd.functional, helper)(
        _fn(lib, name, two), _inputs(lib, two), _vs(lib, two)))


@pytest.mark.parametrize("name", sorted(ONE))
def test_hessian_matches_finite_differences(name):
    f = ONE[name](fastnn)
    h = fastnn.autograd.functional.hessian(f, fastnn.tensor(X, dtype=fastnn.float64)).numpy()

    def grad_at(x):
        return fastnn.autograd.functional.vjp(f, fastnn.tensor(x, dtype=fastnn.float64))[1].numpy()
    eps = 1e-6
    fd = np.stack([(grad_at(X + eps * e) - grad_at(X - eps * e)) / (2 * eps)
                   for e in np.eye(3)])
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h, h.T, rtol=1e-12, atol=1e-12)


def test_hvp_is_hessian_times_v():
    f = ONE["cubic_sin"](fastnn)
    x = fastnn.tensor(X, dtype=fastnn.float64)
    h = fastnn.autograd.functional.hessian(f, x).numpy()
    value, hv = fastnn.autograd.functional.hvp(f, x, fastnn.tensor(V, dtype=fastnn.float64))
    np.testing.assert_allclose(hv.numpy(), h @ V, rtol=1e-12)
    np.testing.assert_allclose(value.numpy(), f(x).numpy())
    assert not hv.requires_grad and not value.requires_grad


def test_unused_input_gives_zero_blocks():
    h = fastnn.autograd.functional.hessian(TWO["unused_second"](fastnn), _inputs(fastnn, True))
    assert np.all(h[0][1].numpy() == 0) and np.all(h[1][1].numpy() == 0)
    assert tuple(h[1][1].shape) == (2, 3, 2, 3) and tuple(h[0][1].shape) == (3, 2, 3)


@pytest.mark.parametrize("helper", ["hessian", "hvp", "vhp"])
def test_create_graph_results_are_differentiable(helper):
    def run(lib):
        x = lib.tensor(X, dtype=lib.float64, requires_grad=True)
        f = ONE["cubic_sin"](lib)
        F = lib.autograd.functional
        if helper == "hessian":
            res = F.hessian(f, x, create_graph=True)
        else:
            res = getattr(F, helper)(f, x, lib.tensor(V, dtype=lib.float64), create_graph=True)[1]
        assert res.requires_grad
        (g,) = lib.autograd.grad((res * res).sum(), x)
        return res, g
    _compare(run)


def test_hessian_accepts_vectorize_and_forward_outer_strategy():
    _compare(lambda lib: lib.autograd.functional.hessian(
        ONE["cubic_sin"](lib), _inputs(lib, False), vectorize=True,
        outer_jacobian_strategy="forward-mode"))


def _error_cases():
    one, two = (lambda lib: _inputs(lib, False)), (lambda lib: _inputs(lib, True))
    const = (lambda lib: (lambda a: lib.ones(()).sum()))
    linear = (lambda lib: (lambda a: (a * 2).sum()))
    vector = (lambda lib: (lambda a: a ** 2))
    pair = (lambda lib: (lambda a: ((a ** 2).sum(), a.sum())))
    unused = (lambda lib: TWO["unused_second"](lib))
    cases = {}
    for h in ("hessian", "hvp", "vhp"):
        extra = (lambda lib, ins: {}) if h == "hessian" else \
            (lambda lib, ins: {"v": _vs(lib, isinstance(ins, tuple))})
        for tag, fn, ins, kw in [("const", const, one, {"strict": True}),
                                 ("linear", linear, one, {"strict": True}),
                                 ("unused", unused, two, {"strict": True}),
                                 ("vector_out", vector, one, {}),
                                 ("tuple_out", pair, one, {}),
                                 ("bad_strategy", vector, one, {"outer_jacobian_strategy": "x"}),
                                 ("not_tensor", vector, (lambda lib: [1.0]), {})]:
            if tag == "bad_strategy" and h != "hessian":
                continue
            cases[f"{h}-{tag}"] = (h, fn, ins, kw, extra)
    return cases


ERRORS = _error_cases()


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_torch(case):
    helper, fn, ins, kw, extra = ERRORS[case]

    def call(lib):
        inputs = ins(lib)
        kwargs = dict(kw)
        if not isinstance(inputs, list):
            kwargs.update(extra(lib, inputs))
        return getattr(lib.autograd.functional, helper)(fn(lib), inputs, **kwargs)
    _same_error(call)


def _same_error(call):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(type(want.value)) as got:
        call(fastnn)
    assert str(got.value) == str(want.value).replace("torch.", "fastnn.")


V_ERRORS = {
    "wrong_shape": lambda lib: lib.autograd.functional.hvp(
        ONE["cubic_sin"](lib), _inputs(lib, False), lib.ones(4, dtype=lib.float64)),
    "wrong_shape_tuple": lambda lib: lib.autograd.functional.vhp(
        TWO["mixed"](lib), _inputs(lib, True), (_vs(lib, False), lib.ones(3, dtype=lib.float64))),
    "wrong_length": lambda lib: lib.autograd.functional.vhp(
        TWO["mixed"](lib), _inputs(lib, True), (_vs(lib, False),)),
    "tuple_for_single": lambda lib: lib.autograd.functional.hvp(
        ONE["cubic_sin"](lib), _inputs(lib, False), (_vs(lib, False), _vs(lib, False))),
    "v_none_needs_scalar_input": lambda lib: lib.autograd.functional.vhp(
        ONE["cubic_sin"](lib), _inputs(lib, False)),
    "v_not_tensor": lambda lib: lib.autograd.functional.hvp(
        ONE["cubic_sin"](lib), _inputs(lib, False), [1.0, 2.0, 3.0]),
}


@pytest.mark.parametrize("case", sorted(V_ERRORS))
def test_v_checks_match_torch(case):
    _same_error(V_ERRORS[case])


def test_v_may_be_omitted_for_a_single_element_input():
    _compare(lambda lib: lib.autograd.functional.hvp(
        lambda a: (a ** 3).sin().sum(), lib.tensor([0.4], dtype=lib.float64)))


def test_non_strict_zeros_for_constant_jacobian():
    _compare(lambda lib: lib.autograd.functional.hvp(
        lambda a: (a * 2).sum(), _inputs(lib, False), _vs(lib, False)))
    _compare(lambda lib: lib.autograd.functional.hessian(lambda a: lib.ones(()).sum(),
                                                         _inputs(lib, False)))
