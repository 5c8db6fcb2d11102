"""Every differentiable core op as a case ``(name, fn(lib, *tensors), input specs)``.

``fn`` is written once against ``lib`` (fastnn or torch) so the same case drives gradcheck and
the PyTorch parity tests. An input spec is a shape, or ``(shape, kind)`` where kind is "pos"
(values in [0.5, 2]) or "int" (not differentiable, small integers).
"""
import numpy as np


def _setitem(lib, a, b):
    y = a * 1.0
    y[0, 1:] = b
    return y


def _setitem_adv(lib, a, b):
    y = a * 2.0
    y[lib.tensor([2, 0])] = b
    return y


def _view_inplace(lib, a, b):
    y = a * 1.5
    y[1].mul_(b)
    y.t()[0].add_(b[:2])
    return y


def _inplace_chain(lib, a, b):
    y = a.exp()
    y = y * 1.0
    y.add_(b).mul_(b).sub_(1).div_(2)
    return y.clamp_(-5, 5)


def _split_sum(lib, a):
    p, q = a.split([1, 2], dim=1)
    return p * 2 + q.sum(1, keepdim=True)


def _chunks(lib, a):
    return a.chunk(2, dim=0)


def _unbind(lib, a):
    r = a.unbind(1)
    return r[0] * r[2]


