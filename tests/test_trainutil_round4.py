"""Training utilities: half-precision gradient clipping, amp.custom_fwd/custom_bwd, the
private ``utils.data._utils`` import paths, optimizer state loading, integer buffers in EMA
averaging, and ``__getitems__`` returning a list."""
import copy
import math
import pickle
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.optim import swa_utils
from fastnn.utils import data as D


# ---- 1. clip_grad_norm_ on float16 gradients -------------------------------------------

def _half_params(lib):
    a = lib.nn.Parameter(lib.tensor([300., 400.], dtype=lib.float16))
    b = lib.nn.Parameter(lib.tensor([1e-3, 2e-3, 600.], dtype=lib.float16))
    a.grad = a.detach().clone()
    b.grad = b.detach().clone()
    return a, b


def test_clip_half_grads_do_not_overflow():
    p = nn.Parameter(fastnn.tensor([300., 400.], dtype=fastnn.float16))
    p.grad = p.detach().clone()
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert total.dtype is fastnn.float16
    assert total.item() == 500.0
    assert p.grad.tolist() == [0.60009765625, 0.80029296875]
    assert nn.utils.get_total_norm([fastnn.tensor([300., 400.], dtype=fastnn.float16)]).item() \
        == 500.0


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("norm_type", [1, 2, 3, math.inf, 0.5, 0, -math.inf])
def test_clip_grad_norm_matches_torch(dtype, norm_type):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (fastnn, torch):
        a = lib.nn.Parameter(lib.tensor([300., 400.], dtype=getattr(lib, dtype)))
        b = lib.nn.Parameter(lib.tensor([1e-3, 2e-3, 600.], dtype=getattr(lib, dtype)))
        a.grad = a.detach().clone()
        b.grad = b.detach().clone() * 0.01
        total = lib.nn.utils.clip_grad_norm_([a, b], 1.0, norm_type=norm_type)
        results.append((str(total.dtype).split(".")[-1], total.item(), a.grad.tolist(),
                        b.grad.tolist()))
    (fd, *fv), (td, *tv) = results
    assert fd == td
    if dtype == "float32" and norm_type not in (1, 2, math.inf, 0, -math.inf):
        # a fractional power's last bit follows the CPU's SIMD pow: allow two ulps
        for x, y in zip(fv, tv):
            np.testing.assert_allclose(x, y, rtol=2.4e-7, atol=0)
    else:
        assert fv == tv


def test_clip_mixed_half_and_double_matches_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (fastnn, torch):
        a = lib.nn.Parameter(lib.tensor([300., 400.], dtype=lib.float16))
        b = lib.nn.Parameter(lib.tensor([3., 4.], dtype=lib.float64))
        a.grad, b.grad = a.detach().clone(), b.detach().clone()
        total = lib.nn.utils.clip_grad_norm_([a, b], 1.0)
        results.append((str(total.dtype).split(".")[-1], total.item(), a.grad.tolist(),
                        b.grad.tolist()))
    assert results[0] == results[1]


# ---- 2. amp.custom_fwd / custom_bwd ------------------------------------------------------

def _custom_function(lib, seen, cast_inputs):
    class Mul(lib.autograd.Function):
        @staticmethod
        @lib.amp.custom_fwd(device_type="cpu", cast_inputs=cast_inputs)
        def forward(ctx, x, y, extra=None):
            seen.append(("fwd", str(x.dtype), str(y.dtype), lib.is_autocast_enabled("cpu"),
                         None if extra is None else str(extra["k"].dtype)))
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        @lib.amp.custom_bwd(device_type="cpu")
        def backward(ctx, g):
            seen.append(("bwd", lib.is_autocast_enabled("cpu")))
            x, y = ctx.saved_tensors
            return g * y, g * x, None
    return Mul


def test_custom_fwd_casts_inside_autocast_only():
    seen = []
    Mul = _custom_function(fastnn, seen, fastnn.float16)
    x = fastnn.ones(3, requires_grad=True)
    y = fastnn.full((3,), 2.0, dtype=fastnn.float64)
    with fastnn.autocast("cpu", dtype=fastnn.float16):
        out = Mul.apply(x, y, {"k": fastnn.ones(2)})
    out.sum().backward()
    assert x.grad.dtype is fastnn.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]
    # float64 inputs are never cast; forward runs with autocast off; backward likewise
    assert seen == [("fwd", "fastnn.float16", "fastnn.float64", False, "fastnn.float16"),
                    ("bwd", False)]
    seen.clear()
    Mul.apply(x, y, {"k": fastnn.ones(2)})
    assert seen == [("fwd", "fastnn.float32", "fastnn.float64", False, "fastnn.float32")]


