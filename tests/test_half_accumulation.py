"""float16 sums accumulate in float32 and round once: reductions over any dim, broadcast and
index gradients, scatter-adds and average pooling. Summing 10000 copies of float16's 0.1 in
float16 stalls at 256 (and 1s at 2048); the float32 accumulator reaches 1000 (and 10000)."""
import numpy as np
import pytest

import fastnn as fn
import fastnn.nn.functional as F

N = 10000
TENTH = float(np.float16(0.1))  # the float16 value nearest 0.1


def tall(lib, value=0.1):
    return lib.full((N, 3), value).half()


def close_to(t, expected, rtol=2e-3):
    got = t.float().numpy() if hasattr(t, "numpy") else np.asarray(t)
    np.testing.assert_allclose(got, expected, rtol=rtol)


# name -> (lib -> result, the float64 reference)
FORWARD = {
    "sum0": (lambda m: tall(m).sum(0), N * TENTH),
    "sum0_ones_4096": (lambda m: m.ones(4096, 16).half().sum(0), 4096.0),
    "sum0_keepdim": (lambda m: tall(m).sum(0, keepdim=True), N * TENTH),
    "sum0_dtype_half": (lambda m: m.sum(tall(m), 0, dtype=m.float16), N * TENTH),
    "sum_transposed": (lambda m: tall(m).t().sum(1), N * TENTH),
    "sum_expanded": (lambda m: m.full((1, 3), 0.1).half().expand(N, 3).sum(0), N * TENTH),
    "sum_two_dims": (lambda m: tall(m).reshape(100, 100, 3).sum((0, 1)), N * TENTH),
    "nansum0": (lambda m: tall(m).nansum(0), N * TENTH),
    "nanmean0": (lambda m: tall(m).nanmean(0), TENTH),
    "einsum_sum": (lambda m: m.einsum("ij->j", tall(m)), N * TENTH),
    "einsum_dot": (lambda m: m.einsum("ij,ij->j", m.ones(4096, 2).half(),
                                      m.ones(4096, 2).half()), 4096.0),
    "trapezoid0": (lambda m: m.trapezoid(tall(m), dim=0), (N - 1) * TENTH),
    "vecdot0": (lambda m: m.linalg.vecdot(tall(m), tall(m), dim=0), N * TENTH * TENTH),
    "cosine0": (lambda m: m.nn.functional.cosine_similarity(tall(m), tall(m), dim=0), 1.0),
    "sum_to_size": (lambda m: tall(m).sum_to_size(1, 3), N * TENTH),
    "softmax0": (lambda m: m.ones(N, 3).half().softmax(0), 1.0 / N),
    "log_softmax0": (lambda m: m.ones(N, 3).half().log_softmax(0), -np.log(N)),
}


@pytest.mark.parametrize("case", sorted(FORWARD))
def test_reductions_accumulate_in_float32(case):
    make, expected = FORWARD[case]
    out = make(fn)
    assert out.dtype == fn.float16
    close_to(out, expected)


@pytest.mark.parametrize("case", sorted(FORWARD))
def test_reductions_match_torch(case):
    torch = pytest.importorskip("torch")
    make, _ = FORWARD[case]
    np.testing.assert_allclose(make(fn).float().numpy(), make(torch).float().numpy(),
                               rtol=2e-3, atol=1e-6)


def _bias_grad(m):
    b = m.zeros(3).half().requires_grad_()
    (tall(m) + b).sum().backward()
    return b.grad


def _expand_grad(m):
    b = m.zeros(1, 3).half().requires_grad_()
    b.expand(N, 3).sum().backward()
    return b.grad


def _repeat_grad(m):
    b = m.zeros(1, 3).half().requires_grad_()
    b.repeat(N, 1).sum().backward()
    return b.grad


def _mul_grad(m):
    b = m.zeros(3).half().requires_grad_()
    (tall(m) * b).sum().backward()
    return b.grad


def _gather_grad(m):
    b = m.zeros(3).half().requires_grad_()
    b.gather(0, m.zeros(N, dtype=m.long)).sum().backward()
    return b.grad[0]


def _index_select_rows_grad(m):
    b = m.zeros(3, 3).half().requires_grad_()
    b.index_select(0, m.zeros(N, dtype=m.long)).sum().backward()
    return b.grad[0]


