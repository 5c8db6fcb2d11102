"""The backward engine: flags, accumulation, hooks, grad modes, custom Functions, errors."""
import gc
import inspect
import warnings

import numpy as np
import pytest

import fastnn
from fastnn.autograd import ops_math

torch = pytest.importorskip("torch")

# nan/inf on purpose: the warnings fastnn silences for users are reset by pytest
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def leaf(values, lib=fastnn, dtype=None):
    return lib.tensor(values, dtype=dtype or lib.float32, requires_grad=True)


# ---- flags ---------------------------------------------------------------------------
def test_requires_grad_grad_fn_is_leaf():
    x = fastnn.ones(2, requires_grad=True)
    c = fastnn.ones(2)
    y = x * c
    assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.grad is None
    assert not c.requires_grad and c.is_leaf
    assert y.requires_grad and not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    assert not (c * 2).requires_grad and (c * 2).is_leaf
    assert y.grad_fn.next_functions[0][0].variable is x  # AccumulateGrad of x
    assert y.grad_fn.next_functions[1][0] is None
    c.requires_grad_()
    assert c.requires_grad and (c * 2).requires_grad
    c.requires_grad = False
    assert not c.requires_grad
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf "
                                           "variables"):
        y.requires_grad_(False)
    assert y.requires_grad_(True) is y


def test_backward_accumulates_and_reduces_broadcast_grads():
    for lib in (fastnn, torch):
        x = leaf([1.0, 2.0], lib)
        b = leaf([[0.5]], lib)
        (x * b + lib.ones(3, 2)).sum().backward()
        (x * 3).sum().backward()
        assert x.grad.tolist() == [4.5, 4.5] and b.grad.tolist() == [[9.0]]
        assert x.grad.shape == x.shape and b.grad.shape == (1, 1)
        x.grad.zero_()
        (x * x).sum().backward()
        assert x.grad.tolist() == [2.0, 4.0]
        x.grad = None
        (x ** 3).sum().backward()
        assert x.grad.tolist() == [3.0, 12.0]


@pytest.mark.parametrize("make", [
    lambda lib, x: x * lib.ones(2, dtype=lib.float64),
    lambda lib, x: x.double() ** 2,
    lambda lib, x: x + lib.tensor(2.0, dtype=lib.float64),
    lambda lib, x: lib.where(x > 0, x, lib.zeros(2, dtype=lib.float64)),
    lambda lib, x: lib.cat([x, lib.zeros(2, dtype=lib.float64)]),
    lambda lib, x: x.softmax(0, dtype=lib.float64),
    lambda lib, x: x.sum(dtype=lib.float64),
    lambda lib, x: x * lib.tensor([1, 2]),
])
def test_grads_keep_the_leaf_dtype(make):
    grads = []
    for lib in (fastnn, torch):
        x = leaf([0.5, 1.5], lib)
        (make(lib, x) * 3).sum().backward()
        assert x.grad.dtype == lib.float32
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_backward_with_gradient_and_retain_graph():
    x = leaf([1.0, 2.0, 3.0])
    y = x.exp() * 2
    y.backward(fastnn.tensor([1.0, 0.0, 2.0]), retain_graph=True)
    first = x.grad.clone()
    y.backward(gradient=fastnn.tensor([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy())
    np.testing.assert_allclose(first.numpy(), [2 * np.e, 0, 4 * np.exp(3)], rtol=1e-6)
    z = leaf([2.0])
    fastnn.autograd.backward([z * 2, z * 3], [fastnn.ones(1), fastnn.ones(1)])
    assert z.grad.tolist() == [5.0]
    s = leaf(3.0)
    (s * s).backward()
    assert s.grad.item() == 6.0 and s.grad.shape == ()


def test_backward_inputs_limits_accumulation():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and w.grad.tolist() == [1.0, 2.0]


def test_detach_and_detach_():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.numpy(), y.detach().numpy())
    assert d._version == y._version
    (y * d).sum().backward()  # d is a constant: d/dx (2x * c) = 2c
    assert x.grad.tolist() == [4.0, 8.0]
    z = x * 3
    assert z.detach_() is z and not z.requires_grad and z.is_leaf and z.grad_fn is None
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        x[:1].detach_()


def test_retain_grad():
    for lib in (fastnn, torch):
        x = leaf([1.0, 2.0], lib)
        y = x * 3
        y.retain_grad()
        y.retain_grad()  # twice is fine
        assert y.retains_grad
        y.register_hook(lambda g: g * 2)  # retain_grad sees the hooked gradient
        (y * y).sum().backward()
        assert y.grad.tolist() == [12.0, 24.0] and x.grad.tolist() == [36.0, 72.0]
        x.retain_grad()  # a leaf that requires grad: no-op
        with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has "
                                               "requires_grad=False"):
            lib.ones(1).retain_grad()


