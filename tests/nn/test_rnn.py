"""RNN, LSTM, GRU, their cells and fastnn.nn.utils.rnn, checked against PyTorch."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
from fastnn.nn.utils import rnn as rnn_utils

torch = pytest.importorskip("torch")
from torch.nn.utils import rnn as trnn  # noqa: E402

TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
FDT = {np.float32: fastnn.float32, np.float64: fastnn.float64}
TDT = {np.float32: torch.float32, np.float64: torch.float64}


def _pair(cls, dtype, *args, **kw):
    """A torch module and a fastnn one holding the same (torch-initialised) weights."""
    torch.manual_seed(0)
    tm = getattr(torch.nn, cls)(*args, dtype=TDT[dtype], **kw)
    fm = getattr(nn, cls)(*args, dtype=FDT[dtype], **kw)
    fm.load_state_dict({k: fastnn.tensor(v.detach().numpy()) for k, v in
                        tm.state_dict().items()})
    return fm, tm


def _leaves(arrays):
    """Matching (fastnn, torch) leaf tensors for a nested tuple of numpy arrays."""
    if arrays is None:
        return None, None
    if isinstance(arrays, tuple):
        pairs = [_leaves(a) for a in arrays]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    return (fastnn.tensor(arrays, requires_grad=True),
            torch.tensor(arrays, requires_grad=True))


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [t for item in x for t in _flat(item)]
    return [] if x is None else [x]


def _check_grads(fm, tm, fouts, touts, fins, tins, dtype, seed=1):
    """Backpropagate the same random cotangents; compare input and parameter gradients."""
    rng = np.random.default_rng(seed)
    gs = [rng.standard_normal(tuple(t.shape)).astype(dtype) for t in touts]
    sum(((t * torch.tensor(g)).sum() for t, g in zip(touts, gs))).backward()
    sum(((f * fastnn.tensor(g)).sum() for f, g in zip(fouts, gs))).backward()
    for f, t in zip(_flat(fins), _flat(tins)):
        np.testing.assert_allclose(f.grad.numpy(), t.grad.numpy(), **TOL[dtype])
    for (fname, fp), (tname, tp) in zip(fm.named_parameters(), tm.named_parameters()):
        assert fname == tname
        np.testing.assert_allclose(fp.grad.numpy(), tp.grad.numpy(), **TOL[dtype],
                                   err_msg=fname)


def _compare(fm, tm, x, hx, dtype):
    fx, tx = _leaves(x)
    fh, th = _leaves(hx)
    fout = fm(fx) if hx is None else fm(fx, fh)
    tout = tm(tx) if hx is None else tm(tx, th)
    fouts, touts = _flat(fout), _flat(tout)
    assert len(fouts) == len(touts)
    for f, t in zip(fouts, touts):
        assert tuple(f.shape) == tuple(t.shape)
        np.testing.assert_allclose(f.detach().numpy(), t.detach().numpy(), **TOL[dtype])
    _check_grads(fm, tm, fouts, touts, (fx, fh), (tx, th), dtype)


# ---- cells

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}),
                                    ("RNNCell", {"bias": False}), ("LSTMCell", {}),
                                    ("LSTMCell", {"bias": False}), ("GRUCell", {}),
                                    ("GRUCell", {"bias": False})])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_hx", [True, False])
def test_cells_match_pytorch(cls, kw, dtype, batched, with_hx):
    fm, tm = _pair(cls, dtype, 5, 4, **kw)
    rng = np.random.default_rng(0)
    lead = (3,) if batched else ()
    x = rng.standard_normal(lead + (5,)).astype(dtype)
    hx = None
    if with_hx:
        h = rng.standard_normal(lead + (4,)).astype(dtype)
        hx = (h, rng.standard_normal(lead + (4,)).astype(dtype)) if cls == "LSTMCell" else h
    _compare(fm, tm, x, hx, dtype)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradcheck(cls):
    m = getattr(nn, cls)(3, 2, dtype=fastnn.float64)
    x = fastnn.randn(2, 3, dtype=fastnn.float64, requires_grad=True)
    h = fastnn.randn(2, 2, dtype=fastnn.float64, requires_grad=True)
    c = fastnn.randn(2, 2, dtype=fastnn.float64, requires_grad=True)
    params = tuple(m.parameters())
    if cls == "LSTMCell":
        assert fastnn.autograd.gradcheck(lambda x, h, c, *p: m(x, (h, c)), (x, h, c) + params)
    else:
        assert fastnn.autograd.gradcheck(lambda x, h, *p: m(x, h), (x, h) + params)


# ---- sequence layers

CONFIGS = [
    dict(), dict(num_layers=2), dict(bidirectional=True), dict(num_layers=2, bidirectional=True),
    dict(batch_first=True), dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(bias=False, num_layers=2),
]


def _hidden(cls, m, batch, rng, dtype, unbatched=False):
    d = 2 if m.bidirectional else 1
    shape = (m.num_layers * d,) + (() if unbatched else (batch,))
    h = rng.standard_normal(shape + (m.proj_size or m.hidden_size,)).astype(dtype)
    if cls != "LSTM":
        return h
    return h, rng.standard_normal(shape + (m.hidden_size,)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.items())) or
                         "default")
@pytest.mark.parametrize("with_hx", [False, True])
def test_sequence_layers_match_pytorch(cls, config, dtype, with_hx):
    fm, tm = _pair(cls, dtype, 4, 3, **config)
    rng = np.random.default_rng(2)
    seq, batch = 5, 3
    shape = (batch, seq, 4) if config.get("batch_first") else (seq, batch, 4)
    x = rng.standard_normal(shape).astype(dtype)
    hx = _hidden(cls, fm, batch, rng, dtype) if with_hx else None
    _compare(fm, tm, x, hx, dtype)


@pytest.mark.parametrize("cls,kw", [("RNN", {"nonlinearity": "relu"}),
                                    ("RNN", {"nonlinearity": "relu", "num_layers": 2,
                                             "bidirectional": True}),
                                    ("LSTM", {"proj_size": 2}),
                                    ("LSTM", {"proj_size": 2, "num_layers": 2,
                                              "bidirectional": True})])
@pytest.mark.parametrize("with_hx", [False, True])
def test_relu_and_projection_match_pytorch(cls, kw, with_hx):
    fm, tm = _pair(cls, np.float64, 4, 3, **kw)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 2, 4))
    _compare(fm, tm, x, _hidden(cls, fm, 2, rng, np.float64) if with_hx else None, np.float64)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True),
                                    dict(batch_first=True)])
@pytest.mark.parametrize("with_hx", [False, True])
def test_unbatched_input_matches_pytorch(cls, config, with_hx):
    fm, tm = _pair(cls, np.float64, 4, 3, **config)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4))
    hx = _hidden(cls, fm, None, rng, np.float64, unbatched=True) if with_hx else None
    _compare(fm, tm, x, hx, np.float64)


def test_two_layer_bidirectional_lstm_gradcheck():
    m = nn.LSTM(2, 2, num_layers=2, bidirectional=True, dtype=fastnn.float64)
    x = fastnn.randn(3, 2, 2, dtype=fastnn.float64, requires_grad=True)
    h = fastnn.randn(4, 2, 2, dtype=fastnn.float64, requires_grad=True)
    c = fastnn.randn(4, 2, 2, dtype=fastnn.float64, requires_grad=True)

    def fn(x, h, c, *params):
        out, (hn, cn) = m(x, (h, c))
        return out, hn, cn
    assert fastnn.autograd.gradcheck(fn, (x, h, c) + tuple(m.parameters()))


def test_dropout_between_layers():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1, "
                                         "but got dropout=0.5 and num_layers=1"):
        nn.GRU(4, 3, dropout=0.5)
    fm, tm = _pair("LSTM", np.float64, 4, 3, num_layers=3, dropout=0.5)
    x = np.random.default_rng(5).standard_normal((5, 2, 4))
    fm.train()
    fastnn.manual_seed(0)
    a = fm(fastnn.tensor(x))[0].detach().numpy()
    b = fm(fastnn.tensor(x))[0].detach().numpy()
    assert not np.allclose(a, b)  # a fresh mask on every call
    fm.eval()
    tm.eval()
    _compare(fm, tm, x, None, np.float64)


# ---- packed sequences

@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("config", [dict(), dict(num_layers=2, bidirectional=True),
                                    dict(batch_first=True, bidirectional=True)])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("with_hx", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_sequences_match_pytorch(cls, config, enforce_sorted, with_hx, dtype):
    fm, tm = _pair(cls, dtype, 4, 3, **config)
    rng = np.random.default_rng(6)
    lengths = [5, 4, 2, 1] if enforce_sorted else [2, 5, 1, 4]
    bf = config.get("batch_first", False)
    x = rng.standard_normal((4, 5, 4) if bf else (5, 4, 4)).astype(dtype)
    hx = _hidden(cls, fm, 4, rng, dtype) if with_hx else None
    fx, tx = _leaves(x)
    fh, th = _leaves(hx)
    fp = rnn_utils.pack_padded_sequence(fx, lengths, batch_first=bf,
                                        enforce_sorted=enforce_sorted)
    tp = trnn.pack_padded_sequence(tx, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    fo, fs = fm(fp, fh)
    to, ts = tm(tp, th)
    assert isinstance(fo, rnn_utils.PackedSequence)
    assert fo.batch_sizes.tolist() == to.batch_sizes.tolist()
    fy, flen = rnn_utils.pad_packed_sequence(fo, batch_first=bf)
    ty, tlen = trnn.pad_packed_sequence(to, batch_first=bf)
    assert flen.tolist() == tlen.tolist() == lengths
    fouts, touts = [fy] + _flat(fs), [ty] + _flat(ts)
    for f, t in zip(fouts, touts):
        assert tuple(f.shape) == tuple(t.shape)
        np.testing.assert_allclose(f.detach().numpy(), t.detach().numpy(), **TOL[dtype])
    padded = fy.detach().numpy() if not bf else fy.detach().numpy().swapaxes(0, 1)
    for b, n in enumerate(lengths):
        assert not padded[n:, b].any()  # zeros at padded positions
    _check_grads(fm, tm, fouts, touts, (fx, fh), (tx, th), dtype)


def test_padded_steps_do_not_affect_final_state():
    m = nn.GRU(3, 4, bidirectional=True, dtype=fastnn.float64)
    x = fastnn.randn(6, 2, 3, dtype=fastnn.float64)
    y = x.clone()
    y[4:, 1] = 100.0  # garbage in the padding of the second sequence
    _, h1 = m(rnn_utils.pack_padded_sequence(x, [6, 4]))
    _, h2 = m(rnn_utils.pack_padded_sequence(y, [6, 4]))
    np.testing.assert_array_equal(h1.detach().numpy(), h2.detach().numpy())
    _, h_short = m(x[:4, 1:2])  # the second sequence alone, unpadded
    np.testing.assert_allclose(h1.detach().numpy()[:, 1], h_short.detach().numpy()[:, 0],
                               rtol=1e-12, atol=1e-12)


def test_pack_and_pad_utilities_match_pytorch():
    rng = np.random.default_rng(7)
    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    for kw in [{}, {"batch_first": True}, {"padding_value": -1.0},
               {"padding_side": "left", "batch_first": True}]:
        f = rnn_utils.pad_sequence([fastnn.tensor(s) for s in seqs], **kw)
        t = trnn.pad_sequence([torch.tensor(s) for s in seqs], **kw)
        np.testing.assert_array_equal(f.numpy(), t.numpy())
    fp = rnn_utils.pack_sequence([fastnn.tensor(s) for s in seqs], enforce_sorted=False)
    tp = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    np.testing.assert_array_equal(fp.data.numpy(), tp.data.numpy())
    for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert getattr(fp, name).tolist() == getattr(tp, name).tolist(), name
    fy, flen = rnn_utils.pad_packed_sequence(fp, total_length=7, padding_value=2.0)
    ty, tlen = trnn.pad_packed_sequence(tp, total_length=7, padding_value=2.0)
    np.testing.assert_array_equal(fy.numpy(), ty.numpy())
    assert flen.tolist() == tlen.tolist() and flen.dtype == fastnn.int64
    for a, s in zip(rnn_utils.unpack_sequence(fp), seqs):
        np.testing.assert_array_equal(a.numpy(), s)
    # gradients flow through pad_sequence and packing
    leaves = [fastnn.tensor(s, requires_grad=True) for s in seqs]
    packed = rnn_utils.pack_sequence(leaves, enforce_sorted=False)
    (rnn_utils.pad_packed_sequence(packed)[0] * 3).sum().backward()
    for leaf in leaves:
        np.testing.assert_array_equal(leaf.grad.numpy(), np.full(leaf.shape, 3.0))


def test_pack_and_pad_errors_match_pytorch():
    x = np.zeros((4, 3, 2))
    cases = [
        lambda u, t: u.pack_padded_sequence(t(x), [2, 3, 1]),
        lambda u, t: u.pack_padded_sequence(t(x), [3, 0, 0]),
        lambda u, t: u.pack_padded_sequence(t(x), [3, 2]),
        lambda u, t: u.pad_sequence([t(x[0])], padding_side="up"),
        lambda u, t: u.pad_sequence([]),
        lambda u, t: u.pad_packed_sequence(u.pack_padded_sequence(t(x), [3, 2, 1]),
                                           total_length=2),
    ]
    for case in cases:
        with pytest.raises(Exception) as te:
            case(trnn, torch.tensor)
        with pytest.raises(type(te.value)) as fe:
            case(rnn_utils, fastnn.tensor)
        assert str(fe.value) == str(te.value)


# ---- errors, printing, declarations

def _same_error(fcall, tcall):
    with pytest.raises(Exception) as te:
        tcall()
    with pytest.raises(type(te.value)) as fe:
        fcall()
    # the message is PyTorch's; fastnn names the module whose forward raised in a note
    assert str(fe.value) == str(te.value).replace("torch.", "fastnn.")


def test_sequence_layer_errors_match_pytorch():
    cases = [
        ("LSTM", (4, 3, 2), [(5, 2, 5)]),
        ("LSTM", (4, 3, 2), [(5, 2, 4), ((2, 2, 2), (2, 2, 3))]),
        ("LSTM", (4, 3, 2), [(5, 2, 4), ((2, 2, 3), (2, 1, 3))]),
        ("LSTM", (4, 3, 2), [(5, 2, 4), ((2, 3), (2, 2, 3))]),
        ("LSTM", (4, 3, 2), [(5, 4), ((2, 2, 3), (2, 2, 3))]),
        ("LSTM", (4, 3), [(1, 5, 2, 4)]),
        ("GRU", (4, 3), [(5, 2, 4), (2, 2, 3)]),
        ("GRU", (4, 3), [(5, 2, 4), (2, 3)]),
        ("GRU", (4, 3), [(5, 4), (1, 2, 3)]),
        ("GRU", (4, 3), [(5, 3)]),
        ("RNN", (4, 3), [(5,)]),
        ("RNN", (4, 3, 1, "tanh", True, True), [(2, 5, 4), (1, 5, 3)]),
    ]
    for cls, args, shapes in cases:
        fm, tm = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)

        def build(lib, shapes=shapes):
            return [tuple(lib.zeros(*s) for s in shape) if isinstance(shape[0], tuple)
                    else lib.zeros(*shape) for shape in shapes]
        _same_error(lambda: fm(*build(fastnn)), lambda: tm(*build(torch)))
    fm, tm = nn.GRU(4, 3, dtype=fastnn.float64), torch.nn.GRU(4, 3, dtype=torch.float64)
    _same_error(lambda: fm(fastnn.zeros(5, 2, 4)), lambda: tm(torch.zeros(5, 2, 4)))


def test_constructor_errors_match_pytorch():
    for args, kw in [((4, 3), {"dropout": 2}), ((4, 3), {"bias": 1}), ((4.0, 3), {}),
                     ((4, 0), {}), ((0, 3), {}), ((4, 3.0), {}), ((4, 3, 0), {}),
                     ((4, 3), {"proj_size": 3}), ((4, 3), {"batch_first": None})]:
        _same_error(lambda: nn.LSTM(*args, **kw), lambda: torch.nn.LSTM(*args, **kw))
    _same_error(lambda: nn.GRU(4, 3, proj_size=1), lambda: torch.nn.GRU(4, 3, proj_size=1))
    _same_error(lambda: nn.RNN(4, 3, 1, "gelu"), lambda: torch.nn.RNN(4, 3, 1, "gelu"))


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_errors_match_pytorch(cls):
    fm, tm = getattr(nn, cls)(4, 3), getattr(torch.nn, cls)(4, 3)
    lstm = cls == "LSTMCell"
    for x_shape, h_shapes in [((2, 5), None), ((2, 4), [(2, 2), (2, 3)]),
                              ((2, 4), [(2, 3), (2, 2)]), ((2, 4), [(3, 3), (3, 3)]),
                              ((4,), [(2, 3), (2, 3)]), ((1, 2, 4), None),
                              ((2, 4), [(1, 2, 3), (2, 3)])]:
        def call(lib, m):
            hx = None
            if h_shapes is not None:
                hs = [lib.zeros(*s) for s in h_shapes]
                hx = tuple(hs) if lstm else hs[0]
            return m(lib.zeros(*x_shape), hx)
        if not lstm and h_shapes == [(2, 3), (2, 2)]:
            continue
        _same_error(lambda: call(fastnn, fm), lambda: call(torch, tm))


REPRS = [("RNN", (4, 3), {}), ("RNN", (4, 3, 2, "relu"), {"bias": False, "batch_first": True,
                                                           "dropout": 0.25,
                                                           "bidirectional": True}),
         ("LSTM", (4, 3), {"proj_size": 2, "num_layers": 2}), ("LSTM", (4, 3), {"dropout": 0}),
         ("GRU", (10, 20, 3), {"bidirectional": True}), ("RNNCell", (3, 4), {}),
         ("RNNCell", (3, 4, False, "relu"), {}), ("LSTMCell", (3, 4), {"bias": False}),
         ("GRUCell", (3, 4), {})]


@pytest.mark.parametrize("cls,args,kw", REPRS)
def test_prints_and_declares_like_pytorch(cls, args, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, tm = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(fm) == repr(tm)
    assert fm.__constants__ == tm.__constants__
    assert [(n, tuple(p.shape)) for n, p in fm.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert list(fm.state_dict()) == list(tm.state_dict())
    bound = 1 / np.sqrt(fm.hidden_size)
    for p in fm.parameters():
        assert np.abs(p.detach().numpy()).max() <= bound
    if hasattr(tm, "all_weights"):
        assert [[tuple(p.shape) for p in ps] for ps in fm.all_weights] == \
            [[tuple(p.shape) for p in ps] for ps in tm.all_weights]
    if hasattr(tm, "nonlinearity"):
        assert fm.nonlinearity == tm.nonlinearity


def test_reset_parameters_uses_uniform_bound():
    m = nn.LSTM(8, 16, num_layers=2)
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(values).max() <= 0.25 and np.abs(values).max() > 0.24
    assert abs(values.mean()) < 0.01


def test_lstm_learns_to_sum_a_sequence():
    fastnn.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(1, 16, batch_first=True), nn.Linear(16, 1)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = fastnn.optim.Adam(params, lr=0.02)
    losses = []
    for _ in range(150):
        x = rng.uniform(-1, 1, (32, 4, 1)).astype(np.float32)
        target = fastnn.tensor(x.sum(axis=1))
        _, (h, _) = lstm(fastnn.tensor(x))
        loss = ((head(h[-1]) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.1 * np.mean(losses[:10])
