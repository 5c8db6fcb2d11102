"""The compiled kernels in fastnn._core against the plain numpy versions in fastnn._reference."""
import itertools

import numpy as np
import pytest

from fastnn import _core
from fastnn import _reference as ref

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
# A contiguous view that starts a few elements into its buffer, so kernels see
# pointers that are not vector-aligned.
LAYOUTS = ["fresh", "offset"]
BIG = 70_001  # above the element count where kernels go parallel in these tests


def make(shape, dtype, layout="fresh", rng=None, scale=1.0):
    rng = rng if rng is not None else np.random.default_rng(0)
    n = int(np.prod(shape, dtype=np.int64))
    if layout == "offset":
        a = np.empty(n + 3, dtype)[3:].reshape(shape)
    else:
        a = np.empty(shape, dtype)
    a[...] = rng.standard_normal(shape) * scale
    return a


def close(actual, expected, dtype):
    np.testing.assert_allclose(actual, expected, **TOL[dtype])


LINEAR_SHAPES = [(4, 7, 3), (1, 1, 1), (3, 1, 2), (0, 5, 3), (4, 0, 3), (4, 5, 0), (0, 0, 0),
                 (300, 33, 257)]

# ---------------------------------------------------------------- linear


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n,k,m", LINEAR_SHAPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("relu", [False, True])
def test_linear_forward(dtype, layout, n, k, m, bias, relu, gemm_path, threads):
    rng = np.random.default_rng(1)
    x, w = make((n, k), dtype, layout, rng), make((m, k), dtype, layout, rng)
    b = make((m,), dtype, layout, rng) if bias else None
    out = np.full((n, m), np.nan, dtype)
    expected = np.empty((n, m), dtype)
    if relu:
        got = _core.linear_relu_forward(x, w, b, out)
        ref.linear_relu_forward(x, w, b, expected)
    else:
        got = _core.linear_forward(x, w, b, out)
        ref.linear_forward(x, w, b, expected)
    assert got is out
    close(out, expected, dtype)


def test_relu_forward_keeps_nan():
    x = np.array([[1.0], [np.nan]])
    out = _core.linear_relu_forward(x, np.array([[-1.0]]), None, np.empty((2, 1)))
    assert out[0, 0] == 0 and np.isnan(out[1, 0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n,k,m", LINEAR_SHAPES)
@pytest.mark.parametrize("acc", [(False, False, False), (True, True, True), (True, False, True)])
def test_linear_backward(dtype, layout, n, k, m, acc, gemm_path, threads):
    acc_w, acc_b, acc_x = acc
    rng = np.random.default_rng(2)
    g, x, w = make((n, m), dtype, layout, rng), make((n, k), dtype, layout, rng), \
        make((m, k), dtype, layout, rng)
    outs = [make((n, k), dtype, layout, rng), make((m, k), dtype, layout, rng),
            make((m,), dtype, layout, rng)]
    expected = [o.copy() for o in outs]
    _core.linear_backward(g, x, w, *outs, acc_w, acc_b, acc_x)
    ref.linear_backward(g, x, w, *expected, acc_w, acc_b, acc_x)
    for got, exp in zip(outs, expected):
        close(got, exp, dtype)


@pytest.mark.parametrize("skip", ["gx", "gw", "gb"])
def test_linear_backward_skips_none(skip):
    rng = np.random.default_rng(3)
    g, x, w = make((5, 3), np.float64, rng=rng), make((5, 4), np.float64, rng=rng), \
        make((3, 4), np.float64, rng=rng)
    outs = {"gx": np.zeros((5, 4)), "gw": np.zeros((3, 4)), "gb": np.zeros(3)}
    outs[skip] = None
    _core.linear_backward(g, x, w, outs["gx"], outs["gw"], outs["gb"], False, False)
    expected = {"gx": g @ w, "gw": g.T @ x, "gb": g.sum(0)}
    for name, arr in outs.items():
        if arr is not None:
            close(arr, expected[name], np.float64)


def test_linear_backward_accumulates_many_times():
    rng = np.random.default_rng(4)
    g, x, w = make((8, 3), np.float64, rng=rng), make((8, 5), np.float64, rng=rng), \
        make((3, 5), np.float64, rng=rng)
    gw, gb = np.zeros((3, 5)), np.zeros(3)
    for _ in range(3):
        _core.linear_backward(g, x, w, None, gw, gb, True, True)
    close(gw, 3 * (g.T @ x), np.float64)
    close(gb, 3 * g.sum(0), np.float64)


def test_colsum_float32_stays_accurate():
    g = np.full((100_000, 3), 0.1, np.float32)
    gb = np.empty(3, np.float32)
    _core.linear_backward(g, np.zeros((100_000, 1), np.float32), np.zeros((3, 1), np.float32),
                          None, None, gb, False, False)
    np.testing.assert_allclose(gb, 100_000 * 0.1, rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 5), (BIG,)])
