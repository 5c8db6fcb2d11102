"""fastnn.utils.checkpoint: gradients as without checkpointing, PyTorch's warnings and errors,
RNG replay for dropout, and activations that are really dropped after the forward."""
import gc
import warnings
import weakref

import numpy as np
import pytest

import fastnn
from fastnn.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

torch = pytest.importorskip("torch")

VARIANTS = [True, False]


def _grads(params):
    return [None if p.grad is None else p.grad.numpy().copy() for p in params]


def _zero(params):
    for p in params:
        p.grad = None


def _mlp():
    fastnn.manual_seed(0)
    return fastnn.nn.Sequential(fastnn.nn.Linear(6, 16), fastnn.nn.Tanh(),
                                fastnn.nn.Linear(16, 16), fastnn.nn.ReLU(),
                                fastnn.nn.Linear(16, 3))


def _cnn():
    fastnn.manual_seed(1)
    return fastnn.nn.Sequential(fastnn.nn.Conv2d(2, 4, 3, padding=1), fastnn.nn.ReLU(),
                                fastnn.nn.Dropout(0.5), fastnn.nn.Conv2d(4, 3, 3),
                                fastnn.nn.Dropout2d(0.3), fastnn.nn.Flatten())


def _compare(model, x, run):
    """Gradients (parameters and input) of ``run(model, x)`` against the plain model, both
    starting from the same random state."""
    params = list(model.parameters()) + [x]
    state = fastnn.get_rng_state()
    ref_out = model(x)
    (ref_out * ref_out).sum().backward()
    ref = _grads(params)
    _zero(params)
    fastnn.set_rng_state(state)
    out = run(model, x)
    np.testing.assert_allclose(out.detach().numpy(), ref_out.detach().numpy(), rtol=1e-6)
    (out * out).sum().backward()
    for a, b in zip(_grads(params), ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---- warnings and argument errors --------------------------------------------------------

def test_missing_use_reentrant_warns_like_pytorch():
    lin = fastnn.nn.Linear(3, 2)
    x = fastnn.randn(4, 3, requires_grad=True)
    with pytest.warns(UserWarning) as rec:
        y = checkpoint(lin, x)
    msg = str(rec[0].message)
    assert msg.startswith("torch.utils.checkpoint: the use_reentrant parameter should be passed "
                          "explicitly. Starting in PyTorch 2.9")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tx = torch.randn(4, 3, requires_grad=True)
        with pytest.warns(UserWarning) as trec:
            torch.utils.checkpoint.checkpoint(torch.nn.Linear(3, 2), tx)
    assert msg == str(trec[0].message)
    assert y.grad_fn.name() == "CheckpointFunctionBackward"  # the reentrant default


def test_checkpoint_sequential_warning_text_matches_pytorch():
    seq = fastnn.nn.Sequential(fastnn.nn.Linear(3, 3), fastnn.nn.Linear(3, 3))
    tseq = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    with pytest.warns(UserWarning) as rec:
        checkpoint_sequential(seq, 2, fastnn.randn(2, 3, requires_grad=True))
    with pytest.warns(UserWarning) as trec:
        torch.utils.checkpoint.checkpoint_sequential(tseq, 2, torch.randn(2, 3,
                                                                         requires_grad=True))
    assert str(rec[0].message) == str(trec[0].message)


@pytest.mark.parametrize("call, err, text", [
    (lambda f, x: checkpoint(f, x, use_reentrant=True, foo=1, bar=2), ValueError,
     "Unexpected keyword arguments: foo,bar"),
    (lambda f, x: checkpoint(f, x, use_reentrant=True, debug=True), ValueError,
     "Passing `context_fn` or `debug` is only supported when use_reentrant=False."),
    (lambda f, x: checkpoint(f, x, use_reentrant=False, determinism_check="strict"), ValueError,
     "determinism_check should be one of ['default', 'none'], but got strict"),
    (lambda f, x: checkpoint_sequential([f], 1, x, use_reentrant=False, foo=1), ValueError,
     "Unexpected keyword arguments: foo"),
])
def test_argument_errors(call, err, text):
    with pytest.raises(err) as e:
        call(lambda t: t * 2, fastnn.randn(2, requires_grad=True))
    assert str(e.value) == text


def test_reentrant_without_grad_inputs_warns_and_returns_no_graph():
    lin = fastnn.nn.Linear(3, 2)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True. "
                                         "Gradients will be None"):
        y = checkpoint(lin, fastnn.randn(4, 3), use_reentrant=True)
    assert not y.requires_grad


# ---- gradients -----------------------------------------------------------------------------

