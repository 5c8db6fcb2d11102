"""The fused recurrent loop of RNN, LSTM and GRU (nn/_functional/rnn_fused.py and the
_core.rnn_* kernels) against the composite per-step path, gradcheck and PyTorch."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn import _core
from fastnn.nn._functional import rnn_fused
from fastnn.nn.utils import rnn as rnn_utils

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}
FDT = {np.float32: fastnn.float32, np.float64: fastnn.float64}
LAYERS = [("LSTM", {}), ("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"})]
CONFIGS = [dict(), dict(batch_first=True), dict(num_layers=2, bidirectional=True),
           dict(bias=False), dict(num_layers=2, bidirectional=True, batch_first=True)]
INPUTS = ["padded", "padded_hx", "unbatched", "packed", "packed_hx"]


def _run(m, x, hx, packed, lengths, batch_first):
    if packed:
        x = rnn_utils.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                           enforce_sorted=False)
    out, state = m(x) if hx is None else m(x, hx)
    if packed:
        out = rnn_utils.pad_packed_sequence(out, batch_first=batch_first)[0]
    return [out] + (list(state) if isinstance(state, tuple) else [state])


def _forward_backward(m, x0, hx0, fused, packed, lengths, bf):
    previous = rnn_fused.set_enabled(fused)
    try:
        m.zero_grad()
        x = fastnn.tensor(x0, requires_grad=True)
        hx = None if hx0 is None else tuple(fastnn.tensor(h, requires_grad=True) for h in hx0)
        outs = _run(m, x, hx if hx is None or len(hx) == 2 else hx[0], packed, lengths, bf)
        rng = np.random.default_rng(7)
        sum((o * fastnn.tensor(rng.standard_normal(tuple(o.shape)).astype(x0.dtype))).sum()
            for o in outs).backward()
        grads = [x.grad] + ([] if hx is None else [h.grad for h in hx])
        return ([o.detach().numpy() for o in outs] + [g.numpy() for g in grads] +
                [p.grad.numpy() for p in m.parameters()])
    finally:
        rnn_fused.set_enabled(previous)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("layer,kw", LAYERS)
@pytest.mark.parametrize("inputs", INPUTS)
def test_fused_matches_composite(layer, kw, config, dtype, inputs, calls):
    fastnn.manual_seed(0)
    m = getattr(nn, layer)(3, 4, dtype=FDT[dtype], **kw, **config)
    bf = config.get("batch_first", False)
    rng = np.random.default_rng(1)
    unbatched = inputs == "unbatched"
    shape = (6, 3) if unbatched else ((4, 6, 3) if bf else (6, 4, 3))
    x = rng.standard_normal(shape).astype(dtype)
    hx = None
    if inputs.endswith("_hx"):
        d = 2 if m.bidirectional else 1
        hs = [rng.standard_normal((m.num_layers * d, 4, 4)).astype(dtype)
              for _ in range(2 if layer == "LSTM" else 1)]
        hx = tuple(hs)
    packed = inputs.startswith("packed")
    lengths = [3, 6, 1, 5]
    fused = _forward_backward(m, x, hx, True, packed, lengths, bf)
    assert len(calls) == m.num_layers * (2 if m.bidirectional else 1)
    calls.clear()
    composite = _forward_backward(m, x, hx, False, packed, lengths, bf)
    assert not calls
    assert len(fused) == len(composite)
    for k, (a, b) in enumerate(zip(fused, composite)):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TOL[dtype], err_msg=f"array {k}")


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_node_gradcheck(mode, reverse, bias):
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    hidden, sizes = 3, [3, 3, 2, 1]
    f64 = fastnn.float64

    def leaf(*shape):
        return (fastnn.randn(*shape, dtype=f64) * 0.7).requires_grad_()
    fastnn.manual_seed(2)
    gi = leaf(sum(sizes), gates * hidden)
    states = (leaf(3, hidden), leaf(3, hidden)) if mode == "LSTM" else (leaf(3, hidden),)
    w, b = leaf(gates * hidden, hidden), leaf(gates * hidden) if bias else None
    if mode == "RNN_RELU":  # keep pre-activations away from relu's kink
        with fastnn.no_grad():
            gi += 0.5 * gi.sign()

    def fn(gi, w, *rest):
        st, bb = rest[:len(states)], (rest[len(states)] if bias else None)
        out, final = rnn_fused.run(mode, gi, st, w, bb, sizes, reverse)
        return (out,) + final
    assert fastnn.autograd.gradcheck(fn, (gi, w) + states + ((b,) if bias else ()))


def test_pytorch_parity():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for layer, kw in [("LSTM", dict(num_layers=2, bidirectional=True)),
                      ("GRU", dict(num_layers=2, bidirectional=True)), ("RNN", dict())]:
        torch.manual_seed(0)
        tm = getattr(torch.nn, layer)(5, 6, **kw)
        fm = getattr(nn, layer)(5, 6, **kw)
        fm.load_state_dict({k: fastnn.tensor(v.detach().numpy())
                            for k, v in tm.state_dict().items()})
        x = rng.standard_normal((7, 3, 5)).astype(np.float32)
        for packed in (False, True):
            lengths = [7, 4, 2]
            fx = fastnn.tensor(x, requires_grad=True)
            tx = torch.tensor(x, requires_grad=True)
            fin = rnn_utils.pack_padded_sequence(fx, lengths) if packed else fx
            tin = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths) if packed else tx
            (fo, fs), (to, ts) = fm(fin), tm(tin)
            if packed:
                fo = rnn_utils.pad_packed_sequence(fo)[0]
                to = torch.nn.utils.rnn.pad_packed_sequence(to)[0]
            fs = fs if isinstance(fs, tuple) else (fs,)
            ts = ts if isinstance(ts, tuple) else (ts,)
            for f, t in zip((fo,) + fs, (to,) + ts):
                np.testing.assert_allclose(f.detach().numpy(), t.detach().numpy(),
                                           rtol=1e-4, atol=1e-5)
            sum((f * f).sum() for f in (fo,) + fs).backward()
            sum((t * t).sum() for t in (to,) + ts).backward()
            np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
            for (name, fp), (_, tp) in zip(fm.named_parameters(), tm.named_parameters()):
                np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), rtol=1e-4,
                                           atol=1e-4, err_msg=name)
            fm.zero_grad()
            tm.zero_grad()


def test_without_direct_blas_matches():
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True, dtype=fastnn.float64)
    x = np.random.default_rng(4).standard_normal((5, 2, 3))
    direct = _forward_backward(m, x, None, True, False, None, False)
    previous = _core._use_direct_blas(False)
    try:
        numpy_mm = _forward_backward(m, x, None, True, False, None, False)
    finally:
        _core._use_direct_blas(previous)
    for a, b in zip(direct, numpy_mm):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("layer,kw", LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("packed", [False, True])
def test_gate_passes_split_between_threads_give_the_serial_bits(layer, kw, dtype, packed):
    # every element of a step's gates is computed the same way whichever thread owns its
    # row; odd batch sizes (7, then the packed steps' shrinking ones) give uneven blocks
    m = getattr(nn, layer)(3, 5, num_layers=2, bidirectional=True, dtype=FDT[dtype], **kw)
    x = np.random.default_rng(2).standard_normal((6, 7, 3)).astype(dtype)
    lengths = [6, 5, 5, 3, 2, 2, 1] if packed else None
    threads = fastnn.get_num_threads()
    previous = _core._set_parallel_min(1 << 30)
    try:
        fastnn.set_num_threads(1)
        serial = _forward_backward(m, x, None, True, packed, lengths, False)
        fastnn.set_num_threads(3)
        _core._set_parallel_min(1)
        split = _forward_backward(m, x, None, True, packed, lengths, False)
    finally:
        _core._set_parallel_min(previous)
        fastnn.set_num_threads(threads)
    for a, b in zip(serial, split):
        np.testing.assert_array_equal(a, b)


def test_fallbacks_take_the_composite_path(calls):
    x = fastnn.randn(4, 2, 3)
    nn.LSTM(3, 4, proj_size=2)(x)
    assert not calls
    nn.LSTM(3, 4, dtype=fastnn.float16)(x.half())
    assert not calls
    nn.LSTM(3, 4)(x)
    assert calls == ["LSTM"]


def test_float32_gates_are_accurate():
    # the vectorized float32 sigmoid/tanh against float64 math, over the whole range
    m = nn.RNN(1, 1, bias=False)
    with fastnn.no_grad():
        m.weight_ih_l0.fill_(1.0)
        m.weight_hh_l0.fill_(0.0)
    v = np.concatenate([np.linspace(-30, 30, 200001), [0.0, -0.0, 1e-30, -1e-30, 100, -100]])
    y = m(fastnn.tensor(v.astype(np.float32)).reshape(1, -1, 1))[0].detach().numpy().ravel()
    np.testing.assert_allclose(y, np.tanh(v.astype(np.float32).astype(np.float64)),
                               rtol=3e-7, atol=1e-37)
    bad = m(fastnn.tensor(np.array([np.nan, np.inf, -np.inf], np.float32)).reshape(1, 3, 1))[0]
    bad = bad.detach().numpy().ravel()
    assert np.isnan(bad[0]) and bad[1:].tolist() == [1.0, -1.0]


def _f32(v):
    return np.float32(v)


def _expf_reference(x):
    """The kernels' float32 exp, operation by operation in numpy (IEEE float32, no FMA)."""
    i32 = np.int32
    xi = x.view(i32)
    ax = xi & i32(0x7fffffff)
    clamp = (ax > 0x42ae0000) & (ax <= 0x7f800000)
    x = np.where(clamp, (xi & i32(-2 ** 31)) | i32(0x42ae0000), xi).view(np.float32)
    s = x * _f32(1.44269504088896341) + _f32(12582912.0)
    n = s.view(i32) - i32(0x4b400000)
    s = s - _f32(12582912.0)
    r = x - s * _f32(0.693359375)
    r = r + s * _f32(2.12194440e-4)
    p = (((_f32(1.9875691500e-4) * r + _f32(1.3981999507e-3)) * r + _f32(8.3334519073e-3))
         * r + _f32(4.1665795894e-2)) * r + _f32(1.6666665459e-1)
    p = (p * r + _f32(5.0000001201e-1)) * (r * r) + r + _f32(1.0)
    return p * ((n + i32(127)) << i32(23)).view(np.float32)


