"""create_graph=True through joining, selecting and scattering ops, scans, order statistics,
products, norms and more elementwise math: gradgradcheck in float64, the first gradients
against the engine's, and double backward against PyTorch."""
import importlib.util
import pathlib

import numpy as np
import pytest

import fastnn
from fastnn.autograd import gradgradcheck

_spec = importlib.util.spec_from_file_location(
    "higher_order_checks", pathlib.Path(__file__).with_name("higher_order_checks.py"))
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)
first_grads_agree, matches_torch = _checks.first_grads_agree, _checks.matches_torch

F = fastnn.nn.functional
_rng = np.random.default_rng(1)


def _t(*shape, positive=False):
    a = _rng.standard_normal(shape)
    return fastnn.tensor(np.abs(a) + 0.5 if positive else a, requires_grad=True)


def _dropout(a):
    fastnn.manual_seed(0)  # the same mask at every call
    return F.dropout(a, 0.4)


def _i(*vals):
    return fastnn.tensor(np.array(vals, np.int64))


CASES = {
    "cat_stack": (lambda a, b: (fastnn.cat([a, b * a], 1) ** 3).sum()
                  + (fastnn.stack([a, b], 2).tanh() ** 2).sum()
                  + (fastnn.cat([a, b]) * fastnn.cat([b, a])).sin().sum(), (2, 3), (2, 3)),
    "split_chunk_unbind": (lambda a: sum((p ** 3).sum() * (i + 1) for i, p in
                                         enumerate(a.split(2, 1)))
                           + sum((p.sin() * p).sum() for p in a.chunk(2, 0))
                           + sum((p ** 2).prod() for p in a.unbind(1)), (4, 5)),
    "flip_roll_repeat_triu": (lambda a: ((a.flip(0) * a) ** 2).sum()
                              + (a.roll(1, 1) * a).pow(2).sum()
                              + (a.repeat(2, 1) ** 3).sum() + (a.triu(1) * a).exp().sum(),
                              (3, 3)),
    "diagonal": (lambda a: (a.diagonal() ** 3).sum() + (a.diagonal(1) * a[0, :2]).sum(), (3, 3)),
    "index_select_gather": (lambda a: (a.index_select(1, _i(0, 2, 2)) ** 3).sum()
                            + (a.gather(1, _i([0, 0], [1, 2], [2, 1])) ** 3).sum(), (3, 3)),
    "scatter_variants": (lambda a, s: (a.scatter(1, _i([0], [2], [1]), s) ** 3).sum()
                         + (a.scatter_add(0, _i([0, 2, 0]), s.t()) ** 3).sum()
                         + (a.index_add(1, _i(1, 1), s.repeat(1, 2) * a[:, :2]) ** 2).sum(),
                         (3, 3), (3, 1)),
    "masked_where": (lambda a, b: (a.masked_fill(a > 0.3, 2.0) ** 3).sum()
                     + (fastnn.where(a > 0, a * b, b * b) ** 2).sum()
                     + (a.masked_select(b > 0) ** 3).sum(), (3, 4), (4,)),
    "pads": (lambda a: (F.pad(a, (1, 2, 0, 1)) ** 3).sum()
             + (F.pad(a, (2, 1), mode="reflect").sin() * 2).pow(2).sum()
             + (F.pad(a, (1, 1, 1, 1), mode="replicate") ** 3).sum()
             + (F.pad(a, (1, 1), mode="circular") ** 3).sum(), (1, 3, 4)),
    "embedding": (lambda w: (F.embedding(_i([0, 2], [2, 3]), w) ** 3).sum()
                  + (F.embedding(_i(1, 0, 1), w, padding_idx=0) ** 3).sum(), (4, 3)),
    "cumsum_cumprod": (lambda a: (a.cumsum(1) ** 3).sum() + (a.cumprod(0) ** 2).sum(), (3, 4)),
    "cumprod_zero": (lambda a: ((a * fastnn.tensor([1.0, 0.0, 1.0, 1.0], dtype=fastnn.float64))
                                .cumprod(0) * fastnn.arange(4.0, dtype=fastnn.float64)).sum()
                     ** 2, (4,)),
    "prod": (lambda a: a.prod() ** 2 + (a.prod(1) ** 2).sum() + a.prod(0, keepdim=True).sum(),
             (3, 4)),
    "prod_zero": (lambda a: ((a * fastnn.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=fastnn.float64))
                             .prod(1) ** 2).sum(), (2, 2)),
    "max_min_sort": (lambda a: a.max() ** 2 + (a.max(1)[0] ** 3).sum()
                     + (a.min(0, keepdim=True).values ** 3).sum() + (a.amax(1) ** 3).sum()
                     + (a.amin((0, 1)) ** 3) + (a.sort(1)[0] ** 3 * a).sum()
                     + (a.topk(2, 0)[0] ** 3).sum(), (3, 4)),
    "maximum_minimum_clamp": (lambda a, b: (fastnn.maximum(a, b) ** 3).sum()
                              + (fastnn.minimum(a, b * 2) ** 3).sum()
                              + (a.clip(-0.3, 0.4) * a).sum(), (3, 4), (4,)),
    "var_std": (lambda a: (a.var(1) ** 2).sum() + a.std() ** 3 + (a.std(0, keepdim=True,
                                                                        correction=0) ** 3).sum(),
                (3, 4)),
    "norms": (lambda a: a.norm() ** 3 + (a.norm(dim=1) ** 3).sum()
              + (fastnn.linalg.vector_norm(a, 3, dim=0) ** 2).sum()
              + (a.norm(p=1, dim=1) * a.sum(1)).sum()
              + (F.normalize(a, dim=1) ** 3).sum(), (3, 4)),
    "logsumexp": (lambda a: (a.logsumexp(1) ** 3).sum() + a.logsumexp((0, 1)) ** 2
                  + (a.logsumexp(0, keepdim=True) * a).sum(), (3, 4)),
    "zero_slopes": (lambda a: ((a.sign() + a.floor() + a.round() + a % 0.7) * a ** 2).sum()
                    + (fastnn.remainder(a, a.abs() + 0.5) ** 3).sum(), (5,)),
    "pow_tensor": (lambda a, b: (a ** b).sum() + (b ** a).sin().sum(), ("pos", 4), ("pos", 4)),
    "more_unary": (lambda a: (a.log2() * a.log10() + a.tan() + (a * 0.3).asin()
                              + (a * 0.3).acos() * a + a.atan() * a + a.sinh() * a.cosh()
                              + a.asinh() * a + (a + 1).acosh() * a + (a * 0.3).atanh() * a
                              + a.exp2() * a + a.lgamma() * a + a.digamma() * a).sum()
                   + fastnn.atan2(a, a * a + 1).pow(2).sum(), ("pos", 4)),
    "bmm_dropout_clamp_tensor": (lambda a, b: ((fastnn.bmm(a.reshape(2, 3, 2), b.reshape(2, 2, 3))
                                                .tanh()) ** 2).sum()
                                 + (_dropout(a * b) ** 3).sum()
                                 + (a.clamp(min=b * 0.5, max=b + 1) ** 3).sum(), (3, 4), (3, 4)),
    "shrink": (lambda a: ((F.hardshrink(a, 0.3) + F.softshrink(a, 0.3)
                           + F.rrelu(a, training=False)) * a).sum(), (7,)),
}


