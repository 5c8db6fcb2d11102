"""The contiguous parameter arena: packing, and every way user code can step around it.

Each case runs the same script twice, once through the fused arena path and once through the
per-parameter reference path (``fused=False``), and demands bit-equal results."""
import gc
from collections import defaultdict

import numpy as np
import pytest

import fastnn
from fastnn import optim

SHAPES = [(4, 3), (3,), (2, 5), (1,)]


def make_params(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return [fastnn.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
            for s in SHAPES]


def backward(ps, seed):
    rng = np.random.default_rng(100 + seed)
    loss = sum(((p * p) * fastnn.tensor(rng.standard_normal(p.shape).astype(p._data.dtype))).sum()
               for p in ps)
    loss.backward()


def both(script, cls=optim.SGD, dtype=np.float32, **kw):
    """Run ``script(opt, params)`` fused and on the reference path; compare values and state."""
    out = []
    for fused in (None, False):
        ps = make_params(dtype)
        opt = cls(ps, fused=fused, **kw)
        assert bool(opt._packs[0][1]) == (fused is None)
        extra = script(opt, ps)
        out.append((ps, opt, extra))
    (fp, fo, fx), (rp, ro, rx) = out
    for a, b in zip(rp, fp):
        np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())
    for a, b in zip(rp, fp):
        assert list(ro.state[a]) == list(fo.state[b])
        for k in ro.state[a]:
            np.testing.assert_array_equal(fo.state[b][k].numpy(), ro.state[a][k].numpy())
    return fx, rx


def test_packing_keeps_values_and_views_one_arena():
    ps = make_params()
    before = [p.detach().numpy().copy() for p in ps]
    vc = [p._version for p in ps]
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    (arena,) = opt._packs[0][1]
    assert arena.data.size >= sum(p.numel() for p in ps)
    for i, (p, b) in enumerate(zip(ps, before)):
        np.testing.assert_array_equal(p.detach().numpy(), b)
        assert np.shares_memory(p._data, arena.data) and p._data.shape == b.shape
        assert np.shares_memory(p._grad_slot, arena.grad)
        # every parameter, gradient slot and state view starts on a cache line
        assert p._data.ctypes.data % 64 == 0 and p._grad_slot.ctypes.data % 64 == 0
        assert p.data.shape == b.shape and p.is_contiguous()
    assert [p._version for p in ps] == vc
    backward(ps, 0)
    opt.step()
    assert all(p._version == v + 1 for p, v in zip(ps, vc))
    bufs = [opt.state[p]["momentum_buffer"]._data for p in ps]
    assert all(np.shares_memory(b, arena.bufs["momentum_buffer"]) for b in bufs)
    assert all(b.ctypes.data % 64 == 0 for b in bufs)


def test_mixed_dtypes_and_unpackable_params():
    a = fastnn.randn(3, 2, requires_grad=True)
    b = fastnn.randn(4, dtype=fastnn.float64, requires_grad=True)
    c = fastnn.randn(5, requires_grad=True)
    h = fastnn.tensor(np.ones(3, np.float16), requires_grad=True)
    opt = optim.Adam([a, b, c, h], lr=0.1)
    arenas, loose = opt._packs[0][1], opt._packs[0][2]
    assert sorted(x.data.dtype.name for x in arenas) == ["float32", "float64"]
    assert loose == [h]
    before = [t.detach().numpy().astype(np.float64) for t in (a, b, c, h)]
    for t in (a, b, c, h):
        t.grad = fastnn.ones(t.shape, dtype=t.dtype)
    opt.step()
    for t, b0 in zip((a, b, c, h), before):  # Adam's first step moves each element by lr
        np.testing.assert_allclose(t.detach().numpy(), b0 - 0.1, atol=2e-3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_assigning_param_data_leaves_the_arena(dtype):
    def script(opt, ps):
        for k in range(3):
            opt.zero_grad()
            backward(ps, k)
            opt.step()
        new = fastnn.tensor(np.full((4, 3), 0.5, dtype))
        ps[0].data = new
        for k in range(3, 6):
            opt.zero_grad()
            backward(ps, k)
            opt.step()
        return new.numpy().copy()
    fx, rx = both(script, momentum=0.9, weight_decay=0.1, dtype=dtype)
    np.testing.assert_array_equal(fx, rx)  # the assigned tensor shares storage, as in PyTorch


def test_assigning_param_data_same_values_no_stale_update():
    ps = make_params()
    opt = optim.SGD(ps, lr=0.5)
    (arena,) = opt._packs[0][1]
    ps[1].data = fastnn.tensor(np.zeros(3, np.float32))
    assert ps[1]._grad_slot is None
    backward(ps, 0)
    stale = arena.views[1].copy()
    opt.step()
    np.testing.assert_array_equal(arena.views[1], stale)       # old slot untouched
    np.testing.assert_array_equal(ps[1].detach().numpy(), 0)   # d(p*p*c)/dp = 0 at p = 0


@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
                                    (optim.Adam, dict(lr=0.1, amsgrad=True)),
                                    (optim.Adagrad, dict(lr=0.1))])