@pytest.mark.parametrize("inplace", [False, True])
def test_relu_forward(dtype, shape, inplace, threads):
    x = make(shape, dtype, rng=np.random.default_rng(4))
    x.flat[:3] = [0, np.nan, -0.0][:x.size]
    expected = ref.relu_forward(x, np.empty(shape, dtype))
    out = x if inplace else np.empty(shape, dtype)
    assert _core.relu_forward(x, out) is out
    np.testing.assert_array_equal(out, expected)  # NaN kept in place, as torch.relu does


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 5), (BIG,)])
@pytest.mark.parametrize("inplace", [False, True])
def test_relu_backward(dtype, shape, inplace, threads):
    rng = np.random.default_rng(5)
    g, y = make(shape, dtype, rng=rng), make(shape, dtype, rng=rng)
    y.flat[:1] = 0
    expected = ref.relu_backward(g, y, np.empty(shape, dtype))
    out = g if inplace else np.empty(shape, dtype)
    assert _core.relu_backward(g, y, out) is out
    np.testing.assert_array_equal(out, expected)

# ---------------------------------------------------------------- zero_


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
@pytest.mark.parametrize("shape", [(0,), (1,), (3, 4), (1 << 20,)])
def test_zero(dtype, shape):
    a = np.ones(shape, dtype)
    assert _core.zero_(a) is a
    assert not a.any()

# ---------------------------------------------------------------- optimizers

SGD_CASES = [dict(momentum=m, dampening=d, weight_decay=wd, nesterov=nes, maximize=mx)
             for m, d, wd, nes, mx in itertools.product([0.0, 0.9], [0.0, 0.25], [0.0, 0.01],
                                                        [False, True], [False, True])
             if not (nes and (m == 0 or d != 0))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 1001, BIG])
@pytest.mark.parametrize("case", SGD_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_sgd_step(dtype, n, case, threads):
    rng = np.random.default_rng(6)
    p = make((n,), dtype, "offset", rng)
    p_ref = p.copy()
    buf, buf_ref = np.zeros(n, dtype), np.zeros(n, dtype)
    use_buf = case["momentum"] != 0
    for step in range(3):
        g = make((n,), dtype, rng=rng)
        _core.sgd_step(p, g, buf if use_buf else None, 0.1, first_step=step == 0, **case)
        ref.sgd_step(p_ref, g, buf_ref, 0.1, first_step=step == 0, **case)
    close(p, p_ref, dtype)
    close(buf, buf_ref, dtype)


ADAM_CASES = [dict(amsgrad=a, maximize=mx, decoupled=dc, weight_decay=wd, beta1=b1)
              for a, mx, dc, wd, b1 in itertools.product([False, True], [False, True],
                                                         [False, True], [0.0, 0.05], [0.9, 0.3])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 1001, BIG])
@pytest.mark.parametrize("case", ADAM_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_adam_step(dtype, n, case, threads):
    rng = np.random.default_rng(7)
    p = make((n,), dtype, "offset", rng)
    state = [np.zeros(n, dtype) for _ in range(3)]
    p_ref, state_ref = p.copy(), [s.copy() for s in state]
    for step in range(1, 4):
        g = make((n,), dtype, rng=rng)
        args = dict(lr=1e-2, beta2=0.999, eps=1e-8, step=step, **case)
        _core.adam_step(p, g, state[0], state[1], state[2] if case["amsgrad"] else None, **args)
        ref.adam_step(p_ref, g, *state_ref, **args)
    close(p, p_ref, dtype)
    for s, s_ref in zip(state[:2], state_ref[:2]):
        close(s, s_ref, dtype)
    if case["amsgrad"]:
        close(state[2], state_ref[2], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [dict(momentum=0.0), dict(momentum=0.9, dampening=0.1),
                                  dict(momentum=0.9, nesterov=True, weight_decay=1e-2),
                                  dict(momentum=0.5, maximize=True)])
def test_sgd_matches_torch(dtype, case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    p = make((513,), dtype, rng=rng)
    tp = torch.tensor(p.copy(), requires_grad=True)
    opt = torch.optim.SGD([tp], lr=0.05, **case)
    full = dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False)
    full.update(case)
    buf = np.zeros_like(p)
    for step in range(4):
        g = make((513,), dtype, rng=rng)
        tp.grad = torch.tensor(g)
        opt.step()
        _core.sgd_step(p, g, buf, 0.05, first_step=step == 0, **full)
    close(p, tp.detach().numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", [dict(), dict(amsgrad=True), dict(weight_decay=0.1),
                                  dict(weight_decay=0.1, decoupled=True),
                                  dict(maximize=True, amsgrad=True)])
