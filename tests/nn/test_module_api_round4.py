"""Module machinery, round 4: hook dicts edited directly, double backward through full
backward hooks, DataParallel, global forward hooks with kwargs, Module.to memory formats and
positional flags, always_call hooks, dict outputs with backward hooks, copy.copy and the
two kinds of backward hook on one module.

Each test runs the same code on fastnn and, when it is installed, on PyTorch."""
import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import fastnn


def _const(lib, shape, scale=1.0):
    n = int(np.prod(shape))
    return lib.tensor((np.linspace(-1, 1, n) * scale).reshape(shape), dtype=lib.float32)


def _set_params(lib, module):
    with lib.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(_const(lib, tuple(p.shape), 0.3 * (i + 1)))
    return module


# ---- 1. hook dicts edited directly --------------------------------------------------------

HOOK_KINDS = {
    "forward": ("_forward_hooks", lambda log: (lambda m, i, o: log.append("f"))),
    "pre": ("_forward_pre_hooks", lambda log: (lambda m, i: log.append("p"))),
    "backward": ("_backward_hooks", lambda log: (lambda m, gi, go: log.append("b"))),
    "backward_pre": ("_backward_pre_hooks", lambda log: (lambda m, go: log.append("bp"))),
}


def _run(lib, m):
    x = _const(lib, (4, 3)).requires_grad_()
    m(x).sum().backward()


def _fresh_linear(lib, kind):
    m = lib.nn.Linear(3, 2)
    if kind == "backward":
        # PyTorch runs hooks found in _backward_hooks only once the module's backward hook
        # kind is known, i.e. after a register_full_backward_hook call
        m.register_full_backward_hook(lambda *a: None).remove()
    return m


@pytest.mark.parametrize("kind", sorted(HOOK_KINDS))
def test_hook_dict_setitem_pop_clear(lib, kind):
    name, make = HOOK_KINDS[kind]
    m = _fresh_linear(lib, kind)
    hooks = getattr(m, name)
    assert isinstance(hooks, dict) and len(hooks) == 0
    hooks.clear()
    assert hooks.pop(123, None) is None
    log = []
    getattr(m, name)[123] = make(log)
    _run(lib, m)
    assert len(log) == 1
    getattr(m, name).pop(123)
    _run(lib, m)
    assert len(log) == 1
    getattr(m, name)[7] = make(log)
    getattr(m, name).clear()
    _run(lib, m)
    assert len(log) == 1


@pytest.mark.parametrize("kind", sorted(HOOK_KINDS))
def test_hook_dict_reassigned(lib, kind):
    name, make = HOOK_KINDS[kind]
    m = _fresh_linear(lib, kind)
    log = []
    setattr(m, name, OrderedDict([(5, make(log))]))
    _run(lib, m)
    assert len(log) == 1
    fresh = OrderedDict()
    setattr(m, name, fresh)
    _run(lib, m)
    fresh[6] = make(log)  # a dict assigned earlier and filled later still counts
    _run(lib, m)
    assert len(log) == 2


def test_hook_dict_removal_via_handle_and_del(lib):
    m = lib.nn.Linear(3, 2)
    log = []
    h = m.register_forward_hook(lambda *a: log.append(1))
    del m._forward_hooks[h.id]
    m(_const(lib, (2, 3)))
    assert log == []
    h.remove()  # already gone: no error
    m._forward_hooks.update({1: lambda *a: log.append(2)})
    m(_const(lib, (2, 3)))
    assert log == [2]


def test_hook_companion_dicts_are_mutable(lib):
    m = lib.nn.Linear(3, 2)
    for name in ("_forward_hooks_with_kwargs", "_forward_hooks_always_called",
                 "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
                 "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks"):
        d = getattr(m, name)
        d[1] = True
        assert d.pop(1) is True
        d.clear()


def test_hook_dict_survives_pickle_and_deepcopy():
    m = fastnn.nn.Linear(3, 2)
    m._forward_hooks[1] = _scale_output
    for other in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        out = other(_const(fastnn, (2, 3)))
        np.testing.assert_allclose(out.detach().numpy(),
                                   2 * fastnn.nn.functional.linear(
                                       _const(fastnn, (2, 3)), other.weight,
                                       other.bias).detach().numpy(), rtol=1e-6)
        other._forward_hooks.clear()
        assert not other._hooked
        assert m._hooked


def _scale_output(module, args, output):
    return output * 2


def test_plain_module_call_stays_on_fast_path():
    m = fastnn.nn.Linear(3, 2)
    m.state_dict()
    assert not m._hooked
    h = m.register_forward_pre_hook(lambda *a: None)
    assert m._hooked
    h.remove()
    assert not m._hooked


