"""Rprop and CyclicLR against PyTorch: trajectories, state, state_dict round trips, lr and
momentum sequences, argument checks."""
import io
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import optim

torch = pytest.importorskip("torch")

SHAPES = [(5, 4), (4,), (2, 1, 3)]
STEPS = 20
TOL = {np.float32: dict(rtol=2e-6, atol=1e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}

RPROP_CASES = [dict(), dict(lr=0.05), dict(etas=(0.3, 1.5), step_sizes=(1e-3, 0.2)),
               dict(maximize=True, lr=0.02), dict(foreach=False, capturable=False,
                                                   differentiable=False)]


def _run(mod, kw, dtype, steps=STEPS, skip=None, fused=None):
    """A loss whose gradients change sign now and then: sum(tanh(p * c_k))."""
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    coefs = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    params = [mod.tensor(a.copy(), requires_grad=True) for a in init]
    opt = mod.optim.Rprop(params, **kw)
    if fused is False:
        opt.param_groups[0]["fused"] = False
    for k in range(steps):
        opt.zero_grad()
        loss = sum((p * mod.tensor(c)).tanh().sum() + (p * p).sum() * 0.1
                   for i, (p, c) in enumerate(zip(params, coefs[k]))
                   if not (skip and i == k % 4))
        loss.backward()
        opt.step()
    return params, opt


def _state(opt, params):
    return [(k, v.detach().numpy().copy()) for p in params for k, v in opt.state[p].items()]


@pytest.mark.parametrize("skip", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", RPROP_CASES)
def test_rprop_trajectory_matches_torch(kw, dtype, skip):
    tp, topt = _run(torch, kw, dtype, skip=skip)
    for fused in (None, False):
        fp, fopt = _run(fastnn, kw, dtype, skip=skip, fused=fused)
        for a, b in zip(tp, fp):
            np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), **TOL[dtype])
        ts, fs = _state(topt, tp), _state(fopt, fp)
        assert [k for k, _ in fs] == [k for k, _ in ts] == ["step", "prev", "step_size"] * 3
        for (_, a), (_, b) in zip(ts, fs):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(b, a, **TOL[dtype])


def test_rprop_state_dict_round_trip_and_resume():
    full, _ = _run(fastnn, dict(lr=0.03), np.float64, steps=12)
    # 6 steps, save, load the state into a fresh optimizer (from torch's state_dict), 6 more
    rng = np.random.default_rng(0)
    tp, topt = _run(torch, dict(lr=0.03), np.float64, steps=6)
    sd = topt.state_dict()
    params = [fastnn.tensor(p.detach().numpy().copy(), requires_grad=True) for p in tp]
    opt = optim.Rprop(params, lr=0.03)
    opt.load_state_dict({"state": {k: {n: fastnn.tensor(v.numpy()) for n, v in st.items()}
                                   for k, st in sd["state"].items()},
                         "param_groups": sd["param_groups"]})
    rng = np.random.default_rng(0)
    [rng.standard_normal(s) for s in SHAPES]
    coefs = [[rng.standard_normal(s) for s in SHAPES] for _ in range(12)]
    for k in range(6, 12):
        opt.zero_grad()
        loss = sum((p * fastnn.tensor(c)).tanh().sum() + (p * p).sum() * 0.1
                   for p, c in zip(params, coefs[k]))
        loss.backward()
        opt.step()
    for a, b in zip(full, params):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-13)
    assert float(opt.state[params[0]]["step"]) == 12
    # fastnn's own state_dict survives save/load
    buf = io.BytesIO()
    fastnn.save(opt.state_dict(), buf)
    buf.seek(0)
    again = optim.Rprop(params, lr=0.03)
    again.load_state_dict(fastnn.load(buf))
    for k in ("prev", "step_size"):
        np.testing.assert_array_equal(again.state[params[1]][k].numpy(),
                                      opt.state[params[1]][k].numpy())
    assert again.param_groups[0]["etas"] == (0.5, 1.2)


def test_rprop_arguments_match_torch():
    p = [fastnn.zeros(2, requires_grad=True)]
    tp = [torch.zeros(2, requires_grad=True)]
    for kw in (dict(lr=-1), dict(etas=(1.5, 1.2)), dict(etas=(0.5, 0.9)), dict(etas=(0, 1.2))):
        with pytest.raises(ValueError) as te:
            torch.optim.Rprop(tp, **kw)
        with pytest.raises(ValueError, match=str(te.value).replace(".", r"\.")):
            optim.Rprop(p, **kw)
    o, t = optim.Rprop(p), torch.optim.Rprop(tp)
    assert o.defaults == t.defaults
    assert "Rprop" in optim.__all__ and optim.Rprop is fastnn.optim.Rprop


# ---- CyclicLR ---------------------------------------------------------------------------------
class _Halving:
    """A callable scale_fn object: its attributes travel in the scheduler's state_dict."""

    def __init__(self, base=0.5):
        self.base = base

    def __call__(self, x):
        return self.base ** x


