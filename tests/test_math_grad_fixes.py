"""Values and gradients at ties, zeros and other edge points: clamp with tensor bounds,
amax/amin over dims, std/var without spread or degrees of freedom, norm orders -inf and 0,
xlogy at x = 0, sign of NaN, pow/atan2/lgamma edge slopes, Lp pooling with p = inf, beta=0
matrix products, and tracked in-place hypot_/xlogy_. PyTorch is the oracle where installed."""
import math
import warnings

import numpy as np
import pytest

import fastnn

INF, NAN = math.inf, math.nan


def _torch():
    return pytest.importorskip("torch")


def _run(lib, fn, arrays, weights=True):
    """fn's output and the gradients of sum(w * out) w.r.t. each array (float64 leaves)."""
    xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(lib, *xs)
        w = lib.arange(1., out.numel() + 1, dtype=lib.float64).reshape(out.shape) if weights \
            else lib.ones(out.shape, dtype=lib.float64)
        (out * w).sum().backward()
    return [out.detach().numpy()] + [None if x.grad is None else x.grad.numpy() for x in xs]


def _same(fn, arrays, weights=True):
    torch = _torch()
    got = _run(fastnn, fn, arrays, weights)
    want = _run(torch, fn, arrays, weights)
    for g, w in zip(got, want):
        if w is None:
            assert g is None
            continue
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, equal_nan=True)


# ---- 1. clamp with tensor bounds ---------------------------------------------------------------
X4 = [0., 1., 2., 3.]
CLAMP_CASES = [
    (X4, [1.] * 4, [2.] * 4),
    (X4, [2.] * 4, [1.] * 4),          # min > max: max wins
    (X4, [1.] * 4, [1.] * 4),
    (X4, [1.] * 4, None),
    (X4, None, [2.] * 4),
    ([0., 1.], [0., 1.], None),         # x equal to lo: x wins the tie
    ([0., 1.], None, [0., 1.]),
    ([NAN, 1.], [1., 1.], [2., 2.]),
    ([1., 1.], [NAN, 1.], [2., 2.]),
    ([1., 1.], [0., 1.], [NAN, 2.]),
    ([[0., 1.], [2., 3.]], [1., 1.], [2., 2.]),   # broadcast bounds
    ([[0., 1.], [2., 3.]], [[1.], [2.]], [2.5]),
]


@pytest.mark.parametrize("x,lo,hi", CLAMP_CASES)
@pytest.mark.parametrize("fn", ["clamp", "clip"])
def test_clamp_tensor_bounds_match_torch(x, lo, hi, fn):
    arrays = [a for a in (x, lo, hi) if isinstance(a, list)]

    def f(lib, *ts):
        it = iter(ts[1:])
        bounds = [next(it) if isinstance(b, list) else b for b in (lo, hi)]
        return getattr(lib, fn)(ts[0], *bounds)
    _same(f, [x] + arrays[1:])


def test_clamp_tensor_bound_tie_goes_to_input():
    x = fastnn.tensor([0., 1., 2., 3.], requires_grad=True)
    y = fastnn.clamp(x, min=fastnn.tensor(1.), max=fastnn.tensor(2.))
    y.sum().backward()
    assert x.grad.tolist() == [0., 1., 1., 0.]
    assert type(y.grad_fn).__name__ == "ClampBackward0"
    lo = fastnn.tensor([0., 1.], requires_grad=True)
    x = fastnn.tensor([0., 1.], requires_grad=True)
    fastnn.clamp_min(x, lo).sum().backward()
    assert x.grad.tolist() == [1., 1.] and lo.grad.tolist() == [0., 0.]


def test_clamp_tensor_bounds_dtypes_and_errors():
    assert fastnn.clamp(fastnn.arange(4), fastnn.tensor(1.5)).tolist() == [1.5, 1.5, 2., 3.]
    assert fastnn.clamp(fastnn.arange(4), fastnn.tensor(1)).dtype == fastnn.int64
    assert fastnn.clamp(fastnn.arange(4.), fastnn.tensor(1., dtype=fastnn.float64)).dtype == \
        fastnn.float32
    assert fastnn.clamp(fastnn.zeros(2), fastnn.zeros(3, 2)).shape == (3, 2)
    x = fastnn.arange(4.)
    x.clamp_(fastnn.tensor(1.), fastnn.tensor(2.))
    assert x.tolist() == [1., 1., 2., 2.]
    with pytest.raises(RuntimeError, match="must match the size"):
        fastnn.clamp(fastnn.zeros(2), fastnn.zeros(3))


