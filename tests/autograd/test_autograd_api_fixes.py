"""Autograd API behaviours matched to PyTorch: hooks under autograd.grad, gradient layout,
anomaly mode, scalar-conversion warnings, custom Function checks, grad mode switches."""
import warnings

import numpy as np
import pytest

import fastnn


# ---- leaf hooks under autograd.grad ---------------------------------------------------------

@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_runs_leaf_hooks(lib, create_graph):
    x = lib.tensor([1., 2.], requires_grad=True)
    x.register_hook(lambda g: g * 2)
    g, = lib.autograd.grad((x ** 2).sum(), x, create_graph=create_graph)
    assert g.tolist() == [4., 8.]


def test_grad_runs_leaf_hooks_batched(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    x.register_hook(lambda g: g * 2)
    g, = lib.autograd.grad(x * lib.tensor([1., 2.]), x, lib.eye(2), is_grads_batched=True)
    assert g.tolist() == [[2., 0.], [0., 4.]]


def test_grad_runs_parameter_hooks(lib):
    lin = lib.nn.Linear(2, 1)
    lin.weight.register_hook(lambda g: g * 0)
    g, = lib.autograd.grad(lin(lib.ones(2)).sum(), lin.weight)
    assert g.tolist() == [[0., 0.]]


# ---- leaf gradient layout -------------------------------------------------------------------

def test_leaf_grad_is_contiguous_for_contiguous_leaf(lib):
    w = lib.ones(3, 4, requires_grad=True)
    (lib.ones(5, 4) @ w.t()).sum().backward()
    assert w.grad.is_contiguous()
    assert tuple(w.grad.view(-1).shape) == (12,)
    assert w.grad.tolist() == [[5.] * 4] * 3


def test_leaf_grad_follows_transposed_leaf(lib):
    w = lib.ones(4, 3).t().requires_grad_()
    (lib.ones(5, 4) @ w.t()).sum().backward()
    assert w.grad.stride() == w.stride()


# ---- anomaly mode ---------------------------------------------------------------------------

def test_anomaly_lets_inf_through(lib):
    x = lib.tensor([0., 4.], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly():
            x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()[0]) and x.grad.numpy()[1] == 0.25


def test_anomaly_raises_on_nan(lib):
    x = lib.tensor([-1.], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="'SqrtBackward0' returned nan values"):
                (x.sqrt() * 0).sum().backward()


def test_anomaly_check_nan_flag(lib):
    assert lib.is_anomaly_check_nan_enabled()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autograd.detect_anomaly(check_nan=False):
            assert lib.is_anomaly_enabled() and not lib.is_anomaly_check_nan_enabled()
            x = lib.tensor([-1.], requires_grad=True)
            (x.sqrt() * 0).sum().backward()  # no check: no error
    assert lib.is_anomaly_check_nan_enabled() and not lib.is_anomaly_enabled()


# ---- scalar conversion warning --------------------------------------------------------------

def test_float_warns_only_in_grad_mode(lib):
    x = lib.tensor(1.5, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with lib.no_grad():
            assert float(x) == 1.5
        assert int(x) == 1 and x.item() == 1.5
    assert not [w for w in caught if "to a scalar" in str(w.message)]


# ---- custom Functions ------------------------------------------------------------------------

def _dirty_fn(lib):
    class Dirty(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(2)

        @staticmethod
        def backward(ctx, g):
            return g * 2
    return Dirty


def test_mark_dirty_on_leaf_raises(lib):
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in "
                                           "an in-place operation."):
        _dirty_fn(lib).apply(lib.ones(2, requires_grad=True))


def test_mark_dirty_refreshes_views(lib):
    x = lib.tensor([1., 2., 3.], requires_grad=True)
    y = x * 1
    v = y[1:]
    _dirty_fn(lib).apply(y)
    (v * v).sum().backward()
    assert x.grad.tolist() == [0., 16., 24.]


def _once_fn(lib):
    class Once(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 2 * x * g
    return Once


def test_once_differentiable_gives_no_graph(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    g, = lib.autograd.grad(_once_fn(lib).apply(x).sum(), x, create_graph=True)
    assert g.tolist() == [2., 4.] and not g.requires_grad and g.grad_fn is None


def test_once_differentiable_raises_when_differentiated_twice(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    seed = lib.tensor(1., requires_grad=True)
    g, = lib.autograd.grad(_once_fn(lib).apply(x).sum(), x, grad_outputs=seed,
                           create_graph=True)
    assert g.requires_grad and type(g.grad_fn).__name__ in ("Error", "DelayedError")
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was "
                                           "marked with @once_differentiable"):
        g.sum().backward()


def test_backward_returning_int_raises(lib):
    class RetInt(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return 1
    x = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"expected Variable or None \(got int\)"):
        RetInt.apply(x).sum().backward()


# ---- multi-output views -----------------------------------------------------------------------

@pytest.mark.parametrize("how,name,k", [
    ("unbind", "Unbind", 0), ("split", "Split", 1), ("chunk", "Split", 0),
    ("split_with_sizes", "SplitWithSizes", 1)])
def test_inplace_on_multi_output_view_raises(lib, how, name, k):
    y = lib.ones(4, requires_grad=True) * 1
    pieces = {"unbind": lambda: y.unbind(0), "split": lambda: y.split(2),
              "chunk": lambda: y.chunk(2), "split_with_sizes": lambda: y.split_with_sizes([1, 3])}
    piece = pieces[how]()[k]
    with pytest.raises(RuntimeError, match=f"Output {k} of {name} is a view and is being "
                                           "modified inplace. This view is the output of a "
                                           "function that returns multiple views."):
        piece.mul_(2)


def test_inplace_on_split_piece_without_grad_is_fine(lib):
    y = lib.ones(4)
    y.split(2)[0].mul_(2)
    assert y.tolist() == [2., 2., 1., 1.]


# ---- autograd.grad argument checks ----------------------------------------------------------

def test_grad_materialize_with_allow_unused_false(lib):
    x = lib.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed when "
                                         "materialize_grads=True, but got: allow_unused=False."):
        lib.autograd.grad((x * 2).sum(), x, allow_unused=False, materialize_grads=True)


def test_grad_non_tensor_input(lib):
    x = lib.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="all inputs have to be Tensors or GradientEdges, but "
                                           "got int"):
        lib.autograd.grad((x * 2).sum(), [x, 2])


# ---- grad mode switches ---------------------------------------------------------------------

def test_enable_grad_inside_inference_mode_records_nothing(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        with lib.enable_grad():
            assert lib.is_grad_enabled()
            y = x * 2
            with lib.no_grad():
                assert not lib.is_grad_enabled()
            assert lib.is_grad_enabled()
        assert not lib.is_grad_enabled()
    assert lib.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_set_grad_enabled_requires_bool(lib, value):
    with pytest.raises(TypeError, match="set_grad_enabled\\(\\): argument 'enabled' "
                                        f"\\(position 1\\) must be bool, not {type(value).__name__}"):
        lib.set_grad_enabled(value)
    assert lib.is_grad_enabled()


def test_is_inference(lib):
    assert not lib.is_inference(lib.ones(1))
    with lib.inference_mode():
        t = lib.ones(1)
    assert lib.is_inference(t)


# ---- autograd.graph ---------------------------------------------------------------------------

def _graph(lib):
    import importlib
    return importlib.import_module(lib.__name__ + ".autograd.graph")


def test_graph_node_and_gradient_edge(lib):
    graph = _graph(lib)
    x = lib.ones(2, requires_grad=True)
    y = x * 2
    assert isinstance(y.grad_fn, graph.Node)
    edge = graph.get_gradient_edge(x)
    assert type(edge.node).__name__ == "AccumulateGrad" and edge.output_nr == 0
    assert isinstance(edge.node, graph.Node)
    g, = lib.autograd.grad((y * y).sum(), graph.get_gradient_edge(y))
    assert g.tolist() == [4., 4.]
    with pytest.raises(RuntimeError, match="It is not possible to get the gradient edge for a "
                                           "Tensor that does not require gradients"):
        graph.get_gradient_edge(lib.ones(1))


def test_graph_increment_version(lib):
    graph = _graph(lib)
    x = lib.ones(2, requires_grad=True)
    s = x * 1
    z = s.sin()
    before = s._version
    graph.increment_version(s)
    assert s._version == before + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_graph_multi_grad_hook_all(lib):
    graph = _graph(lib)
    a, b, c = (lib.ones(2, requires_grad=True) for _ in range(3))
    calls = []
    handle = graph.register_multi_grad_hook(
        (a, b, c), lambda gs: calls.append([None if g is None else g.tolist() for g in gs]))
    (a * 2 + b).sum().backward()
    (a * 2 + b * c).sum().backward()
    handle.remove()
    (a * 2 + b).sum().backward()
    assert calls == [[[2., 2.], [1., 1.], None], [[2., 2.], [1., 1.], [1., 1.]]]


def test_graph_multi_grad_hook_any(lib):
    graph = _graph(lib)
    a, b = (lib.ones(2, requires_grad=True) for _ in range(2))
    calls = []
    handle = graph.register_multi_grad_hook((a, b), lambda g: calls.append(g.tolist()),
                                            mode="any")
    (a * 2 + b * 3).sum().backward()
    (a * 2).sum().backward()
    handle.remove()
    (a * 2).sum().backward()
    assert len(calls) == 2 and calls[0] in ([2., 2.], [3., 3.]) and calls[1] == [2., 2.]


def test_function_gradient_for_a_non_tensor_argument_raises():
    class Scale(fastnn.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, fastnn.ones(1)  # k was a number: no gradient may be returned

    with pytest.raises(RuntimeError, match="position 2, but the corresponding forward input "
                                           "was not a Variable"):
        Scale.apply(fastnn.ones(2, requires_grad=True), 3).sum().backward()