def test_adam_matches_torch(dtype, case):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    p = make((513,), dtype, rng=rng)
    tp = torch.tensor(p.copy(), requires_grad=True)
    decoupled = case.pop("decoupled", False)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    kw = dict(lr=1e-2, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.0, amsgrad=False,
              maximize=False)
    kw.update(case)
    opt = cls([tp], **kw)
    m, v, vmax = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for step in range(1, 6):
        g = make((513,), dtype, rng=rng)
        tp.grad = torch.tensor(g)
        opt.step()
        _core.adam_step(p, g, m, v, vmax if kw["amsgrad"] else None, kw["lr"], 0.9, 0.99,
                        kw["eps"], kw["weight_decay"], step, kw["amsgrad"], kw["maximize"],
                        decoupled)
    close(p, tp.detach().numpy(), dtype)

# ---------------------------------------------------------------- random


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(0,), (1,), (3, 5), (257, 33)])
@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_random_matches_reference_and_repeats(dtype, shape, kind):
    fill, fill_ref = (_core.uniform_, ref.uniform_) if kind == "uniform" else \
        (_core.normal_, ref.normal_)
    a, b, c = (np.empty(shape, dtype) for _ in range(3))
    fill(a, -0.5, 2.0, np.random.PCG64(42))
    fill(b, -0.5, 2.0, np.random.Generator(np.random.PCG64(42)))
    fill_ref(c, -0.5, 2.0, np.random.PCG64(42))
    np.testing.assert_array_equal(a, b)
    close(a, c, dtype)


def test_uniform_float64_is_numpy_generator_uniform():
    a = _core.uniform_(np.empty(1000), -3.0, 5.0, np.random.PCG64(1))
    np.testing.assert_array_equal(a, np.random.Generator(np.random.PCG64(1)).uniform(-3, 5, 1000))


def test_random_advances_the_generator():
    bg = np.random.PCG64(3)
    a = _core.uniform_(np.empty(100, np.float32), 0, 1, bg)
    b = _core.uniform_(np.empty(100, np.float32), 0, 1, bg)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_moments(dtype):
    n = 400_000
    u = _core.uniform_(np.empty(n, dtype), -2.0, 4.0, np.random.PCG64(5))
    assert u.min() >= -2.0 and u.max() <= 4.0
    assert abs(u.mean() - 1.0) < 0.02
    assert abs(u.var() - 36 / 12) < 0.03
    z = _core.normal_(np.empty(n, dtype), 3.0, 0.5, np.random.PCG64(6))
    assert abs(z.mean() - 3.0) < 0.005
    assert abs(z.std() - 0.5) < 0.005
    skew = np.mean(((z - z.mean()) / z.std()) ** 3)
    kurt = np.mean(((z - z.mean()) / z.std()) ** 4)
    assert abs(skew) < 0.02 and abs(kurt - 3) < 0.05


# ---------------------------------------------------------------- cross-entropy


def _check_kernel_pair(fwd, ref_fwd, bwd, ref_bwd, x, t, scale, inplace, dtype):
    """A forward kernel writing into a buffer, and the backward kernel reading that buffer,
    both against their references (in place when asked); returns the forward's result."""
    buf_ref = np.empty_like(x)
    res_ref = ref_fwd(x, t, buf_ref)
    buf = x if inplace else np.empty_like(x)
    res = fwd(x if inplace else x.copy(), t, buf)
    close(buf, buf_ref, dtype)
    close(res, res_ref, dtype)
    g_ref = ref_bwd(buf_ref, t, scale, np.empty_like(x))
    out = buf if inplace else np.empty_like(x)
    assert bwd(buf, t, scale, out) is out
    close(out, g_ref, dtype)
    return res