@pytest.mark.parametrize("reentrant", VARIANTS)
def test_mlp_gradients_match_plain_model(reentrant):
    model = _mlp()
    x = fastnn.randn(5, 6, requires_grad=True)
    _compare(model, x, lambda m, t: checkpoint(m, t, use_reentrant=reentrant))


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_cnn_with_dropout_replays_the_masks(reentrant):
    model = _cnn().train()
    x = fastnn.randn(2, 2, 6, 6, requires_grad=True)
    _compare(model, x, lambda m, t: checkpoint(m, t, use_reentrant=reentrant))


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_without_preserved_rng_the_masks_differ(reentrant):
    model = _cnn().train()
    x = fastnn.randn(2, 2, 6, 6, requires_grad=True)
    params = list(model.parameters())
    state = fastnn.get_rng_state()
    (model(x) ** 2).sum().backward()
    ref = _grads(params)
    _zero(params)
    fastnn.set_rng_state(state)
    out = checkpoint(model, x, use_reentrant=reentrant, preserve_rng_state=False)
    (out ** 2).sum().backward()
    assert any(not np.allclose(a, b) for a, b in zip(_grads(params), ref))


@pytest.mark.parametrize("reentrant", VARIANTS)
@pytest.mark.parametrize("segments", [1, 2, 3])
def test_checkpoint_sequential_matches_plain(reentrant, segments):
    model = _cnn().train()
    x = fastnn.randn(2, 2, 6, 6, requires_grad=True)
    _compare(model, x, lambda m, t: checkpoint_sequential(m, segments, t,
                                                           use_reentrant=reentrant))


def test_checkpoint_sequential_more_segments_than_modules_raises_like_pytorch():
    seq = fastnn.nn.Sequential(fastnn.nn.Linear(3, 3), fastnn.nn.Linear(3, 3))
    with pytest.raises(ValueError, match="must not be zero"):
        checkpoint_sequential(seq, 5, fastnn.randn(2, 3), use_reentrant=False)


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_values_and_gradients_match_pytorch(reentrant):
    model = _mlp()
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16),
                                 torch.nn.ReLU(), torch.nn.Linear(16, 3)).double()
    model = model.double()
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy()))
    xs = np.random.default_rng(0).standard_normal((5, 6))
    x = fastnn.tensor(xs, requires_grad=True)
    tx = torch.tensor(xs, requires_grad=True)
    y = checkpoint_sequential(model, 2, x, use_reentrant=reentrant)
    ty = torch.utils.checkpoint.checkpoint_sequential(tmodel, 2, tx, use_reentrant=reentrant)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10)
    y.tanh().sum().backward()
    ty.tanh().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9)
    for p, tp in zip(model.parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_non_tensor_args_and_tuple_outputs(reentrant):
    a = fastnn.randn(4, requires_grad=True)
    b = fastnn.randn(4, requires_grad=True)

    def f(x, scale, y, tag):
        return x * scale, (y + 1).exp(), tag

    out = checkpoint(f, a, 3.0, b, "tag", use_reentrant=reentrant)
    assert isinstance(out, tuple) and out[2] == "tag"
    (out[0].sum() + out[1].sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full(4, 3.0))
    np.testing.assert_allclose(b.grad.numpy(), np.exp(b.detach().numpy() + 1), rtol=1e-6)


def test_one_output_of_several_used():
    a = fastnn.randn(4, requires_grad=True)
    out = checkpoint(lambda x: (x.sin(), x.cos()), a, use_reentrant=False)
    out[1].sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), -np.sin(a.detach().numpy()), rtol=1e-6)


def test_keyword_arguments_non_reentrant():
    a = fastnn.randn(3, requires_grad=True)
    y = checkpoint(lambda x, power=1: x ** power, a, use_reentrant=False, power=3)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 3 * a.detach().numpy() ** 2, rtol=1e-6)


