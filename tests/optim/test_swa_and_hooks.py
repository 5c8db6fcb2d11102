"""swa_utils (AveragedModel, averaging functions, update_bn, SWALR) and the optimizer's
state_dict / load_state_dict / global step hooks, against PyTorch."""
import importlib

import numpy as np
import pytest

import fastnn
from fastnn.optim import swa_utils

torch = pytest.importorskip("torch")


def _train_and_average(mod, kind, use_buffers):
    """Five SGD steps on a Linear-BatchNorm-Linear net, folding each into an average."""
    sw = mod.optim.swa_utils
    mod.manual_seed(0)
    net = mod.nn.Sequential(mod.nn.Linear(3, 4), mod.nn.BatchNorm1d(4), mod.nn.Linear(4, 1))
    with mod.no_grad():
        for p in net.parameters():
            p.copy_(mod.tensor(np.linspace(-0.5, 0.5, p.numel()).reshape(tuple(p.shape)),
                               dtype=mod.float32))
    kw = {"ema": dict(multi_avg_fn=sw.get_ema_multi_avg_fn(0.9)),
          "ema1": dict(avg_fn=sw.get_ema_avg_fn(0.9)),
          "swa1": dict(avg_fn=sw.get_swa_avg_fn()),
          "swa": {}}[kind]
    avg = sw.AveragedModel(net, use_buffers=use_buffers, **kw)
    opt = mod.optim.SGD(net.parameters(), lr=0.05, momentum=0.5)
    x = mod.tensor(np.random.RandomState(0).randn(8, 3), dtype=mod.float32)
    y = mod.tensor(np.random.RandomState(1).randn(8, 1), dtype=mod.float32)
    for _ in range(5):
        opt.zero_grad()
        ((net(x) - y) ** 2).mean().backward()
        opt.step()
        avg.update_parameters(net)
    return avg, x, y


def _sd(model):
    return {k: v.detach().numpy().astype(np.float64) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", ["swa", "ema", "ema1", "swa1"])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_matches_torch(kind, use_buffers):
    a, x, _ = _train_and_average(fastnn, kind, use_buffers)
    b, tx, _ = _train_and_average(torch, kind, use_buffers)
    sa, sb = _sd(a), _sd(b)
    assert list(sa) == list(sb)
    assert list(sa)[:2] == ["n_averaged", "module.0.weight"]
    for k in sa:
        np.testing.assert_allclose(sa[k], sb[k], rtol=1e-5, atol=1e-6, err_msg=k)
    a.eval()
    b.eval()
    np.testing.assert_allclose(a(x).detach().numpy(), b(tx).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_update_bn_matches_torch():
    out = []
    for mod in (fastnn, torch):
        avg, x, y = _train_and_average(mod, "swa", True)
        avg.eval()
        data = mod.utils.data.TensorDataset(x, y)
        mod.optim.swa_utils.update_bn(mod.utils.data.DataLoader(data, batch_size=3), avg)
        bn = avg.module[1]
        out.append((bn.running_mean.numpy().copy(), bn.running_var.numpy().copy(),
                    int(bn.num_batches_tracked), bn.momentum, avg.training))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-5, atol=1e-6)
    assert out[0][2:] == out[1][2:] == (3, 0.1, False)


def test_averaged_model_basics():
    net = fastnn.nn.Linear(2, 2)
    avg = swa_utils.AveragedModel(net)
    assert avg.module is not net and avg.module.weight is not net.weight
    assert isinstance(avg, fastnn.nn.Module) and avg.n_averaged.dtype == fastnn.int64
    assert fastnn.optim.swa_utils.AveragedModel is swa_utils.AveragedModel
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(net, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    with pytest.raises(ValueError, match=r"Invalid decay value 1.5 provided"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    seen = []
    multi = swa_utils.AveragedModel(net, multi_avg_fn=lambda a, c, n: seen.append(
        (len(a), int(n))))
    for _ in range(3):
        multi.update_parameters(net)
    assert seen == [(2, 1), (2, 2)] and int(multi.n_averaged) == 3


def _swalr_lrs(mod, **kw):
    ps = [mod.zeros(2, requires_grad=True), mod.zeros(1, requires_grad=True)]
    opt = mod.optim.SGD([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.5}], lr=1.0)
    sched = mod.optim.swa_utils.SWALR(opt, **kw)
    lrs = [sched.get_last_lr()]
    for _ in range(6):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    return lrs, sched.state_dict()


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.1], anneal_epochs=3,
                                                        anneal_strategy="linear"),
                                dict(swa_lr=0.2, anneal_epochs=0),
                                dict(swa_lr=0.2, anneal_epochs=1, anneal_strategy="cos")])