# ---- 2. double backward through full backward hooks ------------------------------------

@pytest.mark.parametrize("hook_kind", ["pre", "full", "both", "scaling"])
def test_double_backward_through_backward_hooks(lib, hook_kind):
    net = _set_params(lib, lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(),
                                             lib.nn.Linear(4, 1)))
    if hook_kind in ("pre", "both"):
        net[1].register_full_backward_pre_hook(lambda m, go: None)
    if hook_kind in ("full", "both"):
        net[1].register_full_backward_hook(lambda m, gi, go: None)
    if hook_kind == "scaling":
        net[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
    x = _const(lib, (5, 3), 2.0).requires_grad_()
    g, = lib.autograd.grad(net(x).sum(), x, create_graph=True)
    g.pow(2).sum().backward()
    got = [net[0].weight.grad.numpy(), net[2].weight.grad.numpy(), x.grad.numpy()]
    expected = _EXPECTED_DOUBLE_BACKWARD.setdefault(hook_kind, got)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


_EXPECTED_DOUBLE_BACKWARD = {}


@pytest.mark.parametrize("hook_kind", ["pre", "full", "scaling"])
def test_double_backward_through_backward_hooks_matches_torch(hook_kind):
    pytest.importorskip("torch")
    import torch
    results = []
    for lib in (fastnn, torch):
        net = _set_params(lib, lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(),
                                                 lib.nn.Linear(4, 1)))
        if hook_kind == "pre":
            net[1].register_full_backward_pre_hook(lambda m, go: None)
        elif hook_kind == "full":
            net[1].register_full_backward_hook(lambda m, gi, go: None)
        else:
            net[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 3,))
        x = _const(lib, (5, 3), 2.0).requires_grad_()
        g, = lib.autograd.grad(net(x).sum(), x, create_graph=True)
        g.pow(2).sum().backward()
        results.append([g.detach().numpy(), net[0].weight.grad.numpy(),
                        net[2].weight.grad.numpy(), x.grad.numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---- 3. DataParallel ------------------------------------------------------------------

def test_data_parallel_passes_through(lib):
    inner = _set_params(lib, lib.nn.Linear(3, 2))
    dp = lib.nn.DataParallel(inner, device_ids=None, output_device=None, dim=0)
    assert lib.nn.parallel.DataParallel is lib.nn.DataParallel
    assert dp.module is inner
    assert dp.device_ids == []
    assert list(dp.state_dict()) == ["module.weight", "module.bias"]
    x = _const(lib, (4, 3))
    np.testing.assert_allclose(dp(x).detach().numpy(), inner(x).detach().numpy())
    assert repr(dp).startswith("DataParallel(\n  (module): Linear(")
    fresh = lib.nn.DataParallel(lib.nn.Linear(3, 2))
    fresh.load_state_dict(dp.state_dict())
    np.testing.assert_allclose(fresh(x).detach().numpy(), dp(x).detach().numpy())


# ---- 4. global forward hooks with kwargs ------------------------------------------------

def test_global_forward_hook_with_kwargs(lib):
    class Scale(lib.nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Scale()
    seen = []

    def hook(module, args, kwargs, output):
        seen.append(dict(kwargs))
        return output + 1

    def plain(module, args, output):
        seen.append("plain")

    h1 = lib.nn.modules.module.register_module_forward_hook(hook, with_kwargs=True)
    h2 = lib.nn.modules.module.register_module_forward_hook(plain)
    try:
        out = m(lib.ones(2), scale=3.0)
    finally:
        h1.remove()
        h2.remove()
    np.testing.assert_allclose(out.numpy(), [4.0, 4.0])
    assert seen == [{"scale": 3.0}, "plain"]
    m(lib.ones(2))
    assert len(seen) == 2


# ---- 5 / 6. Module.to: memory_format and positional flags ---------------------------------

def test_module_to_channels_last(lib):
    m = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4))
    m.to(memory_format=lib.channels_last)
    assert m[0].weight.is_contiguous(memory_format=lib.channels_last)
    assert m[0].weight.stride() == (27, 1, 9, 3)
    assert m[0].bias.stride() == (1,)
    m3 = lib.nn.Conv3d(2, 3, 2)
    m3.to(memory_format=lib.channels_last_3d)
    assert m3.weight.stride() == (16, 1, 8, 4, 2)
    with pytest.raises(RuntimeError, match="required rank 4 tensor to use channels_last"):
        m3.to(memory_format=lib.channels_last)


def test_to_positional_non_blocking_and_copy(lib):
    x = lib.ones(2)
    assert x.to("cpu", lib.float64, True).dtype == lib.float64
    assert x.to("cpu", lib.float64, True, True).dtype == lib.float64
    assert x.to(lib.float64, False, True).dtype == lib.float64
    assert x.to(lib.float32, False, True) is not x
    assert x.to(lib.float32, False, False) is x
    assert x.to(lib.zeros(1, dtype=lib.float64), True).dtype == lib.float64
    m = lib.nn.Linear(2, 2)
    m.to("cpu", lib.float64, True)
    assert m.weight.dtype == lib.float64
    m.to(lib.float32, True)
    assert m.weight.dtype == lib.float32
    for args, kwargs in [(("cpu", lib.float64, True, True), {}),
                         (("cpu", lib.float64, True, False), {}),
                         ((lib.float64,), {"copy": False})]:
        with pytest.raises(RuntimeError, match=r"\.to\(\) does not accept copy argument"):
            m.to(*args, **kwargs)


# ---- 7. always_call hooks; hooks registered during forward ----------------------------

def test_always_call_hook_runs_when_pre_hook_raises(lib):
    m = lib.nn.Identity()
    log = []

    def bad_pre(module, args):
        raise ValueError("pre failed")

    m.register_forward_pre_hook(bad_pre)
    m.register_forward_hook(lambda mod, a, o: log.append(("always", o)), always_call=True)
    m.register_forward_hook(lambda mod, a, o: log.append("normal"))
    with pytest.raises(ValueError, match="pre failed"):
        m(lib.ones(1))
    assert log == [("always", None)]


def test_always_call_hook_runs_once_when_later_hook_raises(lib):
    m = lib.nn.Identity()
    log = []

    def bad(module, args, output):
        raise KeyError("late")

    m.register_forward_hook(lambda *a: log.append("always"), always_call=True)
    m.register_forward_hook(bad)
    with pytest.raises(KeyError):
        m(lib.ones(1))
    assert log == ["always"]


def test_always_call_hook_error_is_a_warning(lib):
    class Boom(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()

    def failing(module, args, output):
        raise TypeError("hook failed")

    m.register_forward_hook(failing, always_call=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1))
    assert any("always_call=True" in str(w.message) and "hook failed" in str(w.message)
               for w in caught)


def test_forward_hook_registered_during_forward_runs(lib):
    log = []

    class Registers(lib.nn.Module):
        def forward(self, x):
            if not log:
                self.register_forward_hook(lambda *a: log.append("late"))
                log.append("forward")
            return x

    m = Registers()
    m.register_forward_pre_hook(lambda *a: None)  # PyTorch reads the hooks late only then
    m(lib.ones(1))
    assert log == ["forward", "late"]


# ---- 8. dict outputs skip full backward hooks ------------------------------------------

def test_full_backward_hook_not_fired_for_dict_output(lib):
    class DictOut(lib.nn.Module):
        def forward(self, x):
            return {"y": x * 2}

    m = DictOut()
    fired = []
    m.register_full_backward_hook(lambda *a: fired.append(1))
    x = lib.ones(3, requires_grad=True)
    with pytest.warns(UserWarning, match="module output should be a Tensor or a tuple"):
        out = m(x)
    out["y"].sum().backward()
    assert fired == []
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0, 2.0])