def _tanhf_reference(x):
    i32 = np.int32
    xi = x.view(i32)
    sign, ai = xi & i32(-2 ** 31), xi & i32(0x7fffffff)
    m = (ai < 0x3f200000).astype(np.float32)
    xs = (np.minimum(ai, i32(0x3f200000)) | sign).view(np.float32)
    z = xs * xs
    p = (((_f32(-5.70498872745e-3) * z + _f32(2.06390887954e-2)) * z - _f32(5.37397155531e-2))
         * z + _f32(1.33314422036e-1)) * z - _f32(3.33332819422e-1)
    p = xs + xs * z * p
    e = _expf_reference(_f32(2.0) * ai.view(np.float32))
    big = ((_f32(1.0) - _f32(2.0) / (e + _f32(1.0))).view(i32) | sign).view(np.float32)
    return m * p + (_f32(1.0) - m) * big


def test_float32_gate_kernels_give_the_bits_of_their_scalar_definition():
    # the gate loops run in whichever SIMD version the CPU allows (AVX-512, AVX2, SSE2):
    # every one must give exactly the bits of the scalar formulas, emulated here in numpy
    rng = np.random.default_rng(3)
    batch, hidden = 512, 40
    gi = (rng.standard_normal((batch, 4 * hidden)) * rng.choice([0.1, 3, 30], (batch, 1)))
    gi = gi.astype(np.float32)
    gi[0, :8] = [0.0, -0.0, 1e-30, -1e-30, 88.5, -88.5, 1e4, -1e4]
    args = _buffers("LSTM", np.float32, n=batch, batch=batch, hidden=hidden)
    c0 = (rng.standard_normal((batch, hidden)) * 5).astype(np.float32)
    args.update(gi=gi, batch_sizes=np.array([batch], np.int64), c=c0.copy())
    with np.errstate(all="ignore"):
        _core.rnn_forward("LSTM", *args.values())
        g = gi + _f32(0.0)  # the kernel adds h @ w_hh.T + b_hh, both zero here
        sig = _f32(1.0) / (_f32(1.0) + _expf_reference(-g))
        i, f, gg, o = np.split(sig, 4, axis=1)
        gg = _tanhf_reference(np.ascontiguousarray(np.split(g, 4, axis=1)[2]))
        c = f * c0 + i * gg
        tc = _tanhf_reference(c)
    np.testing.assert_array_equal(args["act"].view(np.int32),
                                  np.concatenate([i, f, gg, o], axis=1).view(np.int32))
    np.testing.assert_array_equal(args["c"].view(np.int32), c.view(np.int32))
    np.testing.assert_array_equal(args["tc"].view(np.int32), tc.view(np.int32))
    np.testing.assert_array_equal(args["y"].view(np.int32), (o * tc).view(np.int32))