def test_clamp_tensor_bounds_second_order():
    torch = _torch()

    def grads(lib):
        x = lib.tensor([0., 1., 2.], dtype=lib.float64, requires_grad=True)
        lo = lib.tensor([1., 1., 1.], dtype=lib.float64, requires_grad=True)
        gx, gl = lib.autograd.grad((lib.clamp(x, lo) ** 2).sum(), [x, lo], create_graph=True)
        (gx.sum() + gl.sum()).backward()
        return [t.detach().numpy() for t in (gx, gl, x.grad, lo.grad)]
    for a, b in zip(grads(fastnn), grads(torch)):
        np.testing.assert_allclose(a, b)


# ---- 2. amax / amin over dims ----------------------------------------------------------------
@pytest.mark.parametrize("fn", ["amax", "amin"])
@pytest.mark.parametrize("x,kw", [
    ([[1., 3., 3., 1.]], dict(dim=1)),
    ([[1., 3., 3., 1.], [2., 2., 2., 0.]], dict(dim=1, keepdim=True)),
    ([[1., 3., 3., 1.], [2., 2., 3., 0.]], dict(dim=(0, 1))),
    ([[1., 3., 3., 1.], [2., 2., 3., 0.]], dict(dim=(0, 1), keepdim=True)),
    ([[1., 3., 3., 1.], [2., 2., 3., 0.]], dict(dim=-2)),
    ([[1., 3., 3., 1.], [2., 2., 3., 0.]], dict()),
    ([[1., NAN, 3., 1.], [2., 2., 3., 0.]], dict(dim=1)),
    ([[[1., 2.], [2., 1.]], [[0., 2.], [2., 2.]]], dict(dim=(0, 2))),
    (2., dict(dim=0)),
])
def test_amax_amin_ties_match_torch(fn, x, kw):
    _same(lambda lib, t: getattr(t, fn)(**kw), [x])


def test_amax_splits_ties_evenly():
    x = fastnn.tensor([[1., 3., 3., 1.]], requires_grad=True)
    y = x.amax(dim=1)
    y.sum().backward()
    assert x.grad.tolist() == [[0., .5, .5, 0.]]
    assert type(y.grad_fn).__name__ == "AmaxBackward0"
    g, = fastnn.autograd.grad(x.amin(1).sum() * 2, x, create_graph=True)
    assert g.tolist() == [[1., 0., 0., 1.]]


# ---- 3. std / var edge cases ---------------------------------------------------------------
@pytest.mark.parametrize("fn", ["std", "var", "std_mean", "var_mean"])
@pytest.mark.parametrize("x,kw", [
    ([[1., 1., 1.], [2., 2., 2.]], dict(dim=1)),
    ([[1., 1., 1.], [2., 3., 2.]], dict(dim=1, correction=0)),
    ([[1., 1., 1.], [2., 3., 2.]], dict(dim=1, correction=0, keepdim=True)),
    ([[1.], [2.]], dict(dim=1)),                 # a batch of one: no degrees of freedom
    ([1., 2., 3.], dict(correction=3)),
    ([1., 2., 3.], dict(correction=5)),
])
def test_std_var_zero_spread_and_no_dof_match_torch(fn, x, kw):
    def f(lib, t):
        out = getattr(lib, fn)(t, **kw)
        return out[0] + out[1] if isinstance(out, tuple) else out
    _same(f, [x])


