"""Module API parity, batch 3: extra state, full backward hooks with inputs that need no
gradient, attention-kernel switches, Module.compile, PackedSequence casts, conv weight
memory formats, global registration hooks and float32 BatchNorm statistics."""
import io
import warnings

import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.nn.modules import module as module_mod


def _with_extra_state(lib):
    class WithExtra(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.ones(2))
            self.register_buffer("b", lib.zeros(1))
            self.child = lib.nn.Linear(2, 2)
            self.extra = {"step": 3, "names": ["a", "b"]}

        def get_extra_state(self):
            return self.extra

        def set_extra_state(self, state):
            self.extra = state
    return WithExtra


# ---- 1. get_extra_state / set_extra_state -------------------------------------------------
def test_extra_state_key_order_and_round_trip(lib):
    m = _with_extra_state(lib)()
    sd = m.state_dict()
    assert list(sd) == ["w", "b", "_extra_state", "child.weight", "child.bias"]
    assert list(m.state_dict(prefix="p.")) == ["p.w", "p.b", "p._extra_state",
                                               "p.child.weight", "p.child.bias"]
    other = _with_extra_state(lib)()
    other.extra = None
    sd["_extra_state"] = {"step": 9}
    assert not any(other.load_state_dict(sd))
    assert other.extra == {"step": 9}


def test_extra_state_missing_and_unexpected(lib):
    m = _with_extra_state(lib)()
    sd = m.state_dict()
    del sd["_extra_state"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "_extra_state"'):
        m.load_state_dict(sd)
    r = m.load_state_dict(sd, strict=False)
    assert r.missing_keys == ["_extra_state"] and r.unexpected_keys == []
    lin = lib.nn.Linear(2, 2)
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "_extra_state"'):
        lin.load_state_dict({**lin.state_dict(), "_extra_state": 1})

    class OnlyGet(lib.nn.Module):  # saving needs get_, loading needs set_extra_state
        def get_extra_state(self):
            return 5
    assert dict(OnlyGet().state_dict()) == {"_extra_state": 5}
    with pytest.raises(RuntimeError, match="Unexpected key"):
        OnlyGet().load_state_dict({"_extra_state": 5})


@pytest.mark.parametrize("name", ["get_extra_state", "set_extra_state"])
def test_base_extra_state_methods_raise(name):
    args = () if name == "get_extra_state" else (1,)
    with pytest.raises(RuntimeError, match=f"Module.{name}\\(\\) that should never be called"):
        getattr(nn.Module(), name)(*args)


def test_extra_state_saved_and_loaded_by_fastnn_save():
    m = _with_extra_state(fastnn)()
    m.extra = {"step": 3, "items": [1, 2.5, "x", None, (4, 5)], "t": fastnn.arange(3.0)}
    buf = io.BytesIO()
    fastnn.save(m.state_dict(), buf)
    buf.seek(0)
    sd = fastnn.load(buf, weights_only=True)
    other = _with_extra_state(fastnn)()
    other.load_state_dict(sd)
    assert other.extra["items"] == [1, 2.5, "x", None, (4, 5)]
    np.testing.assert_array_equal(other.extra["t"].numpy(), [0.0, 1.0, 2.0])


# ---- 2. full backward hooks: inputs that need no gradient -----------------------------
def _hooked_grads(lib, make_args, kwargs=None):
    class AddScaled(lib.nn.Module):
        def forward(self, a, b, c=None):
            return a * 2 + b * 3
    seen = []
    m = AddScaled()
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m(*make_args(lib), **(kwargs or {})).sum().backward()
    return [None if g is None else (g.numpy().tolist(), str(g.dtype).split(".")[-1])
            for g in seen[-1]]


_ARG_CASES = {
    "b_no_grad": lambda lib: (lib.ones(2, requires_grad=True), lib.ones(2)),
    "a_no_grad": lambda lib: (lib.ones(2), lib.ones(2, requires_grad=True)),
    "b_int": lambda lib: (lib.ones(2, requires_grad=True), lib.ones(2, dtype=lib.int64)),
    "b_number": lambda lib: (lib.ones(2, requires_grad=True), 3.0),
    "unused_grad_input": lambda lib: (lib.ones(2, requires_grad=True), lib.ones(2),
                                      lib.ones(2, requires_grad=True)),
}


@pytest.mark.parametrize("case", sorted(_ARG_CASES))
def test_full_backward_hook_grad_input_for_inputs_without_grad(case):
    got = _hooked_grads(fastnn, _ARG_CASES[case])
    assert got[0] is not None or case == "a_no_grad"
    if case == "b_no_grad":
        assert got == [([2.0, 2.0], "float32"), ([0.0, 0.0], "float32")]
    torch = pytest.importorskip("torch")
    assert got == _hooked_grads(torch, _ARG_CASES[case])


def test_full_backward_hook_no_input_needs_grad(lib):
    lin = lib.nn.Linear(2, 1)
    seen = []
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        lin(lib.ones(1, 2)).sum().backward()
    assert seen == [(None,)]


def test_full_backward_hook_replacing_keeps_zero_slots_out_of_autograd():
    class AddScaled(nn.Module):
        def forward(self, a, b):
            return a * 2 + b * 3
    m = AddScaled()
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10, None))
    a = fastnn.ones(2, requires_grad=True)
    m(a, fastnn.ones(2)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [20.0, 20.0])


