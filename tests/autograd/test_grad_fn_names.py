"""grad_fn class names: ``type(out.grad_fn).__name__`` and ``out.grad_fn.name()`` against
PyTorch's over a broad set of ops.

Ops that fastnn records through a different node than PyTorch (a composite, or a node PyTorch
names after another overload) are listed in DIFFERENT; for them the class name must at least
agree with ``name()``.
"""
import warnings

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

DIFFERENT = set("""
    rdiv norm max_pool1d avg_pool1d adaptive_avg_pool2d adaptive_max_pool1d cross_entropy_smooth
    cross_entropy_probs kl_div sdpa setitem instance_norm conv_transpose1d
""".split())
MISSING = {"einsum"}  # fastnn records no graph for these (yet)


def cases(lib):
    F = lib.nn.functional
    t = lib.tensor
    return {
        "add": lambda x: x + x, "add_scalar": lambda x: x + 1, "sub": lambda x: x - x,
        "sub_scalar": lambda x: x - 1, "rsub": lambda x: 1 - x, "mul": lambda x: x * x,
        "mul_scalar": lambda x: x * 2, "div": lambda x: x / (x + 5), "div_scalar": lambda x: x / 2,
        "rdiv": lambda x: 2 / (x + 5), "neg": lambda x: -x, "pow": lambda x: x ** 2,
        "pow_tensor": lambda x: (x + 5) ** x, "rpow": lambda x: 2 ** x, "abs": lambda x: x.abs(),
        "exp": lambda x: x.exp(), "log": lambda x: (x + 5).log(), "sqrt": lambda x: (x + 5).sqrt(),
        "sin": lambda x: x.sin(), "cos": lambda x: x.cos(), "tanh": lambda x: x.tanh(),
        "sigmoid": lambda x: x.sigmoid(), "clamp": lambda x: x.clamp(-1, 1),
        "clamp_min": lambda x: x.clamp(min=0), "maximum": lambda x: lib.maximum(x, x * 2),
        "where": lambda x: lib.where(x > 0, x, x * 2), "matmul": lambda x: x @ x.t(),
        "mm": lambda x: lib.mm(x, x.t()), "bmm": lambda x: lib.bmm(x[None], x.t()[None]),
        "mv": lambda x: lib.mv(x, x[0]), "dot": lambda x: lib.dot(x[0], x[1]),
        "addmm": lambda x: lib.addmm(x, x, x),
        "sum": lambda x: x.sum(), "sum_dim": lambda x: x.sum(0), "mean": lambda x: x.mean(),
        "mean_dim": lambda x: x.mean(1),
        "prod": lambda x: x.prod(),
        "prod_dim": lambda x: x.prod(0),
        "max": lambda x: x.max(), "max_dim": lambda x: x.max(0)[0], "min": lambda x: x.min(),
        "min_dim": lambda x: x.min(1).values, "amax": lambda x: x.amax(0),
        "std": lambda x: x.std(), "var": lambda x: x.var(0), "norm": lambda x: x.norm(),
        "logsumexp": lambda x: x.logsumexp(0), "cumsum": lambda x: x.cumsum(0),
        "softmax": lambda x: x.softmax(0), "log_softmax": lambda x: x.log_softmax(1),
        "sort": lambda x: x.sort(0)[0], "topk": lambda x: x.topk(2)[0],
        "view": lambda x: x.view(-1), "reshape": lambda x: x.reshape(-1),
        "reshape_copy": lambda x: x.t().reshape(-1), "flatten": lambda x: x.flatten(),
        "t": lambda x: x.t(), "transpose": lambda x: x.transpose(0, 1),
        "permute": lambda x: x.permute(1, 0), "unsqueeze": lambda x: x.unsqueeze(0),
        "squeeze": lambda x: x[None].squeeze(0), "squeeze_all": lambda x: x[None].squeeze(),
        "expand": lambda x: x[0].expand(3, 3), "repeat": lambda x: x.repeat(2, 1),
        "cat": lambda x: lib.cat([x, x]), "stack": lambda x: lib.stack([x, x]),
        "split": lambda x: x.split(1)[0], "chunk": lambda x: x.chunk(3)[1],
        "unbind": lambda x: x.unbind(0)[0], "narrow": lambda x: x.narrow(0, 0, 2),
        "contiguous_t": lambda x: x.t().contiguous(), "clone": lambda x: x.clone(),
        "flip": lambda x: x.flip(0), "roll": lambda x: x.roll(1, 0), "diag": lambda x: x.diag(),
        "triu": lambda x: x.triu(), "tril": lambda x: x.tril(), "to_double": lambda x: x.double(),
        "index_int": lambda x: x[0],
        "index_slice": lambda x: x[1:],
        "index_step": lambda x: x[::2],
        "index_tensor": lambda x: x[t([0, 2])], "index_mask": lambda x: x[x > 0],
        "index_none": lambda x: x[None], "index_ellipsis": lambda x: x[..., 0],
        "gather": lambda x: x.gather(1, t([[0], [1], [2]])),
        "index_select": lambda x: x.index_select(0, t([0, 1])),
        "masked_fill": lambda x: x.masked_fill(x > 0, 0.0),
        "scatter": lambda x: x.scatter(0, t([[0, 1, 2]]), 1.0),
        "scatter_add": lambda x: x.scatter_add(0, t([[0, 1, 2]]), x[:1]),
        "take": lambda x: x.take(t([0, 4])),
        "relu": lambda x: F.relu(x), "leaky_relu": lambda x: F.leaky_relu(x),
        "elu": lambda x: F.elu(x), "gelu": lambda x: F.gelu(x), "silu": lambda x: F.silu(x),
        "softplus": lambda x: F.softplus(x), "hardtanh": lambda x: F.hardtanh(x),
        "relu6": lambda x: F.relu6(x), "mish": lambda x: F.mish(x), "selu": lambda x: F.selu(x),
        "celu": lambda x: F.celu(x), "hardsigmoid": lambda x: F.hardsigmoid(x),
        "hardswish": lambda x: F.hardswish(x), "logsigmoid": lambda x: F.logsigmoid(x),
        "tanhshrink": lambda x: F.tanhshrink(x), "softsign": lambda x: F.softsign(x),
        "F.softmax": lambda x: F.softmax(x, 1), "F.log_softmax": lambda x: F.log_softmax(x, 1),
        "glu": lambda x: F.glu(x.repeat(1, 2), 1), "prelu": lambda x: F.prelu(x, x[0, :1]),
        "linear": lambda x: F.linear(x, x), "linear_bias": lambda x: F.linear(x, x, x[0]),
        "linear_3d": lambda x: F.linear(x[None], x),
        "linear_3d_bias": lambda x: F.linear(x[None], x, x[0]),
        "linear_1d": lambda x: F.linear(x[0], x),
        "linear_1d_bias": lambda x: F.linear(x[0], x, x[0]),
        "bilinear": lambda x: F.bilinear(x, x, x[None]),
        "conv1d": lambda x: F.conv1d(x[None], x[:, :, None]),
        "conv2d": lambda x: F.conv2d(x[None, None].repeat(1, 1, 2, 2), x[None, None, :2, :2]),
        "conv2d_bias":
            lambda x: F.conv2d(x[None, None].repeat(1, 1, 2, 2), x[None, None, :2, :2], x[0, :1]),
        "conv_transpose2d": lambda x: F.conv_transpose2d(x[None, None], x[None, None, :2, :2]),
        "max_pool1d": lambda x: F.max_pool1d(x[None], 2),
        "max_pool2d": lambda x: F.max_pool2d(x[None, None].repeat(1, 1, 2, 2), 2),
        "avg_pool1d": lambda x: F.avg_pool1d(x[None], 2),
        "avg_pool2d": lambda x: F.avg_pool2d(x[None, None].repeat(1, 1, 2, 2), 2),
        "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x[None, None], 1),
        "adaptive_avg_pool2d_2":
            lambda x: F.adaptive_avg_pool2d(x[None, None].repeat(1, 1, 2, 2), 2),
        "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x[None, None], 1),
        "lp_pool2d": lambda x: F.lp_pool2d(x[None, None].repeat(1, 1, 2, 2), 2, 2),
        "mse": lambda x: F.mse_loss(x, x.detach() * 2),
        "l1": lambda x: F.l1_loss(x, x.detach() * 2),
        "smooth_l1": lambda x: F.smooth_l1_loss(x, x.detach() * 2),
        "huber": lambda x: F.huber_loss(x, x.detach() * 2),
        "cross_entropy": lambda x: F.cross_entropy(x, t([0, 1, 2])),
        "cross_entropy_none": lambda x: F.cross_entropy(x, t([0, 1, 2]), reduction="none"),
        "cross_entropy_smooth": lambda x: F.cross_entropy(x, t([0, 1, 2]), label_smoothing=0.1),
        "cross_entropy_probs": lambda x: F.cross_entropy(x, x.detach().softmax(1)),
        "nll": lambda x: F.nll_loss(x, t([0, 1, 2])),
        "bce": lambda x: F.binary_cross_entropy(x.sigmoid(), x.detach().sigmoid()),
        "bce_logits": lambda x: F.binary_cross_entropy_with_logits(x, x.detach().sigmoid()),
        "kl_div": lambda x: F.kl_div(x, x.detach().softmax(1), reduction="batchmean"),
        "layer_norm": lambda x: F.layer_norm(x, (3,)),
        "layer_norm_affine": lambda x: F.layer_norm(x, (3,), x[0], x[1]),
        "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
        "group_norm": lambda x: F.group_norm(x[None], 1),
        "dropout": lambda x: F.dropout(x, 0.5),
        "dropout_eval": lambda x: F.dropout(x, 0.5, training=False),
        "embedding": lambda x: F.embedding(t([0, 2]), x), "pad": lambda x: F.pad(x, (1, 1)),
        "normalize": lambda x: F.normalize(x),
        "cosine_similarity": lambda x: F.cosine_similarity(x, x * 2),
        "pairwise_distance": lambda x: F.pairwise_distance(x, x * 2),
        "interpolate": lambda x: F.interpolate(x[None, None], scale_factor=2),
        "interpolate_bilinear":
            lambda x: F.interpolate(x[None, None], scale_factor=2, mode="bilinear"),
        "unfold": lambda x: F.unfold(x[None, None], 2),
        "pixel_shuffle": lambda x: F.pixel_shuffle(x[None].repeat(4, 1, 1)[None], 2),
        "sdpa": lambda x: F.scaled_dot_product_attention(x[None], x[None], x[None]),
        "einsum": lambda x: lib.einsum("ij,jk->ik", x, x),
        "outer": lambda x: lib.outer(x[0], x[1]),
        "trace": lambda x: x.trace(), "det": lambda x: lib.linalg.det(x + 3 * lib.eye(3)),
        "inverse": lambda x: lib.linalg.inv(x + 3 * lib.eye(3)),
        "cdist": lambda x: lib.cdist(x, x * 2), "atan2": lambda x: lib.atan2(x, x + 5),
        "lerp": lambda x: lib.lerp(x, x * 2, 0.5), "addcmul": lambda x: lib.addcmul(x, x, x),
        "erf": lambda x: x.erf(), "floor": lambda x: x.floor(), "sign": lambda x: x.sign(),
        "reciprocal": lambda x: (x + 5).reciprocal(), "rsqrt": lambda x: (x + 5).rsqrt(),
        "square": lambda x: x.square(),
        "log1p": lambda x: (x + 5).log1p(),
        "expm1": lambda x: x.expm1(),
        "fmod": lambda x: x.fmod(2), "remainder": lambda x: x.remainder(2),
        "inplace_add_": lambda x: x.clone().add_(1), "inplace_mul_": lambda x: x.clone().mul_(x),
        "inplace_relu_": lambda x: F.relu(x.clone(), inplace=True),
        "setitem": lambda x: (lambda c: (c.__setitem__(0, 1.0), c)[1])(x.clone()),
        "unfold_tensor": lambda x: x.unfold(0, 2, 1), "diagonal": lambda x: x.diagonal(),
        "movedim": lambda x: x.movedim(0, 1), "as_strided": lambda x: x.as_strided((2,), (1,)),
        "masked_select": lambda x: x.masked_select(x > 0), "cummax": lambda x: x.cummax(0)[0],
        "median": lambda x: x.median(), "kthvalue": lambda x: x.kthvalue(1, 0)[0],
        "nansum": lambda x: x.nansum(), "all_reduce_amin": lambda x: x.amin(),
        "sinh": lambda x: x.sinh(), "asin": lambda x: (x / 10).asin(), "atan": lambda x: x.atan(),
        "exp2": lambda x: x.exp2(),
        "log2": lambda x: (x + 5).log2(),
        "log10": lambda x: (x + 5).log10(),
        "logaddexp": lambda x: lib.logaddexp(x, x), "hypot": lambda x: lib.hypot(x, x),
        "xlogy": lambda x: lib.xlogy(x, x + 5),
        "clamp_tensor": lambda x: x.clamp(x * 0, x * 0 + 1),
        "fill_masked_where_scalar": lambda x: lib.where(x > 0, x, 0.0),
        "std_mean": lambda x: lib.std_mean(x)[0], "var_mean": lambda x: lib.var_mean(x, 0)[1],
        "baddbmm": lambda x: lib.baddbmm(x[None], x[None], x[None]),
        "addmv": lambda x: lib.addmv(x[0], x, x[1]), "addr": lambda x: lib.addr(x, x[0], x[1]),
        "tensordot": lambda x: lib.tensordot(x, x, 1), "kron": lambda x: lib.kron(x, x),
        "embedding_bag": lambda x: F.embedding_bag(t([0, 1, 2]), x, t([0, 1])),
        "one_hot_mul": lambda x: F.one_hot(t([0, 1, 2]), 3).float() * x,
        "instance_norm": lambda x: F.instance_norm(x[None]),
        "local_response_norm": lambda x: F.local_response_norm(x[None], 2),
        "triplet": lambda x: F.triplet_margin_loss(x, x * 2, x * 3),
        "margin_ranking": lambda x: F.margin_ranking_loss(x[0], x[1], t([1., -1., 1.])),
        "hinge_embedding": lambda x: F.hinge_embedding_loss(x, x.detach().sign()),
        "soft_margin": lambda x: F.soft_margin_loss(x, x.detach().sign()),
        "multilabel_soft_margin":
            lambda x: F.multilabel_soft_margin_loss(x, (x.detach() > 0).float()),
        "poisson_nll": lambda x: F.poisson_nll_loss(x, x.detach().abs()),
        "gaussian_nll": lambda x: F.gaussian_nll_loss(x, x.detach(), x.detach().abs() + 1),
        "cosine_embedding": lambda x: F.cosine_embedding_loss(x, x * 2, t([1., -1., 1.])),
        "multi_margin": lambda x: F.multi_margin_loss(x, t([0, 1, 2])),
        "ctc_like_logsumexp": lambda x: lib.logsumexp(x, 1),
        "max_pool2d_indices":
            lambda x: F.max_pool2d(x[None, None].repeat(1, 1, 2, 2), 2, return_indices=True)[0],
        "adaptive_max_pool1d": lambda x: F.adaptive_max_pool1d(x[None], 1),
        "avg_pool3d": lambda x: F.avg_pool3d(x[None, None, None].repeat(1, 1, 2, 2, 2), 2),
        "max_pool3d": lambda x: F.max_pool3d(x[None, None, None].repeat(1, 1, 2, 2, 2), 2),
        "conv3d":
            lambda x: F.conv3d(x[None, None, None].repeat(1, 1, 2, 1, 1),
                               x[None, None, None, :2, :2]),
        "conv1d_bias": lambda x: F.conv1d(x[None], x[:, :, None], x[0]),
        "conv_transpose1d": lambda x: F.conv_transpose1d(x[None], x[:, :, None]),
        "rms_norm": lambda x: F.rms_norm(x, (3,)),
    }

