"""scaled_dot_product_attention, MultiheadAttention and the Transformer modules against PyTorch:
outputs, attention weights and the gradients of inputs and parameters."""
import itertools
import warnings

import numpy as np
import pytest

import fastnn
import fastnn.nn as nn
import fastnn.nn.functional as F

torch = pytest.importorskip("torch")

TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-10)}
TDT = {np.float32: torch.float32, np.float64: torch.float64}
FDT = {np.float32: fastnn.float32, np.float64: fastnn.float64}


def _pair(arr, grad=True):
    return (torch.tensor(arr, requires_grad=grad and arr.dtype.kind == "f"),
            fastnn.tensor(arr, requires_grad=grad and arr.dtype.kind == "f"))


def _load(fm, tm):
    tsd = tm.state_dict()
    assert list(fm.state_dict()) == list(tsd)
    fm.load_state_dict({k: fastnn.tensor(v.detach().numpy()) for k, v in tsd.items()})


def _close(f, t, tol):
    assert tuple(f.shape) == tuple(t.shape)
    np.testing.assert_allclose(f.detach().numpy(), t.detach().numpy(), **tol)


def _backward(outs_t, outs_f, seed=1):
    """Backpropagates the same random cotangents through both graphs."""
    rng = np.random.default_rng(seed)
    lt = lf = 0
    for t, f in zip(outs_t, outs_f):
        if t is None:
            assert f is None
            continue
        g = rng.standard_normal(tuple(t.shape)).astype(t.detach().numpy().dtype)
        lt = lt + (t * torch.tensor(g)).sum()
        lf = lf + (f * fastnn.tensor(g)).sum()
    lt.backward()
    lf.backward()


def _check_grads(pairs, fm, tm, tol):
    for t, f in pairs:
        if t.requires_grad:
            _close(f.grad, t.grad, tol)
    fparams = dict(fm.named_parameters()) if fm is not None else {}
    for name, tp in (tm.named_parameters() if tm is not None else ()):
        assert tp.grad is not None, name
        _close(fparams[name].grad, tp.grad, tol)


# ---- scaled_dot_product_attention ------------------------------------------------------------

def _rand_bool_mask(rng, shape):
    m = rng.random(shape) > 0.4
    m[..., 0] = True  # every query may attend somewhere
    return m


SDPA_CASES = [
    dict(q=(2, 3, 5, 4), kv=(2, 3, 6, 4)),
    dict(q=(5, 4), kv=(6, 4)),
    dict(q=(2, 2, 3, 5, 4), kv=(2, 2, 3, 6, 8), vdim=8),
    dict(q=(2, 3, 5, 4), kv=(2, 3, 6, 4), mask="bool"),
    dict(q=(2, 3, 5, 4), kv=(2, 3, 6, 4), mask="bool_bcast"),
    dict(q=(2, 3, 5, 4), kv=(2, 3, 6, 4), mask="float"),
    dict(q=(2, 3, 5, 4), kv=(2, 3, 5, 4), causal=True),
    dict(q=(2, 3, 4, 4), kv=(2, 3, 7, 4), causal=True),
    dict(q=(2, 3, 7, 4), kv=(2, 3, 4, 4), causal=True),
    dict(q=(2, 3, 5, 4), kv=(2, 3, 6, 4), scale=0.3),
    dict(q=(2, 4, 5, 4), kv=(2, 2, 6, 4), gqa=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", SDPA_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in
                                                                    c.items()))
def test_sdpa_matches_torch(case, dtype):
    rng = np.random.default_rng(0)
    q = rng.standard_normal(case["q"]).astype(dtype)
    k = rng.standard_normal(case["kv"][:-1] + (q.shape[-1],)).astype(dtype)
    v = rng.standard_normal(case["kv"]).astype(dtype)
    L, S = q.shape[-2], k.shape[-2]
    mask = {None: None, "bool": lambda: _rand_bool_mask(rng, q.shape[:-1] + (S,)),
            "bool_bcast": lambda: _rand_bool_mask(rng, (L, S)),
            "float": lambda: rng.standard_normal((1, q.shape[1], L, S)).astype(dtype)
            }[case.get("mask")]
    pairs = [_pair(a) for a in (q, k, v)]
    kw = dict(is_causal=case.get("causal", False), scale=case.get("scale"),
              enable_gqa=case.get("gqa", False))
    if mask is not None:
        pairs.append(_pair(mask()))
    targs = [p[0] for p in pairs]
    fargs = [p[1] for p in pairs]
    to = torch.nn.functional.scaled_dot_product_attention(*targs, **kw)
    fo = F.scaled_dot_product_attention(*fargs, **kw)
    _close(fo, to, TOL[dtype])
    _backward([to], [fo])
    _check_grads(pairs, None, None, TOL[dtype])


