"""torch.func tutorial workloads run under fastnn and PyTorch from the same weights:
per-sample gradients, model ensembling, Jacobians and Hessians, the empirical NTK,
autograd.functional on flattened parameters, and a MAML inner loop."""
import importlib.util
import pathlib

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

_spec = importlib.util.spec_from_file_location(
    "func_checks", pathlib.Path(__file__).with_name("func_checks.py"))
_checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_checks)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                        "ignore::UserWarning")


def _arr(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _t(lib, seed, *shape):
    return lib.tensor(_arr(seed, *shape), dtype=lib.float64)


def _seeded(lib, module, seed=0):
    """``module`` in float64 with weights drawn from ``seed`` (the same in both libraries)."""
    module = module.double()
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in module.parameters():
            p.copy_(lib.tensor(0.5 * rng.standard_normal(tuple(p.shape)), dtype=lib.float64))
    return module


def _compare(run, tol=1e-9):
    ours, want = run(fastnn), run(torch)
    a, b = _checks.flat(ours), _checks.flat(want)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)
    return ours


def _cnn(lib):
    nn, F = lib.nn, lib.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3)
            self.fc = nn.Linear(8, 3)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv(x)), 2)
            return F.log_softmax(self.fc(x.flatten(1)), dim=1)
    return _seeded(lib, Net())


def _mlp(lib, seed=0):
    nn = lib.nn
    return _seeded(lib, nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)), seed)


# ---- per-sample gradients -------------------------------------------------------------------

def test_per_sample_gradients_of_a_cnn_match_a_backward_loop_and_torch():
    def run(lib):
        model = _cnn(lib)
        data, targets = _t(lib, 1, 3, 1, 6, 6), lib.tensor([0, 2, 1])

        def compute_loss(params, buffers, sample, target):
            pred = lib.func.functional_call(model, (params, buffers), (sample.unsqueeze(0),))
            return lib.nn.functional.nll_loss(pred, target.unsqueeze(0))
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}
        per_sample = lib.func.vmap(lib.func.grad(compute_loss), in_dims=(None, None, 0, 0))(
            params, buffers, data, targets)
        for i in range(3):
            model.zero_grad()
            lib.nn.functional.nll_loss(model(data[i:i + 1]), targets[i:i + 1]).backward()
            for k, p in model.named_parameters():
                np.testing.assert_allclose(per_sample[k][i].numpy(), p.grad.numpy(),
                                           rtol=1e-10, atol=1e-12)
        return per_sample
    _compare(run)


def test_per_sample_grad_and_value_of_an_mlp_with_cross_entropy():
    def run(lib):
        model = _mlp(lib)

        def loss(params, x, y):
            out = lib.func.functional_call(model, params, x.unsqueeze(0))
            return lib.nn.functional.cross_entropy(out, y.unsqueeze(0), label_smoothing=0.1)
        params = dict(model.named_parameters())
        return lib.func.vmap(lib.func.grad_and_value(loss), in_dims=(None, 0, 0))(
            params, _t(lib, 2, 4, 4), lib.tensor([0, 1, 2, 1]))
    _compare(run)


# ---- ensembling -----------------------------------------------------------------------------

@pytest.mark.parametrize("in_dims", [(0, 0, None), (0, 0, 0)])
def test_model_ensemble_with_stack_module_state(in_dims):
    def run(lib):
        models = [_mlp(lib, seed) for seed in range(3)]
        params, buffers = lib.func.stack_module_state(models)
        base = models[0]

        def fmodel(p, b, x):
            return lib.func.functional_call(base, (p, b), (x,))
        x = _t(lib, 3, 3, 2, 4) if in_dims[2] == 0 else _t(lib, 3, 2, 4)
        out = lib.func.vmap(fmodel, in_dims=in_dims)(params, buffers, x)
        loop = [m(x[i] if in_dims[2] == 0 else x) for i, m in enumerate(models)]
        np.testing.assert_allclose(out.detach().numpy(),
                                   np.stack([o.detach().numpy() for o in loop]), rtol=1e-12)
        out.pow(2).mean().backward()
        return out, {k: v.grad for k, v in params.items()}
    _compare(run)


