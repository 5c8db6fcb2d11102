"""Autograd API behaviours matched to PyTorch: Function.apply with keyword arguments,
grad_fn post hooks, retain_grad under create_graph, in-place on a custom Function's view
outputs, the legacy Function call, multithreading switches, allow_mutation_on_saved_tensors
and CheckpointPolicy. Expectations are fixed values, checked for fastnn and, where installed,
for PyTorch as well."""
import threading

import numpy as np
import pytest

import fastnn


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _np(t):
    return t.detach().numpy()


# ---- Function.apply with keyword arguments ------------------------------------------------------ 

def _scaled_product(lib, log):
    class ScaledProduct(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, s=2.0, z=None):
            log.append(("forward", ctx.needs_input_grad))
            ctx.save_for_backward(x, y)
            out = x * y * s
            return out if z is None else out + z

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            log.append(("backward", ctx.needs_input_grad))
            return g * y * 2, g * x * 2, None, g * 10
    return ScaledProduct


def _xyz(lib):
    return [lib.tensor(v, requires_grad=True) for v in ([1., 2.], [3., 4.], [5., 6.])]


@pytest.mark.parametrize("call", ["positional", "keywords", "keywords_reordered"])
def test_function_apply_keyword_tensors_get_gradients(lib, call):
    log = []
    fn = _scaled_product(lib, log)
    x, y, z = _xyz(lib)
    if call == "positional":
        out = fn.apply(x, y, 3.0, z)
    elif call == "keywords":
        out = fn.apply(x, y, s=3.0, z=z)
    else:
        out = fn.apply(x, z=z, y=y, s=3.0)
    np.testing.assert_allclose(_np(out), [14., 30.])
    out.sum().backward()
    assert log == [("forward", (True, True, False, True)), ("backward", (True, True, False, True))]
    np.testing.assert_allclose(_np(x.grad), [6., 8.])
    np.testing.assert_allclose(_np(y.grad), [2., 4.])
    np.testing.assert_allclose(_np(z.grad), [10., 10.])


def test_function_apply_keyword_only_up_to_bound_position(lib):
    log = []
    fn = _scaled_product(lib, log)
    x, y, _ = _xyz(lib)
    out = fn.apply(x, y=y)
    assert log == [("forward", (True, True))]
    with pytest.raises(RuntimeError, match=r"incorrect number of gradients \(expected 2, got 4\)"):
        out.sum().backward()


@pytest.mark.parametrize("kwargs, message", [
    ({"w": 1}, "forward() got an unexpected keyword argument 'w'"),
    ({"x": 1}, "forward() got multiple values for argument 'x'"),
    ({"z": 1}, "forward() missing required argument: 's' (position 2)"),
])
def test_function_apply_bad_keywords(lib, kwargs, message):
    fn = _scaled_product(lib, [])
    x, y, _ = _xyz(lib)
    with pytest.raises(TypeError) as info:
        fn.apply(x, y, **kwargs)
    assert str(info.value) == message


def test_setup_context_function_sees_defaults_and_keywords(lib):
    seen = []

    class Product(lib.autograd.Function):
        @staticmethod
        def forward(x, y, s=2.0):
            return x * y * s

        @staticmethod
        def setup_context(ctx, inputs, output):
            seen.append((len(inputs), inputs[2], ctx.needs_input_grad))
            ctx.save_for_backward(*inputs[:2])

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x, None

    x, y, _ = _xyz(lib)
    Product.apply(x, y=y).sum().backward()
    assert seen == [(3, 2.0, (True, True, False))]
    np.testing.assert_allclose(_np(x.grad), [3., 4.])
    np.testing.assert_allclose(_np(y.grad), [1., 2.])


# ---- grad_fn post hooks -----------------------------------------------------------------------

def test_grad_fn_hook_receives_tensor_tuples(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = x * lib.tensor([3., 4.])
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append((gi, go)))
    y.sum().backward()
    (gi, go), = seen
    assert isinstance(gi, tuple) and isinstance(go, tuple)
    assert isinstance(gi[0], lib.Tensor) and gi[1] is None
    np.testing.assert_allclose(_np(gi[0]), [3., 4.])
    np.testing.assert_allclose(_np(go[0]), [1., 1.])