CYCLIC = [("SGD", dict(momentum=0.9), dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
          ("SGD", dict(momentum=0.9), dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.3],
                                           step_size_up=3, step_size_down=5,
                                           mode="triangular2", base_momentum=[0.7, 0.8],
                                           max_momentum=[0.9, 0.95])),
          ("Adam", dict(), dict(base_lr=0.01, max_lr=0.1, step_size_up=4, mode="exp_range",
                                gamma=0.9, base_momentum=0.7, max_momentum=0.95)),
          ("Adam", dict(), dict(base_lr=0.001, max_lr=0.01, step_size_up=2,
                                scale_fn=lambda x: 0.9 ** x, scale_mode="iterations")),
          ("SGD", dict(), dict(base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False,
                               scale_fn=_Halving())),
          ("RMSprop", dict(), dict(base_lr=0.01, max_lr=0.1, step_size_up=5,
                                   cycle_momentum=False))]


def _cyclic(mod, name, okw, skw, steps=30):
    p = [mod.zeros(3, requires_grad=True)]
    q = [mod.zeros(2, requires_grad=True)]
    opt = getattr(mod.optim, name)([{"params": p}, {"params": q, "lr": 0.5}], lr=0.1, **okw)
    sched = mod.optim.lr_scheduler.CyclicLR(opt, **skw)
    lrs, moms = [sched.get_last_lr()], []
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        moms.append([g["betas"][0] if "betas" in g else g.get("momentum")
                     for g in opt.param_groups])
    return lrs, moms, sched, opt


@pytest.mark.parametrize("name,okw,skw", CYCLIC)
def test_cyclic_lr_sequence_matches_torch(name, okw, skw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tl, tm, ts, topt = _cyclic(torch, name, okw, skw)
        fl, fm, fs, fopt = _cyclic(fastnn, name, okw, skw)
    np.testing.assert_allclose(np.array(fl), np.array(tl), rtol=1e-15)
    assert fm == tm
    tsd, fsd = ts.state_dict(), fs.state_dict()
    assert sorted(fsd) == sorted(tsd)
    for key in ("max_lrs", "base_lrs", "total_size", "step_ratio", "scale_mode", "last_epoch",
                "_scale_fn_custom"):
        assert fsd[key] == tsd[key]
    for key in ("max_momentum", "base_momentum", "initial_lr"):
        assert [g.get(key) for g in fopt.param_groups] == [g.get(key) for g in topt.param_groups]


def test_cyclic_lr_state_dict_resumes():
    def make():
        opt = optim.SGD([fastnn.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        return opt, optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3,
                                                mode="exp_range", gamma=0.95)
    opt, sched = make()
    for _ in range(7):
        opt.step()
        sched.step()
    sd = sched.state_dict()
    rest = []
    for _ in range(5):
        opt.step()
        sched.step()
        rest.append((sched.get_last_lr()[0], opt.param_groups[0]["momentum"]))
    opt2, sched2 = make()
    sched2.load_state_dict(sd)
    again = []
    for _ in range(5):
        opt2.step()
        sched2.step()
        again.append((sched2.get_last_lr()[0], opt2.param_groups[0]["momentum"]))
    assert again == rest
    # a callable object's attributes are restored
    opt3 = optim.SGD([fastnn.zeros(2, requires_grad=True)], lr=0.1)
    s3 = optim.lr_scheduler.CyclicLR(opt3, 0.01, 0.1, cycle_momentum=False, scale_fn=_Halving(0.3))
    saved = s3.state_dict()
    assert saved["_scale_fn_custom"] == {"base": 0.3}
    s4 = optim.lr_scheduler.CyclicLR(opt3, 0.01, 0.1, cycle_momentum=False, scale_fn=_Halving())
    s4.load_state_dict(saved)
    assert s4.scale_fn(2) == pytest.approx(0.09)


def test_cyclic_lr_argument_errors_match_torch():
    for kw, opt_name in ((dict(base_lr=[0.1, 0.2], max_lr=1.0), "SGD"),
                         (dict(base_lr=0.1, max_lr=[1.0, 2.0]), "SGD"),
                         (dict(base_lr=0.1, max_lr=1.0, mode="cosine"), "SGD"),
                         (dict(base_lr=0.1, max_lr=1.0), "Adagrad"),
                         (dict(base_lr=0.1, max_lr=1.0, max_momentum=[0.9, 0.8]), "SGD")):
        msgs = []
        for mod in (torch, fastnn):
            opt = getattr(mod.optim, opt_name)([mod.zeros(2, requires_grad=True)], lr=0.1)
            with pytest.raises(ValueError) as e:
                mod.optim.lr_scheduler.CyclicLR(opt, **kw)
            msgs.append(str(e.value))
        assert msgs[0] == msgs[1]
    with pytest.raises(TypeError, match="is not an Optimizer"):
        optim.lr_scheduler.CyclicLR(object(), 0.1, 1.0)
    assert "CyclicLR" in optim.lr_scheduler.__all__
