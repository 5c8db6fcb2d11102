"""state_dict / load_state_dict hooks, _load_from_state_dict overrides and set_submodule,
each scenario run under PyTorch and fastnn and compared."""
import copy

import numpy as np
import pytest
import torch

import fastnn

LIBS = (torch, fastnn)


def _show(v):
    if isinstance(v, (str, bool, int)) or v is None:
        return v
    if isinstance(v, list):
        return ("list", list(v))
    if isinstance(v, dict) and not hasattr(v, "_metadata") and type(v) is dict:
        return ("dict", sorted(v))
    return type(v).__name__


def _net(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.bn = nn.BatchNorm1d(2)
            self.seq = nn.Sequential(nn.Linear(2, 2), nn.Tanh())

    lib.manual_seed(0)
    return Net()


def _both(scenario):
    """scenario(lib) for both libraries; returns the two results."""
    return tuple(scenario(lib) for lib in LIBS)


def _record(lib, net, log):
    handles = []
    for name, mod in net.named_modules():
        def mk(tag, name=name):
            return lambda *a: log.append((name, tag, [_show(v) for v in a]))
        handles += [mod.register_state_dict_pre_hook(mk("sd_pre")),
                    mod.register_state_dict_post_hook(mk("sd_post")),
                    mod._register_state_dict_hook(mk("sd_private")),
                    mod.register_load_state_dict_pre_hook(mk("load_pre")),
                    mod._register_load_state_dict_pre_hook(mk("load_pre_plain")),
                    mod._register_load_state_dict_pre_hook(mk("load_pre_mod"), with_module=True),
                    mod.register_load_state_dict_post_hook(mk("load_post"))]
    return handles


def test_hook_order_and_arguments():
    def scenario(lib):
        net, log = _net(lib), []
        handles = _record(lib, net, log)
        sd = net.state_dict(keep_vars=True)
        net.load_state_dict(sd)
        net.load_state_dict({k: v for k, v in sd.items() if k != "fc.bias"}, strict=False)
        n = len(log)
        for h in handles:
            h.remove()
        net.load_state_dict(net.state_dict())
        assert len(log) == n
        return log, list(sd)
    t, f = _both(scenario)
    assert f == t


def test_state_dict_after_hooks():
    def scenario(lib):
        net = _net(lib)

        def post(mod, sd, prefix, meta):
            sd[prefix + "extra"] = lib.ones(1)
            del sd[prefix + "bias"]
            meta["note"] = prefix

        net.seq[0].register_state_dict_post_hook(post)
        net.fc._register_state_dict_hook(
            lambda mod, sd, prefix, meta: {k: v for k, v in sd.items() if "bn" not in k})
        seen = []
        net.register_state_dict_pre_hook(lambda mod, prefix, keep: seen.append((prefix, keep)))
        sd = net.state_dict(prefix="p.", keep_vars=True)
        return list(sd), dict(sd._metadata), seen
    t, f = _both(scenario)
    assert f == t


def test_state_dict_post_hook_errors():
    def scenario(lib):
        out = []
        lin = lib.nn.Linear(2, 2)
        h = lin.register_state_dict_post_hook(lambda *a: {})
        with pytest.raises(RuntimeError) as e:
            lin.state_dict()
        out.append(str(e.value))
        h.remove()
        out.append(list(lin.state_dict()))

        def fn(*a):
            return None
        lin.register_state_dict_post_hook(fn)
        with pytest.raises(RuntimeError) as e:
            lin._register_state_dict_hook(fn)
        out.append(str(e.value))
        lin.register_load_state_dict_post_hook(lambda *a: 1)
        with pytest.raises(AssertionError) as e:
            lin.load_state_dict(lin.state_dict())
        out.append(str(e.value))
        return out
    t, f = _both(scenario)
    assert f == t


def test_load_pre_hook_renames_and_reports():
    def scenario(lib):
        net = _net(lib)
        sd = {("old_" + k if k.startswith("fc.") else k): v.clone()
              for k, v in _net(lib).state_dict().items()}

        def rename(state_dict, prefix, meta, strict, missing, unexpected, errors):
            for k in [k for k in state_dict if k.startswith(prefix + "old_")]:
                state_dict[prefix + k[len(prefix) + 4:]] = state_dict.pop(k)

        h = net._register_load_state_dict_pre_hook(rename)
        r = net.load_state_dict(sd)
        h.remove()
        r2 = net.load_state_dict(sd, strict=False)
        net.bn.register_load_state_dict_pre_hook(
            lambda mod, sd, prefix, meta, strict, missing, unexpected, errors:
            errors.append(f"refused by {type(mod).__name__} at {prefix}"))
        with pytest.raises(RuntimeError) as e:
            net.load_state_dict(sd, strict=False)
        return (repr(r), list(r2.missing_keys), list(r2.unexpected_keys),
                str(e.value).splitlines())
    t, f = _both(scenario)
    assert f == t


class _Logged:
    """A Linear subclass overriding _load_from_state_dict with PyTorch's 7 arguments."""

    @staticmethod
    def make(lib, log):
        class L(lib.nn.Linear):
            def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs):
                log.append((prefix, sorted(local_metadata.items())))
                super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                              missing_keys, unexpected_keys, error_msgs)
        return L(2, 2)