def test_sdpa_fully_masked_rows_give_zeros_and_zero_grads():
    rng = np.random.default_rng(1)
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    m = np.ones((4, 4), bool)
    m[2] = False
    for mask in (m, np.where(m, 0.0, -np.inf)):
        pairs = [_pair(a) for a in (q, k, v)]
        to = torch.nn.functional.scaled_dot_product_attention(
            *[p[0] for p in pairs], attn_mask=torch.tensor(mask))
        fo = F.scaled_dot_product_attention(*[p[1] for p in pairs],
                                            attn_mask=fastnn.tensor(mask))
        assert (fo.detach().numpy()[:, 2] == 0).all()
        _close(fo, to, TOL[np.float64])
        _backward([to], [fo])
        _check_grads(pairs, None, None, TOL[np.float64])
        assert np.isfinite(pairs[0][1].grad.numpy()).all()


def test_sdpa_dropout_and_errors():
    q = fastnn.randn(2, 3, 8, 4)
    fastnn.manual_seed(0)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    fastnn.manual_seed(0)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    c = F.scaled_dot_product_attention(q, q, q)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(a.numpy(), c.numpy())
    assert np.allclose(F.scaled_dot_product_attention(q, q, q, dropout_p=1.0).numpy(), 0)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        F.scaled_dot_product_attention(q, q, q, fastnn.ones(8, 8, dtype=fastnn.bool),
                                       is_causal=True)
    with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(q[0, 0, 0], q[0, 0, 0], q[0, 0, 0])
    with pytest.raises(RuntimeError, match="Expected attn_mask dtype to be bool or float"):
        F.scaled_dot_product_attention(q, q, q, fastnn.zeros(8, 8, dtype=fastnn.int64))


def test_sdpa_gradcheck():
    rng = np.random.default_rng(2)
    q, k, v = (fastnn.tensor(rng.standard_normal((1, 2, 3, 2)), requires_grad=True)
               for _ in range(3))
    bias = fastnn.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    fastnn.autograd.gradcheck(lambda a, b, c, m: F.scaled_dot_product_attention(
        a, b, c, attn_mask=m), (q, k, v, bias))
    fastnn.autograd.gradcheck(lambda a, b, c: F.scaled_dot_product_attention(
        a, b, c, is_causal=True), (q, k, v))


# ---- MultiheadAttention ----------------------------------------------------------------------

def _mha_pair(dtype, **kw):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(dtype=TDT[dtype], **kw)
    fm = nn.MultiheadAttention(dtype=FDT[dtype], **kw)
    # random biases, so their gradients and the bias paths are exercised too
    with torch.no_grad():
        for name, p in tm.named_parameters():
            if "bias" in name:
                p.normal_()
    _load(fm, tm)
    return fm, tm


def _masks(rng, kind, n, heads, L, S, dtype, batched):
    """(attn_mask, key_padding_mask, is_causal) as numpy arrays."""
    attn = kpm = None
    causal = False
    if "attn_bool" in kind:  # True = masked out; the first key is always kept
        attn = rng.random((L, S)) > 0.6
        attn[:, 0] = False
    if "attn_float" in kind:
        attn = rng.standard_normal((L, S)).astype(dtype)
    if "attn3d" in kind:
        attn = rng.random((n * heads if batched else heads, L, S)) > 0.6
        attn[..., 0] = False
    if "causal" in kind:
        attn = np.triu(np.full((L, S), -np.inf, dtype), 1)
        causal = True
    if "kpm_bool" in kind:
        kpm = rng.random((n, S) if batched else (S,)) > 0.6
        kpm[..., 0] = False
    if "kpm_float" in kind:
        kpm = rng.standard_normal((n, S) if batched else (S,)).astype(dtype)
        if attn is not None and attn.dtype == bool:
            attn = np.where(attn, -np.inf, 0.0).astype(dtype)
    return attn, kpm, causal


