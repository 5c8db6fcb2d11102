"""Adadelta, Adamax, NAdam, RAdam, ASGD and LBFGS: trajectories and state against PyTorch,
argument checks, state_dict round trips."""
import io
import itertools
import re

import numpy as np
import pytest

import fastnn
from fastnn import optim

torch = pytest.importorskip("torch")

SHAPES = [(5, 4), (4,), (2, 1, 3), (1,)]
STEPS = 15
F32_TOL = dict(rtol=2e-5, atol=2e-6)
F64_TOL = dict(rtol=1e-11, atol=1e-13)

CASES = (
    [("Adadelta", dict(lr=lr, rho=rho, weight_decay=wd, maximize=mx))
     for lr, rho, wd, mx in itertools.product((1.0, 0.5), (0.9, 0.5), (0.0, 0.1),
                                              (False, True))]
    + [("Adadelta", dict(eps=1e-3))]
    + [("Adamax", dict(lr=0.02, betas=b, weight_decay=wd, maximize=mx))
       for b, wd, mx in itertools.product(((0.9, 0.999), (0.5, 0.8)), (0.0, 0.1),
                                          (False, True))]
    + [("Adamax", dict(eps=1e-2))]
    + [("NAdam", dict(lr=0.02, weight_decay=wd, decoupled_weight_decay=dc, maximize=mx))
       for wd, dc, mx in itertools.product((0.0, 0.1), (False, True), (False, True))]
    + [("NAdam", dict(lr=0.02, betas=(0.6, 0.7), momentum_decay=0.3, eps=1e-3))]
    + [("RAdam", dict(lr=0.02, betas=b, weight_decay=wd, decoupled_weight_decay=dc,
                      maximize=mx))
       for b, wd, dc, mx in itertools.product(((0.9, 0.999), (0.5, 0.6)), (0.0, 0.1),
                                              (False, True), (False, True))]
    + [("ASGD", dict(lr=0.05, lambd=lb, alpha=al, t0=t0, weight_decay=wd, maximize=mx))
       for lb, al, t0, wd, mx in itertools.product((1e-4, 0.5), (0.75,), (1e6, 4.0),
                                                   (0.0, 0.1), (False, True))]
)