def _class_logits(n, c, dtype, layout, seed):
    rng = np.random.default_rng(seed)
    x = make((n, c), dtype, layout, rng, scale=5.0)
    return rng, x, rng.integers(0, c, n).astype(np.int64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n,c", [(0, 4), (1, 1), (5, 10), (3, 1), (700, 101)])
@pytest.mark.parametrize("inplace", [False, True])
def test_cross_entropy(dtype, layout, n, c, inplace, threads):
    rng, x, t = _class_logits(n, c, dtype, layout, 10)
    nll = _check_kernel_pair(_core.cross_entropy_forward, ref.cross_entropy_forward,
                             _core.cross_entropy_backward, ref.cross_entropy_backward,
                             x, t, make((n,), dtype, rng=rng), inplace, dtype)
    assert nll.dtype == dtype and nll.shape == (n,)


def test_cross_entropy_backward_scalar_scale():
    x = make((6, 4), np.float64)
    t = np.array([0, 1, 2, 3, 0, 1])
    lp = np.empty_like(x)
    _core.cross_entropy_forward(x, t, lp)
    got = _core.cross_entropy_backward(lp, t, 1 / 6, np.empty_like(x))
    close(got, ref.cross_entropy_backward(lp, t, np.full(6, 1 / 6), np.empty_like(x)), np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    x = make((32, 10), dtype, scale=4.0)
    t = np.random.default_rng(11).integers(0, 10, 32)
    tx = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tx, torch.tensor(t))
    loss.backward()
    lp = np.empty_like(x)
    nll = _core.cross_entropy_forward(x, t, lp)
    close(nll.mean(), loss.item(), dtype)
    g = _core.cross_entropy_backward(lp, t, np.full(32, 1 / 32, dtype), np.empty_like(x))
    close(g, tx.grad.numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n,c", [(1, 1), (5, 10), (3, 1), (700, 101)])
@pytest.mark.parametrize("inplace", [False, True])
def test_softmax_cross_entropy(dtype, layout, n, c, inplace, threads):
    _, x, t = _class_logits(n, c, dtype, layout, 12)
    loss = _check_kernel_pair(_core.softmax_cross_entropy_forward,
                              ref.softmax_cross_entropy_forward,
                              _core.softmax_cross_entropy_backward,
                              ref.softmax_cross_entropy_backward, x, t, 1 / n, inplace, dtype)
    assert loss.dtype == dtype and loss.shape == ()


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    x = make((32, 10), dtype, scale=4.0)
    x[0, 3] = 90.0  # a row whose softmax underflows everywhere but one class
    t = np.random.default_rng(11).integers(0, 10, 32)
    tx = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tx, torch.tensor(t))
    loss.backward()
    p = np.empty_like(x)
    close(_core.softmax_cross_entropy_forward(x, t, p), loss.item(), dtype)
    g = _core.softmax_cross_entropy_backward(p, t, 1 / 32, np.empty_like(x))
    close(g, tx.grad.numpy(), dtype)


def test_softmax_cross_entropy_rejects_an_empty_batch():
    x = np.zeros((0, 4), np.float32)
    with pytest.raises(ValueError, match="mean over an empty batch"):
        _core.softmax_cross_entropy_forward(x, np.zeros(0, np.int64), np.empty_like(x))


@pytest.mark.parametrize("bad", [10, -1])
def test_cross_entropy_target_out_of_bounds(bad):
    x, t = np.zeros((3, 10)), np.array([1, bad, 2])
    with pytest.raises(IndexError, match=rf"^Target {bad} is out of bounds\.$"):
        _core.cross_entropy_forward(x, t, np.empty_like(x))
    with pytest.raises(IndexError, match=rf"^Target {bad} is out of bounds\.$"):
        _core.cross_entropy_backward(x, t, np.ones(3), np.empty_like(x))
    with pytest.raises(IndexError, match=rf"^Target {bad} is out of bounds\.$"):
        _core.softmax_cross_entropy_forward(x, t, np.empty_like(x))
    with pytest.raises(IndexError, match=rf"^Target {bad} is out of bounds\.$"):
        _core.softmax_cross_entropy_backward(x, t, 1.0, np.empty_like(x))
