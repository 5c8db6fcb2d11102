"""inference_mode as user code meets it: the Learn-the-Basics prediction, evaluation loops,
inference tensors reaching training, decorators, another thread training meanwhile, and the
tensor methods users call on the results. Each case is checked against PyTorch."""
import io
import sys
import threading

import pytest

import fastnn

torch = pytest.importorskip("torch")


def _both(fn):
    """fn(lib) on fastnn and on PyTorch: the value, or the exception's type and text."""
    out = []
    for lib in (fastnn, torch):
        try:
            out.append(("ok", fn(lib)))
        except Exception as e:  # compared below, with fastnn's name in place of torch's
            out.append((type(e).__name__, str(e).replace("torch.", "fastnn.")))
    assert out[0] == out[1]
    return out[0]


def _model(lib):
    lib.manual_seed(0)
    nn = lib.nn
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))


def test_learn_the_basics_prediction():
    def fn(lib):
        model = _model(lib)
        with lib.inference_mode():
            pred = model(lib.ones(4, 3, 4))
        label = pred.argmax(1)
        return pred.is_inference(), pred.requires_grad, label.is_inference(), label.shape[0]
    assert _both(fn) == ("ok", (True, False, False, 4))


def test_evaluation_loop_over_a_dataloader():
    def fn(lib):
        data = lib.utils.data
        model = _model(lib)
        loader = data.DataLoader(data.TensorDataset(lib.ones(10, 3, 4),
                                                    lib.zeros(10, dtype=lib.long)),
                                 batch_size=4)
        model.eval()
        correct, n = 0.0, 0
        with lib.inference_mode():
            for xb, yb in loader:
                pred = model(xb)
                correct += (pred.argmax(1) == yb).type(lib.float).sum().item()
                n += len(xb)
        model.train()
        return n, correct >= 0
    _both(fn)


@pytest.mark.parametrize("op", ["linear", "mul", "add", "clone", "matmul", "relu_sum"])
def test_inference_tensor_as_training_input(op):
    def fn(lib):
        with lib.inference_mode():
            t = lib.ones(2, 4) * 0.5
        w = lib.ones(4, requires_grad=True)
        lin = lib.nn.Linear(4, 2)
        out = {"linear": lambda: lin(t), "mul": lambda: t * w, "add": lambda: t + w,
               "clone": lambda: lin(t.clone()), "matmul": lambda: t @ w,
               "relu_sum": lambda: (t.relu() + w)}[op]()
        out.sum().backward()
        return [None if p.grad is None else p.grad.tolist() for p in (w, lin.weight)]
    _both(fn)


def test_inference_mode_as_method_decorator():
    def fn(lib):
        class M(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.l = lib.nn.Linear(3, 2)

            @lib.inference_mode()
            def predict(self, x):
                return self.l(x)

            @lib.inference_mode
            def predict_bare(self, x):
                return self.l(x)

        m = M()
        a, b = m.predict(lib.ones(1, 3)), m.predict_bare(lib.ones(1, 3))
        return a.is_inference(), b.is_inference(), lib.is_inference_mode_enabled()
    assert _both(fn) == ("ok", (True, True, False))


def test_manual_sgd_update_of_parameters_inside_inference_mode():
    def fn(lib):
        lin = lib.nn.Linear(3, 3)
        lin(lib.ones(1, 3)).sum().backward()
        with lib.inference_mode():
            for p in lin.parameters():
                p -= 0.1 * p.grad
        lin(lib.ones(1, 3)).sum().backward()  # still normal tensors that can train
        return lin.weight.is_inference(), lin.weight.requires_grad
    assert _both(fn) == ("ok", (False, True))


def test_plain_sgd_step_inside_inference_mode():
    def fn(lib):
        lin = lib.nn.Linear(3, 3)
        opt = lib.optim.SGD(lin.parameters(), lr=0.1)
        lin(lib.ones(1, 3)).sum().backward()
        with lib.inference_mode():
            opt.step()
        opt.zero_grad()
        lin(lib.ones(1, 3)).sum().backward()
        opt.step()
        return lin.weight.is_inference()
    assert _both(fn) == ("ok", False)


def test_tensor_methods_on_inference_tensors():
    def fn(lib):
        with lib.inference_mode():
            t = lib.ones(3) * 2
        buf = io.BytesIO()
        lib.save(t, buf)
        buf.seek(0)
        loaded = lib.load(buf)
        return (t.numpy().tolist(), t.clone().is_inference(), t.detach().is_inference(),
                t[:2].is_inference(), (t + 1).is_inference(), loaded.is_inference(),
                loaded.tolist())
    _both(fn)


@pytest.mark.parametrize("what", ["requires_grad_", "inplace", "parameter", "inside"])
def test_inference_tensor_errors(what):
    def fn(lib):
        with lib.inference_mode():
            t = lib.ones(3)
            if what == "inside":
                t.requires_grad_()
                t.add_(1)
                return t.requires_grad
        if what == "requires_grad_":
            t.requires_grad_()
        elif what == "inplace":
            t.add_(1)
        else:
            lib.nn.Parameter(t)
    _both(fn)


def test_another_thread_training_meanwhile_makes_normal_tensors():
    fastnn.manual_seed(0)
    lin = fastnn.nn.Linear(4, 4)
    opt = fastnn.optim.SGD(lin.parameters(), lr=0.01, momentum=0.9)
    inside, done = threading.Event(), threading.Event()
    errors, inferred = [], []

    def infer():
        m = fastnn.nn.Linear(4, 4)
        with fastnn.inference_mode():
            inside.set()
            while not done.is_set():
                inferred.append(m(fastnn.ones(2, 4)).is_inference())

    def train():
        inside.wait()
        try:
            for _ in range(100):
                x = fastnn.randn(3, 4)
                y = lin(x)
                assert not x.is_inference() and not y.is_inference()
                opt.zero_grad()
                y.pow(2).sum().backward()
                opt.step()
                assert not any(p.is_inference() or p.grad.is_inference()
                               for p in lin.parameters())
                assert not any(v.is_inference() for s in opt.state.values()
                               for v in s.values())
        except Exception as e:
            errors.append(e)
        finally:
            done.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the two threads closely
    try:
        threads = [threading.Thread(target=infer), threading.Thread(target=train)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    assert inferred and all(inferred)
    assert not fastnn.ones(1).is_inference()
