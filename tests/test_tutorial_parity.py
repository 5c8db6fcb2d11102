"""Behaviours that tutorials and courses print or rely on, each checked against PyTorch's."""
import io
import sys

import numpy as np
import pytest

import fastnn
from fastnn.utils.data import default_collate


# ---- 0-d labels in gather/scatter (the one-hot target_transform of "Learn the Basics")

def test_scatter_with_0d_index_makes_a_one_hot():
    y = fastnn.zeros(10, dtype=fastnn.float).scatter_(0, fastnn.tensor(3), value=1)
    assert y.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    z = fastnn.zeros(5).scatter_add(0, fastnn.tensor(2), fastnn.tensor(2.0))
    assert z.tolist() == [0, 0, 2, 0, 0]


def test_gather_with_0d_index_or_input():
    x = fastnn.arange(5.0, requires_grad=True)
    out = x.gather(0, fastnn.tensor(3))
    assert out.shape == () and out.item() == 3.0
    out.backward()
    assert x.grad.tolist() == [0, 0, 0, 1, 0]
    assert fastnn.tensor(5.0).gather(0, fastnn.tensor([0, 0])).tolist() == [5.0, 5.0]
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        fastnn.zeros(3, 3).gather(0, fastnn.tensor(1))


# ---- printing ---------------------------------------------------------------------------

def test_repr_moves_a_long_suffix_to_its_own_line():
    t = fastnn.tensor([-0.4018, -1.6302, 0.4628, -0.9073, 0.0519, 0.7291, 0.1290],
                      requires_grad=True)
    assert repr(t) == ("tensor([-0.4018, -1.6302,  0.4628, -0.9073,  0.0519,  0.7291,  0.1290],\n"
                       "       requires_grad=True)")
    short = fastnn.tensor([1.0, 2.0], requires_grad=True)
    assert repr(short) == "tensor([1., 2.], requires_grad=True)"
    t = fastnn.tensor([123.5, 2.25, 3.125, 4.5, 5.75, 6.5, 7.25], dtype=fastnn.float64)
    assert repr(t).endswith("7.2500],\n       dtype=fastnn.float64)")


def test_repr_wrapping_follows_linewidth():
    t = fastnn.tensor([1.0, 2.0], requires_grad=True)
    try:
        fastnn.set_printoptions(linewidth=30)
        assert repr(t) == "tensor([1., 2.],\n       requires_grad=True)"
    finally:
        fastnn.set_printoptions(profile="default")


# ---- custom autograd Functions that return the wrong gradients --------------------------

def _function(backward):
    def forward(ctx, x, *rest):
        return x * 2
    return type("Custom", (fastnn.autograd.Function,),
                {"forward": staticmethod(forward), "backward": staticmethod(backward)})


def test_function_returning_too_many_gradients_raises():
    a = fastnn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients "
                                           r"\(expected 1, got 2\)"):
        _function(lambda ctx, g: (g, g)).apply(a).sum().backward()
    # extra trailing Nones are fine, as in PyTorch
    _function(lambda ctx, g: (g, None, None)).apply(a, 2).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_function_gradient_shapes_are_checked_and_summed():
    a = fastnn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0 - got \[3\] but "
                                           r"expected shape compatible with \[2\]"):
        _function(lambda ctx, g: fastnn.ones(3)).apply(a).sum().backward()
    with pytest.raises(RuntimeError, match=r"got \[1\] but expected shape compatible"):
        _function(lambda ctx, g: fastnn.ones(1)).apply(a).sum().backward()
    _function(lambda ctx, g: fastnn.ones(2, 2)).apply(a).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]  # broadcast gradients are summed back down


# ---- small API points -----------------------------------------------------------------------

def test_size_arithmetic_stays_a_size():
    s = fastnn.Size([2, 3])
    for r in (s + (4,), (1,) + s, s * 2, 2 * s, s + s):
        assert isinstance(r, fastnn.Size)
    assert s + (4,) == (2, 3, 4) and (1,) + s == (1, 2, 3)
    with pytest.raises(TypeError):
        s + [1]


def test_arange_rounds_each_value_once():
    # d2l plots relu's derivative on arange(-8, 8, 0.1): the value at index 80 must be > 0
    x = fastnn.arange(-8.0, 8.0, 0.1)
    assert x[80].item() > 0 and len(x) == 160
    assert fastnn.arange(0, 10, 3).tolist() == [0, 3, 6, 9]
    assert fastnn.arange(10, 0, -0.5).shape == (20,)


def test_sign_of_bool_is_itself():
    b = fastnn.tensor([True, False])
    assert b.sign().dtype == fastnn.bool and b.sign().tolist() == [True, False]