# ---- Jacobians, Hessians and the NTK --------------------------------------------------------

def test_jacobians_and_hessians_of_an_mlp():
    def run(lib):
        model, x, xb = _mlp(lib), _t(lib, 4, 4), _t(lib, 5, 3, 4)
        params = {k: v.detach() for k, v in model.named_parameters()}

        def f(p, x):
            return lib.func.functional_call(model, p, (x,))

        def scalar(x):
            return model(x).sin().sum()

        def with_aux(x):
            y = model(x)
            return y, y.sum()
        return (lib.func.jacrev(model)(x), lib.func.jacfwd(model)(x),
                lib.func.hessian(scalar)(x), lib.func.jacrev(lib.func.jacrev(scalar))(x),
                lib.func.vmap(lib.func.jacrev(model))(xb),
                lib.func.jacrev(lambda x: model(x).sum(0))(xb).movedim(1, 0),
                lib.func.jacrev(f)(params, x), lib.func.jacfwd(f, argnums=(0, 1))(params, x),
                lib.func.hessian(lambda p, x: f(p, x).pow(2).sum())(params, x),
                lib.func.jacrev(with_aux, has_aux=True)(x))
    _compare(run)


def test_empirical_ntk_by_jacobian_contraction_and_by_vjp_jvp():
    def run(lib):
        func, model = lib.func, _mlp(lib)
        params = {k: v.detach() for k, v in model.named_parameters()}
        x1, x2 = _t(lib, 6, 2, 4), _t(lib, 7, 3, 4)

        def single(p, x):
            return func.functional_call(model, p, (x.unsqueeze(0),)).squeeze(0)
        jac = func.vmap(func.jacrev(single), (None, 0))
        j1 = [j.flatten(2) for j in jac(params, x1).values()]
        j2 = [j.flatten(2) for j in jac(params, x2).values()]
        by_jac = sum(lib.einsum("Naf,Mbf->NMab", a, b) for a, b in zip(j1, j2))

        def ntk(a, b):
            out, vjp_fn = func.vjp(lambda q: single(q, a), params)

            def column(vec):
                return func.jvp(lambda q: single(q, b), (params,), vjp_fn(vec))[1]
            return func.vmap(column)(lib.eye(out.numel(), dtype=out.dtype))
        by_vps = func.vmap(func.vmap(ntk, (None, 0)), (0, None))(x1, x2)
        np.testing.assert_allclose(by_jac.numpy(), by_vps.numpy(), rtol=1e-10, atol=1e-12)
        return by_jac
    _compare(run)


def test_autograd_functional_on_a_models_flattened_parameters():
    def run(lib):
        model, x, y = _mlp(lib), _t(lib, 8, 5, 4), lib.tensor([0, 1, 2, 0, 1])
        names = [n for n, _ in model.named_parameters()]
        shapes = [p.shape for p in model.parameters()]
        flat = lib.cat([p.detach().reshape(-1) for p in model.parameters()])

        def loss(v):
            parts, i = {}, 0
            for n, s in zip(names, shapes):
                k = int(np.prod(s))
                parts[n] = v[i:i + k].view(s)
                i += k
            out = lib.func.functional_call(model, parts, (x,))
            return lib.nn.functional.cross_entropy(out, y)
        vec = _t(lib, 9, flat.numel())
        AF = lib.autograd.functional
        return (AF.hessian(loss, flat), AF.hvp(loss, flat, vec), AF.vhp(loss, flat, vec),
                AF.hessian(loss, flat, vectorize=True, outer_jacobian_strategy="forward-mode"))
    _compare(run)