def test_parameters_get_grads_when_inputs_do_not_require_grad():
    model = _mlp()
    x = fastnn.randn(5, 6)
    (model(x) ** 2).sum().backward()
    ref = _grads(model.parameters())
    _zero(model.parameters())
    y = checkpoint(model, x, use_reentrant=False)
    assert y.requires_grad
    (y ** 2).sum().backward()
    for a, b in zip(_grads(model.parameters()), ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("outer, inner", [(True, True), (False, False), (False, True),
                                          (True, False)])
def test_nested_checkpoints(outer, inner):
    model = _mlp()
    first, rest = model[:2], model[2:]

    def segment(t):
        return rest(checkpoint(first, t, use_reentrant=inner))

    x = fastnn.randn(5, 6, requires_grad=True)
    _compare(model, x, lambda m, t: checkpoint(segment, t, use_reentrant=outer))


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_under_no_grad_just_runs(reentrant):
    model = _mlp()
    x = fastnn.randn(5, 6, requires_grad=True)
    with fastnn.no_grad():
        y = checkpoint(model, x, use_reentrant=reentrant)
    assert not y.requires_grad and y.grad_fn is None
    np.testing.assert_allclose(y.numpy(), model(x).detach().numpy())


def test_autograd_grad_non_reentrant_and_error_reentrant():
    model = _mlp()
    x = fastnn.randn(5, 6, requires_grad=True)
    (gx,) = fastnn.autograd.grad(model(x).sum(), [x])
    y = checkpoint(model, x, use_reentrant=False)
    (cx,) = fastnn.autograd.grad(y.sum(), [x])
    np.testing.assert_allclose(cx.numpy(), gx.numpy(), rtol=1e-6)
    y = checkpoint(model, x, use_reentrant=True)
    with pytest.raises(RuntimeError, match=r"When use_reentrant=True, torch.utils.checkpoint "
                                           r"is incompatible with \.grad\(\)"):
        fastnn.autograd.grad(y.sum(), [x])


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_second_backward_needs_retain_graph(reentrant):
    a = fastnn.randn(3, requires_grad=True)
    y = checkpoint(lambda t: t.sin(), a, use_reentrant=reentrant)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.cos(a.detach().numpy()), rtol=1e-6)
    y = checkpoint(lambda t: t.sin(), a, use_reentrant=reentrant)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.sum().backward()


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_inplace_change_of_an_input_is_detected(reentrant):
    a = fastnn.randn(3, requires_grad=True)
    x = a * 1
    y = checkpoint(lambda t: t.sin(), x, use_reentrant=reentrant)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_determinism_check_reports_changed_shapes():
    calls = []

    def f(x):
        calls.append(1)
        n = 1 if len(calls) == 1 else 2
        return (x[:n] ** 2).sum()

    a = fastnn.randn(4, 3, requires_grad=True)
    with pytest.raises(CheckpointError, match="Recomputed values for the following tensors "
                                              "have different metadata"):
        checkpoint(f, a, use_reentrant=False).backward()
    assert issubclass(CheckpointError, RuntimeError)
    calls.clear()
    checkpoint(f, a, use_reentrant=False, determinism_check="none").backward()


def test_context_fn_enters_forward_and_recompute_contexts():
    import contextlib
    log = []

    @contextlib.contextmanager
    def tag(name):
        log.append(name)
        yield

    a = fastnn.randn(3, requires_grad=True)
    y = checkpoint(lambda t: t.exp(), a, use_reentrant=False,
                   context_fn=lambda: (tag("forward"), tag("recompute")))
    y.sum().backward()
    assert log == ["forward", "recompute"]


# ---- memory ------------------------------------------------------------------------------

def _watched(refs):
    def f(x):
        h = (x * 2).exp()
        refs.append(weakref.ref(h._data))
        return (h.sin() * x).sum()
    return f


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_intermediate_arrays_are_freed_after_forward(reentrant):
    x = fastnn.randn(64, requires_grad=True)
    refs = []
    y = _watched(refs)(x)  # plain: the graph keeps h for SinBackward
    gc.collect()
    assert refs[0]() is not None
    del y
    refs.clear()
    y = checkpoint(_watched(refs), x, use_reentrant=reentrant)
    gc.collect()
    assert refs[0]() is None
    y.backward()
    xs = x.detach().numpy()
    h = np.exp(2 * xs)
    expect = np.cos(h) * h * 2 * xs + np.sin(h)
    np.testing.assert_allclose(x.grad.numpy(), expect, rtol=1e-4)


def _count_nodes(t):
    seen, stack = set(), [t.grad_fn]
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        stack.extend(f for f, _ in n.next_functions)
    return len(seen)


@pytest.mark.parametrize("reentrant", VARIANTS)
def test_graph_holds_one_node_per_checkpoint(reentrant):
    model = _mlp()
    x = fastnn.randn(5, 6, requires_grad=True)
    plain = _count_nodes(model(x))
    y = checkpoint(model, x, use_reentrant=reentrant)
    # the checkpoint node, the input's leaf and the six parameters' leaves at most
    assert _count_nodes(y) <= 8 < plain


def test_reentrant_inside_non_reentrant_follows_the_outer_pass():
    lin = fastnn.nn.Linear(3, 3)
    x = fastnn.randn(2, 3, requires_grad=True)

    def seg(t):
        return checkpoint(lin, t, use_reentrant=True).sin()

    checkpoint(seg, x, use_reentrant=False).sum().backward()
    assert lin.weight.grad is not None and x.grad is not None
    y = checkpoint(seg, x, use_reentrant=False)
    with pytest.raises(RuntimeError, match="When use_reentrant=True"):
        fastnn.autograd.grad(y.sum(), [x])


def test_view_output_does_not_keep_the_dropped_graph():
    refs = []

    def f(x):
        h = (x * 2).exp()
        refs.append(weakref.ref(h._data))
        return h.sin().view(2, -1)

    x = fastnn.randn(8, requires_grad=True)
    y = checkpoint(f, x, use_reentrant=False)
    gc.collect()
    assert refs[0]() is None
    y.sum().backward()
    xs = x.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.exp(2 * xs)) * 2 * np.exp(2 * xs),
                               rtol=1e-5)