def test_non_leaf_grad_access_warns():
    y = leaf([1.0]) * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor is being accessed"):
        assert y.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert leaf([1.0]).grad is None


# ---- hooks ---------------------------------------------------------------------------
def test_hooks_on_leaf_and_non_leaf():
    def run(lib):
        x = leaf([1.0, 1.0, 1.0], lib)
        seen = []
        x.register_hook(lambda g: seen.append(("leaf", g.tolist())))
        h_scale = x.register_hook(lambda g: g * 10)  # replaces the gradient
        y = x * 2
        h_add = y.register_hook(lambda g: g + 1)
        y.register_hook(lambda g: seen.append(("y", g.tolist())))
        y.sum().backward()
        first = x.grad.tolist()
        h_scale.remove()
        h_add.remove()
        x.grad = None
        (x * 2).sum().backward()
        return seen, first, x.grad.tolist()
    assert run(fastnn) == run(torch)
    seen, first, second = run(fastnn)
    assert first == [40.0] * 3 and second == [2.0] * 3


def test_hook_handle_as_context_manager_and_errors():
    x = leaf([1.0])
    with x.register_hook(lambda g: g * 0):
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        fastnn.ones(1).register_hook(lambda g: g)


# ---- grad modes ----------------------------------------------------------------------
def test_grad_modes_as_context_managers():
    x = leaf([1.0])
    with fastnn.no_grad():
        assert not fastnn.is_grad_enabled() and not (x * 2).requires_grad
        with fastnn.enable_grad():
            assert (x * 2).requires_grad
        with fastnn.set_grad_enabled(True):
            assert (x * 2).requires_grad
    with fastnn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with fastnn.inference_mode():
        assert fastnn.is_inference_mode_enabled() and not (x * 2).requires_grad
    with fastnn.inference_mode(False):
        assert (x * 2).requires_grad
    assert fastnn.is_grad_enabled() and not fastnn.is_inference_mode_enabled()
    prev = fastnn.set_grad_enabled(False)  # function form switches immediately
    assert not fastnn.is_grad_enabled()
    fastnn.set_grad_enabled(True)
    assert fastnn.is_grad_enabled() and prev is not None
    with pytest.raises(ValueError):
        with fastnn.no_grad():
            raise ValueError
    assert fastnn.is_grad_enabled()


@pytest.mark.parametrize("deco", [
    lambda lib: lib.no_grad(), lambda lib: lib.no_grad, lambda lib: lib.inference_mode(),
    lambda lib: lib.inference_mode, lambda lib: lib.set_grad_enabled(False),
])
def test_grad_modes_as_decorators(deco):
    for lib in (fastnn, torch):
        x = leaf([1.0], lib)

        @deco(lib)
        def f(t):
            """doc"""
            return t * 2
        assert lib.is_grad_enabled()  # decorating changes nothing outside the call
        assert not f(x).requires_grad and f.__doc__ == "doc" and f.__name__ == "f"
        assert lib.is_grad_enabled()


def test_enable_grad_decorator_inside_no_grad():
    x = leaf([1.0])

    @fastnn.enable_grad()
    def f():
        return x * 2

    @fastnn.enable_grad
    def g():
        return x * 2
    with fastnn.no_grad():
        assert f().requires_grad and g().requires_grad


