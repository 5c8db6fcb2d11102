"""Sequence-model building blocks: overridable Transformer layer blocks, the module-level
helpers user code imports, EmbeddingBag's scale_grad_by_freq, the low-level torch.* sequence
ops, pad/pack dtypes and errors, and CTC under create_graph."""
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F
from fastnn.nn.modules import rnn as rnn_module
from fastnn.nn.modules import transformer as tr
from fastnn.nn.utils import rnn as rnn_utils


def _torch():
    return pytest.importorskip("torch")


def _np(t):
    return t.detach().numpy()


def _as(module, value):
    """``value`` (a torch tensor) as a tensor of ``module``'s library."""
    lib = fastnn if isinstance(module, nn.Module) else _torch()
    return lib.tensor(value.detach().numpy())


# ---- 1. the overridable blocks of the Transformer layers --------------------------------
def _scaled_encoder(base):
    class Scaled(base.TransformerEncoderLayer):
        calls = []

        def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
            self.calls.append("sa")
            return 2.0 * super()._sa_block(x, attn_mask, key_padding_mask, is_causal)

        def _ff_block(self, x):
            self.calls.append("ff")
            return 0.5 * super()._ff_block(x)
    return Scaled


def _scaled_decoder(base):
    class Scaled(base.TransformerDecoderLayer):
        calls = []

        def _sa_block(self, x, attn_mask, key_padding_mask, is_causal=False):
            self.calls.append("sa")
            return 3.0 * super()._sa_block(x, attn_mask, key_padding_mask, is_causal)

        def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal=False):
            self.calls.append("mha")
            return -1.0 * super()._mha_block(x, mem, attn_mask, key_padding_mask, is_causal)

        def _ff_block(self, x):
            self.calls.append("ff")
            return 0.25 * super()._ff_block(x)
    return Scaled


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_overrides_route_forward(norm_first):
    fastnn.manual_seed(0)
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, norm_first=norm_first)
    x = fastnn.randn(5, 2, 8)
    plain = nn.TransformerEncoderLayer(**kw)
    scaled = _scaled_encoder(nn)(**kw)
    scaled.load_state_dict(plain.state_dict())
    scaled.calls.clear()
    out = scaled(x)
    assert scaled.calls == ["sa", "ff"]
    assert not np.allclose(_np(out), _np(plain(x)))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_overrides_route_forward(norm_first):
    fastnn.manual_seed(0)
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, norm_first=norm_first)
    tgt, mem = fastnn.randn(4, 2, 8), fastnn.randn(6, 2, 8)
    plain = nn.TransformerDecoderLayer(**kw)
    scaled = _scaled_decoder(nn)(**kw)
    scaled.load_state_dict(plain.state_dict())
    scaled.calls.clear()
    out = scaled(tgt, mem)
    assert scaled.calls == ["sa", "mha", "ff"]
    assert not np.allclose(_np(out), _np(plain(tgt, mem)))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_overridden_layers_match_torch(norm_first, batch_first):
    torch = _torch()
    torch.manual_seed(0)
    kw = dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, norm_first=norm_first,
              batch_first=batch_first)
    rng = np.random.default_rng(1)
    src, tgt = rng.standard_normal((5, 2, 8)), rng.standard_normal((4, 2, 8))
    if batch_first:
        src, tgt = src.transpose(1, 0, 2).copy(), tgt.transpose(1, 0, 2).copy()
    mask = torch.nn.Transformer.generate_square_subsequent_mask(4)
    for make, args in ((_scaled_encoder, (src,)), (_scaled_decoder, (tgt, src))):
        ref = make(torch.nn)(**kw).train()      # training: PyTorch's composite path
        ours = make(nn)(**kw).train()
        ours.load_state_dict({k: _as(ours, v) for k, v in ref.state_dict().items()})
        ref_args = [torch.tensor(a, dtype=torch.float32) for a in args]
        our_args = [fastnn.tensor(a, dtype=fastnn.float32) for a in args]
        extra = {} if len(args) == 1 else {"tgt_mask": mask}
        our_extra = {k: fastnn.tensor(v.numpy()) for k, v in extra.items()}
        np.testing.assert_allclose(_np(ours(*our_args, **our_extra)),
                                   _np(ref(*ref_args, **extra)), rtol=1e-5, atol=1e-5)