def test_in_place_modification_of_saved_values_is_detected():
    m = nn.LSTM(3, 4)
    out, _ = m(fastnn.randn(5, 2, 3))
    with fastnn.no_grad():
        m.weight_hh_l0.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
    out, _ = nn.RNN(3, 4)(fastnn.randn(5, 2, 3, requires_grad=True))
    out.mul_(2)  # the tanh outputs are what its backward reads
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_double_backward_recomputes_or_names_the_node():
    f64 = fastnn.float64
    gi = fastnn.randn(6, 9, dtype=f64, requires_grad=True)
    h0 = fastnn.randn(2, 3, dtype=f64, requires_grad=True)
    w = fastnn.randn(9, 3, dtype=f64, requires_grad=True)

    def fn(gi, h0, w):
        return rnn_fused.run("GRU", gi, (h0,), w, None, [2, 2, 2], False)[0]
    try:
        ok = fastnn.autograd.gradgradcheck(fn, (gi, h0, w))
    except NotImplementedError as e:
        assert "FusedRnnBackward0" in str(e)
    else:
        assert ok


# ---- the kernels' checked wrappers

def _buffers(mode="LSTM", dt=np.float32, n=4, batch=2, hidden=3):
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    z = lambda *s: np.zeros(s, dt)  # noqa: E731
    return dict(gi=z(n, gates * hidden), w_hh=z(gates * hidden, hidden), b_hh=z(gates * hidden),
                batch_sizes=np.array([2, 2], np.int64), reverse=False, h=z(batch, hidden),
                c=z(batch, hidden), y=z(n, hidden), hp=z(n, hidden), cp=z(n, hidden),
                tc=z(n, hidden), act=z(n, 4 * hidden), tmp=z(batch, 3 * hidden))