@pytest.mark.parametrize("assign", [False, True])
def test_override_with_pytorch_signature(assign):
    def scenario(lib):
        log = []
        net = lib.nn.Sequential(_Logged.make(lib, log), lib.nn.BatchNorm1d(2))
        src = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.BatchNorm1d(2))
        sd = src.state_dict()
        net.load_state_dict(sd, assign=assign)
        shared = net[0].weight.data_ptr() == sd["0.weight"].data_ptr()
        same = bool((net[0].weight == src[0].weight).all())
        return log, shared, same, type(net[0].weight).__name__, net[0].weight.requires_grad
    t, f = _both(scenario)
    assert f == t


def test_batchnorm_old_checkpoint_and_lazy():
    def scenario(lib):
        bn = lib.nn.BatchNorm1d(3)
        sd = bn.state_dict()
        del sd["num_batches_tracked"]
        sd._metadata[""]["version"] = 1
        r1 = repr(lib.nn.BatchNorm1d(3).load_state_dict(sd))
        lazy = lib.nn.Sequential(lib.nn.LazyLinear(3))
        lazy.load_state_dict(lib.nn.Sequential(lib.nn.Linear(2, 3)).state_dict(), assign=True)
        lbn = lib.nn.LazyBatchNorm1d()
        lbn.load_state_dict(lib.nn.BatchNorm1d(4).state_dict())
        return r1, tuple(lazy[0].weight.shape), tuple(lbn.running_mean.shape)
    t, f = _both(scenario)
    assert f == t


def test_weight_norm_loads_old_checkpoint():
    def scenario(lib):
        lib.manual_seed(0)
        with pytest.warns(FutureWarning):
            old = lib.nn.utils.weight_norm(lib.nn.Linear(3, 4))
        sd = old.state_dict()
        new = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(3, 4))
        r = repr(new.load_state_dict(sd))
        x = lib.ones(2, 3)
        return list(sd), r, list(new.state_dict()), new(x).detach().numpy(), old(x).detach()
    t, f = _both(scenario)
    assert f[:3] == t[:3]
    for res in (t, f):  # the new layout computes what the old checkpoint did
        np.testing.assert_allclose(res[3], res[4].numpy(), rtol=1e-6)


def test_deepcopy_keeps_hooks_bound_to_copy():
    def scenario(lib):
        seen = []
        lin = lib.nn.Linear(2, 2)
        lin.register_load_state_dict_pre_hook(lambda mod, *a: seen.append(mod))
        twin = copy.deepcopy(lin)
        twin.load_state_dict(twin.state_dict())
        return [m is twin for m in seen]
    t, f = _both(scenario)
    assert f == t


SET_CASES = [("", "relu"), ("0", 3), ("5", "relu", True), ("5", "relu"), ("foo", "relu"),
             ("0.weight", "relu"), ("1.x.y", "relu"), ("0.bias", "relu", True),
             ("1.0", "tanh", True), ("7.0", "tanh", True), ("foo.0", "tanh"), ("x.y", 3),
             ("bar", "tanh", True)]


@pytest.mark.parametrize("case", SET_CASES)
def test_set_submodule_matches_torch(case):
    def scenario(lib):
        nn = lib.nn
        net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
        net.foo = 3
        net.bar = None
        target, what, *strict = case
        mod = {"relu": nn.ReLU(), "tanh": nn.Tanh()}.get(what, what)
        try:
            net.set_submodule(target, mod, *strict)
        except Exception as e:
            return type(e).__name__, str(e).splitlines()[0]
        return repr(net)
    t, f = _both(scenario)
    assert f == t


def test_pinned_memory():
    x = fastnn.ones(3)
    assert x.is_pinned() is False
    if fastnn.cuda.is_available():
        assert x.pin_memory() is x
    else:  # as in PyTorch without an accelerator
        with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
            x.pin_memory()
