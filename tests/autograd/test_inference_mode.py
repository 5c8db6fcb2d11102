"""inference_mode: the tensors made inside are inference tensors, with PyTorch's rules and
error messages for using them outside the mode."""
import threading

import numpy as np
import pytest

import fastnn

torch = pytest.importorskip("torch")

SAVED = ("Inference tensors cannot be saved for backward. Please do not use Tensors created in "
         "inference mode in computation tracked by autograd. To work around this, you can make "
         "a clone to get a normal tensor and use it in autograd, or use `torch.no_grad()` "
         "instead of `torch.inference_mode()`.")
INPLACE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can "
           "make a clone to get a normal tensor before doing inplace update.See "
           "https://github.com/pytorch/rfcs/pull/17 for more details.")
REQUIRES_GRAD = ("Setting requires_grad=True on inference tensor outside InferenceMode is not "
                 "allowed.")


def _made_inside(lib):
    normal = lib.ones(3)
    with lib.inference_mode():
        made = {
            "ones": lib.ones(3, 3), "tensor": lib.tensor([1.0, 2.0]), "zeros": lib.zeros(2),
            "empty": lib.empty(2), "arange": lib.arange(3), "randn": lib.randn(2),
            "full": lib.full((2,), 1.0), "from_numpy": lib.from_numpy(np.ones(2)),
            "as_tensor": lib.as_tensor([1.0]), "zeros_like": lib.zeros_like(normal),
            "op_on_normal": normal + 1, "view_of_normal": normal[0:2],
            "reshape_of_normal": normal.view(3),
        }
        made["op"] = made["ones"] * 2
        made["view"] = made["ones"][0]
        made["detach"] = made["ones"].detach()
        with lib.no_grad():
            made["no_grad_inside"] = lib.ones(1)
        with lib.inference_mode(False):
            made["nested_off"] = lib.ones(1)
    a = made["ones"]
    made.update({"out_view": a.view(9), "out_detach": a.detach(), "out_data": a.data,
                 "out_float": a.float(), "out_contiguous": a.contiguous(),
                 "out_double": a.double(), "out_sum": a.sum(), "out_clone": a.clone(),
                 "out_op": a * 2})
    return made


def test_which_tensors_are_inference_tensors_match_torch():
    ours, theirs = _made_inside(fastnn), _made_inside(torch)
    assert {k: t.is_inference() for k, t in ours.items()} == \
        {k: t.is_inference() for k, t in theirs.items()}
    assert ours["ones"].is_inference() and not ours["view_of_normal"].is_inference()


def test_modes_inside_and_nesting():
    assert not fastnn.is_inference_mode_enabled()
    with fastnn.inference_mode():
        assert fastnn.is_inference_mode_enabled() and not fastnn.is_grad_enabled()
        with fastnn.inference_mode(False):
            assert not fastnn.is_inference_mode_enabled() and fastnn.is_grad_enabled()
        with fastnn.inference_mode():
            assert fastnn.is_inference_mode_enabled()
        assert fastnn.is_inference_mode_enabled()
    assert not fastnn.is_inference_mode_enabled() and fastnn.is_grad_enabled()


def test_decorators():
    @fastnn.inference_mode()
    def called(x):
        return x * 2, fastnn.is_inference_mode_enabled()

    @fastnn.inference_mode
    def bare(x):
        return x * 2

    out, enabled = called(fastnn.ones(2))
    assert out.is_inference() and enabled and bare(fastnn.ones(2)).is_inference()
    assert not fastnn.ones(2).is_inference()