def test_std_gradient_is_zero_where_std_is_zero():
    x = fastnn.ones(2, 3, requires_grad=True)
    x.std(dim=1).sum().backward()
    assert x.grad.tolist() == [[0.] * 3] * 2
    x = fastnn.ones(4, requires_grad=True)
    x.std(correction=0).backward()
    assert x.grad.tolist() == [0.] * 4
    x = fastnn.tensor([[1.], [2.]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x.var(dim=1).sum().backward()
    assert np.isnan(x.grad.numpy()).all()


# ---- 4. norm orders -inf and 0, dtype ---------------------------------------------------------
NORM_X = [[3., -4.], [0.5, 2.]]


@pytest.mark.parametrize("p", [-INF, 0, INF, 1, 2, 3])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_norm_orders_match_torch(p, dim):
    torch = _torch()
    for x in (NORM_X, [[3., -3.], [0., 2.], [0., 0.]]):
        for keepdim in (False, True):
            def f(lib, t):
                return t.norm(p=p, dim=dim, keepdim=keepdim)
            got, want = _run(fastnn, f, [x]), _run(torch, f, [x])
            np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
            if want[1] is None:  # p = 0: the count passes no gradient
                assert got[1] is None
            else:
                np.testing.assert_allclose(got[1], want[1], rtol=1e-12, atol=1e-12)


def test_norm_minus_inf_and_zero_values():
    x = fastnn.tensor(NORM_X)
    assert x.norm(p=-INF).item() == 0.5
    assert x.norm(p=-INF, dim=1).tolist() == [3.0, 0.5]
    assert fastnn.norm(x, p=0).item() == 4.0
    assert fastnn.tensor([[0., 1.], [0., 0.]]).norm(p=0, dim=0).tolist() == [0., 1.]
    a, b = fastnn.tensor([[1., 2.]]), fastnn.tensor([[1., 3.]])
    assert fastnn.nn.PairwiseDistance(p=0)(a, b).tolist() == [2.0]  # eps makes both nonzero
    assert fastnn.nn.PairwiseDistance(p=0, eps=0)(a, b).tolist() == [1.0]


@pytest.mark.parametrize("p,order", [(INF, "inf"), (-INF, "-inf")])
def test_extreme_norm_of_empty(p, order):
    with pytest.raises(RuntimeError, match=f"cannot compute the {order} norm on an empty tensor"):
        fastnn.tensor([]).norm(p=p)
    with pytest.raises(RuntimeError, match="on the dimension 1because this dimension is empty"):
        fastnn.zeros(2, 0).norm(p=p, dim=1)
    assert fastnn.zeros(2, 0).norm(p=p, dim=0).shape == (0,)


def test_norm_dtype_argument():
    x = fastnn.tensor(NORM_X)
    out = fastnn.norm(x, dtype=fastnn.float64)
    assert out.dtype == fastnn.float64
    assert out.item() == pytest.approx(math.sqrt(9 + 16 + 0.25 + 4))
    assert x.norm(p=1, dim=1, dtype=fastnn.float64).tolist() == [7.0, 2.5]
    with pytest.raises(RuntimeError, match=r"input \(Double\) should be convertible without "
                                           r"narrowing to the specified dtype \(Float\)"):
        fastnn.norm(x.double(), dtype=fastnn.float32)
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as "
                                           "input. Got Long"):
        fastnn.norm(fastnn.tensor([1, 2]), dtype=fastnn.float32)


def test_norm_minus_inf_second_order_matches_torch():
    torch = _torch()

    def grads(lib):
        x = lib.tensor(NORM_X, dtype=lib.float64, requires_grad=True)
        g, = lib.autograd.grad(x.norm(p=-INF, dim=1).pow(2).sum(), x, create_graph=True)
        g.sum().backward()
        return g.detach().numpy(), x.grad.numpy()
    for a, b in zip(grads(fastnn), grads(torch)):
        np.testing.assert_allclose(a, b)


# ---- 5. xlogy ----------------------------------------------------------------------------------
def test_xlogy_zero_x_values():
    out = fastnn.xlogy(fastnn.tensor([0., 0., 0., 1., 0.]),
                       fastnn.tensor([-2., -INF, NAN, 0., INF]))
    np.testing.assert_array_equal(out.numpy(), [0., 0., NAN, -INF, 0.])
    assert fastnn.xlogy(fastnn.tensor([0, 0]), fastnn.tensor([-2., -INF])).tolist() == [0., 0.]
    assert fastnn.xlogy(fastnn.tensor([False]), fastnn.tensor([-2.])).tolist() == [0.]
    assert fastnn.xlogy(0, fastnn.tensor([-2.])).tolist() == [0.]
    assert fastnn.special.xlogy(fastnn.tensor([0.]), fastnn.tensor([-1.])).tolist() == [0.]


def test_xlogy_gradients_match_torch():
    _same(lambda lib, x, y: lib.xlogy(x, y),
          [[0., 0., 2., 0., 0., 0., 3.], [-2., 0., 3., NAN, INF, 2., -1.]])
    _same(lambda lib, x: lib.xlogy(x, lib.tensor([1., 3.], dtype=lib.float64)),
          [[[0.], [2.]]])
    _same(lambda lib, y: lib.xlogy(2., y), [[0., 2.]])


# ---- 6. sign / sgn of NaN ---------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["sign", "sgn"])
def test_sign_of_nan_is_zero(fn):
    x = fastnn.tensor([NAN, -1., 0., 2.], requires_grad=True)
    y = getattr(fastnn, fn)(x)
    assert y.tolist() == [0., -1., 0., 1.]
    y.sum().backward()
    assert x.grad.tolist() == [0.] * 4
    assert fastnn.tensor([NAN]).sign().tolist() == [0.]


def test_sign_of_nan_matches_torch():
    torch = _torch()
    np.testing.assert_array_equal(torch.sign(torch.tensor([NAN, -2.])).numpy(),
                                  fastnn.sign(fastnn.tensor([NAN, -2.])).numpy())


# ---- 7. pow, float_power, atan2, lgamma at their edge points ------------------------------------
@pytest.mark.parametrize("fn,arrays", [
    (lambda lib, x, e: lib.pow(x, e), [[0., 2., 0., 0., -1.], [0., 1., 0.5, -1., 0.]]),
    (lambda lib, x: x ** lib.tensor(0., dtype=lib.float64), [[0., 2.]]),
    (lambda lib, x, e: lib.float_power(x, e), [[0., 2., 0.], [0., 1., -1.]]),
    (lambda lib, y, x: lib.atan2(y, x), [[0., 0., 1.], [0., -0., 1.]]),
    (lambda lib, x: lib.lgamma(x), [[INF, 2., -INF, 0.]]),
])
def test_edge_point_gradients_match_torch(fn, arrays):
    torch = _torch()
    got, want = _run(fastnn, fn, arrays), _run(torch, fn, arrays)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, equal_nan=True)
        np.testing.assert_array_equal(np.signbit(g), np.signbit(w))