# ---- 3. attention kernel switches --------------------------------------------------------
def _switches(lib):
    c = lib.backends.cuda
    return [c.flash_sdp_enabled(), c.math_sdp_enabled(), c.mem_efficient_sdp_enabled(),
            c.cudnn_sdp_enabled()]


def _runs(lib):
    q = lib.ones(1, 2, 3, 4)
    try:
        lib.nn.functional.scaled_dot_product_attention(q, q, q)
        return "ok"
    except RuntimeError as e:
        return str(e)


_BACKEND_CHOICES = ["MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION",
                    "OVERRIDEABLE", "ERROR", "none", "EFFICIENT_ATTENTION+MATH"]


def _sdpa_state(lib, choice):
    from importlib import import_module
    attention = import_module(lib.__name__ + ".nn.attention")
    B = attention.SDPBackend
    backends = [] if choice == "none" else [getattr(B, n) for n in choice.split("+")]
    if len(backends) == 1:
        backends = backends[0]
    with attention.sdpa_kernel(backends) as ctx:
        inside = (ctx, _switches(lib), _runs(lib))
    return inside, _switches(lib)


@pytest.mark.parametrize("choice", _BACKEND_CHOICES)
def test_sdpa_kernel_switches(choice):
    inside, after = _sdpa_state(fastnn, choice)
    assert after == [True] * 4
    assert (inside[2] == "ok") == (choice in ("MATH", "FLASH_ATTENTION",
                                              "EFFICIENT_ATTENTION+MATH"))
    torch = pytest.importorskip("torch")
    assert (inside, after) == _sdpa_state(torch, choice)


def test_sdp_backend_enum():
    from fastnn.nn.attention import SDPBackend
    assert [(b.name, b.value) for b in SDPBackend] == [
        ("ERROR", -1), ("MATH", 0), ("FLASH_ATTENTION", 1), ("EFFICIENT_ATTENTION", 2),
        ("CUDNN_ATTENTION", 3), ("OVERRIDEABLE", 4)]
    assert repr(SDPBackend.MATH) == "<SDPBackend.MATH: 0>"
    assert str(SDPBackend.FLASH_ATTENTION) == "SDPBackend.FLASH_ATTENTION"
    assert int(SDPBackend.CUDNN_ATTENTION) == 3 and SDPBackend(2).name == "EFFICIENT_ATTENTION"
    assert SDPBackend.MATH != 0