def test_custom_bwd_restores_forward_autocast_state():
    seen = []
    Mul = _custom_function(fastnn, seen, None)
    x = fastnn.ones(2, requires_grad=True)
    with fastnn.autocast("cpu", dtype=fastnn.float16):
        out = Mul.apply(x, fastnn.ones(2))
    out.sum().backward()
    Mul.apply(x, fastnn.ones(2)).sum().backward()
    assert [s[-1] if s[0] == "bwd" else s[3] for s in seen] == [True, True, False, False]
    assert Mul.forward.__name__ == "forward"


def test_custom_fwd_matches_torch():
    torch = pytest.importorskip("torch")
    logs = []
    for lib in (fastnn, torch):
        seen = []
        Mul = _custom_function(lib, seen, lib.float16)
        x = lib.ones(3, requires_grad=True)
        with lib.autocast("cpu", dtype=lib.float16):
            out = Mul.apply(x, lib.ones(3), {"k": lib.ones(2)})
        out.sum().backward()
        logs.append([tuple(str(v).split(".")[-1] for v in s) for s in seen] +
                    [str(out.dtype).split(".")[-1], x.grad.tolist()])
    assert logs[0] == logs[1]


@pytest.mark.parametrize("make", [lambda amp: amp.custom_fwd(device_type=1),
                                  lambda amp: amp.custom_bwd(device_type=None)])
def test_custom_decorators_check_device_type(make):
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        make(fastnn.amp)


def test_custom_fwd_needs_device_type():
    with pytest.raises(TypeError):
        fastnn.amp.custom_fwd(lambda ctx: None)


def test_cuda_amp_custom_decorators_are_deprecated():
    import fastnn.cuda.amp as cuda_amp
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fwd = cuda_amp.custom_fwd(lambda ctx, a: a, cast_inputs=fastnn.float32)
        bwd = cuda_amp.custom_bwd(lambda ctx, a: a)
        partial = cuda_amp.custom_fwd(cast_inputs=fastnn.float32)
    assert callable(fwd) and callable(bwd) and callable(partial)
    assert [w.category for w in caught] == [FutureWarning] * 3
    assert "custom_fwd(args..., device_type='cuda')" in str(caught[0].message)


# ---- 3. utils.data._utils -----------------------------------------------------------------

def test_private_collate_paths():
    from fastnn.utils.data._utils import collate as C
    from fastnn.utils.data._utils.collate import (collate, default_collate,  # noqa: F401
                                                  default_collate_fn_map, default_convert)
    from fastnn.utils.data._utils.worker import get_worker_info
    assert default_collate is D.default_collate and default_convert is D.default_convert
    assert get_worker_info() is None
    batch = [{"a": fastnn.ones(2), "b": (1, 2.5, "s"), "c": np.arange(3)} for _ in range(3)]
    for out in (default_collate(batch), collate(batch, collate_fn_map=default_collate_fn_map)):
        assert out["a"].shape == (3, 2) and out["c"].tolist() == [[0, 1, 2]] * 3
        assert out["b"][0].tolist() == [1, 1, 1] and out["b"][1].dtype is fastnn.float64
        assert tuple(out["b"][2]) == ("s", "s", "s")
    assert C.collate_str_fn(["x"]) == ["x"]


def test_collate_with_custom_map():
    from fastnn.utils.data._utils.collate import (collate, collate_numpy_array_fn,
                                                  default_collate_fn_map)

    class Box:
        def __init__(self, v):
            self.v = v

    def box_fn(batch, *, collate_fn_map=None):
        return [b.v for b in batch]

    fn_map = dict(default_collate_fn_map)
    fn_map[Box] = box_fn
    assert collate([(Box(1), 2), (Box(3), 4)], collate_fn_map=fn_map)[0] == [1, 3]
    tensor_map = {fastnn.Tensor: lambda b, *, collate_fn_map=None: len(b),
                  np.ndarray: collate_numpy_array_fn}
    assert collate([np.ones(2)] * 3, collate_fn_map=tensor_map) == 3
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        collate([Box(1)], collate_fn_map=default_collate_fn_map)
    with pytest.raises(RuntimeError, match="equal size"):
        collate([[1, 2], [3]], collate_fn_map=default_collate_fn_map)


