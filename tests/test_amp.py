"""fastnn.amp against PyTorch: autocast regions (no casting) and GradScaler's loss scaling."""
import pickle
import warnings

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")


def _pair(seed=0, dtype=np.float32):
    """The same small MLP in fastnn and in torch, plus data."""
    rng = np.random.default_rng(seed)
    w1, b1 = rng.standard_normal((8, 4)).astype(dtype), rng.standard_normal(8).astype(dtype)
    w2, b2 = rng.standard_normal((1, 8)).astype(dtype), rng.standard_normal(1).astype(dtype)
    x, y = rng.standard_normal((16, 4)).astype(dtype), rng.standard_normal((16, 1)).astype(dtype)

    def build(lib):
        model = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 1))
        with lib.no_grad():
            for p, v in zip(model.parameters(), (w1, b1, w2, b2)):
                p.copy_(lib.tensor(v))
        return model
    return build(fastnn), build(torch), x, y


def _params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def _train(lib, model, x, y, steps, amp, scaler_kw=None, poison=()):
    """The AMP recipe loop; ``poison`` lists steps whose loss is made inf."""
    opt = lib.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = lib.amp.GradScaler("cpu", **(scaler_kw or {})) if amp else None
    xt, yt = lib.tensor(x), lib.tensor(y)
    log = []
    for i in range(steps):
        opt.zero_grad()
        # torch's CPU region really computes in float16, so only fastnn's is switched on
        with lib.autocast("cpu", enabled=amp and lib is fastnn, dtype=lib.float16):
            loss = lib.nn.functional.mse_loss(model(xt), yt)
        if i in poison:
            loss = loss * float("inf")
        if not amp:
            loss.backward()
            opt.step()
            continue
        before = _params(model)
        scaler.scale(loss).backward()
        ret = scaler.step(opt)
        scaler.update()
        moved = any(not np.array_equal(a, b) for a, b in zip(before, _params(model)))
        log.append((ret, moved, scaler.get_scale(), scaler._get_growth_tracker()))
    return log, scaler


def test_recipe_matches_plain_training():
    model_amp, _, x, y = _pair()
    model_plain, _, _, _ = _pair()
    _train(fastnn, model_amp, x, y, 6, amp=True)
    _train(fastnn, model_plain, x, y, 6, amp=False)
    for a, b in zip(_params(model_amp), _params(model_plain)):
        np.testing.assert_array_equal(a, b)  # power-of-two scaling is exact in float32


def test_autocast_keeps_dtypes():
    for dt in (fastnn.float32, fastnn.float64):
        model = fastnn.nn.Linear(3, 2).to(dt)
        with fastnn.autocast("cpu"):
            out = model(fastnn.ones(4, 3, dtype=dt))
            assert fastnn.is_autocast_enabled("cpu")
        assert out.dtype is dt and model.weight.dtype is dt


@pytest.mark.parametrize("kw", [{"init_scale": 8.0, "growth_interval": 2},
                                {"init_scale": 3.0, "growth_interval": 3,
                                 "growth_factor": 3.0, "backoff_factor": 0.25}])