def test_sdpa_kernel_errors_and_decorator():
    from fastnn.nn.attention import SDPBackend, sdpa_kernel
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend or a "
                                             "list of SDPBackend instances, got str"):
        with sdpa_kernel("math"):
            pass

    @sdpa_kernel(SDPBackend.MATH)
    def flash_on():
        return fastnn.backends.cuda.flash_sdp_enabled()
    assert flash_on() is False
    assert fastnn.backends.cuda.flash_sdp_enabled() is True
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH], set_priority=True):
        assert _switches(fastnn) == [True, True, False, False]
    assert _switches(fastnn) == [True] * 4


def test_backends_cuda_sdp_switches(lib):
    c = lib.backends.cuda
    with pytest.warns(FutureWarning, match="sdp_kernel\\(\\)` is deprecated"):
        ctx = c.sdp_kernel(enable_flash=False, enable_math=False)
    with ctx:
        assert _switches(lib) == [False, False, True, True]
        assert _runs(lib).startswith("No viable backend for scaled_dot_product_attention")
    assert _switches(lib) == [True] * 4
    for name in ("flash", "math", "mem_efficient", "cudnn"):
        getattr(c, f"enable_{name}_sdp")(False)
        try:
            assert getattr(c, f"{name}_sdp_enabled")() is False
        finally:
            getattr(c, f"enable_{name}_sdp")(True)
        with pytest.raises(RuntimeError, match="expects a bool, but got"):
            getattr(c, f"enable_{name}_sdp")(1)
    assert _switches(lib) == [True] * 4


# ---- 4. Module.compile ---------------------------------------------------------------------
def test_module_compile_keeps_module_working():
    lin = nn.Linear(3, 2)
    x = fastnn.randn(4, 3)
    before = lin(x)
    assert lin.compile(mode="reduce-overhead", dynamic=False) is None
    np.testing.assert_array_equal(lin(x).detach().numpy(), before.detach().numpy())
    lin(x).sum().backward()
    assert lin.weight.grad is not None


# ---- 5. PackedSequence dtype casts -------------------------------------------------------
_CASTS = ["long", "int", "half", "byte", "char", "short", "double", "float"]


def _packed_casts(lib):
    rnn = lib.nn.utils.rnn
    packed = rnn.pack_sequence([lib.ones(3, 2), lib.ones(2, 2)], enforce_sorted=False)
    out = {}
    for name in _CASTS:
        p = getattr(packed, name)()
        out[name] = (type(p).__name__, str(p.data.dtype).split(".")[-1],
                     str(p.batch_sizes.dtype).split(".")[-1],
                     str(p.sorted_indices.dtype).split(".")[-1])
    out["to"] = str(packed.to(lib.float16).data.dtype).split(".")[-1]
    out["same"] = packed.to(lib.float32) is packed
    return out


def test_packed_sequence_casts():
    got = _packed_casts(fastnn)
    assert got["int"] == ("PackedSequence", "int32", "int64", "int64")
    assert got["same"] and got["to"] == "float16"
    torch = pytest.importorskip("torch")
    assert got == _packed_casts(torch)


# ---- 6. conv weight memory formats and global registration hooks ---------------------------
def test_convert_conv_weight_memory_format(lib):
    model = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 2),
                              lib.nn.Sequential(lib.nn.ConvTranspose2d(4, 2, 3)),
                              lib.nn.Conv3d(2, 2, 2))
    weight = model[0].weight
    values = weight.detach().clone()
    out = lib.nn.utils.convert_conv2d_weight_memory_format(model, lib.channels_last)
    assert out is model and model[0].weight is weight
    assert tuple(model[0].weight.stride()) == (12, 1, 6, 3)
    assert tuple(model[1][0].weight.stride()) == (18, 1, 6, 2)
    assert tuple(model[2].weight.stride()) == (16, 8, 4, 2, 1)
    assert lib.equal(model[0].weight, values)
    lib.nn.utils.convert_conv3d_weight_memory_format(model, lib.channels_last_3d)
    assert tuple(model[2].weight.stride()) == (16, 1, 8, 4, 2)