def test_hessian_vector_power_iteration_with_create_graph():
    def run(lib):
        model, x = _mlp(lib), _t(lib, 10, 4, 4)
        loss = model(x).pow(2).mean()
        grads = lib.autograd.grad(loss, model.parameters(), create_graph=True)
        vs = [lib.ones_like(g) for g in grads]
        for _ in range(3):
            dot = sum((g * v).sum() for g, v in zip(grads, vs))
            hv = lib.autograd.grad(dot, model.parameters(), retain_graph=True)
            norm = lib.sqrt(sum((h * h).sum() for h in hv))
            vs = [h / norm for h in hv]
        return vs, norm
    _compare(run)


# ---- MAML -----------------------------------------------------------------------------------

def test_maml_two_inner_steps_then_an_optimizer_step():
    def run(lib):
        net = _mlp(lib)
        opt = lib.optim.SGD(net.parameters(), lr=0.1)
        F = lib.nn.functional
        for task in range(2):
            opt.zero_grad()
            xs, xq = _t(lib, 20 + task, 4, 4), _t(lib, 30 + task, 4, 4)
            ys, yq = xs.sum(1).long().clamp(0, 2), xq.sum(1).long().clamp(0, 2)
            params = dict(net.named_parameters())
            for _ in range(2):
                inner = F.cross_entropy(lib.func.functional_call(net, params, (xs,)), ys)
                grads = lib.autograd.grad(inner, params.values(), create_graph=True)
                params = {k: p - 0.5 * g for (k, p), g in zip(params.items(), grads)}
            F.cross_entropy(lib.func.functional_call(net, params, (xq,)), yq).backward()
            opt.step()
        return [p.detach() for p in net.parameters()]
    _compare(run)


# ---- regressions: what the tutorials ran into -----------------------------------------------

def test_autograd_grad_takes_any_iterable_of_inputs():
    def run(lib):
        model = _mlp(lib)
        loss = model(_t(lib, 11, 2, 4)).sum()
        by_gen = lib.autograd.grad(loss, model.parameters(), retain_graph=True)
        by_values = lib.autograd.grad(loss, dict(model.named_parameters()).values())
        return by_gen, by_values
    _compare(run)


def test_vmap_at_the_top_level():
    assert fastnn.vmap is fastnn.func.vmap


def _dropout_net(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Dropout(0.5))


RANDOM_ERRORS = {
    "vmap_dropout": lambda lib: lib.func.vmap(_dropout_net(lib))(lib.ones(2, 3)),
    "vmap_rand": lambda lib: lib.func.vmap(lambda a: a + lib.rand(1))(lib.ones(2)),
    "jacfwd_rand": lambda lib: lib.func.jacfwd(lambda a: a * lib.rand(3))(lib.ones(3)),
    "hessian_rand": lambda lib: lib.func.hessian(lambda a: (a * a * lib.rand(3)).sum())(
        lib.ones(3)),
    "jacrev_kwargs": lambda lib: lib.func.jacrev(lambda a, s=1.0: a * s)(lib.ones(2), s=2.0),
    "hessian_kwargs": lambda lib: lib.func.hessian(lambda a, s=1.0: (a * s).sum())(
        lib.ones(2), s=2.0),
    "linearize_structure": lambda lib: lib.func.linearize(lambda a, b: a * b, lib.ones(3),
                                                          lib.ones(3))[1](lib.ones(3)),
    "linearize_shape": lambda lib: lib.func.linearize(lambda a: a * 2, lib.ones(3))[1](
        lib.ones(4)),
    "linearize_dtype": lambda lib: lib.func.linearize(lambda a: a * 2, lib.ones(3))[1](
        lib.ones(3, dtype=lib.float64)),
    "functionalize_remove": lambda lib: lib.func.functionalize(lambda a: a, remove="all"),
    "batched_grad_sizes": lambda lib: _batched_sizes(lib),
}


def _batched_sizes(lib):
    x = lib.ones(3, requires_grad=True)
    y = x * 2
    return lib.autograd.grad((y, y.sum()), x, (lib.ones(2, 3), lib.ones(3)),
                             is_grads_batched=True)


