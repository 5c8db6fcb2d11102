"""Edge cases of the fused recurrent loop (nn/_functional/rnn_fused.py): every scenario runs
in PyTorch, in fastnn with the fused node and in fastnn's composite path, from the same
weights, comparing outputs and the gradients of inputs, initial states and parameters."""
import numpy as np
import pytest

import fastnn
import fastnn.nn as fnn
from fastnn import _core
from fastnn.nn._functional import rnn_fused

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}
KINDS = ["LSTM", "GRU", "RNN", "RNN_RELU"]


def _layer(lib, kind, *args, **kw):
    if kind == "RNN_RELU":
        return lib.nn.RNN(*args, nonlinearity="relu", **kw)
    return getattr(lib.nn, kind)(*args, **kw)


def _pair(lib, kind, dt, *args, **kw):
    """The same randomly initialized layer in PyTorch or (weights copied) in fastnn."""
    torch.manual_seed(3)
    tm = _layer(torch, kind, *args, **kw).to(getattr(torch, np.dtype(dt).name))
    if lib is torch:
        return tm
    fm = _layer(fastnn, kind, *args, **kw).to(getattr(fastnn, np.dtype(dt).name))
    fm.load_state_dict({k: fastnn.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    return fm


def _np(t):
    return None if t is None else t.detach().numpy().copy()


def _loss(lib, tensors, seed=5):
    rng = np.random.default_rng(seed)
    return sum((t * lib.tensor(rng.standard_normal(tuple(t.shape))).to(t.dtype)).sum()
               for t in tensors)


def _states(hn):
    return list(hn) if isinstance(hn, tuple) else [hn]


def _param_grads(m, out):
    out.update({n: _np(p.grad) for n, p in m.named_parameters()})
    return out


def _three_ways(scenario, dt, calls, fused_expected=True):
    """Runs scenario(lib, dt) -> {name: array} in PyTorch, fused fastnn and composite fastnn."""
    want = scenario(torch, dt)
    for fused in (True, False):
        previous = rnn_fused.set_enabled(fused)
        calls.clear()
        try:
            got = scenario(fastnn, dt)
        finally:
            rnn_fused.set_enabled(previous)
        assert bool(calls) == (fused and fused_expected)
        assert set(got) == set(want)
        for k in want:
            if want[k] is None:
                assert got[k] is None, k
            else:
                np.testing.assert_allclose(got[k], want[k], equal_nan=True, **TOL[dt],
                                           err_msg=f"{k} (fused={fused})")


X = np.random.default_rng(0).standard_normal((5, 3, 4))
H0 = np.random.default_rng(1).standard_normal((2, 3, 6))


def _frozen_and_broadcast_states(kind):
    def scenario(lib, dt):
        m = _pair(lib, kind, dt, 4, 6, num_layers=2)
        m.weight_hh_l0.requires_grad_(False)
        m.bias_ih_l1.requires_grad_(False)
        x = lib.tensor(X.astype(dt))  # no grad: only the states and weights get one
        hb = lib.tensor(H0[:, :1].astype(dt), requires_grad=True)
        cb = lib.tensor(np.ascontiguousarray(H0.transpose(0, 2, 1)).astype(dt),
                        requires_grad=True)
        h0, c0 = hb.expand(2, 3, 6), cb.transpose(1, 2)  # expanded / non-contiguous
        out, hn = m(x, (h0, c0) if kind == "LSTM" else h0)
        _loss(lib, [out] + _states(hn)).backward()
        return _param_grads(m, {"out": _np(out), "hb": _np(hb.grad),
                                "cb": _np(cb.grad) if kind == "LSTM" else None})
    return scenario


def _parametrized_and_tied(kind):
    def scenario(lib, dt):
        m = _pair(lib, kind, dt, 4, 6, num_layers=3)
        lib.nn.utils.parametrizations.weight_norm(m, "weight_hh_l0")

        class Affine(lib.nn.Module):
            def forward(self, w):
                return w.t().t() * 2.0 + 0.1
        lib.nn.utils.parametrize.register_parametrization(m, "weight_hh_l1", Affine())
        m.bias_hh_l2 = m.bias_ih_l2  # a parameter used twice by one layer
        x = lib.tensor(X.astype(dt), requires_grad=True)
        out, hn = m(x)
        _loss(lib, [out] + _states(hn)).backward()
        return _param_grads(m, {"out": _np(out), "x": _np(x.grad)})
    return scenario


def _accumulation_and_hooks(kind):
    def scenario(lib, dt):
        m = _pair(lib, kind, dt, 4, 6, num_layers=2, bidirectional=True)
        seen = {}
        m.weight_hh_l0.register_hook(lambda g: g * 3)
        m.bias_hh_l1_reverse.register_hook(lambda g: seen.__setitem__("hook", _np(g)))
        m.weight_hh_l1.register_post_accumulate_grad_hook(
            lambda p: seen.__setitem__("post", _np(p.grad)))
        x = lib.tensor(X.astype(dt), requires_grad=True)
        out, hn = m(x)
        out.register_hook(lambda g: g * 0.5)
        loss = _loss(lib, [out] + _states(hn))
        loss.backward(retain_graph=True)
        loss.backward()  # grads accumulate
        m.zero_grad(set_to_none=False)
        x2 = lib.tensor(X[::-1].copy().astype(dt))
        for scale in (1.0, 2.0):  # and accumulate into the zeroed buffers
            o2, h2 = m(x2)
            _loss(lib, [o2 * scale] + _states(h2)).backward()
        return _param_grads(m, {"x": _np(x.grad), **seen})
    return scenario


def _packed(kind, lengths, batch_first):
    def scenario(lib, dt):
        m = _pair(lib, kind, dt, 3, 5, num_layers=2, bidirectional=True, dropout=0.3,
                  batch_first=batch_first)
        m.eval()
        rnn = lib.nn.utils.rnn
        b, t = len(lengths), max(lengths)
        xa = np.random.default_rng(2).standard_normal((t, b, 3)).astype(dt)
        x = lib.tensor(xa.transpose(1, 0, 2).copy() if batch_first else xa, requires_grad=True)
        h0 = lib.tensor(np.random.default_rng(3).standard_normal((4, b, 5)).astype(dt),
                        requires_grad=True)
        p = rnn.pack_padded_sequence(x, lib.tensor(lengths), batch_first=batch_first,
                                     enforce_sorted=False)
        out, hn = m(p, (h0, h0 * 0.5) if kind == "LSTM" else h0)
        y, lens = rnn.pad_packed_sequence(out, batch_first=batch_first, total_length=t + 2)
        _loss(lib, [y] + _states(hn)).backward()
        return _param_grads(m, {"y": _np(y), "lens": _np(lens), "x": _np(x.grad),
                                "h0": _np(h0.grad)})
    return scenario


def _pack_sequence(kind):
    def scenario(lib, dt):
        m = _pair(lib, kind, dt, 3, 4)
        rng = np.random.default_rng(4)
        xs = [lib.tensor(rng.standard_normal((n, 3)).astype(dt), requires_grad=True)
              for n in (3, 1, 4, 1)]
        out, hn = m(lib.nn.utils.rnn.pack_sequence(xs, enforce_sorted=False))
        _loss(lib, [out.data] + _states(hn)).backward()
        return _param_grads(m, {f"x{i}": _np(x.grad) for i, x in enumerate(xs)})
    return scenario


def _shapes(kind, steps, batch, hidden, special=None, batch_first=False, unbatched=False):
    def scenario(lib, dt):
        m = _pair(lib, kind, dt, 3, hidden, bidirectional=True, batch_first=batch_first)
        xa = np.random.default_rng(6).standard_normal((steps, batch, 3))
        if special is not None:
            xa.reshape(-1)[:len(special)] = special
        xa = xa.astype(dt)
        if unbatched:
            xa = xa[:, 0]
        x0 = lib.tensor(xa, requires_grad=True)
        x = x0.transpose(0, 1) if batch_first else x0  # a non-contiguous view
        out, hn = m(x)
        _loss(lib, [out] + _states(hn)).backward()
        return _param_grads(m, {"out": _np(out), "x": _np(x0.grad),
                                **{f"h{k}": _np(h) for k, h in enumerate(_states(hn))}})
    return scenario


SCENARIOS = {
    "frozen_and_broadcast_states": _frozen_and_broadcast_states,
    "parametrized_and_tied": _parametrized_and_tied,
    "accumulation_and_hooks": _accumulation_and_hooks,
    "packed_lengths_with_ones": lambda k: _packed(k, [5, 1, 3, 1], False),
    "packed_equal_lengths_batch_first": lambda k: _packed(k, [4, 4, 4], True),
    "packed_single_sequence": lambda k: _packed(k, [1], False),
    "pack_sequence": _pack_sequence,
    "batch_of_one": lambda k: _shapes(k, 4, 1, 5),
    "one_step": lambda k: _shapes(k, 1, 3, 5),
    "hidden_size_one": lambda k: _shapes(k, 4, 3, 1),
    "hidden_300_batch_first_view": lambda k: _shapes(k, 3, 2, 300, batch_first=True),
    "unbatched": lambda k: _shapes(k, 4, 1, 7, unbatched=True),
    # a NaN relu output passes its gradient back (PyTorch's threshold backward)
    "extreme_values": lambda k: _shapes(
        k, 4, 3, 9, special=[np.inf, -np.inf, np.nan, 1e30, -1e30, 100.0, -100.0, 88.0, -88.0,
                             1e-40]),
}


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_matches_pytorch_and_composite(name, kind, dt, calls):
    _three_ways(SCENARIOS[name](kind), dt, calls)


def test_bias_hh_changed_in_place_after_forward(calls):
    # first-order backward never reads b_hh, so (as in PyTorch) this is allowed; the
    # create_graph rule recomputes the loop from b_hh and must see the change
    x = fastnn.tensor(X, requires_grad=True)
    for kind in KINDS:
        m = _layer(fastnn, kind, 4, 6, dtype=fastnn.float64)
        out, _ = m(x)
        (out * out).sum().backward()
        expected = [_np(p.grad) for p in m.parameters()]
        m.zero_grad()
        out, _ = m(x)
        with fastnn.no_grad():
            m.bias_hh_l0.add_(1.0)
        (out * out).sum().backward()
        for p, e in zip(m.parameters(), expected):
            np.testing.assert_allclose(_np(p.grad), e, rtol=1e-12, atol=1e-14)
        out, _ = m(x)
        with fastnn.no_grad():
            m.bias_hh_l0.add_(1.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            fastnn.autograd.grad((out * out).sum(), x, create_graph=True)
    assert calls == ["LSTM"] * 3 + ["GRU"] * 3 + ["RNN_TANH"] * 3 + ["RNN_RELU"] * 3


@pytest.mark.parametrize("kind", KINDS)
def test_empty_batch_takes_the_composite_path(kind, calls):
    def scenario(lib, dt):
        m = _pair(lib, kind, dt, 4, 6, batch_first=True)
        x = lib.zeros(0, 5, 4, dtype=m.weight_hh_l0.dtype, requires_grad=True)
        out, hn = m(x)
        (out.sum() + sum(h.sum() for h in _states(hn))).backward()
        return _param_grads(m, {"out": _np(out), "x": _np(x.grad)})
    _three_ways(scenario, np.float64, calls, fused_expected=False)


@pytest.mark.parametrize("shape", [(0, 2, 4), (0, 4)])
def test_zero_length_sequence_raises_like_pytorch(shape):
    for lib in (torch, fastnn):
        with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
            lib.nn.LSTM(4, 6)(lib.zeros(*shape))


def test_flatten_parameters_is_a_no_op():
    m = fnn.GRU(3, 4, num_layers=2)
    before = {k: _np(v) for k, v in m.state_dict().items()}
    assert m.flatten_parameters() is None
    assert all(np.array_equal(_np(v), before[k]) for k, v in m.state_dict().items())


def test_kernel_rejects_zero_hidden_size():
    z = lambda *s: np.zeros(s)  # noqa: E731
    with pytest.raises(ValueError, match="hidden size of at least 1"):
        _core.rnn_forward("GRU", z(6, 0), z(0, 0), None, np.array([3, 3]), False, z(3, 0),
                          None, z(6, 0), z(6, 0), None, None, z(6, 0), z(3, 0))
    with pytest.raises(ValueError, match="hidden size of at least 1"):
        _core.rnn_backward("RNN_TANH", z(0, 0), np.array([3, 3]), False, z(6, 0), z(6, 0),
                           None, None, None, None, z(3, 0), None, z(6, 0), None)


@pytest.mark.parametrize("dt,tol", [(np.float32, 1e-5), (np.float64, 1e-10)])
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_training_a_small_model_matches_pytorch(kind, dt, tol, calls):
    vocab, emb, hidden, classes = 20, 8, 16, 5

    def train(lib):
        torch.manual_seed(11)

        class Model(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.nn.Embedding(vocab, emb)
                self.rnn = getattr(lib.nn, kind)(emb, hidden, num_layers=2, batch_first=True)
                self.fc = lib.nn.Linear(hidden, classes)

            def forward(self, x):
                return self.fc(_states(self.rnn(self.emb(x))[1])[0][-1])
        m = Model().to(getattr(lib, np.dtype(dt).name))
        if lib is torch:
            initial.update((k, v.detach().numpy().copy()) for k, v in m.state_dict().items())
        else:
            m.load_state_dict({k: fastnn.tensor(v) for k, v in initial.items()})
        opt = lib.optim.Adam(m.parameters(), lr=1e-2)
        rng = np.random.default_rng(5)
        losses = []
        for _ in range(8):
            x, y = rng.integers(0, vocab, (4, 7)), rng.integers(0, classes, (4,))
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(m(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return np.array(losses)
    initial = {}
    want, got = train(torch), train(fastnn)
    assert calls
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_inference_state_cannot_be_saved(mode, calls):
    # PyTorch refuses an initial state made in inference mode once the layer records a graph
    layer = getattr(fastnn.nn, mode)(3, 4)
    x = fastnn.randn(5, 2, 3)
    with fastnn.inference_mode():
        h0 = fastnn.zeros(1, 2, 4)
    hx = (h0, fastnn.zeros(1, 2, 4)) if mode == "LSTM" else h0
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        layer(x, hx)
    assert calls