_BASE = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 1.1]], np.float32)
_NAMES = sorted(k for k in cases(fastnn) if k not in MISSING)


def _node_names(lib, name):
    x = lib.tensor(_BASE.copy(), requires_grad=True)
    lib.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = cases(lib)[name](x).grad_fn
    return (type(g).__name__, g.name()) if g is not None else None


@pytest.mark.parametrize("name", _NAMES)
def test_grad_fn_class_name(name):
    ours = _node_names(fastnn, name)
    if name in DIFFERENT:
        assert ours is not None and ours[0] == ours[1]
    else:
        assert ours == _node_names(torch, name)


def test_linear_shows_a_transpose_node_for_its_weight():
    names = []
    for lib in (fastnn, torch):
        y = lib.nn.Linear(3, 2)(lib.ones(1, 3, requires_grad=True))
        names.append([type(n).__name__ for n, _ in y.grad_fn.next_functions])
    assert names[0] == names[1]


_SPD = np.array([[2.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 4.0]], np.float32)
_MULTI = {  # ops with several outputs: each output's node carries the op's name
    "qr": lambda lib, x: lib.linalg.qr(x)[0], "svd": lambda lib, x: lib.linalg.svd(x)[1],
    "eigh": lambda lib, x: lib.linalg.eigh(x)[0],
    "slogdet": lambda lib, x: lib.linalg.slogdet(x)[1],
    "max_dim": lambda lib, x: x.max(0)[0], "sort": lambda lib, x: x.sort(0)[0],
    "aminmax": lambda lib, x: lib.aminmax(x)[0], "mode": lambda lib, x: x.mode(0)[0],
}


