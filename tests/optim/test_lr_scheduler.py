"""Learning-rate schedulers: curves, momentum cycling and state_dict equal to PyTorch's."""
import math
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import optim
from fastnn.optim import lr_scheduler as fls

STEPS = 30


def _opt(mod, name="SGD", **kw):
    ps = [mod.zeros(2, requires_grad=True), mod.zeros(3, requires_grad=True)]
    kw = dict(lr=0.1, momentum=0.9, **kw) if name == "SGD" else dict(lr=0.1, **kw)
    return getattr(mod.optim, name)([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], **kw)


def _lambda(e):
    return 0.95 ** e


def _mult(e):
    return 0.9 if e % 2 else 1.0


CASES = {
    "StepLR": (lambda s, o: s.StepLR(o, step_size=4, gamma=0.5), "SGD"),
    "MultiStepLR": (lambda s, o: s.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3), "SGD"),
    "ExponentialLR": (lambda s, o: s.ExponentialLR(o, gamma=0.9), "SGD"),
    "CosineAnnealingLR": (lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.001), "SGD"),
    "LambdaLR": (lambda s, o: s.LambdaLR(o, [_lambda, lambda e: 1 / (e + 1)]), "SGD"),
    "MultiplicativeLR": (lambda s, o: s.MultiplicativeLR(o, _mult), "SGD"),
    "ConstantLR": (lambda s, o: s.ConstantLR(o, factor=0.25, total_iters=6), "SGD"),
    "LinearLR": (lambda s, o: s.LinearLR(o, start_factor=0.2, end_factor=0.9,
                                         total_iters=10), "SGD"),
    "PolynomialLR": (lambda s, o: s.PolynomialLR(o, total_iters=12, power=2.0), "SGD"),
    "OneCycleLR-sgd": (lambda s, o: s.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS + 1),
                       "SGD"),
    "OneCycleLR-adam-linear-3phase": (
        lambda s, o: s.OneCycleLR(o, max_lr=0.3, epochs=4, steps_per_epoch=8,
                                  anneal_strategy="linear", three_phase=True), "Adam"),
    "CosineAnnealingWarmRestarts": (
        lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2, eta_min=0.01), "SGD"),
    "SequentialLR": (lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=5), s.ExponentialLR(o, gamma=0.9)],
        milestones=[5]), "SGD"),
    "ChainedScheduler": (lambda s, o: s.ChainedScheduler(
        [s.ConstantLR(o, factor=0.5, total_iters=4), s.ExponentialLR(o, gamma=0.95)]), "SGD"),
}


def _curve(mod, make, name, steps=STEPS):
    opt = _opt(mod, name)
    sched = make(mod.optim.lr_scheduler, opt)
    out = [(list(sched.get_last_lr()), _momenta(opt))]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((list(sched.get_last_lr()), _momenta(opt)))
    return out


def _momenta(opt):
    return [g["betas"] if "betas" in g else g["momentum"] for g in opt.param_groups]


@pytest.mark.parametrize("case", list(CASES))
def test_curve_matches_torch(case):
    torch = pytest.importorskip("torch")
    make, name = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = _curve(fastnn, make, name)
    theirs = _curve(torch, make, name)
    assert len(ours) == len(theirs)
    for k, ((a, ma), (b, mb)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=0, err_msg=f"step {k}")
        np.testing.assert_allclose(np.array(ma, dtype=float), np.array(mb, dtype=float),
                                   rtol=1e-13, err_msg=f"momentum at step {k}")


@pytest.mark.parametrize("case", ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                  "LinearLR", "ConstantLR", "PolynomialLR"])
def test_closed_form_with_epoch_matches_torch(case):
    torch = pytest.importorskip("torch")
    make, name = CASES[case]
    curves = []
    for mod in (fastnn, torch):
        opt = _opt(mod, name)
        sched = make(mod.optim.lr_scheduler, opt)
        lrs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 5, 4, 11, 20):
                opt.step()
                sched.step(epoch)
                lrs.append(list(sched.get_last_lr()))
        curves.append(lrs)
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-13)


