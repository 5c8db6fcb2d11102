"""Tensor API gaps against PyTorch: as_strided, resize_, memory formats of clone and the
``*_like`` factories, error messages, quiet empty reductions, sci-mode printing of zeros,
list indices read as tuples, and dims given as tensors."""
import warnings

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")


def _err(lib, fn):
    try:
        fn(lib)
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e).__name__, str(e)
    return None


def _same_error(fn):
    ours, theirs = _err(fastnn, fn), _err(torch, fn)
    assert theirs is not None
    assert ours == theirs


# ---- as_strided --------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [((2, 2), (1, 2)), ((3, 2), (1, 1)), ((2, 2), (1, 2), 1),
                                  ((), ()), ((2, 2), (0, 0)), ((0,), (1,), 6)])
def test_as_strided_values_and_strides(args):
    outs = []
    for lib in (fastnn, torch):
        x = lib.arange(6.)
        y = x.as_strided(*args)
        outs.append((y.tolist(), tuple(y.shape), y.stride()))
        z = lib.as_strided(x, *args)
        assert z.tolist() == outs[-1][0]
    assert outs[0] == outs[1]


def test_as_strided_of_a_view_uses_its_storage():
    for lib in (fastnn, torch):
        x = lib.arange(6.)
        v = x[2:]
        assert v.as_strided((2,), (1,)).tolist() == [2.0, 3.0]
        assert v.as_strided((2,), (1,), 0).tolist() == [0.0, 1.0]
        w = x.as_strided((2, 2), (1, 2))
        assert w._base is x
        w[0, 0] = 10.0  # a view: writes reach the storage
        assert x[0].item() == 10.0


@pytest.mark.parametrize("args", [((3, 3), (1, 1), 2), ((3,), (-1,), 2), ((3,), (1, 1)),
                                  ((-3,), (1,)), ((3,), (1,), -1)])
def test_as_strided_errors(args):
    _same_error(lambda lib: lib.arange(6.).as_strided(*args))


def test_as_strided_grad_name_and_overlap():
    from fastnn.autograd import gradcheck
    x = fastnn.randn(4, dtype=fastnn.float64, requires_grad=True)
    y = x.as_strided((3, 2), (1, 1))  # sliding windows: elements appear twice
    assert type(y.grad_fn).__name__ == "AsStridedBackward0"
    assert gradcheck(lambda a: a.as_strided((3, 2), (1, 1)), (x,))
    m = fastnn.randn(3, 4, dtype=fastnn.float64, requires_grad=True)
    assert gradcheck(lambda a: a.t().as_strided((2, 3), (2, 1), 1), (m,))


def test_as_strided_grad_matches_torch_on_views():
    base = np.arange(12.).reshape(3, 4)
    weights = np.arange(1., 5.).reshape(2, 2)
    fns = [lambda a: (a * 2)[1:].as_strided((2, 2), (1, 1), 2),
           lambda a: (a * 2)[1:].as_strided((2, 2), (1, 1)),
           lambda a: a.t().as_strided((2, 2), (2, 1), 1),
           lambda a: (a * 1).t().as_strided((2, 2), (0, 3), 1)]
    for f in fns:
        grads = []
        for lib in (fastnn, torch):
            y = lib.tensor(base, requires_grad=True)
            (f(y) * lib.tensor(weights)).sum().backward()
            grads.append(y.grad.tolist())
        assert grads[0] == grads[1]


# ---- resize_ -----------------------------------------------------------------------------------

def _resize_story(lib):
    out = []
    x = lib.arange(6.)
    v0 = x._version
    x.resize_(2, 3)
    out.append((x.tolist(), x._version - v0))
    x.resize_(2, 3)  # same shape: nothing happens
    out.append(x._version - v0)
    x.resize_(7)
    out.append((x[:6].tolist(), tuple(x.shape), x.stride()))
    y = lib.arange(6.)
    y.resize_(2)
    y.resize_(6)  # the storage kept its elements
    out.append(y.tolist())
    b = lib.arange(6.)
    v = b[2:]
    v.resize_(2)
    v[0] = 100.0
    out.append((v.tolist(), v.storage_offset(), b.tolist()))
    v.resize_(5)
    out.append((tuple(v.shape), v.storage_offset(), v[:4].tolist()))
    t = lib.arange(6.).reshape(2, 3).t()
    t.resize_(2, 3)
    out.append((t.tolist(), t.stride()))
    z = lib.arange(4.)
    assert z.resize_as_(lib.ones(2, 2)) is z
    out.append(z.tolist())
    out.append(lib.arange(4.).resize_(lib.Size([1, 4])).tolist())
    return out


def test_resize_matches_torch():
    assert _resize_story(fastnn) == _resize_story(torch)


