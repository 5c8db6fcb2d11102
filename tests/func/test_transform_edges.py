"""vmap's randomness modes with an explicit generator, and forward-mode transforms (jacfwd,
jvp, hessian, linearize) refusing integer primals with PyTorch's ValueError."""
import numpy as np
import pytest

import fastnn
from fastnn.func import hessian, jacfwd, jvp, linearize, vmap


def _rows(gen, randomness):
    return vmap(lambda a: a * fastnn.rand(4, generator=gen), randomness=randomness)(
        fastnn.ones(3, 4))


def test_same_randomness_replays_an_explicit_generator():
    gen = fastnn.Generator().manual_seed(0)
    out = _rows(gen, "same").numpy()
    assert np.array_equal(out, np.broadcast_to(out[0], out.shape))
    # the rows are the generator's first draw, and the generator ends one draw further on
    expected = fastnn.Generator().manual_seed(0)
    first = fastnn.rand(4, generator=expected)
    np.testing.assert_array_equal(out[0], first.numpy())
    np.testing.assert_array_equal(fastnn.rand(2, generator=gen).numpy(),
                                  fastnn.rand(2, generator=expected).numpy())


def test_same_randomness_leaves_the_default_generator_alone():
    gen = fastnn.Generator().manual_seed(1)
    state = fastnn.get_rng_state()
    _rows(gen, "same")
    assert np.array_equal(fastnn.get_rng_state().numpy(), state.numpy())


def test_different_randomness_draws_in_sequence_from_an_explicit_generator():
    gen = fastnn.Generator().manual_seed(0)
    out = _rows(gen, "different").numpy()
    expected = fastnn.rand(3, 4, generator=fastnn.Generator().manual_seed(0)).numpy()
    np.testing.assert_array_equal(out, expected)


def test_error_randomness_refuses_an_explicit_generator_and_leaves_it_unmoved():
    gen = fastnn.Generator().manual_seed(0)
    with pytest.raises(RuntimeError, match="called random operation while in randomness "
                                           "error mode"):
        _rows(gen, "error")
    np.testing.assert_array_equal(
        fastnn.rand(2, generator=gen).numpy(),
        fastnn.rand(2, generator=fastnn.Generator().manual_seed(0)).numpy())


def test_generator_made_inside_the_function_is_not_a_random_op_of_the_caller():
    # a fresh generator is not one vmap was watching; drawing from it still counts as random
    def body(a):
        fastnn.Generator().manual_seed(5)
        return a * 2

    out = vmap(body)(fastnn.ones(2, 3))
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 2.0))


def test_jacfwd_refuses_draws_from_an_explicit_generator():
    gen = fastnn.Generator().manual_seed(0)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        jacfwd(lambda a: a * fastnn.rand(2, generator=gen))(fastnn.ones(2))


@pytest.mark.parametrize("randomness", ["same", "different", "error"])
def test_randomness_matches_torch_with_a_generator(randomness):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (torch, fastnn):
        gen = lib.Generator().manual_seed(0)
        fn = lib.func.vmap(lambda a: a * lib.rand(4, generator=gen), randomness=randomness)
        try:
            out = fn(lib.ones(3, 4))
            results.append(("ok", np.array_equal(out[0].numpy(), out[1].numpy())))
        except RuntimeError as e:
            results.append(("raised", str(e)))
    assert results[0] == results[1]


INT_PRIMAL_CALLS = {
    "jacfwd": lambda t: jacfwd(lambda a: a * 2)(t),
    "jacfwd_argnums": lambda t: jacfwd(lambda a, b: a * b, argnums=0)(t, fastnn.ones(2)),
    "jacfwd_pytree": lambda t: jacfwd(lambda d: d["x"] * 2)({"x": t}),
    "jacfwd_same_randomness": lambda t: jacfwd(lambda a: a * 2, randomness="same")(t),
    "jvp": lambda t: jvp(lambda a: a * 2, (t,), (t,)),
    "hessian": lambda t: hessian(lambda a: (a * 2).sum())(t),
    "linearize": lambda t: linearize(lambda a: a * 2, t),
}


@pytest.mark.parametrize("name", sorted(INT_PRIMAL_CALLS))
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_primal_raises_value_error(name, dtype):
    t = fastnn.tensor([1, 0], dtype=getattr(fastnn, dtype))
    with pytest.raises(ValueError, match=f"^Expected primal to be floating point or complex, "
                                         f"but got: .*{dtype}$"):
        INT_PRIMAL_CALLS[name](t)


def test_jvp_integer_tangent_raises_value_error():
    with pytest.raises(ValueError, match="^Expected tangent to be floating point or complex, "
                                         "but got: .*int64$"):
        jvp(lambda a: a * 2, (fastnn.ones(2),), (fastnn.tensor([1, 2]),))


def test_jvp_checks_primal_dtype_before_tangent_shape():
    with pytest.raises(ValueError, match="Expected primal"):
        jvp(lambda a: a * 2, (fastnn.tensor([1, 2]),), (fastnn.tensor([1, 2, 3]),))


def test_integer_argument_outside_argnums_is_fine():
    jac = jacfwd(lambda a, b: a * b, argnums=1)(fastnn.tensor([1, 2]),
                                               fastnn.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(jac.numpy(), np.diag([1.0, 2.0]))


@pytest.mark.parametrize("name", sorted(INT_PRIMAL_CALLS))
def test_integer_primal_error_matches_torch(name):
    torch = pytest.importorskip("torch")
    t = fastnn.tensor([1, 2])
    with pytest.raises(ValueError) as ours:
        INT_PRIMAL_CALLS[name](t)
    calls = {
        "jacfwd": lambda x: torch.func.jacfwd(lambda a: a * 2)(x),
        "jacfwd_argnums": lambda x: torch.func.jacfwd(lambda a, b: a * b, argnums=0)(
            x, torch.ones(2)),
        "jacfwd_pytree": lambda x: torch.func.jacfwd(lambda d: d["x"] * 2)({"x": x}),
        "jacfwd_same_randomness": lambda x: torch.func.jacfwd(lambda a: a * 2,
                                                              randomness="same")(x),
        "jvp": lambda x: torch.func.jvp(lambda a: a * 2, (x,), (x,)),
        "hessian": lambda x: torch.func.hessian(lambda a: (a * 2).sum())(x),
        "linearize": lambda x: torch.func.linearize(lambda a: a * 2, x),
    }
    with pytest.raises(ValueError) as theirs:
        calls[name](torch.tensor([1, 2]))
    assert str(ours.value).replace("fastnn.", "torch.") == str(theirs.value)