@pytest.mark.parametrize("case", list(CASES))
def test_state_dict_round_trip_resumes(case):
    make, name = CASES[case]
    full = _curve(fastnn, make, name)
    opt = _opt(fastnn, name)
    sched = make(fls, opt)
    for _ in range(10):
        opt.step()
        sched.step()
    sd, osd = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in sd
    opt2 = _opt(fastnn, name)
    sched2 = make(fls, opt2)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(sd)
    assert sched2.get_last_lr() == full[10][0]
    for k in range(11, STEPS + 1):
        opt2.step()
        sched2.step()
        np.testing.assert_allclose(sched2.get_last_lr(), full[k][0], rtol=1e-15)


def test_lambda_state_dict_skips_functions():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate ** e
    opt = _opt(fastnn)
    sched = fls.LambdaLR(opt, [_lambda, Decay()])
    sd = sched.state_dict()
    assert sd["lr_lambdas"] == [None, {"rate": 0.5}]
    sd["lr_lambdas"][1]["rate"] = 0.25
    sched.load_state_dict(sd)
    assert sched.lr_lambdas[1].rate == 0.25 and sched.lr_lambdas[0] is _lambda


def test_reduce_lr_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.6, 0.6, 0.6,
               0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    configs = [dict(patience=2, factor=0.5), dict(mode="max", patience=1, cooldown=2),
               dict(threshold_mode="abs", threshold=0.05, patience=0, min_lr=[0.03, 0.001]),
               dict(patience=1, eps=0.05, factor=0.1)]
    for cfg in configs:
        curves = []
        for mod in (fastnn, torch):
            opt = _opt(mod)
            sched = mod.optim.lr_scheduler.ReduceLROnPlateau(opt, **cfg)
            lrs = []
            for m in metrics:
                opt.step()
                sched.step(m)
                lrs.append(list(sched.get_last_lr()))
            curves.append((lrs, sched.num_bad_epochs, sched.best, sched.cooldown_counter))
        assert curves[0] == curves[1], cfg
    sched = fls.ReduceLROnPlateau(_opt(fastnn), mode="max")
    sd = sched.state_dict()
    sched2 = fls.ReduceLROnPlateau(_opt(fastnn))
    sched2.load_state_dict(sd)
    assert sched2.mode == "max" and sched2.mode_worse == -math.inf


def test_scheduler_errors():
    opt = _opt(fastnn)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        fls.StepLR([], step_size=1)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        fls.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown!"):
        fls.ReduceLROnPlateau(opt, mode="avg")
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        fls.LambdaLR(opt, [_lambda] * 3)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        fls.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified"):
        fls.StepLR(_opt(fastnn), step_size=2, last_epoch=3)
    sched = fls.OneCycleLR(_opt(fastnn), max_lr=1.0, total_steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched.step()
        sched.step()
        with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of "
                                             "total steps is 2"):
            sched.step()


def test_step_order_warning():
    opt = _opt(fastnn)
    sched = fls.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before "
                                         "`optimizer.step\\(\\)`"):
        sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2 = _opt(fastnn)
        sched2 = fls.StepLR(opt2, step_size=2)
        opt2.step()
        sched2.step()


def test_multistep_state_through_a_checkpoint_keeps_a_counter(tmp_path):
    # the file stores milestones as a plain dict; loading must rebuild the Counter
    import collections
    make, name = CASES["MultiStepLR"]
    opt = _opt(fastnn, name)
    sched = make(fls, opt)
    fastnn.save(sched.state_dict(), tmp_path / "sched.fnn")
    opt2 = _opt(fastnn, name)
    sched2 = make(fls, opt2)
    sched2.milestones = collections.Counter()
    sched2.load_state_dict(fastnn.load(tmp_path / "sched.fnn"))
    assert type(sched2.milestones) is collections.Counter
    assert sched2.milestones == collections.Counter([3, 7, 7, 20])
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s, o in ((sched, opt), (sched2, opt2)):
            o.step()
            s.step(8)
            lrs.append(s.get_last_lr())
    assert lrs[0] == lrs[1]
    torch = pytest.importorskip("torch")
    topt = _opt(torch, name)
    tsched = make(torch.optim.lr_scheduler, topt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topt.step()
        tsched.step(8)
    np.testing.assert_allclose(lrs[1], tsched.get_last_lr(), rtol=1e-13)
