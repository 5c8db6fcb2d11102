"""A view whose base (or a sibling view) is modified in place takes its gradient through the
base's new history."""
import numpy as np
import pytest

import fastnn

VIEWS = {
    "slice": lambda y: y[:2],
    "select": lambda y: y[1],
    "column": lambda y: y[:, 1],
    "t": lambda y: y.t(),
    "view": lambda y: y.view(12),
    "reshape": lambda y: y.reshape(2, 6),
    "view_of_view": lambda y: y.view(2, 6)[1],
    "diagonal": lambda y: y.diagonal(),
    "unsqueeze": lambda y: y.unsqueeze(0),
    "transpose": lambda y: y.transpose(0, 1),
    "narrow": lambda y: y.narrow(1, 1, 2),
    "as_strided": lambda y: y.as_strided((2, 2), (4, 1), 1),
    "expand": lambda y: y[0:1].expand(3, 4),
    "unfold": lambda y: y.unfold(1, 2, 2),
}

INPLACE = {
    "mul_": lambda y, w: y.mul_(3),
    "exp_": lambda y, w: y.exp_(),
    "mul_w": lambda y, w: y.mul_(w),
    "setitem_w": lambda y, w: y.__setitem__((slice(0, 1),), w),
    "copy_w": lambda y, w: y.copy_(w.expand(3, 4)),
    "add_w": lambda y, w: y.add_(w),
    "sibling_mul_": lambda y, w: y[1:].mul_(2),
    "sibling_setitem": lambda y, w: y[:, 2].__setitem__(Ellipsis, w),
    "sibling_exp_": lambda y, w: y[0].exp_(),
}


def _run(lib, view_fn, op_fn):
    x = lib.tensor(np.arange(1.0, 13.0).reshape(3, 4) / 10, requires_grad=True)
    w = lib.tensor(0.5, requires_grad=True)
    y = x * 1
    v = view_fn(y)
    op_fn(y, w)
    weights = lib.tensor(np.linspace(-1.0, 2.0, v.numel()).reshape(tuple(v.shape)))
    (v * v * weights).sum().backward()
    wg = None if w.grad is None else w.grad.numpy().copy()
    return v.detach().numpy().copy(), x.grad.numpy().copy(), wg, type(v.grad_fn).__name__


@pytest.mark.parametrize("op", sorted(INPLACE))
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_view_sees_inplace_history(view, op):
    torch = pytest.importorskip("torch")
    want = _run(torch, VIEWS[view], INPLACE[op])
    got = _run(fastnn, VIEWS[view], INPLACE[op])
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-7)
    if want[2] is None:
        assert got[2] is None or not np.any(got[2])
    else:
        np.testing.assert_allclose(got[2], want[2], rtol=1e-5, atol=1e-7)


def test_slice_after_base_mul_without_torch():
    x = fastnn.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 1
    v = y[:2]
    y.mul_(3)
    assert type(v.grad_fn).__name__ == "AsStridedBackward0"
    (v * v).sum().backward()
    assert x.grad.tolist() == [18., 36., 0., 0.]


def test_row_after_base_setitem_without_torch():
    x = fastnn.tensor([1., 2., 3., 4.], requires_grad=True)
    w = fastnn.tensor(5., requires_grad=True)
    y = x * 1
    row = y.view(2, 2)[0]
    y[:1] = w
    row.sum().backward()
    assert x.grad.tolist() == [0., 1., 0., 0.]
    assert w.grad.item() == 1.


def test_refreshed_view_supports_double_backward():
    x = fastnn.tensor([1., 2., 3.], requires_grad=True)
    y = x * 1
    v = y[1:]
    y.mul_(x)
    g, = fastnn.autograd.grad((v ** 2).sum(), x, create_graph=True)
    assert g.tolist() == [0., 32., 108.]  # d/dx of x^4 summed: 4x^3
    gg, = fastnn.autograd.grad(g.sum(), x)
    assert gg.tolist() == [0., 48., 108.]  # 12x^2


def test_retain_grad_follows_inplace():
    x = fastnn.tensor([1., 2., 3., 4.], requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    (y * y).sum().backward()
    assert y.grad.tolist() == [12., 24., 36., 48.]
    assert x.grad.tolist() == [72., 144., 216., 288.]


# views taken of plain data before an in-place op gave the data a history
_BEFORE_HISTORY = {
    "copy_into_base": """
x = lib.zeros(3); v = x[:2]
x.copy_(a)
out = (v * 2).sum() + x.sum()""",
    "sibling_chain": """
x = lib.zeros(3); v = x[:2]; w = v[:1]
v.copy_(a[:2])
out = w.sum() * 5 + x.sum()""",
    "reshaped_view": """
x = lib.zeros(3); v = x.view(3, 1)
x.add_(a)
out = (v * v).sum()""",
    "transposed_rows": """
x = lib.zeros(2, 3); v = x.t()
x[0] = a
out = (v * lib.arange(6.).view(3, 2)).sum()""",
    "rnn_buffer_rows": """
h = lib.zeros(4, 3); rows = [h[t] for t in range(4)]
for t in range(4):
    h[t] = a * (t + 1)
out = sum(r.sum() * (i + 1) for i, r in enumerate(rows))""",
    "expanded": """
x = lib.zeros(3); v = x.unsqueeze(0).expand(2, 3)
x.copy_(a)
out = v.sum()""",
}


def _before_history_grad(lib, code):
    a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    scope = {"lib": lib, "a": a}
    exec(code, scope)
    scope["out"].backward()
    return a.grad.tolist()


@pytest.mark.parametrize("case", sorted(_BEFORE_HISTORY))
def test_views_of_plain_data_take_a_later_history(case):
    torch = pytest.importorskip("torch")
    code = _BEFORE_HISTORY[case]
    assert _before_history_grad(fastnn, code) == _before_history_grad(torch, code)


def test_view_of_plain_data_without_torch():
    a = fastnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = fastnn.zeros(3)
    v = x[:2]
    x.copy_(a)
    assert v.requires_grad and v.grad_fn.name() == "AsStridedBackward0"
    ((v * 2).sum() + x.sum()).backward()
    assert a.grad.tolist() == [3.0, 3.0, 1.0]
    x, b = fastnn.zeros(3), fastnn.ones(3, requires_grad=True)
    with fastnn.no_grad():
        v = x[:2]  # made under no_grad: it stays plain
    x.add_(b)
    assert not v.requires_grad