def test_old_block_names_are_gone():
    for cls in (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer):
        assert not hasattr(cls, "_self_attention") and not hasattr(cls, "_feed_forward")
    assert hasattr(nn.TransformerDecoderLayer, "_mha_block")


# ---- 2. module-level helpers ---------------------------------------------------------------
def test_get_clones_are_independent_copies():
    layer = nn.Linear(3, 3)
    clones = tr._get_clones(layer, 3)
    assert isinstance(clones, nn.ModuleList) and len(clones) == 3
    assert clones[0] is not layer and clones[0].weight is not clones[1].weight
    np.testing.assert_array_equal(_np(clones[2].weight), _np(layer.weight))


def test_get_activation_fn():
    assert tr._get_activation_fn("relu") is F.relu
    assert tr._get_activation_fn("gelu") is F.gelu
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        tr._get_activation_fn("tanh")


def test_square_subsequent_mask_and_causal_detection():
    m = tr._generate_square_subsequent_mask(4, dtype=fastnn.float64)
    assert m.dtype == fastnn.float64 and tuple(m.shape) == (4, 4)
    assert np.isneginf(_np(m)[0, 1]) and _np(m)[1, 0] == 0
    assert tr._detect_is_causal_mask(m) is True
    assert tr._detect_is_causal_mask(m, size=3) is False
    assert tr._detect_is_causal_mask(m, is_causal=False) is False
    assert tr._detect_is_causal_mask(None) is False
    assert tr._detect_is_causal_mask(fastnn.zeros(4, 4)) is False
    torch = _torch()
    np.testing.assert_array_equal(
        _np(tr._generate_square_subsequent_mask(5)),
        torch.nn.modules.transformer._generate_square_subsequent_mask(5).numpy())


@pytest.mark.parametrize("shape,batch_first,want", [((7, 3), False, 7), ((7, 2, 3), False, 7),
                                                    ((2, 7, 3), True, 7)])
def test_get_seq_len(shape, batch_first, want):
    assert tr._get_seq_len(fastnn.zeros(*shape), batch_first) == want


def test_sparse_module_exposes_both_lookup_layers():
    import fastnn.nn.modules.sparse as sparse
    assert sparse.Embedding is nn.Embedding and sparse.EmbeddingBag is nn.EmbeddingBag


def test_apply_permutation():
    x = fastnn.arange(6.0).reshape(2, 3)
    perm = fastnn.tensor([2, 0, 1])
    np.testing.assert_array_equal(_np(rnn_module._apply_permutation(x, perm)),
                                  [[2, 0, 1], [5, 3, 4]])
    np.testing.assert_array_equal(_np(rnn_module._apply_permutation(x, fastnn.tensor([1, 0]),
                                                                     0)), [[3, 4, 5], [0, 1, 2]])
    with pytest.warns(FutureWarning, match="apply_permutation` is deprecated"):
        out = rnn_module.apply_permutation(x, perm)
    np.testing.assert_array_equal(_np(out), [[2, 0, 1], [5, 3, 4]])


# ---- 3. EmbeddingBag(scale_grad_by_freq=True) ------------------------------------------------
def _bag_grads(lib, idx, offsets, mode, psw=None, padding_idx=None, dt=np.float64):
    w_np = np.linspace(-1.0, 1.0, 6 * 3).reshape(6, 3).astype(dt)
    w = lib.tensor(w_np, requires_grad=True)
    p = None if psw is None else lib.tensor(np.asarray(psw, dt), requires_grad=True)
    fn = F.embedding_bag if lib is fastnn else lib.nn.functional.embedding_bag
    out = fn(lib.tensor(idx), w, lib.tensor(offsets), mode=mode, scale_grad_by_freq=True,
             per_sample_weights=p, padding_idx=padding_idx)
    weights = lib.tensor(np.arange(out.numel(), dtype=dt).reshape(tuple(out.shape)))
    (out * weights).sum().backward()
    return [_np(out), _np(w.grad)] + ([] if p is None else [_np(p.grad)])