def test_user_assigned_grads(cls, kw):
    def script(opt, ps):
        for k in range(4):
            opt.zero_grad()
            backward(ps, k)
            if k == 1:
                ps[2].grad = fastnn.tensor(np.arange(10, dtype=np.float32).reshape(2, 5))
            if k == 2:  # a non-contiguous gradient
                ps[0].grad = fastnn.tensor(np.ones((3, 4), np.float32) * 0.5).t()
            if k == 3:
                ps[1].grad = ps[1].grad * 2
            opt.step()
    both(script, cls, **kw)


def test_replaced_and_reset_state():
    def script(opt, ps):
        for k in range(3):
            opt.zero_grad()
            backward(ps, k)
            opt.step()
        opt.state[ps[0]]["momentum_buffer"] = fastnn.ones(4, 3)
        opt.zero_grad()
        backward(ps, 3)
        opt.step()
        opt.state = defaultdict(dict)  # start momentum afresh
        opt.zero_grad()
        backward(ps, 4)
        opt.step()
    both(script, momentum=0.9, dampening=0.2)


def test_in_place_state_edits_are_seen():
    def script(opt, ps):
        for k in range(4):
            opt.zero_grad()
            backward(ps, k)
            opt.step()
            opt.state[ps[1]]["exp_avg"].mul_(0.5)
    both(script, optim.Adam, lr=0.1)


def test_gradient_accumulation_without_zero_grad():
    def script(opt, ps):
        backward(ps, 0)
        backward(ps, 1)
        opt.step()
        backward(ps, 2)
        opt.step()
    fx, _ = both(script, momentum=0.9)


def test_group_params_list_changed_is_repacked():
    def script(opt, ps):
        extra = fastnn.tensor(np.linspace(-1, 1, 6, dtype=np.float32), requires_grad=True)
        backward(ps, 0)
        opt.step()
        opt.param_groups[0]["params"].append(extra)
        for k in range(1, 3):
            opt.zero_grad()
            backward(ps + [extra], k)
            opt.step()
        return extra.detach().numpy().copy()
    fx, rx = both(script, momentum=0.9)
    np.testing.assert_array_equal(fx, rx)


def test_add_param_group_packs_new_group():
    ps = make_params()
    opt = optim.Adam(ps[:2], lr=0.1)
    opt.add_param_group({"params": ps[2:], "lr": 0.01})
    assert len(opt._packs) == 2 and opt._packs[1][1][0].params == ps[2:]


def test_two_optimizers_share_parameters():
    ps = make_params()
    a = optim.SGD(ps, lr=0.1, momentum=0.9)
    b = optim.Adam(ps[:2], lr=0.1)
    assert b._packs[0][1] == [] and b._packs[0][2] == ps[:2]
    ref = make_params()
    ra = optim.SGD(ref, lr=0.1, momentum=0.9, fused=False)
    rb = optim.Adam(ref[:2], lr=0.1, fused=False)
    for k in range(3):
        for opts, pp in (((a, b), ps), ((ra, rb), ref)):
            for o in opts:
                o.zero_grad()
            backward(pp, k)
            for o in opts:
                o.step()
    for x, y in zip(ref, ps):
        np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())


def test_new_optimizer_after_old_one_is_gone():
    ps = make_params()
    opt = optim.SGD(ps, lr=0.1)
    del opt
    gc.collect()
    opt2 = optim.Adam(ps, lr=0.1)
    assert opt2._packs[0][1] and not opt2._packs[0][2]