# ---- 4. optimizer state loading --------------------------------------------------------

_STEP_OPTIMIZERS = ["Adam", "AdamW", "NAdam", "RAdam", "Adamax", "ASGD", "Adagrad", "Adadelta",
                    "RMSprop", "Rprop", "Adafactor"]
_EXTRA_SCALARS = {"NAdam": ("mu_product",), "ASGD": ("eta", "mu")}


@pytest.mark.parametrize("name", _STEP_OPTIMIZERS)
def test_loaded_number_step_becomes_float32_tensor(name):
    cls = getattr(fastnn.optim, name)
    p = nn.Parameter(fastnn.ones(2))
    opt = cls([p], lr=0.1)
    p.grad = fastnn.ones(2)
    opt.step()
    ref = copy.deepcopy(opt.state_dict())
    sd = copy.deepcopy(opt.state_dict())
    sd["state"][0]["step"] = 1
    for key in _EXTRA_SCALARS.get(name, ()):
        sd["state"][0][key] = float(sd["state"][0][key])
    q = nn.Parameter(fastnn.ones(2))
    opt2 = cls([q], lr=0.1)
    opt2.load_state_dict(sd)
    for key in ("step",) + _EXTRA_SCALARS.get(name, ()):
        value = opt2.state[q][key]
        assert isinstance(value, fastnn.Tensor) and value.dtype is fastnn.float32
        assert value.shape == ()
        assert value.item() == pytest.approx(float(ref["state"][0][key].item()))
    q.grad = fastnn.ones(2)
    opt2.step()  # stepping resumes from the loaded state
    assert opt2.state[q]["step"].item() == 2


def test_sgd_state_untouched_by_scalar_conversion():
    p = nn.Parameter(fastnn.ones(2))
    opt = fastnn.optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = fastnn.ones(2)
    opt.step()
    opt2 = fastnn.optim.SGD([p], lr=0.1, momentum=0.9)
    opt2.load_state_dict(opt.state_dict())
    assert set(opt2.state[p]) == {"momentum_buffer"}


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop", "Adagrad", "NAdam"])
def test_loading_state_of_another_shape(name):
    cls = getattr(fastnn.optim, name)
    kw = {"momentum": 0.9} if name == "SGD" else {}
    p, q = nn.Parameter(fastnn.ones(2)), nn.Parameter(fastnn.ones(3))
    opt = cls([p], lr=0.1, **kw)
    p.grad = fastnn.ones(2)
    opt.step()
    opt2 = cls([q], lr=0.1, **kw)
    opt2.load_state_dict(opt.state_dict())  # loads silently, as PyTorch does
    buf = [v for k, v in opt2.state[q].items() if k not in ("step", "mu_product")][0]
    assert buf.shape == (2,)
    q.grad = fastnn.ones(3)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(2\) must match the size "
                                           r"of tensor b \(3\) at non-singleton dimension 0"):
        opt2.step()


def test_mismatched_state_leaves_other_parameters_loadable():
    a, b = nn.Parameter(fastnn.ones(2)), nn.Parameter(fastnn.ones(4))
    opt = fastnn.optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = fastnn.ones(2), fastnn.ones(4)
    opt.step()
    c, d = nn.Parameter(fastnn.ones(2)), nn.Parameter(fastnn.ones(5))
    opt2 = fastnn.optim.Adam([c, d], lr=0.1)
    opt2.load_state_dict(opt.state_dict())
    assert opt2.state[c]["exp_avg"].tolist() == opt.state[a]["exp_avg"].tolist()
    assert opt2.state[d]["exp_avg"].shape == (4,)


# ---- 5. EMA of integer buffers -----------------------------------------------------------

def test_ema_integer_buffers_truncate_float32_arithmetic():
    ema = swa_utils.get_ema_multi_avg_fn(0.95)
    avg = [fastnn.tensor(13)]
    ema(avg, [fastnn.tensor(13)], 1)
    assert avg[0].item() == 12  # 12.35 + 0.65 is just below 13 in float32, truncated
    avg = [fastnn.tensor([10, 20, 33])]
    ema(avg, [fastnn.tensor([70, 71, 99])], 1)
    assert avg[0].tolist() == [13, 22, 36] and avg[0].dtype is fastnn.int64