def _outcome(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the outcome is what is compared
        return type(e).__name__, str(e)
    return "ok"


def _uses(lib):
    """Things done outside the mode with a tensor made inside, and their outcomes."""
    F = lib.nn.functional
    w = lib.ones(3, 3, requires_grad=True)

    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * y, g * x

    def fresh():
        with lib.inference_mode():
            return lib.ones(3, 3)

    def inside(fn):
        a = fresh()
        with lib.inference_mode():
            fn(a)
        return a.is_inference()

    def nested_off(fn):
        a = fresh()
        with lib.inference_mode(), lib.inference_mode(False):
            fn(a)

    idx = lib.tensor([0, 1])
    cases = {
        "matmul": lambda a: a @ w, "rmatmul": lambda a: w @ a, "mul": lambda a: a * w,
        "add": lambda a: a + w, "exp_of_sum": lambda a: lib.exp(a + w),
        "linear": lambda a: F.linear(a, w), "mse": lambda a: F.mse_loss(w, a),
        "l1": lambda a: F.l1_loss(w, a), "cross_entropy_no_grad": lambda a: F.cross_entropy(
            a, lib.tensor([0, 1, 2])),
        "conv": lambda a: F.conv2d(a[None, None], w[None, None]),
        "custom_function": lambda a: Mul.apply(a, w), "custom_no_grad": lambda a: Mul.apply(a, a),
        "relu": lambda a: a.relu(), "clone_then_autograd": lambda a: (
            a.clone().requires_grad_() * w).sum().backward(),
        "add_": lambda a: a.add_(1), "iadd": lambda a: a.__iadd__(1),
        "mul_": lambda a: a.mul_(2), "div_": lambda a: a.div_(2),
        "clamp_": lambda a: a.clamp_(0, 1), "sigmoid_": lambda a: a.sigmoid_(),
        "zero_": lambda a: a.zero_(), "fill_": lambda a: a.fill_(2),
        "copy_": lambda a: a.copy_(lib.zeros(3, 3)), "setitem": lambda a: a.__setitem__(0, 2.0),
        "view_add_": lambda a: a[0].add_(1), "masked_fill_": lambda a: a.masked_fill_(a > 0, 0.0),
        "index_add_": lambda a: a.index_add_(0, idx, lib.ones(2, 3)),
        "index_copy_": lambda a: a.index_copy_(0, idx, lib.ones(2, 3)),
        "index_fill_": lambda a: a.index_fill_(0, idx, 1.0),
        "index_put_": lambda a: a.index_put_((idx,), lib.ones(3)),
        "put_": lambda a: a.put_(idx, lib.ones(2)),
        "uniform_": lambda a: a.uniform_(), "normal_": lambda a: a.normal_(),
        "random_": lambda a: a.random_(0, 3), "bernoulli_": lambda a: a.bernoulli_(0.5),
        "exponential_": lambda a: a.exponential_(), "unsqueeze_": lambda a: a.unsqueeze_(0),
        "relu_inplace": lambda a: F.relu(a, inplace=True),
        "inplace_under_no_grad": lambda a: lib.no_grad().__enter__() or a.add_(1),
        "requires_grad_": lambda a: a.requires_grad_(),
        "requires_grad_false": lambda a: a.requires_grad_(False),
        "requires_grad_attr": lambda a: setattr(a, "requires_grad", True),
        "parameter": lambda a: lib.nn.Parameter(a), "version": lambda a: a._version,
        "data_set_then_add_": lambda a: (setattr(a, "data", lib.ones(3)), a.add_(1)),
        "detach_": lambda a: a.detach_(),
        "inside_add_": lambda a: inside(lambda t: t.add_(1)),
        "inside_requires_grad_": lambda a: inside(lambda t: t.requires_grad_()),
        "nested_off_add_": lambda a: nested_off(lambda t: t.add_(1)),
        "nested_off_saved": lambda a: nested_off(lambda t: t @ w),
    }
    out = {}
    for name, fn in cases.items():
        a = fresh()
        out[name] = _outcome(lambda: fn(a))
        lib.set_grad_enabled(True)
    return out


def test_using_inference_tensors_outside_matches_torch():
    ours, theirs = _uses(fastnn), _uses(torch)
    assert ours == theirs
    assert ours["matmul"] == ("RuntimeError", SAVED)
    assert ours["add_"] == ("RuntimeError", INPLACE)
    assert ours["requires_grad_"] == ("RuntimeError", REQUIRES_GRAD)


def _parameter_updates(lib):
    lin = lib.nn.Linear(3, 2)
    with lib.inference_mode():
        lin.weight.add_(1)
        lin.weight.mul_(0.5)
        out = lin(lib.ones(3))
    loss = lin(lib.ones(3)).sum()
    loss.backward()
    return (lin.weight.is_inference(), type(lin.weight).__name__, lin.weight.requires_grad,
            out.is_inference(), out.requires_grad, lin.weight.grad is not None,
            lin.weight._version)


def test_parameters_updated_inside_stay_normal():
    assert _parameter_updates(fastnn) == _parameter_updates(torch)


def test_threads_keep_their_own_mode():
    made = {}
    inside, done = threading.Event(), threading.Event()

    def worker():
        with fastnn.inference_mode():
            made["worker"] = fastnn.ones(1)
            inside.set()
            done.wait(5)

    th = threading.Thread(target=worker)
    th.start()
    inside.wait(5)
    made["main"] = fastnn.ones(1)  # while the other thread is inside the mode
    done.set()
    th.join()
    assert made["worker"].is_inference() and not made["main"].is_inference()
    assert not (fastnn.ones(1) * 2).is_inference()


def test_generator_decorated_with_inference_mode():
    @fastnn.inference_mode()
    def gen():
        yield fastnn.ones(1)
        yield fastnn.ones(1)

    it = gen()
    first = next(it)
    between = fastnn.ones(1)
    assert first.is_inference() and next(it).is_inference() and not between.is_inference()