def test_overflow_skips_and_backs_off_like_torch(kw):
    fmodel, tmodel, x, y = _pair(1)
    poison = (1, 4, 5)
    flog, fs = _train(fastnn, fmodel, x, y, 9, True, kw, poison)
    tlog, ts = _train(torch, tmodel, x, y, 9, True, kw, poison)
    assert flog == tlog
    assert [moved for _, moved, *_ in flog] == [i not in poison for i in range(9)]
    assert fs.state_dict() == ts.state_dict()
    for a, b in zip(_params(fmodel), _params(tmodel)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy notes the inf scaled loss
def test_grown_scale_never_overflows():
    fmodel, tmodel, x, y = _pair(2)
    kw = {"init_scale": 2.0 ** 126, "growth_interval": 1}
    flog, _ = _train(fastnn, fmodel, x, y, 3, True, kw)
    tlog, _ = _train(torch, tmodel, x, y, 3, True, kw)
    assert flog == tlog


def test_state_dict_round_trip():
    fmodel, tmodel, x, y = _pair(3)
    kw = {"init_scale": 4.0, "growth_interval": 3}
    _, fs = _train(fastnn, fmodel, x, y, 4, True, kw, poison=(2,))
    _, ts = _train(torch, tmodel, x, y, 4, True, kw, poison=(2,))
    sd = fs.state_dict()
    assert sd == ts.state_dict()
    fresh = fastnn.amp.GradScaler("cpu")
    fresh.load_state_dict(sd)
    assert fresh.state_dict() == sd and fresh.get_scale() == fs.get_scale()
    used = fastnn.amp.GradScaler("cpu")
    used.scale(fastnn.ones(1))
    used.load_state_dict(sd)
    assert used.scale(fastnn.ones(1)).item() == sd["scale"]
    assert pickle.loads(pickle.dumps(fs)).state_dict() == sd
    off = fastnn.amp.GradScaler("cpu", enabled=False)
    assert off.state_dict() == {} and off.get_scale() == 1.0 and off.load_state_dict({}) is None
    _same_error(lambda lib: lib.amp.GradScaler("cpu").load_state_dict({}))


def _same_error(fn):
    """fn(fastnn) and fn(torch) raise the same type with the same first line."""
    got = []
    for lib in (fastnn, torch):
        with pytest.raises(Exception) as info:
            fn(lib)
        got.append((type(info.value), str(info.value).splitlines()[0].replace("torch", "fastnn")))
    assert got[0] == got[1]
    return got[0]


def _scaled_backward(lib, scaler):
    model = lib.nn.Linear(2, 1)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler.scale(model(lib.ones(3, 2)).sum()).backward()
    return opt


def _misuse(lib, calls):
    """Scale and backprop once, then run ``calls`` ('u' unscale_, 's' step, 'c' closure step)."""
    s = lib.amp.GradScaler("cpu")
    opt = _scaled_backward(lib, s)
    for c in calls:
        (s.unscale_(opt) if c == "u" else s.step(opt) if c == "s"
         else s.step(opt, closure=lambda: 0.0))


def test_scaler_misuse_errors_match_torch():
    def update_unchecked(lib):
        s = lib.amp.GradScaler("cpu")
        s.scale(lib.ones(1))
        s.update()

    assert _same_error(lambda lib: _misuse(lib, "uu"))[0] is RuntimeError
    for calls in ("su", "ss", "c"):
        _same_error(lambda lib: _misuse(lib, calls))
    _same_error(update_unchecked)
    _same_error(lambda lib: lib.amp.GradScaler("cpu").update())
    _same_error(lambda lib: lib.amp.GradScaler("cpu").unscale_(lib.optim.SGD([], lr=1)))
    _same_error(lambda lib: lib.amp.GradScaler("cpu").scale(1.0))
    _same_error(lambda lib: lib.amp.GradScaler("cpu", growth_factor=1.0))
    _same_error(lambda lib: lib.amp.GradScaler("cpu", backoff_factor=1.0))

    def pickle_mid_iteration(lib):
        s = lib.amp.GradScaler("cpu")
        s.unscale_(_scaled_backward(lib, s))
        pickle.dumps(s)
    _same_error(pickle_mid_iteration)


def test_unscale_then_step_and_manual_update():
    s = fastnn.amp.GradScaler("cpu", init_scale=4.0)
    opt = _scaled_backward(fastnn, s)
    s.unscale_(opt)
    grads = [p.grad.numpy().copy() for p in opt.param_groups[0]["params"]]
    np.testing.assert_array_equal(grads[0], np.full((1, 2), 3.0, np.float32))
    np.testing.assert_array_equal(grads[1], np.full(1, 3.0, np.float32))
    assert s.step(opt) is None  # SGD.step returns None; it ran: weights moved
    s.update(3.0)
    assert s.get_scale() == 3.0
    s.scale(fastnn.ones(1))
    s.update(fastnn.tensor(5.0))
    assert s.get_scale() == 5.0
    with pytest.raises(AssertionError):
        s.update(fastnn.tensor([1.0, 2.0]))


def test_scale_nested_outputs():
    s = fastnn.amp.GradScaler("cpu", init_scale=2.0)
    a = fastnn.ones(2)
    out = s.scale([a, (a, [a * 3])])
    assert isinstance(out, list) and isinstance(out[1], tuple) and isinstance(out[1][1], list)
    assert out[0].tolist() == [2.0, 2.0] and out[1][1][0].tolist() == [6.0, 6.0]
    assert [t.tolist() for t in s.scale(x for x in [a])] == [[2.0, 2.0]]
    assert s.scale(a.double()).dtype is fastnn.float64
    assert fastnn.amp.GradScaler("cpu", enabled=False).scale(1.0) == 1.0


def test_getters_and_setters():
    s = fastnn.amp.GradScaler("cpu")
    t = torch.amp.GradScaler("cpu")
    for name in ("get_scale", "get_growth_factor", "get_backoff_factor", "get_growth_interval",
                 "_get_growth_tracker", "is_enabled", "state_dict"):
        assert getattr(s, name)() == getattr(t, name)()
    for name, value in (("growth_factor", 4.0), ("backoff_factor", 0.25), ("growth_interval", 7)):
        getattr(s, "set_" + name)(value)
        assert getattr(s, "get_" + name)() == value


def _warning_lines(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [(w.category, str(w.message).splitlines()[0]) for w in caught]


@pytest.mark.skipif(fastnn.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_disables_like_torch():
    for make in (lambda lib: lib.amp.GradScaler(), lambda lib: lib.cuda.amp.GradScaler()):
        fs, fw = _warning_lines(lambda: make(fastnn))
        ts, tw = _warning_lines(lambda: make(torch))
        assert fs.is_enabled() is ts.is_enabled() is False
        assert fw == [(c, m.replace("torch", "fastnn")) for c, m in tw]
    region, fw = _warning_lines(lambda: fastnn.autocast("cuda"))
    assert fw == [(UserWarning, "CUDA is not available. Disabling autocast.")]
    with region:
        assert not fastnn.is_autocast_enabled() and not fastnn.is_autocast_enabled("cuda")


def test_deprecated_spellings_warn():
    for dev in ("cpu", "cuda"):
        for cls in ("autocast", "GradScaler"):
            _, fw = _warning_lines(lambda: getattr(getattr(fastnn, dev).amp, cls)())
            assert fw[0] == (FutureWarning, f"`fastnn.{dev}.amp.{cls}(args...)` is deprecated. "
                             f"Please use `fastnn.amp.{cls}('{dev}', args...)` instead.")
    with pytest.warns(FutureWarning):
        region = fastnn.cpu.amp.autocast()
    with region:
        assert fastnn.is_autocast_enabled("cpu")


def test_autocast_argument_validation():
    assert _same_error(lambda lib: lib.autocast(3))[0] is ValueError
    for bad in (lambda lib: lib.autocast("nope"), lambda lib: lib.is_autocast_enabled("nope"),
                lambda lib: lib.get_autocast_dtype("nope")):
        errors = []
        for lib in (fastnn, torch):
            with pytest.raises(RuntimeError) as info:
                bad(lib)
            errors.append(str(info.value))
        # fastnn names only the device types it has: cpu and cuda
        assert errors[0] == "Expected one of cpu, cuda device type at start of device string: nope"
        assert errors[1].startswith("Expected one of cpu, cuda, ")
    with pytest.raises(TypeError):
        fastnn.autocast("cpu", dtype="float16")
    for dt in ("float32", "float64", "int32"):
        fa, fw = _warning_lines(lambda: fastnn.autocast("cpu", dtype=getattr(fastnn, dt)))
        ta, tw = _warning_lines(lambda: torch.autocast("cpu", dtype=getattr(torch, dt)))
        assert fw == tw and fw[0][0] is UserWarning
        with fa, ta:
            assert fastnn.is_autocast_enabled("cpu") is torch.is_autocast_enabled("cpu") is False
            assert fastnn.get_autocast_dtype("cpu") is getattr(fastnn, dt)


def test_is_autocast_enabled_nesting_like_torch():
    def trace(lib):
        seen = [lib.is_autocast_enabled("cpu")]
        with lib.autocast("cpu", dtype=lib.float16, cache_enabled=False):
            seen += [lib.is_autocast_enabled("cpu"), lib.is_autocast_enabled()]
            with lib.autocast("cpu", enabled=False):
                seen.append(lib.is_autocast_enabled("cpu"))
                with lib.autocast("cpu:0", dtype=lib.float16):
                    seen.append(lib.is_autocast_enabled("cpu"))
                seen.append(lib.is_autocast_enabled("cpu"))
            seen.append(lib.is_autocast_enabled("cpu"))
        return seen + [lib.is_autocast_enabled("cpu")]
    assert trace(fastnn) == trace(torch) == [False, True, False, False, True, False, True, False]
    region = fastnn.autocast("cpu")
    with region:
        with region:  # one instance entered twice unwinds correctly
            assert fastnn.is_autocast_enabled("cpu")
        assert fastnn.is_autocast_enabled("cpu")
    assert not fastnn.is_autocast_enabled("cpu")
    assert fastnn.get_autocast_dtype("cpu") is fastnn.float16
    with pytest.raises(ZeroDivisionError):
        with fastnn.autocast("cpu"):
            1 / 0
    assert not fastnn.is_autocast_enabled("cpu")


def test_decorator_and_generator():
    def trace(lib):
        @lib.autocast("cpu", dtype=lib.float16)
        def plain(x):
            return lib.is_autocast_enabled("cpu"), x

        @lib.amp.autocast("cpu", dtype=lib.float16)
        def gen():
            got = yield lib.is_autocast_enabled("cpu")
            yield (got, lib.is_autocast_enabled("cpu"))

        it = gen()
        return [plain(1), lib.is_autocast_enabled("cpu"), next(it),
                lib.is_autocast_enabled("cpu"), it.send("x"), lib.is_autocast_enabled("cpu")]
    # fastnn runs a decorated generator's body inside the region (as its grad-mode decorators
    # do); torch's autocast enters the region only while the generator object is created
    assert trace(fastnn) == [(True, 1), False, True, False, ("x", True), False]
    assert trace(torch) == [(True, 1), False, False, False, ("x", False), False]


def test_cpu_module_and_top_level_names():
    assert fastnn.cpu.is_available() and fastnn.cpu.device_count() == torch.cpu.device_count()
    assert fastnn.cpu.current_device() == torch.cpu.current_device()
    assert fastnn.cpu.synchronize() is None and fastnn.cpu.is_initialized()
    assert fastnn.autocast is fastnn.amp.autocast
    assert fastnn.is_autocast_enabled is fastnn.amp.is_autocast_enabled
    assert fastnn.amp.is_autocast_available("cpu") and fastnn.amp.is_autocast_available("cuda")
    assert issubclass(fastnn.cuda.amp.GradScaler, fastnn.amp.GradScaler)
