"""create_graph=True through custom Functions, in-place writes, order statistics,
scatter_reduce, Tensor.unfold, special elementwise ops and the matrix inverse and
determinant: gradgradcheck in float64, the first gradients against the engine's, and
double backward against PyTorch."""
import importlib.util
import pathlib

import numpy as np

import fastnn
from fastnn.autograd import gradgradcheck

_spec = importlib.util.spec_from_file_location(
    "higher_order_checks", pathlib.Path(__file__).with_name("higher_order_checks.py"))
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)


def _ix(lib, rows):
    return lib.tensor(np.array(rows, np.int64))


def _set_column(lib, x):
    y = x * 1
    y[:, 1] = x[:, 0] ** 2
    return (y ** 3).sum()


def _scale_view(lib, x):
    y = x * 1
    y[:, 1].mul_(2)
    return (y ** 3).sum()


# fn(lib, *tensors) for both libraries, then the input shapes ("unit": values in (0.1, 0.9))
CASES = {
    "erf_erfc": (lambda lib, x: (x.erf() * x).sum() + x.erfc().pow(2).sum(), (5,)),
    "erfinv": (lambda lib, x: (x.erfinv() ** 2).sum(), ("unit", 4)),
    "index_put": (lambda lib, x, v: (x.index_put((_ix(lib, [0, 2]),), v * v) ** 3).sum()
                  + (x.index_put((_ix(lib, [1, 1]),), v, accumulate=True) ** 3).sum(),
                  (3, 2), (2,)),
    "setitem": (_set_column, (3, 3)),
    "inplace_on_view": (_scale_view, (3, 3)),
    "median_kthvalue_cummax": (lambda lib, x: (x.median(1)[0] ** 3).sum()
                               + (x.kthvalue(2, 0)[0] ** 3).sum()
                               + (x.cummax(1)[0] ** 3).sum() + (x.cummin(0)[0] ** 3).sum()
                               + x.median() ** 3, (3, 4)),
    "scatter_reduce": (lambda lib, x, s: (x.scatter_reduce(1, _ix(lib, [[0, 0], [1, 2], [2, 2]]),
                                                           s, "mean") ** 3).sum()
                       + (x.scatter_reduce(1, _ix(lib, [[0, 0], [1, 2], [2, 2]]), s * s, "amax",
                                           include_self=False) ** 3).sum()
                       + (x.scatter_reduce(0, _ix(lib, [[0, 0, 1], [2, 0, 1]]), s.t(), "sum")
                          ** 3).sum(),
                       (3, 3), (3, 2)),
    "unfold_diag_embed": (lambda lib, x: (x.unfold(1, 2, 1) ** 3).sum()
                          + (x.unfold(0, 2, 1) ** 3).sum()
                          + (lib.diag_embed(x, 1) ** 3).sum(), (3, 4)),
    "logit_sinc_copysign": (lambda lib, x: (x.logit() ** 3).sum() + (x.logit(eps=0.2) ** 3).sum()
                            + (x.sinc() * x).sum() + (lib.copysign(x, x - 0.5) ** 3).sum(),
                            ("unit", 6)),
    "inverse_determinant": (lambda lib, x: (lib.linalg.inv(x + 3 * lib.eye(3, dtype=x.dtype))
                                            ** 3).sum() + lib.linalg.det(x) ** 2
                            + lib.linalg.slogdet(x)[1] ** 2, (3, 3)),
    "solve": (lambda lib, a, b: (lib.linalg.solve(a + 3 * lib.eye(3, dtype=a.dtype), b) ** 3)
              .sum(), (3, 3), (3, 2)),
}


def _arrays(name, seed):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.1, 0.9, s[1:]) if s[0] == "unit" else rng.standard_normal(s)
            for s in CASES[name][1:]]


(test_second_derivatives_match_finite_differences, test_first_derivatives_match_the_engine,
 test_double_backward_matches_torch) = _checks.case_tests(CASES, _arrays, (12, 14), rtol=1e-8)


# ---- custom Functions: their backward, written in Tensor ops, is differentiated ---------

class _Cube(fastnn.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x


class _ProductAndSum(fastnn.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y, x + y

    @staticmethod
    def backward(ctx, g_prod, g_sum):
        x, y = ctx.saved_tensors
        return g_prod * y + g_sum, g_prod * x + g_sum


def test_custom_function_double_backward():
    rng = np.random.default_rng(13)
    x, y = (fastnn.tensor(rng.standard_normal(4), requires_grad=True) for _ in range(2))
    assert gradgradcheck(lambda a: (_Cube.apply(a) * a.sin()).sum(), (x,))

    def two(a, b):
        p, s = _ProductAndSum.apply(a, b)
        return (p * s * s).sum()
    assert gradgradcheck(two, (x, y))
    (g,) = fastnn.autograd.grad(_Cube.apply(x).sum(), x, create_graph=True)
    (h,) = fastnn.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.detach().numpy(), rtol=1e-12)