def _linear_grads(m):
    lin = m.nn.Linear(3, 2).half()
    lin(tall(m)).sum().backward()
    return m.cat([lin.bias.grad, lin.weight.grad.reshape(-1)])


GRADS = {
    "broadcast_add": (_bias_grad, float(N)),
    "expand": (_expand_grad, float(N)),
    "repeat": (_repeat_grad, float(N)),
    "broadcast_mul": (_mul_grad, N * TENTH),
    "gather_repeated": (_gather_grad, float(N)),
    "index_select_rows": (_index_select_rows_grad, float(N)),
    "linear_half": (_linear_grads, [N, N] + [N * TENTH] * 6),
}


@pytest.mark.parametrize("case", sorted(GRADS))
def test_gradients_accumulate_in_float32(case):
    make, expected = GRADS[case]
    out = make(fn)
    assert out.dtype == fn.float16
    close_to(out, expected)


@pytest.mark.parametrize("case", sorted(GRADS))
def test_gradients_match_torch(case):
    torch = pytest.importorskip("torch")
    make, _ = GRADS[case]
    np.testing.assert_allclose(make(fn).float().numpy(), make(torch).float().numpy(),
                               rtol=2e-3)


def _zeros_index(m):
    return m.zeros(N, dtype=m.long)


def _tenths(m, *shape):
    return m.full(shape or (N,), 0.1).half()


SCATTER = {
    "scatter_add": (lambda m: m.zeros(3).half().scatter_add(0, _zeros_index(m), _tenths(m))[0],
                    N * TENTH),
    "scatter_add_rows": (lambda m: m.zeros(3, 3).half().scatter_add(
        0, _zeros_index(m).view(-1, 1).expand(N, 3), _tenths(m, N, 3))[0], N * TENTH),
    "scatter_reduce_sum": (lambda m: m.zeros(3).half().scatter_reduce(
        0, _zeros_index(m), _tenths(m), "sum")[0], N * TENTH),
    "scatter_reduce_mean": (lambda m: m.zeros(3).half().scatter_reduce(
        0, _zeros_index(m), _tenths(m), "mean")[0], N * TENTH / (N + 1)),
    "scatter_reduce_mean_no_self": (lambda m: m.zeros(3).half().scatter_reduce(
        0, _zeros_index(m), _tenths(m), "mean", include_self=False)[0], TENTH),
    "scatter_reduce_add": (lambda m: m.zeros(3).half().scatter(
        0, _zeros_index(m), _tenths(m), reduce="add")[0], N * TENTH),
    "index_add_rows": (lambda m: m.zeros(3, 3).half().index_add(
        0, _zeros_index(m), _tenths(m, N, 3))[0], N * TENTH),
    "index_add_columns": (lambda m: m.zeros(3, 3).half().index_add(
        1, _zeros_index(m), _tenths(m, 3, N))[:, 0], N * TENTH),
    "embedding_bag_sum": (lambda m: m.nn.functional.embedding_bag(
        _zeros_index(m), _tenths(m, 5, 3), m.tensor([0]), mode="sum"), N * TENTH),
    "embedding_bag_mean": (lambda m: m.nn.functional.embedding_bag(
        _zeros_index(m).view(1, -1), _tenths(m, 5, 3), mode="mean"), TENTH),
    "embedding_bag_weighted": (lambda m: m.nn.functional.embedding_bag(
        _zeros_index(m), _tenths(m, 5, 3), m.tensor([0]), mode="sum",
        per_sample_weights=m.ones(N).half()), N * TENTH),
}


@pytest.mark.parametrize("case", sorted(SCATTER))
def test_scatter_adds_accumulate_in_float32(case):
    make, expected = SCATTER[case]
    out = make(fn)
    assert out.dtype == fn.float16
    close_to(out, expected)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
@pytest.mark.parametrize("case", sorted(SCATTER))
def test_scatter_adds_match_torch(case):
    torch = pytest.importorskip("torch")
    make, _ = SCATTER[case]
    np.testing.assert_allclose(make(fn).float().numpy(), make(torch).float().numpy(),
                               rtol=2e-3)