def test_forward_wrapper_runs_with_valid_buffers():
    args = _buffers()
    _core.rnn_forward("LSTM", *args.values())
    assert np.allclose(args["y"], 0)


@pytest.mark.parametrize("change,exc,match", [
    (dict(w_hh=np.zeros((12, 3), np.int64)), TypeError, "float32 or float64"),
    (dict(gi=np.zeros((4, 12), np.int64)), TypeError, "same dtype"),
    (dict(w_hh=np.zeros((12, 3), np.float64)), TypeError, "same dtype"),
    (dict(gi=np.zeros((4, 11), np.float32)), RuntimeError, "shape"),
    (dict(h=np.zeros((2, 3, 1), np.float32)), RuntimeError, "2-D"),
    (dict(gi=np.zeros((12, 4), np.float32).T), ValueError, "C-contiguous"),
    (dict(c=None), TypeError, "required"),
    (dict(gi=[[0.0]]), TypeError, "numpy.ndarray"),
    (dict(batch_sizes=np.array([2, 3], np.int64)), ValueError, "non-increasing"),
    (dict(batch_sizes=np.array([2, 1], np.int64)), RuntimeError, "shape"),
    (dict(batch_sizes=np.array([2, 2], np.int32)), TypeError, "int64"),
])
def test_forward_wrapper_rejects_bad_arguments(change, exc, match):
    args = _buffers()
    args.update(change)
    with pytest.raises(exc, match=match):
        _core.rnn_forward("LSTM", *args.values())


def test_wrappers_reject_read_only_overlapping_and_unknown():
    args = _buffers()
    args["y"].flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _core.rnn_forward("LSTM", *args.values())
    args = _buffers()
    args["hp"] = args["y"]
    with pytest.raises(ValueError, match="overlaps"):
        _core.rnn_forward("LSTM", *args.values())
    with pytest.raises(ValueError, match="unknown mode"):
        _core.rnn_forward("LSTMX", *_buffers().values())


def test_backward_wrapper_checks():
    a = _buffers("GRU", np.float64)
    bwd = dict(w_hh=a["w_hh"], batch_sizes=a["batch_sizes"], reverse=False, y=None,
               hp=a["hp"], cp=None, tc=None, act=a["act"], gy=None, dh=a["h"].copy(), dc=None,
               dgi=np.zeros_like(a["gi"]), dgh=np.zeros_like(a["gi"]))
    _core.rnn_backward("GRU", *bwd.values())
    for change, exc in [(dict(dgh=None), TypeError), (dict(act=a["act"][:, :5]), ValueError),
                        (dict(dh=np.zeros((2, 3), np.float32)), TypeError),
                        (dict(dgi=np.zeros((4, 8))), RuntimeError)]:
        with pytest.raises(exc):
            _core.rnn_backward("GRU", *{**bwd, **change}.values())