def _ids(case):
    name, kw = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def problem(dtype, seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    coefs = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, coefs


def run(mod, name, kw, dtype, skip=None, steps=STEPS, reference=False):
    """``steps`` steps; the gradient of sum(p * c_k) is exactly c_k in both libraries."""
    init, coefs = problem(dtype, 0, steps)
    params = [mod.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(mod.optim, name)(params, **kw)
    if reference:  # the per-parameter numpy path
        opt.param_groups[0]["fused"] = False
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


def state_items(opt, params):
    return [(k, np.array(v.detach().numpy()) if hasattr(v, "detach") else v)
            for p in params for k, v in opt.state[p].items()]


def assert_close_items(a, b, tol):
    assert [k for k, _ in a] == [k for k, _ in b]
    for (_, x), (_, y) in zip(a, b):
        np.testing.assert_allclose(y, x, **tol)


def _skip(k):
    return {0: (1,), 1: (0, 3), 3: (2, 3)}.get(k % 5, ())


@pytest.mark.parametrize("skip", [None, _skip], ids=["all", "missing"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_trajectory(case, dtype, skip):
    name, kw = case
    fus, fopt = run(fastnn, name, kw, dtype, skip=skip)
    assert fopt._packs[0][1], "the fused run should use an arena"
    ref, ropt = run(fastnn, name, kw, dtype, skip=skip, reference=True)
    for a, b in zip(values(ref), values(fus)):
        np.testing.assert_array_equal(b, a)
    fs = state_items(fopt, fus)
    for (ka, a), (kb, b) in zip(state_items(ropt, ref), fs):
        assert ka == kb
        np.testing.assert_array_equal(b, a)
    tp, topt = run(torch, name, kw, dtype, skip=skip)
    tol = F32_TOL if dtype == np.float32 else F64_TOL
    for a, b in zip(values(tp), values(fus)):
        np.testing.assert_allclose(b, a, **tol)
    ts = state_items(topt, tp)
    assert_close_items(ts, fs, tol)
    assert [v.dtype for _, v in ts] == [v.dtype for _, v in fs]


MODEL_OPTS = [("Adadelta", dict(weight_decay=0.01)), ("Adamax", dict(lr=0.01)),
              ("NAdam", dict(lr=0.01, weight_decay=0.01)),
              ("RAdam", dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.01)),
              ("ASGD", dict(lr=0.05, t0=5))]


def _model(mod, dtype):
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    ref = ref.to(torch.float64 if dtype == np.float64 else torch.float32)
    if mod is torch:
        return ref
    m = fastnn.nn.Sequential(fastnn.nn.Linear(6, 16), fastnn.nn.Tanh(), fastnn.nn.Linear(16, 3))
    for p, q in zip(m.parameters(), ref.parameters()):
        p.data = fastnn.tensor(q.detach().numpy().copy())
    return m


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", MODEL_OPTS)
def test_small_model(name, kw, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((32, 6)).astype(dtype)
    y = rng.standard_normal((32, 3)).astype(dtype)
    out = {}
    for mod in (fastnn, torch):
        model = _model(mod, dtype)
        opt = getattr(mod.optim, name)(model.parameters(), **kw)
        losses = []
        for _ in range(15):
            opt.zero_grad()
            loss = ((model(mod.tensor(x)) - mod.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        out[mod.__name__] = (losses, [p.detach().numpy().copy() for p in model.parameters()])
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else F64_TOL
    np.testing.assert_allclose(out["fastnn"][0], out["torch"][0], **tol)
    for a, b in zip(out["torch"][1], out["fastnn"][1]):
        np.testing.assert_allclose(b, a, **tol)


BAD = [
    (optim.Adadelta, dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (optim.Adadelta, dict(rho=1.5), "Invalid rho value: 1.5"),
    (optim.Adadelta, dict(eps=-1), "Invalid epsilon value: -1"),
    (optim.Adadelta, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.Adamax, dict(lr=-0.1), "Invalid learning rate: -0.1"),
    (optim.Adamax, dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    (optim.Adamax, dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    (optim.Adamax, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (optim.NAdam, dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (optim.NAdam, dict(weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    (optim.RAdam, dict(lr=-2), "Invalid learning rate: -2"),
    (optim.RAdam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (optim.ASGD, dict(lr=-1), "Invalid learning rate: -1"),
    (optim.ASGD, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (optim.LBFGS, dict(lr=-1), "Invalid learning rate: -1"),
]


@pytest.mark.parametrize("cls,kw,msg", BAD, ids=[f"{c.__name__}-{m}" for c, _, m in BAD])
def test_bad_arguments(cls, kw, msg):
    p = fastnn.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        cls([p], **kw)
    tcls = getattr(torch.optim, cls.__name__)
    with pytest.raises(ValueError, match="^" + re.escape(msg) + "$"):
        tcls([torch.randn(3, requires_grad=True)], **kw)


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "LBFGS"])
def test_defaults_match_torch(name):
    p = fastnn.randn(3, requires_grad=True)
    f = getattr(optim, name)([p]).defaults
    t = getattr(torch.optim, name)([torch.randn(3, requires_grad=True)]).defaults
    assert f == t


def _grads(ps, mod, seed):
    rng = np.random.default_rng(seed)
    loss = sum(((p * p) * mod.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
               .sum() for p in ps)
    loss.backward()


def _params(mod, dtype=np.float32):
    rng = np.random.default_rng(0)
    return [mod.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in [(4, 3), (3,), (2, 2)]]


def _train(opt, ps, mod, steps, seed0=0):
    for k in range(steps):
        opt.zero_grad()
        _grads(ps, mod, seed0 + k)
        opt.step()


RESUME = [("Adadelta", dict(lr=0.5, weight_decay=0.01)), ("Adamax", dict(lr=0.05)),
          ("NAdam", dict(lr=0.05, weight_decay=0.01)), ("RAdam", dict(lr=0.05)),
          ("ASGD", dict(lr=0.05, t0=3, lambd=0.01))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", RESUME)
def test_state_dict_resume(name, kw, dtype):
    cls = getattr(optim, name)
    ps = _params(fastnn, dtype)
    full = cls([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01}], **kw)
    _train(full, ps, fastnn, 12)

    ps1 = _params(fastnn, dtype)
    first = cls([{"params": ps1[:2]}, {"params": ps1[2:], "lr": 0.01}], **kw)
    _train(first, ps1, fastnn, 6)
    buf = io.BytesIO()
    fastnn.save({"opt": first.state_dict(), "params": [p.detach() for p in ps1]}, buf)
    buf.seek(0)
    ck = fastnn.load(buf)
    ps2 = [fastnn.tensor(t.numpy().copy(), requires_grad=True) for t in ck["params"]]
    second = cls([{"params": ps2[:2]}, {"params": ps2[2:], "lr": 0.01}], **kw)
    second.load_state_dict(ck["opt"])
    _train(second, ps2, fastnn, 6, seed0=6)
    # loading casts 0-d state other than step (mu_product, eta, mu) to the parameter's dtype,
    # as PyTorch does: float64 parameters then resume with float64 scalars
    if dtype == np.float32 or name not in ("NAdam", "ASGD"):
        for a, b in zip(ps, ps2):
            np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())
        for a, b in zip(ps, ps2):
            sa, sb = full.state[a], second.state[b]
            assert list(sa) == list(sb)
            for k in sa:
                np.testing.assert_array_equal(sb[k].numpy(), sa[k].numpy())

    # the same state_dict layout and values as PyTorch's
    tps = _params(torch, dtype)
    tkw = dict(kw)
    topt = getattr(torch.optim, name)([{"params": tps[:2]}, {"params": tps[2:], "lr": 0.01}],
                                      **tkw)
    _train(topt, tps, torch, 12)
    fsd, tsd = full.state_dict(), topt.state_dict()
    assert fsd["param_groups"] == tsd["param_groups"]
    assert list(fsd["state"]) == list(tsd["state"])
    tol = F32_TOL if dtype == np.float32 else F64_TOL
    for i in tsd["state"]:
        assert list(fsd["state"][i]) == list(tsd["state"][i])
        for k, v in tsd["state"][i].items():
            np.testing.assert_allclose(fsd["state"][i][k].numpy(), v.numpy(), **tol)
            assert fsd["state"][i][k].numpy().dtype == v.numpy().dtype

    # a fastnn state_dict loads into torch and continues like it (and the other way round)
    tps3 = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps1]
    t3 = getattr(torch.optim, name)([{"params": tps3[:2]}, {"params": tps3[2:], "lr": 0.01}],
                                    **tkw)
    sd = first.state_dict()
    t3.load_state_dict({"state": {i: {k: torch.tensor(v.numpy()) for k, v in s.items()}
                                  for i, s in sd["state"].items()},
                        "param_groups": sd["param_groups"]})
    _train(t3, tps3, torch, 6, seed0=6)
    for a, b in zip(tps3, ps2):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), **tol)
    for a, b in zip(tps3, ps2):
        ta, sb = t3.state[a], second.state[b]
        assert list(ta) == list(sb)
        for k, v in ta.items():
            np.testing.assert_allclose(sb[k].numpy(), v.numpy(), **tol)
            assert sb[k].numpy().dtype == v.numpy().dtype


# ---- LBFGS ---------------------------------------------------------------------------------

def _lsq(mod, dtype, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((30, 5)).astype(dtype)
    b = rng.standard_normal(30).astype(dtype)
    w = mod.tensor(np.zeros(5, dtype), requires_grad=True)
    c = mod.tensor(np.array([0.5], dtype), requires_grad=True)
    return mod.tensor(A), mod.tensor(b), [w, c]


def _lbfgs_run(mod, dtype, kw, steps=4):
    A, b, ps = _lsq(mod, dtype)
    opt = mod.optim.LBFGS(ps, **kw)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        r = A @ ps[0] + ps[1] - b
        loss = (r * r).mean() + 0.1 * (ps[0] ** 4).sum()
        loss.backward()
        return loss

    traj, counts, losses = [], [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        traj.append([p.detach().numpy().copy() for p in ps])
        counts.append(calls[0])
    return traj, counts, losses, opt, ps


LBFGS_CASES = [dict(), dict(lr=0.5, max_iter=5), dict(history_size=3, max_iter=7),
               dict(line_search_fn="strong_wolfe"),
               dict(line_search_fn="strong_wolfe", history_size=2, max_iter=6),
               dict(tolerance_grad=1e-3, tolerance_change=1e-5)]


def _lbfgs_compare(kw, dtype, steps, tol):
    ftraj, fcounts, flosses, fopt, fps = _lbfgs_run(fastnn, dtype, kw, steps)
    ttraj, tcounts, tlosses, topt, tps = _lbfgs_run(torch, dtype, kw, steps)
    assert fcounts == tcounts
    np.testing.assert_allclose(flosses, tlosses, **tol)
    for fs, ts in zip(ftraj, ttraj):
        for a, b in zip(ts, fs):
            np.testing.assert_allclose(b, a, **tol)
    fst, tst = fopt.state[fps[0]], topt.state[tps[0]]
    assert list(fst) == list(tst)
    assert fst["func_evals"] == tst["func_evals"] and fst["n_iter"] == tst["n_iter"]
    for k in ("d", "prev_flat_grad", "t", "H_diag"):
        a, b = fst[k], tst[k]
        assert isinstance(a, (int, float)) == isinstance(b, (int, float))
        np.testing.assert_allclose(np.asarray(a.numpy() if hasattr(a, "numpy") else a),
                                   np.asarray(b.numpy() if hasattr(b, "numpy") else b), **tol)
    for k in ("old_dirs", "old_stps", "ro"):
        assert len(fst[k]) == len(tst[k])
        for a, b in zip(fst[k], tst[k]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), **tol)
    assert fst["prev_loss"] == pytest.approx(tst["prev_loss"], rel=tol["rtol"])


@pytest.mark.parametrize("kw", LBFGS_CASES, ids=str)
def test_lbfgs_matches_torch(kw):
    # float64 all the way to convergence: the same iterations and closure calls
    _lbfgs_compare(kw, np.float64, 4, dict(rtol=1e-9, atol=1e-11))


@pytest.mark.parametrize("kw", [dict(max_iter=4), dict(max_iter=4, lr=0.5),
                                dict(max_iter=4, line_search_fn="strong_wolfe")], ids=str)
def test_lbfgs_matches_torch_float32(kw):
    # (float32 runs stop on rounding noise once converged: compare the first iterations)
    _lbfgs_compare(kw, np.float32, 1, dict(rtol=1e-5, atol=1e-6))


def _rosenbrock_run(mod, dtype, kw, steps=5):
    x = mod.tensor(np.array([-1.5, 2.0, -1.0, 1.5], dtype), requires_grad=True)
    opt = mod.optim.LBFGS([x], **kw)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        a, b = x[:-1], x[1:]
        loss = (100 * (b - a * a) ** 2 + (1 - a) ** 2).sum()
        loss.backward()
        return loss

    traj, counts = [], []
    for _ in range(steps):
        opt.step(closure)
        traj.append(x.detach().numpy().copy())
        counts.append(calls[0])
    return traj, counts, opt.state[x]["n_iter"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, history_size=3),
                                dict(line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe", history_size=2)], ids=str)
def test_lbfgs_rosenbrock(kw, dtype):
    kw = dict(kw, max_iter=6)
    f, t = _rosenbrock_run(fastnn, dtype, kw), _rosenbrock_run(torch, dtype, kw)
    assert f[1] == t[1] and f[2] == t[2]
    if dtype == np.float32 and "line_search_fn" in kw:
        # Rounding differences grow along the curved valley, by an amount that depends on
        # how the CPU's BLAS and SIMD sum: hold both float32 runs against the float64 path
        # and ask that fastnn stray from it no further than PyTorch does.
        exact = _rosenbrock_run(fastnn, np.float64, kw)[0]
        for a, b, e in zip(t[0], f[0], exact):
            assert np.abs(b - e).max() <= 2 * np.abs(a - e).max() + 1e-5
        return
    tol = dict(rtol=1e-8, atol=1e-9) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    for a, b in zip(t[0], f[0]):
        np.testing.assert_allclose(b, a, **tol)


def test_lbfgs_state_dict_resume():
    kw = dict(history_size=4, max_iter=3)
    full = _lbfgs_run(fastnn, np.float64, kw, steps=4)
    traj, counts, _, opt, ps = _lbfgs_run(fastnn, np.float64, kw, steps=2)
    buf = io.BytesIO()
    fastnn.save(opt.state_dict(), buf)
    buf.seek(0)
    A, b, ps2 = _lsq(fastnn, np.float64)
    for p, q in zip(ps2, ps):
        p.data = q.detach().clone()
    opt2 = optim.LBFGS(ps2, **kw)
    opt2.load_state_dict(fastnn.load(buf))

    def closure():
        opt2.zero_grad()
        r = A @ ps2[0] + ps2[1] - b
        loss = (r * r).mean() + 0.1 * (ps2[0] ** 4).sum()
        loss.backward()
        return loss

    for k in range(2):
        opt2.step(closure)
        for a, p in zip(full[0][2 + k], ps2):
            np.testing.assert_array_equal(p.detach().numpy(), a)
    assert opt2.state[ps2[0]]["func_evals"] == full[3].state[full[4][0]]["func_evals"]


def test_lbfgs_needs_closure_and_one_group():
    p, q = fastnn.randn(3, requires_grad=True), fastnn.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [q]}])
    opt = optim.LBFGS([p])
    with pytest.raises(TypeError):
        opt.step()
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt = optim.LBFGS([p], line_search_fn="armijo")

        def closure():
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss
        opt.step(closure)