MHA_MASKS = ["none", "attn_bool", "attn_float", "attn3d", "kpm_bool", "kpm_float",
             "attn_bool+kpm_bool", "attn_float+kpm_float", "causal", "causal+kpm_bool"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask", MHA_MASKS)
@pytest.mark.parametrize("batch_first,batched", [(False, True), (True, True), (False, False)])
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_mha_self_attention_matches_torch(dtype, mask, batch_first, batched, need_weights,
                                          average):
    _run_mha(dtype, mask, batch_first, batched, need_weights, average, kw={}, same=True)


MHA_VARIANTS = [dict(kdim=3, vdim=5), dict(kdim=6), dict(bias=False), dict(add_bias_kv=True),
                dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kw", MHA_VARIANTS, ids=str)
@pytest.mark.parametrize("mask", ["none", "attn_bool+kpm_bool", "attn_float"])
@pytest.mark.parametrize("batch_first,batched", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_cross_attention_matches_torch(dtype, kw, mask, batch_first, batched,
                                           need_weights):
    _run_mha(dtype, mask, batch_first, batched, need_weights, True, kw=kw, same=False)


def _run_mha(dtype, mask, batch_first, batched, need_weights, average, kw, same):
    E, heads, n, L, S = 6, 2, 3, 4, (4 if same else 5)
    fm, tm = _mha_pair(dtype, embed_dim=E, num_heads=heads, batch_first=batch_first, **kw)
    rng = np.random.default_rng(3)

    def seq(length, dim):
        shape = ((n, length) if batch_first else (length, n)) if batched else (length,)
        return rng.standard_normal(shape + (dim,)).astype(dtype)

    q = seq(L, E)
    if same:
        pairs = [_pair(q)]
        targs, fargs = [pairs[0][0]] * 3, [pairs[0][1]] * 3
    else:
        pairs = [_pair(q), _pair(seq(S, kw.get("kdim", E))), _pair(seq(S, kw.get("vdim", E)))]
        targs, fargs = [p[0] for p in pairs], [p[1] for p in pairs]
    attn, kpm, causal = _masks(rng, mask, n, heads, L, S, dtype, batched)
    tkw, fkw = dict(need_weights=need_weights, average_attn_weights=average,
                    is_causal=causal), {}
    fkw.update(tkw)
    for name, arr in (("attn_mask", attn), ("key_padding_mask", kpm)):
        if arr is not None:
            tkw[name], fkw[name] = torch.tensor(arr), fastnn.tensor(arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to, tw = tm(*targs, **tkw)
        fo, fw = fm(*fargs, **fkw)
    _close(fo, to, TOL[dtype])
    if need_weights:
        _close(fw, tw, TOL[dtype])
    else:
        assert fw is None and tw is None
    _backward([to, tw], [fo, fw])
    _check_grads(pairs, fm, tm, TOL[dtype])


def test_mha_eval_mode_and_dropout():
    fm, tm = _mha_pair(np.float64, embed_dim=4, num_heads=2, dropout=0.5)
    x = np.random.default_rng(4).standard_normal((3, 2, 4))
    fm.eval()
    tm.eval()
    tx, fx = _pair(x)
    (to, tw), (fo, fw) = tm(tx, tx, tx), fm(fx, fx, fx)
    _close(fo, to, TOL[np.float64])
    _close(fw, tw, TOL[np.float64])
    fm.train()
    fastnn.manual_seed(0)
    a = fm(fx, fx, fx)[1]
    assert not np.allclose(a.detach().numpy(), fw.detach().numpy())


def test_mha_init_params_state_dict_and_repr():
    for kw in ({}, dict(kdim=3, vdim=5, bias=False, batch_first=True), dict(add_bias_kv=True)):
        tm = torch.nn.MultiheadAttention(8, 2, **kw)
        fm = nn.MultiheadAttention(8, 2, **kw)
        assert repr(fm) == repr(tm)
        assert list(fm.state_dict()) == list(tm.state_dict())
        for (fn, fp), (tn, tp) in zip(fm.named_parameters(), tm.named_parameters()):
            assert fn == tn and tuple(fp.shape) == tuple(tp.shape)
            if "bias" in fn and fn not in ("bias_k", "bias_v"):
                assert (fp.detach().numpy() == 0).all()
        w = fm.in_proj_weight if fm.in_proj_weight is not None else fm.q_proj_weight
        bound = np.sqrt(6.0 / (w.shape[0] + w.shape[1]))
        assert np.abs(w.detach().numpy()).max() <= bound and w.detach().numpy().std() > 0.1
    assert fm.head_dim == 4 and fm._qkv_same_embed_dim
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        nn.MultiheadAttention(0, 1)


def test_mha_errors_match_torch():
    fm = nn.MultiheadAttention(4, 2)
    x = fastnn.randn(3, 2, 4)
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        fm(x, x[0], x[0])
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        fm(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is"):
        fm(x, x, x, attn_mask=fastnn.zeros(2, 3))
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask"):
        fm(x, x, x, attn_mask=fastnn.zeros(3, 3, dtype=fastnn.int64))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 4"):
        fm(fastnn.randn(3, 2, 6), fastnn.randn(3, 2, 6), fastnn.randn(3, 2, 6))
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and "
                                         "attn_mask is deprecated"):
        fm(x, x, x, key_padding_mask=fastnn.zeros(2, 3, dtype=fastnn.bool),
           attn_mask=fastnn.zeros(3, 3))


def test_mha_gradcheck():
    fm = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, dtype=fastnn.float64)
    rng = np.random.default_rng(5)
    q = fastnn.tensor(rng.standard_normal((2, 1, 4)), requires_grad=True)
    k = fastnn.tensor(rng.standard_normal((3, 1, 3)), requires_grad=True)
    v = fastnn.tensor(rng.standard_normal((3, 1, 2)), requires_grad=True)
    mask = fastnn.tensor([[False, True, False], [False, False, True]])
    fastnn.autograd.gradcheck(lambda a, b, c: fm(a, b, c, attn_mask=mask)[0], (q, k, v))
    fastnn.autograd.gradcheck(lambda a, b, c: fm(a, b, c, need_weights=False)[0], (q, k, v))


# ---- Transformer modules ---------------------------------------------------------------------

def _pair_module(make, dtype, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        tm = make(torch.nn, dtype=TDT[dtype], **kw)
        fm = make(nn, dtype=FDT[dtype], **kw)
    _load(fm, tm)
    return fm, tm


def _enc_layer(mod, dtype, **kw):
    return mod.TransformerEncoderLayer(8, 2, dim_feedforward=12, dropout=0.0, dtype=dtype, **kw)


def _activation(mod, name):
    return {"relu": "relu", "gelu": "gelu", "module": mod.GELU() if mod is not None else None,
            "callable": "tanh"}[name]


ENC_CASES = list(itertools.product([False, True], [False, True], ["relu", "gelu", "module"],
                                   ["none", "causal", "kpm_bool", "attn_float+kpm_float"])) + [
    (True, False, "callable", "attn_bool"), (False, True, "relu", "unbatched"),
    (False, False, "relu", "bias_false")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch_first,norm_first,act,mask", ENC_CASES)
def test_transformer_encoder_matches_torch(dtype, batch_first, norm_first, act, mask):
    def make(mod, dtype, **kw):
        if act == "callable":
            a = torch.tanh if mod is torch.nn else fastnn.tanh
        elif act == "module":
            a = mod.GELU()
        else:
            a = act
        layer = _enc_layer(mod, dtype, batch_first=batch_first, norm_first=norm_first,
                           activation=a, bias=mask != "bias_false")
        return mod.TransformerEncoder(layer, 2, norm=mod.LayerNorm(8, dtype=dtype))

    fm, tm = _pair_module(make, dtype)
    rng = np.random.default_rng(6)
    n, L = 3, 5
    batched = mask != "unbatched"
    shape = ((n, L) if batch_first else (L, n)) if batched else (L,)
    pair = _pair(rng.standard_normal(shape + (8,)).astype(dtype))
    attn, kpm, causal = _masks(rng, mask, n, 2, L, L, dtype, batched)
    tkw, fkw = {}, {}
    if causal:
        tkw["is_causal"] = fkw["is_causal"] = True
    for name, arr in (("mask", attn), ("src_key_padding_mask", kpm)):
        if arr is not None:
            tkw[name], fkw[name] = torch.tensor(arr), fastnn.tensor(arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        to, fo = tm(pair[0], **tkw), fm(pair[1], **fkw)
    _close(fo, to, TOL[dtype])
    _backward([to], [fo])
    _check_grads([pair], fm, tm, TOL[dtype])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(norm_first, batch_first):
    dtype = np.float64

    def make(mod, dtype, **kw):
        return mod.Transformer(8, 2, 2, 2, 12, 0.0, batch_first=batch_first,
                               norm_first=norm_first, dtype=dtype)

    fm, tm = _pair_module(make, dtype)
    rng = np.random.default_rng(7)
    n, S, T = 2, 5, 4
    src = _pair(rng.standard_normal((n, S, 8) if batch_first else (S, n, 8)))
    tgt = _pair(rng.standard_normal((n, T, 8) if batch_first else (T, n, 8)))
    tmask = np.triu(np.full((T, T), -np.inf), 1)
    kpm = np.zeros((n, S), bool)
    kpm[1, -2:] = True
    args = dict(tgt_mask=tmask, src_key_padding_mask=kpm, memory_key_padding_mask=kpm)
    to = tm(src[0], tgt[0], **{k: torch.tensor(v) for k, v in args.items()})
    fo = fm(src[1], tgt[1], **{k: fastnn.tensor(v) for k, v in args.items()})
    _close(fo, to, TOL[dtype])
    _backward([to], [fo])
    _check_grads([src, tgt], fm, tm, TOL[dtype])
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(mask.numpy(),
                                  torch.nn.Transformer.generate_square_subsequent_mask(4))


def test_transformer_reprs_state_dicts_and_copies():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for act in ("relu", "gelu", "module"):
            tl = torch.nn.TransformerEncoderLayer(4, 2, 8, activation=_activation(torch.nn, act))
            fl = nn.TransformerEncoderLayer(4, 2, 8, activation=_activation(nn, act))
            assert repr(fl) == repr(tl)
            assert fl.activation_relu_or_gelu == tl.activation_relu_or_gelu
        te = torch.nn.TransformerEncoder(tl, 3, norm=torch.nn.LayerNorm(4))
        fe = nn.TransformerEncoder(fl, 3, norm=nn.LayerNorm(4))
        assert repr(fe) == repr(te)
        assert list(fe.state_dict()) == list(te.state_dict())
        assert fe.layers[0].linear1.weight is not fe.layers[1].linear1.weight
        np.testing.assert_array_equal(fe.layers[2].linear1.weight.detach().numpy(),
                                      fl.linear1.weight.detach().numpy())
        td = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(4, 2, 8), 2)
        fd = nn.TransformerDecoder(nn.TransformerDecoderLayer(4, 2, 8), 2)
        assert repr(fd) == repr(td) and list(fd.state_dict()) == list(td.state_dict())
        tt, ft = torch.nn.Transformer(4, 2, 1, 1, 8), nn.Transformer(4, 2, 1, 1, 8)
        assert repr(ft) == repr(tt) and list(ft.state_dict()) == list(tt.state_dict())
    with pytest.warns(UserWarning, match="enable_nested_tensor is True, but "
                                         "self.use_nested_tensor is False because "
                                         "encoder_layer.self_attn.batch_first was not True"):
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 2, 8), 1)
    assert not enc.use_nested_tensor and enc.enable_nested_tensor and enc.mask_check
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")


def test_transformer_encoder_layer_gradcheck_and_eval():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.3, dtype=fastnn.float64)
    layer.eval()
    x = fastnn.tensor(np.random.default_rng(8).standard_normal((3, 1, 4)), requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=fastnn.float64)
    fastnn.autograd.gradcheck(lambda a: layer(a, src_mask=mask), (x,))
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


@pytest.mark.parametrize("pad", [[[False] * 4, [False, False, True, True]],
                                 [[False] * 4, [True, False, False, True]]])
@pytest.mark.parametrize("no_grad", [True, False])
def test_encoder_inference_zeroes_padding_like_pytorch(pad, no_grad):
    # PyTorch's inference path (eval, no grad, left-aligned padding) packs the sequences and
    # pads the result with zeros; with grad enabled or padding not at the end it does not
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8)).eval()
    fl = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    fm = nn.TransformerEncoder(fl, 2, norm=nn.LayerNorm(8)).eval()
    _load(fm, tm)
    x = np.random.default_rng(0).standard_normal((2, 4, 8)).astype(np.float32)
    with torch.no_grad() if no_grad else torch.enable_grad():
        want = tm(torch.tensor(x), src_key_padding_mask=torch.tensor(pad))
    with fastnn.no_grad() if no_grad else fastnn.enable_grad():
        got = fm(fastnn.tensor(x), src_key_padding_mask=fastnn.tensor(pad))
    _close(got, want, TOL[np.float32])