@pytest.mark.parametrize("mode", ["backward", "grad", "grad_create_graph"])
def test_grad_fn_hook_replaces_grad_inputs(lib, mode):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = x ** 2
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10,))
    if mode == "backward":
        y.sum().backward()
        g = x.grad
    else:
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=mode == "grad_create_graph")
        assert g.requires_grad == (mode == "grad_create_graph")
    np.testing.assert_allclose(_np(g), [20., 40.])


def test_multi_output_function_hook_sees_all_outputs(lib):
    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * 2, x * y

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2, g2

    x, y, _ = _xyz(lib)
    a, b = Two.apply(x, y)
    seen = []
    a.grad_fn.register_hook(lambda gi, go: seen.append((len(gi), len(go))))
    (a + b).sum().backward()
    assert seen == [(2, 2)]


@pytest.mark.parametrize("result, error, message", [
    (lambda gi: gi[0] * 10, TypeError, "expected tuple, but hook returned 'Tensor'"),
    (lambda gi: (gi[0],), RuntimeError, "has returned an incorrect number of values "
                                        "(got 1, but expected 2)"),
    (lambda gi: (gi[0], gi[0]), RuntimeError, "can't replace a None gradient with a "
                                              "non-None value"),
    (lambda gi: (gi[0].sum(), None), RuntimeError, "has changed the size of value"),
])
def test_grad_fn_hook_bad_results(lib, result, error, message):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = x * lib.tensor([3., 4.])
    y.grad_fn.register_hook(lambda gi, go: result(gi))
    with pytest.raises(error) as info:
        y.sum().backward()
    assert message in str(info.value)


# ---- retain_grad with create_graph ------------------------------------------------------------