def _registration_log(lib):
    M = lib.nn.modules.module
    log = []

    def on_buffer(m, name, b):
        log.append(("buffer", name, None if b is None else tuple(b.shape)))
        if name == "swapped":
            return lib.full((2,), 7.0)

    def on_param(m, name, p):
        log.append(("param", name, tuple(p.shape)))

    def on_module(m, name, s):
        log.append(("module", name, type(s).__name__))
        if name == "act":
            return lib.nn.Tanh()
    handles = [M.register_module_buffer_registration_hook(on_buffer),
               M.register_module_parameter_registration_hook(on_param),
               M.register_module_module_registration_hook(on_module)]
    try:
        m = lib.nn.Module()
        m.lin = lib.nn.Linear(2, 3)
        m.register_buffer("b", lib.ones(1))
        m.b = lib.zeros(2)
        m.register_buffer("none", None)
        m.register_buffer("swapped", lib.ones(1), persistent=False)
        m.w = lib.nn.Parameter(lib.ones(4))
        m.w = None
        m.add_module("act", lib.nn.ReLU())
        m.register_module("empty", None)
        m.lin = None
        result = (type(m.act).__name__, m.swapped.tolist())
    finally:
        for h in handles:
            h.remove()
    lib.nn.Module().register_buffer("after_removal", lib.ones(1))
    return log, result


def test_global_registration_hooks():
    log, result = _registration_log(fastnn)
    assert result == ("Tanh", [7.0, 7.0])
    assert ("param", "w", (4,)) in log and ("module", "empty", "NoneType") in log
    torch = pytest.importorskip("torch")
    assert (log, result) == _registration_log(torch)


def test_global_backward_hook_kinds_exclude_each_other():
    M = module_mod
    seen = []
    h = M.register_module_backward_hook(lambda m, gi, go: seen.append(len(gi)))
    try:
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and "
                                               "full backward hooks"):
            M.register_module_full_backward_hook(lambda m, gi, go: None)
        nn.Linear(2, 1)(fastnn.ones(1, 2, requires_grad=True)).sum().backward()
        assert seen == [1]
    finally:
        h.remove()
    # fastnn frees the slot once the hook is removed
    h = M.register_module_full_backward_hook(lambda m, gi, go: None)
    try:
        with pytest.raises(RuntimeError, match="Cannot use both"):
            M.register_module_backward_hook(lambda m, gi, go: None)
    finally:
        h.remove()


# ---- 8. BatchNorm float32 statistics ---------------------------------------------------
def test_batch_norm_float32_statistics_with_large_offset():
    rng = np.random.default_rng(0)
    x = (1000 + rng.standard_normal((64, 4, 8, 8))).astype(np.float32)
    x64 = x.astype(np.float64)
    mean, var = x64.mean((0, 2, 3)), x64.var((0, 2, 3))
    expected = (x64 - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    for contiguous in (True, False):
        bn = nn.BatchNorm2d(4)
        inp = fastnn.tensor(x)
        if not contiguous:
            inp = fastnn.tensor(x.transpose(0, 2, 3, 1).copy()).permute(0, 3, 1, 2)
        y = bn(inp).detach().numpy()
        assert np.abs(y - expected).max() < 1e-4
        np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean, rtol=1e-6)