def test_optimizer_replacing_a_live_one_packs_once_it_is_gone():
    ps = make_params()
    ref = make_params()
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)  # built while the first still held the params
    gc.collect()
    ropt = optim.SGD(ref, lr=0.1, momentum=0.9, fused=False)
    for k in range(3):
        for o, pp in ((opt, ps), (ropt, ref)):
            o.zero_grad()
            backward(pp, k)
            o.step()
        if k == 0:
            assert opt._packs[0][1] and not opt._packs[0][2]
    for a, b in zip(ref, ps):
        np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())


def test_duplicate_parameter_warns():
    p = fastnn.randn(3, requires_grad=True)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p], lr=0.1)


def test_zero_size_and_noncontiguous_params():
    base = fastnn.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    t = base.t().detach().requires_grad_()
    z = fastnn.zeros(0, requires_grad=True)
    opt = optim.SGD([t, z], lr=1.0)
    np.testing.assert_array_equal(t.detach().numpy(), np.arange(6).reshape(2, 3).T)
    (t * fastnn.ones(3, 2)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(t.detach().numpy(), np.arange(6).reshape(2, 3).T - 1)


# ---- memory the user reaches: kept gradients and views taken before the optimizer ----------
KEEP = {"grad": lambda g: g, "detach": lambda g: g.detach(), "data": lambda g: g.data,
        "numpy": lambda g: g.numpy(), "view": lambda g: g.view(-1), "row": lambda g: g[0]}
CLEAR = {"optimizer": lambda opt, m: opt.zero_grad(), "module": lambda opt, m: m.zero_grad(),
         "assign": lambda opt, m: setattr(m.weight, "grad", None)}


def _values(kept):
    return np.array(kept if isinstance(kept, np.ndarray) else kept.numpy(), copy=True)


@pytest.mark.parametrize("clear", sorted(CLEAR))
@pytest.mark.parametrize("keep", sorted(KEEP))
@pytest.mark.parametrize("op", ["linear", "elementwise"])
def test_a_kept_gradient_keeps_its_values(keep, clear, op):
    # PyTorch's next backward makes a new gradient tensor; the arena reuses its slot, so it
    # must move to new memory when the old gradient is still reachable
    fastnn.manual_seed(0)
    m = fastnn.nn.Linear(3, 2)
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x = fastnn.ones(4, 3)

    def loss(scale):
        return (m(x) * scale).sum() if op == "linear" else (m.weight * scale).sum()
    loss(1.0).backward()
    opt.step()
    first = m.weight.grad.numpy().copy()
    kept = KEEP[keep](m.weight.grad)
    before = _values(kept)
    CLEAR[clear](opt, m)
    loss(3.0).backward()
    np.testing.assert_array_equal(_values(kept), before)
    np.testing.assert_allclose(m.weight.grad.numpy(), 3 * first)
    w = m.weight.detach().numpy().copy()
    opt.step()  # the moved gradient is still the one the fused update reads
    assert opt._packs[0][1] and not opt._packs[0][2]
    assert not np.array_equal(m.weight.detach().numpy(), w)


def test_training_loop_keeps_its_slots():
    # the steady state moves nothing: no gradient is kept between steps
    m = fastnn.nn.Sequential(fastnn.nn.Linear(3, 4), fastnn.nn.ReLU(), fastnn.nn.Linear(4, 2))
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    x, y = fastnn.ones(4, 3), fastnn.tensor([0, 1, 0, 1])
    arena = opt._packs[0][1][0]
    grad = arena.grad
    for _ in range(3):
        opt.zero_grad()
        fastnn.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    assert arena.grad is grad
    assert all(p.grad._data is s for p, s in zip(arena.params, arena.gviews))


def _tracks(view, p):
    return np.array_equal(np.asarray(view.numpy() if hasattr(view, "numpy") else view),
                          p.detach().numpy())


def test_views_taken_before_the_optimizer_keep_tracking():
    x = fastnn.ones(2, 3)
    m = fastnn.nn.Linear(3, 2)
    seen = [m.weight.detach(), m.state_dict()["bias"]]
    arr = np.ones((2, 3), np.float32)
    from_np = fastnn.nn.Parameter(fastnn.from_numpy(arr))
    base = fastnn.zeros(10)
    of_base = fastnn.nn.Parameter(base[2:5])
    a, b = fastnn.nn.Linear(3, 2), fastnn.nn.Linear(3, 2)
    b.weight.data = a.weight.data  # tied through .data
    params = list(m.parameters()) + [from_np, of_base] + list(a.parameters()) + \
        [b.weight, b.bias]
    opt = optim.SGD(params, lr=0.1)
    (m(x).sum() + (from_np * 2).sum() + (of_base * 3).sum() + a(x).sum() + b(x).sum()).backward()
    opt.step()
    assert _tracks(seen[0], m.weight) and _tracks(seen[1], m.bias)
    assert _tracks(arr, from_np) and arr[0, 0] != 1
    assert _tracks(base[2:5], of_base) and base[2].item() != 0
    assert a.weight._data is b.weight._data
    # what nothing else reaches still packs
    packed = {id(p) for arena in opt._packs[0][1] for p in arena.params}
    assert {id(a.bias), id(b.bias)} <= packed
    assert not {id(m.weight), id(m.bias), id(from_np), id(of_base), id(a.weight),
                id(b.weight)} & packed


def _linear_problem():
    fastnn.manual_seed(0)
    m = fastnn.nn.Linear(4, 3)
    x, y = fastnn.randn(5, 4), fastnn.randint(0, 3, (5,))
    return m, lambda: fastnn.nn.functional.cross_entropy(m(x), y)


@pytest.mark.parametrize("keep", ["tensor", "numpy"])
def test_accumulating_gradient_survives_a_move(keep):
    # the weight's gradient accumulates while the bias's is cleared and kept: the arena moves
    # to new memory, and the weight's second gradient must still be added to its first
    m, loss = _linear_problem()
    optim.SGD(m.parameters(), lr=0.1)
    loss().backward()
    first = m.weight.grad.numpy().copy()
    kept = m.bias.grad if keep == "tensor" else m.bias.grad.numpy()
    m.bias.grad = None
    loss().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), 2 * first, rtol=1e-6)
    assert kept is not None