# ---- autograd.grad -------------------------------------------------------------------
def test_autograd_grad():
    for lib in (fastnn, torch):
        x, w, unused = leaf([1.0, 2.0], lib), leaf([3.0, 4.0], lib), leaf([0.0], lib)
        loss = (x * w).sum()
        gx, gw = lib.autograd.grad(loss, [x, w], retain_graph=True)
        assert gx.tolist() == [3.0, 4.0] and gw.tolist() == [1.0, 2.0]
        assert x.grad is None and w.grad is None  # returned, not accumulated
        (g,) = lib.autograd.grad(loss, x, retain_graph=True)
        assert g.tolist() == [3.0, 4.0]
        a, b = lib.autograd.grad(loss, [x, unused], allow_unused=True, retain_graph=True)
        assert b is None and a.tolist() == [3.0, 4.0]
        a, b = lib.autograd.grad(loss, [x, unused], materialize_grads=True)
        assert b.tolist() == [0.0]
        (g,) = lib.autograd.grad(x * 2, x, grad_outputs=lib.tensor([1.0, 3.0]))
        assert g.tolist() == [2.0, 6.0]


# ---- custom Functions ----------------------------------------------------------------
class ScaledSquare(fastnn.autograd.Function):
    calls = []

    @staticmethod
    def forward(ctx, x, k, y):
        ctx.save_for_backward(x, y)
        ctx.k = k
        return x * x * k + y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        ScaledSquare.calls.append(ctx.needs_input_grad)
        gy = g if ctx.needs_input_grad[2] else None
        return g * 2 * x * ctx.k, None, gy


def test_custom_function():
    ScaledSquare.calls.clear()
    x, y = leaf([1.0, 2.0]), fastnn.tensor([3.0, 4.0])
    z = ScaledSquare.apply(x, 3.0, y)
    assert z.tolist() == [6.0, 16.0] and z.grad_fn.name() == "ScaledSquareBackward"
    assert "grad_fn=<ScaledSquareBackward>" in repr(z)
    z.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0] and y.grad is None
    assert ScaledSquare.calls == [(True, False, False)]
    x64 = fastnn.rand(3, dtype=fastnn.float64, requires_grad=True)
    y64 = fastnn.rand(3, dtype=fastnn.float64, requires_grad=True)
    assert fastnn.autograd.gradcheck(lambda a, b: ScaledSquare.apply(a, 0.5, b), (x64, y64))
    with fastnn.no_grad():
        assert ScaledSquare.apply(x, 1.0, y).grad_fn is None
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        z.sum().backward()