CASES = [
    # ---- elementwise binary, with broadcasting and scalars
    ("add", lambda lib, a, b: a + b, [(2, 3), (3,)]),
    ("add_bcast", lambda lib, a, b: a + b, [(4, 1, 3), (2, 1)]),
    ("add_alpha", lambda lib, a, b: lib.add(a, b, alpha=2.5), [(2, 3), (2, 1)]),
    ("add_scalar", lambda lib, a: 2.5 + a, [(2, 3)]),
    ("add_0d", lambda lib, a, b: a + b, [(), (2, 3)]),
    ("sub", lambda lib, a, b: a - b, [(1, 3), (2, 1)]),
    ("sub_alpha", lambda lib, a, b: a.sub(b, alpha=3), [(3,), (3,)]),
    ("rsub", lambda lib, a: 1 - a, [(2, 3)]),
    ("mul", lambda lib, a, b: a * b, [(2, 3), (2, 3)]),
    ("mul_bcast", lambda lib, a, b: a * b, [(2, 1, 4), (3, 1)]),
    ("mul_self", lambda lib, a: a * a, [(5,)]),
    ("div", lambda lib, a, b: a / b, [(2, 3), ((3,), "pos")]),
    ("div_bcast", lambda lib, a, b: a / b, [((2, 1), "pos"), ((1, 3), "pos")]),
    ("rdiv", lambda lib, a: 2 / a, [((2, 3), "pos")]),
    ("pow_int", lambda lib, a: a ** 3, [(2, 3)]),
    ("pow_2", lambda lib, a: a ** 2, [(2, 3)]),
    ("pow_float", lambda lib, a: a ** 1.5, [((2, 3), "pos")]),
    ("pow_neg", lambda lib, a: lib.pow(a, -0.5), [((4,), "pos")]),
    ("pow_tensor", lambda lib, a, b: a ** b, [((2, 3), "pos"), (3,)]),
    ("rpow", lambda lib, a: 2.0 ** a, [(2, 3)]),
    ("maximum", lambda lib, a, b: lib.maximum(a, b), [(2, 3), (3,)]),
    ("minimum", lambda lib, a, b: lib.minimum(a, b), [(2, 3), (2, 1)]),
    ("where", lambda lib, a, b: lib.where(a > 0, a, b), [(3, 4), (4,)]),
    ("where_scalar", lambda lib, a: lib.where(a > 0, a, 0.5), [(3, 4)]),
    # ---- elementwise unary
    ("neg", lambda lib, a: -a, [(2, 3)]),
    ("abs", lambda lib, a: a.abs(), [(2, 3)]),
    ("exp", lambda lib, a: a.exp(), [(2, 3)]),
    ("expm1", lambda lib, a: a.expm1(), [(2, 3)]),
    ("log", lambda lib, a: a.log(), [((2, 3), "pos")]),
    ("log1p", lambda lib, a: lib.log1p(a), [((2, 3), "pos")]),
    ("sqrt", lambda lib, a: a.sqrt(), [((2, 3), "pos")]),
    ("rsqrt", lambda lib, a: a.rsqrt(), [((2, 3), "pos")]),
    ("sin", lambda lib, a: a.sin(), [(2, 3)]),
    ("cos", lambda lib, a: lib.cos(a), [(2, 3)]),
    ("tanh", lambda lib, a: a.tanh(), [(2, 3)]),
    ("sigmoid", lambda lib, a: a.sigmoid(), [(2, 3)]),
    ("relu", lambda lib, a: a.relu(), [(2, 3)]),
    ("sign", lambda lib, a: a.sign() * a, [(2, 3)]),
    ("square", lambda lib, a: a.square(), [(2, 3)]),
    ("reciprocal", lambda lib, a: a.reciprocal(), [((2, 3), "pos")]),
    ("clamp", lambda lib, a: a.clamp(-0.55, 0.75), [(3, 4)]),
    ("clamp_min", lambda lib, a: a.clamp(min=0.1), [(3, 4)]),
    ("clamp_max", lambda lib, a: lib.clamp(a, max=-0.1), [(3, 4)]),
    ("clamp_tensor", lambda lib, a, b: a.clamp(min=b), [(3, 4), (4,)]),
    ("clone", lambda lib, a: a.clone() * 2, [(2, 3)]),
    ("lerp", lambda lib, a, b: a.lerp(b, 0.3), [(2, 3), (2, 3)]),
    # ---- reductions
    ("sum", lambda lib, a: a.sum(), [(2, 3)]),
    ("sum_dim", lambda lib, a: a.sum(1), [(2, 3, 4)]),
    ("sum_dims_keepdim", lambda lib, a: a.sum((0, 2), keepdim=True), [(2, 3, 4)]),
    ("mean", lambda lib, a: a.mean(), [(2, 3)]),
    ("mean_dim", lambda lib, a: a.mean(-1, keepdim=True), [(2, 3)]),
    ("var", lambda lib, a: a.var(), [(2, 3)]),
    ("var_dim", lambda lib, a: a.var(0, correction=0), [(4, 3)]),
    ("std", lambda lib, a: a.std(), [(5,)]),
    ("std_dim", lambda lib, a: a.std(1, keepdim=True), [(2, 5)]),
    ("prod", lambda lib, a: a.prod(), [(2, 3)]),
    ("prod_dim", lambda lib, a: a.prod(1), [(3, 4)]),
    ("prod_keepdim", lambda lib, a: a.prod(0, keepdim=True), [(3, 4)]),
    ("max", lambda lib, a: a.max(), [(3, 4)]),
    ("min", lambda lib, a: a.min(), [(3, 4)]),
    ("max_dim", lambda lib, a: a.max(1)[0], [(3, 4)]),
    ("min_dim_keepdim", lambda lib, a: a.min(0, keepdim=True).values, [(3, 4)]),
    ("amax", lambda lib, a: a.amax(1), [(3, 4)]),
    ("logsumexp", lambda lib, a: a.logsumexp(1), [(3, 4)]),
    ("logsumexp_all", lambda lib, a: a.logsumexp((0, 1), keepdim=True), [(3, 4)]),
    ("softmax", lambda lib, a: a.softmax(1), [(3, 4)]),
    ("softmax_0", lambda lib, a: lib.softmax(a, 0), [(3, 4)]),
    ("log_softmax", lambda lib, a: a.log_softmax(-1), [(3, 4)]),
    ("cumsum", lambda lib, a: a.cumsum(1), [(3, 4)]),
    ("norm", lambda lib, a: a.norm(), [(3, 4)]),
    ("norm_dim", lambda lib, a: a.norm(dim=1), [(3, 4)]),
    ("norm_p1", lambda lib, a: a.norm(p=1), [(3, 4)]),
    # ---- matrix products
    ("matmul_vv", lambda lib, a, b: a @ b, [(3,), (3,)]),
    ("matmul_mv", lambda lib, a, b: a @ b, [(2, 3), (3,)]),
    ("matmul_vm", lambda lib, a, b: a @ b, [(3,), (3, 4)]),
    ("matmul_mm", lambda lib, a, b: a @ b, [(2, 3), (3, 4)]),
    ("matmul_batched", lambda lib, a, b: lib.matmul(a, b), [(5, 2, 3), (3, 4)]),
    ("matmul_bcast", lambda lib, a, b: a @ b, [(2, 1, 2, 3), (3, 3, 2)]),
    ("mm", lambda lib, a, b: lib.mm(a, b), [(2, 3), (3, 4)]),
    ("bmm", lambda lib, a, b: lib.bmm(a, b), [(2, 2, 3), (2, 3, 4)]),
    ("addmm", lambda lib, c, a, b: lib.addmm(c, a, b), [(4,), (2, 3), (3, 4)]),
    ("addmm_scaled", lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0),
     [(2, 4), (2, 3), (3, 4)]),
    ("dot", lambda lib, a, b: lib.dot(a, b), [(4,), (4,)]),
    # ---- shapes and views
    ("view", lambda lib, a: a.view(3, 2) * 2, [(2, 3)]),
    ("reshape_t", lambda lib, a: a.t().reshape(6), [(2, 3)]),
    ("flatten", lambda lib, a: a.flatten(1), [(2, 3, 2)]),
    ("squeeze", lambda lib, a: a.squeeze(1), [(2, 1, 3)]),
    ("unsqueeze", lambda lib, a: a.unsqueeze(-1) * lib.arange(2.0, dtype=a.dtype), [(3,)]),
    ("permute", lambda lib, a: a.permute(2, 0, 1), [(2, 3, 4)]),
    ("transpose", lambda lib, a: a.transpose(0, 1), [(2, 3)]),
    ("T", lambda lib, a: a.T, [(2, 3)]),
    ("expand", lambda lib, a: a.expand(4, 2, 3), [(2, 1)]),
    ("expand_as", lambda lib, a, b: a.expand_as(b) * b, [(1, 3), (2, 3)]),
    ("narrow", lambda lib, a: a.narrow(1, 1, 2), [(2, 4)]),
    ("chunk", _chunks, [(4, 3)]),
    ("split", _split_sum, [(2, 3)]),
    ("unbind", _unbind, [(2, 3)]),
    ("flip", lambda lib, a: a.flip(0), [(3, 2)]),
    ("repeat", lambda lib, a: a.repeat(2, 3), [(2, 2)]),
    ("index_basic", lambda lib, a: a[1:, ::2], [(3, 4)]),
    ("index_int", lambda lib, a: a[1, -1], [(3, 4)]),
    ("index_adv_repeat", lambda lib, a: a[lib.tensor([0, 2, 0])], [(3, 4)]),
    ("index_mask", lambda lib, a: a[a > 0], [(3, 4)]),
    ("index_pairs", lambda lib, a: a[lib.tensor([0, 1, 1]), lib.tensor([2, 2, 0])], [(2, 3)]),
    ("setitem", _setitem, [(2, 3), (2,)]),
    ("setitem_adv", _setitem_adv, [(3, 2), (2,)]),
    ("view_inplace", _view_inplace, [(2, 3), (3,)]),
    ("inplace_chain", _inplace_chain, [(2, 3), (3,)]),
    ("cat", lambda lib, a, b: lib.cat([a, b], 1), [(2, 3), (2, 2)]),
    ("cat_3", lambda lib, a, b, c: lib.cat([a, b, c]), [(1, 2), (2, 2), (1, 2)]),
    ("stack", lambda lib, a, b: lib.stack([a, b], 1), [(2, 3), (2, 3)]),
    ("index_select", lambda lib, a: a.index_select(1, lib.tensor([2, 0, 2])), [(2, 3)]),
    ("gather", lambda lib, a: a.gather(1, lib.tensor([[0, 0], [2, 1]])), [(2, 3)]),
    ("scatter", lambda lib, a, s: a.scatter(1, lib.tensor([[2], [0]]), s), [(2, 3), (2, 1)]),
    ("scatter_add", lambda lib, a, s: a.scatter_add(0, lib.tensor([[1, 0, 1]]), s),
     [(2, 3), (1, 3)]),
    ("masked_fill", lambda lib, a: a.masked_fill(a > 0.5, 0.0), [(3, 4)]),
]


def make_inputs(specs, lib, dtype, seed=0, requires_grad=True):
    """Deterministic inputs: values kept away from the kinks of abs/relu/clamp/max."""
    rng = np.random.default_rng(seed)
    out = []
    for i, spec in enumerate(specs):
        shape, kind = spec if isinstance(spec, tuple) and len(spec) == 2 and \
            isinstance(spec[1], str) else (spec, "any")
        n = int(np.prod(shape))
        if kind == "pos":
            vals = rng.uniform(0.5, 2.0, n)
        else:
            # distinct magnitudes in [0.2, 1.3] with random signs: no ties (within or across
            # inputs) and no zeros
            vals = (0.2 + 0.013 * i + rng.permutation(n) / max(n, 1)) * rng.choice([-1, 1], n)
        t = lib.tensor(vals.reshape(shape), dtype=getattr(lib, dtype))
        out.append(t.requires_grad_(requires_grad))
    return out