test_errors_match_torch = _checks.errors_test(RANDOM_ERRORS)


def test_random_ops_run_under_vmap_with_same_or_different_randomness():
    net = _dropout_net(fastnn)
    x = fastnn.ones(4, 2, 3)
    out = fastnn.func.vmap(net, randomness="same")(x).detach().numpy()
    assert np.allclose(out, out[0])
    out = fastnn.func.vmap(net, randomness="different")(x).detach().numpy()
    assert not np.allclose(out, out[0])
    net.eval()
    fastnn.func.vmap(net)(x)  # eval-mode dropout draws nothing


def test_jvp_gives_zero_tangents_for_integer_outputs():
    def run(lib):
        return lib.func.jvp(lambda a: ((a * 2).int(), a.sin()), (_t(lib, 12, 3),),
                            (_t(lib, 13, 3),))
    ours = _compare(run)
    assert ours[1][0].dtype == fastnn.int32


def test_vjp_fn_takes_retain_graph_positionally():
    def run(lib):
        _, vjp_fn = lib.func.vjp(lambda a: a.sin(), _t(lib, 14, 3))
        return vjp_fn(lib.ones(3, dtype=lib.float64), True, False)
    _compare(run)


def test_transformed_functions_carry_the_original_name():
    def model_loss(a):
        return a.sum()
    for transform in (fastnn.func.grad, fastnn.func.jacrev, fastnn.func.jacfwd,
                      fastnn.func.hessian):
        assert transform(model_loss).__name__ == "model_loss"


def test_linearize_matches_torch_and_reuses_one_graph():
    def run(lib):
        def f(a, b):
            return (a.sin() * b, a.sum(), a.argmax())
        out, jvp_fn = lib.func.linearize(f, _t(lib, 15, 3), _t(lib, 16, 3))
        return out, jvp_fn(_t(lib, 17, 3), _t(lib, 18, 3)), jvp_fn(_t(lib, 19, 3),
                                                                  _t(lib, 20, 3))
    _compare(run)

    def g(a):
        return (a * a).sum()
    calls = []
    _, jvp_fn = fastnn.func.linearize(lambda a: calls.append(1) or g(a), fastnn.ones(3))
    jvp_fn(fastnn.ones(3))
    jvp_fn(fastnn.ones(3))
    assert len(calls) == 1


def test_functionalize_and_debug_unwrap_leave_eager_results():
    def run(lib):
        def f(a):
            b = a.clone()
            b.add_(1)
            return b * 2
        return lib.func.functionalize(f)(_t(lib, 21, 3)), lib.func.debug_unwrap(_t(lib, 22, 2))
    _compare(run)


def test_replace_all_batch_norm_modules_then_per_sample_gradients():
    def run(lib):
        nn = lib.nn
        model = _seeded(lib, nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(),
                                           nn.Linear(8, 2), nn.InstanceNorm1d(
                                               2, track_running_stats=True)))
        assert lib.func.replace_all_batch_norm_modules_(model) is model
        bn, inorm = model[1], model[4]
        assert (bn.running_mean, bn.running_var, bn.num_batches_tracked) == (None,) * 3
        assert not bn.track_running_stats and inorm.track_running_stats
        params = {k: v.detach() for k, v in model[:4].named_parameters()}

        def loss(p, x):
            return lib.func.functional_call(model[:4], p, (x.unsqueeze(0),)).pow(2).sum()
        return lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0))(params,
                                                                     _t(lib, 23, 3, 1, 4, 4))
    _compare(run, tol=1e-8)


def test_autograd_grad_is_grads_batched():
    def run(lib):
        x = _t(lib, 24, 3).requires_grad_()
        w = _t(lib, 25, 2, 2).requires_grad_()
        z = _t(lib, 26, 3).requires_grad_()
        y = (w.sum() * x).exp()
        rows = lib.autograd.grad(y, (x, w), lib.eye(3, dtype=lib.float64)[:2],
                                 is_grads_batched=True, create_graph=True)
        again = lib.autograd.grad(rows[1].sum(), x, retain_graph=True)
        unused = lib.autograd.grad(y, (x, z), lib.eye(3, dtype=lib.float64),
                                   is_grads_batched=True, materialize_grads=True)
        return rows, again, unused
    _compare(run)