def test_resize_refuses_grad():
    _same_error(lambda lib: lib.ones(2, requires_grad=True).resize_(3))
    _same_error(lambda lib: (lib.ones(2, requires_grad=True) * 2).resize_(2))


# ---- memory formats ----------------------------------------------------------------------------

def _sources(lib):
    return [lib.zeros(4, 6)[:, ::2].t(), lib.zeros(4, 6)[:, ::2],
            lib.zeros(2, 3, 4).permute(2, 0, 1), lib.zeros(2, 3, 4).permute(2, 0, 1)[::2],
            lib.zeros(3, 1).expand(3, 4), lib.zeros(3, 4, 1).permute(2, 1, 0),
            lib.zeros(2, 3, 4, 5).permute(0, 2, 3, 1), lib.zeros(3, 4).t()[1:],
            lib.arange(6.).reshape(2, 3).t(), lib.zeros(2, 3)]


def _strides(lib):
    out = []
    for x in _sources(lib):
        out.append([x.clone().stride(), lib.zeros_like(x).stride(), lib.ones_like(x).stride(),
                    lib.empty_like(x, dtype=lib.float64).stride(),
                    lib.full_like(x, 2.0).stride(), lib.rand_like(x).stride(),
                    lib.randn_like(x).stride(),
                    lib.zeros_like(x, memory_format=lib.preserve_format).stride(),
                    lib.zeros_like(x, memory_format=lib.contiguous_format).stride(),
                    x.clone(memory_format=lib.contiguous_format).stride(),
                    x.contiguous().stride(), x.clone().contiguous().stride()])
    return out


def test_like_and_clone_keep_layout():
    assert _strides(fastnn) == _strides(torch)


def test_layout_values_and_formats():
    x = fastnn.arange(6.).reshape(2, 3).t()
    assert fastnn.equal(x.clone(), x)
    assert fastnn.full_like(x, 3.0).tolist() == [[3.0, 3.0]] * 3
    assert repr(fastnn.preserve_format) == "fastnn.preserve_format"
    assert isinstance(fastnn.contiguous_format, fastnn.memory_format)
    y = fastnn.arange(24.).reshape(2, 3, 2, 2)
    for lib, t in ((fastnn, y), (torch, torch.arange(24.).reshape(2, 3, 2, 2))):
        c = t.contiguous(memory_format=lib.channels_last)
        assert c.stride() == (12, 1, 6, 3)
        assert c.contiguous(memory_format=lib.channels_last) is c
        assert lib.zeros_like(t, memory_format=lib.channels_last).stride() == (12, 1, 6, 3)
    assert fastnn.equal(y.contiguous(memory_format=fastnn.channels_last), y)
    _same_error(lambda lib: lib.zeros(2, 3).t().contiguous(memory_format=lib.preserve_format))
    _same_error(lambda lib: lib.zeros(2, 3).clone(memory_format=lib.channels_last))


def test_clone_keeps_grad():
    y = fastnn.ones(3, 2, requires_grad=True)
    z = y.t().clone()
    assert z.stride() == (1, 2) and type(z.grad_fn).__name__ == "CloneBackward0"
    z.sum().backward()
    assert y.grad.tolist() == [[1.0, 1.0]] * 3


# ---- messages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda lib: ~lib.tensor([1.5]),
    lambda lib: bool(lib.tensor([])),
    lambda lib: lib.ones(2, 3).sum((0, 0)),
    lambda lib: lib.ones(2, 3).sum((0, -2)),
    lambda lib: lib.ones(2, 3).mean([1, 1]),
    lambda lib: lib.ones(2, 3).amax((1, 1)),
    lambda lib: lib.ones(2, 3).std((0, 0)),
    lambda lib: lib.tensor(2 ** 63),
    lambda lib: lib.tensor([[1], [2 ** 70]]),
    lambda lib: lib.tensor(2 ** 63, dtype=lib.int64),
    lambda lib: lib.tensor(300, dtype=lib.uint8),
    lambda lib: lib.tensor(2 ** 40, dtype=lib.int32),
    lambda lib: lib.dot(lib.ones(2), lib.ones(2, dtype=lib.float64)),
    lambda lib: lib.dot(lib.ones(2, dtype=lib.long), lib.ones(2, dtype=lib.int32)),
    lambda lib: lib.ones(2).dot(lib.ones(3, dtype=lib.float64)),
])
def test_messages(fn):
    _same_error(fn)


def test_invert_still_works_on_integers():
    assert (~fastnn.tensor([1, 2])).tolist() == [-2, -3]
    assert (~fastnn.tensor([True, False])).tolist() == [False, True]


# ---- quiet empty reductions ----------------------------------------------------------------------

