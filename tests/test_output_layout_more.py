"""Output memory layout and aliasing: results that must own their memory, gradients of
transposed matrix-product operands, and the strides of einsum, SDPA, batch norm, pad and
friends (PyTorch is the oracle where it is installed)."""
import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F

_rng = np.random.RandomState(0)


def _arr(*shape):
    return _rng.randn(*shape).astype(np.float32)


def _views_flat(t):
    t.view(-1)  # raises on a layout that a view cannot flatten
    return True


# ---- results that must not alias their input --------------------------------------------

@pytest.mark.parametrize("power", [
    lambda a: fastnn.linalg.matrix_power(a, 1),
    lambda a: fastnn.matrix_power(a, 1),
    lambda a: a.matrix_power(1),
])
def test_matrix_power_one_is_a_copy(power):
    a = fastnn.tensor(_arr(3, 3))
    before = a.clone()
    p = power(a)
    p.add_(1)
    assert fastnn.equal(a, before)
    leaf = fastnn.tensor(_arr(3, 3), requires_grad=True)
    q = power(leaf)
    assert type(q.grad_fn).__name__ == "CloneBackward0"
    q.mul_(2)  # not the leaf itself, so an in-place write is allowed
    q.sum().backward()
    assert fastnn.equal(leaf.grad, fastnn.full((3, 3), 2.0))


def test_matrix_power_one_of_a_transposed_matrix_is_c_ordered():
    m = fastnn.tensor(_arr(3, 3)).t()
    p = fastnn.linalg.matrix_power(m, 1)
    assert p.is_contiguous() and fastnn.equal(p, m)


@pytest.mark.parametrize("op, arg, shape", [
    (F.pixel_shuffle, 2, (2, 4, 1, 1)),
    (F.pixel_shuffle, 1, (2, 4, 3, 3)),
    (F.pixel_unshuffle, 2, (2, 1, 2, 2)),
    (F.pixel_unshuffle, 1, (2, 1, 2, 2)),
    (F.channel_shuffle, 4, (1, 4, 2, 1)),
    (F.channel_shuffle, 1, (2, 4, 3)),
    (F.native_channel_shuffle, 4, (1, 4, 2, 1)),
])
def test_trivial_shuffles_return_fresh_memory(op, arg, shape):
    z = fastnn.arange(float(np.prod(shape))).view(*shape)
    o = op(z, arg)
    assert fastnn.equal(o.reshape(-1), z.reshape(-1))  # the shuffle moves nothing here
    o.zero_()
    assert float(z.sum()) == float(np.prod(shape)) * (np.prod(shape) - 1) / 2


def test_trivial_shuffle_keeps_its_node_name_and_gradient():
    z = fastnn.arange(8.0).view(2, 4, 1, 1).requires_grad_()
    o = F.pixel_shuffle(z, 2)
    assert type(o.grad_fn).__name__ == "PixelShuffleBackward0"
    (o * fastnn.arange(8.0).view(2, 1, 2, 2)).sum().backward()
    assert z.grad.view(-1).tolist() == list(range(8))


# ---- gradients of transposed matrix-product operands -------------------------------------

def test_grad_through_transposed_weight_is_c_ordered():
    w = fastnn.tensor(_arr(3, 5), requires_grad=True)
    x = fastnn.tensor(_arr(4, 5))
    g, = fastnn.autograd.grad((x @ w.t()).sum(), w)
    assert g.is_contiguous() and _views_flat(g)
    np.testing.assert_allclose(g.numpy(), np.ones((4, 3), np.float32).T @ x.numpy(),
                               rtol=1e-5)
    a = fastnn.tensor(_arr(5, 4), requires_grad=True)
    b = fastnn.tensor(_arr(5, 2))
    g, = fastnn.autograd.grad((a.t() @ b).pow(2).sum(), a)
    assert g.is_contiguous()
    expect = (2 * (a.detach().numpy().T @ b.numpy())) @ b.numpy().T
    np.testing.assert_allclose(g.numpy(), expect.T, rtol=1e-4)