def test_layer_functions_at_the_top_level():
    x = fastnn.randn(1, 3, 8, 8)
    w = fastnn.randn(4, 3, 3, 3)
    assert fastnn.conv2d(x, w).shape == (1, 4, 6, 6)
    assert fastnn.max_pool2d(x, 2).shape == (1, 3, 4, 4)
    assert fastnn.dropout(x, 0.5, False).equal(x)
    assert fastnn.layer_norm(x, (8,)).shape == x.shape
    with pytest.raises(AttributeError):
        fastnn.cross_entropy_no_such_thing


def test_save_load_keeps_numpy_arrays_and_sets():
    buf = io.BytesIO()
    fastnn.save({"a": np.arange(3.0), "t": fastnn.ones(2), "s": {1, "x"},
                 "f": frozenset([2])}, buf)
    buf.seek(0)
    d = fastnn.load(buf)
    assert isinstance(d["a"], np.ndarray) and d["a"].tolist() == [0.0, 1.0, 2.0]
    assert isinstance(d["t"], fastnn.Tensor)
    assert d["s"] == {1, "x"} and d["f"] == frozenset([2])


def test_collate_keeps_string_fields_as_tuples():
    batch = default_collate([("a", 1), ("b", 2)])
    assert batch[0] == ("a", "b") and batch[1].tolist() == [1, 2]
    assert default_collate(["a", "b"]) == ["a", "b"]
    assert default_collate([{"s": "a"}, {"s": "b"}]) == {"s": ["a", "b"]}


def test_graph_walk_of_the_blitz_network():
    # the 60-minute blitz follows loss.grad_fn.next_functions back through Linear layers
    fc1, fc2 = fastnn.nn.Linear(6, 5), fastnn.nn.Linear(5, 3, bias=False)
    loss = fastnn.nn.MSELoss()(fc2(fastnn.relu(fc1(fastnn.randn(2, 6)))), fastnn.randn(2, 3))
    mm = loss.grad_fn.next_functions[0][0]
    assert mm.name() == "MmBackward0"
    assert [n.name() for n, _ in mm.next_functions] == ["ReluBackward0", "TBackward0"]
    addmm = mm.next_functions[0][0].next_functions[0][0]
    assert addmm.name() == "AddmmBackward0"
    assert [n.name() if n else None for n, _ in addmm.next_functions] == \
        ["AccumulateGrad", None, "TBackward0"]
    assert addmm.next_functions[2][0].next_functions[0][0].variable is fc1.weight
    assert repr(mm.next_functions[1][0]).startswith("<TBackward0 object at 0x")


# ---- error wording and warnings PyTorch users see -------------------------------------------

def test_inplace_error_names_the_op_that_made_the_tensor():
    x = fastnn.randn(2, requires_grad=True)
    y = x.sigmoid()
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\], which is output 0 of "
                                           r"Sigmoid, is at version 1; expected version 0"):
        y.sum().backward()
    w = fastnn.randn(2)
    z = x * w
    w.add_(1)  # a leaf input: no "output of" part
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\] is at version 1"):
        z.sum().backward()


def test_leaf_setitem_names_the_view_as_pytorch_does():
    w = fastnn.randn(3, 3, requires_grad=True)
    for idx in (0, slice(0, 2), (slice(None), 0), None):
        with pytest.raises(RuntimeError, match="^a view of a leaf Variable"):
            w[idx] = 5.0
    for idx in (slice(None), fastnn.tensor([0]), Ellipsis):
        with pytest.raises(RuntimeError, match="^a leaf Variable"):
            w[idx] = 5.0
    with fastnn.no_grad():
        w[0] = 1.0
    assert w[0].tolist() == [1.0, 1.0, 1.0]


def test_integer_requires_grad_messages_follow_each_path():
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype"):
        fastnn.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="^only Tensors of floating point dtype can"):
        fastnn.tensor([1]).requires_grad_()
    with pytest.raises(RuntimeError, match="^only Tensors of floating point and complex dtype"):
        fastnn.tensor([1]).requires_grad = True


def test_strings_in_tensor_data_raise_type_error():
    with pytest.raises(TypeError, match=r"new\(\): invalid data type 'str'"):
        fastnn.tensor([1, "a"])


def test_pytorch_user_warnings():
    sys.modules["fastnn.tensor"]._warned_scalar = False  # said once per process
    with pytest.warns(UserWarning, match="Converting a tensor with requires_grad=True to a "
                                         "scalar"):
        float(fastnn.ones(1, requires_grad=True))
    with pytest.warns(UserWarning, match="To copy construct from a tensor"):
        fastnn.tensor(fastnn.ones(2))
    with pytest.warns(UserWarning, match=r"std\(\): degrees of freedom is <= 0"):
        assert fastnn.ones(1).std().isnan()
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
        assert fastnn.empty(0, 3).var(0).isnan().all()