def test_retained_grad_is_in_graph_with_create_graph(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    h = x ** 2
    h.retain_grad()
    (h * h).sum().backward(create_graph=True)
    assert h.grad.requires_grad
    np.testing.assert_allclose(_np(h.grad), [2., 8.])
    (g,) = lib.autograd.grad(h.grad.sum(), x)
    np.testing.assert_allclose(_np(g), [4., 8.])


def test_retained_grad_without_create_graph_is_plain(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    h = x ** 2
    h.retain_grad()
    (h * h).sum().backward()
    assert not h.grad.requires_grad


# ---- in-place on a view a custom Function returned ------------------------------------------- 

_CUSTOM_VIEW = ("Output 0 of {} is a view and is being modified inplace. This view was created "
                "inside a custom Function (or because an input was returned as-is) and the "
                "autograd logic to handle view+inplace would override the custom backward "
                "associated with the custom Function, leading to incorrect gradients. This "
                "behavior is forbidden. You can fix this by cloning the output of the custom "
                "Function.")


def _returning(lib, make):
    class Returns(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return make(x)

        @staticmethod
        def backward(ctx, g):
            return g * 5
    return Returns


_MAKERS = {"view": lambda x: x.view_as(x), "input": lambda x: x,
           "view_of_temporary": lambda x: (x * 2)[0:2]}
_INPLACE = {"add_": lambda y: y.add_(1), "mul_": lambda y: y.mul_(2),
            "zero_": lambda y: y.zero_(), "copy_": lambda y: y.copy_(y.detach() + 1),
            "setitem": lambda y: y.__setitem__(slice(None), 1.0)}


@pytest.mark.parametrize("made", sorted(_MAKERS))
@pytest.mark.parametrize("op", sorted(_INPLACE))
def test_inplace_on_custom_function_view_raises(lib, made, op):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = _returning(lib, _MAKERS[made]).apply(x * 1)
    with pytest.raises(RuntimeError) as info:
        _INPLACE[op](y)
    assert str(info.value) == _CUSTOM_VIEW.format("Returns")


def test_inplace_on_leaf_returned_by_custom_function_raises(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    y = _returning(lib, lambda t: t).apply(x)
    with pytest.raises(RuntimeError) as info:
        y.mul_(2)
    assert str(info.value) == _CUSTOM_VIEW.format("Returns")


def test_custom_function_view_untracked_or_cloned_is_fine(lib):
    fn = _returning(lib, lambda x: x.view_as(x))
    y = fn.apply(lib.tensor([1., 2.]))  # nothing requires grad: no graph, no restriction
    y.add_(1)
    x = lib.tensor([1., 2.], requires_grad=True)
    z = fn.apply(x * 1).clone()
    z.add_(1)
    z.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [5., 5.])


def test_inplace_on_multi_output_function_view_raises(lib):
    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.view_as(x), x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 5 + g2

    x = lib.tensor([1., 2.], requires_grad=True)
    a, b = Two.apply(x * 1)
    with pytest.raises(RuntimeError, match="Output 0 of Two is a view and is being modified "
                                           "inplace. This view is the output of a function"):
        a.add_(1)
    b.add_(1)  # not a view: allowed
    (a + b).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [6., 6.])


# ---- legacy Function instances ----------------------------------------------------------------

def test_calling_function_instance_raises(lib):
    fn = _returning(lib, lambda x: x * 1)
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        instance = fn()
    with pytest.raises(RuntimeError, match="^Legacy autograd function with non-static forward "
                                           "method is deprecated. Please use new-style autograd "
                                           "function with static forward method."):
        instance(lib.ones(2))


# ---- multithreading switches ------------------------------------------------------------------

def test_set_multithreading_enabled(lib):
    ag = lib.autograd
    assert ag.is_multithreading_enabled()
    with ag.set_multithreading_enabled(False):
        assert not ag.is_multithreading_enabled()
        other = []
        t = threading.Thread(target=lambda: other.append(ag.is_multithreading_enabled()))
        t.start()
        t.join()
        assert other == [True]  # per thread
    assert ag.is_multithreading_enabled()
    ag.set_multithreading_enabled(False)
    assert not ag.is_multithreading_enabled()
    ag.set_multithreading_enabled(True)
    assert ag.is_multithreading_enabled()
    with pytest.raises(TypeError, match="argument 'enabled' \\(position 1\\) must be bool, "
                                        "not int"):
        ag.set_multithreading_enabled(1)


# ---- allow_mutation_on_saved_tensors ----------------------------------------------------------

def test_allow_mutation_on_saved_tensors_uses_saved_values(lib):
    with lib.autograd.graph.allow_mutation_on_saved_tensors() as ctx:
        x = lib.tensor([1., 2.], requires_grad=True)
        a = x * 1
        b = a * a
        a.add_(1)
        b.sum().backward(retain_graph=True)
        np.testing.assert_allclose(_np(x.grad), [2., 4.])
        e = x.exp()
        e.add_(1)  # a saved output modified too
        e.sum().backward()
        np.testing.assert_allclose(_np(x.grad), [2. + np.e, 4. + np.e ** 2], rtol=1e-6)
    assert ctx is not None


def test_allow_mutation_on_saved_tensors_rules(lib):
    graph = lib.autograd.graph
    with pytest.raises(RuntimeError, match="contexts cannot be nested"):
        with graph.allow_mutation_on_saved_tensors():
            with graph.allow_mutation_on_saved_tensors():
                pass
    with graph.allow_mutation_on_saved_tensors():
        x = lib.tensor([1., 2.], requires_grad=True)
        b = (x * 1).sin()
    with pytest.raises(AssertionError, match="Trying to backward outside of the "
                                             "'allow_mutation_on_saved_tensors' context"):
        b.sum().backward()


def test_mutating_saved_tensor_still_raises_outside_the_context(lib):
    x = lib.tensor([1., 2.], requires_grad=True)
    a = x * 1
    b = a * a
    a.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


# ---- CheckpointPolicy -------------------------------------------------------------------------

def test_checkpoint_policy_enum(lib):
    import enum
    import importlib
    policy = importlib.import_module(lib.__name__ + ".utils.checkpoint").CheckpointPolicy
    assert issubclass(policy, enum.Enum)
    assert [(p.name, p.value) for p in policy] == [
        ("MUST_SAVE", 0), ("PREFER_SAVE", 1), ("MUST_RECOMPUTE", 2), ("PREFER_RECOMPUTE", 3),
        ("MUST_CPU_OFFLOAD", 4), ("PREFER_CPU_OFFLOAD", 5)]