def test_kept_gradient_survives_a_replaced_optimizer():
    m, loss = _linear_problem()
    opt = optim.SGD(m.parameters(), lr=0.1)
    loss().backward()
    opt.step()
    g = m.weight.grad
    before = g.numpy().copy()
    opt.zero_grad()
    opt = optim.Adam(m.parameters(), lr=0.1)  # the old arena dies with its optimizer
    gc.collect()
    (3 * loss()).backward()
    np.testing.assert_array_equal(g.numpy(), before)


def test_a_gradient_tensor_kept_every_step_moves_nothing():
    # logging code that keeps `g = p.grad` between steps: the kept tensor gets its own copy
    # at zero_grad, so the arena keeps its memory (no whole-arena copy per step)
    m, loss = _linear_problem()
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    arena = opt._packs[0][1][0]
    kept = []
    for _ in range(4):
        opt.zero_grad()
        loss().backward()
        opt.step()
        kept.append(m.bias.grad)
        if len(kept) == 2:
            buf = arena.grad
    assert arena.grad is buf
    assert not any(np.shares_memory(a.numpy(), b.numpy()) for a in kept for b in kept
                   if a is not b)


def test_zeroing_in_place_spares_a_cleared_and_kept_gradient():
    m, loss = _linear_problem()
    opt = optim.SGD(m.parameters(), lr=0.1)
    loss().backward()
    view = m.weight.grad.numpy()
    before = view.copy()
    opt.zero_grad()
    opt.zero_grad(set_to_none=False)  # nothing left to zero: the kept view is untouched
    np.testing.assert_array_equal(view, before)
    loss().backward()
    opt.zero_grad(set_to_none=False)
    assert m.weight.grad.abs().sum().item() == 0


def test_kept_gradient_survives_backward_with_inputs():
    # backward(inputs=...) takes the capturing path of the engine, which also writes leaves
    m, loss = _linear_problem()
    opt = optim.SGD(m.parameters(), lr=0.1)
    loss().backward()
    opt.step()
    opt.zero_grad()
    loss().backward()
    kept, row = m.weight.grad.numpy(), m.weight.grad[0]
    before, before_row = kept.copy(), row.numpy().copy()
    opt.zero_grad()
    (3 * loss()).backward(inputs=[m.weight, m.bias])
    np.testing.assert_array_equal(kept, before)
    np.testing.assert_array_equal(row.numpy(), before_row)
    del m.weight.grad  # PyTorch's way to clear it
    assert m.weight.grad is None
