"""Engine semantics matched to PyTorch: hooks on a leaf's AccumulateGrad node, the Variable
type, anomaly mode's NaN check and forward trace, vjp-only Functions, mark_dirty, output_nr
and the small internals (``_sequence_nr``, ``_is_view``, ``torch._C`` entry points).

Tests taking ``lib`` run on fastnn and, where installed, on PyTorch as the oracle."""
import warnings

import numpy as np
import pytest

import fastnn


def _acc_node(p):
    return p.expand_as(p).grad_fn.next_functions[0][0]


# ---- 1. hooks on AccumulateGrad ---------------------------------------------------------------

def _hooked_linear(lib, log):
    lib.manual_seed(0)
    m = lib.nn.Linear(2, 2)
    m.kept_nodes = []  # PyTorch frees an AccumulateGrad (and its hooks) nobody holds
    for n, p in m.named_parameters():
        acc = _acc_node(p)
        m.kept_nodes.append(acc)
        acc.register_hook(lambda gi, go, n=n: log.append(
            ("post", n, gi, [g.clone() for g in go])))
        acc.register_prehook(lambda go, n=n: log.append(("pre", n)))
        p.register_hook(lambda g, n=n: log.append(("tensor", n)) or g * 2)
        p.register_post_accumulate_grad_hook(lambda p, n=n: log.append(("post_acc", n)))
    return m


def _per_param(log, name):
    return [entry[0] for entry in log if entry[1] == name]


@pytest.mark.parametrize("create_graph", [False, True])
def test_accumulate_grad_hooks_fire_in_order(lib, create_graph):
    log = []
    m = _hooked_linear(lib, log)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_graph's reference-cycle warning
        m(lib.ones(1, 2)).sum().backward(create_graph=create_graph)
    for name in ("weight", "bias"):
        # the leaf's own hooks, the node's prehooks, accumulation, then the node's hooks
        assert _per_param(log, name) == ["tensor", "pre", "post_acc", "post"]
    post = {e[1]: e for e in log if e[0] == "post"}
    assert post["bias"][2] == ()  # grad_inputs: an AccumulateGrad has no next edges
    assert post["bias"][3][0].tolist() == [2.0, 2.0]  # grad_outputs: after the tensor hook
    assert post["weight"][3][0].tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert m.bias.grad.tolist() == [2.0, 2.0]


def test_accumulate_grad_hook_sees_ready_grad(lib):
    # the Horovod pattern: the hook reads p.grad, already accumulated, on every backward
    m = lib.nn.Linear(3, 2)
    seen, kept = [], []
    for p in m.parameters():
        kept.append(_acc_node(p))
        kept[-1].register_hook(lambda *a, p=p: seen.append(p.grad.clone()))
    x = lib.ones(4, 3)
    for _ in range(2):
        m(x).sum().backward()
    assert len(seen) == 4
    assert sorted(s.shape[0] for s in seen[:2]) == [2, 2]
    assert np.allclose(seen[2].numpy(), 2 * seen[0].numpy())  # grads accumulate


def test_accumulate_grad_hook_with_optimizer_arena(lib):
    # the fused linear path writes grads into the optimizer's storage: hooks still fire
    lib.manual_seed(0)
    m = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2))
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    fired, kept = [], []
    for n, p in m.named_parameters():
        kept.append(_acc_node(p))
        kept[-1].register_hook(lambda *a, n=n: fired.append(n))
    x = lib.ones(3, 4)
    for _ in range(2):
        opt.zero_grad()
        m(x).sum().backward()
        opt.step()
    assert sorted(fired) == sorted([n for n, _ in m.named_parameters()] * 2)


