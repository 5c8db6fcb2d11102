"""create_graph=True through the loss functions: gradgradcheck in float64, the first
gradients against the engine's, and double backward against PyTorch."""
import importlib.util
import pathlib

import numpy as np

_spec = importlib.util.spec_from_file_location(
    "higher_order_checks", pathlib.Path(__file__).with_name("higher_order_checks.py"))
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)


def _f(lib, *vals):
    return lib.tensor(np.array(vals, np.float64))


def _ix(lib, *vals):
    return lib.tensor(np.array(vals, np.int64))


def _unit(a):
    return 1 / (1 + np.exp(-a))


# fn(lib, *tensors) for both libraries, then the input shapes and how to draw each
CASES = {
    "l1": (lambda lib, a, b: lib.nn.functional.l1_loss(a * a, b), (3, 2), (3, 2)),
    "smooth_l1": (lambda lib, a, b: lib.nn.functional.smooth_l1_loss(a * a, b, beta=0.8)
                  + lib.nn.functional.smooth_l1_loss(a, b, reduction="sum"), (3, 4), (3, 4)),
    "huber": (lambda lib, a, b: lib.nn.functional.huber_loss(a * a, b, delta=0.7)
              + lib.nn.functional.huber_loss(a, b, reduction="none").pow(2).sum(),
              (3, 4), (3, 4)),
    "bce": (lambda lib, a, y: lib.nn.functional.binary_cross_entropy(a.sigmoid(), y)
            + lib.nn.functional.binary_cross_entropy(a.sigmoid(), y, weight=_f(lib, 1, 2, 3),
                                                     reduction="sum"), (2, 3), ("unit", 2, 3)),
    "bce_with_logits": (lambda lib, a, y: lib.nn.functional.binary_cross_entropy_with_logits(
        a, y, pos_weight=_f(lib, 1, 2, 3), weight=_f(lib, 0.5, 1, 2))
        + lib.nn.functional.binary_cross_entropy_with_logits(a * a, y, reduction="none")
        .pow(2).sum(), (2, 3), ("unit", 2, 3)),
    "kl_div": (lambda lib, a, y: lib.nn.functional.kl_div(a.log_softmax(1), y,
                                                          reduction="batchmean")
               + lib.nn.functional.kl_div(a, y.log(), log_target=True, reduction="sum"),
               (2, 3), ("unit", 2, 3)),
    "nll_loss": (lambda lib, a: lib.nn.functional.nll_loss(a.log_softmax(1) * a,
                                                           _ix(lib, 0, 3, 1, 4))
                 + lib.nn.functional.nll_loss(a * a, _ix(lib, 0, 3, 1, 4),
                                              weight=_f(lib, 1, 2, 3, 1, .5), ignore_index=1,
                                              reduction="sum"), (4, 5)),
    "cross_entropy_weight_smoothing": (
        lambda lib, a: lib.nn.functional.cross_entropy(a * a, _ix(lib, 0, 3, 1, 4),
                                                       weight=_f(lib, 1, 2, 3, 1, .5),
                                                       label_smoothing=0.2), (4, 5)),
    "cross_entropy_ignore_index": (
        lambda lib, a: lib.nn.functional.cross_entropy(a * a, _ix(lib, 0, 3, 1, 4),
                                                       ignore_index=3)
        + lib.nn.functional.cross_entropy(a, _ix(lib, 0, 3, 1, 4), reduction="none")
        .pow(2).sum(), (4, 5)),
    "cross_entropy_probabilities": (
        lambda lib, a, p: lib.nn.functional.cross_entropy(a * a, p.softmax(1),
                                                          label_smoothing=0.1,
                                                          weight=_f(lib, 1, 2, 3, 1, .5)),
        (4, 5), (4, 5)),
    "cross_entropy_spatial": (
        lambda lib, a: lib.nn.functional.cross_entropy(a * a, _ix(lib, [0, 2], [1, 1])),
        (2, 3, 2)),
    "cross_entropy_fast_path": (
        lambda lib, a: lib.nn.functional.cross_entropy(a * a, _ix(lib, 0, 3, 1, 4)), (4, 5)),
    "poisson_gaussian_nll": (
        lambda lib, x, y, v: lib.nn.functional.poisson_nll_loss(x, y)
        + lib.nn.functional.poisson_nll_loss(v, y, log_input=False)
        + lib.nn.functional.gaussian_nll_loss(x, y, v), (4, 3), ("pos", 4, 3), ("pos", 4, 3)),
    "margin_losses": (
        lambda lib, a, b: lib.nn.functional.margin_ranking_loss(a[0] * a[0], b[0],
                                                                _f(lib, 1, -1, 1))
        + lib.nn.functional.hinge_embedding_loss(a[1] * a[1], _f(lib, 1, -1, 1))
        + lib.nn.functional.soft_margin_loss(a[0] * b[1], _f(lib, 1, -1, 1))
        + lib.nn.functional.multilabel_soft_margin_loss(a * b, _f(lib, [1, 0, 1], [0, 0, 1]))
        + lib.nn.functional.triplet_margin_loss(a, b, a * b)
        + lib.nn.functional.cosine_embedding_loss(a, b, _f(lib, 1, -1)), (2, 3), (2, 3)),
    # PyTorch has no double backward for this one: finite differences only
    "multi_margin": (lambda lib, a: lib.nn.functional.multi_margin_loss(a * a, _ix(lib, 0, 2))
                     + lib.nn.functional.multilabel_margin_loss(a * a, _ix(lib, [0, 2, -1],
                                                                           [1, -1, 0])),
                     (2, 3)),
}
_NO_TORCH_DOUBLE_BACKWARD = {"multi_margin"}


def _draw(rng, spec):
    if spec[0] == "unit":
        return _unit(rng.standard_normal(spec[1:]))
    if spec[0] == "pos":
        return np.abs(rng.standard_normal(spec[1:])) + 0.5
    return rng.standard_normal(spec)


def _arrays(name, seed):
    rng = np.random.default_rng(seed)
    return [_draw(rng, s) for s in CASES[name][1:]]


(test_second_derivatives_match_finite_differences, test_first_derivatives_match_the_engine,
 test_double_backward_matches_torch) = _checks.case_tests(CASES, _arrays, (2, 4), no_torch=_NO_TORCH_DOUBLE_BACKWARD)