def test_ema_model_num_batches_tracked_matches_torch():
    torch = pytest.importorskip("torch")
    counts = []
    for lib in (fastnn, torch):
        lib.manual_seed(0)
        m = lib.nn.BatchNorm1d(2)
        ema = lib.optim.swa_utils.AveragedModel(
            m, multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.95), use_buffers=True)
        seen = []
        for _ in range(70):
            m(lib.ones(4, 2))
            ema.update_parameters(m)
            seen.append(int(ema.module.num_batches_tracked))
        counts.append(seen)
    assert counts[0] == counts[1]
    assert counts[0][-1] == 50


def test_swa_multi_avg_fn_refuses_integer_tensors():
    swa = swa_utils.get_swa_multi_avg_fn()
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        swa([fastnn.tensor([1])], [fastnn.tensor([3])], fastnn.tensor(1))
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        swa([fastnn.tensor([1])], [fastnn.tensor([3])], 1)


def test_default_averaging_of_integer_buffers_matches_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (fastnn, torch):
        m = lib.nn.BatchNorm1d(2)
        sw = lib.optim.swa_utils.AveragedModel(m, use_buffers=True)
        seen = []
        for i in range(12):
            m(lib.arange(8.).reshape(4, 2) * (i + 1))
            sw.update_parameters(m)
            seen.append(int(sw.module.num_batches_tracked))
        results.append(seen)
    assert results[0] == results[1]


# ---- 6. __getitems__ returns a list --------------------------------------------------------

def _datasets():
    ds = D.TensorDataset(fastnn.arange(10), fastnn.arange(10) * 2.0)
    return [ds, D.Subset(ds, [1, 5, 7, 2]), D.StackDataset(ds, ds),
            D.StackDataset(a=fastnn.arange(10), b=ds)]


@pytest.mark.parametrize("index", range(4))
def test_getitems_is_a_list(index):
    ds = _datasets()[index]
    r = ds.__getitems__([0, 2])
    expected = [ds[0], ds[2]]
    assert isinstance(r, list) and len(r) == 2
    assert r == expected and expected == r
    assert repr(r) == repr(expected)
    assert r[:1] == expected[:1] and list(reversed(r)) == expected[::-1]
    assert [1] + r == [1] + expected and r + [1] == expected + [1]
    assert type(copy.copy(r)) is list and type(pickle.loads(pickle.dumps(r))) is list


def test_getitems_list_edits_change_the_collated_batch():
    ds = D.TensorDataset(fastnn.arange(10), fastnn.arange(10) * 2.0)
    r = ds.__getitems__([1, 3])
    assert [t.tolist() for t in D.default_collate(r)] == [[1, 3], [2.0, 6.0]]
    r.append(ds[5])
    assert [t.tolist() for t in D.default_collate(r)] == [[1, 3, 5], [2.0, 6.0, 10.0]]
    r.pop(0)
    assert len(r) == 2
    assert [t.tolist() for t in D.default_collate(r)] == [[3, 5], [6.0, 10.0]]


def test_dataloader_batches_still_collate():
    ds = D.TensorDataset(fastnn.arange(10), fastnn.arange(10) * 2.0)
    first = next(iter(D.DataLoader(ds, batch_size=4)))
    assert first[0].tolist() == [0, 1, 2, 3] and first[1].tolist() == [0.0, 2.0, 4.0, 6.0]
    kinds = list(D.DataLoader(D.Subset(ds, [9, 8, 7]), batch_size=2,
                              collate_fn=lambda b: (type(b), len(b))))
    assert kinds == [(list, 2), (list, 1)]


def test_subset_getitems_matches_torch():
    torch = pytest.importorskip("torch")
    outs = []
    for lib in (fastnn, torch):
        s = lib.utils.data.Subset(lib.utils.data.TensorDataset(lib.arange(10)), [1, 5, 7])
        r = s.__getitems__([0, 2])
        outs.append((isinstance(r, list), len(r), [t[0].item() for t in r]))
    assert outs[0] == outs[1]