# inputs on which PyTorch's CPU kernel counts every index correctly (see the mixed case)
TORCH_SAFE = [
    ([3, 3, 1, 1, 0, 0, 5, 5], [0, 3, 5], "sum", None, None),
    ([3, 3, 1, 1, 0, 0, 5, 5], [0, 3, 5], "mean", None, None),
    ([0, 1, 1, 2, 2], [0, 2], "sum", [0.5, 1.0, 2.0, -1.0, 3.0], None),
    ([0, 1, 1, 2, 2], [0, 2], "mean", None, 1),
    ([3, 3, 1, 1, 0, 0, 5, 5], [0, 1, 6], "sum", None, 3),
    ([3, 3, 1, 1, 0, 0, 5, 5], [0, 1, 6], "sum", [1., 2., 3., 4., 5., 6., 7., 8.], 0),
]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("idx,offsets,mode,psw,padding_idx", TORCH_SAFE)
def test_scale_grad_by_freq_matches_torch(idx, offsets, mode, psw, padding_idx, dt):
    torch = _torch()
    ours = _bag_grads(fastnn, idx, offsets, mode, psw, padding_idx, dt)
    ref = _bag_grads(torch, idx, offsets, mode, psw, padding_idx, dt)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_scale_grad_by_freq_divides_by_each_index_frequency():
    # index 1 occurs twice, 3 once: row 1's gradient is halved, row 3's is unchanged
    # (PyTorch 2.13's CPU kernel halves row 3 too: pytorch/pytorch#190063)
    _, grad = _bag_grads(fastnn, [1, 1, 3], [0], "sum")
    np.testing.assert_allclose(grad[:, 1], [0, 1, 0, 1, 0, 0])   # column 1: output weight 1
    _, grad = _bag_grads(fastnn, [1, 1, 3], [0], "mean")
    np.testing.assert_allclose(grad[:, 1], [0, 1 / 3, 0, 1 / 3, 0, 0])


def test_scale_grad_by_freq_module_and_padding_and_weights():
    bag = nn.EmbeddingBag(6, 3, mode="sum", scale_grad_by_freq=True, padding_idx=2)
    idx = fastnn.tensor([[1, 2, 1, 4], [4, 4, 2, 0]])
    psw = fastnn.ones(2, 4, requires_grad=True)
    bag(idx, per_sample_weights=psw).sum().backward()
    g = _np(bag.weight.grad)[:, 0]
    # counts over the whole batch: 1 twice, 4 three times, 0 once; padding row 2 gets none
    np.testing.assert_allclose(g, [1.0, 1.0, 0.0, 0.0, 1.0, 0.0], rtol=1e-6)
    assert psw.grad is not None and tuple(psw.grad.shape) == (2, 4)


def test_max_mode_still_rejects_scale_grad_by_freq():
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        F.embedding_bag(fastnn.tensor([[1, 2]]), fastnn.randn(4, 2), mode="max",
                        scale_grad_by_freq=True)


# ---- 4. low-level torch.* sequence ops -----------------------------------------------------
W_EMB = np.linspace(-2.0, 2.0, 15).reshape(5, 3).astype(np.float32)


def _embedding_run(lib, *args):
    w = lib.tensor(W_EMB, requires_grad=True)
    out = lib.embedding(w, lib.tensor([1, 2, 1, 4]), *args)
    (out * lib.arange(12.0).reshape(4, 3)).sum().backward()
    return _np(out), _np(w.grad)


