"""nn.utils edge cases: weight_norm's dim checks and the top-level weight-norm primitives,
pruning with a Frobenius norm over many dims or ``amount=True``, and the names PyTorch code
imports (``convert_parameters``, ``stateless._reparametrize_module``)."""
import importlib
import inspect
import warnings

import numpy as np
import pytest

import fastnn


def _module(lib, path):
    return importlib.import_module(f"{lib.__name__}.{path}")


def _out_of_range(ndim, dim):
    return (f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
            f"but got {dim})")


# ---- weight_norm: dim is checked, not wrapped -----------------------------------------------
def _hook_weight_norm(lib, module, dim):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return lib.nn.utils.weight_norm(module, dim=dim)


def _param_weight_norm(lib, module, dim):
    return _module(lib, "nn.utils.parametrizations").weight_norm(module, dim=dim)


@pytest.mark.parametrize("apply", [_hook_weight_norm, _param_weight_norm])
@pytest.mark.parametrize("make,ndim,dim", [("linear", 2, 2), ("linear", 2, 5),
                                           ("linear", 2, -3), ("conv", 3, 3),
                                           ("conv", 3, -4)])
def test_weight_norm_rejects_out_of_range_dim(lib, apply, make, ndim, dim):
    module = lib.nn.Linear(3, 3) if make == "linear" else lib.nn.Conv1d(2, 3, 4)
    with pytest.raises(IndexError) as info:
        apply(lib, module, dim)
    assert str(info.value) == _out_of_range(ndim, dim)


@pytest.mark.parametrize("apply", [_hook_weight_norm, _param_weight_norm])
@pytest.mark.parametrize("dim,g_shape", [(None, ()), (-1, ()), (0, (3, 1)), (1, (1, 3)),
                                         (-2, (3, 1))])
def test_weight_norm_in_range_dims_keep_working(lib, apply, dim, g_shape):
    lib.manual_seed(0)
    module = apply(lib, lib.nn.Linear(3, 3), dim)
    g = getattr(module, "weight_g", None)
    if g is None:
        g = module.parametrizations.weight.original0
    assert tuple(g.shape) == g_shape
    assert tuple(module(lib.ones(2, 3)).shape) == (2, 3)


# ---- fastnn.norm_except_dim / fastnn._weight_norm -------------------------------------------
def test_weight_norm_primitives_are_top_level_with_pytorch_defaults():
    v = fastnn.arange(1.0, 7.0).reshape(2, 3)
    np.testing.assert_allclose(fastnn.norm_except_dim(v).numpy().ravel(),
                               np.linalg.norm(v.numpy(), axis=1), rtol=1e-6)
    np.testing.assert_allclose(fastnn.norm_except_dim(v, 3, 1).numpy().ravel(),
                               (np.abs(v.numpy()) ** 3).sum(0) ** (1 / 3), rtol=1e-6)
    assert fastnn.norm_except_dim(v, dim=-1).shape == ()
    g = fastnn.full((2, 1), 2.0)
    w = fastnn._weight_norm(v, g)
    np.testing.assert_allclose(np.linalg.norm(w.numpy(), axis=1), [2.0, 2.0], rtol=1e-6)
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no "
                                         "dimensions"):
        fastnn.norm_except_dim(fastnn.tensor(3.0), 2, 0)
    with pytest.raises(IndexError) as info:
        fastnn._weight_norm(v, g, 2)
    assert str(info.value) == _out_of_range(2, 2)


def test_weight_norm_primitive_signatures_match_pytorch():
    torch = pytest.importorskip("torch")
    v = torch.ones(2, 3)
    # PyTorch's builtins take these keywords
    torch.norm_except_dim(v=v, pow=2, dim=0)
    torch._weight_norm(v=v, g=torch.ones(2, 1), dim=0)
    for name in ("norm_except_dim", "_weight_norm"):
        params = inspect.signature(getattr(fastnn, name)).parameters
        assert list(params) == (["v", "pow", "dim"] if name == "norm_except_dim"
                                else ["v", "g", "dim"])
    assert inspect.signature(fastnn.norm_except_dim).parameters["pow"].default == 2
    assert inspect.signature(fastnn._weight_norm).parameters["dim"].default == 0


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_weight_norm_primitives_values_and_gradients_match_pytorch(dim):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(dim + 10)
    v = rng.standard_normal((3, 4, 2))
    g_shape = [1, 1, 1]
    if dim != -1:
        g_shape[dim % 3] = v.shape[dim % 3]
    g = rng.standard_normal(g_shape)
    weights = rng.standard_normal(v.shape)
    results = []
    for lib in (torch, fastnn):
        tv = lib.tensor(v, requires_grad=True)
        tg = lib.tensor(g, requires_grad=True)
        out = lib._weight_norm(tv, tg, dim)
        (out * lib.tensor(weights)).sum().backward()
        norm = lib.norm_except_dim(lib.tensor(v), 3, dim)
        results.append([out.detach().numpy(), tv.grad.numpy(), tg.grad.numpy(),
                        norm.numpy()])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


# ---- pruning --------------------------------------------------------------------------------
def _prune(lib):
    return _module(lib, "nn.utils.prune")


@pytest.mark.parametrize("n,dim,listed", [("fro", 0, "1 2 3"), ("fro", 1, "0 2 3"),
                                          ("fro", -1, "0 1 2"), ("nuc", 0, "1 2 3")])
def test_ln_structured_matrix_norm_over_three_dims_is_an_error(lib, n, dim, listed):
    with pytest.raises(RuntimeError) as info:
        _prune(lib).ln_structured(lib.nn.Conv2d(2, 3, 3), "weight", amount=1, n=n, dim=dim)
    assert str(info.value) == f"linalg.matrix_norm: dim must be a 2-tuple. Got {listed}"