_MM_CASES = {
    "mm_a_bT": (lambda t, a, b: a @ b.t(), (4, 5), (3, 5)),
    "mm_aT_b": (lambda t, a, b: a.t() @ b, (5, 4), (5, 2)),
    "mm_aT_bT": (lambda t, a, b: t.mm(a.t(), b.t()), (5, 4), (2, 5)),
    "vec_bT": (lambda t, a, b: a @ b.t(), (5,), (3, 5)),
    "mat_aT_vec": (lambda t, a, b: a.t() @ b, (5, 4), (5,)),
    "batched_bT": (lambda t, a, b: a @ b.t(), (2, 4, 5), (3, 5)),
    "bmm_T": (lambda t, a, b: t.bmm(a.transpose(1, 2), b.transpose(1, 2)), (2, 5, 4),
              (2, 3, 5)),
    "addmm_T": (lambda t, a, b: t.addmm(t.ones(4, 3), a.t(), b.t()), (5, 4), (3, 5)),
    "linear_T": (lambda t, a, b: t.nn.functional.linear(a.t(), b.t()), (5, 4), (5, 3)),
    "linear_bias_T": (lambda t, a, b: t.nn.functional.linear(a.t(), b.t(), t.ones(3)),
                      (5, 4), (5, 3)),
    "linear_3d_wT": (lambda t, a, b: t.nn.functional.linear(a, b.t()), (2, 4, 5), (5, 3)),
}


@pytest.mark.parametrize("case", sorted(_MM_CASES))
def test_matmul_grad_strides_match_torch(case):
    torch = pytest.importorskip("torch")
    fn, sa, sb = _MM_CASES[case]
    na, nb = _arr(*sa), _arr(*sb)
    results = []
    for lib in (fastnn, torch):
        a = lib.tensor(na, requires_grad=True)
        b = lib.tensor(nb, requires_grad=True)
        out = fn(lib, a, b)
        ga, gb = lib.autograd.grad(out.pow(2).sum(), (a, b))
        results.append((ga, gb))
    for mine, ref in zip(*results):
        assert mine.stride() == ref.stride()
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)


# ---- topk, einsum, SDPA, batch norm ------------------------------------------------------

def test_topk_indices_are_c_ordered():
    v, i = fastnn.tensor(_arr(4, 6)).topk(2)
    assert i.is_contiguous() and v.is_contiguous() and _views_flat(i)
    v, i = fastnn.tensor(_arr(5, 6)).t().topk(2, dim=0)
    assert i.is_contiguous() and v.is_contiguous()


_EINSUM = [
    ("bqhd,bkhd->bhqk", (2, 4, 3, 5), (2, 6, 3, 5)),
    ("nqhd,nkhd->nhqk", (2, 4, 3, 5), (2, 6, 3, 5)),
    ("bnhd,bmhd->bhnm", (2, 4, 3, 5), (2, 6, 3, 5)),
    ("bhqk,bkhd->bqhd", (2, 3, 4, 6), (2, 6, 3, 5)),
    ("bhqk,bkhd->bqhd", (2, 3, 40, 60), (2, 60, 3, 50)),
    ("bqhd,bkhd->bhkq", (2, 4, 3, 5), (2, 6, 3, 5)),
    ("ij,jk->ki", (3, 4), (4, 5)),
    ("ij,jk->ki", (30, 40), (40, 50)),
    ("bij,bjk->kbi", (2, 3, 4), (2, 4, 5)),
    ("ijl,jk->ki", (3, 4, 2), (4, 5)),
    ("ij,ajk->kia", (3, 4), (2, 4, 5)),
    ("ijm,jkm->kim", (3, 4, 2), (4, 5, 2)),
    ("ij,jk,kl->li", (3, 4), (4, 5), (5, 2)),
    ("ijk->ki", (2, 3, 4)),
    ("ij,ij->ji", (3, 4), (3, 4)),
]