def test_custom_function_without_backward():
    class NoBackward(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2
    out = NoBackward.apply(leaf([1.0]))
    with pytest.raises(NotImplementedError, match="You must implement either the backward"):
        out.sum().backward()


# ---- the engine: depth, pruning, freeing ---------------------------------------------
def test_deep_graph_backward_without_recursion_error():
    x = leaf([1.0, 2.0])
    y = x
    for _ in range(100_000):
        y = -y
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    del y
    gc.collect()
    z = x
    for _ in range(100_000):  # never backpropagated: freeing the chain must not crash either
        z = -z
    del z
    gc.collect()


def test_backward_skips_grads_nothing_needs(monkeypatch):
    def boom(self, g):
        raise AssertionError("computed a gradient that nothing needs")
    monkeypatch.setattr(ops_math.MulBackward0, "to_b", boom)
    x, c = leaf([1.0, 2.0]), fastnn.tensor([3.0, 4.0])
    (x * c).sum().backward()  # c does not require grad: its gradient is never computed
    assert x.grad.tolist() == [3.0, 4.0]


def test_autograd_grad_runs_only_the_needed_branch():
    ScaledSquare.calls.clear()
    x, w = leaf([1.0]), leaf([2.0])
    loss = (x * 3).sum() + ScaledSquare.apply(w, 1.0, w).sum()
    (g,) = fastnn.autograd.grad(loss, x)
    assert g.tolist() == [3.0] and ScaledSquare.calls == []


def test_graph_without_leaves_records_nothing():
    c = fastnn.ones(3)
    y = (c * 2).exp().sum()
    assert y.grad_fn is None and not y.requires_grad


# ---- anomaly detection ---------------------------------------------------------------
def test_detect_anomaly_names_the_function_and_the_source_line():
    x = fastnn.tensor([-1.0, 4.0], requires_grad=True)
    with fastnn.autograd.detect_anomaly():
        assert fastnn.autograd.is_anomaly_enabled()
        y = x.sqrt()
        line = inspect.currentframe().f_lineno - 1
        loss = (y * 2).sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    assert not fastnn.autograd.is_anomaly_enabled()
    msg = str(info.value)
    assert "SqrtBackward0" in msg and "nan" in msg
    assert f"line {line}" in msg and __file__.split("/")[-1] in msg and "y = x.sqrt()" in msg


def test_detect_anomaly_names_the_module_path():
    from collections import OrderedDict

    class Root(fastnn.nn.Module):
        def forward(self, x):
            return x.sqrt()
    model = fastnn.nn.Sequential(OrderedDict(enc=fastnn.nn.Linear(2, 2), act=Root()))
    with fastnn.no_grad():
        model.enc.weight.fill_(-1.0)
        model.enc.bias.fill_(0.0)
    with fastnn.autograd.detect_anomaly():
        loss = model(fastnn.tensor([[1.0, 2.0]])).sum()
        with pytest.raises(RuntimeError, match=r"(?s)SqrtBackward0.*module 'act'.*x\.sqrt\(\)"):
            loss.backward()


def test_set_detect_anomaly_and_no_false_alarm():
    fastnn.autograd.set_detect_anomaly(True)
    try:
        x = leaf([1.0, 4.0])
        x.sqrt().sum().backward()  # finite: no error
        assert x.grad.tolist() == [0.5, 0.25]
        y = leaf([0.0])
        y.log().sum().backward()  # inf is no anomaly (PyTorch checks for nan only)
        with pytest.raises(RuntimeError, match="Function 'LogBackward0' returned nan values "
                                               "in its 0th output"):
            (y.log() * 0).sum().backward()  # 0 / 0
    finally:
        fastnn.autograd.set_detect_anomaly(False)
    z = leaf([0.0])
    z.log().sum().backward()  # off again: no check
    assert np.isinf(z.grad.numpy()).all()


# ---- PyTorch's errors ----------------------------------------------------------------
@pytest.mark.parametrize("call,exc,msg", [
    (lambda lib: (leaf([1.0, 2.0], lib) * 2).backward(), RuntimeError,
     "grad can be implicitly created only for scalar outputs"),
    (lambda lib: (lambda y: (y.backward(), y.backward()))(leaf([1.0], lib).exp().sum()),
     RuntimeError, "Trying to backward through the graph a second time"),
    (lambda lib: (lambda x: (lambda y: (y.backward(), y.backward()))((x * 2).sum()))(
        leaf([1.0], lib)), RuntimeError, "Trying to backward through the graph a second time"),
    (lambda lib: lib.ones(2).sum().backward(), RuntimeError,
     "element 0 of tensors does not require grad and does not have a grad_fn"),
    (lambda lib: lib.autograd.grad((leaf([1.0], lib) * 2).sum(), lib.ones(1)), RuntimeError,
     "One of the differentiated Tensors does not require grad"),
    (lambda lib: (lambda x, z: lib.autograd.grad((x * 2).sum(), [x, z]))(
        leaf([1.0], lib), leaf([1.0], lib)), RuntimeError,
     "The differentiated Tensor at index 1 appears to not have been used in the graph"),
    (lambda lib: lib.autograd.grad(leaf([1.0], lib).sum(), []), RuntimeError,
     "`inputs` argument to `grad\\(\\)` cannot be empty"),
    (lambda lib: (leaf([1.0, 2.0], lib) * 2).backward(lib.ones(3)), RuntimeError,
     r"Mismatch in shape: grad_output\[0\] has a shape of .*Size\(\[3\]\) and output\[0\] has "
     r"a shape of .*Size\(\[2\]\)"),
    (lambda lib: (leaf([1.0, 2.0], lib) * 2).backward([1.0, 3.0]), TypeError,
     "gradients can be either Tensors or None, but got"),
    (lambda lib: setattr(leaf([1.0, 2.0], lib), "grad", lib.ones(3)), RuntimeError,
     r"attempting to assign a gradient of size '\[3\]' to a tensor of size '\[2\]'"),
    (lambda lib: setattr(leaf([1.0, 2.0], lib), "grad", lib.ones(2, dtype=lib.float64)),
     RuntimeError, "attempting to assign a gradient with dtype 'double' to a tensor with"),
    (lambda lib: lib.ones(2, dtype=lib.int64).requires_grad_(), RuntimeError,
     "(?i)only Tensors of floating point"),
    (lambda lib: (lib.ones(1) * leaf([1.0], lib)).requires_grad_(False), RuntimeError,
     "you can only change requires_grad flags of leaf variables"),
])
def test_autograd_errors_match_torch(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(fastnn)
    with pytest.raises(exc, match=msg.replace("fastnn", "torch")):
        call(torch)


# ---- order of execution ---------------------------------------------------------------
def test_backward_runs_each_node_once_after_all_its_consumers():
    """backward() runs nodes newest-first: a node shared by later ops runs once, with the
    sum of every consumer's gradient, whatever order its consumers were recorded in."""
    calls = []

    def track(name):
        return lambda grads, outs: calls.append(name)

    x = leaf([1.0, 2.0])
    a = x * 2                       # shared by three later ops
    b = a * a                       # diamond: two edges into a from one node
    c = (a + x).exp()               # x used again, after a
    d = b.sum() + c.sum() + a.sum()
    a.grad_fn.register_hook(track("a"))
    b.grad_fn.register_hook(track("b"))
    d.backward()
    t = leaf([1.0, 2.0], lib=torch)
    ta = t * 2
    ((ta * ta).sum() + (ta + t).exp().sum() + ta.sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    assert calls == ["b", "a"]


def test_nodes_that_receive_no_gradient_do_not_run(monkeypatch):
    ran = []
    original = ops_math.ExpBackward0.backward
    monkeypatch.setattr(ops_math.ExpBackward0, "backward",
                        lambda self, g: ran.append(1) or original(self, g))
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = (y * 0).detach() + x            # y's branch is cut: nothing flows back into it
    z.sum().backward()
    assert ran == [] and x.grad.tolist() == [1.0, 1.0]


def test_sinks_created_after_their_first_consumer():
    """A leaf's AccumulateGrad is made when an op first uses the leaf, after that op's node:
    leaf sinks must still run last, once, with every contribution summed."""
    w = leaf([3.0])
    y = w * w * w                   # three edges into w's sink from two nodes
    (y + w).sum().backward()
    assert w.grad.tolist() == [28.0]   # 3 w^2 + 1


def test_graph_reused_with_retain_graph_across_new_ops():
    x = leaf([1.0, 2.0])
    h = (x * x).sum()
    h.backward(retain_graph=True)
    (h * 3).backward()               # newer nodes feeding the retained, older graph
    assert x.grad.tolist() == [8.0, 16.0]   # 2x + 3 * 2x


def test_post_accumulate_grad_hook():
    x = fastnn.ones(2, requires_grad=True)
    seen = []
    h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    assert seen == [[2.0, 2.0], [5.0, 5.0]]  # after each accumulation into .grad
    fastnn.autograd.grad((x * 2).sum(), x)  # no .grad written: no call
    h.remove()
    (x * 2).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_grad_hook_steps_an_optimizer_per_parameter():
    # PyTorch's recipe for fusing the optimizer into backward: each parameter's own
    # optimizer steps as soon as its gradient is complete
    fastnn.manual_seed(0)
    ref = fastnn.nn.Linear(3, 2)
    m = fastnn.nn.Linear(3, 2)
    m.load_state_dict(ref.state_dict())
    opts = {p: fastnn.optim.SGD([p], lr=0.1) for p in m.parameters()}
    def step_now(t):
        opts[t].step()
        opts[t].zero_grad()

    for p in m.parameters():
        p.register_post_accumulate_grad_hook(step_now)
    opt = fastnn.optim.SGD(ref.parameters(), lr=0.1)
    x = fastnn.randn(4, 3)
    for _ in range(3):
        m(x).pow(2).sum().backward()
        opt.zero_grad()
        ref(x).pow(2).sum().backward()
        opt.step()
    for a, b in zip(m.parameters(), ref.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