def test_pow_zero_exponent_gradient_is_zero():
    x = fastnn.tensor([0., 2.], requires_grad=True)
    fastnn.pow(x, fastnn.tensor([0., 1.])).sum().backward()
    assert x.grad.tolist() == [0., 1.]
    assert fastnn.lgamma(fastnn.tensor([INF])).item() == INF


# ---- 8. Lp pooling with p = inf -------------------------------------------------------------------
@pytest.mark.parametrize("make,x", [
    (lambda lib: lib.nn.LPPool1d(INF, 2), [[[1., -3., 2., 0.5]]]),
    (lambda lib: lib.nn.LPPool1d(INF, 2), [[1., -3., 2., 0.5]]),
    (lambda lib: (lambda t: lib.nn.functional.lp_pool1d(t, INF, 3, stride=2)),
     [[[1., -3., 2., 0.5, -1., 2.]]]),
    (lambda lib: (lambda t: lib.nn.functional.lp_pool1d(t, INF, 2, ceil_mode=True)),
     [[[1., -3., 2., 0.5, -4.]]]),
    (lambda lib: lib.nn.LPPool2d(INF, 2), [[[[1., -3.], [2., 0.5]]]]),
    (lambda lib: lib.nn.LPPool2d(INF, (2, 1), stride=1), [[[[1., -3.], [-3., 0.5], [2., 2.]]]]),
    (lambda lib: lib.nn.LPPool3d(INF, 2), [[[[[1., -3.], [2., .5]], [[4., 1.], [-5., 0.]]]]]),
])
def test_lp_pool_inf_is_max_of_abs(make, x):
    _same(lambda lib, t: make(lib)(t), [x])


def test_lp_pool_inf_values():
    y = fastnn.nn.LPPool1d(INF, 2)(fastnn.tensor([[[1., -3., 2., 0.5]]]))
    assert y.tolist() == [[[3., 2.]]]


# ---- 9. beta=0 keeps the added input in the graph ---------------------------------------------------
BETA_SHAPES = {"addmv": ((3,), [(3, 4), (4,)]), "addmm": ((3, 2), [(3, 4), (4, 2)]),
               "baddbmm": ((2, 3, 2), [(2, 3, 4), (2, 4, 2)]),
               "addbmm": ((3, 2), [(2, 3, 4), (2, 4, 2)]), "addr": ((3, 2), [(3,), (2,)])}


