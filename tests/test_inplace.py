"""In-place ops, the version counter that guards saved tensors, and ``.data`` semantics."""
import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")


def compare(a, b):
    assert a.dtype.name == str(b.dtype).split(".")[1], (a.dtype, b.dtype)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy().astype(np.float64),
                               b.detach().numpy().astype(np.float64), rtol=1e-6, atol=1e-6)


def base(lib, dtype="float32"):
    return lib.tensor([[1.5, -2.0, 3.0], [0.5, 4.0, -0.25]], dtype=getattr(lib, dtype))


INPLACE = {
    "add_": lambda lib, t: t.add_(2),
    "add_alpha": lambda lib, t: t.add_(lib.ones(3), alpha=3),
    "sub_": lambda lib, t: t.sub_(lib.tensor([1.0, 2.0, 3.0], dtype=t.dtype)),
    "sub_alpha": lambda lib, t: t.sub_(1, alpha=2),
    "mul_": lambda lib, t: t.mul_(lib.tensor([[2.0], [-1.0]], dtype=t.dtype)),
    "div_": lambda lib, t: t.div_(4),
    "pow_": lambda lib, t: t.pow_(2),
    "zero_": lambda lib, t: t.zero_(),
    "fill_": lambda lib, t: t.fill_(7.5),
    "fill_tensor": lambda lib, t: t.fill_(lib.tensor(3.0)),
    "copy_": lambda lib, t: t.copy_(lib.arange(6).reshape(2, 3)),
    "copy_broadcast": lambda lib, t: t.copy_(lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)),
    "clamp_": lambda lib, t: t.clamp_(-1, 2),
    "clamp_min_": lambda lib, t: t.clamp_min_(0),
    "clamp_max_": lambda lib, t: t.clamp_max_(1),
    "neg_": lambda lib, t: t.neg_(),
    "abs_": lambda lib, t: t.abs_(),
    "exp_": lambda lib, t: t.exp_(),
    "sigmoid_": lambda lib, t: t.sigmoid_(),
    "tanh_": lambda lib, t: t.tanh_(),
    "relu_": lambda lib, t: t.relu_(),
    "sqrt_": lambda lib, t: t.abs_().sqrt_(),
    "log_": lambda lib, t: t.abs_().log_(),
    "sin_": lambda lib, t: t.sin_(),
    "floor_": lambda lib, t: t.floor_(),
    "masked_fill_": lambda lib, t: t.masked_fill_(t > 1, -9),
    "index_fill_": lambda lib, t: t.index_fill_(1, lib.tensor([0, 2]), 5),
    "scatter_": lambda lib, t: t.scatter_(1, lib.tensor([[2], [0]]), 8.0),
    "addcmul_": lambda lib, t: t.addcmul_(t, t, value=0.5),
    "addcdiv_": lambda lib, t: t.addcdiv_(t, t + 10, value=2),
    "lerp_": lambda lib, t: t.lerp_(lib.zeros(2, 3, dtype=t.dtype), 0.25),
    "iadd": lambda lib, t: t.__iadd__(1),
    "isub": lambda lib, t: t.__isub__(lib.ones(2, 3)),
    "imul": lambda lib, t: t.__imul__(3),
    "itruediv": lambda lib, t: t.__itruediv__(2),
    "unsqueeze_": lambda lib, t: t.unsqueeze_(1),
    "t_": lambda lib, t: t.t_(),
}


@pytest.mark.parametrize("name", list(INPLACE))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inplace_matches_torch_and_returns_self(name, dtype):
    fn = INPLACE[name]
    x = base(fastnn, dtype)
    alias = x[:]  # a view: it must see the change
    out = fn(fastnn, x)
    assert out is x and x._version >= 1
    ref = base(torch, dtype)
    fn(torch, ref)
    compare(x, ref)
    if name not in ("unsqueeze_", "t_"):
        compare(alias, ref)


def test_integer_inplace_ops():
    for name in ("add_", "mul_", "fill_", "zero_", "copy_", "clamp_", "neg_", "abs_",
                 "masked_fill_", "index_fill_"):
        x, ref = base(fastnn, "int64"), base(torch, "int64")
        INPLACE[name](fastnn, x) if name != "clamp_" else x.clamp_(-1, 2)
        INPLACE[name](torch, ref) if name != "clamp_" else ref.clamp_(-1, 2)
        compare(x, ref)
    x = fastnn.tensor([5, 7, -3])
    x //= 2
    x %= 3
    compare(x, torch.tensor([2, 0, 1]))
    m = fastnn.tensor([True, False, False])
    m |= fastnn.tensor([False, True, False])
    m &= fastnn.tensor([True, True, True])
    assert m.tolist() == [True, True, False]