# where PyTorch itself adds in float16 (single elements, alpha-scaled rows, index_put and
# embedding gradients), fastnn does too: the results stall the same way
HALF_ADDS = {
    "index_add_elements": lambda m: m.zeros(3).half().index_add(
        0, _zeros_index(m), _tenths(m))[0],
    "index_add_alpha": lambda m: m.zeros(3, 3).half().index_add(
        0, _zeros_index(m), _tenths(m, N, 3), alpha=2)[0, 0],
    "index_put_accumulate": lambda m: m.zeros(3).half().index_put_(
        (_zeros_index(m),), _tenths(m), accumulate=True)[0],
}


@pytest.mark.parametrize("case", sorted(HALF_ADDS))
def test_float16_adds_where_pytorch_keeps_them(case):
    torch = pytest.importorskip("torch")
    make = HALF_ADDS[case]
    assert float(make(fn)) == float(make(torch))


@pytest.mark.parametrize("which", ["embedding", "embedding_bag"])
def test_embedding_weight_grads_match_torch(which):
    torch = pytest.importorskip("torch")

    def grad(m):
        w = _tenths(m, 5, 3).requires_grad_()
        if which == "embedding":
            out = m.nn.functional.embedding(_zeros_index(m), w)
        else:
            out = m.nn.functional.embedding_bag(_zeros_index(m), w, m.tensor([0]), mode="sum")
        out.sum().backward()
        return w.grad
    np.testing.assert_array_equal(grad(fn).float().numpy(), grad(torch).float().numpy())


POOLS = {
    "avg_pool1d": (lambda m: m.nn.functional.avg_pool1d(_tenths(m, 1, 1, N), N), TENTH),
    "avg_pool2d": (lambda m: m.nn.functional.avg_pool2d(_tenths(m, 1, 1, 100, 100), 100),
                   TENTH),
    "lp_pool1d_p1": (lambda m: m.nn.functional.lp_pool1d(_tenths(m, 1, 1, N), 1, N),
                     N * TENTH),
    "lp_pool2d_p1": (lambda m: m.nn.functional.lp_pool2d(_tenths(m, 1, 1, 100, 100), 1, 100),
                     N * TENTH),
    "lp_pool2d_p2": (lambda m: m.nn.functional.lp_pool2d(_tenths(m, 1, 1, 100, 100), 2, 100),
                     10.0),
}


@pytest.mark.parametrize("case", sorted(POOLS))
def test_pools_accumulate_in_float32(case):
    make, expected = POOLS[case]
    out = make(fn)
    assert out.dtype == fn.float16
    close_to(out, expected)


@pytest.mark.parametrize("case", sorted(POOLS))
def test_pools_match_torch(case):
    torch = pytest.importorskip("torch")
    make, _ = POOLS[case]
    np.testing.assert_allclose(make(fn).float().numpy(), make(torch).float().numpy(),
                               rtol=2e-3)


def test_avg_pool3d_float16_accumulates_in_float32():
    out = F.avg_pool3d(fn.full((1, 1, 20, 20, 25), 0.1).half(), (20, 20, 25))
    assert out.dtype == fn.float16
    close_to(out, TENTH)


def test_float32_and_float64_sums_unchanged():
    for dt in (np.float32, np.float64):
        a = np.random.default_rng(0).standard_normal((300, 7)).astype(dt)
        got = fn.from_numpy(a).sum(0).numpy()
        assert got.dtype == dt
        np.testing.assert_allclose(got, a.astype(np.float64).sum(0), rtol=1e-5, atol=1e-5)
        b = fn.from_numpy(np.zeros(7, dt)).requires_grad_()
        (fn.from_numpy(a) + b).sum().backward()
        assert b.grad.numpy().dtype == dt
        np.testing.assert_array_equal(b.grad.numpy(), np.full(7, 300, dt))


def test_softmax_float16_grad_in_float32():
    x = fn.ones(N, 3).half().requires_grad_()
    x.log_softmax(0).sum().backward()
    assert x.grad.dtype == fn.float16
    # each slope is 1 - N * softmax = 1 - N * (1/N): near zero once the sums are right
    assert np.abs(x.grad.float().numpy()).max() < 1e-3
