"""fastnn.einsum against torch.einsum: values, gradients, second order and errors."""
import numpy as np
import pytest
import torch

import fastnn
from fastnn.autograd import gradcheck, gradgradcheck

CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                          # implicit output
    ("ba,ca", [(2, 3), (4, 3)]),                          # implicit output reorders
    ("Ab,bC->AC", [(2, 3), (3, 4)]),
    ("i j , j k -> k i", [(2, 3), (3, 4)]),               # spaces
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),    # attention scores
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("iji->j", [(3, 2, 3)]),
    ("ijj,jk->ik", [(2, 3, 3), (3, 4)]),
    ("ii,ij->j", [(3, 3), (3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ijk->", [(2, 3, 4)]),
    ("ij->j", [(2, 3)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,i->", [(3,), (3,)]),
    ("ij,kl->", [(2, 3), (4, 5)]),
    ("i,->i", [(3,), ()]),
    ("ij,ij->ij", [(2, 1), (1, 3)]),                      # size-1 broadcasting
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),    # ellipsis, unequal batch dims
    ("...ij,...jk", [(2, 3, 4), (4, 2)]),
    ("i...,i...->i...", [(2, 3, 1), (2, 1, 4)]),
    ("...i->i", [(2, 3, 4)]),
    ("...,...->...", [(2, 3), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ab,bc,cd,de->ae", [(2, 3), (3, 4), (4, 5), (5, 2)]),
    ("bi,bj,bk->ijk", [(4, 2), (4, 3), (4, 2)]),
    ("ij,ij,ij->i", [(2, 3), (2, 3), (1, 3)]),
]
IDS = [eq.replace(" ", "_") for eq, _ in CASES]


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _run(lib, eq, arrays, grad_out=None):
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = lib.einsum(eq, *ts)
    go = lib.tensor(grad_out if grad_out is not None else
                    np.random.default_rng(1).standard_normal(tuple(out.shape))
                    .astype(arrays[0].dtype))
    grads = lib.autograd.grad(out, ts, go)
    return out.detach().numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("eq,shapes", CASES, ids=IDS)
def test_values_and_grads_match_torch(eq, shapes, dtype):
    arrays = _arrays(shapes, dtype)
    want, want_g = _run(torch, eq, arrays)
    got, got_g = _run(fastnn, eq, arrays)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    for g, w in zip(got_g, want_g):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


SECOND = ["ij,jk->ik", "bhqd,bhkd->bhqk", "ii->i", "ijj,jk->ik", "iji->j", "ij,kl->",
          "ij,ij->ij", "...ij,...jk->...ik", "ij,jk,kl->il", "bi,bj,bk->ijk", "i,->i"]


@pytest.mark.parametrize("eq,shapes", [c for c in CASES if c[0] in SECOND],
                         ids=[i for c, i in zip(CASES, IDS) if c[0] in SECOND])
def test_gradcheck_and_gradgradcheck(eq, shapes):
    ts = tuple(fastnn.tensor(a, requires_grad=True) for a in _arrays(shapes, np.float64))
    fn = lambda *xs: fastnn.einsum(eq, *xs)  # noqa: E731
    assert gradcheck(fn, ts)
    if len(ts) > 1:  # one operand: the gradient is constant in it, nothing to check twice
        assert gradgradcheck(fn, ts)


@pytest.mark.parametrize("eq,shapes", [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
                                       ("ii,ij->j", [(3, 3), (3, 4)]),
                                       ("...ij,...jk", [(2, 3, 4), (4, 2)])])
def test_double_backward_matches_torch(eq, shapes):
    arrays = _arrays(shapes, np.float64)
    w = None
    res = []
    for lib in (torch, fastnn):
        ts = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = lib.einsum(eq, *ts)
        grads = lib.autograd.grad((out * out).sum(), ts, create_graph=True)
        if w is None:
            w = [np.random.default_rng(2).standard_normal(tuple(g.shape)) for g in grads]
        total = sum((g * lib.tensor(wi)).sum() for g, wi in zip(grads, w))
        res.append([h.detach().numpy() for h in lib.autograd.grad(total, ts)])
    for got, want in zip(res[1], res[0]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def _convert(lib, x):
    if isinstance(x, np.ndarray):
        return lib.tensor(x)
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], np.ndarray):
        return type(x)(lib.tensor(y) for y in x)
    return x


def test_list_of_operands_and_sublist_format():
    a, b = _arrays([(2, 3), (3, 4)], np.float64)
    for args in [("ij,jk->ik", [a, b]), ("ij,jk->ik", (a, b)),
                 (a, [0, 1], b, [1, 2], [0, 2]), (a, [0, 1], b, [1, 2]),
                 (a, [0, Ellipsis], b, [Ellipsis, 2]), (a, [26, 1], b, [1, 0])]:
        want, got = (lib.einsum(*[_convert(lib, x) for x in args]) for lib in (torch, fastnn))
        np.testing.assert_allclose(got.numpy(), want.numpy())


def test_sublist_format_is_differentiable():
    a = fastnn.tensor(_arrays([(2, 3)], np.float64)[0], requires_grad=True)
    fastnn.einsum(a, [0, 1], a, [0, 1], []).backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * a.detach().numpy())


def _ops(lib, shapes, dtypes=None):
    dtypes = dtypes or [np.float32] * len(shapes)
    return [lib.tensor(np.ones(s, d)) for s, d in zip(shapes, dtypes)]


ERRORS = [
    ("ij,jk->ik", [(2, 3)]),
    ("ij,jk->ik", [(2, 3), (3, 4), (3, 4)]),
    ("ij,kk->ik", [(2, 3), (3, 4)]),
    ("ii", [(1, 3)]),
    ("ij,ij->ij", [(2, 3), (3, 4)]),
    ("ijk,jk->ik", [(2, 3), (3, 4)]),
    ("ij...k", [(2, 3)]),
    ("ij,jk->iz", [(2, 3), (3, 4)]),
    ("ij,jk->ii", [(2, 3), (3, 4)]),
    ("i1,jk->ik", [(2, 3), (3, 4)]),
    ("ij,j1", [(2, 3)]),
    ("ij,jk-ik", [(2, 3), (3, 4)]),
    ("ij->i1", [(2, 3)]),
    ("ij,jk->i.k", [(2, 3), (3, 4)]),
    ("...ij,...jk->......ik", [(2, 3), (3, 4)]),
    ("i..j,jk", [(2, 3), (3, 4)]),
    ("...ij...", [(2, 3)]),
    ("ij..,jk->ik", [(2, 3), (3, 4)]),
    ("...i,...i", [(2, 3), (4, 3)]),
    ("i...,i...->i...", [(2, 3, 5), (2, 4)]),
    ("i...,i...", [(5, 2, 3), (4, 4, 5)]),
    ("ijk,jk->z", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", ERRORS, ids=[e for e, _ in ERRORS])
def test_errors_match_torch(eq, shapes):
    with pytest.raises(Exception) as want:
        torch.einsum(eq, *_ops(torch, shapes))
    with pytest.raises(type(want.value), match=None) as got:
        fastnn.einsum(eq, *_ops(fastnn, shapes))
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("call", [
    lambda lib: lib.einsum("ij,jk", *_ops(lib, [(2, 3), (3, 4)], [np.float32, np.float64])),
    lambda lib: lib.einsum("ij,jk", lib.ones(2, 3), 3),
    lambda lib: lib.einsum("ij,jk"),
    lambda lib: lib.einsum(lib.ones(2, 3), [0, 60], lib.ones(3, 2), [60, 1]),
    lambda lib: lib.einsum(lib.ones(2, 3), [0, -1]),
], ids=["dtype", "not_tensor", "no_operands", "sublist_range", "sublist_negative"])
def test_argument_errors_match_torch(call):
    with pytest.raises(Exception) as want:
        call(torch)
    with pytest.raises(type(want.value)) as got:
        call(fastnn)
    assert str(got.value) == str(want.value)


def test_no_grad_records_nothing_and_does_not_alias():
    a = fastnn.ones(3, 3, requires_grad=True)
    with fastnn.no_grad():
        out = fastnn.einsum("ij->ji", a)
    assert out.grad_fn is None and not out.requires_grad
    plain = fastnn.ones(3, 3)
    t = fastnn.einsum("ii->i", plain)
    assert t.grad_fn is None
    t.add_(1)
    assert plain.numpy()[0, 0] == 1  # the result owns its memory


def test_grad_fn_name_and_integer_operands():
    a = fastnn.ones(2, 3, requires_grad=True)
    assert fastnn.einsum("ij->i", a).grad_fn.name() == "SumBackward1"  # PyTorch's last step
    got = fastnn.einsum("i,i->", fastnn.tensor([1, 2]), fastnn.tensor([3, 4]))
    assert got.dtype == fastnn.int64 and got.item() == 11


def test_only_needed_gradients_are_computed():
    a = fastnn.randn(2, 3, requires_grad=True)
    b = fastnn.randn(3, 4)
    fastnn.einsum("ij,jk->ik", a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.numpy().sum(1), (2, 3)),
                               rtol=1e-5)
    assert b.grad is None