def test_random_fills_in_place():
    fastnn.manual_seed(0)
    x = fastnn.zeros(4, 1000)
    view = x[1]
    assert x.uniform_(-2, 3) is x and view.min().item() >= -2 and view.max().item() < 3
    x.normal_(5, 0.1)
    assert abs(x.mean().item() - 5) < 0.01 and x._version == 2
    fastnn.manual_seed(1)
    a = fastnn.empty(3, 3).uniform_()
    fastnn.manual_seed(1)
    assert fastnn.equal(a, fastnn.empty(3, 3).uniform_())
    b = fastnn.zeros(100).bernoulli_(0.5)
    assert set(b.tolist()) <= {0.0, 1.0}


# ---- the version counter guards saved tensors ----------------------------------------
MODIFIED = "one of the variables needed for gradient computation has been modified by an " \
           "inplace operation"


@pytest.mark.parametrize("make", [
    lambda x: (lambda y: (y.add_(1), y)[1])(x.exp()),            # output saved by exp
    lambda x: (lambda y: (y.mul_(2), y)[1])(x.sigmoid()),        # output saved by sigmoid
    lambda x: (lambda y: (lambda z: (y.add_(1), z)[1])(y * y))(x * 2),  # input saved by mul
    lambda x: (lambda y: (lambda z: (y[0].fill_(0), z)[1])(y.log()))(x + 1),  # through a view
    lambda x: (lambda y: (lambda z: (y.detach().zero_(), z)[1])(y.sin()))(x * 3),  # detach
    lambda x: (lambda y: (lambda z: (y.zero_(), z)[1])(y[1:]))(x.exp()),  # base of a view
])
def test_backward_through_modified_saved_tensor_raises(make):
    for lib in (fastnn, torch):
        x = lib.ones(3, requires_grad=True)
        out = make(x)
        with pytest.raises(RuntimeError, match=MODIFIED):
            out.sum().backward()


def test_message_names_the_tensor_and_versions():
    x = fastnn.ones(2, 3, requires_grad=True)
    y = x.exp()
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2, 3\]\], which is output 0 "
                                           r"of Exp, is at version 1; expected version 0 instead"):
        y.sum().backward()


def test_inplace_on_values_not_saved_is_fine():
    for lib in (fastnn, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2  # mul by a constant saves nothing that y's change affects
        y.add_(1)
        y.mul_(x)  # records MulBackward0 on top; saves x and the new y
        z = y.relu()
        z.sum().backward()
        assert x.grad.tolist() == [5.0, 5.0, 5.0]
        assert y._version == 2


def test_inplace_on_a_non_leaf_records_history():
    x = fastnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.add_(1).mul_(3)
    y[0] = 0  # __setitem__ on a non-leaf cuts the gradient at that position
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 6.0, 6.0]
    assert y.grad_fn is not None and not y.is_leaf


VIEW_INPLACE = [
    lambda lib, x, y: y[:2].mul_(3),
    lambda lib, x, y: y.t()[1].add_(x[0].detach()[:2]),
    lambda lib, x, y: y[0].__setitem__(2, 7.0),
    lambda lib, x, y: y[0].add_(y[1]),
    lambda lib, x, y: y.view(3, 2)[:, 1].mul_(x.detach().reshape(-1)[:3] + 1),
    lambda lib, x, y: y[1].copy_(x[0] * x[1]),
    lambda lib, x, y: y[:, 1:].clamp_(1, 4),
    lambda lib, x, y: y.unsqueeze(0)[0, 1].exp_(),
]


@pytest.mark.parametrize("op", VIEW_INPLACE)
def test_inplace_on_a_view_of_a_non_leaf(op):
    """PyTorch rewrites the base's history (CopySlices): gradients must agree with it."""
    def run(lib):
        x = (lib.arange(6, dtype=lib.float64).reshape(2, 3) / 3).requires_grad_()
        y = x * 1.5
        op(lib, x, y)
        (y ** 3).sum().backward()
        return y, x.grad
    (y, g), (ty, tg) = run(fastnn), run(torch)
    compare(y, ty)
    compare(g, tg)
    assert y.grad_fn.name() == "CopySlices"


def test_view_created_in_no_grad_refuses_tracked_inplace():
    x = fastnn.ones(3, requires_grad=True) * 2
    with fastnn.no_grad():
        v = x[:2]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode and is being "
                                           "modified inplace with grad mode enabled"):
        v.mul_(2)


# ---- leaves that require grad ------------------------------------------------------
@pytest.mark.parametrize("op", [lambda t: t.add_(1), lambda t: t.zero_(), lambda t: t.fill_(2),
                                lambda t: t.uniform_(), lambda t: t.normal_(),
                                lambda t: t.mul_(2), lambda t: t.copy_(t.detach() * 2),
                                lambda t: t.clamp_(0, 1), lambda t: t.__setitem__(0, 5.0),
                                lambda t: t.__iadd__(1), lambda t: t.masked_fill_(t > 0, 0)])
def test_leaf_requiring_grad_refuses_inplace_outside_no_grad(op):
    x = fastnn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in "
                                           "an in-place operation."):
        op(x)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        op(x[:2])
    with fastnn.no_grad():
        op(x)
    assert x.requires_grad and x.is_leaf and x.grad_fn is None and x._version >= 1
    ref = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        op(ref)