# ---- second-order rules of the matrix functions and factorizations --------------------------

_A = _arr(40, 3, 3)
_TALL = _arr(41, 4, 3)
MATRIX_LOSSES = {
    "matrix_exp": (lambda L, x: L.linalg.matrix_exp(0.4 * x).sin().sum(), _A),
    "pinv": (lambda L, x: L.linalg.pinv(x).pow(2).sum(), _TALL),
    "eigh": (lambda L, x: L.linalg.eigh(x @ x.mT)[0].pow(2).sum() +
             (L.linalg.eigh(x + x.mT)[1] ** 4).sum(), _A),
    "cholesky": (lambda L, x: L.linalg.cholesky(x @ x.mT + L.eye(3, dtype=L.float64),
                                                upper=True).sin().sum(), _A),
    "qr": (lambda L, x: L.linalg.qr(x)[0].sin().sum() + L.linalg.qr(x)[1].pow(2).sum(), _TALL),
    "qr_wide": (lambda L, x: L.linalg.qr(x)[0].sin().sum() + L.linalg.qr(x)[1].pow(2).sum(),
                _TALL.T.copy()),
    "svd": (lambda L, x: sum(f.pow(4).sum() for f in L.linalg.svd(x, full_matrices=False)),
            _TALL),
}


@pytest.mark.parametrize("name", sorted(MATRIX_LOSSES))
def test_hessians_through_matrix_functions(name):
    loss, arr = MATRIX_LOSSES[name]
    _compare(lambda lib: lib.func.hessian(lambda x: loss(lib, x))(lib.tensor(arr)))
    assert fastnn.autograd.gradgradcheck(lambda x: loss(fastnn, x),
                                         (fastnn.tensor(arr, requires_grad=True),))


MORE_ERRORS = {
    "grad_aux_int": lambda lib: lib.func.grad(lambda a: (a.sum(), {"a": a, "n": 2}),
                                              has_aux=True)(lib.ones(3)),
    "vjp_aux_none": lambda lib: lib.func.vjp(lambda a: (a.sin(), None), lib.ones(3),
                                             has_aux=True),
    "jacrev_aux_str": lambda lib: lib.func.jacrev(lambda a: (a.sin(), "x"), has_aux=True)(
        lib.ones(3)),
    "vmap_out_dims_none_batched": lambda lib: lib.func.vmap(lambda a: a * 2, out_dims=None)(
        lib.arange(3.0)),
    "vmap_out_dims_none_in_tuple": lambda lib: lib.func.vmap(
        lambda a: (a, a * 2), out_dims=(0, None))(lib.arange(3.0)),
}

test_more_errors_match_torch = _checks.errors_test(MORE_ERRORS)


def test_vmap_out_dims_none_keeps_an_unbatched_result():
    w = fastnn.arange(4.0)
    out, same = fastnn.func.vmap(lambda a: (a * 2, w + 1), out_dims=(0, None))(fastnn.ones(3))
    assert out.shape == (3,) and np.array_equal(same.numpy(), [1.0, 2.0, 3.0, 4.0])


def test_transforms_take_tensors_made_under_inference_mode():
    def run(lib):
        with lib.inference_mode():
            x = _t(lib, 50, 3)
        f = lib.func
        return (f.grad(lambda a: a.sin().sum())(x), f.jacrev(lambda a: a.exp())(x),
                f.vjp(lambda a: a.sin(), x)[1](x), f.jvp(lambda a: a.sin(), (x,), (x,)),
                f.hessian(lambda a: a.pow(3).sum())(x),
                f.vmap(f.grad(lambda a: a.cos().sum()))(x[None]))
    _compare(run)
