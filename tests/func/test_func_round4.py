"""fastnn.func inside inference_mode and vmap over an empty batch, checked against fixed
expectations for fastnn and, where installed, for PyTorch too."""
import numpy as np
import pytest

import fastnn


def _np(t):
    return t.detach().numpy()


# ---- transforms inside inference_mode ---------------------------------------------------------

def _square_sum(x):
    return (x ** 2).sum()


_TRANSFORMS = {
    "grad": (lambda F, x: F.grad(_square_sum)(x), [2., 4.]),
    "grad_and_value": (lambda F, x: F.grad_and_value(_square_sum)(x)[0], [2., 4.]),
    "vjp": (lambda F, x: F.vjp(lambda t: t ** 2, x)[1](x.new_ones(2))[0], [2., 4.]),
    "jacrev": (lambda F, x: F.jacrev(lambda t: t ** 2)(x), [[2., 0.], [0., 4.]]),
    "jacfwd": (lambda F, x: F.jacfwd(lambda t: t ** 2)(x), [[2., 0.], [0., 4.]]),
    "hessian": (lambda F, x: F.hessian(lambda t: (t ** 3).sum())(x), [[6., 0.], [0., 12.]]),
    "jvp": (lambda F, x: F.jvp(lambda t: t ** 2, (x,), (x.new_ones(2),))[1], [2., 4.]),
    "grad_of_grad": (lambda F, x: F.grad(lambda t: F.grad(lambda u: (u ** 3).sum())(t).sum())(x),
                     [6., 12.]),
}


@pytest.mark.parametrize("name", sorted(_TRANSFORMS))
@pytest.mark.parametrize("made_inside", [True, False])
def test_transforms_differentiate_inside_inference_mode(lib, name, made_inside):
    run, expected = _TRANSFORMS[name]
    outside = lib.tensor([1., 2.])
    with lib.inference_mode():
        x = lib.tensor([1., 2.]) if made_inside else outside
        got = run(lib.func, x)
        assert lib.is_inference_mode_enabled()  # the transform restored the mode
    np.testing.assert_allclose(_np(got), expected)
    assert not got.requires_grad
    assert not got.is_inference()  # as PyTorch: transforms return normal tensors


def test_grad_over_functional_call_inside_inference_mode(lib):
    model = lib.nn.Linear(3, 1)
    with lib.no_grad():
        model.weight.copy_(lib.tensor([[1., 2., 3.]]))
        model.bias.fill_(0.5)
    params = {k: v.detach() for k, v in model.named_parameters()}
    x = lib.ones(4, 3)

    def loss(p, x):
        return lib.func.functional_call(model, p, (x,)).sum()

    with lib.inference_mode():
        g = lib.func.grad(loss)(params, x)
    np.testing.assert_allclose(_np(g["weight"]), [[4., 4., 4.]])
    np.testing.assert_allclose(_np(g["bias"]), [4.])


def test_transform_body_runs_outside_inference_mode(lib):
    seen = []

    def f(x):
        seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled(),
                     lib.ones(1).is_inference()))
        return (x * 3).sum()

    with lib.inference_mode():
        g = lib.func.grad(f)(lib.tensor([1., 2.]))
    assert seen == [(True, False, False)]
    np.testing.assert_allclose(_np(g), [3., 3.])


def test_vjp_fn_called_inside_inference_mode(lib):
    _, vjp_fn = lib.func.vjp(lambda t: t * 2, lib.tensor([1., 2.]))
    with lib.inference_mode():
        (g,) = vjp_fn(lib.ones(2))
    np.testing.assert_allclose(_np(g), [2., 2.])


# ---- vmap over an empty batch -----------------------------------------------------------------

_EMPTY = {
    "sum": (lambda F, lib: F.vmap(lambda x: x.sum())(lib.ones(0, 3)), (0,)),
    "elementwise": (lambda F, lib: F.vmap(lambda x: x * 2)(lib.ones(0, 3)), (0, 3)),
    "out_dims_1": (lambda F, lib: F.vmap(lambda x: x * 2, out_dims=1)(lib.ones(0, 3)), (3, 0)),
    "in_dims_1": (lambda F, lib: F.vmap(lambda x: x * 2, in_dims=1)(lib.ones(3, 0)), (0, 3)),
    "per_sample_grad": (lambda F, lib: F.vmap(F.grad(lambda w, x: (w * x).sum()),
                                              in_dims=(None, 0))(lib.ones(3), lib.ones(0, 3)),
                        (0, 3)),
    "nested_outer_empty": (lambda F, lib: F.vmap(F.vmap(lambda x: x.sum()))(lib.ones(0, 2, 3)),
                           (0, 2)),
    "nested_inner_empty": (lambda F, lib: F.vmap(F.vmap(lambda x: x.sum()))(lib.ones(2, 0, 3)),
                           (2, 0)),
}


@pytest.mark.parametrize("name", sorted(_EMPTY))
def test_vmap_over_empty_batch(lib, name):
    run, shape = _EMPTY[name]
    out = run(lib.func, lib)
    assert tuple(out.shape) == shape
    assert out.dtype == lib.float32


def test_vmap_empty_batch_tuple_output_keeps_dtypes(lib):
    a, b = lib.func.vmap(lambda x: (x.sum(), x.long()))(lib.ones(0, 3))
    assert (tuple(a.shape), a.dtype) == ((0,), lib.float32)
    assert (tuple(b.shape), b.dtype) == ((0, 3), lib.int64)


def test_vmap_empty_batch_stays_in_graph(lib):
    x = lib.ones(0, 3, requires_grad=True)
    out = lib.func.vmap(lambda t: t * 2)(x)
    assert out.requires_grad
    out.sum().backward()
    assert tuple(x.grad.shape) == (0, 3)
