"""Optimizer API: argument checking, param groups, repr, state_dict layout and exact resume."""
import io
import re

import numpy as np
import pytest

import fastnn
from fastnn import optim


def params(n=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    shapes = [(4, 3), (3,), (2, 2)][:n]
    return [fastnn.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in shapes]


def torch_params(n=3, seed=0, dtype=np.float32):
    torch = pytest.importorskip("torch")
    return [torch.tensor(p.detach().numpy(), requires_grad=True) for p in params(n, seed, dtype)]


def backward(ps, mod, seed):
    rng = np.random.default_rng(seed)
    loss = sum(((p * p) * mod.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32))).sum()
               for p in ps)
    loss.backward()
    return loss


BAD = [
    (optim.SGD, dict(lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (optim.SGD, dict(lr=0.1, momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (optim.SGD, dict(lr=0.1, weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (optim.SGD, dict(lr=0.1, nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (optim.Adam, dict(lr=-1.0), ValueError, "Invalid learning rate: -1.0"),
    (optim.Adam, dict(eps=-1e-8), ValueError, "Invalid epsilon value: -1e-08"),
    (optim.Adam, dict(betas=(1.0, 0.999)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (optim.Adam, dict(betas=(0.9, -0.1)), ValueError, "Invalid beta parameter at index 1: -0.1"),
    (optim.Adam, dict(betas=(0, 0.9)), ValueError,
     "betas must be either both floats or both Tensors"),
    (optim.AdamW, dict(weight_decay=-0.1), ValueError, "Invalid weight_decay value: -0.1"),
    (optim.RMSprop, dict(alpha=-0.5), ValueError, "Invalid alpha value: -0.5"),
    (optim.RMSprop, dict(momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (optim.Adagrad, dict(lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    (optim.Adagrad, dict(initial_accumulator_value=-1), ValueError,
     "Invalid initial_accumulator_value value: -1"),
    (optim.RMSprop, dict(lr=-0.5), ValueError, "Invalid learning rate: -0.5"),
    (optim.Adagrad, dict(lr=-0.5), ValueError, "Invalid learning rate: -0.5"),
]


@pytest.mark.parametrize("cls,kw,exc,msg", BAD, ids=[f"{c.__name__}-{m}" for c, _, _, m in BAD])
def test_bad_hyperparameters(cls, kw, exc, msg):
    with pytest.raises(exc, match="^" + re.escape(msg) + "$"):
        cls(params(), **kw)
    try:
        import torch
    except ImportError:
        return
    with pytest.raises(exc, match="^" + re.escape(msg) + "$"):
        getattr(torch.optim, cls.__name__)(torch_params(), **kw)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_tensor_lr_must_have_one_element(name):
    with pytest.raises(ValueError, match="^Tensor lr must be 1-element$"):
        getattr(optim, name)(params(), lr=fastnn.tensor([0.1, 0.2]))
    try:
        import torch
    except ImportError:
        return
    with pytest.raises(ValueError, match="^Tensor lr must be 1-element$"):
        getattr(torch.optim, name)(torch_params(), lr=torch.tensor([0.1, 0.2]))


def test_bad_params_arguments():
    p = params()[0]
    with pytest.raises(TypeError, match=re.escape(
            "params argument given to the optimizer should be an iterable of Tensors or dicts, "
            "but got torch.FloatTensor")):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the "
                                        "params is int"):
        optim.SGD([p, 1], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="optimizer parameters need to be organized in ordered "
                                        "collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(TypeError, match="param_group must be a dict"):
        optim.SGD([p], lr=0.1).add_param_group([p])


@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", {}),
                                     ("AdamW", dict(amsgrad=True)), ("RMSprop", {}),
                                     ("Adagrad", dict(lr_decay=0.1))])
def test_repr_and_groups_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    f = getattr(optim, name)(params(), **kw)
    t = getattr(torch.optim, name)(torch_params(), **kw)
    assert repr(f) == repr(t)
    f.add_param_group({"params": params(1, seed=5), "lr": 0.5})
    t.add_param_group({"params": torch_params(1, seed=5), "lr": 0.5})
    assert repr(f) == repr(t)
    assert f.state_dict()["param_groups"] == t.state_dict()["param_groups"]


def test_param_groups_and_per_group_lr():
    a, b = params(2)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.5
    a0, b0 = a.detach().numpy().copy(), b.detach().numpy().copy()
    a.grad = fastnn.ones(a.shape)
    b.grad = fastnn.ones(b.shape)
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), a0 - np.float32(0.1), rtol=1e-6)
    np.testing.assert_allclose(b.detach().numpy(), b0 - 1.0, rtol=1e-6)
    assert isinstance(opt.state, dict) and opt.state[a]["momentum_buffer"].shape == a.shape


def test_lr_change_takes_effect_next_step():
    p = params(1)[0]
    opt = optim.SGD([p], lr=0.1)
    p0 = p.detach().numpy().copy()
    p.grad = fastnn.ones(p.shape)
    opt.param_groups[0]["lr"] = 0.25
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), p0 - np.float32(0.25), rtol=1e-6)


def test_step_closure_returns_loss_and_runs_with_grad():
    ps = params()
    opt = optim.Adam(ps, lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        calls.append(fastnn.is_grad_enabled())
        return backward(ps, fastnn, 0)
    with fastnn.no_grad():
        loss = opt.step(closure)
    assert calls == [True] and isinstance(loss, fastnn.Tensor)
    assert opt.step() is None


def test_step_hooks():
    ps = params()
    opt = optim.SGD(ps, lr=0.1)
    seen = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: seen.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: seen.append("post"))
    opt.step()
    h1.remove()
    opt.step()
    assert seen == ["pre", "post", "post"]


def test_zero_grad_modes():
    ps = params()
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    arena = opt._packs[0][1][0]
    backward(ps, fastnn, 0)
    assert all(p.grad._data is arena.gviews[i] for i, p in enumerate(ps))
    slot_grads = [p.grad for p in ps]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is g for p, g in zip(ps, slot_grads))
    assert not arena.grad.any()
    backward(ps, fastnn, 1)
    twice = [p.grad.numpy().copy() for p in ps]
    opt.zero_grad()
    assert all(p.grad is None for p in ps)
    backward(ps, fastnn, 1)
    for p, g in zip(ps, twice):
        np.testing.assert_array_equal(p.grad.numpy(), g)
    # a user-assigned gradient is zeroed in place too
    ps[0].grad = fastnn.ones(ps[0].shape)
    user = ps[0].grad
    opt.zero_grad(set_to_none=False)
    assert ps[0].grad is user and not user.numpy().any()


def test_kept_grad_survives_zero_grad():
    ps = params()
    opt = optim.SGD(ps, lr=0.1)
    arena = opt._packs[0][1][0]
    backward(ps, fastnn, 0)
    kept = ps[0].grad
    values = kept.numpy().copy()
    opt.zero_grad()
    backward(ps, fastnn, 1)
    np.testing.assert_array_equal(kept.numpy(), values)       # as in PyTorch: a fresh grad
    assert ps[0].grad is not kept
    assert all(p.grad._data is arena.gviews[i] for i, p in enumerate(ps))  # slots reused


def _train(opt, ps, steps, seed0=0):
    for k in range(steps):
        opt.zero_grad()
        backward(ps, fastnn, seed0 + k)
        opt.step()


OPTS = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.01)),
        ("AdamW", dict(lr=0.05)),
        ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
        ("Adagrad", dict(lr=0.1, lr_decay=0.01))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kw", OPTS)
def test_state_dict_resumes_bit_exactly(name, kw, dtype):
    cls = getattr(optim, name)
    ps = params(dtype=dtype)
    full = cls(ps, **kw)
    _train(full, ps, 20)

    ps1 = params(dtype=dtype)
    first = cls(ps1, **kw)
    _train(first, ps1, 10)
    buf = io.BytesIO()
    fastnn.save({"opt": first.state_dict(), "params": [p.detach() for p in ps1]}, buf)
    buf.seek(0)
    ck = fastnn.load(buf)
    ps2 = [fastnn.tensor(t.numpy().copy(), requires_grad=True) for t in ck["params"]]
    second = cls(ps2, **kw)
    second.load_state_dict(ck["opt"])
    _train(second, ps2, 10, seed0=10)
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())
    for a, b in zip(ps, ps2):
        sa, sb = full.state[a], second.state[b]
        assert list(sa) == list(sb)
        for k in sa:
            np.testing.assert_array_equal(sb[k].numpy(), sa[k].numpy())
    # the loaded state went into the arena: state tensors view its buffers
    arena = second._packs[0][1][0]
    key = next(k for k in second.state[ps2[0]] if k != "step")
    assert np.shares_memory(second.state[ps2[0]][key]._data, arena.bufs[key])


def test_state_dict_layout_matches_torch():
    torch = pytest.importorskip("torch")
    f_ps, t_ps = params(), torch_params()
    f = optim.Adam([{"params": f_ps[:2]}, {"params": f_ps[2:], "lr": 0.1}], amsgrad=True)
    t = torch.optim.Adam([{"params": t_ps[:2]}, {"params": t_ps[2:], "lr": 0.1}], amsgrad=True)
    for ps, o, mod in ((f_ps, f, fastnn), (t_ps, t, torch)):
        ps[0].grad = mod.ones(tuple(ps[0].shape))
        ps[2].grad = mod.ones(tuple(ps[2].shape))
        o.step()
    fs, ts = f.state_dict(), t.state_dict()
    assert fs["param_groups"] == ts["param_groups"]
    assert list(fs["state"]) == list(ts["state"]) == [0, 2]
    for i in fs["state"]:
        assert list(fs["state"][i]) == list(ts["state"][i])
        for k in fs["state"][i]:
            np.testing.assert_allclose(fs["state"][i][k].numpy(), ts["state"][i][k].numpy(),
                                       rtol=1e-6)
    assert fs["state"][0]["step"].dtype == fastnn.float32 and fs["state"][0]["step"].dim() == 0


def test_load_state_dict_errors():
    opt = optim.SGD(params(), lr=0.1)
    sd = opt.state_dict()
    other = optim.SGD([{"params": params(2)}, {"params": params(1, seed=3)}], lr=0.1)
    with pytest.raises(ValueError, match="loaded state dict has a different number of parameter "
                                         "groups"):
        other.load_state_dict(sd)
    with pytest.raises(ValueError, match="loaded state dict contains a parameter group that "
                                         "doesn't match the size of optimizer's group"):
        optim.SGD(params(2), lr=0.1).load_state_dict(sd)


def test_load_state_dict_between_fused_and_reference():
    ps = params()
    opt = optim.Adam(ps, lr=0.05)
    _train(opt, ps, 5)
    sd = opt.state_dict()
    ref_ps = [fastnn.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    ref = optim.Adam(ref_ps, lr=0.05, fused=False)
    ref.load_state_dict(sd)
    ref.param_groups[0]["fused"] = False
    _train(opt, ps, 5, seed0=5)
    _train(ref, ref_ps, 5, seed0=5)
    for a, b in zip(ps, ref_ps):
        np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())


def test_scheduler_writes_lr_used_by_step():
    p = params(1)[0]
    opt = optim.SGD([p], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for expected in (1.0, 0.5, 0.25):
        before = p.detach().numpy().copy()
        p.grad = fastnn.ones(p.shape)
        opt.step()
        np.testing.assert_allclose(before - p.detach().numpy(), expected, rtol=1e-6)
        sched.step()