def test_swalr_matches_torch(kw):
    (a, sa), (b, sb) = _swalr_lrs(fastnn, **kw), _swalr_lrs(torch, **kw)
    np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-12)
    assert sorted(sa) == sorted(sb)


@pytest.mark.parametrize("kw,msg", [
    (dict(swa_lr=0.1, anneal_strategy="foo"),
     "anneal_strategy must be one of 'cos' or 'linear', instead got foo"),
    (dict(swa_lr=0.1, anneal_epochs=-1), "anneal_epochs must be equal or greater than 0"),
    (dict(swa_lr=0.1, anneal_epochs=2.0), "anneal_epochs must be equal or greater than 0"),
    (dict(swa_lr=[1, 2, 3]), "swa_lr must have the same length as optimizer.param_groups")])
def test_swalr_errors(kw, msg):
    for mod in (fastnn, torch):
        opt = mod.optim.SGD([mod.zeros(1, requires_grad=True)], lr=1.0)
        with pytest.raises(ValueError, match=msg.replace("(", r"\(")):
            mod.optim.swa_utils.SWALR(opt, **kw)


def _hook_trace(mod):
    """What each kind of hook sees and returns, as plain data."""
    log, handles = [], []
    p = mod.nn.Parameter(mod.ones(2))
    opt = mod.optim.SGD([p], lr=0.1)
    reg = importlib.import_module(mod.__name__ + ".optim.optimizer")
    handles.append(reg.register_optimizer_step_pre_hook(
        lambda o, a, k: log.append(("gpre", len(a), a[0] is o, dict(k)))))
    handles.append(reg.register_optimizer_step_post_hook(
        lambda o, a, k: log.append(("gpost", len(a), dict(k)))))
    opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", len(a), sorted(k))))
    opt.register_step_post_hook(lambda o, a, k: log.append(("post",)))
    p.grad = mod.ones(2)
    opt.step()
    opt.step(closure=None)
    for h in handles:
        h.remove()
    opt.step()
    h = reg.register_optimizer_step_pre_hook(lambda o, a, k: ((o,), {"closure": lambda: 3.0}))
    log.append(("closure", opt.step()))
    h.remove()
    h = reg.register_optimizer_step_pre_hook(lambda o, a, k: 5)
    try:
        opt.step()
    except RuntimeError as e:
        log.append(("bad", str(e).split(" must ")[1]))
    h.remove()

    opt.register_state_dict_pre_hook(lambda o: log.append(("sd_pre", o is opt)))

    def post(o, sd):
        log.append(("sd_post", sorted(sd)))
        sd["extra"] = 1
    opt.register_state_dict_post_hook(post)
    first = opt.register_state_dict_post_hook(
        lambda o, sd: log.append(("sd_post0", "extra" in sd)) or {"replaced": True},
        prepend=True)
    log.append(("sd", sorted(opt.state_dict())))
    first.remove()
    sd = opt.state_dict()

    def lpre(o, d):
        log.append(("l_pre", sorted(d)))
        d2 = dict(d)
        d2.pop("extra")
        return d2

    def lpre0(o, d):
        log.append(("l_pre0", sorted(d)))
        d["mark"] = 1
    opt.register_load_state_dict_pre_hook(lpre)
    opt.register_load_state_dict_pre_hook(lpre0, prepend=True)
    opt.register_load_state_dict_post_hook(lambda o: log.append(("l_post", o is opt)))
    opt.register_load_state_dict_post_hook(lambda o: log.append(("l_post0",)), prepend=True)
    opt.load_state_dict(sd)
    log.append(("caller", sorted(sd)))
    return log


def test_optimizer_hooks_match_torch():
    assert _hook_trace(fastnn) == _hook_trace(torch)


def test_state_dict_hooks_survive_pickle_and_removal():
    import pickle
    opt = fastnn.optim.Adam([fastnn.zeros(2, requires_grad=True)])
    calls = []
    h = opt.register_state_dict_pre_hook(lambda o: calls.append(1))
    opt.state_dict()
    h.remove()
    opt.state_dict()
    assert calls == [1]
    clone = pickle.loads(pickle.dumps(opt))
    clone.register_load_state_dict_post_hook(lambda o: calls.append(2))
    clone.load_state_dict(opt.state_dict())
    assert calls == [1, 2]