# more argument forms of the ops whose composite node is relabelled as PyTorch's fused one
_VARIANTS = {
    "rsub_int": lambda lib, x: 2 - x, "rpow_float": lambda lib, x: 2.5 ** x,
    "erfc": lambda lib, x: x.erfc(), "erfinv": lambda lib, x: (x / 10).erfinv(),
    "mv_method": lambda lib, x: x.mv(x[0]), "split_sizes": lambda lib, x: x.split([1, 2])[1],
    "split_fn": lambda lib, x: lib.split(x, 2)[1], "chunk_dim1": lambda lib, x: x.chunk(3, 1)[2],
    "tensor_split": lambda lib, x: x.tensor_split(3)[0],
    "unbind_dim1": lambda lib, x: x.unbind(1)[2],
    "trace_rect": lambda lib, x: x[:2].trace(), "nansum_dim": lambda lib, x: x.nansum(0),
    "amax_all": lambda lib, x: x.amax(), "amax_keep": lambda lib, x: x.amax((0, 1), keepdim=True),
    "amin_dim": lambda lib, x: lib.amin(x, 1),
    "std_mean_mean": lambda lib, x: lib.std_mean(x, 0)[1],
    "var_mean_var": lambda lib, x: lib.var_mean(x, 1, keepdim=True)[0],
    "clamp_min_tensor": lambda lib, x: x.clamp(min=x * 0),
    "clamp_min_t": lambda lib, x: x.clamp_min(x * 0), "clamp_max_t": lambda lib, x: x.clamp_max(x),
    "scatter_value_kw": lambda lib, x: x.scatter(1, lib.tensor([[0], [1], [2]]), value=2.0),
    "selu_module": lambda lib, x: lib.nn.SELU()(x), "celu_alpha": lambda lib, x: lib.celu(x, 2.0),
    "glu_last": lambda lib, x: lib.nn.functional.glu(x.repeat(1, 2)),
    "prelu_module": lambda lib, x: (lib.manual_seed(0), lib.nn.PReLU()(x))[1],
    "xlogy_scalar_other": lambda lib, x: lib.xlogy(x, 2.0),
    "xlogy_scalar_self": lambda lib, x: lib.xlogy(2.0, x + 5),
    "lerp_tensor_weight": lambda lib, x: lib.lerp(x, x * 2, x),
    "addcdiv": lambda lib, x: lib.addcdiv(x, x, x + 5),
    "addcmul_value": lambda lib, x: x.addcmul(x, x, value=2),
    "addmv_beta0": lambda lib, x: lib.addmv(x[0], x, x[1], beta=0),
    "addr_beta0": lambda lib, x: lib.addr(x, x[0], x[1], beta=0),
    "baddbmm_beta0": lambda lib, x: lib.baddbmm(x[None], x[None], x[None], beta=0),
    "addbmm": lambda lib, x: lib.addbmm(x, x[None], x[None]),
    "logaddexp2": lambda lib, x: lib.logaddexp2(x, x),
    "hypot_method": lambda lib, x: x.hypot(x + 1),
    "cdist_p1": lambda lib, x: lib.cdist(x, x * 2, p=1),
    "cdist_p0": lambda lib, x: lib.cdist(x, x, p=0),
    "embedding_bag_max":
        lambda lib, x: lib.nn.functional.embedding_bag(lib.tensor([0, 1, 2]), x,
                                                        lib.tensor([0, 1]), mode="max"),
    "embedding_bag_2d": lambda lib, x: lib.nn.functional.embedding_bag(lib.tensor([[0, 1]]), x),
    "soft_margin_none":
        lambda lib, x: lib.nn.functional.soft_margin_loss(x, x.detach().sign(), reduction="none"),
    "multi_margin_p2":
        lambda lib, x: lib.nn.functional.multi_margin_loss(x, lib.tensor([0, 1, 2]), p=2),
    "pixel_unshuffle":
        lambda lib, x: lib.nn.functional.pixel_unshuffle(x.repeat(2, 2)[None, None], 2),
    "kron_1d": lambda lib, x: lib.kron(x[0], x[1]),
    "linear_4d": lambda lib, x: lib.nn.functional.linear(x[None, None], x),
    "linear_1d_module":
        lambda lib, x: (lib.manual_seed(0), lib.nn.Linear(3, 2, bias=False)(x[0]))[1],
}


