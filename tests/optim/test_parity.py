"""Trajectory parity with PyTorch, and the fused arena path held bit-equal to the reference."""
import itertools

import numpy as np
import pytest

import fastnn
from fastnn import optim

SHAPES = [(5, 4), (4,), (2, 1, 3), (1,)]
STEPS = 20

SGD_CASES = [dict(lr=0.05, momentum=m, dampening=d, nesterov=n, weight_decay=wd, maximize=mx)
             for m, d, n, wd, mx in itertools.product((0.0, 0.9), (0.0, 0.3), (False, True),
                                                      (0.0, 0.05), (False, True))
             if not (n and (m == 0 or d != 0))]
ADAM_CASES = [dict(lr=0.02, weight_decay=wd, amsgrad=a, maximize=mx)
              for wd, a, mx in itertools.product((0.0, 0.05), (False, True), (False, True))]
ADAM_CASES += [dict(lr=0.02, betas=(0.3, 0.8), weight_decay=0.05, amsgrad=True),
               dict(lr=0.02, betas=(0.6, 0.5), eps=1e-3)]
RMSPROP_CASES = [dict(lr=0.01, momentum=m, centered=c, weight_decay=wd, maximize=mx)
                 for m, c, wd, mx in itertools.product((0.0, 0.9), (False, True), (0.0, 0.1),
                                                       (False, True))]
RMSPROP_CASES += [dict(lr=0.01, alpha=0.3, momentum=0.5, centered=True, eps=1e-3)]
ADAGRAD_CASES = [dict(lr=0.1, lr_decay=ld, weight_decay=wd, initial_accumulator_value=iv,
                      maximize=mx)
                 for ld, wd, iv, mx in itertools.product((0.0, 0.01), (0.0, 0.1), (0.0, 0.2),
                                                         (False, True))]
ALL = ([("SGD", k) for k in SGD_CASES] + [("Adam", k) for k in ADAM_CASES]
       + [("AdamW", k) for k in ADAM_CASES] + [("RMSprop", k) for k in RMSPROP_CASES]
       + [("Adagrad", k) for k in ADAGRAD_CASES])
F32_TOL = dict(rtol=2e-5, atol=2e-6)
F64_TOL = dict(rtol=1e-11, atol=1e-13)


def _ids(case):
    name, kw = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def problem(dtype, seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    coefs = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, coefs


def make(mod, name, kw, params, reference=False):
    if reference and name != "RMSprop":
        kw = dict(kw, fused=False)
    opt = getattr(mod.optim, name)(params, **kw)
    if reference and name == "RMSprop":  # PyTorch's RMSprop takes no fused kwarg
        opt.param_groups[0]["fused"] = False
    return opt


def run(mod, name, kw, dtype, skip=None, steps=STEPS, seed=0, reference=False):
    """``steps`` optimizer steps; gradient of sum(p * c_k) is exactly c_k in both libraries.

    ``skip(k)`` names parameters left without a gradient at step k."""
    init, coefs = problem(dtype, seed, steps)
    params = [mod.tensor(a.copy(), requires_grad=True) for a in init]
    opt = make(mod, name, kw, params, reference)
    for k in range(steps):
        opt.zero_grad()
        left_out = skip(k) if skip else ()
        loss = sum((p * mod.tensor(c)).sum() for i, (p, c) in enumerate(zip(params, coefs[k]))
                   if i not in left_out)
        loss.backward()
        opt.step()
    return params, opt


def values(params):
    return [p.detach().numpy().copy() for p in params]


def state_arrays(opt, params):
    out = []
    for p in params:
        for k, v in opt.state[p].items():
            out.append((k, np.array(v.detach().numpy())))
    return out


def check_all(name, kw, dtype, skip=None):
    """fastnn fused == fastnn reference bit for bit, and both follow PyTorch."""
    fus, fopt = run(fastnn, name, kw, dtype, skip=skip)
    assert fopt._packs[0][1], "the fused run should use an arena"
    ref, ropt = run(fastnn, name, kw, dtype, skip=skip, reference=True)
    for a, b in zip(values(ref), values(fus)):
        np.testing.assert_array_equal(b, a)
    rs, fs = state_arrays(ropt, ref), state_arrays(fopt, fus)
    assert [k for k, _ in rs] == [k for k, _ in fs]
    for (_, a), (_, b) in zip(rs, fs):
        np.testing.assert_array_equal(b, a)
    torch = pytest.importorskip("torch")
    tp, topt = run(torch, name, kw, dtype, skip=skip)
    tol = F32_TOL if dtype == np.float32 else F64_TOL
    for a, b in zip(values(tp), values(fus)):
        np.testing.assert_allclose(b, a, **tol)
    ts = state_arrays(topt, tp)
    assert [k for k, _ in ts] == [k for k, _ in fs]
    for (_, a), (_, b) in zip(ts, fs):
        np.testing.assert_allclose(b, a, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ALL, ids=_ids)
def test_trajectory(case, dtype):
    check_all(*case, dtype)


def _skip_pattern(k):
    # some parameters miss some steps: PyTorch skips them (no decay, no state, no step count)
    return {0: (1,), 1: (0, 3), 2: (), 3: (2, 3)}.get(k % 5, ())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", [c for i, c in enumerate(ALL) if i % 3 == 0], ids=_ids)
def test_trajectory_with_missing_grads(case, dtype):
    check_all(*case, dtype, skip=_skip_pattern)


def test_reference_path_does_not_pack():
    p = fastnn.randn(3, requires_grad=True)
    before = p._data
    opt = optim.SGD([p], lr=0.1, fused=False)
    assert p._data is before and p._grad_slot is None
    assert opt._packs[0][1] == []


def test_fused_and_foreach_flags():
    p = fastnn.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        optim.SGD([p], lr=0.1, fused=True, foreach=True)
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        optim.Adam([p], fused=True, differentiable=True)
    opt = optim.Adam([p], foreach=True)
    assert opt.param_groups[0]["foreach"] is True and opt._packs[0][1]


def test_no_core_falls_back_to_numpy(monkeypatch):
    from fastnn.optim import optimizer as base
    name, kw = "Adam", dict(lr=0.02, amsgrad=True, weight_decay=0.05)
    fused, _ = run(fastnn, name, kw, np.float32, skip=_skip_pattern)
    monkeypatch.setattr(base, "_core", None)
    import fastnn.optim.adam as adam_mod
    monkeypatch.setattr(adam_mod, "_core", None)
    plain, _ = run(fastnn, name, kw, np.float32, skip=_skip_pattern)
    for a, b in zip(values(fused), values(plain)):
        np.testing.assert_array_equal(b, a)