@pytest.mark.parametrize("eq_shapes", _EINSUM, ids=lambda c: c[0])
def test_einsum_values_and_layout(eq_shapes):
    eq, *shapes = eq_shapes
    arrays = [_arr(*s) for s in shapes]
    out = fastnn.einsum(eq, *[fastnn.tensor(a) for a in arrays])
    np.testing.assert_allclose(out.numpy(), np.einsum(eq, *arrays), rtol=1e-4, atol=1e-4)
    torch = pytest.importorskip("torch")
    ref = torch.einsum(eq, *[torch.tensor(a) for a in arrays])
    assert out.stride() == ref.stride()


def test_einsum_attention_scores_are_c_ordered():
    q, k = fastnn.tensor(_arr(2, 4, 3, 5)), fastnn.tensor(_arr(2, 6, 3, 5))
    s = fastnn.einsum("bqhd,bkhd->bhqk", q, k)
    assert s.is_contiguous() and _views_flat(s)


def test_sdpa_follows_a_transposed_query():
    q = fastnn.tensor(_arr(2, 4, 3, 5)).transpose(1, 2)
    y = F.scaled_dot_product_attention(q, q, q)
    assert y.stride() == (60, 5, 15, 1)
    merged = y.transpose(1, 2).view(2, 4, 15)
    ref = F.scaled_dot_product_attention(q.contiguous(), q.contiguous(), q.contiguous())
    np.testing.assert_allclose(merged.numpy(), ref.transpose(1, 2).reshape(2, 4, 15).numpy(),
                               rtol=1e-5)
    c = fastnn.tensor(_arr(2, 3, 4, 5))
    assert F.scaled_dot_product_attention(c, c, c).is_contiguous()


@pytest.mark.parametrize("kw", [{}, {"dropout_p": 0.5}, {"is_causal": True}])
def test_sdpa_strides_match_torch(kw):
    torch = pytest.importorskip("torch")
    nq, nk = _arr(2, 4, 3, 5), _arr(2, 6, 3, 5)
    got = []
    for lib in (fastnn, torch):
        q = lib.tensor(nq).transpose(1, 2)
        k = lib.tensor(nk).transpose(1, 2)
        got.append(lib.nn.functional.scaled_dot_product_attention(q, k, k, **kw).stride())
    assert got[0] == got[1]