@pytest.mark.parametrize("name", sorted(_VARIANTS))
def test_relabelled_op_variants(name):
    got = []
    for lib in (fastnn, torch):
        x = lib.tensor(_BASE.copy(), requires_grad=True)
        g = _VARIANTS[name](lib, x).grad_fn
        got.append((type(g).__name__, g.name()))
    assert got[0] == got[1]


def test_split_pieces_and_both_moments_are_relabelled():
    x = fastnn.tensor(_BASE.copy(), requires_grad=True)
    assert {type(p.grad_fn).__name__ for p in x.chunk(3)} == {"SplitBackward0"}
    assert {p.grad_fn.name() for p in x.unbind(1)} == {"UnbindBackward0"}
    assert [type(t.grad_fn).__name__ for t in fastnn.var_mean(x, 0)] == ["VarMeanBackward0"] * 2
    assert fastnn.tensor(_BASE.copy()).split(1)[0].grad_fn is None
    with fastnn.no_grad():
        assert (1 - x).grad_fn is None


@pytest.mark.parametrize("name", sorted(_MULTI))
def test_multi_output_node_names(name):
    got = []
    for lib in (fastnn, torch):
        g = _MULTI[name](lib, lib.tensor(_SPD.copy(), requires_grad=True)).grad_fn
        got.append((type(g).__name__, g.name()))
    assert got[0] == got[1]