@pytest.mark.parametrize("args", [(), (1,), (-2,), (7,), (1, True), (-1, True, False)])
def test_top_level_embedding(args):
    out, grad = _embedding_run(fastnn, *args)
    np.testing.assert_array_equal(out, W_EMB[[1, 2, 1, 4]])
    if args and args[0] == 1:
        assert (grad[1] == 0).all()
    torch = _torch()
    for a, b in zip((out, grad), _embedding_run(torch, *args)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("idx,max_norm,norm_type", [([1, 2, 2], 1.0, 2.0), ([0, 3], 0.5, 1),
                                                    ([[1, 1], [2, 0]], 1.0, 2.0), ([-1], 1., 2.)])
def test_top_level_embedding_renorm_(idx, max_norm, norm_type):
    w = fastnn.tensor(W_EMB.copy())
    assert fastnn.embedding_renorm_(w, fastnn.tensor(idx), max_norm, norm_type) is w
    torch = _torch()
    ref = torch.tensor(W_EMB.copy())
    torch.embedding_renorm_(ref, torch.tensor(idx), max_norm, norm_type)
    np.testing.assert_allclose(_np(w), ref.numpy(), rtol=1e-6)


def test_top_level_embedding_renorm_errors():
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        fastnn.embedding_renorm_(fastnn.randn(3, 2, requires_grad=True), fastnn.tensor([1]),
                                 1.0, 2.0)
    with pytest.raises(RuntimeError, match="argument #2 'indices'"):
        fastnn.embedding_renorm_(fastnn.randn(3, 2), fastnn.tensor([1.0]), 1.0, 2.0)
    with pytest.raises(IndexError, match="index 9 out of range"):
        fastnn.embedding_renorm_(fastnn.randn(3, 2), fastnn.tensor([9]), 1.0, 2.0)


X_CTC = np.random.default_rng(0).standard_normal((6, 2, 5)).astype(np.float32)


def _ctc_run(lib, *args, **kwargs):
    x = lib.tensor(X_CTC, requires_grad=True)
    loss = lib.ctc_loss(x.log_softmax(2), lib.tensor([[1, 2, 3], [1, 1, 0]]), [6, 5], [3, 2],
                        *args, **kwargs)
    loss.sum().backward()
    return _np(loss), _np(x.grad)


@pytest.mark.parametrize("args,kwargs", [((), {}), ((0, 0), {}), ((0, 1), {}), ((0, 2), {}),
                                         ((0, 3), {}), ((), dict(reduction=2, blank=4,
                                                                 zero_infinity=True))])
def test_top_level_ctc_loss(args, kwargs):
    loss, grad = _ctc_run(fastnn, *args, **kwargs)
    red = kwargs.get("reduction", args[1] if len(args) > 1 else 0)
    assert loss.shape == ((2,) if red not in (1, 2) else ())
    torch = _torch()
    for a, b in zip((loss, grad), _ctc_run(torch, *args, **kwargs)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_top_level_ctc_loss_rejects_string_reduction():
    with pytest.raises(TypeError):
        _ctc_run(fastnn, 0, "mean")


CELLS = [("lstm_cell", 4), ("gru_cell", 3), ("rnn_tanh_cell", 1), ("rnn_relu_cell", 1)]


def _cell_run(lib, name, k, biases):
    rng = np.random.default_rng(k)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in ((3, 4), (3, 5), (3, 5), (5 * k, 4), (5 * k, 5), (5 * k,), (5 * k,))]
    ts = [lib.tensor(a, requires_grad=True) for a in arrays]
    hx = (ts[1], ts[2]) if name == "lstm_cell" else ts[1]
    b = {"both": ts[5:], "none": [], "hh only": [None, ts[6]]}[biases]
    res = getattr(lib, name)(ts[0], hx, ts[3], ts[4], *b)
    outs = list(res) if isinstance(res, tuple) else [res]
    sum(o.sum() for o in outs).backward()
    return [_np(o) for o in outs] + [_np(t.grad) for t in ts if t.grad is not None]


@pytest.mark.parametrize("biases", ["both", "none", "hh only"])
@pytest.mark.parametrize("name,k", CELLS)
def test_top_level_cells(name, k, biases):
    ours = _cell_run(fastnn, name, k, biases)
    assert ours[0].shape == (3, 5)
    assert (len(ours) > 2) if name == "lstm_cell" else True
    torch = _torch()
    ref = _cell_run(torch, name, k, biases)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_top_level_cell_hidden_state_errors():
    x, h = fastnn.randn(3, 4), fastnn.randn(3, 5)
    with pytest.raises(RuntimeError, match="lstm_cell expects two hidden states"):
        fastnn.lstm_cell(x, (h,), fastnn.randn(20, 4), fastnn.randn(20, 5))
    with pytest.raises(TypeError, match="must be tuple of Tensors, not Tensor"):
        fastnn.lstm_cell(x, h, fastnn.randn(20, 4), fastnn.randn(20, 5))
    with pytest.raises(TypeError, match="must be Tensor, not tuple"):
        fastnn.gru_cell(x, (h,), fastnn.randn(15, 4), fastnn.randn(15, 5))


# ---- 5. pad/pack take the first sequence's dtype ---------------------------------------------
def _mixed(lib):
    return lib.tensor([1, 2, 3]), lib.tensor([1.5, 2.5]), lib.tensor([True])


@pytest.mark.parametrize("case", ["int_first", "float_first", "padding_value", "bool_first",
                                  "pack", "pack_unsorted"])
def test_mixed_dtypes_follow_first_sequence(case):
    def run(lib):
        a, b, c = _mixed(lib)
        R = lib.nn.utils.rnn
        return {"int_first": lambda: R.pad_sequence([a, b]),
                "float_first": lambda: R.pad_sequence([b, a]),
                "padding_value": lambda: R.pad_sequence([a, b], padding_value=0.5,
                                                        padding_side="left"),
                "bool_first": lambda: R.pad_sequence([c, a], padding_value=2,
                                                     batch_first=True),
                "pack": lambda: R.pack_sequence([a, b]).data,
                "pack_unsorted": lambda: R.pack_sequence([b, a], enforce_sorted=False).data,
                }[case]()
    out = run(fastnn)
    first = {"float_first": fastnn.float32, "pack_unsorted": fastnn.float32,
             "bool_first": fastnn.bool}.get(case, fastnn.int64)
    assert out.dtype == first
    torch = _torch()
    ref = run(torch)
    assert str(ref.dtype).split(".")[-1] == str(out.dtype).split(".")[-1]
    np.testing.assert_array_equal(_np(out), ref.numpy())


def test_mixed_float_dtypes_keep_gradients():
    a = fastnn.randn(3, requires_grad=True)
    b = fastnn.randn(2, dtype=fastnn.float64, requires_grad=True)
    padded = rnn_utils.pad_sequence([a, b])
    assert padded.dtype == fastnn.float32
    padded.sum().backward()
    assert b.grad.dtype == fastnn.float64 and (_np(b.grad) == 1).all()


# ---- 6. CTC loss under create_graph=True ----------------------------------------------------
def _ctc_first_order(lib, wrt_log_probs):
    x = lib.tensor(X_CTC, requires_grad=True)
    lp = x.log_softmax(2)
    loss = lib.nn.functional.ctc_loss(lp, lib.tensor([[1, 2, 3], [1, 1, 0]]), [6, 5], [3, 2])
    g, = lib.autograd.grad(loss, lp if wrt_log_probs else x, create_graph=True)
    return x, g


@pytest.mark.parametrize("wrt_log_probs", [False, True])
def test_ctc_create_graph_gives_gradient_then_refuses_second(wrt_log_probs):
    x, g = _ctc_first_order(fastnn, wrt_log_probs)
    assert g.requires_grad
    x2 = fastnn.tensor(X_CTC, requires_grad=True)
    lp2 = x2.log_softmax(2)
    plain = F.ctc_loss(lp2, fastnn.tensor([[1, 2, 3], [1, 1, 0]]), [6, 5], [3, 2])
    g_plain, = fastnn.autograd.grad(plain, lp2 if wrt_log_probs else x2)
    np.testing.assert_allclose(_np(g), _np(g_plain), rtol=1e-6)
    with pytest.raises(RuntimeError,
                       match="derivative for aten::_ctc_loss_backward is not implemented"):
        fastnn.autograd.grad(g.sum(), x)
    torch = _torch()
    _, g_ref = _ctc_first_order(torch, wrt_log_probs)
    np.testing.assert_allclose(_np(g), _np(g_ref), rtol=1e-4, atol=1e-6)


# ---- 7. errors of pad/pack --------------------------------------------------------------------
ERRORS = [
    ("lengths_2d", RuntimeError,
     "'lengths' argument should be a 1D CPU int64 tensor, but got 2D cpu Long tensor"),
    ("lengths_2d_list", RuntimeError,
     "'lengths' argument should be a 1D CPU int64 tensor, but got 2D cpu Long tensor"),
    ("lengths_0d", RuntimeError,
     "'lengths' argument should be a 1D CPU int64 tensor, but got 0D cpu Long tensor"),
    ("lengths_2d_unsorted", IndexError, "index_select(): Index is supposed to be a vector"),
    ("empty_steps", RuntimeError, "Cannot pack empty tensors."),
    ("empty_batch", RuntimeError, "Cannot pack empty tensors."),
    ("lengths_none", TypeError, "'NoneType' object cannot be interpreted as an integer"),
    ("lists", TypeError, "expected Tensor as element 0 in argument 0, but got list"),
    ("zero_dim", RuntimeError, "ArrayRef: invalid slice, N = 1; size = 0"),
    ("zero_dim_later", IndexError, "Dimension specified as 0 but tensor has no dimensions"),
]


def _error_case(lib, case):
    R = lib.nn.utils.rnn
    return {
        "lengths_2d": lambda: R.pack_padded_sequence(lib.zeros(3, 2), lib.tensor([[2, 1]])),
        "lengths_2d_list": lambda: R.pack_padded_sequence(lib.zeros(3, 2), [[2, 1]]),
        "lengths_0d": lambda: R.pack_padded_sequence(lib.zeros(3, 2), 2),
        "lengths_2d_unsorted": lambda: R.pack_padded_sequence(lib.zeros(3, 2), [[2, 1]],
                                                              enforce_sorted=False),
        "empty_steps": lambda: R.pack_padded_sequence(lib.zeros(0, 2), [2, 1]),
        "empty_batch": lambda: R.pack_padded_sequence(lib.zeros(3, 0), []),
        "lengths_none": lambda: R.pack_padded_sequence(lib.zeros(3, 2), None),
        "lists": lambda: R.pad_sequence([[1, 2], [3]]),
        "zero_dim": lambda: R.pad_sequence([lib.tensor(1.0), lib.tensor(2.0)]),
        "zero_dim_later": lambda: R.pad_sequence([lib.tensor([1.0]), lib.tensor(2.0)]),
    }[case]


@pytest.mark.parametrize("case,exc,msg", ERRORS)
def test_pad_pack_errors(case, exc, msg):
    with pytest.raises(exc) as info:
        _error_case(fastnn, case)()
    assert str(info.value) == msg
    torch = _torch()
    with pytest.raises(exc) as ref:
        _error_case(torch, case)()
    assert str(ref.value) == msg


def test_valid_packing_still_works():
    seqs = [fastnn.tensor([1.0, 2.0, 3.0]), fastnn.tensor([4.0])]
    packed = rnn_utils.pack_sequence(seqs)
    np.testing.assert_array_equal(_np(packed.data), [1, 4, 2, 3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        padded, lengths = rnn_utils.pad_packed_sequence(packed)
    assert lengths.tolist() == [3, 1] and tuple(padded.shape) == (3, 2)