@pytest.mark.parametrize("name", sorted(BETA_SHAPES))
@pytest.mark.parametrize("broadcast", [False, True])
@pytest.mark.parametrize("others_need_grad", [False, True])
def test_beta_zero_gives_input_a_zero_gradient(name, broadcast, others_need_grad):
    shape, arg_shapes = BETA_SHAPES[name]
    m = fastnn.full((1,) if broadcast else shape, NAN, requires_grad=True)
    args = [fastnn.ones(s, requires_grad=others_need_grad) for s in arg_shapes]
    y = getattr(fastnn, name)(m, *args, beta=0, alpha=2)
    assert not y.isnan().any()
    y.sum().backward()
    assert m.grad is not None and m.grad.shape == m.shape and (m.grad == 0).all()
    assert type(y.grad_fn).__name__.lower().startswith(name)


# ---- 10. in-place hypot_ / xlogy_ with autograd ---------------------------------------------------
def test_inplace_hypot_and_xlogy_track_history():
    torch = _torch()

    def hyp(lib):
        x = lib.tensor([1., 2., 3.], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y.hypot_(lib.tensor([4., 0., 1.], dtype=lib.float64))
        y.sum().backward()
        return [x.grad.numpy()]

    def xl(lib):
        x = lib.tensor([1., 2., 0.], dtype=lib.float64, requires_grad=True)
        z = lib.tensor([3., 4., 0.], dtype=lib.float64, requires_grad=True)
        y = x * 1
        y.xlogy_(z)
        y.sum().backward()
        return [x.grad.numpy(), z.grad.numpy()]
    for case in (hyp, xl):
        for a, b in zip(case(fastnn), case(torch)):
            np.testing.assert_allclose(a, b, equal_nan=True)


def test_inplace_results_that_cannot_be_stored():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        fastnn.tensor([3, 4]).hypot_(fastnn.tensor([4., 3.]))
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        fastnn.tensor([3, 4]).xlogy_(fastnn.tensor([4., 3.]))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        fastnn.tensor([1., 2.], requires_grad=True).hypot_(fastnn.tensor([1., 1.]))
    x = fastnn.tensor([3.])
    assert x.hypot_(fastnn.tensor([4.], dtype=fastnn.float64)) is x and x.tolist() == [5.]
    assert fastnn.tensor([1]).addcmul_(fastnn.tensor([2]), fastnn.tensor([3])).tolist() == [7]


# ---- create_graph=True gives the same first gradients at these edge points --------------------
@pytest.mark.parametrize("fn,arrays", [
    (lambda x: fastnn.pow(x, fastnn.tensor([0., 1.], dtype=fastnn.float64)), [[0., 2.]]),
    (lambda x: x.std(dim=1), [[[1., 1., 1.], [2., 3., 2.]]]),
    (lambda x: x.var(dim=1), [[[1.], [2.]]]),
    (lambda x: x.std(correction=3), [[1., 2., 3.]]),
    (lambda x, y: fastnn.atan2(x, y), [[0., 0., 1.], [0., -0., 2.]]),
    (lambda x, y: fastnn.xlogy(x, y), [[0., 2., 1.], [0., 3., 0.5]]),
    (lambda x: x.amax(dim=1), [[[1., 3., 3.], [2., 2., 0.]]]),
])
def test_create_graph_first_gradients_agree(fn, arrays):
    xs = [fastnn.tensor(a, dtype=fastnn.float64, requires_grad=True) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = fastnn.autograd.grad(fn(*xs).sum(), xs)
        graph = fastnn.autograd.grad(fn(*xs).sum(), xs, create_graph=True)
    for p, q in zip(plain, graph):
        np.testing.assert_allclose(q.detach().numpy(), p.numpy(), rtol=1e-12, atol=1e-15,
                                   equal_nan=True)


def test_clamp_tensor_bounds_that_do_not_broadcast_raise_runtime_error():
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of "
                                           r"tensor b \(2\)"):
        fastnn.ones(3).clamp(min=fastnn.ones(3), max=fastnn.ones(2))