# ---- 7. AdaptiveLogSoftmaxWithLoss -----------------------------------------------------
@pytest.mark.parametrize("cutoffs, target, head_bias", [
    ([3, 6], [0, 4, 7, 9, 2, 5], True),     # shortlist and both clusters
    ([3, 6], [0, 1, 2, 1, 0, 2], False),    # shortlist only
    ([2], [5, 6, 7, 8, 9, 3], False),       # tail only
])
def test_adaptive_log_softmax_parity(cutoffs, target, head_bias):
    torch = pytest.importorskip("torch")
    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs, div_value=2.0,
                                              head_bias=head_bias)
    asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs, div_value=2.0, head_bias=head_bias)
    assert list(asm.state_dict()) == list(ref.state_dict())
    assert repr(asm) == repr(ref)
    asm.load_state_dict({k: fastnn.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)
    xt, xf = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    rt, rf = ref(xt, torch.tensor(target)), asm(xf, fastnn.tensor(target))
    assert type(rf).__name__ == "_ASMoutput" and rf._fields == ("output", "loss")
    np.testing.assert_allclose(rf.output.detach().numpy(), rt.output.detach().numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(rf.loss.item(), rt.loss.item(), rtol=1e-6)
    rt.loss.backward()
    rf.loss.backward()
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), atol=1e-7)
    for pf, pt in zip(asm.parameters(), ref.parameters()):
        assert (pf.grad is None) == (pt.grad is None)
        if pt.grad is not None:
            np.testing.assert_allclose(pf.grad.numpy(), pt.grad.numpy(), atol=1e-7)
    np.testing.assert_allclose(asm.log_prob(xf).detach().numpy(),
                               ref.log_prob(xt).detach().numpy(), atol=1e-6)
    assert asm.predict(xf).tolist() == ref.predict(xt).tolist()
    one_t, one_f = ref(xt[0], torch.tensor(target[0])), asm(xf[0], fastnn.tensor(target[0]))
    assert one_f.output.shape == () and abs(one_f.loss.item() - one_t.loss.item()) < 1e-6