def test_ln_structured_frobenius_over_one_or_two_dims_is_the_two_norm(lib):
    lin = lib.nn.Linear(4, 3)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor([[1.0, 1, 1, 1], [0.1, 0.1, 0.1, 0.1], [2, 2, 2, 2]]))
    _prune(lib).ln_structured(lin, "weight", amount=1, n="fro", dim=0)
    assert lin.weight_mask.sum(1).tolist() == [4.0, 0.0, 4.0]
    conv = lib.nn.Conv1d(2, 3, 2)  # a 3-D weight: the norm spans the other two dims
    _prune(lib).ln_structured(conv, "weight", amount=1, n="fro", dim=0)
    assert conv.weight_mask.sum().item() == 8.0


def test_frobenius_norm_and_matrix_norm_messages_list_the_dims(lib):
    x = lib.ones(2, 3, 4, 5)
    with pytest.raises(RuntimeError, match=r"dim must be a 2-tuple\. Got -1 -2 -3$"):
        x.norm("fro", dim=(-1, -2, -3))
    with pytest.raises(RuntimeError, match=r"dim must be a 2-tuple\. Got 1$"):
        lib.linalg.matrix_norm(x, dim=(1,))
    with pytest.raises(RuntimeError, match=r"dim must be a 2-tuple\. Got 0 1 2$"):
        lib.linalg.matrix_norm(x, dim=[0, 1, 2])
    assert tuple(x.norm("fro", dim=(1,)).shape) == (2, 4, 5)


@pytest.mark.parametrize("how,picker", [
    (lambda P, m: P.l1_unstructured(m, "weight", amount=True), "topk"),
    (lambda P, m: P.random_unstructured(m, "weight", amount=True), "topk"),
    (lambda P, m: P.random_structured(m, "weight", amount=True, dim=0), "kthvalue"),
    (lambda P, m: P.global_unstructured([(m, "weight")], pruning_method=P.L1Unstructured,
                                        amount=True), "topk"),
])
def test_prune_amount_true_is_a_type_error(lib, how, picker):
    m = lib.nn.Linear(4, 3)
    with pytest.raises(TypeError) as info:
        how(_prune(lib), m)
    assert str(info.value) == f"{picker}(): argument 'k' must be int, not bool"


def test_prune_amount_false_and_ln_structured_true_still_work(lib):
    P = _prune(lib)
    m = P.l1_unstructured(lib.nn.Linear(4, 3), "weight", amount=False)
    assert m.weight_mask.sum().item() == 12.0
    lin = lib.nn.Linear(4, 3)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor([[1.0, 1, 1, 1], [0.1, 0.1, 0.1, 0.1], [2, 2, 2, 2]]))
    P.ln_structured(lin, "weight", amount=True, n=2, dim=0)  # keeps size - True channels
    assert lin.weight_mask.sum(1).tolist() == [4.0, 0.0, 4.0]


# ---- names PyTorch code imports -------------------------------------------------------------
def test_convert_parameters_module(lib):
    convert = _module(lib, "nn.utils.convert_parameters")
    assert convert.parameters_to_vector is lib.nn.utils.parameters_to_vector
    assert convert.vector_to_parameters is lib.nn.utils.vector_to_parameters
    lin = lib.nn.Linear(2, 3)
    flat = convert.parameters_to_vector(lin.parameters())
    assert tuple(flat.shape) == (9,)
    convert.vector_to_parameters(lib.arange(9.0), lin.parameters())
    assert lin.weight.tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    assert lin.bias.tolist() == [6.0, 7.0, 8.0]
    with pytest.raises(TypeError, match="but got: list"):
        convert.vector_to_parameters([1.0, 2.0], lin.parameters())


def test_reparametrize_module_signature_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = _module(fastnn, "nn.utils.stateless")._reparametrize_module
    theirs = _module(torch, "nn.utils.stateless")._reparametrize_module
    assert ([(p.name, p.default) for p in inspect.signature(ours).parameters.values()]
            == [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()])


def test_reparametrize_module_swaps_and_restores(lib):
    reparametrize = _module(lib, "nn.utils.stateless")._reparametrize_module
    lin = lib.nn.Linear(2, 2)
    original = lin.weight
    swapped = lib.ones(2, 2)
    with reparametrize(lin, {"weight": swapped}):
        assert lin.weight is swapped
        assert tuple(lin(lib.ones(1, 2)).shape) == (1, 2)
    assert lin.weight is original
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'bias'"):
        with reparametrize(lin, {"weight": swapped}, strict=True):
            pass
    assert lin.weight is original


def _shared_linear(lib):
    """A module holding one Linear under two names."""
    class Shared(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.nn.Linear(2, 2)
            self.b = self.a
    return Shared()


@pytest.mark.parametrize("stack_weights", [False, True])
def test_reparametrize_module_stack_weights_restore_order(lib, stack_weights):
    reparametrize = _module(lib, "nn.utils.stateless")._reparametrize_module
    shared = _shared_linear(lib)
    original = shared.a.weight
    one = lib.ones(2, 2)
    with reparametrize(shared, {"a.weight": one, "b.weight": one * 2},
                       stack_weights=stack_weights):
        assert shared.a.weight.sum().item() == 8.0  # the later name wins
    # in reverse (stacked) order the first swap's original comes back last: the real one;
    # in the plain order the slot ends with what the first swap put there
    assert (shared.a.weight is original) == stack_weights
    with reparametrize(shared, {"a.weight": one}, tie_weights=True, stack_weights=True):
        assert shared.a.weight is one and shared.b.weight is one