def test_accumulate_grad_hooks_under_grad_and_inputs(lib):
    log = []
    m = _hooked_linear(lib, log)
    lib.autograd.grad(m(lib.ones(1, 2)).sum(), [m.weight])
    assert log == [("tensor", "weight")]  # autograd.grad accumulates nothing
    log.clear()
    m(lib.ones(1, 2)).sum().backward(inputs=[m.weight])
    assert [e[:2] for e in log] == [("tensor", "weight"), ("pre", "weight"),
                                    ("post_acc", "weight"), ("post", "weight")]


def test_accumulate_grad_hook_wrong_result_count(lib):
    w = lib.ones(2, requires_grad=True)
    acc = _acc_node(w)
    acc.register_hook(lambda gi, go: (go[0],))
    with pytest.raises(RuntimeError, match="incorrect number of values"):
        (w * 2).sum().backward()


# ---- 2. Variable ---------------------------------------------------------------------------

def test_variable_isinstance(lib):
    from_variable = pytest.importorskip(f"{lib.__name__}.autograd.variable")
    Variable = lib.autograd.Variable
    assert from_variable.Variable is Variable
    x = lib.ones(2)
    assert isinstance(x, Variable)
    assert isinstance(lib.nn.Parameter(x), Variable)
    assert not isinstance(3, Variable) and not isinstance(np.ones(2), Variable)


def test_variable_constructor(lib):
    Variable = lib.autograd.Variable
    x = lib.ones(2)
    v = Variable(x, requires_grad=True)
    assert v.requires_grad and v.is_leaf and not x.requires_grad
    assert v.data_ptr() == x.data_ptr()  # an alias of the same storage
    y = lib.ones(2, requires_grad=True) * 2
    w = Variable(y)
    assert w.grad_fn is None and not w.requires_grad
    assert tuple(Variable().shape) == (0,)
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(x, volatile=True)


# ---- 3./4. anomaly mode ----------------------------------------------------------------------