def test_adaptive_log_softmax_basics_and_errors():
    asm = nn.AdaptiveLogSoftmaxWithLoss(8, 10, (3, 6), div_value=2.0)
    assert (asm.cutoffs, asm.shortlist_size, asm.n_clusters, asm.head_size) == \
        ([3, 6, 10], 3, 2, 5)
    x = fastnn.randn(4, 8)
    np.testing.assert_allclose(asm.log_prob(x).exp().sum(1).detach().numpy(), 1.0, rtol=1e-5)
    assert asm.predict(x).tolist() == asm.log_prob(x).argmax(1).tolist()
    out, loss = asm(x, fastnn.tensor([0, 4, 7, 9]))
    np.testing.assert_allclose(
        out.detach().numpy(),
        asm.log_prob(x).detach().numpy()[np.arange(4), [0, 4, 7, 9]], rtol=1e-5)
    assert abs(loss.item() + out.mean().item()) < 1e-6
    bad_cutoffs = "cutoffs should be a sequence of unique, positive integers"
    for cutoffs in ([6, 3], [3, 10], [0, 6], [3, 3]):
        with pytest.raises(ValueError, match=bad_cutoffs):
            nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [])
    with pytest.raises(RuntimeError, match="Input and target should have the same size"):
        asm(x, fastnn.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        asm(x, fastnn.tensor([[0]]))
    with pytest.raises(RuntimeError, match="0D target tensor expects 1D input tensors"):
        asm(x, fastnn.tensor(1))
    with pytest.raises(RuntimeError, match="Target values should be in \\[0, 9\\], but values "
                                           "in range \\[-1, 2\\] were found."):
        asm(x, fastnn.tensor([0, 1, 2, -1]))


# ---- 7b. CrossMapLRN2d ---------------------------------------------------------------------
@pytest.mark.parametrize("size", [2, 3, 5, 9])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_map_lrn2d_parity(size, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(size)
    x = rng.standard_normal((2, 7, 3, 3)).astype(dtype)
    g = rng.standard_normal((2, 7, 3, 3)).astype(dtype)
    xt, xf = torch.tensor(x, requires_grad=True), fastnn.tensor(x, requires_grad=True)
    yt = torch.nn.CrossMapLRN2d(size, alpha=0.5, beta=0.75, k=1.0)(xt)
    yf = nn.CrossMapLRN2d(size, alpha=0.5, beta=0.75, k=1.0)(xf)
    yt.backward(torch.tensor(g))
    yf.backward(fastnn.tensor(g))
    tol = 1e-6 if dtype == "float32" else 1e-14
    assert str(yf.dtype) == f"fastnn.{dtype}"
    np.testing.assert_allclose(yf.detach().numpy(), yt.detach().numpy(), atol=tol)
    np.testing.assert_allclose(xf.grad.numpy(), xt.grad.numpy(), atol=tol)


def test_cross_map_lrn2d_basics():
    lrn = nn.CrossMapLRN2d(3)
    assert repr(lrn) == "CrossMapLRN2d(3, alpha=0.0001, beta=0.75, k=1)"
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D"):
        lrn(fastnn.ones(2, 3, 4))
    # a lone channel is divided by (k + alpha / size * x^2) ** beta
    x = fastnn.full((1, 1, 1, 1), 2.0)
    expected = 2.0 / (1 + 1e-4 / 3 * 4.0) ** 0.75
    np.testing.assert_allclose(lrn(x).item(), expected, rtol=1e-6)


# ---- 3b. nn.attention.bias -------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["causal_lower_right", "causal_upper_left"])
@pytest.mark.parametrize("lq, lk", [(3, 5), (5, 3), (4, 4)])
def test_causal_bias_masks(variant, lq, lk):
    from fastnn.nn.attention import bias
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mask = getattr(bias, variant)(lq, lk)
    diagonal = lk - lq if variant == "causal_lower_right" else 0
    expected = np.tril(np.ones((lq, lk), dtype=bool), diagonal)
    np.testing.assert_array_equal(mask._materialize().numpy(), expected)
    rng = np.random.default_rng(0)
    q = fastnn.tensor(rng.standard_normal((1, 2, lq, 4)).astype(np.float32))
    k = fastnn.tensor(rng.standard_normal((1, 2, lk, 4)).astype(np.float32))
    sdpa = nn.functional.scaled_dot_product_attention
    np.testing.assert_array_equal(sdpa(q, k, k, attn_mask=mask).numpy(),
                                  sdpa(q, k, k, attn_mask=fastnn.tensor(expected)).numpy())
    torch = pytest.importorskip("torch")
    from torch.nn.attention import bias as torch_bias
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.nn.functional.scaled_dot_product_attention(
            torch.tensor(q.numpy()), torch.tensor(k.numpy()), torch.tensor(k.numpy()),
            attn_mask=getattr(torch_bias, variant)(lq, lk))
    np.testing.assert_allclose(sdpa(q, k, k, attn_mask=mask).numpy(), ref.numpy(), atol=1e-6)


def test_causal_bias_checks():
    from fastnn.nn.attention.bias import CausalVariant, causal_lower_right, causal_upper_left
    with pytest.raises(AssertionError, match="causal_lower_right only supports 2D tensors"):
        causal_lower_right(2)
    with pytest.raises(AssertionError, match="causal_upper_left only supports 2D tensors"):
        causal_upper_left(2, 3, 4)
    with pytest.warns(UserWarning, match="Lower right causal bias will produce NaNs"):
        causal_lower_right(3, 2)
    b = causal_upper_left(2, 3)
    assert (b.variant, b.seq_len_q, b.seq_len_kv) == (CausalVariant.UPPER_LEFT, 2, 3)
    assert int(CausalVariant.LOWER_RIGHT) == 2 and b.shape == (2, 3)


def test_backward_pre_hook_alone_warns_when_no_input_needs_a_gradient():
    m = fastnn.nn.Linear(2, 2)
    m.register_full_backward_pre_hook(lambda mod, grad_output: None)
    with pytest.warns(UserWarning, match="Full backward hook is firing"):
        m(fastnn.ones(1, 2)).sum().backward()