def test_batch_norm_of_transposed_input_is_c_ordered():
    bn = fastnn.nn.BatchNorm1d(4)
    x = fastnn.tensor(_arr(2, 5, 4))
    y = bn(x.transpose(1, 2))
    assert y.is_contiguous() and _views_flat(y)
    ref = bn(x.transpose(1, 2).contiguous())
    np.testing.assert_allclose(y.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    cl = fastnn.tensor(_arr(2, 3, 3, 4)).permute(0, 3, 1, 2)
    out = fastnn.nn.BatchNorm2d(4)(cl)
    assert out.is_contiguous(memory_format=fastnn.channels_last)
    out = F.batch_norm(cl, None, None, training=True)  # no weight or bias: still its layout
    assert out.is_contiguous(memory_format=fastnn.channels_last)


# ---- ops on a transposed matrix ----------------------------------------------------------

_M = _arr(4, 3)
_TRANSPOSED_OPS = {
    "pad": lambda t, m: t.nn.functional.pad(m, (1, 1)),
    "pad_zero": lambda t, m: t.nn.functional.pad(m, (0, 0)),
    "index_copy": lambda t, m: m.index_copy(0, t.tensor([0]), t.ones(1, 4)),
    "rot90": lambda t, m: t.rot90(m),
    "rot90_0": lambda t, m: t.rot90(m, 0),
    "rot90_2": lambda t, m: t.rot90(m, 2),
    "flip": lambda t, m: m.flip(0),
    "renorm": lambda t, m: m.renorm(2, 0, 1.0),
    "mvlgamma": lambda t, m: t.mvlgamma(m.abs() + 2, 2),
    "rpow": lambda t, m: 2 ** m,
    "pow_scalar": lambda t, m: t.pow(2, m),
    "rrelu_eval": lambda t, m: t.nn.functional.rrelu(m),
    "logsigmoid": lambda t, m: t.nn.functional.logsigmoid(m),
    "matrix_power": lambda t, m: t.linalg.matrix_power(m[:, :3], 1),
    "svd_V": lambda t, m: t.svd(m)[2],
    "svd_U": lambda t, m: t.svd(m)[0],
    "linalg_svd_Vh": lambda t, m: t.linalg.svd(m)[2],
}


@pytest.mark.parametrize("name", sorted(_TRANSPOSED_OPS))
def test_transposed_matrix_op_strides_match_torch(name):
    torch = pytest.importorskip("torch")
    fn = _TRANSPOSED_OPS[name]
    mine = fn(fastnn, fastnn.tensor(_M).t())
    ref = fn(torch, torch.tensor(_M).t())
    assert mine.stride() == ref.stride()
    if not name.startswith(("svd", "linalg_svd")):  # singular vectors differ up to sign
        np.testing.assert_allclose(mine.numpy(), ref.numpy(), rtol=1e-5, atol=1e-6)


def test_transposed_matrix_ops_are_c_ordered():
    m = fastnn.tensor(_M).t()
    for out in (F.pad(m, (1, 1)), m.index_copy(0, fastnn.tensor([0]), fastnn.ones(1, 4)),
                fastnn.rot90(m), m.renorm(2, 0, 1.0), fastnn.mvlgamma(m.abs() + 2, 1), 2 ** m,
                F.rrelu(m), F.logsigmoid(m), fastnn.svd(fastnn.tensor(_M))[2]):
        assert out.is_contiguous() and _views_flat(out)


def test_svd_factors_still_reconstruct():
    a = fastnn.tensor(_arr(2, 4, 3))
    u, s, v = fastnn.svd(a)
    np.testing.assert_allclose((u @ fastnn.diag_embed(s) @ v.mT).numpy(), a.numpy(),
                               rtol=1e-4, atol=1e-5)
    u, s, vh = fastnn.linalg.svd(a)
    assert u.mT.is_contiguous() and vh.mT.is_contiguous()


# ---- in-place writes to overlapping windows ----------------------------------------------

@pytest.mark.parametrize("write, expect", [
    (lambda w: w.fill_(1.0), [1.0] * 6),
    (lambda w: w.zero_(), [0.0] * 6),
    (lambda w: w.copy_(fastnn.ones(4, 3)), [1.0] * 6),
    (lambda w: w.__setitem__(0, 5.0), [5.0, 5.0, 5.0, 3.0, 4.0, 5.0]),
])
def test_overlapping_unfold_takes_writes(write, expect):
    t = fastnn.arange(6.0)
    write(t.unfold(0, 3, 1))
    assert t.tolist() == expect


def test_overlapping_unfold_arithmetic_and_random_fills_run():
    t = fastnn.arange(6.0)
    t.unfold(0, 3, 1).mul_(2)
    t.unfold(0, 3, 1).uniform_()
    assert ((t >= 0) & (t < 1)).all()


def test_expanded_writes_still_refused():
    t = fastnn.arange(6.0)
    with pytest.raises(RuntimeError, match="more than one element of the written-to"):
        t[:1].expand(3).mul_(2)
    t[:1].expand(3).fill_(2.0)  # a fill is allowed: every alias takes the same value
    assert t[0].item() == 2.0


def test_overlapping_unfold_write_records_autograd():
    x = fastnn.arange(6.0, requires_grad=True)
    y = x * 1
    y.unfold(0, 3, 1).fill_(1.0)
    assert type(y.grad_fn).__name__ == "CopySlices"
    y.sum().backward()
    assert x.grad.tolist() == [0.0] * 6