def _inputs(shapes):
    return tuple(_t(*s[1:], positive=True) if s[0] == "pos" else _t(*s) for s in shapes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_match_finite_differences(name):
    fn, *shapes = CASES[name]
    assert gradgradcheck(fn, _inputs(shapes))


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_derivatives_match_the_engine(name):
    fn, *shapes = CASES[name]
    assert first_grads_agree(fn, _inputs(shapes))


def _ix(lib, rows):
    return lib.tensor(np.array(rows, np.int64))


# written once for both libraries: fn(lib, *tensors)
TORCH_CASES = {
    "cat_stack_split": (lambda lib, a, b: (lib.cat([a, b * a], 1) ** 3).sum()
                        + (lib.stack([a, b], 0).tanh() ** 2).sum()
                        + sum((p ** 3).sum() * (i + 1) for i, p in enumerate(a.split(2, 1))),
                        (2, 3), (2, 3)),
    "pads": (lambda lib, a: (lib.nn.functional.pad(a, (1, 2, 0, 1)) ** 3).sum()
             + (lib.nn.functional.pad(a, (2, 1), mode="reflect") ** 3).sum()
             + (lib.nn.functional.pad(a, (1, 1, 1, 1), mode="replicate") ** 3).sum(),
             (1, 3, 4)),
    "gather_scatter": (lambda lib, a, s: (a.gather(1, _ix(lib, [[0, 0], [1, 2], [2, 1]])) ** 3)
                       .sum() + (a.scatter(1, _ix(lib, [[0], [2], [1]]), s) ** 3).sum()
                       + (a.index_select(0, _ix(lib, [2, 2])) ** 3).sum(), (3, 3), (3, 1)),
    "cumsum_cumprod_prod": (lambda lib, a: (a.cumsum(1) ** 3).sum() + (a.cumprod(0) ** 2).sum()
                            + (a.prod(1) ** 2).sum(), (3, 4)),
    "reductions": (lambda lib, a: (a.max(1)[0] ** 3).sum() + (a.std(0) ** 3).sum()
                   + (a.norm(dim=1) ** 3).sum() + (a.logsumexp(1) ** 3).sum()
                   + (a.var() ** 2), (3, 4)),
    "embedding": (lambda lib, w: (lib.nn.functional.embedding(_ix(lib, [[0, 2], [2, 3]]), w)
                                  ** 3).sum(), (4, 3)),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_double_backward_matches_torch(name):
    fn, *shapes = TORCH_CASES[name]
    rng = np.random.default_rng(11)
    assert matches_torch(fn, [rng.standard_normal(s) for s in shapes])