def test_no_grad_update_then_backward_uses_new_values():
    w = fastnn.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with fastnn.no_grad():
        w -= 0.5 * w.grad
    w.grad.zero_()
    (w * w).sum().backward()
    assert w.grad.tolist() == [0.0, 0.0] and w.is_leaf


# ---- .data -------------------------------------------------------------------------
def test_data_shares_storage_and_is_untracked():
    w = fastnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad and d.is_leaf and np.shares_memory(d.numpy(), w.detach().numpy())
    d.add_(1)  # allowed: .data is not tracked
    assert w.tolist() == [2.0, 3.0, 4.0] and w.requires_grad and w.is_leaf
    y = w.tanh()
    y.data.mul_(0)  # not seen by the version counter, as in PyTorch
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0, 1.0]


def test_prune_idiom_on_data():
    for lib in (fastnn, torch):
        m_weight = lib.tensor([[1.0, 6.0], [-7.0, 3.0]], requires_grad=True)
        m_weight.data *= m_weight.data.abs() >= 5
        assert m_weight.tolist() == [[0.0, 6.0], [-7.0, 0.0]]
        assert m_weight.requires_grad and m_weight.is_leaf and m_weight.dtype == lib.float32


def test_assigning_data_swaps_storage():
    w = fastnn.tensor([1.0, 2.0], requires_grad=True)
    old = w.data
    new = fastnn.tensor([5.0, 6.0, 7.0])
    w.data = new
    assert w.shape == (3,) and w.tolist() == [5.0, 6.0, 7.0] and w.requires_grad
    assert old.tolist() == [1.0, 2.0]
    new[0] = -1  # w now shares the assigned tensor's storage
    assert w[0].item() == -1
    (w * 2).sum().backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="Tensor"):
        w.data = [1.0]


# ---- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("call,exc,msg", [
    (lambda lib: lib.tensor([1, 2]).add_(1.5), RuntimeError,
     "result type Float can't be cast to the desired output type Long"),
    (lambda lib: lib.tensor([1, 2]).div_(2), RuntimeError,
     "result type Float can't be cast to the desired output type Long"),
    (lambda lib: lib.tensor([True]).add_(1), RuntimeError,
     "result type Long can't be cast to the desired output type Bool"),
    (lambda lib: lib.ones(2).add_(lib.ones(2, 2)), RuntimeError,
     r"output with shape \[2\] doesn't match the broadcast shape \[2, 2\]"),
    (lambda lib: lib.ones(2).mul_(lib.ones(3)), RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(3\) at non-singleton "
     "dimension 0"),
    (lambda lib: lib.ones(2).copy_(lib.ones(3)), RuntimeError, "must match the size"),
    (lambda lib: lib.ones(2).copy_(lib.ones(2, 2)), RuntimeError, "doesn't match the broadcast "
                                                                  "shape"),
    (lambda lib: lib.ones(2).fill_(lib.ones(2)), RuntimeError,
     "fill_ only supports 0-dimension value tensor but got tensor with 1 dimensions"),
    (lambda lib: lib.tensor([1, 2]).uniform_(), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda lib: lib.tensor([1, 2]).normal_(), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda lib: lib.ones(2).uniform_(2, 1), RuntimeError,
     r"uniform_ expects to return a \[from, to\) range, but found from=2 > to=1"),
    (lambda lib: lib.ones(2).normal_(0, -1), RuntimeError, "normal expects std >= 0.0"),
    (lambda lib: lib.ones(3, 1).expand(3, 2).add_(1), RuntimeError,
     "more than one element of the written-to tensor refers to a single memory location"),
    (lambda lib: lib.ones(2, 3).__setitem__(5, 1.0), IndexError,
     "index 5 is out of bounds for dimension 0 with size 2"),
    (lambda lib: lib.ones(2, 3).__setitem__(0, lib.ones(4)), RuntimeError,
     r"The expanded size of the tensor \(3\) must match the existing size \(4\) at "
     "non-singleton dimension 0"),
    (lambda lib: (lib.ones(2, 3, requires_grad=True) * 2).__setitem__(0, lib.ones(4)),
     RuntimeError, "The expanded size of the tensor"),
    (lambda lib: lib.ones(2, 3).__setitem__((slice(None), 0), lib.ones(2, 2)), RuntimeError,
     r"the number of sizes provided \(1\) must be greater or equal to the number of "
     "dimensions in the tensor"),
    (lambda lib: lib.ones(2, 3).__setitem__(lib.tensor([0, 1]), lib.ones(3, 3)), RuntimeError,
     r"shape mismatch: value tensor of shape \[3, 3\] cannot be broadcast to indexing result "
     r"of shape \[2, 3\]"),
])
def test_inplace_errors_match_torch(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call(fastnn)
    with pytest.raises(exc):
        call(torch)