# ---- 9. copy.copy shares containers ----------------------------------------------------

def test_shallow_copy_shares_containers(lib):
    m = lib.nn.Linear(2, 2)
    c = copy.copy(m)
    assert c._parameters is m._parameters
    assert c._buffers is m._buffers and c._modules is m._modules
    assert c._forward_hooks is m._forward_hooks
    new_weight = lib.nn.Parameter(lib.zeros(2, 2))
    c.weight = new_weight
    assert m.weight is new_weight and c.weight is new_weight
    log = []
    c.register_forward_hook(lambda *a: log.append(1))
    m(lib.ones(2))
    assert log == [1]
    del c.bias
    assert "bias" not in m._parameters and not hasattr(m, "bias")


# ---- 10. regular and full backward hooks exclude each other -----------------------------

@pytest.mark.parametrize("first", ["regular", "full"])
def test_regular_and_full_backward_hooks_exclude_each_other(lib, first):
    m = lib.nn.Linear(2, 2)
    hook = (lambda *a: None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if first == "regular":
            m.register_backward_hook(hook)
            with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and "
                                                   "full backward hooks on a single Module"):
                m.register_full_backward_hook(hook)
            m.register_backward_hook(hook)
        else:
            m.register_full_backward_hook(hook)
            with pytest.raises(RuntimeError, match="Please use only one of them"):
                m.register_backward_hook(hook)
            m.register_full_backward_hook(hook)