@pytest.mark.parametrize("shape,dim", [((0,), None), ((0, 3), 0), ((0, 3), 1)])
def test_empty_reductions_are_quiet(shape, dim):
    x = fastnn.zeros(*shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for fn in (fastnn.mean, fastnn.nanmean):
            out = fn(x) if dim is None else fn(x, dim)
            ref = getattr(torch, fn.__name__)(torch.zeros(*shape)) if dim is None else \
                getattr(torch, fn.__name__)(torch.zeros(*shape), dim)
            np.testing.assert_array_equal(out.numpy(), ref.numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PyTorch's degrees-of-freedom note
            for name in ("var", "std"):
                out = getattr(x, name)() if dim is None else getattr(x, name)(dim)
                assert np.isnan(out.numpy()).all()
        out = x.logsumexp(0)
        ref = torch.zeros(*shape).logsumexp(0)
        np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_var_mean_warning_names_the_function():
    for lib in (fastnn, torch):
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter("always")
            lib.var_mean(lib.tensor([]))
        msgs = [str(w.message) for w in ws]
        assert len(msgs) == 1 and msgs[0].startswith("var_mean(): degrees of freedom is <= 0.")


# ---- printing ----------------------------------------------------------------------------------

def test_sci_mode_zeros_print_like_torch():
    def show(lib):
        lines = []
        for sci in (True, False, None):
            lib.set_printoptions(sci_mode=sci)
            for vals in ([0., -0., 0.], [0., 0.], [1., 2.], [1., -2.], [0., float("nan")],
                         [0.5, 0.], [0., 1e-10]):
                lines.append(repr(lib.tensor(vals)))
            lines.append(repr(lib.zeros(3)))
        return lines
    try:
        assert show(fastnn) == show(torch)
    finally:
        fastnn.set_printoptions(profile="default", sci_mode=None)
        torch.set_printoptions(profile="default", sci_mode=None)


# ---- list indices read as tuples -----------------------------------------------------------------

_INDICES = [
    lambda lib: [[0, 1], [1, 2]], lambda lib: [lib.tensor([0, 1]), lib.tensor([1, 2])],
    lambda lib: [lib.tensor(0), 1], lambda lib: [0, slice(None)], lambda lib: [None, 0],
    lambda lib: [Ellipsis, 0], lambda lib: [(0, 1), (1, 2)], lambda lib: [0, [1, 2]],
    lambda lib: [range(2), [1, 2]], lambda lib: [[True, False, True]],
]


def _index(lib, make):
    x = lib.arange(9).reshape(3, 3)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        got = x[make(lib)].tolist()
        y = x.clone()
        y[make(lib)] = -1
    msgs = [(w.category, str(w.message).split(" (Triggered")[0], w.filename) for w in ws]
    return got, y.tolist(), msgs


@pytest.mark.parametrize("make", _INDICES)
def test_list_index_read_as_tuple(make):
    ours, theirs = _index(fastnn, make), _index(torch, make)
    assert ours[:2] == theirs[:2]
    assert len(ours[2]) == len(theirs[2]) == 2
    for (c1, m1, f1), (c2, m2, f2) in zip(ours[2], theirs[2]):
        assert c1 is c2 is UserWarning and m1 == m2 and f1 == f2 == __file__


def test_plain_list_index_does_not_warn():
    x = fastnn.arange(9).reshape(3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x[[0, 2]].tolist() == [[0, 1, 2], [6, 7, 8]]
        assert fastnn.arange(40)[[[0]] * 33].shape == (33, 1)


def test_list_index_grad():
    for lib in (fastnn, torch):
        y = lib.ones(3, 3, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y[[[0, 1], [1, 2]]].sum().backward()
        assert y.grad.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


# ---- dims given as tensors -----------------------------------------------------------------------

@pytest.mark.parametrize("fn", [
    lambda lib: lib.ones(2, 3).sum(lib.tensor(1)), lambda lib: lib.ones(2, 3).sum(lib.tensor([1])),
    lambda lib: lib.ones(2, 3).mean(lib.tensor(1)), lambda lib: lib.ones(2, 3).prod(lib.tensor(0)),
    lambda lib: lib.ones(2, 3).amax(lib.tensor(1)), lambda lib: lib.ones(2, 3).std(lib.tensor(1)),
    lambda lib: lib.ones(2, 3).softmax(lib.tensor(1)),
    lambda lib: lib.ones(2, 3).cumsum(lib.tensor(1)),
    lambda lib: lib.ones(2, 3).argmax(lib.tensor(1)),
    lambda lib: lib.ones(2, 3).sum((lib.tensor(1),)),
])
def test_tensor_dims(fn):
    np.testing.assert_allclose(fn(fastnn).numpy(), fn(torch).numpy())


def test_tensor_dim_errors():
    _same_error(lambda lib: lib.ones(2).sum(lib.tensor(True)))
    with pytest.raises(TypeError):
        fastnn.ones(2, 3).sum(fastnn.tensor(1.0))