def test_anomaly_nan_check_on_create_graph_path(lib):
    x = lib.tensor([-1.0, 1.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with lib.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan "
                                                   "values in its 0th output."):
                lib.autograd.grad(x.sqrt().sum(), x, create_graph=True)
    assert any("Error detected in SqrtBackward0" in str(w.message) for w in got)


def test_anomaly_create_graph_finite_is_fine(lib):
    x = lib.tensor([1.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly():
            g, = lib.autograd.grad(x.sqrt().sum(), x, create_graph=True)
    assert np.allclose(g.detach().numpy(), [0.5, 0.25])


def _modify_saved(lib):
    a = lib.ones(2, requires_grad=True)
    b = a.sin()
    c = b.sin()
    b.add_(1)
    return c


def test_anomaly_warns_forward_trace_for_version_error(lib):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with lib.autograd.detect_anomaly():
            c = _modify_saved(lib)
            with pytest.raises(RuntimeError, match="Hint: the backtrace further above shows the "
                                                   "operation that failed to compute its "
                                                   "gradient. The variable in question was "
                                                   "changed in there or anywhere later. Good "
                                                   "luck!"):
                c.sum().backward()
    msgs = [str(w.message) for w in got if "Error detected" in str(w.message)]
    assert len(msgs) == 1
    assert msgs[0].startswith("Error detected in SinBackward0. Traceback of forward call that "
                              "caused the error:\n")
    assert "_modify_saved" in msgs[0]


def test_version_error_hint_without_anomaly(lib):
    c = _modify_saved(lib)
    with pytest.raises(RuntimeError, match=r"Hint: enable anomaly detection to find the "
                                           r"operation that failed to compute its gradient, "
                                           r"with torch.autograd.set_detect_anomaly\(True, "
                                           r"check_nan=False\)."):
        c.sum().backward()


def test_anomaly_warns_for_exception_in_custom_backward(lib):
    class Boom(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    a = lib.ones(2, requires_grad=True)
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with lib.autograd.detect_anomaly():
            with pytest.raises(ValueError, match="boom"):
                Boom.apply(a).sum().backward()
    assert any(str(w.message).startswith("Error detected in BoomBackward.") for w in got)
    with warnings.catch_warnings(record=True) as got:  # off: no warning, the error only
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="boom"):
            Boom.apply(a).sum().backward()
    assert not any("Error detected" in str(w.message) for w in got)


# ---- 5. vjp ------------------------------------------------------------------------------------

def test_function_vjp_only_is_backward(lib):
    class Triple(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def vjp(ctx, g):
            return g * 3

    x = lib.ones(2, requires_grad=True)
    Triple.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    x = lib.ones(2, requires_grad=True)
    g, = lib.autograd.grad(Triple.apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [3.0, 3.0]


def test_function_vjp_jvp_attributes(lib):
    F = lib.autograd.Function
    assert F.vjp is F.backward
    with pytest.raises(NotImplementedError, match="You must implement the jvp function"):
        F.jvp(None)

    class NoBackward(F):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = lib.ones(2, requires_grad=True)
    with pytest.raises(NotImplementedError, match="either the backward or vjp method"):
        NoBackward.apply(x).sum().backward()


# ---- 6. mark_dirty -------------------------------------------------------------------------

def _dirty_fns(lib):
    class NotReturned(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            x.add_(1)
            ctx.mark_dirty(x)
            return y * 2

    class AddOne(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x

    return NotReturned, AddOne


@pytest.mark.parametrize("requires_grad", [True, False])
def test_mark_dirty_must_be_returned(lib, requires_grad):
    NotReturned, _ = _dirty_fns(lib)
    a = lib.ones(2, requires_grad=requires_grad).clone()
    with pytest.raises(RuntimeError, match="Some elements marked as dirty during the forward "
                                           "method were not returned as output. The inputs "
                                           "that are modified inplace must all be outputs of "
                                           "the Function."):
        NotReturned.apply(a, lib.ones(2))


@pytest.mark.parametrize("requires_grad", [True, False])
def test_mark_dirty_bumps_version(lib, requires_grad):
    _, AddOne = _dirty_fns(lib)
    leaf = lib.ones(2, requires_grad=requires_grad)
    a = leaf.clone()
    b = AddOne.apply(a)
    assert b is a and a._version == 2
    if requires_grad:
        b.sum().backward()  # the saved (dirty) tensor expects the bumped version
        assert leaf.grad.tolist() == [2.0, 2.0]


# ---- 8. internals ----------------------------------------------------------------------------

def test_sequence_nr_and_is_view(lib):
    x = lib.ones(3, requires_grad=True)
    y = x * 2
    z = y * 2
    assert isinstance(y.grad_fn._sequence_nr(), int)
    assert z.grad_fn._sequence_nr() > y.grad_fn._sequence_nr()
    assert _acc_node(x)._sequence_nr() == 2 ** 64 - 1
    assert not x._is_view() and x[0:1]._is_view() and x.view(3)._is_view()
    assert not (x * 2)._is_view()


def test_backward_c_function_and_legacy_classes(lib):
    from importlib import import_module
    fm = import_module(f"{lib.__name__}.autograd.function")
    seen = []

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(isinstance(ctx, fm.BackwardCFunction))
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g, h):
            return g + h

    x = lib.ones(2, requires_grad=True)
    a, b = Two.apply(x)
    assert seen == [True]
    assert isinstance(a.grad_fn, fm.BackwardCFunction)
    assert isinstance(b.grad_fn, fm.BackwardCFunction)
    assert not isinstance((x * 2).grad_fn, fm.BackwardCFunction)
    assert issubclass(fm.InplaceFunction, lib.autograd.Function)
    assert issubclass(fm.NestedIOFunction, lib.autograd.Function)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert fm.InplaceFunction(inplace=True).inplace is True


def test_decorator_context_manager(lib):
    from importlib import import_module
    base = import_module(f"{lib.__name__}.autograd.grad_mode")._DecoratorContextManager
    assert isinstance(lib.no_grad(), base)

    class Record(base):
        entered = 0

        def __enter__(self):
            Record.entered += 1

        def __exit__(self, *exc):
            return False

    @Record()
    def f(v):
        return v + 1

    assert f(1) == 2 and f(2) == 3 and Record.entered == 2


def test_utils_hooks_extras(lib):
    from importlib import import_module
    H = import_module(f"{lib.__name__}.utils.hooks")

    def hook(g):
        return g

    assert H.unserializable_hook(hook) is hook and hook.__torch_unserializable__
    x = lib.ones(2, requires_grad=True)
    x.register_hook(lambda g: g)
    with pytest.warns(UserWarning, match="will not be serialized"):
        H.warn_if_has_hooks(x)
    y = lib.ones(2, requires_grad=True)
    y.register_hook(hook)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        H.warn_if_has_hooks(y)  # marked unserializable: quiet


def test_backward_hook_class(lib):
    from importlib import import_module
    H = import_module(f"{lib.__name__}.utils.hooks")
    m = lib.nn.Linear(2, 2)
    got = []
    bw = H.BackwardHook(m, [lambda mod, gi, go: got.append((mod, gi, go))], [])
    x = lib.ones(1, 2, requires_grad=True)
    args = bw.setup_input_hook((x,))
    out = bw.setup_output_hook(m(*args))
    out.sum().backward()
    assert len(got) == 1 and got[0][0] is m
    assert got[0][2][0].tolist() == [[1.0, 1.0]]
    assert np.allclose(got[0][1][0].numpy(), m.weight.detach().numpy().sum(0, keepdims=True))


def test_c_module_entry_points(lib):
    assert lib._C._get_tracing_state() is None
    try:
        assert lib._C._set_grad_enabled(False) is None
        assert not lib.is_grad_enabled()
    finally:
        lib._C._set_grad_enabled(True)
    assert lib.is_grad_enabled()
    with pytest.raises(TypeError, match="must be bool, not int"):
        lib._C._set_grad_enabled(1)


# ---- 9. output_nr --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["unbind", "split", "chunk", "svd"])
def test_output_nr(lib, op):
    x = lib.ones(3, 3, requires_grad=True)
    outs = {"unbind": lambda: x.unbind(), "split": lambda: x.split(1),
            "chunk": lambda: x.chunk(3), "svd": lambda: lib.linalg.svd(x)}[op]()
    assert [o.output_nr for o in outs] == [0, 1, 2]
    assert x.output_nr == 0 and (x * 2).output_nr == 0


def test_next_functions_carry_output_nr(lib):
    x = lib.eye(3, requires_grad=True)
    _, _, vh = lib.linalg.svd(x)
    assert (vh * 2).grad_fn.next_functions[0][1] == 2
    assert lib.autograd.graph.get_gradient_edge(vh).output_nr == 2


def test_custom_function_outputs_output_nr(lib):
    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g, h):
            return g + h

    a, b = Two.apply(lib.ones(2, requires_grad=True))
    assert (a.output_nr, b.output_nr) == (0, 1)


# ---- plain checks without PyTorch -----------------------------------------------------------

def test_fastnn_variable_module_and_c_shim():
    from fastnn.autograd.variable import Variable
    assert Variable is fastnn.autograd.Variable
    assert isinstance(fastnn.zeros(1), Variable)
    v = Variable(fastnn.ones(2), requires_grad=True)
    assert type(v) is fastnn.Tensor and v.requires_grad
    import fastnn._C as C
    assert C._get_tracing_state() is None


def test_fastnn_accumulate_hook_fires_once_per_backward_with_shared_leaf():
    # a leaf used twice: the hook sees the summed gradient once, after accumulation
    w = fastnn.ones(2, requires_grad=True)
    got = []
    _acc_node(w).register_hook(lambda gi, go: got.append((gi, go[0].tolist(), w.grad.tolist())))
    (w * 2 + w * 3).sum().backward()
    assert got == [((), [5.0, 5.0], [5.0, 5.0])]
